#!/usr/bin/env bash
# dvi log: chains and types selected, --json, errors.
. "$(dirname "$0")/lib.sh"
consortium ledger
export DVI_DIR=$T/ledger
"$DVI" -q --key polyfil.pem seal "$EXAMPLE/material-lot.yaml" "$EXAMPLE/material-lot-quarantine.yaml"
"$DVI" -q --key acme.pem seal "$EXAMPLE/dossier.yaml"

expect 0 "$DVI" log
[ "$(wc -l < "$T/out")" = 6 ] || fail "expected 6 records (4 acme/desk, 2 polyfil/lab), got $(wc -l < "$T/out")"
head -1 "$T/out" | grep -q '^acme/desk *#4 .* dossier .* BRK-2041@C Mounting bracket' || fail "first line: $(head -1 "$T/out")"
grep -q '^polyfil/lab *#2 .*material-lot .* PETG-2026-0131 .*(quarantine)' "$T/out" || fail "quarantine lot line"
expect 0 "$DVI" log polyfil
[ "$(wc -l < "$T/out")" = 2 ] || fail "log polyfil should list 2"
expect 0 "$DVI" log acme/desk --type roster
[ "$(wc -l < "$T/out")" = 3 ] || fail "acme/desk has 3 roster records"
pass "chains and types"

expect 0 "$DVI" --json log --type material-lot
python3 - "$T/out" <<'PY' || fail "json log"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["bad"] == 0 and d["commits_checked"] == 6, d
e = d["entries"]
assert [x["seq"] for x in e] == [2, 1], e
assert all(x["verified"] and x["problems"] == [] and x["chain"] == "polyfil/lab" for x in e)
assert all(x["record"].startswith("sha256:") and len(x["commit"]) == 40 for x in e)
assert e[0]["signer"].startswith("SHA256:")
PY
pass "--json"

expect 2 "$DVI" log nobody
stderr_is "dvi: error: no chain 'nobody' in the ledger
dvi: hint: give a partner or partner/writer; 'dvi roster list' shows them"
expect 2 "$DVI" -C "$T/nowhere" log
stderr_is "dvi: error: not a dvi ledger: '$T/nowhere'
dvi: hint: create one with 'dvi init' or give its path with -C"
(cd ledger && DVI_DIR= expect 0 "$DVI" log polyfil) || fail "discovery from inside the ledger"
pass "errors and discovery"
