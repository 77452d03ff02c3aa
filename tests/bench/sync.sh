#!/usr/bin/env bash
# Importing a bundle with full verification (every signature, trailer, schema, position
# and authority) against `git fetch` of the same bundle, which verifies no signature.
#   cmake --build build --target bench && tests/bench/sync.sh [build] [records...]
# Default: 10000 records. Not run by CTest.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
bench_args "$src" "10000" "$@"
bench_workdir "$build"
export DVI_TEST_DATE=2026-11-23T10:00:00Z GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
peak_kb() { awk '/Maximum resident/ { print $6 }' "$1"; }

printf '%-9s %9s %9s %11s %11s %8s %10s %12s\n' records "bundle" "dvi s" "git fetch s" "records/s" "ratio" "dvi MB" "git MB"
for n in "${sizes[@]}"; do
    rm -rf "$T"/*
    export DVI_DIR=$T/ledger
    bench_ledger "$dvi" "$src" $((n + 10))
    a=$(bench_allocate "$dvi" "$n")
    "$fill" ledger bureau7.pem "$a" S5-0412 polyfil/PETG-2026-0117 "$n" 2>/dev/null
    "$dvi" -q -C ledger sync --bundle-out "$T/all.bundle"
    total=$(git -C ledger rev-list --count --all)
    s=$(date +%s%N)
    /usr/bin/time -v -o dvi.time "$dvi" -q --key desk.pem init --join "$T/all.bundle" --partner bureau7 --writer desk joined
    e=$(date +%s%N)
    dvi_s=$(secs "$s" "$e")
    git init -q --bare stock
    s=$(date +%s%N)
    /usr/bin/time -v -o git.time git -C stock fetch -q "$T/all.bundle" 'refs/dvi/*:refs/dvi/*'
    e=$(date +%s%N)
    git_s=$(secs "$s" "$e")
    [ "$(git -C joined rev-list --count --all)" = "$total" ] || { echo "the join lost commits" >&2; exit 1; }
    printf '%-9s %9s %9s %11s %11s %7sx %10s %12s\n' "$total" "$(du -h all.bundle | cut -f1)" "$dvi_s" "$git_s" \
        "$(awk -v n="$total" -v s="$dvi_s" 'BEGIN { printf "%.0f", n / s }')" \
        "$(awk -v a="$dvi_s" -v b="$git_s" 'BEGIN { printf "%.1f", a / b }')" \
        "$(awk -v k="$(peak_kb dvi.time)" 'BEGIN { printf "%.0f", k / 1024 }')" \
        "$(awk -v k="$(peak_kb git.time)" 'BEGIN { printf "%.0f", k / 1024 }')"
done
