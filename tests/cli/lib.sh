# Shared by the tNNNN-*.sh scripts: a fresh temporary directory, a fixed clock and
# identity, and helpers that run the real dvi binary and check exit status and output.
# Usage: . "$(dirname "$0")/lib.sh"
set -euo pipefail
: "${DVI:?set DVI to the dvi binary}"
: "${DVI_SOURCE_DIR:?set DVI_SOURCE_DIR to the source tree}"
export DVI_TEST_DATE="${DVI_TEST_DATE:-2026-11-23T10:00:00Z}"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C.UTF-8
unset DVI_DIR DVI_KEY DVI_KEY_PASSPHRASE
T=$(mktemp -d "${TMPDIR:-/tmp}/dvi-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
EXAMPLE="$DVI_SOURCE_DIR/examples/bracket"
TEST_NAME=$(basename "$0" .sh)

fail() {
    echo "FAIL [$TEST_NAME]: $*" >&2
    [ -f "$T/out" ] && { echo "--- stdout" >&2; head -c 4000 "$T/out" >&2; }
    [ -f "$T/err" ] && { echo "--- stderr" >&2; head -c 4000 "$T/err" >&2; }
    exit 1
}
pass() { echo "ok [$TEST_NAME]: $*"; }

# expect <status> <command...>: runs it with stdout in $T/out and stderr in $T/err.
expect() {
    local want=$1
    shift
    local got=0
    "$@" >"$T/out" 2>"$T/err" || got=$?
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
}
# The exact stderr (all lines).
stderr_is() { [ "$(cat "$T/err")" = "$1" ] || fail "stderr is not: $1"; }
stderr_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks: $1"; }
stdout_has() { grep -qF -- "$1" "$T/out" || fail "stdout lacks: $1"; }
# A JSON field of stdout: jq-like access through python3, e.g. json_get '["sealed"][0]["record"]'.
json_get() { python3 -c "import json,sys; v=json.load(open('$T/out'))$1; print(v if not isinstance(v,(dict,list,bool)) and v is not None else json.dumps(v))"; }

# Everything a failed command must leave as it was: refs and the object store.
snapshot() {
    local ledger=$1
    { git -C "$ledger" for-each-ref --format='%(refname) %(objectname)'
      (cd "$ledger" && find objects refs -type f | sort); } | sha256sum
}

# fingerprint <key.pem>: the key's "SHA256:..." fingerprint, as the roster records it.
fingerprint() { "$DVI" --json key show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])'; }
# record_body <id> [python statements on r]: a record's fields without its header, as
# JSON: the body tests/cli/forge.py signs into a record that bypassed dvi.
record_body() {
    "$DVI" --json show "$1" | python3 -c "
import json, sys
r = json.load(sys.stdin)['record']
for k in ('type', 'schema', 'issuer', 'created', 'seq', 'seen'): r.pop(k)
${2:-pass}
print(json.dumps(r))"
}

# keys <name>...: Ed25519 keys name.pem (+ .pub) in the current directory.
keys() { for k in "$@"; do "$DVI" -q key generate --out "$k.pem"; done; }

# consortium <dir>: acme (authority + oem, writer desk), polyfil (supplier, writer lab)
# and bureau7 (bureau, writer s5 with printers of both example models).
consortium() {
    local dir=$1
    keys acme polyfil bureau7
    "$DVI" -q --key acme.pem init --consortium "Bracket consortium" --partner acme --writer desk --role oem "$dir"
    "$DVI" -q -C "$dir" roster add polyfil --role supplier --writer lab --pubkey polyfil.pem.pub
    "$DVI" -q -C "$dir" roster add bureau7 --role bureau --writer s5 --pubkey bureau7.pem.pub \
        --device "S5-0412:Original Prusa MINI" --device "K3-0077:Original Prusa i3 MK3S"
}

# licensed <dir>: consortium <dir>, plus bureau7's licensing desk (bureau7desk.pem),
# the example lots (released and quarantined) and the dossier sealed.
licensed() {
    local dir=$1
    consortium "$dir"
    keys bureau7desk
    "$DVI" -q -C "$dir" roster add bureau7 --writer desk --pubkey bureau7desk.pem.pub
    "$DVI" -q -C "$dir" --key polyfil.pem seal "$EXAMPLE/material-lot.yaml" "$EXAMPLE/material-lot-quarantine.yaml"
    "$DVI" -q -C "$dir" --key acme.pem seal "$EXAMPLE/dossier.yaml"
}
# grant <args...>: dvi license grant by acme; prints the licence id.
grant() { "$DVI" --json --key acme.pem license grant --dossier BRK-2041@C "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])'; }
# allocate <from> <to> <quota>: by bureau7's desk; prints the allocation id.
allocate() { "$DVI" --json --key bureau7desk.pem license allocate --from "$1" --to "$2" --quota "$3" | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])'; }
# records_check: every record of the ledger is canonical, hashes to its id and validates
# against schemas/ with an independent validator (check_records.py), and `dvi log`
# verifies them all; the checker's summary is left in records.txt.
records_check() {
    "$DVI" log >/dev/null || fail "the ledger does not verify"
    python3 "$DVI_SOURCE_DIR/tests/cli/check_records.py" "$DVI_DIR" "$DVI_SOURCE_DIR/schemas" >records.txt || fail "record check"
}
# audit_clean: the whole ledger passes `dvi audit` with no errors (warnings allowed).
audit_clean() {
    expect 0 "$DVI" audit --json
    [ "$(json_get '["summary"]["errors"]')" = 0 ] || fail "audit errors: $(json_get '["findings"]')"
    pass "the ledger passes dvi audit"
}
# chain_length <partner/writer>
chain_length() { git -C "$DVI_DIR" rev-list --count "refs/dvi/chains/$1" 2>/dev/null || echo 0; }

# tsa_start: a test CA, a TSA certificate it issues (extendedKeyUsage critical,
# timeStamping), a rogue TSA under another CA, an https certificate for 127.0.0.1, and
# tests/cli/tsa_server.py serving them. Sets TSA_DIR, TSA_URL (http) and TSA_TLS_URL.
# The TSA's clock is "$TSA_DIR/time" if the test writes one (stopped there: faketime -f).
# Certificates are valid from TSA_EPOCH (default 2026-01-01) for TSA_CERT_DAYS (365).
tsa_start() {
    TSA_DIR="$T/tsa"
    mkdir -p "$TSA_DIR"
    (
        cd "$TSA_DIR"
        local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
        # Certificates valid from TSA_EPOCH (default 2026-01-01) for TSA_CERT_DAYS days.
        local ft=(faketime "${TSA_EPOCH:-2026-01-01 00:00:00}")
        "${ft[@]}" openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -subj "/CN=dvi test TSA CA" -days 3650 \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
        "${ft[@]}" openssl req -x509 "${ec[@]}" -keyout rogue-ca.key -out rogue-ca.pem -subj "/CN=rogue CA" -days 3650 \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
        printf 'extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\n' >tsa.ext
        printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >https.ext
        for n in tsa:ca rogue:rogue-ca https:ca; do
            local name=${n%%:*} ca=${n#*:} ext=tsa.ext
            [ "$name" = https ] && ext=https.ext
            openssl req "${ec[@]}" -keyout "$name.key" -out "$name.csr" -subj "/CN=dvi test $name" 2>/dev/null
            "${ft[@]}" openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial -out "$name.pem" \
                -days "${TSA_CERT_DAYS:-365}" -extfile "$ext" 2>/dev/null
        done
        printf '01\n' >serial
        cat >tsa.cnf <<CNF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = $TSA_DIR
serial = \$dir/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.4146.2.3
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
    )
    python3 "$DVI_SOURCE_DIR/tests/cli/tsa_server.py" "$TSA_DIR" &
    TSA_PID=$!
    trap 'kill $TSA_PID 2>/dev/null; rm -rf "$T"' EXIT
    local i
    for i in $(seq 100); do [ -f "$TSA_DIR/port" ] && break; sleep 0.1; done
    [ -f "$TSA_DIR/port" ] || fail "the test TSA did not start"
    read -r TSA_PORT TSA_TLS_PORT <"$TSA_DIR/port"
    TSA_URL="http://127.0.0.1:$TSA_PORT/tsa"
    TSA_TLS_URL="https://127.0.0.1:${TSA_TLS_PORT:-0}/tsa"
    unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
}
