#!/usr/bin/env bash
# dvi audit, measured on a ledger of N records (default 10000) next to, in the same run:
# `git log --show-signature` on the same chain (a sample of its commits, as a rate) and
# the two-core Ed25519 verify rate of `openssl speed -multi 2 ed25519`. Also the
# incremental audit (cache) and the peak RSS of each. Not run by CTest. The audits and
# git log run in turns, DVI_BENCH_RUNS times (default 5), and the medians are shown: one
# run on a shared machine can be 20% off in either direction.
#   cmake --build build --target bench && tests/bench/audit.sh [build] [records]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
build=$(realpath "${1:-$src/build}")
n=${2:-10000}
bench_workdir "$build"
export DVI_TEST_DATE=2026-11-23T10:00:00Z DVI_DIR=$T/ledger
bench_ledger "$dvi" "$src" $((n + 10))
"$fill" ledger bureau7.pem "$(bench_allocate "$dvi" "$n")" S5-0412 polyfil/PETG-2026-0117 "$n" >/dev/null
commits=$(git -C ledger rev-list --glob=refs/dvi/chains | wc -l)

runs=${DVI_BENCH_RUNS:-5}
# seconds and peak RSS (MB) of a command: "<s> <MB>"
measure() {
    /usr/bin/time -f "%e %M" -o time.txt "$@" >/dev/null 2>&1 || true
    awk '{ printf "%.2f %.0f\n", $1, $2 / 1024 }' time.txt
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
"$dvi" -q audit --full --format json --output report.json || true
python3 -c "import json; s = json.load(open('report.json'))['summary']; assert s['errors'] == 0, s" ||
    { echo "audit.sh: the benchmark ledger has findings" >&2; exit 1; }
sample=$((commits < 300 ? commits : 300))
"$dvi" roster allowed-signers >signers
: >full.txt
: >inc.txt
: >git.txt
for _ in $(seq "$runs"); do
    measure "$dvi" audit --full >>full.txt
    measure "$dvi" audit >>inc.txt
    s=$(date +%s%N)
    git -C ledger -c gpg.ssh.allowedSignersFile="$T/signers" log --show-signature -n $sample refs/dvi/chains/bureau7/s5 >/dev/null 2>&1
    e=$(date +%s%N)
    awk -v n=$sample -v a="$s" -v b="$e" 'BEGIN { printf "%.0f\n", n / ((b - a) / 1e9) }' >>git.txt
done
full_s=$(awk '{ print $1 }' full.txt | median)
full_mb=$(awk '{ print $2 }' full.txt | sort -n | tail -1)
inc_s=$(awk '{ print $1 }' inc.txt | median)
inc_mb=$(awk '{ print $2 }' inc.txt | sort -n | tail -1)
git_rate=$(median <git.txt)
ed_rate=$(openssl speed -multi 2 -seconds 3 ed25519 2>/dev/null | awk '/^ *253 bits EdDSA/ { print $NF }' | tail -1)
ed_rate=${ed_rate%.*}

rate=$(awk -v n="$commits" -v t="$full_s" 'BEGIN { printf "%.0f", n / t }')
echo "medians of $runs runs each (audit --full: $(awk '{ print $1 }' full.txt | sort -n | tr '\n' ' ')s)"
printf '%-40s %12s %12s %10s\n' step "time s" "commits/s" "peak MB"
printf '%-40s %12s %12s %10s\n' "dvi audit --full, $commits commits" "$full_s" "$rate" "$full_mb"
printf '%-40s %12s %12s %10s\n' "dvi audit, cached (nothing new)" "$inc_s" \
    "$(awk -v n="$commits" -v t="$inc_s" 'BEGIN { printf "%.0f", n / t }')" "$inc_mb"
printf '%-40s %12s %12s %10s\n' "git log --show-signature ($sample commits)" "" "$git_rate" ""
printf '%-40s %12s %12s %10s\n' "openssl speed -multi 2 ed25519 (verify)" "" "$ed_rate" ""
printf '\naudit vs git log --show-signature: %sx; vs the two-core Ed25519 verify rate: %s%%\n' \
    "$(awk -v a="$rate" -v b="$git_rate" 'BEGIN { printf "%.0f", a / b }')" \
    "$(awk -v a="$rate" -v b="$ed_rate" 'BEGIN { printf "%.0f", 100 * a / b }')"
