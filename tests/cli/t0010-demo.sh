#!/usr/bin/env bash
# The README's first command ends in examples/demo.sh: it must run to the end.
. "$(dirname "$0")/lib.sh"
unset DVI_TEST_DATE
DVI_DEMO_DIR=$T/demo "$DVI_SOURCE_DIR/examples/demo.sh" "$DVI" > demo.out 2>&1 || { cat demo.out; fail "demo failed"; }
grep -q '^sealed dossier BRK-2041@C as sha256:' demo.out || fail "demo did not seal the dossier"
[ "$(grep -c '^Good "git" signature' demo.out)" = 2 ] || fail "demo: git did not verify both chains"
grep -q '^verified: yes' demo.out || fail "demo: show did not verify"
pass "demo runs end to end"
