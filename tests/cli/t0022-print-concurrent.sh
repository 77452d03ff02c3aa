#!/usr/bin/env bash
# 8 print-verify processes x 20 attempts on one allocation of 50: exactly 50 allowed,
# 110 refused for quota, every record signed, the chain linear.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
g=$(grant --to bureau7 --quota 200)
a=$(allocate "$g" bureau7/s5 50)
worker() {
    for _ in $(seq 20); do
        "$DVI" --json --key bureau7.pem print-verify --license "$a" --device S5-0412 \
            --material-lot polyfil/PETG-2026-0117 > "$T/w$1.$RANDOM$RANDOM.json" 2>/dev/null || true
    done
}
for w in 1 2 3 4 5 6 7 8; do worker "$w" & done
wait
python3 - "$T" <<'PY' || fail "outcomes"
import glob, json, sys
outs = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/w*.json")]
assert len(outs) == 160, len(outs)
allowed = [o for o in outs if o["decision"] == "allowed"]
refused = [o for o in outs if o["decision"] == "refused"]
assert len(allowed) == 50, len(allowed)
assert len(refused) == 110 and all(o["code"] == "quota-exhausted" for o in refused), {o["code"] for o in refused}
assert sorted(o["used"] for o in allowed) == list(range(1, 51))
assert len({o["record"] for o in outs}) == 160
PY
ref=refs/dvi/chains/bureau7/s5
[ "$(git -C ledger rev-list --count $ref)" = 160 ] || fail "chain length"
[ "$(git -C ledger rev-list --merges --count $ref)" = 0 ] || fail "merges in the chain"
expect 0 "$DVI" --json log bureau7/s5
[ "$(json_get '["bad"]')" = 0 ] || fail "some commits do not verify"
[ "$(json_get '["commits_checked"]')" = 160 ] || fail "log did not check 160 commits"
"$DVI" roster allowed-signers > signers
git -C ledger -c gpg.ssh.allowedSignersFile="$T/signers" verify-commit $ref 2>/dev/null || fail "git verify-commit"
expect 0 "$DVI" --json license show "$a"
[ "$(json_get '["used"]')" = 50 ] && [ "$(json_get '["remaining"]')" = 0 ] || fail "usage is not 50/50"
pass "8 x 20 concurrent print-verify on 50: 50 allowed, 110 refused, linear chain of 160 signed commits"

# The whole ledger this script built passes the audit: no errors (its clock games and
# failed inspections are warnings).
audit_clean
