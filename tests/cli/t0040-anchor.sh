#!/usr/bin/env bash
# dvi anchor: RFC 3161 tokens from a real TSA (openssl ts -reply behind HTTP and HTTPS),
# request/reply files, co-signatures, `seen`, and the trusted time print-verify enforces.
. "$(dirname "$0")/lib.sh"
tsa_start
echo "2026-11-23 12:00:00" >"$TSA_DIR/time"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
lot=polyfil/PETG-2026-0117

# --- trusting a TSA ---------------------------------------------------------------------
before=$(snapshot "$DVI_DIR")
expect 2 "$DVI" --key acme.pem anchor --tsa "$TSA_URL"
stderr_is "dvi: error: the consortium trusts no time-stamping authority yet
dvi: hint: an authority adds one with 'dvi roster trust-tsa <cert.pem>'"
expect 2 "$DVI" roster trust-tsa "$TSA_DIR/https.pem"
stderr_has "is neither a CA nor a time-stamping certificate"
expect 2 "$DVI" roster trust-tsa "$TSA_DIR/tsa.cnf"
stderr_has "not an X.509 certificate"
expect 1 "$DVI" --key bureau7.pem roster trust-tsa "$TSA_DIR/ca.pem"
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "a refused trust-tsa wrote to the ledger"
expect 0 "$DVI" roster trust-tsa "$TSA_DIR/ca.pem"
stdout_has "trusted TSA 'CN=dvi test TSA CA'"
expect 0 "$DVI" roster list
stdout_has "$(openssl x509 -in "$TSA_DIR/ca.pem" -outform DER | sha256sum | cut -c1-64)  CN=dvi test TSA CA"
pass "trust-tsa"

# --- --tsa: a token fetched now, verified, stored, independently verifiable ------------
expect 0 "$DVI" --json --key acme.pem anchor --tsa "$TSA_URL"
a1=$(json_get '["record"]')
[ "$(json_get '["time"]')" = 2026-11-23T12:00:00Z ] || fail "anchor time"
[ "$(json_get '["evidence"]["kind"]')" = rfc3161 ] || fail "evidence kind"
[ "$(json_get '["heads"].__len__()')" = "$(git -C "$DVI_DIR" for-each-ref refs/dvi/chains | wc -l)" ] ||
    fail "an anchor covers every chain"
digest=$(json_get '["digest"]')
token=$(json_get '["evidence"]["token"]["sha256"]')
json_get '["heads"]' | python3 -c 'import json,sys; sys.stdout.write(json.dumps(json.load(sys.stdin), sort_keys=True, separators=(",", ":")))' >heads.json
[ "sha256:$(sha256sum <heads.json | cut -c1-64)" = "$digest" ] || fail "the digest is SHA-256 of the canonical heads"
git -C "$DVI_DIR" cat-file blob "refs/dvi/chains/acme/desk:artifacts/${token:0:2}/$token" >token.tsr
[ "$(sha256sum <token.tsr | cut -c1-64)" = "$token" ] || fail "the stored token hashes to its reference"
openssl ts -verify -in token.tsr -data heads.json -CAfile "$TSA_DIR/ca.pem" >verify.out 2>&1 ||
    fail "openssl ts -verify refuses the stored token: $(cat verify.out)"
grep -q "Verification: OK" verify.out || fail "openssl ts -verify output"
pass "--tsa token verified by openssl ts -verify"

# Tokens that must be refused, with nothing written.
before=$(snapshot "$DVI_DIR")
expect 1 "$DVI" --key acme.pem anchor --tsa "http://127.0.0.1:$TSA_PORT/other-data"
stderr_has "dvi: error: the time-stamp is for other data (imprint 0000000000000000000000000000000000000000000000000000000000000000, expected "
expect 1 "$DVI" --key acme.pem anchor --tsa "http://127.0.0.1:$TSA_PORT/untrusted"
stderr_is "dvi: error: the time-stamp signed by 'CN=dvi test rogue' does not verify: certificate verify error (Verify error:unable to get local issuer certificate)
dvi: hint: the consortium trusts the time-stamping authorities listed by 'dvi roster list'; an authority adds one with 'dvi roster trust-tsa <cert.pem>'"
expect 128 "$DVI" --key acme.pem anchor --tsa "http://127.0.0.1:$TSA_PORT/garbage"
stderr_has "dvi: hint: no connection to the TSA? 'dvi anchor --request <file.tsq>' carries the request to it later"
expect 2 "$DVI" --key acme.pem anchor --tsa "ftp://127.0.0.1/tsa"
# A port nobody listens on: refused at once (OpenSSL alone retried until the timeout).
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start=$(date +%s)
expect 128 "$DVI" --key acme.pem anchor --tsa "http://127.0.0.1:$closed/tsa" --timeout 20
stderr_has "dvi: error: cannot connect to 127.0.0.1:$closed: Connection refused"
[ $(($(date +%s) - start)) -lt 10 ] || fail "a refused connection waited for the timeout"
expect 128 "$DVI" --key acme.pem anchor --tsa "$TSA_TLS_URL"
stderr_has "certificate verify failed"
expect 2 "$DVI" --key acme.pem anchor --tsa "$TSA_URL" --cosign "$a1"
stderr_is "dvi: error: --tsa, --request, --import and --cosign exclude each other
dvi: hint: attach one kind of evidence per anchor"
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "a refused token wrote to the ledger"
pass "tokens for other data, from an untrusted TSA, garbage and unverified https are refused"

expect 0 env SSL_CERT_FILE="$TSA_DIR/ca.pem" "$DVI" --key acme.pem anchor --tsa "$TSA_TLS_URL"
stdout_has "time-stamped 2026-11-23T12:00:00Z by 'CN=dvi test tsa'"
pass "--tsa over https"

# --- --request / --import: the TSA reached later ----------------------------------------
echo "2026-11-23 13:00:00" >"$TSA_DIR/time"
expect 0 "$DVI" --json --key polyfil.pem anchor --request req.tsq
req=$(json_get '["record"]')
[ "$(json_get '["evidence"]["kind"]')" = rfc3161-request ] || fail "request evidence"
nonce=$(json_get '["evidence"]["nonce"]')
openssl ts -query -in req.tsq -text >req.txt 2>/dev/null
python3 - "$nonce" "$T/req.txt" <<'EOF' || fail "the request carries the recorded nonce"
import re, sys
printed = re.search(r"Nonce: 0x([0-9A-Fa-f]+)", open(sys.argv[2]).read()).group(1)
assert int(printed, 16) == int(sys.argv[1], 16), (printed, sys.argv[1])
EOF
reqdigest=$(json_get '["digest"]')
before=$(snapshot "$DVI_DIR")
expect 2 "$DVI" --key polyfil.pem anchor --request req.tsq
stderr_has "req.tsq"
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "--request over an existing file wrote to the ledger"

tsa_reply() { (cd "$TSA_DIR" && faketime -f "$(cat time)" openssl ts -reply -config tsa.cnf -queryfile "$1" \
    -inkey tsa.key -signer tsa.pem -out "$2" 2>/dev/null); }
# A reply to another request over the same heads: the nonce tells.
openssl ts -query -digest "${reqdigest#sha256:}" -sha256 -cert -out other.tsq 2>/dev/null
tsa_reply "$T/other.tsq" "$T/other.tsr"
expect 1 "$DVI" --key polyfil.pem anchor --import other.tsr
stderr_has "dvi: error: 'other.tsr': the reply answers a request this writer did not make (nonce "
tsa_reply "$T/req.tsq" "$T/req.tsr"
expect 1 "$DVI" --key acme.pem anchor --import req.tsr
stderr_has "the reply answers a request this writer did not make"
echo junk >junk.tsr
expect 2 "$DVI" --key polyfil.pem anchor --import junk.tsr
stderr_is "dvi: error: 'junk.tsr': not an RFC 3161 time-stamp reply (DER TimeStampResp)"
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "a refused reply wrote to the ledger"
expect 0 "$DVI" --json --key polyfil.pem anchor --import req.tsr
a2=$(json_get '["record"]')
[ "$(json_get '["evidence"]["request"]')" = "$req" ] || fail "the follow-up names its request"
[ "$(json_get '["digest"]')" = "$reqdigest" ] || fail "the follow-up covers the requested heads"
[ "$(json_get '["time"]')" = 2026-11-23T13:00:00Z ] || fail "imported time"
expect 2 "$DVI" --key polyfil.pem anchor --import req.tsr
stderr_is "dvi: error: 'req.tsr': the reply to $req is already in anchor $a2"
pass "--request then --import, with nonce and imprint checked"

# --- seen: every record names the latest anchor its writer had seen ---------------------
g=$(grant --to bureau7 --quota 20 --not-before 2026-11-01 --not-after 2026-12-31)
"$DVI" --json show "$g" >out
[ "$(json_get '["record"]["seen"]')" = "$a2" ] || fail "a new record names the latest timed anchor, got $(json_get '["record"]["seen"]')"
[ "$(git -C "$DVI_DIR" cat-file -p refs/dvi/chains/acme/desk:chain.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["anchor"]["id"])')" = "$a2" ] ||
    fail "chain.json names the anchor"
pass "seen"

# --- trusted time in print-verify: the clock may not go back before 13:00 ---------------
a=$(allocate "$g" bureau7/s5 10)
pv() { "$DVI" --json --key bureau7.pem print-verify --license "$1" --device S5-0412 --material-lot $lot; }
export DVI_TEST_DATE=2026-11-23T12:30:00Z
expect 1 pv "$a"
[ "$(json_get '["code"]')" = clock-behind-ledger ] || fail "rollback: $(json_get '["code"]')"
[ "$(json_get '["message"]')" = "the local clock (2026-11-23T12:30:00Z) is earlier than the ledger's trusted time (2026-11-23T13:00:00Z)" ] ||
    fail "rollback message: $(json_get '["message"]')"
export DVI_TEST_DATE=2026-11-23T13:30:00Z
expect 0 pv "$a"
pass "a clock set back before the anchor is refused"

# A licence that expired at 12:45, before the 13:00 anchor, stays expired with the clock
# set back inside its window.
export DVI_TEST_DATE=2026-11-23T10:00:00Z
g2=$(grant --to bureau7 --quota 5 --not-before 2026-11-01 --not-after 2026-11-23T12:45:00Z)
export DVI_TEST_DATE=2026-11-23T13:30:00Z
a3=$(allocate "$g2" bureau7/s5 5)
export DVI_TEST_DATE=2026-11-23T12:40:00Z
expect 1 pv "$a3"
[ "$(json_get '["code"]')" = clock-behind-ledger ] || fail "expired licence, clock inside: $(json_get '["code"]')"
export DVI_TEST_DATE=2026-11-23T13:30:00Z
expect 1 pv "$a3"
[ "$(json_get '["code"]')" = expired ] || fail "expired licence: $(json_get '["code"]')"
pass "a licence expired before the anchor cannot be used by setting the clock back"

# Verified at the token's time: in 2028 the TSA certificate (valid 2026-01-01 + 365 days)
# has expired, and the 2026 token still proves 13:00 (openssl ts -verify, which checks
# against today, would now refuse it).
# (Not under clang's ASan, whose allocator reads the clock while it holds a lock: the
# first clock_gettime through libfaketime resolves symbols, allocates, and deadlocks.)
export DVI_TEST_DATE=2026-11-23T12:30:00Z
if [ "${DVI_SANITIZED:-}" != clang ]; then
    expect 1 faketime "2028-06-01 00:00:00" "$DVI" --json --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot
    [ "$(json_get '["code"]')" = clock-behind-ledger ] || fail "an expired TSA certificate voided an old token"
fi
if faketime "2028-06-01 00:00:00" openssl ts -verify -in token.tsr -data heads.json -CAfile "$TSA_DIR/ca.pem" >/dev/null 2>&1; then
    fail "openssl ts -verify should see the TSA certificate expired in 2028"
fi
pass "an expired TSA certificate does not void an older token"

# --- co-signatures ------------------------------------------------------------------------
export DVI_TEST_DATE=2026-11-23T14:00:00Z
expect 0 "$DVI" --json --key acme.pem anchor
plain=$(json_get '["record"]')
export DVI_TEST_DATE=2026-11-23T15:00:00Z
expect 0 "$DVI" --json --key bureau7desk.pem anchor --cosign "${plain#sha256:}"
co=$(json_get '["record"]')
[ "$(json_get '["evidence"]["anchor"]')" = "$plain" ] || fail "cosign names its anchor"
[ "$(json_get '["time"]')" = 2026-11-23T14:00:00Z ] || fail "a co-signature proves the earlier of the two clocks"
"$DVI" --json show "$plain" >plain.json
python3 - "$T/plain.json" "$T/out" <<'EOF' || fail "co-signed heads differ"
import json, sys
a = json.load(open(sys.argv[1]))["record"]
b = json.load(open(sys.argv[2]))
assert a["heads"] == b["heads"] and a["digest"] == b["digest"]
EOF
expect 0 "$DVI" --json --key polyfil.pem anchor --cosign "$plain"
before=$(snapshot "$DVI_DIR")
expect 2 "$DVI" --key acme.pem anchor --cosign "$plain"
stderr_is "dvi: error: anchor $plain is by partner 'acme' itself: a co-signature must come from another partner"
expect 2 "$DVI" --key polyfil.pem anchor --cosign "$co"
stderr_is "dvi: error: anchor $co is itself a co-signature
dvi: hint: co-sign the anchor it witnesses: $plain"
expect 2 "$DVI" --key polyfil.pem anchor --cosign "$g"
stderr_is "dvi: error: record $g is a license, not an anchor"
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "a refused co-signature wrote to the ledger"
# A co-signature is trusted time too: 14:00 is now the floor.
export DVI_TEST_DATE=2026-11-23T13:45:00Z
expect 1 pv "$a"
stdout_has "the ledger's trusted time (2026-11-23T14:00:00Z)"
pass "co-signed anchors from two partners"

# --- an anchor over a commit that is not in our chain is reported ------------------------
# Another copy of the ledger where acme's chain goes on differently (an equivocation),
# and polyfil anchors that version; its anchor travels here in a bundle.
export DVI_TEST_DATE=2026-11-23T16:00:00Z
cp -a "$DVI_DIR" other
DVI_TEST_DATE=2026-11-23T16:01:00Z "$DVI" -q -C other --key acme.pem anchor
DVI_TEST_DATE=2026-11-23T16:02:00Z "$DVI" -q --key acme.pem anchor
expect 0 "$DVI" -C other --json --key polyfil.pem anchor
forked=$(json_get '["record"]')
"$DVI" -q -C other sync --bundle-out x.bundle
"$DVI" -q sync --bundle-in x.bundle >/dev/null 2>&1 || true
"$DVI" --json show "$forked" >/dev/null 2>&1 || fail "polyfil's anchor did not arrive"
before=$(snapshot "$DVI_DIR")
expect 1 "$DVI" --key bureau7desk.pem anchor --cosign "$forked"
stderr_has "dvi: error: anchor $forked names commit $(git -C other rev-parse refs/dvi/chains/acme/desk) of chain 'acme/desk' at position"
stderr_has "which is not in that chain here"
stderr_has "dvi: hint: the chain may have forked"
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "a refused co-signature wrote to the ledger"
pass "an anchor over a commit outside our chain is reported"

# Every commit still verifies with stock git.
"$DVI" roster allowed-signers >signers
for c in acme/desk polyfil/lab bureau7/desk; do
    git -C "$DVI_DIR" -c gpg.ssh.allowedSignersFile="$T/signers" verify-commit "refs/dvi/chains/$c" 2>/dev/null ||
        fail "git verify-commit $c"
done
pass "anchor commits verify with git"

# Every record (anchors and trust-tsa included) is canonical, hashes to its id and
# validates against schemas/ with an independent validator; dvi log verifies them all.
records_check
grep -q "anchor" records.txt || fail "no anchors checked: $(cat records.txt)"
pass "$(cat records.txt)"
