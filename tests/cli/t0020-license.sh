#!/usr/bin/env bash
# dvi license: only the OEM grants; only the holder allocates, never above the parent's
# quota nor deeper than allowed; revocation; list and show with usage.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
keys depot unit7
"$DVI" -q roster add depot --role bureau --writer desk --pubkey depot.pem.pub --device "D-01:Original Prusa MINI"
"$DVI" -q roster add unit7 --role field-unit --writer s9 --pubkey unit7.pem.pub --device "U7-9:Original Prusa MINI"
before=$(snapshot ledger)

# refuse <status> <expected stderr first line> <command...>
refuse() {
    local status=$1 msg=$2
    shift 2
    expect "$status" "$@"
    [ "$(head -1 "$T/err")" = "$msg" ] || fail "stderr: got '$(head -1 "$T/err")', expected '$msg'"
    [ "$(snapshot ledger)" = "$before" ] || fail "a refused '$*' wrote something"
}
refuse 1 "dvi: error: partner 'polyfil' (supplier) may not write license records" \
    "$DVI" --key polyfil.pem license grant --dossier BRK-2041@C --to bureau7 --quota 10
refuse 2 "dvi: error: no partner 'nobody' in the roster" \
    "$DVI" --key acme.pem license grant --dossier BRK-2041@C --to nobody --quota 10
refuse 2 "dvi: error: --quota must be from 1 to 2^53-1 (9007199254740991)" \
    "$DVI" --key acme.pem license grant --dossier BRK-2041@C --to bureau7 --quota 0
refuse 2 "dvi: error: --not-after 'next week' is not a date" \
    "$DVI" --key acme.pem license grant --dossier BRK-2041@C --to bureau7 --quota 1 --not-after "next week"
refuse 2 "dvi: error: --not-before must be earlier than --not-after" \
    "$DVI" --key acme.pem license grant --dossier BRK-2041@C --to bureau7 --quota 1 --not-before 2027-01-01 --not-after 2026-01-01
refuse 2 "dvi: error: device 'D-01' is not a printer of 'bureau7'" \
    "$DVI" --key acme.pem license grant --dossier BRK-2041@C --to bureau7 --quota 1 --device D-01
refuse 2 "dvi: error: material 'ABS' is not one the dossier accepts" \
    "$DVI" --key acme.pem license grant --dossier BRK-2041@C --to bureau7 --quota 1 --material ABS
refuse 2 "dvi: error: no dossier 'BRK-9999@A' in the ledger" \
    "$DVI" --key acme.pem license grant --dossier BRK-9999@A --to bureau7 --quota 1
refuse 2 "dvi: error: partner 'polyfil' (supplier) may neither print nor allocate a licence" \
    "$DVI" --key acme.pem license grant --dossier BRK-2041@C --to polyfil --quota 1
refuse 2 "dvi: error: --unit must be 'job' or 'part'" \
    "$DVI" --key acme.pem license grant --dossier BRK-2041@C --to bureau7 --quota 1 --unit kg
pass "grant refusals write nothing"

# Numbers are decimal: 0100 is a hundred (C would read 64) and 01 is one.
g=$(grant --to bureau7 --quota 0100 --sublicense-depth 01 --not-after 2027-06-30)
a=$(allocate "$g" bureau7/s5 50)
before=$(snapshot ledger)
refuse 1 "dvi: error: allocations of $g would sum to 110, above its quota of 100" \
    "$DVI" --key bureau7desk.pem license allocate --from "$g" --to bureau7/s5 --quota 60
refuse 1 "dvi: error: licence $g is held by 'bureau7'; only its holder may allocate it" \
    "$DVI" --key acme.pem license allocate --from "$g" --to bureau7/s5 --quota 1
refuse 1 "dvi: error: licence $a is addressed to the writer 'bureau7/s5', who prints on it" \
    "$DVI" --key bureau7.pem license allocate --from "$a" --to bureau7/s5 --quota 1
pass "allocations never exceed the parent's quota; only the holder allocates"

# Depth: bureau7 may sub-license once (to the depot); the depot may not go further.
d=$(allocate "$g" depot 30)
[ "$("$DVI" --json license show "$d" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sublicense_depth"])')" = 0 ] \
    || fail "the depot's sub-licence should have depth 0 left"
before=$(snapshot ledger)
refuse 1 "dvi: error: licence $d may not be sub-licensed to another partner (sub-licence depth exhausted)" \
    "$DVI" --key depot.pem license allocate --from "$d" --to unit7 --quota 5
expect 0 "$DVI" --key depot.pem license allocate --from "$d" --to depot/desk --quota 5
g0=$(grant --to bureau7 --quota 10)
before=$(snapshot ledger)
refuse 1 "dvi: error: licence $g0 may not be sub-licensed to another partner (sub-licence depth exhausted)" \
    "$DVI" --key bureau7desk.pem license allocate --from "$g0" --to depot --quota 5
refuse 2 "dvi: error: licence $g0 is already held by 'bureau7'" \
    "$DVI" --key bureau7desk.pem license allocate --from "$g0" --to bureau7 --quota 5
refuse 2 "dvi: error: partner 'polyfil' (supplier) may neither print nor allocate a licence" \
    "$DVI" --key bureau7desk.pem license allocate --from "$g" --to polyfil --quota 1
pass "sub-licence depth enforced"

expect 0 "$DVI" --json license show "$g"
python3 - "$T/out" "$a" "$d" <<'PY' || fail "license show --json"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["quota"] == 100 and s["allocated"] == 80 and s["used"] == 0 and s["remaining"] == 100, s
assert s["to"] == "bureau7" and s["not_after"] == "2027-06-30T23:59:59Z" and s["revoked"] is None, s
kids = {k["id"]: k for k in s["allocations"]}
assert set(kids) == {sys.argv[2], sys.argv[3]}, kids.keys()
assert kids[sys.argv[3]]["allocated"] == 5 and kids[sys.argv[3]]["to"] == "depot"
PY
expect 0 "$DVI" license show "$g"
stdout_has "quota    100 jobs: 0 used, 100 remaining, 80 allocated"
stdout_has "devices  any of the holder's"
one=$(grant --to bureau7 --quota 1 --unit part --device S5-0412 --device K3-0077 --material "PETG, ISO 1043 / general purpose, 1.75 mm filament")
expect 0 "$DVI" license show "$one"
stdout_has "quota    1 part: 0 used, 1 remaining, 0 allocated"
stdout_has "devices  K3-0077, S5-0412"
stdout_has "materials PETG, ISO 1043 / general purpose, 1.75 mm filament"
expect 0 "$DVI" license list --to bureau7/s5
[ "$(wc -l < "$T/out")" = 1 ] || fail "license list --to bureau7/s5 should list one licence"
expect 0 "$DVI" --json license list --dossier BRK-2041@C
[ "$(python3 -c "import json; print(len(json.load(open('$T/out'))['licenses']))")" = 3 ] || fail "3 grants of BRK-2041@C (allocations nested)"
# In order of creation, also within one second (the test's clock stands still).
more="$g $g0 $one"
for _ in 1 2 3 4; do more="$more $(grant --to bureau7 --quota 1)"; done
expect 0 "$DVI" --json license list --dossier BRK-2041@C
[ "$(python3 -c "import json; print(' '.join(l['id'] for l in json.load(open('$T/out'))['licenses']))")" = "$more" ] ||
    fail "license list is not in order of creation"
expect 2 "$DVI" license list --to nobody
stderr_is "dvi: error: no partner 'nobody' in the roster
dvi: hint: 'dvi roster list' shows them"
expect 2 "$DVI" license list --to bureau7/nobody
stderr_is "dvi: error: no writer 'bureau7/nobody' in the roster
dvi: hint: 'dvi roster list' shows them"
expect 2 "$DVI" license list --to 'Bad!'
pass "show and list"

# Revocation by the issuer only; it reaches the allocations.
before=$(snapshot ledger)
refuse 1 "dvi: error: the licence $g belongs to 'acme'; only it may revoke it" \
    "$DVI" --key bureau7desk.pem license revoke "$g" --reason "no"
expect 0 "$DVI" --key acme.pem license revoke "$g" --reason "contract ended"
expect 0 "$DVI" --json license show "$a"
[ "$(json_get '["revoked"]')" = "contract ended" ] || fail "the allocation should be revoked with its grant"
expect 2 "$DVI" --key acme.pem license revoke "$g" --reason "again"
stderr_has "is already revoked by"
before=$(snapshot ledger)
refuse 1 "dvi: error: licence $g was revoked: contract ended" \
    "$DVI" --key bureau7desk.pem license allocate --from "$g" --to bureau7/s5 --quota 1
refuse 2 "dvi: error: the licence $a is already revoked, with the licence it was allocated from: contract ended" \
    "$DVI" --key bureau7desk.pem license revoke "$a" --reason "again"
pass "revocation"
records_check
pass "$(cat records.txt)"

# The whole ledger this script built passes the audit: no errors (its clock games and
# failed inspections are warnings).
audit_clean

# Two writers of one holder, each with a copy of the ledger (or at the same moment),
# allocate from one licence past its quota: each was within it alone. license show and
# list say so once both are in one ledger; the audit reports it.
g2=$(grant --to bureau7 --quota 10)
cp -a ledger L2
"$DVI" -q --key bureau7desk.pem license allocate --from "$g2" --to bureau7/s5 --quota 8
"$DVI" -q -C L2 --key bureau7.pem license allocate --from "$g2" --to bureau7/desk --quota 8
"$DVI" -q sync "$T/L2" --fetch-only
expect 0 "$DVI" license show "$g2"
stdout_has "warning  its allocations sum to 16, above its quota of 10"
expect 0 "$DVI" license list --to bureau7
stdout_has "OVER-ALLOCATED"
expect 1 "$DVI" --json audit
[ "$(python3 -c "import json; print([f['code'] for f in json.load(open('$T/out'))['findings']].count('allocation-over-quota'))")" = 1 ] ||
    fail "the audit reports the over-allocation once"
pass "allocations past the quota by two writers: shown by license show and list, found by the audit"
