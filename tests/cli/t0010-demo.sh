#!/usr/bin/env bash
# The README's first command ends in examples/demo.sh: it must run to the end.
. "$(dirname "$0")/lib.sh"
unset DVI_TEST_DATE
DVI_DEMO_DIR=$T/demo "$DVI_SOURCE_DIR/examples/demo.sh" "$DVI" > demo.out 2>&1 || { cat demo.out; fail "demo failed"; }
grep -q '^sealed dossier BRK-2041@C as sha256:' demo.out || fail "demo did not seal the dossier"
[ "$(grep -c '^Good "git" signature' demo.out)" = 4 ] || fail "demo: git did not verify the four chains"
grep -q '^allowed: BRK-2041@C recipe mk3s-petg on K3-0077, 1/10 used' demo.out || fail "demo: first print"
grep -q 'print refused \[file-mismatch\]' demo.out || fail "demo: re-sliced G-code not refused"
grep -q 'print refused \[lot-not-released\]' demo.out || fail "demo: quarantined lot not refused"
cmp -s "$T/demo/job-00001.gcode" "$DVI_SOURCE_DIR/examples/bracket/recipes/mk3s/bracket.gcode" || fail "demo: handed-over G-code"
grep -q '^verified: yes' demo.out || fail "demo: show did not verify"
grep -q '^  co-signs sha256:' demo.out || fail "demo: the bureau did not co-sign the anchor"
grep -q 'print refused \[clock-behind-ledger\]' demo.out || fail "demo: a clock set back was not refused"
grep -q '^  0 errors, [0-9]* warnings, [0-9]* notes: PASS$' demo.out || fail "demo: the audit did not pass"
pass "demo runs end to end"
