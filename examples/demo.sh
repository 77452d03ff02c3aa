#!/usr/bin/env bash
# The whole flow on the bundled example part (examples/bracket) in a temporary consortium
# ledger: an OEM that founds it, a filament supplier and a print bureau.
#   examples/demo.sh [path/to/dvi]      (default: build/cmd/dvi)
# Later steps (licence, print-verify, anchor, sync, audit) extend this same script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dvi=$(realpath "${1:-$here/../build/cmd/dvi}")
[ -x "$dvi" ] || { echo "demo: no dvi binary at $dvi; build first" >&2; exit 2; }
work=${DVI_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/dvi-demo.XXXXXX")}
mkdir -p "$work/keys"
cd "$work"
if [ -t 1 ]; then
    step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    step() { printf '\n== %s\n' "$*"; }
fi
run() { printf '$ %s\n' "$*"; "$@"; }
unset DVI_DIR DVI_KEY
export DVI_DIR=$work/ledger

step "Keys: the OEM's licensing desk, the supplier's lab, the bureau's printer agent"
for k in acme polyfil bureau7; do run "$dvi" -q key generate --out "keys/$k.pem"; done

step "The OEM founds the consortium; its key signs the genesis roster"
run "$dvi" --key keys/acme.pem init --consortium "Bracket consortium" --partner acme --writer desk --role oem ledger

step "It admits the supplier and the bureau with its two printers"
run "$dvi" roster add polyfil --role supplier --writer lab --pubkey keys/polyfil.pem.pub
run "$dvi" roster add bureau7 --role bureau --writer s5 --pubkey keys/bureau7.pem.pub \
    --device "S5-0412:Original Prusa MINI" --device "K3-0077:Original Prusa i3 MK3S"
run "$dvi" roster list

step "The supplier seals its PETG lot with the EN 10204 3.1 certificate"
run "$dvi" --key keys/polyfil.pem seal "$here/bracket/material-lot.yaml"

step "The OEM seals the dossier of BRK-2041 rev C: model, recipes for two printers, plans"
run "$dvi" --key keys/acme.pem seal "$here/bracket/dossier.yaml"

step "The ledger, every commit verified"
run "$dvi" log

step "The sealed dossier"
run "$dvi" show BRK-2041@C

step "Stock git verifies every signature with the roster's allowed-signers file"
"$dvi" roster allowed-signers > allowed_signers
for ref in $(git -C ledger for-each-ref --format='%(refname)' refs/dvi/chains); do
    printf '$ git verify-commit %s\n' "$ref"
    git -C ledger -c gpg.ssh.allowedSignersFile="$work/allowed_signers" verify-commit "$ref"
done

printf '\nledger: %s (keys in %s/keys)\n' "$work/ledger" "$work"
