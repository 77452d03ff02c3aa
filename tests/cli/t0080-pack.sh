#!/usr/bin/env bash
# Automatic packing (dvi.autoPack, as git gc --auto; off unless set): the loose objects of appends become
# packs, small packs merge, stock git fsck finds the ledger whole, audit stays clean, and
# concurrent appends lose nothing while a pack is written.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
lot=polyfil/PETG-2026-0117
g=$(grant --to bureau7 --quota 500 --not-before 2026-11-01 --not-after 2026-12-31)
a=$(allocate "$g" bureau7/s5 400)
loose() { git -C "$DVI_DIR" count-objects -v | awk '/^count:/ { print $2 }'; }
packs() { find "$DVI_DIR/objects/pack" -name '*.pack' | wc -l; }
pv() { "$DVI" -q --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --serial "$1"; }

# Off by default (unset): loose objects accumulate.
for i in $(seq 10); do pv "off-$i"; done
[ "$(packs)" = 0 ] || fail "packed without dvi.autoPack"
off=$(loose)
[ "$off" -gt 60 ] || fail "only $off loose objects after 10 prints"
pass "dvi.autoPack unset: no packing ($off loose objects)"

# On, with a small threshold: packed as they come, packs merged geometrically.
git -C "$DVI_DIR" config dvi.autoPack 64
for i in $(seq 60); do pv "on-$i"; done
[ "$(loose)" -lt 200 ] || fail "$(loose) loose objects after packing"
[ "$(packs)" -ge 1 ] && [ "$(packs)" -le 6 ] || fail "$(packs) packs"
git -C "$DVI_DIR" fsck --no-dangling --strict >fsck.txt 2>&1 || fail "git fsck: $(cat fsck.txt)"
expect 0 "$DVI" audit --full --json
[ "$(json_get '["summary"]["errors"]')" = 0 ] || fail "audit after packing"
[ "$(chain_length bureau7/s5)" = 70 ] || fail "chain length $(chain_length bureau7/s5)"
pass "packed: $(loose) loose objects, $(packs) packs, git fsck and audit clean"

# Concurrent appends while packs are written: nothing lost.
git -C "$DVI_DIR" config dvi.autoPack 16
for p in 1 2 3 4; do
    (for i in $(seq 15); do pv "c$p-$i" || echo "print c$p-$i failed" >>errors; done) &
done
wait
[ ! -s errors ] || fail "concurrent prints failed: $(cat errors)"
[ "$(chain_length bureau7/s5)" = 130 ] || fail "chain length $(chain_length bureau7/s5) after concurrent prints"
git -C "$DVI_DIR" fsck --no-dangling --strict >fsck.txt 2>&1 || fail "git fsck after concurrent packing: $(cat fsck.txt)"
expect 0 "$DVI" audit --full --json
[ "$(json_get '["summary"]["errors"]')" = 0 ] || fail "audit after concurrent packing"
used=$("$DVI" --json license show "$a" | python3 -c 'import json,sys; print(json.load(sys.stdin)["used"])')
[ "$used" = 130 ] || fail "used $used"
pass "4 concurrent printer processes x 15 with packing: 130 prints, fsck and audit clean"
