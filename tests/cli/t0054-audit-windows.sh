#!/usr/bin/env bash
# dvi audit --jobs, and the audit's windows: a chain of a few hundred prints with commits
# forged by stock git in between, audited on one thread and on several, the commits going
# through in windows of a handful (DVI_TEST_AUDIT_WINDOW), verified and from the cache:
# the same findings, in the same order, every time.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
fill=$(dirname "$DVI")/../tests/dvi_bench_fill
[ -x "$fill" ] || fail "no $fill: build the bench target"
lot=polyfil/PETG-2026-0117
g=$(grant --to bureau7 --quota 1000)
a=$(allocate "$g" bureau7/s5 1000)
ref=refs/dvi/chains/bureau7/s5
# 100 prints, then a commit of the same record and tree without a signature (a writer
# bypassing its agent), three times, then 40 prints after the last one.
for _ in 1 2 3; do
    "$fill" "$DVI_DIR" bureau7.pem "$a" S5-0412 $lot 100 >/dev/null
    head=$(git -C "$DVI_DIR" rev-parse $ref)
    forged=$(git -C "$DVI_DIR" -c user.name=x -c user.email=x@x commit-tree -p "$head" \
        -m "$(git -C "$DVI_DIR" log -1 --format=%B "$head")" "$head^{tree}")
    git -C "$DVI_DIR" update-ref $ref "$forged" "$head"
done
"$fill" "$DVI_DIR" bureau7.pem "$a" S5-0412 $lot 40 >/dev/null
[ "$(chain_length bureau7/s5)" = 343 ] || fail "the chain has $(chain_length bureau7/s5) commits"

expect 1 "$DVI" audit --json --full --jobs 1
cp "$T/out" one.json
python3 - one.json <<'PY' || fail "the findings of the forged commits: $(cat one.json)"
import json, sys
r = json.load(open(sys.argv[1]))
unsigned = [f["seq"] for f in r["findings"] if f["code"] == "unsigned-commit"]
assert unsigned == [101, 202, 303], unsigned
assert r["summary"]["verified"] == r["summary"]["commits"], r["summary"]
# Every record after a forged commit sits one place after its seq.
late = [f for f in r["findings"] if f["chain"] == "bureau7/s5" and f["seq"] > 303]
assert len(late) >= 40, late
PY
pass "one thread: the forged commits and what follows them"

for run in "3 16" "2 1" "4 7" "2 5000" "4 1" "3 2" "4 3" "2 7"; do
    read -r jobs window <<<"$run"
    DVI_TEST_AUDIT_WINDOW=$window expect 1 "$DVI" audit --json --full --jobs "$jobs"
    cmp -s "$T/out" one.json || fail "--jobs $jobs in windows of $window: not the report of one thread"
done
pass "two, three and four threads, windows of 1 to 5,000 commits: the same report"

# The cache holds each chain's prefix up to its first finding: the audit after it
# verifies the rest again, in windows, and reports the same.
DVI_TEST_AUDIT_WINDOW=8 expect 1 "$DVI" audit --json --jobs 3
python3 - "$T/out" one.json <<'PY' || fail "the cached audit differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["findings"] == b["findings"], "findings"
assert a["summary"]["cached"] > 0 and a["summary"]["cached"] + a["summary"]["verified"] == a["summary"]["commits"], a["summary"]
PY
pass "the cached audit, three threads: the same findings"

expect 2 "$DVI" audit --jobs 300
stderr_is "dvi: error: --jobs 300 is more than 256 threads
dvi: hint: leave it out for one thread per core"
expect 129 "$DVI" audit --jobs -1
DVI_TEST_AUDIT_WINDOW=0 expect 2 "$DVI" audit
stderr_is "dvi: error: DVI_TEST_AUDIT_WINDOW '0' is not a number of commits from 1 to 1048576"
pass "--jobs and DVI_TEST_AUDIT_WINDOW out of range"
