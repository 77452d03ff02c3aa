#!/usr/bin/env bash
# dvi print-verify: one case per reason code (exact exit status, code and sentence, and
# the refusal on the record without using quota), allowed prints and the hand-over.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
keys unit7 polyfil2
"$DVI" -q roster add unit7 --role field-unit --writer s9 --pubkey unit7.pem.pub --device "U7-9:Original Prusa MINI"
"$DVI" -q roster add bureau7 --device "X1-0001:Bambu Lab X1 Carbon"
lot=polyfil/PETG-2026-0117
g=$(grant --to bureau7 --quota 20 --not-before 2026-11-01 --not-after 2026-12-31)
a=$(allocate "$g" bureau7/s5 5)

# refused <code> <sentence> <print-verify args...>: exit 1, the code on stderr and in
# --json, a refused print record appended, no quota used.
refused() {
    local code=$1 sentence=$2
    shift 2
    local n
    n=$(chain_length bureau7/s5)
    expect 1 "$DVI" --json --key bureau7.pem print-verify "$@"
    [ "$(json_get '["decision"]')" = refused ] || fail "$code: decision"
    [ "$(json_get '["code"]')" = "$code" ] || fail "expected $code, got $(json_get '["code"]')"
    [ "$(json_get '["message"]')" = "$sentence" ] || fail "$code: message is '$(json_get '["message"]')'"
    stderr_is "dvi: error: print refused [$code]: $sentence"
    [ "$(chain_length bureau7/s5)" = $((n + 1)) ] || fail "$code: the refusal was not recorded"
    "$DVI" --json show "$(json_get '["record"]')" | python3 -c "
import json, sys
r = json.load(sys.stdin)['record']
assert r['decision'] == 'refused' and r['units'] == 0 and r['reason']['code'] == '$code', r
" || fail "$code: the recorded refusal"
    pass "$code"
}
used() { "$DVI" --json license show "$a" | python3 -c 'import json,sys; print(json.load(sys.stdin)["used"])'; }

refused license-unknown "no licence 'abcdef12' in this ledger" --license abcdef12 --device S5-0412 --material-lot $lot
refused not-addressed-to-writer "the licence is addressed to 'bureau7', not to this printer agent 'bureau7/s5'" \
    --license "$g" --device S5-0412 --material-lot $lot
refused device-unknown "printer 'S5-9999' is not registered to 'bureau7' in the roster" \
    --license "$a" --device S5-9999 --material-lot $lot
refused device-unknown "printer 'U7-9' is not registered to 'bureau7' in the roster" \
    --license "$a" --device U7-9 --material-lot $lot
refused no-recipe-for-model "dossier BRK-2041@C has no sealed recipe for a Bambu Lab X1 Carbon" \
    --license "$a" --device X1-0001 --material-lot $lot
refused no-recipe-for-model "dossier BRK-2041@C has no sealed recipe 'mk3s-petg' for a Original Prusa MINI" \
    --license "$a" --device S5-0412 --material-lot $lot --recipe mk3s-petg
refused lot-unknown "no material lot 'polyfil/NOPE' in this ledger" --license "$a" --device S5-0412 --material-lot polyfil/NOPE
refused lot-not-released "lot PETG-2026-0131 is in quarantine and no deviation allows it" \
    --license "$a" --device S5-0412 --material-lot polyfil/PETG-2026-0131
refused file-mismatch "the file '$EXAMPLE/recipes/mk3s/bracket-infill40.gcode' (sha256:edb30348771a, 1559991 bytes) is not the sealed G-code of recipe mk3s-petg (sha256:864fe59561f9)" \
    --license "$a" --device K3-0077 --material-lot $lot --file "$EXAMPLE/recipes/mk3s/bracket-infill40.gcode"
# A file whose name is not UTF-8, or whose path is longer than a record's sentence may be:
# the refusal is still recorded, the name escaped, the sentence cut.
cp "$EXAMPLE/recipes/mk3s/bracket-infill40.gcode" "$T/$(printf 'f\xff').gcode"
refused file-mismatch "the file '$T/f\xff.gcode' (sha256:edb30348771a, 1559991 bytes) is not the sealed G-code of recipe mk3s-petg (sha256:864fe59561f9)" \
    --license "$a" --device K3-0077 --material-lot $lot --file "$T/$(printf 'f\xff').gcode"
long=$T; for _ in 1 2 3 4 5 6; do long=$long/$(printf 'd%.0s' {1..200}); done
mkdir -p "$long" && cp "$EXAMPLE/recipes/mk3s/bracket-infill40.gcode" "$long/x.gcode"
expect 1 "$DVI" --json --key bureau7.pem print-verify --license "$a" --device K3-0077 --material-lot $lot --file "$long/x.gcode"
[ "$(json_get '["code"]')" = file-mismatch ] && [ -n "$(json_get '["record"]')" ] || fail "a long path's refusal was not recorded"
json_get '["message"]' | grep -q '\.\.\.$' || fail "a long path's sentence is not cut"
DVI_TEST_DATE=2026-10-31T23:59:59Z refused not-yet-valid "the licence is valid from 2026-11-01T00:00:00Z" \
    --license "$a" --device S5-0412 --material-lot $lot
DVI_TEST_DATE=2027-01-01T00:00:00Z refused expired "the licence expired at 2026-12-31T23:59:59Z" \
    --license "$a" --device S5-0412 --material-lot $lot

# Lots of another material, or with a certificate the dossier does not accept.
"$DVI" -q roster add polyfil --writer lab2 --pubkey polyfil2.pem.pub
sed -e 's/^lot: PETG-2026-0117$/lot: PLA-1/' -e 's/spec: PETG, ISO 1043 \/ general purpose, 1.75 mm filament/spec: PLA, 1.75 mm filament/' \
    "$EXAMPLE/material-lot.yaml" > "$T/pla.yaml"
sed -e 's/^lot: PETG-2026-0117$/lot: PETG-22/' -e 's/  type: EN 10204 3.1/  type: EN 10204 2.2/' \
    "$EXAMPLE/material-lot.yaml" > "$T/cert22.yaml"
cp -r "$EXAMPLE/lot" "$T/lot"
"$DVI" -q --key polyfil.pem seal "$T/pla.yaml" "$T/cert22.yaml"
refused lot-spec-not-accepted "lot PLA-1 is 'PLA, 1.75 mm filament', which the dossier does not accept" \
    --license "$a" --device S5-0412 --material-lot polyfil/PLA-1
refused lot-certificate-not-accepted "lot PETG-22 has a 'EN 10204 2.2' certificate, which the dossier does not accept" \
    --license "$a" --device S5-0412 --material-lot polyfil/PETG-22

# A licence limited to one printer.
k=$(grant --to bureau7/s5 --quota 3 --device K3-0077)
refused device-not-allowed "the licence does not allow printer 'S5-0412'" --license "$k" --device S5-0412 --material-lot $lot
[ "$(used)" = 0 ] || fail "refusals used quota"

# Allowed, with the sealed file handed over: to --output, and to a command.
expect 0 "$DVI" --json --key bureau7.pem print-verify --license "$a" --device K3-0077 --material-lot $lot \
    --file "$EXAMPLE/recipes/mk3s/bracket.gcode" --output "$T/job1.gcode" --serial BRK-2026-00001 --operator "J. Doe"
[ "$(json_get '["decision"]')" = allowed ] || fail "allowed print"
[ "$(json_get '["recipe"]')" = mk3s-petg ] || fail "recipe chosen by model"
cmp -s "$T/job1.gcode" "$EXAMPLE/recipes/mk3s/bracket.gcode" || fail "--output is not the sealed G-code"
print1=$(json_get '["record"]')
expect 0 "$DVI" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot -- cp {} "$T/job2.gcode"
cmp -s "$T/job2.gcode" "$EXAMPLE/recipes/mini/bracket.gcode" || fail "the command did not get the sealed MINI G-code"
stdout_has "allowed: BRK-2041@C recipe mini-petg on S5-0412, 2/5 used"
expect 128 "$DVI" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot -- false
stderr_is "dvi: error: the print is recorded as allowed, but 'false' exited with status 1
dvi: hint: record the outcome with an inspection; do not print again without a new check"
expect 0 "$DVI" --key bureau7.pem print-verify --dry-run --license "$a" --device S5-0412 --material-lot $lot
stdout_has "would be allowed: BRK-2041@C recipe mini-petg on S5-0412, 4/5 used"
[ "$(used)" = 3 ] || fail "3 allowed prints (the dry run not counted), used is $(used)"
expect 2 "$DVI" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --output "$T/job1.gcode"
stderr_is "dvi: error: refusing to overwrite '$T/job1.gcode'
dvi: hint: choose another path"
n=$(chain_length bureau7/s5)
expect 2 "$DVI" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --output "$T/no/such/dir/x.gcode"
stderr_is "dvi: error: cannot write --output '$T/no/such/dir/x.gcode': '$T/no/such/dir' is not a writable folder"
expect 2 "$DVI" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --operator ""
stderr_is "dvi: error: --operator is empty
dvi: hint: give a value, or leave the option out"
for dev in /dev/null /dev/zero; do  # a device: refused at once (/dev/zero would never end)
    expect 2 timeout 20 "$DVI" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --file $dev
    stderr_is "dvi: error: --file '$dev' is not a regular file"
done
[ "$(chain_length bureau7/s5)" = "$n" ] || fail "a bad hand-over option recorded a print"
pass "allowed prints hand over the sealed bytes; hand-over problems are caught before recording"

# A command a signal ends is said to be killed, not to exit with 128 + the signal.
sig=$(allocate "$g" bureau7/s5 1)
expect 128 "$DVI" --key bureau7.pem print-verify --license "$sig" --device S5-0412 --material-lot $lot -- sh -c 'kill -9 $$'
stderr_is "dvi: error: the print is recorded as allowed, but 'sh' was killed by signal 9 (Killed)
dvi: hint: record the outcome with an inspection; do not print again without a new check"
# --output that fails after the print is recorded (a file size limit here): exit 128, and
# the operator is told the print is recorded, not to try another path.
n=$(chain_length bureau7/s5)
sig2=$(allocate "$g" bureau7/s5 1)
(trap '' XFSZ; ulimit -f 200; expect 128 "$DVI" --key bureau7.pem print-verify --license "$sig2" --device S5-0412 \
    --material-lot $lot --output "$T/too-big.gcode") || exit 1
stderr_is "dvi: error: the print is recorded as allowed, but the G-code was not handed over: cannot write '$T/too-big.gcode': File too large
dvi: hint: record the outcome with an inspection; do not print again without a new check"
[ "$(chain_length bureau7/s5)" = $((n + 1)) ] || fail "the print was not recorded"
[ ! -e "$T/too-big.gcode" ] || fail "a partial G-code was left"
pass "a command killed by a signal"

expect 0 "$DVI" --json show "$print1"
python3 - "$T/out" <<'PY' || fail "print record"
import json, sys
r = json.load(open(sys.argv[1]))["record"]
assert r["decision"] == "allowed" and r["units"] == 1 and r["used"] == 1 and r["quota"] == 5, r
assert r["device"] == {"serial": "K3-0077", "model": "Original Prusa i3 MK3S"}, r["device"]
assert r["serials"] == ["BRK-2026-00001"] and r["operator"] == "J. Doe"
assert r["file"]["sha256"] == "864fe59561f957580c9bed83369459df11bad2092402d236b68736ee85969f53"
assert r["request"]["file_sha256"] == r["file"]["sha256"]
PY

# Quota: the allocation of 5 runs out.
for _ in 4 5; do expect 0 "$DVI" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot; done
refused quota-exhausted "the licence's quota is used up: 5 of 5 jobs printed" --license "$a" --device S5-0412 --material-lot $lot

# A part-counted licence: each --serial is a unit; a job larger than what is left is refused.
p3=$(grant --to bureau7/s5 --quota 3 --unit part)
expect 2 "$DVI" --key bureau7.pem print-verify --license "$p3" --device S5-0412 --material-lot $lot
stderr_is "dvi: error: this licence counts parts: give each part's --serial"
expect 0 "$DVI" --key bureau7.pem print-verify --license "$p3" --device S5-0412 --material-lot $lot --serial P-1 --serial P-2
refused quota-exhausted "the licence has 1 part left, and this job needs 2" \
    --license "$p3" --device S5-0412 --material-lot $lot --serial P-3 --serial P-4
expect 2 "$DVI" --key acme.pem license grant --dossier BRK-2041@C --to polyfil/lab --quota 1
stderr_is "dvi: error: 'polyfil/lab' cannot print: partner 'polyfil' (supplier) may not write print records
dvi: hint: address the licence to a partner, or to one of its printer agents"

# Revocations: of the licence, of the dossier, of the key.
b=$(allocate "$g" bureau7/s5 5)
expect 0 "$DVI" --key acme.pem license revoke "$g" --reason "contract ended"
refused license-revoked "the licence was revoked: contract ended" --license "$b" --device S5-0412 --material-lot $lot
expect 0 "$DVI" --key acme.pem license revoke BRK-2041@C --reason "crack found in the fillet"
refused dossier-revoked "dossier BRK-2041@C was revoked" --license "$k" --device K3-0077 --material-lot $lot
expect 0 "$DVI" --key acme.pem roster revoke bureau7/s5 --reason "agent stolen"
n=$(chain_length bureau7/s5)
expect 1 "$DVI" --json --key bureau7.pem print-verify --license "$k" --device K3-0077 --material-lot $lot
[ "$(json_get '["code"]')" = key-revoked ] || fail "key-revoked"
[ "$(chain_length bureau7/s5)" = "$n" ] || fail "a revoked key must not write"
pass "key-revoked (not recorded: the key may not write)"

records_check
pass "$(cat records.txt)"

# The whole ledger this script built passes the audit: no errors (its clock games and
# failed inspections are warnings).
audit_clean
