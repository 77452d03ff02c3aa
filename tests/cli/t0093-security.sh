#!/usr/bin/env bash
# Secrets and hostile input: no passphrase or private key byte in any output, --json,
# error or ledger object; bundle ref names that try to leave refs/dvi/chains; a record
# "decompression bomb" (64 MiB of JSON in a 70 KiB bundle, properly signed by a writer of
# the roster) refused before it is inflated, in bounded memory, with nothing written; the
# same bomb, and a commit bomb, put in a ledger by stock git and met by the audit.
. "$(dirname "$0")/lib.sh"

# --- secrets
export DVI_KEY_PASSPHRASE='Str0ng-Passphrase-Never-Shown'
"$DVI" -q key generate --passphrase --out acme.pem
keys polyfil
{
    "$DVI" --key acme.pem init --consortium C --partner acme --writer desk --role oem L
    export DVI_DIR=$T/L
    "$DVI" --json key show acme.pem
    "$DVI" roster add polyfil --role supplier --writer lab --pubkey polyfil.pem.pub
    "$DVI" --json --key polyfil.pem seal "$EXAMPLE/material-lot.yaml"
    "$DVI" --json seal "$EXAMPLE/dossier.yaml"
    "$DVI" --json anchor
    "$DVI" --json license list
    "$DVI" --json log
    "$DVI" --json audit
    "$DVI" roster allowed-signers
    "$DVI" sync --bundle-out b.bundle
    DVI_KEY_PASSPHRASE=wrong "$DVI" --json anchor || true
    DVI_KEY_PASSPHRASE=wrong "$DVI" anchor || true
    "$DVI" --key missing.pem anchor || true
} > all.out 2>&1
unset DVI_KEY_PASSPHRASE
# The secrets: the passphrase, the encrypted PEM body, and the private key itself (its
# 32 bytes in hex and base64, from OpenSSL).
priv_hex=$(openssl pkey -in "$T/acme.pem" -passin pass:Str0ng-Passphrase-Never-Shown -text -noout |
    sed -n '/^priv:/,/^pub:/p' | grep -v '^[a-z]' | tr -d ' :\n')
[ ${#priv_hex} = 64 ] || fail "could not read the private key with openssl"
priv_b64=$(printf '%s' "$priv_hex" | xxd -r -p | base64)
for f in L/config L/dvi/*; do [ -f "$f" ] && cat "$f"; done > ledger-files
git -C L cat-file --batch-all-objects --batch > ledger-objects
for secret in Str0ng-Passphrase-Never-Shown "$priv_hex" "${priv_b64%=}" $(sed -n '2,4p' acme.pem); do
    for f in all.out ledger-files ledger-objects b.bundle; do
        if grep -qaF -- "$secret" "$f"; then fail "a secret (${secret:0:12}...) appears in $f"; fi
    done
done
grep -q "wrong passphrase" all.out || fail "the wrong passphrase was not reported"
pass "no passphrase or private key material in $(wc -l < all.out) lines of output, every ledger object ($(git -C L count-objects | cut -d" " -f1)), the bundle"

# --- bundle refs that try to leave refs/dvi/chains
head=$(git -C L rev-parse refs/dvi/chains/acme/desk)
before=$(snapshot L)
for name in "refs/dvi/chains/../../../evil" "refs/dvi/chains/acme/desk/../../../../x" "refs/dvi/chains/ACME/desk" \
    "refs/dvi/chains/acme" "refs/heads/../dvi/chains/acme/desk"; do
    { printf '# v2 git bundle\n%s %s\n\n' "$head" "$name"; sed '1,/^$/d' b.bundle; } > evil.bundle
    expect 2 "$DVI" sync --bundle-in evil.bundle
    stderr_is "dvi: error: bundle 'evil.bundle' carries no dvi chains (refs/dvi/chains/*)"
done
[ "$(snapshot L)" = "$before" ] && [ ! -e evil ] && [ ! -e L/evil ] && [ ! -e x ] || fail "a hostile ref name wrote something"
pass "5 ref names outside refs/dvi/chains/<partner>/<writer> ignored, nothing written"

# peak <status> <command...>: runs it like expect (stdout in $T/out, stderr in $T/err),
# and sets $rss to its peak resident memory in MB.
peak() {
    local want=$1
    shift
    local got
    read -r rss got < <(python3 -c '
import resource, subprocess, sys
p = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1] + "/out", "w"), stderr=open(sys.argv[1] + "/err", "w"))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, p.returncode)' "$T" "$@")
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}

# --- a record bomb, signed by a writer the roster knows
cp -a L sender
"$DVI" -q key export polyfil.pem --out polyfil.ssh
fpr=$("$DVI" --json key show polyfil.pem | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
python3 -c "import json; json.dump({'lot': 'BOMB', 'note': '0' * (64 << 20)}, open('bomb.json', 'w'))"
python3 "$DVI_SOURCE_DIR/tests/cli/forge.py" "$T/sender" polyfil/lab "$T/polyfil.ssh" "$fpr" 2026-11-23T10:00:00Z \
    material-lot @bomb.json > /dev/null
git -C sender bundle create -q "$T/bomb.bundle" refs/dvi/chains/polyfil/lab 2>/dev/null
size=$(stat -c %s bomb.bundle)
[ "$size" -lt $((1 << 20)) ] || fail "the bomb bundle is $size bytes, not a bomb"
before=$(snapshot L)
peak 1 "$DVI" sync --bundle-in bomb.bundle
stdout_has "more than dvi ever writes (16777216)"
[ "$rss" -lt 48 ] || fail "importing the bomb took $rss MB"
[ "$(snapshot L)" = "$before" ] || fail "the refused bomb changed the ledger"
pass "a 64 MiB record in a $((size / 1024)) KiB bundle refused in $rss MB peak, nothing written"

# --- the same bomb fetched with stock git, which checks nothing, then audited: the audit
# reads every record and commit under a ceiling, and says what the bomb is.
cp -a L fetched
git -C fetched fetch -q "$T/sender" refs/dvi/chains/polyfil/lab:refs/dvi/chains/polyfil/lab
peak 1 "$DVI" -C fetched audit --full --jobs 2
stdout_has "more than dvi ever writes (16777216)"
[ "$rss" -lt 48 ] || fail "auditing the bomb took $rss MB"
pass "the bomb fetched by stock git: audit reports it in $rss MB peak"

# --- a commit bomb: a chain's head whose message is 64 MiB, put there with stock git.
cp -a L cbomb
head=$(git -C cbomb rev-parse refs/dvi/chains/acme/desk)
python3 -c "import sys; sys.stdout.write('x' * (64 << 20))" > big.msg
bomb=$(git -C cbomb -c user.name=Mallory -c user.email=m@example.com commit-tree "$head^{tree}" -p "$head" -F "$T/big.msg")
git -C cbomb update-ref refs/dvi/chains/acme/desk "$bomb"
[ "$(du -k cbomb/objects/${bomb:0:2}/${bomb:2} | cut -f1)" -lt 1024 ] || fail "the commit bomb is not small on disk"
peak 128 "$DVI" -C cbomb audit --full --jobs 2
stderr_has "dvi: error: chain 'acme/desk' points to $bomb: commit $bomb is "
stderr_has " bytes, more than dvi ever writes (1048576)"
[ "$rss" -lt 48 ] || fail "auditing the commit bomb took $rss MB"
pass "a 64 MiB commit put by stock git: the audit says so in $rss MB peak"

# --- the commit bomb in a bundle: sync refuses the chain and names why, in bounded memory.
git -C cbomb bundle create -q "$T/cbomb.bundle" refs/dvi/chains/acme/desk 2>/dev/null
[ "$(stat -c %s cbomb.bundle)" -lt $((1 << 20)) ] || fail "the commit bomb bundle is not small"
before=$(snapshot L)
peak 1 "$DVI" -C L sync --bundle-in cbomb.bundle
stdout_has "commit $bomb is "
stdout_has " bytes, more than dvi ever writes (1048576)"
[ "$rss" -lt 48 ] || fail "sync of the commit bomb took $rss MB"
[ "$(snapshot L)" = "$before" ] || fail "the refused commit bomb changed the ledger"
pass "the commit bomb in a bundle: sync refuses it by name in $rss MB peak, nothing written"

# --- a chain's ref that names a tree (stock git bundles any object): refused as such.
tree=$(git -C cbomb rev-parse "$head^{tree}")
git -C cbomb update-ref refs/dvi/chains/acme/desk "$tree"
git -C cbomb bundle create -q "$T/tree.bundle" refs/dvi/chains/acme/desk 2>/dev/null
before=$(snapshot L)
expect 1 "$DVI" -C L sync --bundle-in tree.bundle
stdout_has "acme/desk                REFUSED: the chain's ref names a tree, $tree, not a commit"
[ "$(snapshot L)" = "$before" ] || fail "the refused tree changed the ledger"
pass "a chain's ref naming a tree is refused as such, nothing written"
