#!/usr/bin/env bash
# dvi init: a consortium's genesis, and joining by cloning with the genesis pinned.
. "$(dirname "$0")/lib.sh"
keys acme unit7

expect 2 "$DVI" init --consortium C --partner acme ledger
stderr_is "dvi: error: no signing key
dvi: hint: give --key <file> or set DVI_KEY; create one with 'dvi key generate --out <file>'"
[ ! -e ledger ] || fail "a failed init left a directory"

expect 2 "$DVI" --key acme.pem init --consortium C --partner ACME ledger
stderr_is "dvi: error: invalid partner id 'ACME'
dvi: hint: use lower-case letters, digits, '-' and '_' (at most 63)"
[ ! -e ledger ] || fail "a failed init left a directory"

expect 2 "$DVI" --key acme.pem init --consortium C --partner acme --role wizard ledger
stderr_is "dvi: error: unknown role 'wizard'"

expect 0 "$DVI" --json --key acme.pem init --consortium "Bracket consortium" --partner acme --writer desk --role oem ledger
genesis=$(json_get '["genesis"]')
[ "$(git -C ledger rev-parse --is-bare-repository)" = true ] || fail "ledger is not bare"
[ "$(git -C ledger config dvi.genesis)" = "$genesis" ] || fail "genesis not pinned in config"
[ "$(git -C ledger rev-parse HEAD)" = "$(git -C ledger rev-list --max-parents=0 refs/dvi/chains/acme/desk)" ] \
    || fail "HEAD is not the genesis commit"
# The genesis record is a blob whose SHA-256 is its id.
blob=$(git -C ledger ls-tree -r refs/dvi/chains/acme/desk --name-only | grep '^records/roster/')
[ "sha256:$(git -C ledger cat-file blob "refs/dvi/chains/acme/desk:$blob" | sha256sum | cut -d' ' -f1)" = "$genesis" ] \
    || fail "genesis blob does not hash to its id"
pass "init creates a bare ledger whose genesis is pinned"

mkdir full && touch full/x
expect 2 "$DVI" --key acme.pem init --consortium C --partner acme full
stderr_is "dvi: error: cannot create ledger 'full': it exists and is not empty"

# Join from a path: clone, pin, print the join request.
expect 0 "$DVI" --key unit7.pem init --join ledger --partner unit7 --writer s5 --trust "$genesis" unit-ledger
stdout_has "genesis $genesis verified"
stdout_has "dvi roster add unit7 --role <role> --writer s5 --pubkey '$(cut -d' ' -f1-2 unit7.pem.pub)'"
[ "$(git -C unit-ledger rev-parse refs/dvi/chains/acme/desk)" = "$(git -C ledger rev-parse refs/dvi/chains/acme/desk)" ] \
    || fail "joined ledger lacks the authority chain"
[ "$(git -C unit-ledger rev-parse HEAD)" = "$(git -C ledger rev-parse HEAD)" ] || fail "joined HEAD is not the genesis commit"
# From a URL: libgit2's transports (file:// here; git:// and ssh:// in the sync tests).
expect 0 "$DVI" --key unit7.pem init --join "file://$T/ledger" --partner unit7 --writer s5 --trust "$genesis" url-ledger
[ "$(git -C url-ledger rev-parse refs/dvi/chains/acme/desk)" = "$(git -C ledger rev-parse refs/dvi/chains/acme/desk)" ] \
    || fail "join from a file:// URL"
pass "join with --trust, from a path and from a URL"

# Trust on first use is said out loud; a wrong genesis is refused and nothing is left.
expect 0 "$DVI" --json --key unit7.pem init --join "$T/ledger" --partner unit7 --writer s5 tofu
[ "$(json_get '["trusted_on_first_use"]')" = true ] || fail "TOFU not reported"
other=sha256:$(printf '%064d' 0)
expect 1 "$DVI" --key unit7.pem init --join ledger --partner unit7 --writer s5 --trust "$other" wrong
stderr_has "descends from genesis $genesis, not the trusted $other"
[ ! -e wrong ] || fail "a refused join left a directory"
mkdir empty
expect 2 "$DVI" --key unit7.pem init --join empty --partner unit7 --writer s5 nothing
[ ! -e nothing ] || fail "a failed join left a directory"
pass "TOFU reported, wrong genesis refused, nothing left behind"

expect 129 "$DVI" init --consortium
expect 2 "$DVI" --key acme.pem init --partner acme x
stderr_is "dvi: error: give either --consortium <name> or --join <source>"
