#!/usr/bin/env bash
# The whole flow on the bundled example part (examples/bracket) in a temporary consortium
# ledger: an OEM that founds it, a filament supplier and a print bureau.
#   examples/demo.sh [path/to/dvi]      (default: build/cmd/dvi)
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
for k in acme polyfil bureau7-desk bureau7-s5; do run "$dvi" -q key generate --out "keys/$k.pem"; done

step "The OEM founds the consortium; its key signs the genesis roster"
run "$dvi" --key keys/acme.pem init --consortium "Bracket consortium" --partner acme --writer desk --role oem ledger

step "It admits the supplier and the bureau with its two printers"
run "$dvi" roster add polyfil --role supplier --writer lab --pubkey keys/polyfil.pem.pub
run "$dvi" roster add bureau7 --role bureau --writer desk --pubkey keys/bureau7-desk.pem.pub \
    --device "S5-0412:Original Prusa MINI" --device "K3-0077:Original Prusa i3 MK3S"
run "$dvi" roster add bureau7 --writer s5 --pubkey keys/bureau7-s5.pem.pub
run "$dvi" roster list

step "The supplier seals its PETG lot with the EN 10204 3.1 certificate"
run "$dvi" --key keys/polyfil.pem seal "$here/bracket/material-lot.yaml"

step "The OEM seals the dossier of BRK-2041 rev C: model, recipes for two printers, plans"
run "$dvi" --key keys/acme.pem seal "$here/bracket/dossier.yaml"

step "The OEM licenses 20 prints to the bureau; the bureau allocates 10 to its printer agent"
grant=$("$dvi" --json --key keys/acme.pem license grant --dossier BRK-2041@C --to bureau7 --quota 20 \
    --not-after 2027-06-30 | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
echo "\$ dvi license grant --dossier BRK-2041@C --to bureau7 --quota 20 --not-after 2027-06-30  # -> $grant"
alloc=$("$dvi" --json --key keys/bureau7-desk.pem license allocate --from "$grant" --to bureau7/s5 --quota 10 \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
echo "\$ dvi license allocate --from ${grant:7:12} --to bureau7/s5 --quota 10  # -> $alloc"

step "The printer agent checks and records each job, and hands over the sealed G-code"
run "$dvi" --key keys/bureau7-s5.pem print-verify --license "${alloc:7:12}" --device K3-0077 \
    --material-lot polyfil/PETG-2026-0117 --serial BRK-2026-00001 --output job-00001.gcode
run "$dvi" --key keys/bureau7-s5.pem print-verify --license "${alloc:7:12}" --device S5-0412 \
    --material-lot polyfil/PETG-2026-0117 --serial BRK-2026-00002 -- cp {} job-00002.gcode
echo "(a G-code re-sliced with another infill is not the sealed file:)"
run "$dvi" --key keys/bureau7-s5.pem print-verify --license "${alloc:7:12}" --device K3-0077 \
    --material-lot polyfil/PETG-2026-0117 --file "$here/bracket/recipes/mk3s/bracket-infill40.gcode" || true
echo "(nor may a lot in quarantine be used without an OEM deviation:)"
run "$dvi" --key keys/polyfil.pem seal "$here/bracket/material-lot-quarantine.yaml"
run "$dvi" --key keys/bureau7-s5.pem print-verify --license "${alloc:7:12}" --device S5-0412 \
    --material-lot polyfil/PETG-2026-0131 || true
run "$dvi" license show "${grant:7:12}"

step "Offline: the printer's own copy of the ledger travels by USB stick, both ways"
mkdir -p stick
genesis=$(git -C ledger config dvi.genesis)
run "$dvi" sync --bundle-out stick/ledger.bundle
run "$dvi" --key keys/bureau7-s5.pem init --join stick/ledger.bundle --trust "$genesis" --partner bureau7 --writer s5 printer
run "$dvi" -C printer --key keys/bureau7-s5.pem print-verify --license "${alloc:7:12}" --device S5-0412 \
    --material-lot polyfil/PETG-2026-0117 --serial BRK-2026-00003 --output job-00003.gcode
run "$dvi" -C printer sync --bundle-out stick/printer.bundle --since stick/ledger.bundle
run "$dvi" sync --bundle-in stick/printer.bundle
run "$dvi" license show "${alloc:7:12}"

step "Need to know: rev D's model and recipes sealed encrypted; the key travels with the licence"
cp -r "$here/bracket" part-d
sed -i 's/^revision: C$/revision: D/' part-d/dossier.yaml
printf '\nencryption:\n  files: [model, source]\n  recipes: true\n' >>part-d/dossier.yaml
tail -3 part-d/dossier.yaml
echo "(rev D holds rev C's files, sealed in clear above: a real OEM seals its files encrypted only)"
run "$dvi" --key keys/acme.pem seal part-d/dossier.yaml
grant_d=$("$dvi" --json --key keys/acme.pem license grant --dossier BRK-2041@D --to bureau7 --quota 5 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
echo "\$ dvi license grant --dossier BRK-2041@D --to bureau7 --quota 5  # -> $grant_d (key wrapped for bureau7's writers)"
alloc_d=$("$dvi" --json --key keys/bureau7-desk.pem license allocate --from "$grant_d" --to bureau7/s5 --quota 2 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
echo "\$ dvi license allocate --from ${grant_d:7:12} --to bureau7/s5 --quota 2  # -> $alloc_d (re-wrapped for s5)"
echo "(the agent decrypts in memory after every check; the command reads a memory file, not a file on disk:)"
run "$dvi" --key keys/bureau7-s5.pem print-verify --license "${alloc_d:7:12}" --device S5-0412 \
    --material-lot polyfil/PETG-2026-0117 --serial BRK-2026-00004 -- sha256sum {}
run sha256sum "$here/bracket/recipes/mini/bracket.gcode"

step "Trusted time: the OEM anchors every chain's head, the bureau co-signs it"
anchor=$("$dvi" --json --key keys/acme.pem anchor | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
printf '$ %s --key keys/acme.pem anchor\n%s\n' "$dvi" "$anchor"
run "$dvi" --key keys/bureau7-desk.pem anchor --cosign "${anchor:7:12}"
yesterday=$(date -u -d '1 day ago' +%Y-%m-%dT%H:%M:%SZ)
printf '# a printer clock set back a day is refused, whatever the licence says\n'
DVI_TEST_DATE=$yesterday run "$dvi" --key keys/bureau7-s5.pem print-verify --license "${alloc:7:12}" \
    --device S5-0412 --material-lot polyfil/PETG-2026-0117 --dry-run || true

step "The auditor's report: every chain replayed, quotas summed across chains"
run "$dvi" audit

step "The ledger, every commit verified"
run "$dvi" log

step "The sealed dossier"
run "$dvi" show BRK-2041@C

step "Part BRK-2026-00002's passport: one file that proves it, checked without the ledger"
run "$dvi" passport --output BRK-2026-00002.passport.tar BRK-2026-00002
(unset DVI_DIR && cd / && run "$dvi" passport verify --trust "$genesis" "$work/BRK-2026-00002.passport.tar")

step "Stock git verifies every signature with the roster's allowed-signers file"
"$dvi" roster allowed-signers > allowed_signers
for ref in $(git -C ledger for-each-ref --format='%(refname)' refs/dvi/chains); do
    printf '$ git verify-commit %s\n' "$ref"
    git -C ledger -c gpg.ssh.allowedSignersFile="$work/allowed_signers" verify-commit "$ref"
done

printf '\nledger: %s (keys in %s/keys)\n' "$work/ledger" "$work"
