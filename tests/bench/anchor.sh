#!/usr/bin/env bash
# Trusted time, measured: `dvi anchor --tsa` (request, HTTP, verification, signed append
# with fsync) against the same exchange done with stock tools on the same local TSA
# (`openssl ts -query`, `curl`, `openssl ts -verify`), and print-verify --dry-run with and
# without a verified anchor in the ledger. Not run by CTest.
#   tests/bench/anchor.sh [build]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
build=$(realpath "${1:-$src/build}")
dvi=$build/cmd/dvi
T=$(mktemp -d "${TMPDIR:-/tmp}/dvi-bench.XXXXXX")
cd "$T"
runs=30
export DVI_TEST_DATE=2026-11-23T10:00:00Z DVI_DIR=$T/ledger

fail() { echo "anchor.sh: $*" >&2; exit 1; }
bench_tsa "$dvi" "$src"

bench_ledger "$dvi" "$src" 100000
alloc=$(bench_allocate "$dvi" 1000)
"$dvi" -q roster trust-tsa "$TSA_DIR/ca.pem"

timed() { # timed <file> <command...>
    local out=$1 s e
    shift
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s%N)
    ms "$s" "$e" >>"$out"
}
pv() { "$dvi" -q --key bureau7.pem print-verify --dry-run --license "$alloc" --device S5-0412 \
    --material-lot polyfil/PETG-2026-0117; }
stock() {
    printf 'heads %s' "$RANDOM" >data
    openssl ts -query -data data -sha256 -cert -out q.tsq 2>/dev/null
    curl -sf -H 'Content-Type: application/timestamp-query' --data-binary @q.tsq -o r.tsr "$TSA_URL"
    openssl ts -verify -in r.tsr -queryfile q.tsq -CAfile "$TSA_DIR/ca.pem" >/dev/null 2>&1
}

: >pv-none.ms
for i in $(seq $runs); do timed pv-none.ms pv; done
: >anchor.ms
: >stock.ms
for i in $(seq $runs); do
    timed anchor.ms "$dvi" --key acme.pem anchor --tsa "$TSA_URL"
    timed stock.ms stock
done
: >pv-anchor.ms
for i in $(seq $runs); do timed pv-anchor.ms pv; done
"$dvi" --json --key bureau7.pem print-verify --dry-run --license "$alloc" --device S5-0412 \
    --material-lot polyfil/PETG-2026-0117 >/dev/null || fail "print-verify refused after the anchors"

a=$(percentile 50 <anchor.ms)
s=$(percentile 50 <stock.ms)
p0=$(percentile 50 <pv-none.ms)
p1=$(percentile 50 <pv-anchor.ms)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
printf '%-48s %10s %-44s %10s %8s\n' step "p50 ms" reference "p50 ms" ratio
printf '%-48s %10s %-44s %10s %8s\n' "dvi anchor --tsa (verify, signed append, fsync)" "$a" \
    "openssl ts -query + curl + openssl ts -verify" "$s" "$(ratio "$a" "$s")"
printf '%-48s %10s %-44s %10s %8s\n' "print-verify --dry-run, $runs anchors verified" "$p1" \
    "the same without any anchor" "$p0" "$(ratio "$p1" "$p0")"
