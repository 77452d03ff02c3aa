#!/usr/bin/env bash
# Part passports, measured: `dvi passport` (export) and `dvi passport verify` of a part
# printed first of <prints> on one printer, between two time-stamped anchors, against
# `sha256sum -c` plus one `ssh-keygen -Y verify` per commit over the same extracted files,
# and against all the stock-tool commands of dvi-passport(5). Not run by CTest.
#   tests/bench/passport.sh [build] [prints]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
build=$(realpath "${1:-$src/build}")
prints=${2:-20}
dvi=$build/cmd/dvi
T=$(mktemp -d "${TMPDIR:-/tmp}/dvi-bench.XXXXXX")
cd "$T"
runs=20
export DVI_TEST_DATE=2026-11-23T10:00:00Z DVI_DIR=$T/ledger

fail() { echo "passport.sh: $*" >&2; exit 1; }
bench_tsa "$dvi" "$src"

bench_ledger "$dvi" "$src" 100000
alloc=$(bench_allocate "$dvi" 1000)
"$dvi" -q roster trust-tsa "$TSA_DIR/ca.pem"
"$dvi" -q --key acme.pem anchor --tsa "$TSA_URL"
for i in $(seq "$prints"); do
    "$dvi" -q --key bureau7.pem print-verify --license "$alloc" --device S5-0412 \
        --material-lot polyfil/PETG-2026-0117 --serial "S-$i"
done
echo "2026-11-23 11:00:00" >"$TSA_DIR/time"
"$dvi" -q --key acme.pem anchor --tsa "$TSA_URL"

timed() { # timed <file> <command...>
    local out=$1 s e
    shift
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1 || fail "$* failed"
    e=$(date +%s%N)
    ms "$s" "$e" >>"$out"
}
export_once() { rm -f p.tar && "$dvi" -q passport S-1 --output p.tar; }
stock_min() { # sha256sum -c and ssh-keygen -Y verify over the extracted files
    (cd x && sha256sum -c --quiet SHA256SUMS &&
        for c in commits/*.commit; do
            b=${c%.commit}
            who=$(sed -n '1,/^$/ s/^author \([^ ]*\) .*/\1/p' "$b.payload")
            ssh-keygen -Y verify -f allowed_signers -I "$who" -n git -s "$b.sig" <"$b.payload" >/dev/null || exit 1
        done)
}
awk '/^\.SH/ { on = ($0 ~ /VERIFYING WITH STOCK TOOLS/); next }
     on && /^\.EX/ { ex = 1; next } on && /^\.EE/ { ex = 0; next } on && ex' "$src/man/dvi-passport.5" |
    sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\e/\\/g' -e 's/\\f[BIR]//g' -e 's/^\$ //' >stock.sh
stock_page() { rm -rf page && mkdir page && cp p.tar page/BRK-2026-00017.tar && (cd page && bash ../stock.sh) | grep -q "covers the print"; }

export_once
mkdir x && tar -xf p.tar -C x
commits=$(ls x/commits/*.commit | wc -l)
: >export.ms; : >verify.ms; : >stock.ms; : >page.ms
for i in $(seq $runs); do
    timed export.ms export_once
    timed verify.ms "$dvi" passport verify --trust "$(git -C ledger config dvi.genesis)" p.tar
    timed stock.ms stock_min
    timed page.ms stock_page
done
e=$(percentile 50 <export.ms)
v=$(percentile 50 <verify.ms)
s=$(percentile 50 <stock.ms)
pg=$(percentile 50 <page.ms)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
echo "passport of S-1: $(wc -c <p.tar) bytes, $(tar -tf p.tar | wc -l) entries, $commits commits"
printf '%-44s %8s %-52s %8s %8s\n' step "p50 ms" reference "p50 ms" ratio
printf '%-44s %8s %-52s %8s %8s\n' "dvi passport (export)" "$e" "sha256sum -c + $commits x ssh-keygen -Y verify" "$s" "$(ratio "$e" "$s")"
printf '%-44s %8s %-52s %8s %8s\n' "dvi passport verify" "$v" "sha256sum -c + $commits x ssh-keygen -Y verify" "$s" "$(ratio "$v" "$s")"
printf '%-44s %8s %-52s %8s %8s\n' "dvi passport verify" "$v" "every command of dvi-passport(5)" "$pg" "$(ratio "$v" "$pg")"
