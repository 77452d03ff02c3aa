#!/usr/bin/env bash
# dvi sync over the network: a real `git daemon` (git://), a real `sshd` (ssh://) and
# git's own `git http-backend` behind TLS (https://) on loopback ports, serving ledgers
# whose pre-receive hook verifies every push with dvi. Host keys are checked against
# known_hosts, TLS certificates against the system's CAs or SSL_CERT_FILE; an unknown host
# or CA is refused.
. "$(dirname "$0")/lib.sh"
[ -x /usr/lib/git-core/git-daemon ] || fail "git daemon is missing (scripts/install-deps installs it)"
[ -x /usr/sbin/sshd ] || fail "sshd is missing: apt-get install openssh-server (scripts/install-deps does)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
# wait_for <what> <command...>: retries for up to 10 s.
wait_for() {
    local what=$1
    shift
    for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    fail "$what did not come up"
}

licensed srv/oem
g=$(DVI_DIR=srv/oem grant --to bureau7 --quota 20)
genesis=$(git -C srv/oem config dvi.genesis)

# git://
gport=$(free_port)
/usr/lib/git-core/git-daemon --reuseaddr --listen=127.0.0.1 --port="$gport" --base-path="$T/srv" --export-all \
    --enable=receive-pack "$T/srv" 2>"$T/daemon.log" &
pids+=($!)
wait_for "git daemon" git ls-remote "git://127.0.0.1:$gport/oem"
expect 0 "$DVI" --key bureau7desk.pem init --join "git://127.0.0.1:$gport/oem" --trust "$genesis" \
    --partner bureau7 --writer desk bureau
stdout_has "every commit verified"
a=$(DVI_DIR=bureau allocate "$g" bureau7/s5 5)
expect 0 "$DVI" -C bureau sync
stdout_has "bureau7/desk             new chain, 1 records (to position 1)"
[ "$(git -C srv/oem rev-parse refs/dvi/chains/bureau7/desk)" = "$(git -C bureau rev-parse refs/dvi/chains/bureau7/desk)" ] ||
    fail "push over git:// did not land"
"$DVI" -q -C srv/oem roster add inspecto --role inspector
expect 0 "$DVI" --json -C bureau sync "git://127.0.0.1:$gport/oem" --fetch-only
[ "$(json_get '["fetched"]["records"]')" = 1 ] || fail "fetch over git://"
# A chain the roster does not allow, pushed with stock git, is turned away by the hook.
cp -a bureau forged
"$DVI" -q key generate --openssh --out rogue
head=$(git -C forged rev-parse refs/dvi/chains/bureau7/desk)
bad=$(git -C forged -c user.name=r -c user.email=r@x -c gpg.format=ssh -c user.signingkey="$T/rogue" \
    commit-tree -S -m "$(git -C forged log -1 --format=%B "$head")" -p "$head" "$head^{tree}")
git -C forged update-ref refs/dvi/chains/bureau7/desk "$bad"
expect 1 git -C forged push "git://127.0.0.1:$gport/oem" refs/dvi/chains/bureau7/desk
stderr_has "dvi: error: chain 'bureau7/desk' refused: commit $bad at position 2"
[ "$(git -C srv/oem rev-parse refs/dvi/chains/bureau7/desk)" = "$head" ] || fail "the hook let a forged commit in"
pass "git daemon: join, push through the hook, fetch; a forged push refused"

# ssh://
sport=$(free_port)
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/client"
cp client.pub authorized_keys
chmod 600 authorized_keys
mkdir -p /run/sshd 2>/dev/null || true
cat > sshd_config <<EOF
Port $sport
ListenAddress 127.0.0.1
HostKey $T/hostkey
AuthorizedKeysFile $T/authorized_keys
PidFile $T/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
EOF
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
pids+=($!)
wait_for "sshd" ssh-keyscan -p "$sport" 127.0.0.1
ssh-keyscan -H -p "$sport" 127.0.0.1 2>/dev/null > known_hosts
user=$(id -un)
url="ssh://$user@127.0.0.1:$sport$T/srv/oem"
export DVI_SSH_KEY=$T/client DVI_SSH_KNOWN_HOSTS=$T/known_hosts
unset SSH_AUTH_SOCK
"$DVI" -q -C bureau --key bureau7desk.pem license allocate --from "$g" --to bureau7/s5 --quota 3
expect 0 "$DVI" --json -C bureau sync "$url"
[ "$(json_get '["pushed"]["chains"][0]["chain"]')" = bureau7/desk ] || fail "push over ssh"
[ "$(git -C srv/oem rev-parse refs/dvi/chains/bureau7/desk)" = "$(git -C bureau rev-parse refs/dvi/chains/bureau7/desk)" ] ||
    fail "push over ssh:// did not land"
expect 0 "$DVI" --key bureau7.pem init --join "$url" --trust "$genesis" --partner bureau7 --writer s5 printer
expect 0 "$DVI" -C printer --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot polyfil/PETG-2026-0117
expect 0 "$DVI" -C printer sync
[ "$(git -C srv/oem rev-list --count refs/dvi/chains/bureau7/s5)" = 1 ] || fail "the print did not reach the OEM over ssh"
# An unknown host key is refused before anything is sent.
: > empty_known_hosts
before=$(snapshot printer)
expect 1 env DVI_SSH_KNOWN_HOSTS="$T/empty_known_hosts" "$DVI" -C printer sync "$url"
stderr_has "the host key of '127.0.0.1' (SHA256:"
stderr_has "is not in known_hosts"
[ "$before" = "$(snapshot printer)" ] || fail "a refused host changed the ledger"
# A key the server does not accept.
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger"
expect 128 env DVI_SSH_KEY="$T/stranger" "$DVI" -C printer sync "$url"
stderr_has "cannot reach '$url'"
pass "sshd: join, push and fetch over ssh:// with a hashed known_hosts; unknown host and key refused"

# https://: git http-backend behind TLS, with a certificate from a private CA (mbedTLS,
# which libgit2 uses, matches DNS names only: the server is "localhost").
unset DVI_SSH_KEY DVI_SSH_KNOWN_HOSTS SSL_CERT_FILE SSL_CERT_DIR
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -subj "/CN=dvi test CA" -days 30 \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req "${ec[@]}" -keyout https.key -out https.csr -subj "/CN=dvi test https" 2>/dev/null
printf 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n' >https.ext
openssl x509 -req -in https.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out https.pem -days 30 -extfile https.ext 2>/dev/null
python3 "$DVI_SOURCE_DIR/tests/cli/https_git_server.py" "$T/srv" https.pem https.key "$T/https.port" 2>"$T/https.log" &
pids+=($!)
wait_for "the https server" test -s "$T/https.port"
hurl="https://localhost:$(cat "$T/https.port")/oem"
wait_for "the https server" env GIT_SSL_CAINFO="$T/ca.pem" git ls-remote "$hurl"
# A CA the system does not know: refused before anything is read.
"$DVI" -q -C bureau --key bureau7desk.pem license allocate --from "$g" --to bureau7/s5 --quota 2
before=$(snapshot bureau)
expect 1 "$DVI" -C bureau sync "$hurl"
stderr_has "dvi: error: cannot reach '$hurl': the SSL certificate is invalid"
stderr_has "dvi: hint: if a private CA issued the server's certificate, name that CA's certificate in SSL_CERT_FILE"
[ "$before" = "$(snapshot bureau)" ] || fail "a refused server changed the ledger"
expect 2 env SSL_CERT_FILE="$T/no-such-ca.pem" "$DVI" -C bureau sync "$hurl"
stderr_has "dvi: error: cannot load the certificate authorities of '$T/no-such-ca.pem'"
stderr_has "dvi: hint: SSL_CERT_FILE names a PEM file of CA certificates, SSL_CERT_DIR a folder of them"
[ "$before" = "$(snapshot bureau)" ] || fail "a CA file that cannot be loaded changed the ledger"
expect 0 env SSL_CERT_FILE="$T/no-such-ca.pem" "$DVI" -C bureau sync --fetch-only "git://127.0.0.1:$gport/oem"
# Trusted through SSL_CERT_FILE: push through the hook, then join and fetch.
export SSL_CERT_FILE=$T/ca.pem
expect 0 "$DVI" --json -C bureau sync "$hurl"
[ "$(json_get '["pushed"]["chains"][0]["chain"]')" = bureau7/desk ] || fail "push over https"
[ "$(git -C srv/oem rev-parse refs/dvi/chains/bureau7/desk)" = "$(git -C bureau rev-parse refs/dvi/chains/bureau7/desk)" ] ||
    fail "push over https:// did not land"
expect 0 "$DVI" --key bureau7.pem init --join "$hurl" --trust "$genesis" --partner bureau7 --writer s5 field
stdout_has "every commit verified"
"$DVI" -q -C srv/oem roster add depot3 --role bureau
expect 0 "$DVI" --json -C field sync --fetch-only
[ "$(json_get '["fetched"]["records"]')" = 1 ] || fail "fetch over https"
[ "$(git -C field rev-parse --verify -q refs/dvi/chains/acme/desk)" = "$(git -C srv/oem rev-parse --verify refs/dvi/chains/acme/desk)" ] ||
    fail "the roster change did not arrive over https"
# The right CA, the wrong name (the certificate is for localhost).
expect 1 env SSL_CERT_FILE="$T/ca.pem" "$DVI" -C field sync --fetch-only "https://127.0.0.1:$(cat "$T/https.port")/oem"
stderr_has "The certificate Common Name (CN) does not match with the expected CN"
stderr_has "dvi: hint: check the server's name and certificate with whoever runs it"
# A folder of CAs does as well; one without the server's CA says so.
mkdir cas other-cas
cp ca.pem cas/
openssl req -x509 "${ec[@]}" -keyout other.key -out other-cas/other.pem -subj "/CN=another CA" -days 30 2>/dev/null
unset SSL_CERT_FILE
expect 0 env SSL_CERT_DIR="$T/cas" "$DVI" -C field sync --fetch-only
expect 1 env SSL_CERT_DIR="$T/other-cas" "$DVI" -C field sync --fetch-only
stderr_has "dvi: hint: SSL_CERT_FILE and SSL_CERT_DIR hold no CA that issued the server's certificate"
pass "https: a private CA refused, then trusted through SSL_CERT_FILE or SSL_CERT_DIR: push through the hook, join, fetch"
