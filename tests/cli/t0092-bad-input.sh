#!/usr/bin/env bash
# The bad-input corpus (tests/bad-input/cases): manifests, keys, bundles, tokens, passports, ledger
# states and command lines that dvi must refuse, each with its exact exit status and
# first line of stderr, and nothing written to the ledger. The hostile files are made
# here from the example and real keys, so that each differs from a good one in one way.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
export LIC ALLOC T
LIC=$(grant --to bureau7 --quota 10)
ALLOC=$(allocate "$LIC" bureau7/s5 4)
mkdir bin bad
ln -s "$DVI" bin/dvi
export PATH="$T/bin:$PATH"

# Manifests: the example dossier and lot, each broken in one way (inside the example's
# folder, so that their file paths resolve).
cp -r "$EXAMPLE" b
D=b/dossier.yaml L=b/material-lot.yaml
sed 's/^title: .*/title: "Mounting bracket/' $D > b/syntax.yaml
sed 's/^  - path: model\/bracket.stl/\t- path: model\/bracket.stl/' $D > b/tab.yaml
sed 's/^revision: C$/revision: C\nrevision: D/' $D > b/dupkey.yaml
sed 's/^kind: dossier$/kind: spaceship/' $D > b/kind.yaml
sed '/^part_number:/d' $D > b/missing-field.yaml
sed 's/^revision: C$/revision: [C]/' $D > b/wrong-type.yaml
sed 's/^revision: C$/revision: C\ncolour: red/' $D > b/extra-field.yaml
sed 's|path: model/bracket.stl|path: /etc/passwd|' $D > b/absolute-path.yaml
sed 's|path: model/bracket.stl|path: ../../../../etc/passwd|' $D > b/escaping-path.yaml
ln -s /etc/passwd b/model/outside.stl
sed 's|path: model/bracket.stl|path: model/outside.stl|' $D > b/symlink-out.yaml
sed 's|path: model/bracket.stl|path: model/nope.stl|' $D > b/missing-file.yaml
sed 's|path: model/bracket.stl|path: model|' $D > b/directory-file.yaml
: > b/empty.yaml
{ cat $D; echo "---"; cat $D; } > b/two-documents.yaml
{ echo 'a: &a ["x","x","x","x","x","x","x","x","x"]'
  for i in b c d e f g h i j k; do echo "$i: &$i [*${prev:-a},*${prev:-a},*${prev:-a},*${prev:-a},*${prev:-a},*${prev:-a},*${prev:-a},*${prev:-a},*${prev:-a}]"; prev=$i; done
  echo "kind: dossier"; } > b/alias-bomb.yaml
sed 's/^title: Mounting bracket/title: Mounting bracket \xe9/; s/^revision: C$/revision: E/' $D > b/latin1.yaml
sed 's/^title: Mounting bracket/title: Mounting \x00bracket/; s/^revision: C$/revision: E/' $D > b/nul.yaml
sed 's/^quantity: "120 kg"$/quantity: 120.5/' $L > b/float.yaml
sed 's/^oem: acme$/oem: polyfil/' $D > b/other-oem.yaml
sed 's/^status: released$/status: maybe/' $L | sed 's/^lot: PETG-2026-0117$/lot: PETG-2026-0999/' > b/bad-status.yaml
head -c 2000000 /dev/zero | tr '\0' '#' > b/huge.yaml
sed 's/^lot: PETG-2026-0117$/lot: "..\/..\/x"/' $L > b/lot-path-name.yaml
# Escapes that decode to control characters; two manifests of one new revision.
sed 's/^title: .*/title: "Mounting \\e[31mbracket"/; s/^revision: C$/revision: E/' $D > b/escape-esc.yaml
sed 's/^title: .*/title: "Mounting \\u202Etekcarb"/; s/^revision: C$/revision: E/' $D > b/escape-bidi.yaml
sed 's/^revision: C$/revision: M4/' $D > b/m4a.yaml
sed 's/^revision: C$/revision: S1\nsupersedes: C/' $D > b/s1.yaml
sed 's/^revision: C$/revision: S2\nsupersedes: C/' $D > b/s2.yaml
sed 's/^manufactured: .*/manufactured: "2026-02-30"/; s/^lot: PETG-2026-0117$/lot: PETG-2026-0998/' $L > b/no-such-day.yaml
sed 's/^revision: C$/revision: M4/; s/^title: .*/title: Another bracket/' $D > b/m4b.yaml
# Nested deeper than yaml-cpp's own limit (which says only "bad file"), and than dvi's.
python3 -c "print('kind: dossier\\nx: ' + '[' * 3000 + ']' * 3000)" > b/deep-flow.yaml
python3 -c "print('kind: dossier\\nx: ' + '[' * 80 + ']' * 80)" > b/deep.yaml

# Keys.
cp acme.pem bad/open.pem && chmod 644 bad/open.pem
printf 'not a key\n' > bad/garbage.pem && chmod 600 bad/garbage.pem
cat acme.pem bureau7.pem > bad/two-keys.pem && chmod 600 bad/two-keys.pem
: > bad/empty-file
head -c 60 acme.pem > bad/truncated.pem && chmod 600 bad/truncated.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out bad/rsa.pem 2>/dev/null && chmod 600 bad/rsa.pem
DVI_KEY_PASSPHRASE=correct-horse dvi -q key generate --passphrase --out bad/locked.pem
dvi -q key generate --out bad/stranger.pem
mkdir bad/keydir
cp acme.pem.pub bad/public-0600.pem && chmod 600 bad/public-0600.pem
export DOSSIER STRANGER LONG_NAME
LONG_NAME=$(printf 'x%.0s' $(seq 300))  # longer than a file name may be (255 bytes)
DOSSIER=$(dvi --json show BRK-2041@C | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
STRANGER=$(dvi --json key show bad/stranger.pem | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')

# Bundles: a real one, then damaged copies.
dvi -q sync --bundle-out bad/real.bundle
size=$(stat -c %s bad/real.bundle)
head -c $((size / 2)) bad/real.bundle > bad/truncated-pack.bundle
cp bad/real.bundle bad/flipped.bundle
# One byte of the pack's data changed (0xff, or 0x00 where it was 0xff already: the
# bundle's bytes differ from run to run, and writing the same byte changed nothing).
byte=$(od -An -tu1 -j $((size - 100)) -N1 bad/real.bundle | tr -d ' ')
if [ "$byte" = 255 ]; then flip='\x00'; else flip='\xff'; fi
printf "$flip" | dd of=bad/flipped.bundle bs=1 seek=$((size - 100)) conv=notrunc status=none
cmp -s bad/real.bundle bad/flipped.bundle && fail "the flipped bundle is the real one"
head -c 3000 /dev/urandom > bad/random.bundle
printf '# v2 git bundle\nabc' > bad/truncated-header.bundle
{ printf '# v2 git bundle\n'; head -c 5000 /dev/zero | tr '\0' a; printf '\n\n'; } > bad/long-line.bundle
{ printf '# v2 git bundle\n-%s\n' "$(printf 'ab%.0s' {1..20})"; tail -c +17 bad/real.bundle; } > bad/prerequisite.bundle
git init -q plain && git -C plain -c user.name=x -c user.email=x@y commit -q --allow-empty -m x
git -C plain bundle create -q "$T/bad/heads.bundle" HEAD 2>/dev/null || git -C plain bundle create "$T/bad/heads.bundle" --all 2>/dev/null
keys other
dvi -q --key other.pem init --consortium Other --partner acme --writer desk --role oem other
dvi -q -C other sync --bundle-out bad/other-consortium.bundle

# Tokens and certificates.
printf 'garbage' > bad/garbage.tsr
: > bad/empty.tsr
tar -cf bad/plain.tar -C bad garbage.tsr
tar -cf bad/dotdot.tar --transform 's|^garbage.tsr$|../passport.json|' -C bad garbage.tsr
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout bad/plain.key -out bad/plain-cert.pem \
    -subj /CN=plain -days 30 -addext basicConstraints=critical,CA:FALSE -addext keyUsage=digitalSignature 2>/dev/null
printf 'x' > bad/request-exists.tsq
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout bad/ca.key -out bad/ca-cert.pem \
    -subj /CN=ca -days 30 2>/dev/null
dvi -q --key acme.pem roster trust-tsa bad/ca-cert.pem
cat bad/ca-cert.pem bad/plain-cert.pem > bad/two-certs.pem

# Ledger states: copies of the ledger, each damaged in one way.
cp -a ledger other-genesis && git -C other-genesis config dvi.genesis "sha256:$(printf 'ab%.0s' {1..32})"
cp -a ledger dangling-ref && echo 0123456789012345678901234567890123456789 > dangling-ref/refs/dvi/chains/acme/desk
cp -a ledger blob-ref && git -C blob-ref hash-object -w --stdin <<< x > blob-ref/refs/dvi/chains/acme/desk
cp -a ledger symbolic-ref && git -C symbolic-ref symbolic-ref refs/dvi/chains/acme/desk refs/dvi/chains/polyfil/lab
cp -a ledger symbolic-chain && git -C symbolic-chain symbolic-ref refs/dvi/chains/bureau7/s5 refs/dvi/chains/polyfil/lab
mkdir not-a-ledger
touch given.gcode

python3 "$DVI_SOURCE_DIR/tests/cli/bad_input.py" "$DVI_SOURCE_DIR/tests/bad-input/cases" "$DVI_DIR" > result ||
    { cat result; fail "$(tail -1 result)"; }
# BAD_INPUT_RECORD=1 prints what each case gives, to write a new case from.
if [ "${BAD_INPUT_RECORD:-}" = 1 ]; then cat result; exit 0; fi
pass "$(cat result)"
