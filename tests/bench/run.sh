#!/usr/bin/env bash
# The performance table of the README, in one run: one realistic ledger grown through
# each size (two printer agents of a bureau printing under their allocations, inspections
# with their reports, RFC 3161 anchors from a local TSA, besides the OEM's dossier with
# real artifacts, the supplier's lot, the licence and its allocations), and at each size
# every step side by side with the tool a user would otherwise reach for, on the same
# files, in the same run. Not run by CTest.
#   cmake --build build --target bench && tests/bench/run.sh [build] [sizes...]
# Default sizes: 1000 10000 100000 (add 1000000 for the long run: about 3 hours to fill).
# DVI_BENCH_SEAL_MIB: size of each sealed file (default 1024; 0 leaves sealing out).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/bench/lib.sh"
bench_args "$src" "1000 10000 100000" "$@"
seal_mib=${DVI_BENCH_SEAL_MIB:-1024}
bench_workdir "$build"
fail() { echo "run.sh: $*" >&2; exit 1; }
export DVI_TEST_DATE=2026-11-23T10:00:00Z DVI_DIR=$T/ledger GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
lot=polyfil/PETG-2026-0117

# "<seconds> <peak MB>" of a command.
measure() {
    /usr/bin/time -f "%e %M" -o "$T/time.txt" "$@" >/dev/null 2>"$T/measure.err" || { cat "$T/measure.err" >&2; return 1; }
    awk '{ printf "%.2f %.0f\n", $1, $2 / 1024 }' "$T/time.txt"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
now_ns() { date +%s%N; }
row() { printf '| %s | %s | %s | %s |\n' "$@"; }

echo "# dvi benchmark: $(date -u +%Y-%m-%d), $(nproc) cores, $("$dvi" --version | head -1)"
echo
echo "| step | dvi | reference, same run | ratio |"
echo "|---|---|---|---|"

# Sealing, on its own ledger (tests/bench/seal.sh), 1 GiB per file by default.
if [ "$seal_mib" -gt 0 ]; then
    "$src/tests/bench/seal.sh" "$dvi" "$seal_mib" >seal.txt 2>seal.err || { cat seal.err >&2; fail "seal.sh failed"; }
    for f in random.bin text.gcode; do
        get() { awk -v f="$f" -v t="$1" '$1 == f { sub(/^[^ ]+ +/, ""); if (index($0, t) == 1) print $NF }' seal.txt; }
        what=$([ $f = random.bin ] && echo "incompressible (3MF-like)" || echo "G-code")
        refs="\`sha256sum\` $(get sha256sum) MB/s, \`git hash-object -w\` $(get 'git hash-object') MB/s, \`dd conv=fsync\` (a durable copy) $(get 'dd conv=fsync') MB/s"
        toto=$(get in-toto-run)
        [ -z "$toto" ] || refs="$refs, \`in-toto-run\` $toto MB/s"
        r="$(ratio "$(get 'dvi seal ')" "$(get 'git hash-object')")x git"
        [ -z "$toto" ] || r="$r, $(ratio "$(get 'dvi seal ')" "$toto")x in-toto"
        r="$r, $(ratio "$(get 'dvi seal ')" "$(get 'dd conv=fsync')")x dd"
        row "seal ${seal_mib} MiB $what" "$(get 'dvi seal ') MB/s" "$refs" "$r"
    done
fi

# The consortium: bench_ledger's (OEM acme, supplier polyfil, bureau7 with printer agent
# s5 and its desk), a second printer agent s6, and the local TSA.
bench_ledger "$dvi" "$src" 200000000 >/dev/null
bench_tsa "$dvi" "$src"
trap 'kill $TSA_PID 2>/dev/null; '"$bench_cleanup" EXIT
"$dvi" -q -C ledger roster trust-tsa "$TSA_DIR/ca.pem"
"$dvi" -q key generate --out s6.pem
"$dvi" -q -C ledger roster add bureau7 --writer s6 --pubkey s6.pem.pub --device "S6-0413:Original Prusa MINI"
alloc() {
    "$dvi" --json -C ledger --key desk.pem license allocate --from "$bench_grant" --to "$1" --quota "$2" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])'
}
a5=$(alloc bureau7/s5 50000000)
a6=$(alloc bureau7/s6 50000000)
measured=$(alloc bureau7/s5 10000)
# The ledger's records: the sum of its chains' lengths, as each chain's head says in
# chain.json (counting commits with git rev-list took 10 s a round at 350k records).
records() {
    git -C ledger for-each-ref --format='%(refname)' refs/dvi/chains/ | while read -r ref; do
        git -C ledger cat-file blob "$ref:chain.json" && echo
    done | python3 -c 'import json, sys; print(sum(json.loads(l)["seq"] for l in sys.stdin if l.strip()))'
}
printf 'Inspection report\n' >report.txt
# One print with a serial through the command, its inspection (with a report file) and
# an anchor with a token of the TSA.
extras() {
    local serial=BRK-$1 p
    p=$("$dvi" --json --key bureau7.pem print-verify --license "$a5" --device S5-0412 --material-lot $lot \
        --serial "$serial" | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
    cat >inspection.yaml <<YAML
kind: inspection
print: $p
serial: $serial
result: pass
inspector: M. Martin
date: "2026-11-23"
measurements:
  - id: IP-01
    result: pass
report: report.txt
YAML
    "$dvi" -q --key bureau7.pem seal inspection.yaml
    "$dvi" -q --key desk.pem anchor --tsa "$TSA_URL" >/dev/null
}
# Grows the ledger to $1 records: rounds of at most 2,000 prints, half by each printer
# agent at the same time (two chains never contend), with extras() between them. The
# ledger grows in memory ($grow_in, /dev/shm by default; DVI_BENCH_GROW_IN= grows it on
# the disk), where creating and deleting the loose objects that dvi packs as it goes costs
# a third of the time on ext4; only the fill's own duration depends on it, not the ledger:
# to_disk() copies it to the work directory before anything is measured.
grow_in=${DVI_BENCH_GROW_IN-/dev/shm}
if [ -n "$grow_in" ] && [ -w "$grow_in" ]; then
    G=$(mktemp -d "$grow_in/dvi-bench-grow.XXXXXX")
    trap 'kill $TSA_PID 2>/dev/null; rm -rf "$G"; '"$bench_cleanup" EXIT
    mv ledger "$G/ledger"
    ln -s "$G/ledger" ledger
else
    G=
fi
to_disk() { [ ! -L ledger ] || { rm ledger && cp -a "$G/ledger" ledger; }; }
to_memory() { [ -z "$G" ] || [ -L ledger ] || { rm -rf "$G/ledger" && mv ledger "$G/ledger" && ln -s "$G/ledger" ledger; }; }
grow() {
    local target=$1 have step k=0
    while :; do
        have=$(records)
        [ "$have" -lt "$target" ] || break
        step=$((target - have))
        [ "$step" -le 2000 ] || step=2000
        if [ "$step" -lt 2 ]; then
            "$fill" ledger bureau7.pem "$a5" S5-0412 $lot "$step"
        else
            "$fill" ledger bureau7.pem "$a5" S5-0412 $lot $((step / 2)) &
            "$fill" ledger s6.pem "$a6" S6-0413 $lot $((step - step / 2)) || fail "the fill of s6 failed"
            wait $! || fail "the fill of s5 failed"
        fi
        k=$((k + 1))
        [ $((step)) -lt 50 ] || extras "$target-$k"
    done
}

ed_rate=$(openssl speed -multi 2 -seconds 3 ed25519 2>/dev/null | awk '/^ *253 bits EdDSA/ { print $NF }' | tail -1)
ed_rate=${ed_rate%.*}
"$dvi" roster allowed-signers >signers

for n in "${sizes[@]}"; do
    s=$(now_ns)
    to_memory
    grow "$n"
    fill_s=$(awk -v a="$s" -v b="$(now_ns)" 'BEGIN { printf "%.0f", (b - a) / 1e9 }')
    to_disk
    sync  # the bulk load's unflushed pages are not a printer agent's to flush
    total=$(records)

    # print-verify: the whole command (new process, every check, signed append, fsync).
    : >pv.ms
    for i in $(seq 45); do
        s=$(now_ns)
        "$dvi" -q --key bureau7.pem print-verify --license "$measured" --device S5-0412 --material-lot $lot
        e=$(now_ns)
        [ "$i" -le 5 ] || awk -v a="$s" -v b="$e" 'BEGIN { printf "%.2f\n", (b - a) / 1e6 }' >>pv.ms
    done
    : >git.ms
    for i in $(seq 25); do
        s=$(now_ns)
        git -C ledger cat-file -t refs/dvi/chains/bureau7/s5 >/dev/null
        e=$(now_ns)
        awk -v a="$s" -v b="$e" 'BEGIN { printf "%.2f\n", (b - a) / 1e6 }' >>git.ms
    done
    read -r _ pv_mb < <(measure "$dvi" -q --key bureau7.pem print-verify --license "$measured" --device S5-0412 --material-lot $lot)
    p50=$(percentile 50 <pv.ms)
    p95=$(percentile 95 <pv.ms)
    g50=$(percentile 50 <git.ms)
    row "\`print-verify\`, $total records" "p50 $p50 ms, p95 $p95 ms, peak $pv_mb MB" "starting \`git cat-file\` p50 $g50 ms" \
        "$(ratio "$p50" "$g50")x"

    # print-verify --batch: each job of one running agent (every check, signed append,
    # fsync), next to a query of one running git cat-file --batch-check.
    "$src/tests/bench/lineclock.py" 40 5 '"exit":0' "{\"license\": \"$measured\"}" -- \
        "$dvi" --key bureau7.pem print-verify --batch --device S5-0412 --material-lot $lot >batch.ms ||
        fail "print-verify --batch failed"
    "$src/tests/bench/lineclock.py" 40 5 ' commit ' refs/dvi/chains/bureau7/s5 -- \
        git -C ledger cat-file --batch-check >gitbatch.ms || fail "git cat-file --batch-check failed"
    b50=$(grep -Ev 'peak|anon' batch.ms | percentile 50)
    b95=$(grep -Ev 'peak|anon' batch.ms | percentile 95)
    gb50=$(grep -Ev 'peak|anon' gitbatch.ms | percentile 50)
    row "\`print-verify --batch\`, each job" "p50 $b50 ms, p95 $b95 ms, peak $(awk '$1 == "peak" { print $2 }' batch.ms) MB ($(awk '$1 == "anon" { print $2 }' batch.ms) MB its own; the rest mapped files, libraries and the packs' indexes)" \
        "a query to a running \`git cat-file --batch-check\` p50 $gb50 ms" \
        "$(ratio "$b50" "$gb50")x git; $(ratio "$p50" "$b50")x faster than a process a job"

    # audit, whole and incremental, next to git log --show-signature (a sample, as a rate)
    # and the two-core Ed25519 verify rate.
    total=$(records)
    read -r full_s full_mb < <(measure "$dvi" audit --full)
    "$dvi" -q audit --format json --output report.json || true
    python3 -c "import json; s = json.load(open('report.json'))['summary']; assert s['errors'] == 0, s" ||
        fail "the benchmark ledger has findings: $(python3 -c "import json; print(json.load(open('report.json'))['findings'][:3])")"
    read -r inc_s inc_mb < <(measure "$dvi" audit)
    sample=300
    s=$(now_ns)
    git -C ledger -c gpg.ssh.allowedSignersFile="$T/signers" log --show-signature -n $sample refs/dvi/chains/bureau7/s5 >/dev/null 2>&1
    git_rate=$(awk -v n=$sample -v a="$s" -v b="$(now_ns)" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')
    rate=$(awk -v n="$total" -v t="$full_s" 'BEGIN { printf "%.0f", n / t }')
    row "\`audit --full\`, $total records, 2 cores" "$full_s s, $rate records/s, peak $full_mb MB" \
        "\`git log --show-signature\` $git_rate commits/s; \`openssl speed -multi 2 ed25519\` $ed_rate verify/s" \
        "$(awk -v a="$rate" -v b="$git_rate" 'BEGIN { printf "%.0f", a / b }')x git; $(awk -v a="$rate" -v b="$ed_rate" 'BEGIN { printf "%.0f", 100 * a / b }')% of Ed25519"
    row "\`audit\` again, nothing new (cache)" "$inc_s s, peak $inc_mb MB" "" "$(ratio "$full_s" "$inc_s")x faster"

    # Bundle import with every commit verified, next to git fetch of the same bundle.
    if [ "$total" -le 200000 ]; then
        rm -rf joined stock all.bundle
        "$dvi" -q -C ledger sync --bundle-out "$T/all.bundle"
        read -r join_s join_mb < <(measure "$dvi" -q --key desk.pem init --join "$T/all.bundle" --partner bureau7 --writer desk joined)
        git init -q --bare stock
        read -r fetch_s fetch_mb < <(measure git -C stock fetch -q "$T/all.bundle" 'refs/dvi/*:refs/dvi/*')
        row "import a bundle of $total records ($(du -h all.bundle | cut -f1)), all verified" "$join_s s, peak $join_mb MB" \
            "\`git fetch\` of the bundle $fetch_s s (no signature checked), peak $fetch_mb MB" "$(ratio "$join_s" "$fetch_s")x the time"
        rm -rf joined stock all.bundle
    fi

    # The ledger on disk.
    bytes=$(du -sb ledger/objects ledger/refs | awk '{ s += $1 } END { print s }')
    loose=$(git -C ledger count-objects -v | awk '/^count:/ { print $2 }')
    packs=$(git -C ledger count-objects -v | awk '/^packs:/ { print $2 }')
    row "ledger on disk, $total records" "$(awk -v b="$bytes" -v n="$total" 'BEGIN { printf "%.0f", b / n }') bytes/record, $loose loose objects, $packs packs" \
        "grown in $fill_s s" ""
done

# Where the bytes of the largest ledger go, by kind of object.
echo
echo "Where the ledger's bytes go at $total records (\`tests/bench/objects.sh\`):"
echo
"$src/tests/bench/objects.sh" ledger "$total"
