#!/usr/bin/env bash
# Sealing a 1 GiB artifact streams it: peak memory stays far below the file's size,
# and the stored blob hashes to what the record claims.
. "$(dirname "$0")/lib.sh"
consortium ledger
export DVI_DIR=$T/ledger
cp -r "$EXAMPLE" b
# Incompressible data would take minutes to deflate; the point here is memory, so the
# file repeats one random MiB (the benchmark script measures throughput on random data).
head -c 1048576 /dev/urandom > mib
for i in $(seq 1024); do cat mib; done > b/model/big.3mf
size=$(stat -c %s b/model/big.3mf)
[ "$size" = 1073741824 ] || fail "test file is $size bytes"
sed 's|path: model/bracket.3mf|path: model/big.3mf|' b/dossier.yaml > b/big.yaml
python3 - "$DVI" <<'PY' > rss.txt || fail "seal failed: $(cat rss.txt)"
import resource, subprocess, sys
r = subprocess.run([sys.argv[1], "-q", "--key", "acme.pem", "seal", "b/big.yaml"], capture_output=True, text=True)
if r.returncode != 0:
    print(r.stderr); sys.exit(1)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB
PY
peak_kib=$(cat rss.txt)
echo "peak RSS sealing 1 GiB: $((peak_kib / 1024)) MiB"
# AddressSanitizer's shadow memory and quarantine add their own overhead.
limit_mib=64
[ -z "${DVI_SANITIZED:-}" ] || limit_mib=256
[ "$peak_kib" -lt $((limit_mib * 1024)) ] || fail "peak RSS $((peak_kib / 1024)) MiB is not far below 1 GiB"
sha=$(sha256sum b/model/big.3mf | cut -d' ' -f1)
got=$(git -C ledger cat-file blob "refs/dvi/chains/acme/desk:artifacts/${sha:0:2}/$sha" | sha256sum | cut -d' ' -f1)
[ "$got" = "$sha" ] || fail "stored blob hashes to $got"
pass "1 GiB sealed with peak RSS $((peak_kib / 1024)) MiB"

# Stored as a pack of its own (16 MiB and more), kept out of repacking, that stock git
# reads: one blob, no loose copy, stored rather than deflated (its first MiB, random,
# does not compress), so a few bytes more than the file.
blob=$(git -C ledger rev-parse "refs/dvi/chains/acme/desk:artifacts/${sha:0:2}/$sha")
[ ! -e "ledger/objects/${blob:0:2}/${blob:2}" ] || fail "the 1 GiB blob is also loose"
own=""
for idx in ledger/objects/pack/*.idx; do
    git show-index <"$idx" | grep -q " $blob " && own=${idx%.idx}
done
[ -n "$own" ] || fail "no pack holds the 1 GiB blob"
[ -e "$own.keep" ] || fail "the 1 GiB blob's pack is not kept"
[ "$(git show-index <"$own.idx" | wc -l)" = 1 ] || fail "the 1 GiB blob's pack holds more"
packed=$(stat -c %s "$own.pack")
[ "$packed" -gt "$size" ] && [ "$packed" -lt $((size + 1024 * 1024)) ] || fail "the pack of the 1 GiB blob is $packed bytes"
git verify-pack "$own.idx" >verify.txt 2>&1 || fail "git verify-pack: $(cat verify.txt)"
pass "the 1 GiB blob: a kept pack of its own, stored ($packed bytes), git verify-pack clean"
