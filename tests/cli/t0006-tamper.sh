#!/usr/bin/env bash
# A tampered ledger is caught: dvi log and dvi show report the bad signature or hash
# and exit 1. Tampering is done with stock git, as an attacker with write access would.
. "$(dirname "$0")/lib.sh"
consortium ledger
export DVI_DIR=$T/ledger
"$DVI" -q --key polyfil.pem seal "$EXAMPLE/material-lot.yaml"
"$DVI" -q --key acme.pem seal "$EXAMPLE/dossier.yaml"
expect 0 "$DVI" log
expect 0 "$DVI" show BRK-2041@C
lot=$("$DVI" --json log polyfil | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["record"])')
cp -a ledger pristine
ref=refs/dvi/chains/polyfil/lab
head=$(git -C ledger rev-parse $ref)

# 1. The head commit's message rewritten, its signature kept.
git -C ledger cat-file commit "$head" | sed 's/^material-lot: PETG-2026-0117$/material-lot: PETG-2026-0118/' \
    | git -C ledger hash-object -t commit -w --stdin > new
git -C ledger update-ref $ref "$(cat new)" "$head"
expect 1 "$DVI" log polyfil
stdout_has "bad: bad signature: signature does not verify (commit $(cat new))"
stderr_is "dvi: error: 1 of 1 commits do not verify
dvi: hint: do not rely on these records; the ledger was altered or a key misused"
expect 1 "$DVI" show "$lot"
stderr_is "dvi: error: chain head $(cat new): bad signature: signature does not verify"
pass "rewritten commit message"

# 2. The record edited: new blob, new tree, old signature.
rm -rf ledger && cp -a pristine ledger
path=$(git -C ledger ls-tree -r --name-only $ref records/material-lot)
id=sha256:$(basename "$path" .json)
git -C ledger cat-file blob "$ref:$path" | sed 's/"status":"released"/"status":"quarantine"/' \
    | git -C ledger hash-object -w --stdin > blob
export GIT_INDEX_FILE=$T/index
git -C ledger read-tree "$ref^{tree}"
git -C ledger update-index --cacheinfo "100644,$(cat blob),$path"
tree=$(git -C ledger write-tree)
unset GIT_INDEX_FILE
git -C ledger cat-file commit "$head" | sed "s/^tree .*/tree $tree/" | git -C ledger hash-object -t commit -w --stdin > new
git -C ledger update-ref $ref "$(cat new)" "$head"
expect 1 "$DVI" log polyfil
stdout_has "bad: bad signature: signature does not verify (commit $(cat new))"
stdout_has "bad: record $id in commit $(cat new) does not hash to its id"
expect 1 "$DVI" show "$id"
stderr_is "dvi: error: record $id does not hash to its id"
pass "edited record"

# 3. A commit appended with a valid SSH signature by a key the roster does not know,
#    made by stock git.
rm -rf ledger && cp -a pristine ledger
"$DVI" -q key generate --openssh --out rogue.key
new=$(git -C ledger -c gpg.format=ssh -c user.signingkey="$T/rogue.key" \
      -c user.name=polyfil/lab -c user.email=lab@polyfil \
      commit-tree -S -p "$head" -m "material-lot: forged" "$head^{tree}")
git -C ledger update-ref $ref "$new" "$head"
expect 1 "$DVI" log polyfil
stdout_has "bad: signed by $(ssh-keygen -lf rogue.key.pub | awk '{print $2}'), not by the writer's key"
expect 1 "$DVI" show "$lot"
stderr_has "not by the writer's key"
pass "commit signed by a key the roster does not know"

# 4. An unsigned commit.
rm -rf ledger && cp -a pristine ledger
new=$(git -C ledger -c user.name=x -c user.email=x@x commit-tree -p "$head" -m "unsigned" "$head^{tree}")
git -C ledger update-ref $ref "$new" "$head"
expect 1 "$DVI" log polyfil
stdout_has "bad: commit is not signed (commit $new)"
pass "unsigned commit"

# 5. A merge commit signed with the writer's own key (exported for stock git): a chain
#    never has two parents.
rm -rf ledger && cp -a pristine ledger
expect 0 "$DVI" key export polyfil.pem --out polyfil.ssh
other=$(git -C ledger rev-parse refs/dvi/chains/acme/desk)
new=$(git -C ledger -c gpg.format=ssh -c user.signingkey="$T/polyfil.ssh" \
      -c user.name=polyfil/lab -c user.email=lab@polyfil \
      commit-tree -S -p "$head" -p "$other" -m "merge" "$head^{tree}")
git -C ledger update-ref $ref "$new" "$head"
expect 1 "$DVI" log polyfil
stdout_has "bad: commit has 2 parents; a chain is linear (commit $new)"
! grep -q "bad: bad signature" "$T/out" || fail "the writer's own signature on the merge should verify"
pass "merge commit in a chain"

# 6. The roster's own chain tampered: nothing trusts the roster any more.
rm -rf ledger && cp -a pristine ledger
aref=refs/dvi/chains/acme/desk
ahead=$(git -C ledger rev-parse $aref)
git -C ledger cat-file commit "$ahead" | sed 's/^dossier: BRK-2041@C$/dossier: BRK-2041@D/' \
    | git -C ledger hash-object -t commit -w --stdin > new
git -C ledger update-ref $aref "$(cat new)" "$ahead"
for cmd in log "show $lot" "roster list"; do
    expect 1 "$DVI" $cmd
    stderr_is "dvi: error: roster at $(cat new) does not verify: bad signature: signature does not verify"
done
expect 1 "$DVI" --key polyfil.pem seal "$EXAMPLE/material-lot-quarantine.yaml"
pass "tampered roster chain: every command refuses"

# 7. The untouched copy still verifies (the checks above can pass).
rm -rf ledger && cp -a pristine ledger
expect 0 "$DVI" log
expect 0 "$DVI" show BRK-2041@C
pass "pristine ledger verifies"
