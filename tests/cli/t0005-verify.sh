#!/usr/bin/env bash
# Independent verifiers agree with dvi: stock git verifies every commit, git fsck is
# clean, ssh-keygen -Y verify accepts a commit's signature over its payload, Python
# recomputes every record id, and python3-jsonschema accepts every record.
. "$(dirname "$0")/lib.sh"
consortium ledger
export DVI_DIR=$T/ledger
"$DVI" -q --key polyfil.pem seal "$EXAMPLE/material-lot.yaml" "$EXAMPLE/material-lot-quarantine.yaml"
"$DVI" -q --key acme.pem seal "$EXAMPLE/dossier.yaml"
"$DVI" roster allowed-signers > signers

n=0
for ref in $(git -C ledger for-each-ref --format='%(refname)' refs/dvi/chains); do
    for c in $(git -C ledger rev-list "$ref"); do
        git -C ledger -c gpg.ssh.allowedSignersFile="$T/signers" verify-commit "$c" 2>/dev/null \
            || fail "git verify-commit rejects $c on $ref"
        n=$((n + 1))
    done
done
[ "$n" = 6 ] || fail "expected 6 commits, saw $n"
git -C ledger -c gpg.ssh.allowedSignersFile="$T/signers" log --show-signature refs/dvi/chains/acme/desk 2>&1 \
    | grep -c '^Good "git" signature for acme/desk' | grep -qx 4 || fail "git log --show-signature"
pass "git verify-commit accepts all $n commits"

git -C ledger fsck --strict --no-dangling 2>fsck.err || fail "git fsck --strict: $(cat fsck.err)"
[ ! -s fsck.err ] || fail "git fsck --strict printed: $(cat fsck.err)"
pass "git fsck --strict is clean"

# ssh-keygen alone: the signature is over the commit without its gpgsig header.
head=$(git -C ledger rev-parse refs/dvi/chains/acme/desk)
git -C ledger cat-file commit "$head" > commit.raw
python3 - commit.raw <<'PY'
import sys
raw = open(sys.argv[1], "rb").read()
header, _, body = raw.partition(b"\n\n")
lines, sig, payload, in_sig = header.split(b"\n"), [], [], False
for line in lines:
    if line.startswith(b"gpgsig "):
        in_sig = True; sig.append(line[7:]); continue
    if in_sig and line.startswith(b" "):
        sig.append(line[1:]); continue
    in_sig = False; payload.append(line)
open("commit.payload", "wb").write(b"\n".join(payload) + b"\n\n" + body)
open("commit.sig", "wb").write(b"\n".join(sig) + b"\n")
PY
ssh-keygen -Y verify -f signers -I acme/desk -n git -s commit.sig < commit.payload > ssh.out 2>&1 \
    || fail "ssh-keygen -Y verify: $(cat ssh.out)"
grep -q 'Good "git" signature for acme/desk' ssh.out || fail "ssh-keygen output: $(cat ssh.out)"
printf 'x' >> commit.payload
! ssh-keygen -Y verify -f signers -I acme/desk -n git -s commit.sig < commit.payload >/dev/null 2>&1 \
    || fail "ssh-keygen accepted an altered payload"
pass "ssh-keygen -Y verify accepts the commit signature over its payload"

# Every record blob: Python's canonical JSON of it is the same bytes, its SHA-256 is
# its id, the id is its file name and a commit's trailer, and it satisfies its schema.
python3 "$DVI_SOURCE_DIR/tests/cli/check_records.py" "$T/ledger" "$DVI_SOURCE_DIR/schemas" 6 || fail "record check"
pass "python3 recomputes every record id and validates every record"

# dvi's own id equals python's for the dossier.
id=$("$DVI" --json log --type dossier | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["record"])')
expect 0 "$DVI" --json show "$id"
python3 -c "
import hashlib, json
rec = json.load(open('$T/out'))['record']
b = json.dumps(rec, sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode()
assert 'sha256:' + hashlib.sha256(b).hexdigest() == '$id'
" || fail "python's id of the dossier differs from dvi's"
pass "independent record id matches"

# dvi show --raw prints the exact stored bytes: their SHA-256 is the id.
expect 0 "$DVI" show --raw "$id"
[ "sha256:$(sha256sum < "$T/out" | cut -d' ' -f1)" = "$id" ] || fail "show --raw bytes do not hash to the id"
pass "show --raw bytes hash to the id"
