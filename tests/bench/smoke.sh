#!/usr/bin/env bash
# The benchmark's short version, run by CTest: run.sh on a ledger of a few hundred
# records (no sealing), which also fails when the audit finds anything in the ledger it
# grew; then each row of the table must be there with its figures, and the rows of
# objects.sh for commits, records and the whole ledger. Then audit.sh, twice
# each, on 200 records.
#   tests/bench/smoke.sh <build>
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(DVI_BENCH_SEAL_MIB=0 "$src/tests/bench/run.sh" "$1" 300)
echo "$out"
for row in '^\| `print-verify`, 3[0-9][0-9] records \| p50 [0-9.]+ ms' \
    '^\| `print-verify --batch`, each job \| p50 [0-9.]+ ms, p95 [0-9.]+ ms, peak [0-9]+ MB \([0-9]+ MB its own' \
    '^\| `audit --full`, 3[0-9][0-9] records, [0-9]+ cores \| [0-9.]+ s, [0-9]+ records/s, peak [0-9]+ MB' \
    '^\| `audit` again, nothing new \(cache\) \| [0-9.]+ s' \
    '^\| import a bundle of 3[0-9][0-9] records' \
    '^\| ledger on disk, 3[0-9][0-9] records \| [0-9]+ bytes/record' \
    '^\| commit \| 1\.[0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9.]+ \| [0-9.]+ \|$' \
    '^\| file records/print/<xx>/<xx>/\*\.json \| [01]\.[0-9]+ \|' \
    '^\| \*\*ledger\*\* \(3[0-9][0-9] records\) \| \| \| \| \| [0-9.]+ \| \|$'; do
    grep -Eq "$row" <<<"$out" || { echo "smoke.sh: no row matching '$row'" >&2; exit 1; }
done
out=$(DVI_BENCH_RUNS=2 "$src/tests/bench/audit.sh" "$1" 200)
echo "$out"
for row in '^dvi audit --full, 2[0-9][0-9] commits +[0-9.]+ +[0-9]+ +[0-9]+$' \
    '^git log --show-signature \(2[0-9][0-9] commits\) +[0-9]+ *$' \
    '^audit vs git log --show-signature: [0-9]+x; vs the two-core Ed25519 verify rate: [0-9]+%$'; do
    grep -Eq "$row" <<<"$out" || { echo "smoke.sh: no audit.sh line matching '$row'" >&2; exit 1; }
done
