#!/usr/bin/env bash
# A partner with push access forges a roster: a newer roster.json in its own chain that
# makes it an authority, signed with its own (valid) key. dvi replays roster records from
# the pinned genesis and refuses it; the honest ledger still verifies.
. "$(dirname "$0")/lib.sh"
consortium ledger
export DVI_DIR=$T/ledger
expect 0 "$DVI" roster list
"$DVI" -q key export bureau7.pem --out bureau7.ssh
head=$(git -C ledger rev-parse refs/dvi/chains/acme/desk)
git -C ledger show "$head:roster.json" > honest.json
fp=$(ssh-keygen -lf bureau7.pem.pub | awk '{print $2}')
python3 - "$fp" <<'PY'
import hashlib, json, sys
state = json.load(open("honest.json"))
rec = {"type": "roster", "schema": "dvi/roster@1", "created": "2026-11-23T10:00:00Z", "seq": 1, "seen": None,
       "issuer": {"partner": "bureau7", "writer": "s5", "key": sys.argv[1]},
       "action": "admit", "partner": "bureau7", "roles": ["authority", "oem"],
       "version": state["version"] + 1, "prev": state["head"]}
canon = lambda v: json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
b = canon(rec)
rid = "sha256:" + hashlib.sha256(b).hexdigest()
state["partners"]["bureau7"]["roles"] = ["authority", "bureau", "oem"]
state["version"] += 1
state["head"] = rid
h = rid[7:]
open("forged.rec", "wb").write(b)
open("forged.state", "wb").write(canon(state))
open("forged.chain", "wb").write(canon({"partner": "bureau7", "writer": "s5", "seq": 1, "record": rid}))
open("forged.path", "w").write(f"records/roster/{h[:2]}/{h[2:4]}/{h}.json")
open("forged.id", "w").write(rid)
PY
export GIT_INDEX_FILE=$T/forged.index
for f in rec state chain; do git -C ledger hash-object -w "$T/forged.$f" > "$T/forged.$f.oid"; done
git -C ledger update-index --add --cacheinfo "100644,$(cat forged.rec.oid),$(cat forged.path)"
git -C ledger update-index --add --cacheinfo "100644,$(cat forged.state.oid),roster.json"
git -C ledger update-index --add --cacheinfo "100644,$(cat forged.chain.oid),chain.json"
tree=$(git -C ledger write-tree)
unset GIT_INDEX_FILE
commit=$(printf 'roster: admit bureau7\n\nDvi-Record: %s\n' "$(cat forged.id)" | \
    git -C ledger -c gpg.format=ssh -c user.signingkey="$T/bureau7.ssh" -c user.name=bureau7/s5 -c user.email=s5@bureau7 \
    commit-tree -S "$tree")
git -C ledger update-ref refs/dvi/chains/bureau7/s5 "$commit"
expect 1 "$DVI" roster list
stderr_is "dvi: error: roster record $(cat forged.id) was written by 'bureau7/s5', who may not change the roster: partner 'bureau7' (bureau) may not write roster records"
expect 1 "$DVI" --key bureau7.pem roster add evil --role oem
pass "a roster forged by a non-authority is refused"
git -C ledger update-ref -d refs/dvi/chains/bureau7/s5
expect 0 "$DVI" roster list
pass "the honest roster verifies"
