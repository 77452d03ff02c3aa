#!/usr/bin/env bash
# Encrypted dossiers: the OEM seals model and recipes encrypted for itself and named
# writers; a licence and its allocation carry the content key to the printer agent;
# print-verify decrypts only after every check and hands the plaintext over without a
# file on disk; everyone else still verifies the ciphertext. Python's `cryptography`
# (tests/cli/content_crypto.py) checks the format independently, both ways.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
CC="python3 $DVI_SOURCE_DIR/tests/cli/content_crypto.py"
consortium "$DVI_DIR"
keys bureau7desk acmearchive acmelate
"$DVI" -q roster add bureau7 --writer desk --pubkey bureau7desk.pem.pub
"$DVI" -q roster add acme --writer archive --pubkey acmearchive.pem.pub
"$DVI" -q --key polyfil.pem seal "$EXAMPLE/material-lot.yaml"
lot=polyfil/PETG-2026-0117
gcode=$EXAMPLE/recipes/mini/bracket.gcode
scad=$EXAMPLE/model/bracket.scad

# The example part, its dossier encrypted for acme's desk (the sealing writer) and archive.
cp -r "$EXAMPLE" "$T/part"
cat >>"$T/part/dossier.yaml" <<'EOF'

encryption:
  files: [model, source]
  recipes: true
  recipients: [acme/archive]
EOF

# Refused before anything is written: an unknown recipient, a role list that encrypts nothing.
before=$(snapshot "$DVI_DIR")
sed 's|recipients: \[acme/archive\]|recipients: [acme/archive, nobody]|' "$T/part/dossier.yaml" >"$T/part/bad1.yaml"
expect 2 "$DVI" --key acme.pem seal "$T/part/bad1.yaml"
line=$(grep -n 'recipients:' "$T/part/bad1.yaml" | cut -d: -f1)
stderr_has "$T/part/bad1.yaml:$line: field 'encryption.recipients[1]': no partner 'nobody' in the roster"
sed -e 's|files: \[model, source\]|files: [drawing]|' -e 's|recipes: true|recipes: false|' "$T/part/dossier.yaml" >"$T/part/bad2.yaml"
expect 2 "$DVI" --key acme.pem seal "$T/part/bad2.yaml"
stderr_has "field 'encryption': encrypts nothing: no file has one of its roles and 'recipes' is false"
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "a refused seal wrote to the ledger"
pass "bad encryption sections are refused, nothing written"

expect 0 "$DVI" --key acme.pem seal --dry-run "$T/part/dossier.yaml"
stdout_has "9 files, 2.6 MiB, 7 encrypted for acme/archive, acme/desk"
expect 0 "$DVI" --json --key acme.pem seal "$T/part/dossier.yaml"
[ "$(json_get '["sealed"][0]["encrypted"]')" = 7 ] || fail "seal --json: encrypted"
[ "$(json_get '["sealed"][0]["key_holders"]')" = '["acme/archive", "acme/desk"]' ] || fail "seal --json: key_holders"
"$DVI" --json show BRK-2041@C >"$T/dossier.json"
python3 - "$T/dossier.json" "$(sha256sum <"$gcode" | cut -c1-64)" "$(stat -c %s "$gcode")" <<'EOF' || fail "the dossier record"
import json, sys
r = json.load(open(sys.argv[1]))["record"]
e = r["encryption"]
assert e["alg"] == "A256GCM" and e["key_wrap"] == "X25519-HKDF-SHA256-A256GCM", e
for which in ("design_keys", "recipe_keys"):
    assert [k["to"] for k in e[which]] == ["acme/archive", "acme/desk"], e
assert e["design_keys"][0]["wrapped"] != e["recipe_keys"][0]["wrapped"], e
roles = {f["role"]: f.get("encrypted", {}).get("key") for f in r["files"]}
assert roles == {"model": "design", "source": "design", "process-plan": None, "inspection-plan": None}, roles
for rec in r["recipes"]:
    for part in ("profile", "gcode"):
        assert rec[part]["encrypted"]["key"] == "recipe", rec
g = next(x for x in r["recipes"] if x["name"] == "mini-petg")["gcode"]
assert g["encrypted"]["size"] == int(sys.argv[3]) and len(g["encrypted"]["mac"]) == 64, g
assert g["sha256"] != sys.argv[2] and g["size"] == int(sys.argv[3]) + 16, g
# No plaintext hash anywhere in the record: it would confirm a guessed file.
assert sys.argv[2] not in json.dumps(r), "the G-code's SHA-256 is in the record"
EOF
pass "seal: model and source under the design key, profiles and G-code under the recipe key; no plaintext hash"

expect 0 "$DVI" show BRK-2041@C
stdout_has "design key for: acme/archive, acme/desk"
stdout_has "recipe key for: acme/archive, acme/desk"
[ "$(grep -c '  encrypted$' "$T/out")" = 7 ] || fail "show marks $(grep -c '  encrypted$' "$T/out") artifacts encrypted, not 7"
grep 'docs/process-plan.md' "$T/out" | grep -q encrypted && fail "show marks a clear file encrypted"
pass "show marks the encrypted artifacts and names who holds the key"

# Nothing of the plaintext is in the ledger: not the G-code, not the OpenSCAD source.
git -C "$DVI_DIR" cat-file --batch-all-objects --batch >"$T/objects"
needle_g=$(sed -n 40p "$gcode")
needle_s=$(grep -m1 'module' "$scad")
[ -n "$needle_g" ] && [ -n "$needle_s" ] || fail "no sample lines"
grep -qF -- "$needle_g" "$T/objects" && fail "a G-code line is in the ledger in clear"
grep -qF -- "$needle_s" "$T/objects" && fail "an OpenSCAD line is in the ledger in clear"
# ... while the files left in clear are found by the same search.
grep -qF -- "$(grep -m1 . "$EXAMPLE/docs/process-plan.md")" "$T/objects" || fail "the search cannot find a clear file"
pass "no plaintext line of an encrypted file is in any ledger object"

# The blob's SHA-256 is the record's (stock tools), and Python decrypts it with acme's key.
meta=$(python3 -c "
import json; r = json.load(open('$T/dossier.json'))['record']
g = next(x for x in r['recipes'] if x['name'] == 'mini-petg')['gcode']
s = next(f for f in r['files'] if f['role'] == 'source')
for which in ('design', 'recipe'): json.dump(r['encryption'][which + '_keys'], open('$T/' + which + '-keys.json', 'w'))
print(g['sha256'], g['encrypted']['nonce'], g['encrypted']['mac'], s['sha256'], s['encrypted']['nonce'], s['encrypted']['mac'])")
read -r blob_sha nonce mac scad_sha scad_nonce scad_mac <<<"$meta"
git -C "$DVI_DIR" show "refs/dvi/chains/acme/desk:artifacts/${blob_sha:0:2}/$blob_sha" >"$T/blob"
git -C "$DVI_DIR" show "refs/dvi/chains/acme/desk:artifacts/${scad_sha:0:2}/$scad_sha" >"$T/scad-blob"
[ "$(sha256sum <"$T/blob" | cut -c1-64)" = "$blob_sha" ] || fail "the blob's sha256 is not the record's"
$CC decrypt acmearchive.pem "$T/recipe-keys.json" "$T/blob" "$nonce" "$mac" >"$T/py.gcode" || fail "python could not decrypt"
cmp -s "$T/py.gcode" "$gcode" || fail "python's plaintext differs from the G-code"
$CC decrypt acmearchive.pem "$T/design-keys.json" "$T/scad-blob" "$scad_nonce" "$scad_mac" | cmp -s - "$scad" ||
    fail "python could not decrypt the OpenSCAD source"
pass "an independent implementation decrypts the G-code and the source with a recipient's keys, digests checked"

# Everyone audits the ciphertext without any key.
expect 0 "$DVI" audit --json
[ "$(json_get '["summary"]["errors"]')" = 0 ] || fail "audit errors on an encrypted dossier"
pass "audit of an encrypted dossier, without a key: no error"

# A writer the dossier was not encrypted for cannot grant; a recipient can.
"$DVI" -q roster add acme --writer late --pubkey acmelate.pem.pub
expect 1 "$DVI" --key acmelate.pem license grant --dossier BRK-2041@C --to bureau7 --quota 5
stderr_is "dvi: error: dossier BRK-2041@C carries no content key for the key $(fingerprint acmelate.pem)
dvi: hint: grant with a key the dossier's recipes were encrypted for (its 'encryption.recipe_keys')"
g=$("$DVI" --json --key acmearchive.pem license grant --dossier BRK-2041@C --to bureau7 --quota 20 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
"$DVI" --json show "$g" | python3 -c "
import json, sys
r = json.load(sys.stdin)['record']
assert [k['to'] for k in r['keys']] == ['bureau7/desk', 'bureau7/s5'], r['keys']" || fail "the licence's keys"
a=$(allocate "$g" bureau7/s5 5)
"$DVI" --json show "$a" >"$T/alloc.json"
python3 -c "
import json
r = json.load(open('$T/alloc.json'))['record']
assert [k['to'] for k in r['keys']] == ['bureau7/s5'], r['keys']
json.dump(r['keys'], open('$T/alloc-keys.json', 'w'))" || fail "the allocation's keys"
$CC decrypt bureau7.pem "$T/alloc-keys.json" "$T/blob" "$nonce" "$mac" | cmp -s - "$gcode" || fail "the agent's key from the allocation"
$CC decrypt bureau7.pem "$T/alloc-keys.json" "$T/scad-blob" "$scad_nonce" "$scad_mac" >/dev/null 2>&1 &&
    fail "the agent's recipe key opens the OpenSCAD source"
pass "grant and allocate pass the recipe key on, writer by writer; it does not open the design files"

# print-verify decrypts to --output only; the JSON says so.
expect 0 "$DVI" --json --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --output "$T/out.gcode"
cmp -s "$T/out.gcode" "$gcode" || fail "--output is not the plaintext G-code"
[ "$(stat -c %a "$T/out.gcode")" = 600 ] || fail "the decrypted --output is mode $(stat -c %a "$T/out.gcode")"
[ "$(json_get '["encrypted"]')" = True ] || [ "$(json_get '["encrypted"]')" = true ] || fail "json: encrypted"
[ "$(json_get '["gcode_sha256"]')" = "$(sha256sum <"$gcode" | cut -c1-64)" ] || fail "json: gcode_sha256 is the plaintext's"
pass "print-verify --output writes the decrypted G-code"

# To a command: a memory file at /dev/fd/<n>; nothing is written to TMPDIR.
mkdir "$T/tmp"
TMPDIR=$T/tmp expect 0 "$DVI" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot \
    --serial BRK-1 -- sh -c 'printf %s "$1" >"$0.path"; cat "$1" >"$0"' "$T/cmd.gcode" {}
cmp -s "$T/cmd.gcode" "$gcode" || fail "the command did not read the plaintext"
case $(cat "$T/cmd.gcode.path") in /dev/fd/[0-9]*) ;; *) fail "the command got $(cat "$T/cmd.gcode.path")" ;; esac
[ -z "$(ls -A "$T/tmp")" ] || fail "print-verify left files in TMPDIR"
pass "a command reads the decrypted G-code from a memory file; no temporary file"

# --file compares the operator's file with the plaintext's hash.
expect 0 "$DVI" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --file "$gcode" --dry-run
expect 1 "$DVI" --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot \
    --file "$EXAMPLE/recipes/mk3s/bracket.gcode"
stderr_is "dvi: error: print refused [file-mismatch]: the file '$EXAMPLE/recipes/mk3s/bracket.gcode' is not the sealed G-code of recipe mini-petg"
"$DVI" --json show "$(git -C "$DVI_DIR" log -1 --format=%B refs/dvi/chains/bureau7/s5 | sed -n 's/^Dvi-Record: //p')" >"$T/refusal.json"
grep -q '"file-mismatch"' "$T/refusal.json" || fail "the refusal is not the last record"
grep -qF "$(sha256sum <"$EXAMPLE/recipes/mk3s/bracket.gcode" | cut -c1-12)" "$T/refusal.json" &&
    fail "the refusal records the hash of the operator's file"
pass "--file is compared with the plaintext; the refusal records no hash of it"

# A licence whose writer left the keys out, or wrapped another key: refused, recorded.
"$DVI" -q key export bureau7desk.pem --out bureau7desk.ssh
fpdesk=$(fingerprint bureau7desk.pem)
forged_alloc() {  # forged_alloc <keys json | ''>: an allocation like $a, of 1 print, signed by the desk
    local body
    body=$(KEYS=$1 record_body "$a" "import os; r.pop('keys'); r['quota'] = 1
if os.environ['KEYS']: r['keys'] = json.loads(os.environ['KEYS'])")
    python3 "$DVI_SOURCE_DIR/tests/cli/forge.py" "$DVI_DIR" bureau7/desk "$T/bureau7desk.ssh" "$fpdesk" \
        2026-11-23T10:00:00Z license "$body"
}
fp5=$(fingerprint bureau7.pem)
bare=$(forged_alloc '')
expect 1 "$DVI" --json --key bureau7.pem print-verify --license "$bare" --device S5-0412 --material-lot $lot --output "$T/x1"
[ "$(json_get '["code"]')" = no-content-key ] || fail "no keys: $(json_get '["code"]')"
stderr_is "dvi: error: print refused [no-content-key]: the licence carries no content key for the key $fp5, so the encrypted G-code of recipe mini-petg cannot be read"
[ ! -e "$T/x1" ] || fail "a refused print wrote --output"
wrong=$(forged_alloc "$($CC rewrap bureau7desk.pem "$T/alloc-keys.json" bureau7.pem.pub bureau7/s5 --random)")
expect 1 "$DVI" --key bureau7.pem print-verify --license "$wrong" --device S5-0412 --material-lot $lot --output "$T/x2"
stderr_is "dvi: error: print refused [no-content-key]: the licence's content key does not decrypt the sealed G-code of recipe mini-petg to its sealed digest"
[ ! -e "$T/x2" ] || fail "a refused print wrote --output"
expect 1 "$DVI" --key bureau7.pem print-verify --license "$wrong" --device S5-0412 --material-lot $lot --dry-run
stderr_has "[no-content-key]"
lowb=$(python3 -c "
import base64, json
k = json.load(open('$T/alloc-keys.json'))[0]
k['ephemeral'] = base64.b64encode(bytes(32)).decode()
print(json.dumps([k]))")
low=$(forged_alloc "$lowb")
expect 1 "$DVI" --key bureau7.pem print-verify --license "$low" --device S5-0412 --material-lot $lot
stderr_has "dvi: error: print refused [no-content-key]: the licence carries a content key for the key $fp5 that does not open: "
pass "no key, another key (dry run too), a low-order ephemeral key: refused with no-content-key, nothing handed over"

# A key Python wrapped (the right one) opens in dvi: the format is the documented one.
right=$(forged_alloc "$($CC rewrap bureau7.pem "$T/alloc-keys.json" bureau7.pem.pub bureau7/s5)")
expect 0 "$DVI" --key bureau7.pem print-verify --license "$right" --device S5-0412 --material-lot $lot --output "$T/x3"
cmp -s "$T/x3" "$gcode" || fail "the plaintext through a Python-wrapped key"
pass "dvi opens a content key wrapped by an independent implementation"

# The audit, without any key, warns of the allocation that carries no content key.
expect 0 "$DVI" audit --json
# (Only the licence without an entry for its agent's key: whether an entry opens, only
# the agent can tell.)
python3 - "$T/out" "$bare" <<'EOF' || fail "audit: license-without-content-key"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["summary"]["errors"] == 0, doc["summary"]
found = [(f["code"], f["record"]) for f in doc["findings"] if f["severity"] != "info"]
assert found == [("license-without-content-key", sys.argv[2])], found
EOF
pass "audit after encrypted prints: no error, a warning for the allocation without a key for its agent"
