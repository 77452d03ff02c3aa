#!/usr/bin/env bash
# Regenerates the seed corpora tests/fuzz/corpus/<target>/ from real inputs: a small
# consortium ledger built with the dvi binary, stock git, ssh-keygen and openssl ts.
#   tests/fuzz/make-seeds.sh <path/to/dvi>
# The seeds are committed; run this only to refresh them (keys, certificates and nonces
# are random, so every run gives different bytes of the same kinds). The ledger is
# founded with the fuzz key of fuzz_ledger.hpp at DVI_TEST_DATE=2026-11-23T10:00:00Z, so
# its genesis is the fuzz ledger's: its bundles and roster records continue that ledger.
set -euo pipefail
dvi=$(realpath "${1:?usage: make-seeds.sh <path/to/dvi>}")
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/corpus
export DVI_TEST_DATE=2026-11-23T10:00:00Z
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C.UTF-8
unset DVI_DIR DVI_KEY DVI_KEY_PASSPHRASE
w=$(mktemp -d "${TMPDIR:-/tmp}/dvi-seeds.XXXXXX")
trap 'rm -rf "$w"' EXIT
cd "$w"
for t in yaml_manifest canonical_json sshsig bundle tsp record passport; do
    rm -rf "${corpus:?}/$t"
    mkdir -p "$corpus/$t"
done
at() { DVI_TEST_DATE=$1 "${@:2}"; }

# --- the ledger: roster, lot, dossier, licence, allocation, prints, deviation, inspection,
#     revocation, trusted TSA, anchors ------------------------------------------------------
sed -n 's/^    "\(.*\)\\n"$/\1/p; s/^    "\(.*\)\\n";$/\1/p' "$here/fuzz_ledger.hpp" >acme.pem
chmod 600 acme.pem
grep -q "BEGIN PRIVATE KEY" acme.pem || { echo "make-seeds: no key in fuzz_ledger.hpp" >&2; exit 1; }
for k in polyfil bureau7 bureau7desk; do "$dvi" -q key generate --out "$k.pem"; done
L=$w/ledger
export DVI_DIR=$L
"$dvi" -q --key acme.pem init --consortium "Fuzz consortium" --partner acme --writer desk --role oem "$L"
genesis_commit=$(git -C "$L" rev-parse refs/dvi/chains/acme/desk)
"$dvi" -q roster add polyfil --role supplier --writer lab --pubkey polyfil.pem.pub
"$dvi" -q roster add bureau7 --role bureau --writer s5 --pubkey bureau7.pem.pub --device "S5-0412:Tiny printer"
"$dvi" -q roster add bureau7 --writer desk --pubkey bureau7desk.pem.pub

mkdir m && cd m
printf 'solid t\nendsolid t\n' >part.stl
printf '; tiny\nG28\nG1 X1 Y1\n' >part.gcode
printf '[print]\nlayer_height = 0.2\n' >profile.ini
printf '%%PDF-1.4 tiny certificate\n' >cert.pdf
cat >lot.yaml <<'YAML'
kind: material-lot
lot: PETG-1
material:
  spec: PETG 1.75 mm
  grade: G1
  form: Filament, 1.75 mm
supplier: polyfil
quantity: "1 kg"
manufactured: "2026-10-02"
certificate:
  type: EN 10204 3.1
  number: C-1
  issued: "2026-10-05"
  file: cert.pdf
  results:
    - property: Diameter
      value: "1.75 mm"
      requirement: 1.75 mm ± 0.02 mm
status: released
YAML
sed -e 's/PETG-1/PETG-2/' -e 's/status: released/status: quarantine/' lot.yaml >lot-q.yaml
cat >dossier.yaml <<'YAML'
kind: dossier
part_number: P-1
revision: A
title: Tiny part
oem: acme
files:
  - path: part.stl
    role: model
    units: mm
    media_type: model/stl
recipes:
  - name: tiny-petg
    printer_model: Tiny printer
    slicer:
      name: PrusaSlicer
      version: "2.5.0"
    profile: profile.ini
    gcode: part.gcode
    material_spec: PETG 1.75 mm
    nozzle: "0.4 mm"
    layer_height: "0.2 mm"
materials:
  specs:
    - PETG 1.75 mm
  certificate_types:
    - EN 10204 3.1
acceptance:
  - id: IP-01
    characteristic: Width
    nominal: "10 mm"
    tolerance: ± 0.3 mm
    method: Caliper
    sampling: 100 %
marking:
  scheme: "P-{seq:05}"
  method: Label
  location: Top
YAML
cd "$w"
"$dvi" -q --key polyfil.pem seal m/lot.yaml m/lot-q.yaml
"$dvi" -q --key acme.pem seal m/dossier.yaml
cp m/*.yaml "$corpus/yaml_manifest/"
"$dvi" -q sync --bundle-out "$w/early.bundle"

grant=$("$dvi" --json --key acme.pem license grant --dossier P-1@A --to bureau7 --quota 5 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
alloc=$("$dvi" --json --key bureau7desk.pem license allocate --from "$grant" --to bureau7/s5 --quota 3 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
print=$(at 2026-11-24T08:00:00Z "$dvi" --json --key bureau7.pem print-verify --license "$alloc" --device S5-0412 \
    --material-lot polyfil/PETG-1 --serial P-00001 | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
at 2026-11-24T09:00:00Z "$dvi" -q --key bureau7.pem print-verify --license "$alloc" --device S5-0412 \
    --material-lot polyfil/PETG-2 >/dev/null 2>&1 || true  # refused: the lot is in quarantine
cat >m/deviation.yaml <<YAML
kind: deviation
dossier: P-1@A
material_lot: polyfil/PETG-2
to: bureau7/s5
max_parts: 1
reason: Moisture 0.16 % after drying; accepted for non-structural use
YAML
printf 'Inspection report P-00001\n' >m/report.txt
cat >m/inspection.yaml <<YAML
kind: inspection
print: $print
serial: P-00001
result: pass
inspector: M. Martin
date: "2026-11-26"
measurements:
  - id: IP-01
    value: "10.05 mm"
    result: pass
report: report.txt
YAML
"$dvi" -q --key acme.pem seal m/deviation.yaml
at 2026-11-26T10:00:00Z "$dvi" -q --key bureau7.pem seal m/inspection.yaml
cp m/deviation.yaml m/inspection.yaml "$corpus/yaml_manifest/"
"$dvi" -q --key acme.pem license revoke "$grant" --reason "superseded by a new revision"

# A test TSA (ECDSA P-256; a CA and a TSA certificate it issues), trusted by the roster.
mkdir tsa && (
    cd tsa
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -subj "/CN=dvi fuzz TSA CA" -days 3650 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
    printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n' >tsa.ext
    openssl req "${ec[@]}" -keyout tsa.key -out tsa.csr -subj "/CN=dvi fuzz tsa" 2>/dev/null
    openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tsa.pem -days 3650 \
        -extfile tsa.ext 2>/dev/null
    openssl req -x509 "${ec[@]}" -keyout rogue.key -out rogue.pem -subj "/CN=rogue tsa" -days 3650 \
        -addext extendedKeyUsage=critical,timeStamping 2>/dev/null
    printf '01\n' >serial
    cat >tsa.cnf <<CNF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = $w/tsa/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.4146.2.3
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
)
reply() { openssl ts -reply -config tsa/tsa.cnf -queryfile "$1" -inkey "tsa/${3:-tsa}.key" -signer "tsa/${3:-tsa}.pem" \
    -out "$2" 2>/dev/null; }
"$dvi" -q roster trust-tsa tsa/ca.pem
"$dvi" -q --key polyfil.pem anchor --request anchor.tsq
reply anchor.tsq anchor.tsr
anchor=$("$dvi" --json --key polyfil.pem anchor --import anchor.tsr |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
"$dvi" -q --key acme.pem anchor --cosign "$anchor"
"$dvi" -q roster revoke bureau7/desk --reason "key lost"

# --- record and canonical_json: every record blob, one file per record ----------------------
for ref in $(git -C "$L" for-each-ref --format='%(refname)' refs/dvi/chains/); do
    git -C "$L" ls-tree -r --format='%(objectname) %(path)' "$ref" -- records/ 2>/dev/null ||
        git -C "$L" ls-tree -r "$ref" -- records/ | awk '{print $3, $4}'
done | sort -u | while read -r oid path; do
    type=$(echo "$path" | cut -d/ -f2)
    git -C "$L" cat-file blob "$oid" >"$corpus/record/$type-${oid:0:8}.json"
done
ls "$corpus/record/"*.json >/dev/null
# canonical_json: one record of each type, and small values canonical or not.
for f in "$corpus/record/"*.json; do
    t=$(basename "$f" | sed 's/-[0-9a-f]*\.json$//')
    [ -e "$corpus/canonical_json/record-$t.json" ] || cp "$f" "$corpus/canonical_json/record-$t.json"
done
git -C "$L" cat-file blob "$(git -C "$L" rev-parse refs/dvi/chains/acme/desk:chain.json)" >"$corpus/canonical_json/chain.json"
git -C "$L" cat-file blob "$(git -C "$L" rev-parse refs/dvi/chains/acme/desk:roster.json)" >"$corpus/canonical_json/roster.json"
printf '{"a":[1,-2,9007199254740991,true,false,null],"b":{"\\u0001":"\\"\\\\\\b\\f\\n\\r\\t\x7f","é":"€😀"}}' \
    >"$corpus/canonical_json/escapes.json"
printf '{"b":1,"a":2}' >"$corpus/canonical_json/unsorted.json"
printf '{"a": 1}' >"$corpus/canonical_json/spaced.json"
printf '{"a":1,"a":2}' >"$corpus/canonical_json/duplicate.json"
printf '[1.5,1e3,-0,9007199254740992]' >"$corpus/canonical_json/numbers.json"
printf '"\\u00e9\\ud83d\\ude00"' >"$corpus/canonical_json/escaped-unicode.json"

# --- sshsig: dvi's own commit signatures with their payloads, and ssh-keygen's -----------
n=0
for ref in refs/dvi/chains/acme/desk refs/dvi/chains/polyfil/lab refs/dvi/chains/bureau7/s5; do
    git -C "$L" cat-file commit "$ref" | python3 -c '
import sys
raw = sys.stdin.buffer.read()
head, sep, body = raw.partition(b"\n\n")
lines, sig, payload, in_sig = head.split(b"\n"), [], [], False
for l in lines:
    if l.startswith(b"gpgsig "):
        in_sig = True; sig.append(l[7:]); continue
    if in_sig and l.startswith(b" "):
        sig.append(l[1:]); continue
    in_sig = False; payload.append(l)
sys.stdout.buffer.write(b"\n".join(sig) + b"\0" + b"\n".join(payload) + sep + body)
' >"$corpus/sshsig/dvi-commit-$n.sig"
    n=$((n + 1))
done
printf 'a message git signs\n' >msg
ssh-keygen -q -t ed25519 -N '' -C fuzz -f ed25519
ssh-keygen -q -t ecdsa -b 256 -N '' -C fuzz -f ecdsa
ssh-keygen -q -t rsa -b 1024 -N '' -C fuzz -f rsa 2>/dev/null || ssh-keygen -q -t rsa -b 2048 -N '' -C fuzz -f rsa
sshsig() {  # sshsig <key> <namespace> <out> [-O hashalg=...]
    rm -f msg.sig
    ssh-keygen -q -Y sign -n "$2" -f "$1" "${@:4}" msg >/dev/null 2>&1
    { cat msg.sig; printf '\0'; cat msg; } >"$corpus/sshsig/$3"
}
sshsig ed25519 git ssh-keygen-ed25519-sha512.sig
sshsig ed25519 git ssh-keygen-ed25519-sha256.sig -O hashalg=sha256
sshsig ed25519 file ssh-keygen-ed25519-namespace-file.sig
sshsig ecdsa git ssh-keygen-ecdsa.sig
sshsig rsa git ssh-keygen-rsa.sig
head -c 200 "$corpus/sshsig/ssh-keygen-ed25519-sha512.sig" >"$corpus/sshsig/truncated.sig"
printf -- '-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\0' >"$corpus/sshsig/empty-armor.sig"

# --- bundle: dvi's own (full, early, incremental), stock git's (full, thin, v3), odd headers -
"$dvi" -q sync --bundle-out "$corpus/bundle/dvi-full.bundle"
cp early.bundle "$corpus/bundle/dvi-early.bundle"
"$dvi" -q sync --bundle-out "$corpus/bundle/dvi-since.bundle" --since early.bundle
git -C "$L" bundle create -q "$corpus/bundle/git-one-chain.bundle" refs/dvi/chains/polyfil/lab
git -C "$L" bundle create -q "$corpus/bundle/git-thin.bundle" refs/dvi/chains/acme/desk "^$genesis_commit"
git -C "$L" bundle create -q --version=3 "$corpus/bundle/git-v3.bundle" refs/dvi/chains/bureau7/s5 2>/dev/null ||
    rm -f "$corpus/bundle/git-v3.bundle"
mkdir other && git -C other init -q && git -C other -c user.name=x -c user.email=x@x commit -q --allow-empty -m x &&
    git -C other bundle create -q "$corpus/bundle/git-not-dvi.bundle" HEAD
head -c 300 "$corpus/bundle/dvi-full.bundle" >"$corpus/bundle/truncated-pack.bundle"
sed -n '1,/^$/p' "$corpus/bundle/dvi-early.bundle" | head -c 2000 >"$corpus/bundle/header-only.bundle"
printf '# v2 git bundle\n-%s\n%s refs/dvi/chains/acme/desk\n\nPACK' "$genesis_commit" "$genesis_commit" \
    >"$corpus/bundle/prerequisite-no-pack.bundle"
printf '# v3 git bundle\n@object-format=sha256\n\n' >"$corpus/bundle/v3-sha256.bundle"
printf '# v2 git bundle\nzz refs/dvi/chains/acme/desk\n\n' >"$corpus/bundle/bad-ref-line.bundle"

# --- tsp: replies of openssl ts (granted, no certificate, rejected, rogue), certificates ---
digest=$(printf 'dvi fuzz' | sha256sum | cut -d' ' -f1)
openssl ts -query -digest "$digest" -sha256 -cert -out q-cert.tsq 2>/dev/null
openssl ts -query -digest "$digest" -sha256 -no_nonce -out q-nocert.tsq 2>/dev/null
openssl ts -query -digest "$(printf 'dvi fuzz' | sha1sum | cut -d' ' -f1)" -sha1 -cert -out q-sha1.tsq 2>/dev/null
reply q-cert.tsq "$corpus/tsp/reply-granted.tsr"
reply q-nocert.tsq "$corpus/tsp/reply-no-cert-no-nonce.tsr"
reply q-sha1.tsq "$corpus/tsp/reply-rejected-sha1.tsr"
reply q-cert.tsq "$corpus/tsp/reply-rogue.tsr" rogue
cp anchor.tsr "$corpus/tsp/reply-anchor.tsr"
openssl ts -reply -config tsa/tsa.cnf -queryfile q-cert.tsq -inkey tsa/tsa.key -signer tsa/tsa.pem -token_out \
    -out "$corpus/tsp/token-only.der" 2>/dev/null
for c in ca tsa rogue; do openssl x509 -in "tsa/$c.pem" -outform DER -out "$corpus/tsp/cert-$c.der"; done
cp tsa/tsa.pem "$corpus/tsp/cert-tsa.pem"
cp q-cert.tsq "$corpus/tsp/request.tsq"

# --- passport: the passport of the printed part, and archives it must refuse ----------------
"$dvi" -q passport P-00001 --output "$corpus/passport/P-00001.tar"
mkdir pp && tar -xf "$corpus/passport/P-00001.tar" -C pp
(cd pp && tar --format=pax -cf "$corpus/passport/pax.tar" passport.json SHA256SUMS)
(cd pp && tar --format=gnu -cf "$corpus/passport/gnu.tar" passport.json)
python3 - "$corpus/passport" <<'PY'
import io, sys, tarfile
def make(name, entries):
    with tarfile.open(f"{sys.argv[1]}/{name}", "w", format=tarfile.USTAR_FORMAT) as t:
        for n, kind in entries:
            i = tarfile.TarInfo(n)
            if kind == "sym":
                i.type, i.linkname = tarfile.SYMTYPE, "/etc/passwd"
                t.addfile(i)
            else:
                i.size = 2
                t.addfile(i, io.BytesIO(b"x\n"))
make("dotdot.tar", [("passport.json", "f"), ("../x", "f")])
make("symlink.tar", [("passport.json", "sym")])
PY

# The manifests of the example part, and YAML corner cases.
cp "$here/../../examples/bracket/material-lot.yaml" "$corpus/yaml_manifest/example-material-lot.yaml"
head -c 6000 "$here/../../examples/bracket/dossier.yaml" >"$corpus/yaml_manifest/example-dossier-head.yaml"
printf 'kind: dossier\na: &x [1, 2.5, .inf, -.Inf, .nan, 0x1f, 0o17, ~, null, true, False]\nb: *x\nc: !!str 12\nd: !!int "7"\n' \
    >"$corpus/yaml_manifest/scalars-anchors.yaml"
printf 'kind: material-lot\n---\nkind: dossier\n' >"$corpus/yaml_manifest/two-documents.yaml"
printf '{kind: deviation, "to": [a, {b: c}], ? complex\n : key}\n' >"$corpus/yaml_manifest/flow.yaml"

du -sh "$corpus"
for t in "$corpus"/*; do echo "$(basename "$t"): $(ls "$t" | wc -l) files, $(du -sk "$t" | cut -f1) KiB"; done
