#!/usr/bin/env bash
# schemas/: every schema is a valid JSON Schema (2020-12); every example manifest validates
# against the schema of its kind with an independent validator (python3-jsonschema); and
# every invalid fixture (tests/fixtures/invalid) is rejected by both that validator and
# dvi itself (exit 2, the file named, nothing written). Records dvi writes are checked
# against their schemas by check_records.py in the command suites.
. "$(dirname "$0")/lib.sh"
S=$DVI_SOURCE_DIR/schemas
validate() { # validate <manifest.yaml>: 0 when it matches the schema of its kind
    python3 - "$S" "$1" <<'PY'
import json, os, sys, yaml
import jsonschema, referencing
schemas, manifest = sys.argv[1], sys.argv[2]
res = []
for n in os.listdir(schemas):
    s = json.load(open(os.path.join(schemas, n)))
    jsonschema.Draft202012Validator.check_schema(s)
    res.append((s["$id"], referencing.Resource.from_contents(s)))
reg = referencing.Registry().with_resources(res)
doc = yaml.safe_load(open(manifest))
path = os.path.join(schemas, f"{doc.get('kind')}-manifest.schema.json")
if not os.path.exists(path):
    sys.exit(f"{manifest}: no schema for kind {doc.get('kind')!r}")
errors = list(jsonschema.Draft202012Validator(json.load(open(path)), registry=reg).iter_errors(doc))
for e in errors:
    print(f"{manifest}: {'/'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
sys.exit(1 if errors else 0)
PY
}
n=0
for m in "$DVI_SOURCE_DIR"/examples/bracket/*.yaml; do
    validate "$m" || fail "example $m does not match its schema"
    n=$((n + 1))
done
pass "$n example manifests match their schemas (and every schema is valid 2020-12)"

export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
mkdir fx
cp -r "$EXAMPLE/lot" fx/lot
cp "$DVI_SOURCE_DIR"/tests/fixtures/invalid/*.yaml fx/
before=$(snapshot "$DVI_DIR")
n=0
for f in fx/*.yaml; do
    if validate "$f" 2>/dev/null; then fail "jsonschema accepts the invalid fixture $f"; fi
    key=polyfil.pem
    case "$(basename "$f")" in deviation-*) key=acme.pem ;; esac
    expect 2 "$DVI" --key $key seal --dry-run "$f"
    stderr_has "dvi: error: $f"
    expect 2 "$DVI" --key $key seal "$f"
    n=$((n + 1))
done
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "an invalid manifest wrote to the ledger"
[ "$n" -ge 8 ] || fail "only $n fixtures"
pass "$n invalid fixtures rejected by jsonschema and by dvi (exit 2, nothing written)"

# The schemas keep one layout (two-space JSON, as Python's json writes it), so that a
# formatter run over the tree shows up here rather than as a thousand-line diff.
python3 - "$DVI_SOURCE_DIR/schemas" <<'PY' || fail "a schema is not laid out as json.dumps(indent=2)"
import glob, json, sys
bad = [f for f in sorted(glob.glob(sys.argv[1] + "/*.json"))
       if open(f).read() != json.dumps(json.load(open(f)), indent=2, ensure_ascii=False) + "\n"]
assert not bad, bad
PY
pass "every schema laid out alike"
