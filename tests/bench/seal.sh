#!/usr/bin/env bash
# Seal throughput, side by side with the tools a user would otherwise reach for, on the
# same files in the same run (machines are noisy: read the ratios, not the seconds):
# sha256sum, git hash-object -w, and in-toto-run (scripts/install-deps --bench), which
# hashes every file of the dossier and signs the list, but stores nothing. And the floor
# for anything that keeps the file: copying it to the same disk with dd conv=fsync.
#   tests/bench/seal.sh [build/cmd/dvi] [MiB per file, default 256]
# Not run by CTest.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
dvi=$(realpath "${1:-$src/build/cmd/dvi}")
mib=${2:-256}
T=$(mktemp -d "${TMPDIR:-/tmp}/dvi-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
export DVI_TEST_DATE=2026-11-23T10:00:00Z

# Incompressible (like a zipped 3MF) and compressible (like G-code) inputs.
head -c "$((mib * 1024 * 1024))" /dev/urandom > random.bin
gcode="$src/examples/bracket/recipes/mk3s/bracket.gcode"
while [ "$(stat -c %s text.gcode 2>/dev/null || echo 0)" -lt $((mib * 1024 * 1024)) ]; do cat "$gcode" >> text.gcode; done
truncate -s "$((mib * 1024 * 1024))" text.gcode

"$dvi" -q key generate --out acme.pem
"$dvi" -q --key acme.pem init --consortium bench --partner acme --role oem ledger
git init -q --bare gitrepo
intoto=""
if command -v in-toto-run >/dev/null; then
    in-toto-keygen -t ed25519 itk >/dev/null 2>&1
    intoto=yes
else
    echo "seal.sh: in-toto-run not found (scripts/install-deps --bench): its rows are left out" >&2
fi

# Each timing starts with nothing of the script's own left to flush (the dossier copied
# just before would otherwise be written out inside the next tool's fsync).
secs() { local s e; sync; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN { print b - a }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
manifest() {  # a dossier whose model is $1
    cp -r "$src/examples/bracket" "m-$2"
    cp "$1" "m-$2/model/bracket.3mf"
    echo "m-$2/dossier.yaml"
}
seal_time() {  # seconds to seal a dossier whose model is $1 (the other files are ~2.6 MB)
    local m
    m=$(manifest "$1" "$2")
    sed -i "s/^revision: C$/revision: B$2/" "$m"
    [ -z "${3:-}" ] || printf '\nencryption:\n  files: [model, source]\n' >>"$m"
    secs "$dvi" -C ledger --key acme.pem seal "$m"
}

printf '%-14s %-22s %10s %10s\n' input tool seconds MB/s
for f in random.bin text.gcode; do
    size_mb=$(div "$(stat -c %s $f)" 1000000)
    cat "$f" > /dev/null  # warm the page cache for everyone
    t_sha=$(secs sha256sum "$f")
    t_git=$(secs git -C gitrepo hash-object -w "$T/$f")
    t_copy=$(secs dd if="$f" of=copy.bin bs=1M conv=fsync)
    rm -f copy.bin
    t_dvi=$(seal_time "$T/$f" "${f%%.*}")
    t_enc=$(seal_time "$T/$f" "${f%%.*}e" encrypted)
    rows=("sha256sum:$t_sha" "git hash-object -w:$t_git" "dd conv=fsync:$t_copy")
    if [ -n "$intoto" ]; then  # the same dossier's files as products of one signed step
        (cd "m-${f%%.*}" && find . -type f ! -name dossier.yaml | sort >../products.txt)
        t_toto=$(cd "m-${f%%.*}" && secs in-toto-run -n seal -k ../itk -t ed25519 -x -p $(cat ../products.txt))
        rows+=("in-toto-run:$t_toto")
    fi
    rows+=("dvi seal:$t_dvi" "dvi seal, encrypted:$t_enc")
    for row in "${rows[@]}"; do
        printf '%-14s %-22s %10.2f %10.0f\n' "$f" "${row%%:*}" "${row##*:}" "$(div "$size_mb" "${row##*:}")"
    done
    printf '%-14s %-22s %9sx %10s\n' "" "dvi vs sha256sum" "$(div "$t_sha" "$t_dvi")" "speed"
    printf '%-14s %-22s %9sx %10s\n' "" "dvi vs git hash-object" "$(div "$t_git" "$t_dvi")" "speed"
    [ -z "$intoto" ] || printf '%-14s %-22s %9sx %10s\n' "" "dvi vs in-toto-run" "$(div "$t_toto" "$t_dvi")" "speed"
    printf '%-14s %-22s %9sx %10s\n' "" "dvi vs dd conv=fsync" "$(div "$t_copy" "$t_dvi")" "speed"
    printf '%-14s %-22s %9sx %10s\n' "" "encrypted vs clear" "$(div "$t_dvi" "$t_enc")" "speed"
done
