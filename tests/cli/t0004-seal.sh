#!/usr/bin/env bash
# dvi seal: the example dossier and material lot sealed; every refusal names the file,
# line and field, exits 2 (1 when not authorised) and writes nothing.
. "$(dirname "$0")/lib.sh"
consortium ledger
export DVI_DIR=$T/ledger
cp -r "$EXAMPLE" b
before=$(snapshot ledger)

# refuse <status> <key> <manifest> <expected first line of stderr>
refuse() {
    expect "$1" "$DVI" --key "$2.pem" seal "$3"
    [ "$(head -1 "$T/err")" = "$4" ] || fail "stderr: got '$(head -1 "$T/err")', expected '$4'"
    [ "$(snapshot ledger)" = "$before" ] || fail "a refused seal of $3 wrote something"
}
# variant <name> <sed expression> [manifest]: a copy of a manifest with one change.
variant() { sed "$2" "b/${3:-dossier.yaml}" > "b/$1.yaml"; }

variant syntax '6a\
files: [unclosed'
refuse 2 acme b/syntax.yaml "dvi: error: b/syntax.yaml:8: YAML syntax error: end of sequence flow not found"
variant unknown '6a\
colour: red'
refuse 2 acme b/unknown.yaml "dvi: error: b/unknown.yaml:7: field 'colour' is not a known field"
variant missing '/^revision: C$/d'
refuse 2 acme b/missing.yaml "dvi: error: b/missing.yaml:3: field 'revision' is missing"
variant escape 's|gcode: recipes/mk3s/bracket.gcode|gcode: ../../../etc/passwd|'
refuse 2 acme b/escape.yaml "dvi: error: b/escape.yaml:45: field 'recipes[0].gcode': path '../../../etc/passwd' leaves the manifest's folder"
variant absolute 's|gcode: recipes/mk3s/bracket.gcode|gcode: /etc/passwd|'
refuse 2 acme b/absolute.yaml "dvi: error: b/absolute.yaml:45: field 'recipes[0].gcode': '/etc/passwd' is not a path relative to the manifest's folder"
ln -s /etc b/outside
variant symlink 's|gcode: recipes/mk3s/bracket.gcode|gcode: outside/hostname|'
refuse 2 acme b/symlink.yaml "dvi: error: b/symlink.yaml:45: field 'recipes[0].gcode': path 'outside/hostname' goes through a symbolic link out of the manifest's folder"
variant absent 's|path: docs/process-plan.md|path: docs/process-plan-v2.md|'
refuse 2 acme b/absent.yaml "dvi: error: b/absent.yaml:29: field 'files[3].path': cannot read 'docs/process-plan-v2.md': no such file"
mkdir b/docs/folder.md
variant folder 's|path: docs/process-plan.md|path: docs/folder.md|'
refuse 2 acme b/folder.yaml "dvi: error: b/folder.yaml:29: field 'files[3].path': path 'docs/folder.md' is not a regular file"
variant nounits '/^    units: mm$/d'
refuse 2 acme b/nounits.yaml "dvi: error: b/nounits.yaml:16: field 'files[0].units' is missing"
# STL by its media type too; one file however its path is spelt.
cp b/model/bracket.stl b/model/mesh.bin
variant stltype 's|path: model/bracket.3mf|path: model/mesh.bin|; s|media_type: model/3mf|media_type: model/stl|'
refuse 2 acme b/stltype.yaml "dvi: error: b/stltype.yaml:21: field 'files[1].units' is missing"
variant dotpath 's|path: model/bracket.3mf|path: ./model//bracket.stl\n    units: mm|'
refuse 2 acme b/dotpath.yaml "dvi: error: b/dotpath.yaml:21: field 'files[1].path': lists './model//bracket.stl' again (files[0])"
variant nomodel '/printer_model: Original Prusa MINI/d'
refuse 2 acme b/nomodel.yaml "dvi: error: b/nomodel.yaml:49: field 'recipes[1].printer_model' is missing"
variant duprecipe 's/name: mini-petg/name: mk3s-petg/'
refuse 2 acme b/duprecipe.yaml "dvi: error: b/duprecipe.yaml:49: field 'recipes[1].name': duplicates the recipe name 'mk3s-petg' of recipes[0]"
variant float '0,/nozzle: "0.4 mm"/s//nozzle: 0.4/'
refuse 2 acme b/float.yaml "dvi: error: b/float.yaml:47: field 'recipes[0].nozzle': expected a string, found a decimal number (write decimal quantities as strings with units, e.g. \"0.2 mm\")"
variant nocert '/file: lot\/certificate-3.1.pdf/d' material-lot.yaml
refuse 2 polyfil b/nocert.yaml "dvi: error: b/nocert.yaml:15: field 'certificate.file' is missing"
variant badkind 's/^kind: dossier/kind: spaceship/'
refuse 2 acme b/badkind.yaml "dvi: error: b/badkind.yaml:3: field 'kind': 'spaceship' is not a kind dvi seals (dossier, material-lot, deviation, inspection)"
{ echo "kind: dossier"; head -c 1100000 /dev/zero | tr '\0' '#'; } > b/huge.yaml
refuse 2 acme b/huge.yaml "dvi: error: cannot read 'b/huge.yaml': file too large (1100014 bytes, limit 1048576)"
refuse 2 acme b/none.yaml "dvi: error: cannot read 'b/none.yaml': No such file or directory"
pass "each malformed manifest refused with file, line and field; nothing written"

# Authority: a supplier cannot seal a dossier, an OEM cannot seal another's part.
refuse 1 polyfil b/dossier.yaml "dvi: error: partner 'polyfil' (supplier) may not write dossier records"
variant otheroem 's/^oem: acme/oem: globex/'
refuse 1 acme b/otheroem.yaml "dvi: error: b/otheroem.yaml:7: field 'oem' is 'globex', but the signing key belongs to 'acme'"
pass "authority enforced when writing"

# --dry-run checks everything and writes nothing.
expect 0 "$DVI" --key acme.pem seal --dry-run b/dossier.yaml
stdout_has "dossier BRK-2041@C would be sealed by acme/desk (9 files"
[ "$(snapshot ledger)" = "$before" ] || fail "--dry-run wrote something"

# Two manifests, one bad: the good one is not sealed either.
expect 2 "$DVI" --key acme.pem seal b/dossier.yaml b/nounits.yaml
[ "$(snapshot ledger)" = "$before" ] || fail "a batch with a bad manifest wrote something"
pass "dry run and all-or-nothing batches"

# The real thing.
expect 0 "$DVI" --json --key polyfil.pem seal b/material-lot.yaml
lot=$(json_get '["sealed"][0]["record"]')
[ "$(json_get '["sealed"][0]["chain"]')" = polyfil/lab ] || fail "lot not in polyfil/lab"
expect 0 "$DVI" --json --key acme.pem seal b/dossier.yaml
dossier=$(json_get '["sealed"][0]["record"]')
[ "$(json_get '["sealed"][0]["artifacts"]')" = 9 ] || fail "dossier should have 9 artifacts"
[ "$(json_get '["sealed"][0]["seq"]')" = 4 ] || fail "dossier should be acme/desk #4"

# Every artifact in the record is in the ledger with the SHA-256 and size it claims,
# and equals the file sealed.
expect 0 "$DVI" --json show "$dossier"
python3 - "$T/out" <<'PY' > artifacts.txt
import json, sys
rec = json.load(open(sys.argv[1]))["record"]
arts = [f for f in rec["files"]] + [r[k] for r in rec["recipes"] for k in ("profile", "gcode")]
for a in arts:
    print(a["sha256"], a["size"], a["path"])
PY
[ "$(wc -l < artifacts.txt)" = 9 ] || fail "expected 9 artifacts in the record"
while read -r sha size path; do
    got=$(git -C ledger cat-file blob "refs/dvi/chains/acme/desk:artifacts/${sha:0:2}/$sha" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$sha" ] || fail "artifact $path: stored blob hashes to $got"
    [ "$(sha256sum < "b/$path" | cut -d' ' -f1)" = "$sha" ] || fail "artifact $path differs from the file"
    [ "$(stat -c %s "b/$path")" = "$size" ] || fail "artifact $path size"
done < artifacts.txt
pass "sealed records reference every artifact by SHA-256, stored in the ledger"

# Sealing the same thing twice is refused.
before=$(snapshot ledger)
refuse 2 acme b/dossier.yaml "dvi: error: dossier BRK-2041@C is already sealed as $dossier"
refuse 2 polyfil b/material-lot.yaml "dvi: error: material-lot PETG-2026-0117 is already sealed as $lot"

# A revoked key can no longer seal.
expect 0 "$DVI" --key acme.pem roster revoke polyfil/lab --reason "key lost"
before=$(snapshot ledger)
refuse 1 polyfil b/material-lot-quarantine.yaml "dvi: error: key of 'polyfil/lab' was revoked: key lost"
pass "duplicates and revoked keys refused"
