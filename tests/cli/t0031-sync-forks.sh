#!/usr/bin/env bash
# dvi sync refuses what does not verify and never forces: a forked writer chain (kept as
# evidence), a chain re-signed by a key the roster does not allow, a chain of a writer
# nobody admitted (also through stock `git push` and the pre-receive hook), a corrupt
# bundle. Bundles interoperate with stock git both ways; dvi init --join takes one.
. "$(dirname "$0")/lib.sh"
consortium L
"$DVI" -q -C L --key polyfil.pem seal "$EXAMPLE/material-lot.yaml"
for c in L2 L3 L4 L5; do cp -a L $c; done
chain=refs/dvi/chains/polyfil/lab

# The same writer signs two different records at position 2 of its chain.
"$DVI" -q -C L --key polyfil.pem seal "$EXAMPLE/material-lot-quarantine.yaml"
DVI_TEST_DATE=2026-11-23T11:00:00Z "$DVI" -q -C L2 --key polyfil.pem seal "$EXAMPLE/material-lot-quarantine.yaml"
ours=$(git -C L rev-parse $chain)
theirs=$(git -C L2 rev-parse $chain)
before=$(snapshot L)
expect 1 "$DVI" -C L sync "$T/L2" --fetch-only
stdout_has "polyfil/lab              FORK at position 2: ours $ours, theirs $theirs"
stderr_has "dvi: error: 1 chain(s) forked: both heads are kept under refs/dvi/forks/ as evidence"
[ "$(git -C L rev-parse $chain)" = "$ours" ] || fail "a fork moved our chain"
[ "$(git -C L rev-parse refs/dvi/forks/polyfil/lab/$ours)" = "$ours" ] || fail "our head not kept as evidence"
[ "$(git -C L rev-parse refs/dvi/forks/polyfil/lab/$theirs)" = "$theirs" ] || fail "their head not kept as evidence"
git -C L cat-file -e "$theirs" || fail "the evidence commit is not in the ledger"
expect 1 "$DVI" --json -C L sync "$T/L2" --fetch-only
[ "$(json_get '["fetched"]["forks"]')" = 1 ] || fail "JSON fork count"
python3 - "$T/out" "$ours" "$theirs" <<'PY' || fail "JSON fork entry"
import json, sys
doc = json.load(open(sys.argv[1]))
c = [c for c in doc["fetched"]["chains"] if c["chain"] == "polyfil/lab"][0]
assert c["status"] == "fork", c
assert c["fork"] == {"seq": 2, "ours": sys.argv[2], "theirs": sys.argv[3], "evidence": "refs/dvi/forks/polyfil/lab/"}, c["fork"]
# Our chain stayed where it was: `to` is our head, theirs is `offered`.
assert (c["from"], c["to"], c["offered"], c["from_seq"], c["to_seq"]) == (sys.argv[2], sys.argv[2], sys.argv[3], 2, 2), c
PY
# Nor does the fork travel the other way: L2's chain stays its own.
expect 1 "$DVI" -C L2 sync "$T/L" --fetch-only
[ "$(git -C L2 rev-parse $chain)" = "$theirs" ] || fail "a fork moved their chain"
pass "fork at position 2: refused, both heads kept under refs/dvi/forks/, exit 1"

# L3 re-signs polyfil's head with a key the roster does not know, and invents a writer.
"$DVI" -q key generate --openssh --out rogue
resign() {
    git -C L3 -c user.name=rogue -c user.email=rogue@example -c gpg.format=ssh -c user.signingkey="$T/rogue" \
        commit-tree -S -m "$(git -C L3 log -1 --format=%B "$1")" "$1^{tree}"
}
forged=$(resign $chain)
git -C L3 update-ref $chain "$forged"
git -C L3 update-ref refs/dvi/chains/rogue/x "$forged"
cp -a L5 L6
before=$(snapshot L5)
expect 1 "$DVI" --json -C L5 sync "$T/L3" --fetch-only
python3 - "$T/out" <<'PY' || fail "refusals"
import json, sys
chains = {c["chain"]: c for c in json.load(open(sys.argv[1]))["fetched"]["chains"]}
assert chains["polyfil/lab"]["status"] == "refused", chains["polyfil/lab"]
assert "not by the writer's key" in chains["polyfil/lab"]["reason"], chains["polyfil/lab"]["reason"]
assert chains["rogue/x"]["status"] == "refused", chains["rogue/x"]
assert "writer 'rogue/x' is not in the roster" in chains["rogue/x"]["reason"], chains["rogue/x"]["reason"]
PY
[ "$before" = "$(snapshot L5)" ] || fail "a refused sync changed the ledger"
[ -z "$(ls -A L5/dvi/incoming 2>/dev/null)" ] || fail "the quarantine was left behind"
pass "a chain re-signed by an unknown key and an unknown writer are refused, nothing written"

# Stock git push into a ledger runs its pre-receive hook, which verifies with dvi.
expect 1 git -C L3 push "$T/L6" refs/dvi/chains/rogue/x
stderr_has "remote: dvi: error: chain 'rogue/x' refused: writer 'rogue/x' is not in the roster"
git -C L6 rev-parse -q --verify refs/dvi/chains/rogue/x >/dev/null && fail "the hook let a forged chain in"
"$DVI" -q -C L4 roster add inspecto --role inspector
expect 0 git -C L4 push "$T/L6" refs/dvi/chains/acme/desk
[ "$(git -C L6 rev-parse refs/dvi/chains/acme/desk)" = "$(git -C L4 rev-parse refs/dvi/chains/acme/desk)" ] ||
    fail "the hook refused a sound push"
pass "git push through the pre-receive hook: a forged chain refused, a sound one taken"

# Bundles: ours pass stock git; stock git's (thin, with prerequisites) pass ours.
expect 0 "$DVI" --json -C L4 sync --bundle-out "$T/full.bundle"
[ "$(json_get '["bundle_out"]["written"]')" = true ] || fail "bundle not written"
expect 0 git -C L bundle verify "$T/full.bundle"
git init -q --bare stock && git -C stock fetch -q "$T/full.bundle" 'refs/dvi/*:refs/dvi/*' || fail "git fetch of our bundle"
[ "$(git -C stock rev-parse refs/dvi/chains/acme/desk)" = "$(git -C L4 rev-parse refs/dvi/chains/acme/desk)" ] || fail "git fetch"
expect 0 "$DVI" --key polyfil.pem init --join "$T/full.bundle" --partner polyfil --writer lab joined
stdout_has "every commit verified"
git -C joined remote | grep -q . && fail "a join from a bundle set a remote"
"$DVI" -q -C L4 roster add inspecto2 --role inspector
expect 0 "$DVI" -C L4 sync --bundle-out "$T/inc.bundle" --since "$T/full.bundle"
stdout_has "on top of 2 head(s) they hold"
expect 0 "$DVI" -C joined sync --bundle-in "$T/inc.bundle"
stdout_has "acme/desk"
# The reply to an incremental bundle: the chains it did not name are among the commits it
# was made on top of, so nothing is sent back when nothing is new.
expect 0 "$DVI" -C joined sync --bundle-out "$T/reply.bundle" --since "$T/inc.bundle"
stdout_has "nothing new since"
[ ! -e reply.bundle ] || fail "a reply with nothing new was written"
"$DVI" -q -C L4 sync --bundle-out "$T/all.bundle"
expect 0 "$DVI" -C L4 sync --bundle-out "$T/none.bundle" --since "$T/all.bundle"
stdout_has "nothing new since"
[ ! -e none.bundle ] || fail "an empty bundle was written"
old=$(git -C L5 rev-parse refs/dvi/chains/acme/desk)
git -C L4 bundle create -q "$T/thin.bundle" refs/dvi/chains/acme/desk "^$old"
grep -aq "^-$old" thin.bundle || fail "stock bundle has no prerequisite"
expect 0 "$DVI" --json -C L5 sync --bundle-in "$T/thin.bundle"
[ "$(json_get '["bundle_in"]["records"]')" = 2 ] || fail "records from a stock thin bundle"
# A bundle that continues from heads we lack is refused as such.
expect 2 "$DVI" -C L2 sync --bundle-in "$T/inc.bundle"
stderr_has "which this ledger lacks"
# ... and one cannot start a ledger: the join says why, and leaves nothing behind.
expect 2 "$DVI" --key polyfil.pem init --join "$T/inc.bundle" --partner polyfil --writer lab from-inc
stderr_is "dvi: error: bundle '$T/inc.bundle' continues from commit $(sed -n 's/^-\([0-9a-f]*\).*/\1/p' inc.bundle | head -1): it was made with --since, for a ledger that holds the rest
dvi: hint: start a ledger from a full bundle (dvi sync --bundle-out without --since)"
[ ! -e from-inc ] || fail "a refused join left a folder"
git -C L4 bundle create -q "$T/lab-only.bundle" refs/dvi/chains/polyfil/lab 2>/dev/null
expect 2 "$DVI" --key polyfil.pem init --join "$T/lab-only.bundle" --partner polyfil --writer lab lab-only
stderr_is "dvi: error: what was received holds no roster that verifies: the ledger has no roster
dvi: hint: ask for every chain of the ledger, the roster's included (a bundle made without --since)"
[ ! -e lab-only ] || fail "a refused join left a folder"
pass "bundles: ours verify with git, stock thin bundles import, --since, --join from a bundle"

# A corrupt pack is refused and nothing is imported.
cp full.bundle bad.bundle
python3 - "$T/bad.bundle" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-200] ^= 0xff
open(sys.argv[1], "wb").write(b)
PY
before=$(snapshot L2)
expect 2 "$DVI" -C L2 sync --bundle-in "$T/bad.bundle"
stderr_has "holds a corrupt pack"
stderr_has "dvi: hint: nothing was imported; ask for the bundle again"
[ "$before" = "$(snapshot L2)" ] || fail "a corrupt bundle changed the ledger"
printf 'not a bundle\n' > junk.bundle
expect 2 "$DVI" -C L2 sync --bundle-in "$T/junk.bundle"
stderr_is "dvi: error: bundle '$T/junk.bundle': not a git bundle (v2 or v3)"
expect 2 "$DVI" -C L2 sync --bundle-in "$T/missing.bundle"
# Another consortium founded with the same authority key: its genesis chain verifies, but
# it is not an equivocation of ours; it is refused as another consortium's, no evidence kept.
"$DVI" -q --key acme.pem init --consortium Other --partner acme --writer desk --role oem other
"$DVI" -q -C other sync --bundle-out "$T/other.bundle"
before=$(snapshot L2)
expect 1 "$DVI" -C L2 sync --bundle-in "$T/other.bundle"
stdout_has "acme/desk                REFUSED: it is another consortium's: its first record is sha256:"
stdout_has ", not this ledger's genesis $(git -C L2 config dvi.genesis)"
[ "$before" = "$(snapshot L2)" ] || fail "another consortium's bundle changed the ledger"
pass "corrupt and foreign bundles refused with nothing written"

# A revoked key signs nothing after its cut-point, even what it signed offline before it
# heard of the revocation: the chain is taken up to the cut, the rest refused.
cp -r "$EXAMPLE" ex
sed -e 's/^lot: PETG-2026-0131/lot: PETG-2026-0207/' ex/material-lot-quarantine.yaml > ex/material-lot-3.yaml
mkdir rv && cd rv
consortium R
"$DVI" -q -C R --key polyfil.pem seal "$T/ex/material-lot.yaml"
cp -a R U
"$DVI" -q -C U --key polyfil.pem seal "$T/ex/material-lot-quarantine.yaml"
"$DVI" -q -C R sync "$T/rv/U" --fetch-only
"$DVI" -q -C U --key polyfil.pem seal "$T/ex/material-lot-3.yaml"
"$DVI" -q -C R roster revoke polyfil/lab --reason "key left on a lost laptop"
expect 1 "$DVI" --json -C R sync "$T/rv/U" --fetch-only
python3 - "$T/out" <<'PY' || fail "revocation cut-point"
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["fetched"]["chains"] if c["chain"] == "polyfil/lab"][0]
assert c["status"] == "refused" and c["to_seq"] == 2, c
assert "was revoked after position 2" in c["reason"], c["reason"]
PY
[ "$(git -C R rev-list --count refs/dvi/chains/polyfil/lab)" = 2 ] || fail "a commit after the cut-point was taken"
pass "a revoked key: its chain stops at the cut-point"

# A long chain, checked on several threads, taken exactly up to a revocation's cut-point.
# S holds the authority's revocation (cut at 40) and, fetched by stock git behind dvi's
# back, the printer's 80 prints; R, which knew 10 of them, takes 11..40 and refuses the rest.
cd "$T" && mkdir long && cd long
export DVI_DIR=$T/long/R
licensed R
g=$(grant --to bureau7 --quota 100)
a=$(allocate "$g" bureau7/s5 100)
pv() { "$DVI" -q -C "$1" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot polyfil/PETG-2026-0117; }
for _ in $(seq 10); do pv R; done
cp -a R U
for _ in $(seq 70); do pv U; done
cp -a R S
"$DVI" -q -C S sync "$T/long/U" --fetch-only
git -C S fetch -q "$T/long/U" '+refs/dvi/chains/bureau7/s5:refs/dvi/chains/bureau7/s5'
# Revoke in S as if it had held only 40: roll S's view of the chain back, revoke, restore.
full=$(git -C S rev-parse refs/dvi/chains/bureau7/s5)
git -C S update-ref refs/dvi/chains/bureau7/s5 "$(git -C S rev-parse "$full~40")"
"$DVI" -q -C S roster revoke bureau7/s5 --reason "printer stolen"
git -C S update-ref refs/dvi/chains/bureau7/s5 "$full"
expect 1 "$DVI" --json -C R sync "$T/long/S" --fetch-only
python3 - "$T/out" <<'PY' || fail "partial chain"
import json, sys
c = [c for c in json.load(open(sys.argv[1]))["fetched"]["chains"] if c["chain"] == "bureau7/s5"][0]
assert c["status"] == "partial" and c["from_seq"] == 10 and c["to_seq"] == 40 and c["records"] == 30, c
assert "at position 41: key of 'bureau7/s5' was revoked after position 40" in c["reason"], c["reason"]
PY
[ "$(git -C R rev-list --count refs/dvi/chains/bureau7/s5)" = 40 ] || fail "R holds the wrong prefix"
pass "80-commit chain verified on several threads: taken up to the cut-point (40), refused after"
