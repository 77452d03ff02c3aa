#!/usr/bin/env bash
# Crash consistency: dvi killed with SIGKILL at random moments of seal (lots and dossiers
# with their artifacts), print-verify (with and without --output), sync and anchor. After
# each kill the ledger and its peer open, audit finds no errors, git fsck no corruption,
# and every record a command acknowledged (exit 0) is there; a G-code handed to --output
# is whole or absent, with no temporary file left. DVI_CRASH_ITERATIONS sets
# the count (20 here; scripts/crash-test runs 500), DVI_CRASH_SEED replays a run.
. "$(dirname "$0")/lib.sh"
licensed ledger
export DVI_DIR=$T/ledger
keys polyfil2
"$DVI" -q roster add polyfil --writer lab2 --pubkey polyfil2.pem.pub
g=$(grant --to bureau7 --quota 100000)
allocate "$g" bureau7/s5 100000 > alloc
"$DVI" -q --key polyfil2.pem init --join "$T/ledger" --trust "$(git -C ledger config dvi.genesis)" \
    --partner polyfil --writer lab2 peer
cp -r "$EXAMPLE" bracket
python3 "$DVI_SOURCE_DIR/tests/cli/crash.py" "${DVI_CRASH_ITERATIONS:-20}" ${DVI_CRASH_SEED:-} | tee crash.log
grep -q "acknowledged records all present" crash.log || fail "the crash run did not finish"
[ -z "$(find given -name '.*' -o -name '*.tmp*')" ] || fail "a killed --output left a temporary file: $(ls -A given)"
for f in given/*.gcode; do
    cmp -s "$f" "$EXAMPLE/recipes/mini/bracket.gcode" || fail "$f is not the whole sealed G-code"
done
pass "$(tail -1 crash.log)"

# A ref .lock left by a writer killed mid-update is recovered with a message.
touch -d '1 minute ago' ledger/refs/dvi/chains/bureau7/s5.lock
expect 0 "$DVI" --key bureau7.pem print-verify --license "$(cat alloc)" --device S5-0412 \
    --material-lot polyfil/PETG-2026-0117 --recipe mini-petg
stderr_has "dvi: warning: recovered a stale lock"
[ ! -e ledger/refs/dvi/chains/bureau7/s5.lock ] || fail "the stale lock is still there"
pass "stale lock of a killed print-verify recovered"

# The same left by a killed sync, on a chain this ledger never appends to (the peer's) and
# on one of ours in the peer: the next sync recovers both, with a message, instead of
# refusing those chains for good.
"$DVI" -q -C peer --key polyfil2.pem anchor
"$DVI" -q --key acme.pem anchor
touch -d '1 minute ago' ledger/refs/dvi/chains/polyfil/lab2.lock peer/refs/dvi/chains/acme/desk.lock
expect 0 "$DVI" sync "$T/peer"
[ "$(grep -c "dvi: warning: recovered a stale lock" "$T/err")" = 2 ] || fail "sync did not recover both stale locks"
[ "$(git -C ledger rev-parse refs/dvi/chains/polyfil/lab2)" = "$(git -C peer rev-parse refs/dvi/chains/polyfil/lab2)" ] &&
    [ "$(git -C ledger rev-parse refs/dvi/chains/acme/desk)" = "$(git -C peer rev-parse refs/dvi/chains/acme/desk)" ] ||
    fail "the locked chains did not move"
pass "stale locks of a killed sync recovered on both sides"
