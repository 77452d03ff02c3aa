#!/usr/bin/env bash
# examples/ci: the certification step both CI recipes run (seal, then audit, with --json
# and exit codes), on a real ledger; and the recipes themselves are valid YAML that run it.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
consortium "$DVI_DIR"
export DVI_KEY=$T/acme.pem DVI
certify=$DVI_SOURCE_DIR/examples/ci/certify.sh
"$DVI" -q --key polyfil.pem seal "$EXAMPLE/material-lot.yaml"
expect 0 "$certify" "$EXAMPLE/dossier.yaml"
stdout_has "audit: 0 errors, 0 warnings over 5 records"
python3 -c 'import json; d = json.load(open("sealed.json")); assert d["sealed"][0]["kind"] == "dossier", d' || fail "sealed.json"
head -1 audit.md | grep -qx "## dvi audit: pass" || fail "audit.md"
python3 -c 'import json; assert json.load(open("audit.json"))["verdict"] == "pass"' || fail "audit.json"
pass "seal and audit: 0"

printf 'kind: dossier\npart_number: X\n' >bad.yaml
before=$(snapshot "$DVI_DIR")
expect 2 "$certify" bad.yaml
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "a bad manifest wrote to the ledger"
pass "an invalid manifest: 2, nothing sealed"

head=$(git -C "$DVI_DIR" rev-parse refs/dvi/chains/acme/desk)
git -C "$DVI_DIR" cat-file commit "$head" | sed 's/^dossier: /dossier: (edited) /' | git -C "$DVI_DIR" hash-object -t commit -w --stdin >new
git -C "$DVI_DIR" update-ref refs/dvi/chains/acme/desk "$(cat new)" "$head"
expect 1 "$certify"
stdout_has "audit: 1 errors"
head -1 audit.md | grep -qx "## dvi audit: fail" || fail "audit.md on failure"
pass "a tampered ledger: 1, with the reports written"

python3 - "$DVI_SOURCE_DIR/examples/ci" <<'PY' || fail "the CI recipes"
import sys, yaml
gh = yaml.safe_load(open(sys.argv[1] + "/github-actions.yml"))
steps = gh["jobs"]["certify"]["steps"]
script = "\n".join(s.get("run", "") for s in steps)
assert "examples/ci/certify.sh" in script and "GITHUB_STEP_SUMMARY" in script and "dvi sync" in script, script
gl = yaml.safe_load(open(sys.argv[1] + "/gitlab-ci.yml"))
assert any("examples/ci/certify.sh" in l for l in gl["certify"]["script"]), gl
assert "audit.json" in gl["certify"]["artifacts"]["paths"]
PY
pass "the GitHub Actions and GitLab CI recipes run it"
