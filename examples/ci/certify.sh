#!/usr/bin/env bash
# A CI job's certification step: seal the manifests given (a new dossier revision, a lot,
# a deviation), then audit the whole ledger. Writes sealed.json (what was sealed, for the
# job's artifacts), audit.json and audit.md (a job summary). Exit status: the first
# failure — 2 a manifest is invalid (nothing sealed), 1 the audit found errors, else 0.
#   DVI_DIR=<ledger> DVI_KEY=<key file> examples/ci/certify.sh <manifest.yaml>...
set -uo pipefail
dvi=${DVI:-dvi}
out=${CERTIFY_OUT:-.}
if [ $# -gt 0 ]; then
    "$dvi" --json seal "$@" >"$out/sealed.json" || exit $?
fi
"$dvi" audit --format markdown --output "$out/audit.md" >/dev/null
"$dvi" audit --format json --output "$out/audit.json" >/dev/null
status=$?
python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["summary"]
print("audit: %(errors)d errors, %(warnings)d warnings over %(records)d records" % s)' "$out/audit.json"
exit $status
