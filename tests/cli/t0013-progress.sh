#!/usr/bin/env bash
# Progress on stderr for long work — sealing large files, audit — only when stderr is a
# terminal (here a pseudo-terminal made by script(1)), and never with -q or redirected.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null || fail "script(1) is needed"
consortium ledger
export DVI_DIR=$T/ledger
cp -r "$EXAMPLE" b
head -c $((24 << 20)) /dev/urandom >b/model/big.3mf
sed 's|path: model/bracket.3mf|path: model/big.3mf|' b/dossier.yaml >b/big.yaml
sed 's|revision: C|revision: D|; s|path: model/bracket.3mf|path: model/big.3mf|' b/dossier.yaml >b/quiet.yaml
# on_tty <command...>: runs it with stdin, stdout and stderr on a pseudo-terminal.
on_tty() { script -qec "$(printf '%q ' "$@")" /dev/null; }

on_tty "$DVI" --key acme.pem seal b/big.yaml >tty.out 2>&1 || fail "seal on a terminal: $(cat tty.out)"
grep -q "sealing b/big.yaml: .* MiB of .* MiB (100%)" tty.out || fail "no progress on the terminal: $(cat -v tty.out)"
grep -q "^sealed dossier BRK-2041@C" <(tr '\r' '\n' <tty.out | sed 's/\x1b\[K//g') || fail "the result line"
pass "sealing a large file shows its progress on a terminal"

rm -rf ledger acme.pem* polyfil.pem* bureau7.pem* && consortium ledger
expect 0 "$DVI" --key acme.pem seal b/big.yaml
[ ! -s "$T/err" ] || fail "progress on a redirected stderr: $(cat -v "$T/err")"
on_tty "$DVI" -q --key acme.pem seal b/quiet.yaml >tty.out 2>&1 || fail "seal -q: $(cat tty.out)"
[ ! -s tty.out ] || fail "-q printed on the terminal: $(cat -v tty.out)"
pass "no progress when redirected or with -q"

on_tty "$DVI" audit >tty.out 2>&1 || fail "audit on a terminal: $(cat tty.out)"
grep -q "verifying commits: " tty.out || fail "no audit progress on the terminal"
expect 0 "$DVI" audit
grep -q "verifying" "$T/err" && fail "audit progress on a redirected stderr"
pass "audit shows its progress on a terminal only"
