#!/usr/bin/env bash
# print-verify latency (p50, p95 of the whole command, fsync on) on ledgers of growing
# size, next to the cost of starting a git process on the same ledger.
#   cmake --build build --target bench && tests/bench/print-verify.sh [build] [sizes...]
# Default sizes: 1000 10000 100000 records. Not run by CTest.
# DVI_BENCH_BASE=<another dvi binary> also times that binary, interleaved on the same
# ledger (a before/after comparison from one fill), on a second row marked "base".
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
bench_args "$src" "1000 10000 100000" "$@"
bench_workdir "$build"
export DVI_TEST_DATE=2026-11-23T10:00:00Z
runs=60


printf '%-10s %10s %10s %10s %10s %12s\n' records "p50 ms" "p95 ms" "git p50" "p50/git" "fill s"
for n in "${sizes[@]}"; do
    rm -rf "$T"/*
    export DVI_DIR=$T/ledger
    bench_ledger "$dvi" "$src" $((n + 10000))
    alloc() { bench_allocate "$dvi" "$1"; }
    filler=$(alloc "$n")
    s=$(date +%s%N)
    "$fill" ledger bureau7.pem "$filler" S5-0412 polyfil/PETG-2026-0117 "$n"
    e=$(date +%s%N)
    fill_s=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.0f", (b - a) / 1e9 }')
    copies=1
    [ -z "${DVI_BENCH_BASE:-}" ] || copies=2
    measured=$(alloc $(( (runs + 10) * copies )))
    : > dvi.ms
    : > git.ms
    : > base.ms
    for i in $(seq $((runs + 5))); do
        s=$(date +%s%N)
        "$dvi" -q --key bureau7.pem print-verify --license "$measured" --device S5-0412 --material-lot polyfil/PETG-2026-0117
        e=$(date +%s%N)
        [ "$i" -le 5 ] || ms "$s" "$e" >> dvi.ms
        if [ -n "${DVI_BENCH_BASE:-}" ]; then
            s=$(date +%s%N)
            "$DVI_BENCH_BASE" -q --key bureau7.pem print-verify --license "$measured" --device S5-0412 \
                --material-lot polyfil/PETG-2026-0117
            e=$(date +%s%N)
            [ "$i" -le 5 ] || ms "$s" "$e" >> base.ms
        fi
        s=$(date +%s%N)
        git -C ledger cat-file -t refs/dvi/chains/bureau7/s5 > /dev/null
        e=$(date +%s%N)
        [ "$i" -le 5 ] || ms "$s" "$e" >> git.ms
    done
    p50=$(percentile 50 < dvi.ms)
    p95=$(percentile 95 < dvi.ms)
    g50=$(percentile 50 < git.ms)
    printf '%-10s %10s %10s %10s %9sx %12s\n' "$n" "$p50" "$p95" "$g50" \
        "$(awk -v a="$p50" -v b="$g50" 'BEGIN { printf "%.1f", a / b }')" "$fill_s"
    if [ -s base.ms ]; then
        b50=$(percentile 50 < base.ms)
        b95=$(percentile 95 < base.ms)
        printf '%-10s %10s %10s %10s %9sx\n' "$n base" "$b50" "$b95" "$g50" \
            "$(awk -v a="$b50" -v b="$g50" 'BEGIN { printf "%.1f", a / b }')"
    fi
done
