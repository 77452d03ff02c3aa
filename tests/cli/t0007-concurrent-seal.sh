#!/usr/bin/env bash
# 8 dvi seal processes at once on one writer: one linear chain, every acknowledged
# record present, none lost.
. "$(dirname "$0")/lib.sh"
consortium ledger
export DVI_DIR=$T/ledger
cp -r "$EXAMPLE" b
for i in 1 2 3 4 5 6 7 8; do
    sed "s/^lot: PETG-2026-0117$/lot: PETG-2026-90$i/" b/material-lot.yaml > "b/lot$i.yaml"
done
pids=()
for i in 1 2 3 4 5 6 7 8; do
    "$DVI" --json --key polyfil.pem seal "b/lot$i.yaml" > "out$i.json" 2> "err$i.txt" &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || fail "seal $((i + 1)) exited $?: $(cat "err$((i + 1)).txt")"
done

ref=refs/dvi/chains/polyfil/lab
[ "$(git -C ledger rev-list --count $ref)" = 8 ] || fail "chain has $(git -C ledger rev-list --count $ref) commits"
[ "$(git -C ledger rev-list --merges --count $ref)" = 0 ] || fail "chain has merges"
[ "$(git -C ledger rev-list --max-parents=0 $ref | wc -l)" = 1 ] || fail "chain has several roots"
seqs=$(for i in 1 2 3 4 5 6 7 8; do python3 -c "import json; print(json.load(open('out$i.json'))['sealed'][0]['seq'])"; done | sort -n | tr '\n' ' ')
[ "$seqs" = "1 2 3 4 5 6 7 8 " ] || fail "positions are '$seqs', not 1..8"
for i in 1 2 3 4 5 6 7 8; do
    id=$(python3 -c "import json; print(json.load(open('out$i.json'))['sealed'][0]['record'])")
    expect 0 "$DVI" show "$id"
    stdout_has "PETG-2026-90$i"
done
expect 0 "$DVI" log polyfil
[ "$(grep -c 'material-lot' "$T/out")" = 8 ] || fail "log does not list 8 lots"
[ ! -e ledger/refs/dvi/chains/polyfil/lab.lock ] || fail "a ref lock was left behind"
pass "8 concurrent seals: linear chain of 8, all acknowledged records present"

# A .lock left by a writer that died mid-update is recovered, with a message.
touch -d '1 minute ago' ledger/refs/dvi/chains/polyfil/lab.lock
sed "s/^lot: PETG-2026-0117$/lot: PETG-2026-0999/" b/material-lot.yaml > b/lot9.yaml
expect 0 "$DVI" --key polyfil.pem seal b/lot9.yaml
stderr_has "dvi: warning: recovered a stale lock"
[ "$(git -C ledger rev-list --count $ref)" = 9 ] || fail "append after stale lock"
pass "stale ref lock recovered"
