#!/usr/bin/env bash
# dvi key generate|show: PKCS#8 keys, passphrases, OpenSSH export, permission checks.
. "$(dirname "$0")/lib.sh"

expect 0 "$DVI" key generate --out a.pem
[ "$(stat -c %a a.pem)" = 600 ] || fail "key mode is $(stat -c %a a.pem), not 600"
head -1 a.pem | grep -qx -- "-----BEGIN PRIVATE KEY-----" || fail "not PKCS#8 PEM"
openssl pkey -in a.pem -noout -text | grep -q ED25519 || fail "openssl does not read it as Ed25519"
# The .pub line and fingerprint agree with ssh-keygen.
fp=$(ssh-keygen -lf a.pem.pub | awk '{print $2}')
expect 0 "$DVI" key show a.pem
stdout_has "$fp"
expect 0 "$DVI" --json key show a.pem
[ "$(json_get '["fingerprint"]')" = "$fp" ] || fail "json fingerprint differs from ssh-keygen's"
pass "generate/show agree with openssl and ssh-keygen"

# Never overwrite a key.
expect 2 "$DVI" key generate --out a.pem
stderr_is "dvi: error: refusing to overwrite 'a.pem'
dvi: hint: choose another path"

# Keys others may read are refused, as ssh refuses them.
chmod 644 a.pem
expect 2 "$DVI" key show a.pem
stderr_is "dvi: error: permissions 0644 for key 'a.pem' are too open
dvi: hint: a private key must be readable by its owner only: chmod 600 'a.pem'"
chmod 600 a.pem
pass "refuses to overwrite and refuses open permissions"

# Passphrase-protected keys.
DVI_KEY_PASSPHRASE=correct-horse expect 0 "$DVI" key generate --passphrase --out p.pem
head -1 p.pem | grep -qx -- "-----BEGIN ENCRYPTED PRIVATE KEY-----" || fail "not encrypted"
DVI_KEY_PASSPHRASE=correct-horse expect 0 "$DVI" key show p.pem
DVI_KEY_PASSPHRASE=wrong expect 2 "$DVI" key show p.pem
stderr_is "dvi: error: cannot load key 'p.pem': cannot decrypt key: wrong passphrase"
expect 2 setsid -w "$DVI" key show p.pem </dev/null
stderr_has "key is protected by a passphrase"
DVI_KEY_PASSPHRASE= expect 2 "$DVI" key generate --passphrase --out e.pem
stderr_is "dvi: error: an empty passphrase protects nothing
dvi: hint: give one, or leave out --passphrase"
[ ! -e e.pem ] || fail "a refused key generate wrote the key"
pass "passphrases"

# Both files or neither: a public key that cannot be written leaves no private key behind.
mkdir z.pem.pub
expect 2 "$DVI" key generate --out z.pem
stderr_is "dvi: error: cannot write 'z.pem.pub': it is a folder
dvi: hint: choose another --out"
[ ! -e z.pem ] || fail "key generate left the private key behind"
expect 2 "$DVI" --json key generate
stderr_is "dvi: error: --json prints a JSON document, and the key would be printed instead
dvi: hint: give --out <file>; the document then names the files"
[ ! -s "$T/out" ] || fail "--json key generate printed a key"
pass "key generate writes both files or neither"

# OpenSSH export: stock ssh-keygen reads it and derives the same public key.
expect 0 "$DVI" key generate --openssh --out o.key
ssh-keygen -y -f o.key > o.derived
[ "$(cut -d' ' -f1-2 o.derived)" = "$(cut -d' ' -f1-2 o.key.pub)" ] || fail "ssh-keygen derives another public key"
# An existing key exported: ssh-keygen derives the same public key, so stock tools sign
# as the same writer.
expect 0 "$DVI" key export a.pem --out a.ssh
[ "$(stat -c %a a.ssh)" = 600 ] || fail "export mode"
[ "$(ssh-keygen -y -f a.ssh | cut -d' ' -f1-2)" = "$(cut -d' ' -f1-2 a.pem.pub)" ] || fail "exported key differs"
expect 2 "$DVI" key export a.pem --out a.ssh
stderr_is "dvi: error: refusing to overwrite 'a.ssh'
dvi: hint: choose another path"
pass "OpenSSH export read by ssh-keygen"

expect 2 "$DVI" key show missing.pem
stderr_has "cannot read 'missing.pem'"
expect 129 "$DVI" key
expect 129 "$DVI" key generate --bogus
pass "errors and usage"
