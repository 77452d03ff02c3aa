#!/usr/bin/env bash
# Scenarios over time with DVI_TEST_DATE: 40 prints over three weeks, 10 more, the 51st
# refused; a re-sliced G-code refused while the other model's sealed one is allowed; a
# lot in quarantine refused, then allowed up to a deviation's limit; an inspection.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
lot=polyfil/PETG-2026-0117
g=$(grant --to bureau7 --quota 100 --not-before 2026-11-01 --not-after 2027-01-31)
a=$(allocate "$g" bureau7/s5 50)
pv() { "$DVI" --key bureau7.pem print-verify --license "$a" --material-lot "$@"; }

# Three weeks, two printers, 40 prints.
n=0
for day in $(seq 2 22); do
    for hour in 08 14; do
        [ $n -lt 40 ] || break
        printer=S5-0412; [ $((n % 2)) = 1 ] && printer=K3-0077
        DVI_TEST_DATE=2026-11-$(printf %02d "$day")T$hour:00:00Z expect 0 pv $lot --device $printer
        n=$((n + 1))
    done
done
expect 0 "$DVI" --json license show "$a"
[ "$(json_get '["used"]')" = 40 ] || fail "40 prints over three weeks, used $(json_get '["used"]')"
for _ in $(seq 10); do DVI_TEST_DATE=2026-11-25T09:00:00Z expect 0 pv $lot --device S5-0412; done
DVI_TEST_DATE=2026-11-25T10:00:00Z expect 1 pv $lot --device S5-0412
stderr_is "dvi: error: print refused [quota-exhausted]: the licence's quota is used up: 50 of 50 jobs printed"
pass "40 prints over three weeks, 10 more, the 51st refused"

# A re-sliced G-code (40 % infill) is not the sealed file; the other model's is.
b=$(allocate "$g" bureau7/s5 10)
expect 1 "$DVI" --key bureau7.pem print-verify --license "$b" --material-lot $lot --device K3-0077 \
    --file "$EXAMPLE/recipes/mk3s/bracket-infill40.gcode"
stderr_has "print refused [file-mismatch]"
expect 0 "$DVI" --key bureau7.pem print-verify --license "$b" --material-lot $lot --device S5-0412 \
    --file "$EXAMPLE/recipes/mini/bracket.gcode"
expect 1 "$DVI" --key bureau7.pem print-verify --license "$b" --material-lot $lot --device S5-0412 \
    --file "$EXAMPLE/recipes/mk3s/bracket.gcode"
stderr_has "print refused [file-mismatch]"
pass "re-sliced G-code refused, the sealed one allowed"

# Quarantine, then an OEM deviation for 3 parts addressed to this printer agent.
q=polyfil/PETG-2026-0131
expect 1 "$DVI" --key bureau7.pem print-verify --license "$b" --material-lot $q --device S5-0412
stderr_has "print refused [lot-not-released]: lot PETG-2026-0131 is in quarantine and no deviation allows it"
mkdir dev
cat > dev/deviation.yaml <<YAML
kind: deviation
dossier: BRK-2041@C
material_lot: $q
to: bureau7/s5
max_parts: 3
reason: Moisture 0.16 % after drying at 65 °C for 4 h; accepted for non-structural use
YAML
sed 's|to: bureau7/s5|to: bureau7/nobody|' dev/deviation.yaml > dev/bad-to.yaml
expect 2 "$DVI" --key acme.pem seal dev/bad-to.yaml
stderr_is "dvi: error: dev/bad-to.yaml:4: field 'to': 'bureau7/nobody' is not a writer in the roster"
expect 1 "$DVI" --key polyfil.pem seal dev/deviation.yaml
stderr_is "dvi: error: partner 'polyfil' (supplier) may not write deviation records"
expect 0 "$DVI" --key acme.pem seal dev/deviation.yaml
for i in 1 2 3; do
    expect 0 "$DVI" --key bureau7.pem print-verify --license "$b" --material-lot $q --device S5-0412 --serial "Q-$i"
done
expect 1 "$DVI" --key bureau7.pem print-verify --license "$b" --material-lot $q --device S5-0412 --serial Q-4
stderr_is "dvi: error: print refused [lot-not-released]: lot PETG-2026-0131 is in quarantine and its deviations' 3 parts are used up"
# A second concession adds to the first.
sed 's/max_parts: 3/max_parts: 1/' dev/deviation.yaml > dev/second.yaml
expect 0 "$DVI" --key acme.pem seal dev/second.yaml
expect 0 "$DVI" --key bureau7.pem print-verify --license "$b" --material-lot $q --device S5-0412 --serial Q-4
expect 1 "$DVI" --key bureau7.pem print-verify --license "$b" --material-lot $q --device S5-0412 --serial Q-6
stderr_is "dvi: error: print refused [lot-not-released]: lot PETG-2026-0131 is in quarantine and its deviations' 4 parts are used up"
expect 0 "$DVI" --key bureau7.pem print-verify --license "$b" --material-lot $lot --device S5-0412 --serial Q-5
pass "quarantined lot allowed up to the deviation's limit, then refused"

# Inspection of a printed part against the dossier's acceptance plan.
expect 0 "$DVI" --json --key bureau7.pem print-verify --license "$b" --material-lot $lot --device K3-0077 \
    --serial BRK-2026-00077
p=$(json_get '["record"]')
mkdir qc && printf 'Inspection report BRK-2026-00077\n' > qc/report.txt
cat > qc/inspection.yaml <<YAML
kind: inspection
print: $p
serial: BRK-2026-00077
result: pass
inspector: M. Martin
date: "2026-11-26"
measurements:
  - id: IP-01
    result: pass
  - id: IP-02
    value: "40.05 mm"
    result: pass
report: report.txt
YAML
expect 0 "$DVI" --json --key bureau7.pem seal qc/inspection.yaml
insp=$(json_get '["sealed"][0]["record"]')
expect 0 "$DVI" --json show "$insp"
[ "$(json_get '["record"]["print"]')" = "$p" ] || fail "inspection names its print"
sed 's/serial: BRK-2026-00077/serial: BRK-2026-99999/' qc/inspection.yaml > qc/wrong-serial.yaml
expect 2 "$DVI" --key bureau7.pem seal qc/wrong-serial.yaml
stderr_is "dvi: error: qc/wrong-serial.yaml:3: field 'serial': 'BRK-2026-99999' is not a serial of that print ([\"BRK-2026-00077\"])"
sed 's/id: IP-02/id: IP-99/' qc/inspection.yaml > qc/wrong-id.yaml
expect 2 "$DVI" --key bureau7.pem seal qc/wrong-id.yaml
stderr_is "dvi: error: qc/wrong-id.yaml:10: field 'measurements[1].id': 'IP-99' is not a characteristic of the dossier's acceptance plan"
sed 's/    result: pass$/    result: fail/' qc/inspection.yaml > qc/contradiction.yaml
expect 2 "$DVI" --key bureau7.pem seal qc/contradiction.yaml
stderr_is "dvi: error: qc/contradiction.yaml:9: field 'measurements[0].result' is 'fail', so the inspection's result cannot be 'pass'
dvi: error: qc/contradiction.yaml:12: field 'measurements[1].result' is 'fail', so the inspection's result cannot be 'pass'"
pass "inspection sealed against its print and the acceptance plan"

# Failed jobs: under a --no-count-failed licence, the printer agent's failed inspection
# gives the job back (once); under an ordinary licence it does not.
for mode in no-count count; do
    if [ $mode = no-count ]; then f=$(grant --to bureau7/s5 --quota 1 --no-count-failed); else f=$(grant --to bureau7/s5 --quota 1); fi
    expect 0 "$DVI" --json --key bureau7.pem print-verify --license "$f" --material-lot $lot --device S5-0412 --serial "F-$mode"
    fp=$(json_get '["record"]')
    sed -e "s/^print: .*/print: $fp/" -e "s/^serial: .*/serial: F-$mode/" -e 's/^result: pass/result: fail/' \
        -e 's/    result: pass$/    result: fail/' qc/inspection.yaml > "qc/failed-$mode.yaml"
    expect 0 "$DVI" --key bureau7.pem seal "qc/failed-$mode.yaml"
    sed -i 's/^inspector: .*/inspector: second look/' "qc/failed-$mode.yaml"
    expect 0 "$DVI" --key bureau7.pem seal "qc/failed-$mode.yaml"
    expect 0 "$DVI" --json license show "$f"
    if [ $mode = no-count ]; then
        [ "$(json_get '["used"]')" = 0 ] || fail "the failed job was not given back (used $(json_get '["used"]'))"
        expect 0 "$DVI" --key bureau7.pem print-verify --license "$f" --material-lot $lot --device S5-0412 --serial F-2
        expect 1 "$DVI" --key bureau7.pem print-verify --license "$f" --material-lot $lot --device S5-0412 --serial F-3
    else
        [ "$(json_get '["used"]')" = 1 ] || fail "a failed job counts under an ordinary licence"
    fi
done
pass "failed jobs given back only where the licence says they do not count, once"

# Two parts of one job fail: the job comes back once. Under a licence that counts parts,
# each failed part gives its own unit back, once per serial, and only that part's.
# license show and the audit agree on what was used.
failed_inspection() { # <print> <serial> <file>
    sed -e "s/^print: .*/print: $1/" -e "s/^serial: .*/serial: $2/" -e 's/^result: pass/result: fail/' \
        -e 's/    result: pass$/    result: fail/' qc/inspection.yaml > "$3"
    expect 0 "$DVI" --key bureau7.pem seal "$3"
}
used_of() { expect 0 "$DVI" --json license show "$1"; json_get '["used"]'; }
audit_used_of() {
    "$DVI" --json audit --full > audit.json || true
    python3 -c "import json,sys; print(next(l['used'] for l in json.load(open('audit.json'))['licences'] if l['id'] == sys.argv[1]))" "$1"
}
j=$(grant --to bureau7/s5 --quota 2 --no-count-failed)
expect 0 "$DVI" --json --key bureau7.pem print-verify --license "$j" --material-lot $lot --device S5-0412 --serial J-A --serial J-B
jp=$(json_get '["record"]')
failed_inspection "$jp" J-A qc/j-a.yaml
failed_inspection "$jp" J-B qc/j-b.yaml
[ "$(used_of "$j")" = 0 ] || fail "a job with two failed parts: used $(used_of "$j"), not 0"
[ "$(audit_used_of "$j")" = 0 ] || fail "the audit counts $(audit_used_of "$j") used for the job given back once"

p=$(grant --to bureau7/s5 --quota 3 --unit part --no-count-failed)
expect 0 "$DVI" --json --key bureau7.pem print-verify --license "$p" --material-lot $lot --device S5-0412 --serial P-A --serial P-B --serial P-C
pp=$(json_get '["record"]')
failed_inspection "$pp" P-A qc/p-a.yaml
[ "$(used_of "$p")" = 2 ] || fail "one failed part of three: used $(used_of "$p"), not 2"
sed -i 's/^inspector: .*/inspector: second look/' qc/p-a.yaml && expect 0 "$DVI" --key bureau7.pem seal qc/p-a.yaml
[ "$(used_of "$p")" = 2 ] || fail "the same part failed twice: used $(used_of "$p"), not 2"
expect 1 "$DVI" --key bureau7.pem print-verify --license "$p" --material-lot $lot --device S5-0412 --serial P-D --serial P-E
stderr_is "dvi: error: print refused [quota-exhausted]: the licence has 1 part left, and this job needs 2"
failed_inspection "$pp" P-B qc/p-b.yaml
[ "$(used_of "$p")" = 1 ] || fail "two failed parts of three: used $(used_of "$p"), not 1"
[ "$(audit_used_of "$p")" = 1 ] || fail "the audit counts $(audit_used_of "$p") parts used, not 1"
expect 0 "$DVI" --key bureau7.pem print-verify --license "$p" --material-lot $lot --device S5-0412 --serial P-D --serial P-E
[ "$(used_of "$p")" = 3 ] || fail "used $(used_of "$p") after two more parts, not 3"
pass "a failed job given back once however many parts failed; under a licence of parts, each failed part once"

# Only the dossier's OEM may supersede it.
keys globex
"$DVI" -q roster add globex --role oem --writer eng --pubkey globex.pem.pub
cp -r "$EXAMPLE" hostile
sed -i -e 's/^revision: C$/revision: E\nsupersedes: C/' -e 's/^oem: acme$/oem: globex/' hostile/dossier.yaml
expect 1 "$DVI" --key globex.pem seal hostile/dossier.yaml
stderr_is "dvi: error: hostile/dossier.yaml:6: field 'supersedes': 'BRK-2041@C' belongs to OEM 'acme'; only it may supersede it"

# A new revision supersedes C: prints of C are refused.
cp -r "$EXAMPLE" revd
sed -i -e 's/^revision: C$/revision: D\nsupersedes: C/' revd/dossier.yaml
expect 0 "$DVI" --key acme.pem seal revd/dossier.yaml
expect 1 "$DVI" --key bureau7.pem print-verify --license "$b" --material-lot $lot --device S5-0412
stderr_has "print refused [dossier-superseded]: dossier BRK-2041@C is superseded by sha256:"
pass "superseded dossier"
records_check
pass "$(cat records.txt)"

# The whole ledger this script built passes the audit: no errors (its clock games and
# failed inspections are warnings).
audit_clean
