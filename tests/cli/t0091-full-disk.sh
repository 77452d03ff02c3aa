#!/usr/bin/env bash
# A full disk: seal and print-verify on a small tmpfs that runs out of space at every
# point of their writes (free space raised step by step until the command succeeds).
# Each failure exits 128 with "No space left on device" and the hint, and leaves refs and
# object store exactly as they were; the success after it is a normal append. Needs a
# tmpfs mount: as root, or in a user namespace (unshare -rm); skipped (77) otherwise.
if [ "${DVI_IN_NAMESPACE:-}" != 1 ] && [ "$(id -u)" != 0 ]; then
    DVI_IN_NAMESPACE=1 exec unshare -rm bash "$0" "$@" 2>/dev/null || exit 77
fi
. "$(dirname "$0")/lib.sh"
mkdir small
mount -t tmpfs -o size=24m,mode=0755 tmpfs small 2>/dev/null || { echo "skip: cannot mount a tmpfs"; exit 77; }
trap 'umount "$T/small" 2>/dev/null; rm -rf "$T"' EXIT
export DVI_DIR=$T/small/ledger
licensed "$DVI_DIR"
g=$(grant --to bureau7 --quota 1000)
a=$(allocate "$g" bureau7/s5 1000)
cp -r "$EXAMPLE" b
sed 's/^revision: C$/revision: D/' b/dossier.yaml > b/dossier-d.yaml

# fill_to <bytes>: leaves that much free space on the small file system.
fill_to() {
    rm -f small/fill
    local avail
    avail=$(df -B1 --output=avail small | tail -1)
    [ "$avail" -gt "$1" ] || fail "only $avail bytes free"
    fallocate -l $((avail - $1)) small/fill
}

# until_it_fits <step> <command...>: runs the command with 0, step, 2*step ... bytes free
# until it succeeds; every failure before must be a clean "no space" refusal.
until_it_fits() {
    local step=$1 free=0 failures=0 before
    shift
    before=$(snapshot "$DVI_DIR")
    while :; do
        fill_to "$free"
        local got=0
        "$@" >"$T/out" 2>"$T/err" || got=$?
        [ "$got" = 0 ] && break
        [ "$got" = 128 ] || fail "with $free bytes free: exit $got, expected 128 or 0"
        stderr_has "No space left on device"
        stderr_has "dvi: hint: free space on the file system that holds the ledger, then try again"
        [ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "with $free bytes free: the failed command changed the ledger"
        [ -z "$(ls -A "$DVI_DIR/dvi/stage" 2>/dev/null)" ] || fail "with $free bytes free: a private store was left"
        failures=$((failures + 1))
        free=$((free + step))
        [ $failures -lt 400 ] || fail "still failing with $free bytes free"
    done
    rm -f small/fill
    [ "$failures" -gt 2 ] || fail "only $failures failures before success: the steps miss the writes"
    echo "$failures"
}

n=$(until_it_fits 4096 "$DVI" --json --key bureau7.pem print-verify --license "$a" --device S5-0412 \
    --material-lot polyfil/PETG-2026-0117 --recipe mini-petg --serial FULL-1)
expect 0 "$DVI" show "$(python3 -c "import json; print(json.load(open('$T/out'))['record'])")"
pass "print-verify: $n clean refusals on a full disk (4 KiB steps), then recorded"

n=$(until_it_fits 16384 "$DVI" --json --key acme.pem seal b/dossier-d.yaml)
expect 0 "$DVI" show BRK-2041@D
pass "seal of a dossier: $n clean refusals on a full disk (16 KiB steps), then sealed"

# A model of 17 MiB is streamed into a pack of its own, deflated in blocks on every core
# (about 4 MiB stored): the disk fills under the thread that writes it.
cp -r "$EXAMPLE" big
while [ "$(stat -c %s big/model/bracket.3mf)" -lt $((17 << 20)) ]; do cat "$EXAMPLE/recipes/mk3s/bracket.gcode" >> big/model/bracket.3mf; done
sed 's/^revision: C$/revision: E/' big/dossier.yaml > big/dossier-e.yaml
n=$(until_it_fits 524288 "$DVI" --json --key acme.pem seal big/dossier-e.yaml)
expect 0 "$DVI" show BRK-2041@E
pass "seal of a 17 MiB model: $n clean refusals on a full disk (512 KiB steps), then sealed"

expect 0 "$DVI" audit
git -C "$DVI_DIR" fsck --no-dangling --no-progress 2>"$T/err" || fail "git fsck: $(cat "$T/err")"
[ -z "$(git -C "$DVI_DIR" fsck --no-progress 2>&1 | grep dangling)" ] || fail "the failed commands left dangling objects"
pass "audit and git fsck clean, no dangling object"
