#!/usr/bin/env bash
# dvi sync over path remotes: an OEM, a depot and two field units that print under their
# allocations while disconnected, then sync through the depot in both orders. Every
# ledger ends with the same refs, the OEM sees every print, and every commit verifies.
. "$(dirname "$0")/lib.sh"
keys acme polyfil depot unit7 unit8 spare
lot=polyfil/PETG-2026-0117

# The OEM founds the consortium and licenses 40 prints to the depot.
"$DVI" -q --key acme.pem init --consortium "Bracket consortium" --partner acme --writer desk --role oem oem
"$DVI" -q -C oem roster add polyfil --role supplier --writer lab --pubkey polyfil.pem.pub
"$DVI" -q -C oem roster add depot --role bureau --writer desk --pubkey depot.pem.pub
"$DVI" -q -C oem roster add unit7 --role field-unit --writer s5 --pubkey unit7.pem.pub --device "S5-0412:Original Prusa MINI"
"$DVI" -q -C oem roster add unit8 --role field-unit --writer k3 --pubkey unit8.pem.pub --device "K3-0077:Original Prusa i3 MK3S"
"$DVI" -q -C oem --key polyfil.pem seal "$EXAMPLE/material-lot.yaml"
"$DVI" -q -C oem --key acme.pem seal "$EXAMPLE/dossier.yaml"
genesis=$(git -C oem config dvi.genesis)
g=$("$DVI" --json -C oem --key acme.pem license grant --dossier BRK-2041@C --to depot --quota 40 --sublicense-depth 1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')

# The depot joins the OEM's ledger (every commit verified, genesis pinned) and allocates
# to each field unit's printer; the units join the depot's ledger.
expect 0 "$DVI" --key depot.pem init --join "$T/oem" --trust "$genesis" --partner depot --writer desk depot
stdout_has "every commit verified"
[ -x depot/hooks/pre-receive ] || fail "join did not install the pre-receive hook"
alloc() { "$DVI" --json -C depot --key depot.pem license allocate --from "$g" --to "$1" --quota "$2" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])'; }
a7=$(alloc unit7/s5 10)
a8=$(alloc unit8/k3 10)
"$DVI" -q --key unit7.pem init --join "$T/depot" --trust "$genesis" --partner unit7 --writer s5 unit7
# A plain `git fetch` in a joined ledger takes the partner's chains apart, never into the
# chains: a commit the depot's key did not sign, put on the depot's chain, moves nothing.
git clone -q --mirror depot forged
c=$(git -C forged rev-parse refs/dvi/chains/depot/desk)
f=$(git -C forged -c user.name=r -c user.email=r@x commit-tree -p "$c" -m "$(git -C forged log -1 --format=%B "$c")" "$c^{tree}")
git -C forged update-ref refs/dvi/chains/depot/desk "$f"
before=$(git -C unit7 rev-parse refs/dvi/chains/depot/desk)
git -C unit7 remote set-url origin "$T/forged"
git -C unit7 fetch -q origin
git -C unit7 remote set-url origin "$T/depot"
[ "$(git -C unit7 rev-parse refs/dvi/chains/depot/desk)" = "$before" ] || fail "git fetch moved a chain"
[ "$(git -C unit7 config remote.origin.fetch)" = "refs/dvi/chains/*:refs/remotes/origin/chains/*" ] || fail "origin's fetch refspec"
git -C unit7 rev-parse -q --verify refs/remotes/origin/chains/depot/desk >/dev/null || fail "git fetch keeps the partner's chains apart"
expect 0 "$DVI" -C unit7 audit
pass "a plain git fetch in a joined ledger moves no chain"
"$DVI" -q --key unit8.pem init --join "$T/depot" --trust "$genesis" --partner unit8 --writer k3 unit8
expect 1 "$DVI" --key spare.pem init --join "$T/depot" --trust sha256:$(printf 0%.0s {1..64}) --partner spare --writer x spare
[ ! -e spare ] || fail "a refused join left a directory"

# Offline for weeks: the units print; the OEM seals a deviation meanwhile.
for d in 2026-11-24 2026-11-30 2026-12-07; do
    DVI_TEST_DATE=${d}T08:00:00Z "$DVI" -q -C unit7 --key unit7.pem print-verify --license "$a7" --device S5-0412 --material-lot $lot --recipe mini-petg
done
for d in 2026-11-25 2026-12-01; do
    DVI_TEST_DATE=${d}T09:00:00Z "$DVI" -q -C unit8 --key unit8.pem print-verify --license "$a8" --device K3-0077 --material-lot $lot --recipe mk3s-petg
done
expect 1 "$DVI" -C unit8 --key unit8.pem print-verify --license "$a8" --device S5-0412 --material-lot $lot
"$DVI" -q -C oem --key acme.pem license grant --dossier BRK-2041@C --to depot --quota 5

# Two worlds from the same state: the units reach the depot in either order.
for w in A B; do mkdir "$w" && cp -a oem depot unit7 unit8 "$w/"; done
sync_ok() { expect 0 "$DVI" -C "$1" sync "$2"; }
(cd A && sync_ok unit7 "$T/A/depot" && sync_ok unit8 "$T/A/depot" && sync_ok depot "$T/A/oem" &&
    sync_ok unit7 "$T/A/depot" && sync_ok unit8 "$T/A/depot") || fail "world A"
(cd B && sync_ok unit8 "$T/B/depot" && sync_ok depot "$T/B/oem" && sync_ok unit7 "$T/B/depot" &&
    sync_ok depot "$T/B/oem" && sync_ok unit8 "$T/B/depot") || fail "world B"

refs() { git -C "$1" for-each-ref --format='%(refname) %(objectname)' refs/dvi/; }
refs A/oem > expected
[ "$(wc -l < expected)" = 5 ] || fail "expected 5 chains, got $(wc -l < expected)"
for w in A B; do for l in oem depot unit7 unit8; do
    refs "$w/$l" | cmp -s - expected || fail "refs of $w/$l differ from A/oem"
done; done
pass "4 ledgers x 2 sync orders: identical refs ($(wc -l < expected) chains)"

# The OEM sees every print, signed; every commit of every ledger verifies.
expect 0 "$DVI" --json -C B/oem license show "$a7"
[ "$(json_get '["used"]')" = 3 ] || fail "OEM sees $(json_get '["used"]') prints of unit7, not 3"
expect 0 "$DVI" --json -C B/oem license show "$a8"
[ "$(json_get '["used"]')" = 2 ] || fail "OEM sees $(json_get '["used"]') prints of unit8, not 2"
expect 0 "$DVI" --json -C B/oem log unit8
[ "$(json_get '["bad"]')" = 0 ] && [ "$(json_get '["commits_checked"]')" = 3 ] || fail "unit8's chain at the OEM"
"$DVI" -C A/unit7 roster allowed-signers > signers
for c in $(git -C A/unit7 for-each-ref --format='%(refname)' refs/dvi/chains/); do
    git -C A/unit7 -c gpg.ssh.allowedSignersFile="$T/signers" verify-commit "$c" 2>/dev/null || fail "git verify-commit $c"
done
git -C A/unit7 fsck --strict 2>/dev/null || fail "git fsck"
[ -z "$(ls -A A/unit7/dvi/incoming 2>/dev/null)" ] || fail "a quarantine was left behind"
pass "the OEM sees 3 + 2 prints made offline; every chain verifies with stock git"

# A second sync moves nothing and says so, in JSON too.
expect 0 "$DVI" --json -C A/unit7 sync "$T/A/depot"
[ "$(json_get '["fetched"]["records"]')" = 0 ] && [ "$(json_get '["pushed"]["chains"]')" = "[]" ] || fail "idle sync moved something"
[ "$(json_get '["fetched"]["chains"][0]["status"]')" = up-to-date ] || fail "status of an idle chain"
# A named git remote works as well as a path; join set origin.
expect 0 "$DVI" -C A/unit7 sync
stdout_has "already in step"
git -C A/unit7 remote add depot "$T/A/depot"
expect 0 "$DVI" -C A/unit7 sync depot --fetch-only
# --push-only offers ours and takes nothing: a new allocation reaches the unit.
"$DVI" -q -C A/depot --key depot.pem license allocate --from "$g" --to unit7/s5 --quota 2
expect 0 "$DVI" --json -C A/depot sync --push-only "$T/A/unit7"
[ "$(json_get '["pushed"]["chains"][0]["chain"]')" = depot/desk ] && [ "$(json_get '["pushed"]["chains"][0]["records"]')" = 1 ] ||
    fail "push-only did not offer the depot's chain"
[ "$(json_get '["fetched"]["chains"]')" = "[]" ] || fail "push-only fetched"
[ "$(git -C A/unit7 rev-parse refs/dvi/chains/depot/desk)" = "$(git -C A/depot rev-parse refs/dvi/chains/depot/desk)" ] ||
    fail "push-only did not land"
# Bad input: no such remote, conflicting options.
expect 2 "$DVI" -C A/unit7 sync "$T/nowhere"
stderr_is "dvi: error: no ledger at '$T/nowhere'
dvi: hint: give the path or URL of a partner's ledger"
expect 2 "$DVI" -C A/unit7 sync depot --bundle-in x.bundle
stderr_is "dvi: error: give a remote or bundle files, not both"
expect 2 "$DVI" -C A/unit7 sync --since x.bundle
stderr_is "dvi: error: --since is for --bundle-out"
# Only a ledger of this consortium is synced with: a plain git repository would take our
# chains unchecked, another consortium's would refuse them all without saying why.
git init -q --bare plain.git
before=$(snapshot plain.git)
expect 2 "$DVI" -C A/unit7 sync "$T/plain.git"
stderr_is "dvi: error: not a dvi ledger: '$T/plain.git' pins no consortium genesis
dvi: hint: give the path of a partner's ledger (made by 'dvi init')"
[ "$(snapshot plain.git)" = "$before" ] || fail "sync wrote into a plain repository"
mkdir empty-folder
expect 2 "$DVI" -C A/unit7 sync "$T/empty-folder"
stderr_has "dvi: hint: give the path of a partner's ledger (made by 'dvi init')"
"$DVI" -q --key spare.pem init --consortium Other --partner spare other-consortium
expect 2 "$DVI" -C A/unit7 sync "$T/other-consortium"
stderr_has "dvi: error: the ledger at '$T/other-consortium' is of another consortium (genesis sha256:"
pass "idle sync, named remotes, bad input"
# A bundle written to a pipe or a FIFO, as in `dvi sync --bundle-out /dev/stdout | ssh ...`:
# written in place (a rename would put a regular file where the FIFO was), the summary on
# stderr, and --json refused before anything is written, since both would go to stdout.
# stdout is a link of our own to /proc/self/fd/1: a regression replaces it, not /dev/stdout.
ln -s /proc/self/fd/1 stdout
"$DVI" -C A/depot sync --bundle-out stdout 2>piped.err | cat >piped.bundle
git bundle list-heads piped.bundle | grep -q refs/dvi/chains/depot/desk || fail "the piped bundle lacks the depot's chain"
grep -q "^wrote stdout: " piped.err || fail "the summary of a piped bundle is not on stderr: $(cat piped.err)"
expect 0 "$DVI" -C A/unit8 sync --bundle-in "$T/piped.bundle"
mkfifo fifo.bundle
timeout 20 cat fifo.bundle >from-fifo.bundle &  # no writer ever (a rename over it): fails, not hangs
reader=$!
expect 0 "$DVI" --json -C A/depot sync --bundle-out fifo.bundle
wait $reader || fail "nothing was written to the FIFO"
[ -p fifo.bundle ] || fail "the FIFO was replaced by a regular file"
cmp -s piped.bundle from-fifo.bundle || fail "the bundle read from the FIFO differs from the piped one"
[ "$(json_get '["bundle_out"]["bytes"]')" = "$(stat -c %s piped.bundle)" ] || fail "the bytes of a bundle written to a FIFO"
"$DVI" --json -C A/depot sync --bundle-out stdout >mixed.out 2>mixed.err && fail "--json with a bundle on stdout was accepted"
[ ! -s mixed.out ] && grep -qF "dvi: error: --json and a bundle written to standard output would mix there" mixed.err ||
    fail "--json with a bundle on stdout: $(cat mixed.err)"
# With --bundle-in too, what the import prints goes to stderr as well: stdout is the bundle's.
"$DVI" -C A/unit8 sync --bundle-in "$T/piped.bundle" --bundle-out stdout 2>both.err | cat >both.bundle
git -C A/unit7 bundle verify "$T/both.bundle" >/dev/null 2>&1 ||
    fail "the bundle piped after an import is not a bundle: $(head -c 300 both.bundle)"
grep -q "^took 0 records" both.err || fail "the import's summary is not on stderr: $(cat both.err)"
pass "bundles written to a pipe and to a FIFO in place; --json refused when they would mix"
