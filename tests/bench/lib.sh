# Shared by the benchmark scripts: the consortium of a benchmark ledger.
# bench_ledger <dvi> <source tree> <quota>: in the current directory, keys acme, polyfil,
# bureau7 (printer agent bureau7/s5 with printer S5-0412) and desk (bureau7/desk), a
# ledger with the example lot and dossier sealed, and a licence of <quota> prints granted
# to bureau7; its id is left in $bench_grant.
bench_ledger() {
    local dvi=$1 src=$2 quota=$3
    for k in acme polyfil bureau7 desk; do "$dvi" -q key generate --out "$k.pem"; done
    "$dvi" -q --key acme.pem init --consortium bench --partner acme --role oem ledger
    "$dvi" -q -C ledger roster add polyfil --role supplier --writer lab --pubkey polyfil.pem.pub
    "$dvi" -q -C ledger roster add bureau7 --role bureau --writer s5 --pubkey bureau7.pem.pub \
        --device "S5-0412:Original Prusa MINI"
    "$dvi" -q -C ledger roster add bureau7 --writer desk --pubkey desk.pem.pub
    "$dvi" -q -C ledger --key polyfil.pem seal "$src/examples/bracket/material-lot.yaml"
    "$dvi" -q -C ledger --key acme.pem seal "$src/examples/bracket/dossier.yaml"
    bench_grant=$("$dvi" --json -C ledger --key acme.pem license grant --dossier BRK-2041@C --to bureau7 \
        --quota "$quota" | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
}
# bench_tsa <dvi> <source tree>: the test suite's TSA (tests/cli/lib.sh's tsa_start: a CA,
# a TSA certificate, openssl ts -reply behind HTTP on 127.0.0.1), its clock at 09:00,
# stopped when the script exits; needs $T and a fail function.
bench_tsa() {
    DVI=$1 DVI_SOURCE_DIR=$2
    eval "$(sed -n '/^tsa_start() {/,/^}/p' "$2/tests/cli/lib.sh")"
    tsa_start
    trap 'kill $TSA_PID 2>/dev/null; '"${bench_cleanup:-rm -rf \"$T\"}" EXIT
    echo "2026-11-23 09:00:00" >"$TSA_DIR/time"
}
# bench_allocate <dvi> <quota>: an allocation of $bench_grant to the printer agent; prints its id.
bench_allocate() {
    "$1" --json -C ledger --key desk.pem license allocate --from "$bench_grant" --to bureau7/s5 --quota "$2" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])'
}
# bench_args <source tree> <default sizes> [build] [sizes...]: the arguments of a script
# that takes a build folder (default <source tree>/build) and ledger sizes; sets build and
# the array sizes.
bench_args() {
    local src=$1 defaults=$2
    shift 2
    build=$(realpath "${1:-$src/build}")
    shift || true
    sizes=("$@")
    [ ${#sizes[@]} -gt 0 ] || read -r -a sizes <<<"$defaults"
}
# bench_workdir <build>: sets dvi and fill (the bench target's filler, which must be
# built), and moves into a fresh temporary directory $T, removed on exit unless
# DVI_BENCH_KEEP=1 (then its path is printed on stderr, to profile its ledger later).
bench_workdir() {
    dvi=$1/cmd/dvi
    fill=$1/tests/dvi_bench_fill
    [ -x "$fill" ] || { echo "build the bench target first: cmake --build build --target bench" >&2; exit 2; }
    T=$(mktemp -d "${TMPDIR:-/tmp}/dvi-bench.XXXXXX")
    bench_cleanup='rm -rf "$T"'
    [ "${DVI_BENCH_KEEP:-0}" = 0 ] || bench_cleanup='echo "kept $T" >&2'
    trap "$bench_cleanup" EXIT
    cd "$T"
}

# percentile <p>: the p-th percentile (nearest rank) of the numbers on stdin, one a line.
percentile() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.5); if (i < 1) i = 1; print v[i] }'; }
# ms <start ns> <end ns>: the milliseconds between two `date +%s%N`.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b - a) / 1e6 }'; }
