#!/usr/bin/env bash
# dvi roster: admission, key usages, devices, revocation, and who may change the roster.
. "$(dirname "$0")/lib.sh"
consortium ledger
keys inspector1 rogue

expect 0 "$DVI" -C ledger --json roster list
[ "$(json_get '["version"]')" = 3 ] || fail "roster version is not 3"
[ "$(json_get '["partners"]["bureau7"]["devices"]["S5-0412"]["model"]')" = "Original Prusa MINI" ] || fail "device missing"
[ "$(json_get '["partners"]["acme"]["roles"]')" = '["authority", "oem"]' ] || fail "acme roles"
pass "roster list"

# A key restricted by usage.
expect 0 "$DVI" -C ledger roster add qc-lab --role inspector --writer bench --pubkey inspector1.pem.pub --usage inspection
expect 0 "$DVI" -C ledger --json roster list
[ "$(json_get '["partners"]["qc-lab"]["writers"]["bench"]["usages"]')" = '["inspection"]' ] || fail "usage not kept"
expect 2 "$DVI" -C ledger roster add qc-lab2 --role inspector --writer b --pubkey rogue.pem.pub --usage dossier
stderr_is "dvi: error: usage 'dossier' is not allowed by the roles of 'qc-lab2'"
pass "key usages"

# Only an authority may change the roster; nothing is written when refused.
before=$(snapshot ledger)
expect 1 "$DVI" -C ledger --key polyfil.pem roster add rogue --role oem --writer w --pubkey rogue.pem.pub
stderr_is "dvi: error: partner 'polyfil' (supplier) may not write roster records"
expect 1 "$DVI" -C ledger --key rogue.pem roster add rogue --role oem
stderr_has "dvi: error: key SHA256:"
stderr_has "is not in the consortium's roster"
# The same key cannot be two writers; a device cannot change hands.
expect 2 "$DVI" -C ledger roster add other --role bureau --writer w --pubkey polyfil.pem.pub
stderr_is "dvi: error: key $(ssh-keygen -lf polyfil.pem.pub | awk '{print $2}') already belongs to 'polyfil/lab'"
expect 2 "$DVI" -C ledger roster add other --role bureau --device "S5-0412:Original Prusa MINI"
stderr_is "dvi: error: device 'S5-0412' already belongs to 'bureau7'"
expect 2 "$DVI" -C ledger roster add bureau7 --device "S5-0412"
stderr_has "invalid --device 'S5-0412'"
expect 2 "$DVI" -C ledger roster add bureau7 --role bureau
stderr_is "dvi: error: nothing to change: partner 'bureau7' already has all of that"
[ "$(snapshot ledger)" = "$before" ] || fail "a refused roster change wrote something"
pass "refusals write nothing"

# Revocation records the cut-point: the revoked chain's head at that moment.
expect 0 "$DVI" -C ledger roster revoke bureau7/s5 --reason "printer agent compromised"
expect 0 "$DVI" -C ledger --json roster list
[ "$(json_get '["partners"]["bureau7"]["writers"]["s5"]["revoked"]["reason"]')" = "printer agent compromised" ] || fail "revocation"
[ "$(json_get '["partners"]["bureau7"]["writers"]["s5"]["revoked"]["after_seq"]')" = 0 ] || fail "cut-point"
expect 2 "$DVI" -C ledger roster revoke bureau7/s5 --reason again
stderr_is "dvi: error: writer 'bureau7/s5' is already revoked"
expect 2 "$DVI" -C ledger roster revoke acme/desk --reason x
stderr_is "dvi: error: an authority cannot revoke its own key
dvi: hint: another authority key must revoke it"
expect 2 "$DVI" -C ledger roster revoke polyfil --reason "$(head -c 1100 /dev/zero | tr '\0' x)"
stderr_is "dvi: error: --reason is too long (1100 bytes, at most 1024)"
expect 129 "$DVI" -C ledger roster revoke polyfil
pass "revocation"

# allowed-signers: stock git verifies every roster commit.
"$DVI" -C ledger roster allowed-signers > signers
[ "$(wc -l < signers)" = 4 ] || fail "expected 4 signers"
for c in $(git -C ledger rev-list refs/dvi/chains/acme/desk); do
    git -C ledger -c gpg.ssh.allowedSignersFile="$T/signers" verify-commit "$c" 2>/dev/null || fail "git verify-commit $c"
done
pass "git verify-commit accepts every roster commit"
