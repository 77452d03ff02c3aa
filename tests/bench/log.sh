#!/usr/bin/env bash
# dvi log (every commit's SSH signature and record hash verified in-process) against
# stock git log --show-signature (ssh-keygen per commit), on the same ledger.
#   tests/bench/log.sh [build/cmd/dvi] [records, default 500]
# Not run by CTest.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
dvi=$(realpath "${1:-$src/build/cmd/dvi}")
n=${2:-500}
T=$(mktemp -d "${TMPDIR:-/tmp}/dvi-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
export DVI_TEST_DATE=2026-11-23T10:00:00Z DVI_DIR=$T/ledger
"$dvi" -q key generate --out acme.pem
"$dvi" -q key generate --out polyfil.pem
"$dvi" -q --key acme.pem init --consortium bench --partner acme --role oem ledger
"$dvi" -q roster add polyfil --role supplier --writer lab --pubkey polyfil.pem.pub
cp -r "$src/examples/bracket" b
manifests=()
for i in $(seq "$n"); do
    sed "s/^lot: PETG-2026-0117$/lot: BENCH-$i/" b/material-lot.yaml > "b/lot$i.yaml"
    manifests+=("b/lot$i.yaml")
done
s=$(date +%s.%N)
"$dvi" -q --key polyfil.pem seal "${manifests[@]}"
e=$(date +%s.%N)
"$dvi" roster allowed-signers > signers

secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); awk -v a="$s" -v b="$e" 'BEGIN { print b - a }'; }
t_seal=$(awk -v a="$s" -v b="$e" 'BEGIN { print b - a }')
t_dvi=$(secs "$dvi" log polyfil)
t_git=$(secs git -C ledger -c gpg.ssh.allowedSignersFile="$T/signers" log --show-signature refs/dvi/chains/polyfil/lab)
printf '%-40s %8s %12s\n' step seconds commits/s
printf '%-40s %8.2f %12.0f\n' "dvi seal ($n manifests, one process)" "$t_seal" "$(awk -v n="$n" -v t="$t_seal" 'BEGIN { print n / t }')"
printf '%-40s %8.2f %12.0f\n' "dvi log (verify $n commits)" "$t_dvi" "$(awk -v n="$n" -v t="$t_dvi" 'BEGIN { print n / t }')"
printf '%-40s %8.2f %12.0f\n' "git log --show-signature" "$t_git" "$(awk -v n="$n" -v t="$t_git" 'BEGIN { print n / t }')"
printf '%-40s %8sx\n' "dvi log vs git log --show-signature" "$(awk -v a="$t_git" -v b="$t_dvi" 'BEGIN { printf "%.1f", a / b }')"
