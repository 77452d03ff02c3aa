#!/usr/bin/env bash
# dvi show: by id, prefix and part@revision; --json and --raw; errors.
. "$(dirname "$0")/lib.sh"
consortium ledger
export DVI_DIR=$T/ledger
"$DVI" -q --key polyfil.pem seal "$EXAMPLE/material-lot.yaml"
expect 0 "$DVI" --json --key acme.pem seal "$EXAMPLE/dossier.yaml"
id=$(json_get '["sealed"][0]["record"]')
hex=${id#sha256:}

for ref in "$id" "$hex" "${hex:0:8}" "sha256:${hex:0:6}" BRK-2041@C; do
    expect 0 "$DVI" show "$ref"
    stdout_has "dossier $id"
    stdout_has "BRK-2041@C  Mounting bracket"
    stdout_has "verified: yes"
done
stdout_has "mk3s-petg: Original Prusa i3 MK3S, PrusaSlicer 2.5.0"
pass "by id, prefixes and part@revision"

expect 0 "$DVI" --json show BRK-2041@C
[ "$(json_get '["id"]')" = "$id" ] || fail "json id"
[ "$(json_get '["verified"]')" = true ] || fail "json verified"
[ "$(json_get '["chain"]')" = acme/desk ] || fail "json chain"
[ "$(json_get '["record"]["part_number"]')" = BRK-2041 ] || fail "json record"
expect 0 "$DVI" show --raw "$id"
[ "sha256:$(sha256sum < "$T/out" | cut -d' ' -f1)" = "$id" ] || fail "--raw bytes"
pass "--json and --raw"

expect 2 "$DVI" show BRK-2041@Z
stderr_is "dvi: error: no dossier 'BRK-2041@Z' in the ledger
dvi: hint: 'dvi log --type dossier' lists the sealed dossiers"
expect 2 "$DVI" show abc
stderr_is "dvi: error: record id prefix 'abc' is too short
dvi: hint: give at least 4 hex digits"
expect 2 "$DVI" show xyz1
stderr_is "dvi: error: not a record id: 'xyz1'
dvi: hint: give 'sha256:<hex>' or at least 4 of its hex digits"
expect 2 "$DVI" show "sha256:$(printf '%064d' 0)"
stderr_is "dvi: error: no record 'sha256:$(printf '%064d' 0)' in the ledger"
expect 129 "$DVI" show
pass "errors"

# A title with a line feed and a tab (allowed in records) is shown on its line, escaped,
# by show and by log; --json keeps it as it is.
cp -r "$EXAMPLE" lf
sed 's/^title: .*/title: "Mounting\\nbracket\\tX"/; s/^revision: C$/revision: E/' lf/dossier.yaml > lf/e.yaml
"$DVI" -q --key acme.pem seal lf/e.yaml
expect 0 "$DVI" show BRK-2041@E
grep -qxF 'BRK-2041@E  Mounting\nbracket\tX' "$T/out" || fail "show escapes the title's line feed and tab"
expect 0 "$DVI" log acme/desk --type dossier
[ "$(wc -l < "$T/out")" = 2 ] || fail "log: a line per record"
stdout_has 'BRK-2041@E Mounting\nbracket\tX'
expect 0 "$DVI" --json show BRK-2041@E
[ "$(json_get '["record"]["title"]')" = "$(printf 'Mounting\nbracket\tX')" ] || fail "--json keeps the title"
pass "text fields on one line"
