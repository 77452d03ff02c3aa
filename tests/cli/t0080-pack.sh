#!/usr/bin/env bash
# Automatic packing (dvi.autoPack, as git gc --auto: on by default, 0 turns it off): the
# loose objects of appends become packs of deltas, small packs merge, stock git fsck and
# verify-pack find the ledger whole, audit stays clean, and concurrent appends lose nothing
# while a pack is written.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
lot=polyfil/PETG-2026-0117
g=$(grant --to bureau7 --quota 500 --not-before 2026-11-01 --not-after 2026-12-31)
a=$(allocate "$g" bureau7/s5 400)
loose() { git -C "$DVI_DIR" count-objects -v | awk '/^count:/ { print $2 }'; }
# Packs of loose objects (an artifact of 16 MiB or more is a pack of its own, kept).
packs() {
    local n=0 p
    for p in "$DVI_DIR"/objects/pack/*.pack; do [ -e "$p" ] && [ ! -e "${p%.pack}.keep" ] && n=$((n + 1)); done
    echo $n
}
pv() { "$DVI" -q --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --serial "$1"; }

# Unset: git's gc.auto threshold (6700 loose objects), far from reached by 10 prints.
for i in $(seq 5); do pv "default-$i"; done
[ "$(packs)" = 0 ] || fail "packed below the default threshold"
# 0: off; loose objects accumulate.
git -C "$DVI_DIR" config dvi.autoPack 0
for i in $(seq 5); do pv "off-$i"; done
[ "$(packs)" = 0 ] || fail "packed with dvi.autoPack 0"
off=$(loose)
[ "$off" -gt 60 ] || fail "only $off loose objects after 10 prints"
pass "dvi.autoPack unset or 0: no packing below the threshold ($off loose objects)"

# On, with a small threshold: packed as they come, packs merged geometrically.
git -C "$DVI_DIR" config dvi.autoPack 64
for i in $(seq 60); do pv "on-$i"; done
[ "$(loose)" -lt 200 ] || fail "$(loose) loose objects after packing"
[ "$(packs)" -ge 1 ] && [ "$(packs)" -le 6 ] || fail "$(packs) packs"
git -C "$DVI_DIR" fsck --no-dangling --strict >fsck.txt 2>&1 || fail "git fsck: $(cat fsck.txt)"
git verify-pack -v "$DVI_DIR"/objects/pack/*.idx >verify.txt || fail "git verify-pack: $(cat verify.txt)"
# The record trees change by an entry a print: stored as deltas (lines with a base).
deltas=$(awk 'NF == 7 && $2 == "tree"' verify.txt | wc -l)
[ "$deltas" -ge 40 ] || fail "only $deltas trees stored as deltas"
expect 0 "$DVI" audit --full --json
[ "$(json_get '["summary"]["errors"]')" = 0 ] || fail "audit after packing"
[ "$(chain_length bureau7/s5)" = 70 ] || fail "chain length $(chain_length bureau7/s5)"
pass "packed: $(loose) loose objects, $(packs) packs, $deltas trees as deltas, git fsck, verify-pack and audit clean"

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

# The packing a print's append leaves due runs once the print is answered and its G-code
# handed over: the command finds the append's objects still loose, and they are packed
# when dvi returns. The same for each job of a batch.
git -C "$DVI_DIR" config dvi.autoPack 1
count_loose='git -C "$DVI_DIR" count-objects -v | awk "/^count:/ { print \$2 }" >>at-handover'
: >at-handover
"$DVI" -q --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --serial handover-1 \
    -- sh -c "$count_loose" || fail "print with a command"
[ "$(loose)" = 0 ] || fail "$(loose) loose objects after the print"
printf '{"serials": ["handover-2"]}\n{"serials": ["handover-3"]}\n' |
    "$DVI" --key bureau7.pem print-verify --batch --license "$a" --device S5-0412 --material-lot $lot \
        -- sh -c "$count_loose" >batch.out || fail "batch with a command: $(cat batch.out)"
[ "$(wc -l <at-handover)" = 3 ] || fail "the command ran $(wc -l <at-handover) times"
while read -r n; do [ "$n" -gt 0 ] || fail "packed before the hand-over: $(paste -sd' ' at-handover)"; done <at-handover
[ "$(loose)" = 0 ] || fail "$(loose) loose objects after the batch"
pass "packing after the hand-over: loose objects at each hand-over $(paste -sd' ' at-handover), none after"
