#!/usr/bin/env bash
# dvi audit's tamper corpus: each scenario alters a copy of one freshly built ledger —
# with stock git, as an attacker with write access or a writer bypassing its agent
# would — and the audit must report the exact finding code and exit 1. The clean ledger
# audits with zero findings.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/base
licensed "$DVI_DIR"
keys unit7 s6
"$DVI" -q roster add unit7 --role field-unit --writer s9 --pubkey unit7.pem.pub --device "U7-9:Original Prusa MINI"
"$DVI" -q roster add bureau7 --writer s6 --pubkey s6.pem.pub
lot=polyfil/PETG-2026-0117
g=$(grant --to bureau7 --quota 10 --not-before 2026-11-01 --not-after 2026-12-31)
a=$(allocate "$g" bureau7/s5 3)
print=$("$DVI" --json --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --serial A-1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
for k in acme polyfil bureau7 bureau7desk s6 unit7; do "$DVI" -q key export $k.pem --out $k.ssh; done
fp() { fingerprint "$1.pem"; }

expect 0 "$DVI" audit --json
[ "$(json_get '["findings"].__len__()')" = 0 ] || fail "the clean ledger has findings: $(json_get '["findings"]')"
[ "$(json_get '["verdict"]')" = pass ] || fail "clean verdict"
pass "a clean ledger: zero findings"

scenario() {
    rm -rf "$T/L"
    cp -a "$T/base" "$T/L"
    export DVI_DIR=$T/L
    SCENARIO=$1
}
# finds <code> [<exit status>]: the audit reports <code> (and exits 1, or as given), and
# so does the next one, which takes what the first verified from its cache, and so does
# a full one, which replays every commit the base ledger's cache vouches for as well.
finds() {
    local run
    for run in first cached --full; do
        expect "${2:-1}" "$DVI" audit --json $([ "$run" = --full ] && echo --full)
        python3 - "$T/out" "$1" <<'EOF' || fail "$SCENARIO: no finding '$1' ($run audit)"
import json, sys
codes = [f["code"] for f in json.load(open(sys.argv[1]))["findings"]]
assert sys.argv[2] in codes, codes
EOF
    done
    pass "$SCENARIO: $1"
}
# forge <key name> <partner/writer> <created> <type> <body> [forge.py options]: a signed record.
forge() {
    local k=$1 chain=$2 created=$3 type=$4 body=$5
    shift 5
    python3 "$DVI_SOURCE_DIR/tests/cli/forge.py" "$DVI_DIR" "$chain" "$T/$k.ssh" "$(fp "$k")" "$created" "$type" "$body" "$@"
}
# lot_id <lot>: the id of polyfil's material-lot record for that lot.
lot_id() {
    "$DVI" --json log polyfil --type material-lot | python3 -c "
import json, sys
for e in json.load(sys.stdin)['entries']:
    if e['summary'].startswith('$1 '): print(e['record'])"
}
# cosigned_anchor <day>: acme anchors at 10:00 that day, polyfil co-signs at 11:00 (trusted
# time 10:00); prints the co-signature's id.
cosigned_anchor() {
    local a
    a=$(DVI_TEST_DATE=$1T10:00:00Z "$DVI" --json --key acme.pem anchor | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
    DVI_TEST_DATE=$1T11:00:00Z "$DVI" --json --key polyfil.pem anchor --cosign "$a" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])'
}
ref5=refs/dvi/chains/bureau7/s5
when=2026-11-24T10:00:00Z

# --- the commit and its record --------------------------------------------------------
scenario "edited record blob"
head=$(git -C "$DVI_DIR" rev-parse $ref5)
path=$(git -C "$DVI_DIR" ls-tree -r --name-only $ref5 records/print)
git -C "$DVI_DIR" cat-file blob "$ref5:$path" | sed 's/"A-1"/"A-9"/' | git -C "$DVI_DIR" hash-object -w --stdin >blob
export GIT_INDEX_FILE=$T/index
git -C "$DVI_DIR" read-tree "$ref5^{tree}"
git -C "$DVI_DIR" update-index --cacheinfo "100644,$(cat blob),$path"
tree=$(git -C "$DVI_DIR" write-tree)
unset GIT_INDEX_FILE
git -C "$DVI_DIR" cat-file commit "$head" | sed "s/^tree .*/tree $tree/" | git -C "$DVI_DIR" hash-object -t commit -w --stdin >new
git -C "$DVI_DIR" update-ref $ref5 "$(cat new)" "$head"
finds record-hash-mismatch

scenario "rewritten commit with the old signature"
head=$(git -C "$DVI_DIR" rev-parse $ref5)
git -C "$DVI_DIR" cat-file commit "$head" | sed 's/^print: allowed/print: alowed/' | git -C "$DVI_DIR" hash-object -t commit -w --stdin >new
git -C "$DVI_DIR" update-ref $ref5 "$(cat new)" "$head"
finds bad-signature

scenario "a commit signed by a key the roster does not know"
"$DVI" -q key generate --openssh --out rogue.ssh
head=$(git -C "$DVI_DIR" rev-parse $ref5)
new=$(git -C "$DVI_DIR" -c gpg.format=ssh -c user.signingkey="$T/rogue.ssh" -c user.name=x -c user.email=x@x \
    commit-tree -S -p "$head" -m "forged" "$head^{tree}")
git -C "$DVI_DIR" update-ref $ref5 "$new" "$head"
finds wrong-key
rm -f rogue.ssh rogue.ssh.pub

scenario "an unsigned commit"
head=$(git -C "$DVI_DIR" rev-parse $ref5)
new=$(git -C "$DVI_DIR" -c user.name=x -c user.email=x@x commit-tree -p "$head" -m "unsigned" "$head^{tree}")
git -C "$DVI_DIR" update-ref $ref5 "$new" "$head"
finds unsigned-commit

scenario "a merge in a chain"
desk=$(git -C "$DVI_DIR" rev-parse refs/dvi/chains/bureau7/desk)
head=$(git -C "$DVI_DIR" rev-parse $ref5)
new=$(git -C "$DVI_DIR" -c gpg.format=ssh -c user.signingkey="$T/bureau7.ssh" -c user.name=x -c user.email=x@x \
    commit-tree -S -p "$head" -p "$desk" -m "merge" "$head^{tree}")
git -C "$DVI_DIR" update-ref $ref5 "$new" "$head"
finds not-linear

scenario "a commit removed from the middle of a chain"
forge bureau7 bureau7/s5 $when print "$(record_body "$print" 'r["serials"] = ["A-2"]')" >/dev/null
forge bureau7 bureau7/s5 $when print "$(record_body "$print" 'r["serials"] = ["A-3"]')" >/dev/null
c=($(git -C "$DVI_DIR" rev-list $ref5))
git -C "$DVI_DIR" cat-file commit "${c[0]}" | sed "s/^parent .*/parent ${c[2]}/" | git -C "$DVI_DIR" hash-object -t commit -w --stdin >new
git -C "$DVI_DIR" update-ref $ref5 "$(cat new)"
finds sequence-gap

scenario "a record that does not match its schema"
forge bureau7 bureau7/s5 $when print "$(record_body "$print" 'r["colour"] = "red"')" >/dev/null
finds schema-violation

scenario "a record whose text holds a terminal escape"
forge bureau7 bureau7/s5 $when print "$(record_body "$print" 'r["operator"] = "J. Doe\x1b[2J"')" >/dev/null
finds schema-violation
expect 1 "$DVI" audit --json
python3 -c "import json; f = [f for f in json.load(open('$T/out'))['findings'] if f['code'] == 'schema-violation']; assert 'holds control character U+001B' in f[0]['message'], f" ||
    fail "the finding does not name the control character"
pass "the finding names the field and the character"

scenario "a record replayed from another chain"
git -C "$DVI_DIR" cat-file blob "$ref5:$(git -C "$DVI_DIR" ls-tree -r --name-only $ref5 records/print)" >replayed.json
python3 - "$T/replayed.json" "$DVI_DIR" "$T/s6.ssh" <<'EOF'
import subprocess, sys, os, tempfile
blob, ledger, key = sys.argv[1:]
data = open(blob, "rb").read()
import hashlib
h = hashlib.sha256(data).hexdigest()
def git(*a, input=None, env=None):
    return subprocess.run(["git", "-C", ledger, *a], check=True, capture_output=True, input=input, env=env).stdout.decode().strip()
with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, GIT_INDEX_FILE=os.path.join(tmp, "i"))
    git("read-tree", "--empty", env=env)
    b = git("hash-object", "-w", "--stdin", input=data)
    git("update-index", "--add", "--cacheinfo", f"100644,{b},records/print/{h[:2]}/{h[2:4]}/{h}.json", env=env)
    c = git("hash-object", "-w", "--stdin", input=('{"partner":"bureau7","record":"sha256:%s","seq":1,"writer":"s6"}' % h).encode())
    git("update-index", "--add", "--cacheinfo", f"100644,{c},chain.json", env=env)
    tree = git("write-tree", env=env)
commit = git("-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "-c", "user.name=x", "-c", "user.email=x@x",
             "commit-tree", "-S", "-m", f"print: replayed\n\nDvi-Record: sha256:{h}", tree)
git("update-ref", "refs/dvi/chains/bureau7/s6", commit)
EOF
finds misplaced-record

scenario "chain.json that does not describe its commit"
forge bureau7 bureau7/s5 $when print "$(record_body "$print" 'r["serials"] = ["A-2"]')" --chain-seq 7 >/dev/null
finds chain-state-mismatch

scenario "a chain whose writer is not in the roster"
git -C "$DVI_DIR" update-ref refs/dvi/chains/ghost/x "$(git -C "$DVI_DIR" rev-parse $ref5)"
finds unknown-writer

# --- authority -------------------------------------------------------------------------
scenario "a key whose role may not write that record type"
forge polyfil polyfil/lab $when dossier "$(record_body BRK-2041@C 'r["title"] = "Forged bracket"')" >/dev/null
finds not-authorized

scenario "a roster change by a non-authority"
forge bureau7 bureau7/s5 $when roster '{"action":"admit","partner":"bureau7","roles":["authority"],"version":7,"prev":null}' >/dev/null
finds not-authorized

scenario "a commit signed by a revoked key"
"$DVI" -q roster revoke bureau7/s5 --reason "printer stolen"
forge bureau7 bureau7/s5 $when print "$(record_body "$print" 'r["serials"] = ["A-2"]')" >/dev/null
finds revoked-key-used

# --- licences and quotas across chains ---------------------------------------------------
scenario "an allocation above its licence's quota"
forge bureau7desk bureau7/desk $when license "$(record_body "$a" 'r["quota"] = 8')" >/dev/null
finds allocation-over-quota

scenario "a sub-licence deeper than allowed"
forge bureau7desk bureau7/desk $when license "$(record_body "$a" 'r["to"] = {"partner": "unit7", "writer": "s9"}; r["quota"] = 1; r["devices"] = []')" >/dev/null
finds sublicense-too-deep

scenario "a licence granted by someone else than the dossier's OEM"
forge bureau7desk bureau7/desk $when license "$(record_body "$g")" >/dev/null
finds license-not-by-oem

scenario "prints above the allocation"
for s in A-2 A-3 A-4; do forge bureau7 bureau7/s5 $when print "$(record_body "$print" "r['serials'] = ['$s']")" >/dev/null; done
finds prints-over-allocation

scenario "the same allocation spent by two writers"
forge s6 bureau7/s6 $when print "$(record_body "$print" 'r["serials"] = ["B-1"]')" >/dev/null
finds allocation-spent-by-other

scenario "a print after its licence was revoked, by an agent that had the revocation"
"$DVI" -q --key bureau7desk.pem license revoke "$a" --reason "contract ended"
"$DVI" -q --key acme.pem anchor
anchor=$("$DVI" --json log acme --type anchor | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["record"])')
forge bureau7 bureau7/s5 2026-11-25T10:00:00Z print "$(record_body "$print" 'r["serials"] = ["A-2"]')" --seen "$anchor" >/dev/null
finds print-after-revocation

scenario "a print after its licence was revoked, by the clocks only"
DVI_TEST_DATE=2026-11-24T10:00:00Z "$DVI" -q --key bureau7desk.pem license revoke "$a" --reason "contract ended"
forge bureau7 bureau7/s5 2026-11-25T10:00:00Z print "$(record_body "$print" 'r["serials"] = ["A-2"]')" >/dev/null
finds print-after-revocation-unseen 0

scenario "a print outside the licence's window"
forge bureau7 bureau7/s5 2027-01-05T10:00:00Z print "$(record_body "$print" 'r["serials"] = ["A-2"]')" >/dev/null
finds print-outside-window

scenario "a print outside the window by ledger time, its clock set back"
coanchor=$(cosigned_anchor 2027-01-02)
forge bureau7 bureau7/s5 2026-12-20T10:00:00Z print "$(record_body "$print" 'r["serials"] = ["A-2"]')" --seen "$coanchor" >/dev/null
finds print-outside-window

scenario "a backdated record"
coanchor=$(cosigned_anchor 2026-11-30)
forge bureau7 bureau7/s5 2026-11-24T10:00:00Z print "$(record_body "$print" 'r["serials"] = ["A-2"]')" --seen "$coanchor" >/dev/null
finds created-before-anchor

scenario "a clock going backwards within a chain"
forge bureau7 bureau7/s5 2026-11-20T10:00:00Z print "$(record_body "$print" 'r["serials"] = ["A-2"]')" >/dev/null
finds clock-regression 0
expect 1 "$DVI" audit --strict
pass "$SCENARIO: --strict fails on the warning"

# --- material, recipe, deviations --------------------------------------------------------
scenario "a print from an unreleased lot"
qlot=$(lot_id PETG-2026-0131)
forge bureau7 bureau7/s5 $when print "$(record_body "$print" "r['material_lot'] = '$qlot'; r['serials'] = ['A-2']")" >/dev/null
finds lot-not-released

scenario "a G-code that is not the sealed recipe"
forge bureau7 bureau7/s5 $when print "$(record_body "$print" 'r["file"]["sha256"] = "ab" * 32; r["serials"] = ["A-2"]')" >/dev/null
finds recipe-mismatch

scenario "a deviation used beyond its limit"
cat >deviation.yaml <<YAML
kind: deviation
dossier: BRK-2041@C
material_lot: polyfil/PETG-2026-0131
to: bureau7/s5
max_parts: 1
reason: Moisture 0.16 % after drying; accepted for non-structural use
YAML
"$DVI" -q --key acme.pem seal deviation.yaml
"$DVI" -q --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot polyfil/PETG-2026-0131 --serial D-1
dprint=$("$DVI" --json log bureau7/s5 --type print | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["record"])')
forge bureau7 bureau7/s5 $when print "$(record_body "$dprint" 'r["serials"] = ["D-2"]')" >/dev/null
finds deviation-overused

# --- artifacts, references, anchors, forks -----------------------------------------------
scenario "a missing artifact blob"
gcode=$(record_body BRK-2041@C 'print(r["recipes"][0]["gcode"]["sha256"]); sys.exit()' | head -1)
blob=$(git -C "$DVI_DIR" rev-parse "refs/dvi/chains/acme/desk:artifacts/${gcode:0:2}/$gcode")
# Loose, or (1 MiB and more) a pack of its own: either way, gone.
rm -f "$DVI_DIR/objects/${blob:0:2}/${blob:2}"
for idx in "$DVI_DIR"/objects/pack/*.idx; do
    [ -e "${idx%.idx}.keep" ] && git verify-pack -v "$idx" >objects.txt && grep -q "^$blob " objects.txt && rm -f "${idx%.idx}".*
done
git -C "$DVI_DIR" cat-file -e "$blob" 2>/dev/null && fail "the G-code blob is still there"
finds artifact-missing

scenario "an artifact whose bytes do not match its hash"
fake=$(printf 'ab%.0s' $(seq 32))
forge polyfil polyfil/lab $when material-lot "$(record_body "$(lot_id PETG-2026-0117)" "r['lot'] = 'PETG-2026-0999'; r['certificate']['file']['sha256'] = '$fake'")" \
    --file "artifacts/ab/$fake=not the certificate" >/dev/null
finds artifact-hash-mismatch

scenario "a reference to a record that is not in the ledger"
forge bureau7 bureau7/s5 $when print "$(record_body "$print" 'r["license"] = "sha256:" + "cd" * 32; r["serials"] = ["A-2"]')" >/dev/null
finds reference-missing

scenario "an anchor whose evidence does not hold"
"$DVI" -q --key acme.pem anchor
anchor=$("$DVI" --json log acme --type anchor | python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"][0]["record"])')
forge polyfil polyfil/lab $when anchor "$(record_body "$anchor" "r['evidence'] = {'kind': 'cosign', 'anchor': '$anchor', 'time': '2030-01-01T00:00:00Z'}")" >/dev/null
finds anchor-invalid

# equivocate [<command in the other copy>...]: acme's chain goes on differently in another
# copy of the ledger (after the optional command there), which then arrives by bundle.
equivocate() {
    cp -a "$DVI_DIR" "$T/other"
    DVI_TEST_DATE=2026-11-24T10:01:00Z "$DVI" -q -C "$T/other" --key acme.pem anchor
    DVI_TEST_DATE=2026-11-24T10:02:00Z "$DVI" -q --key acme.pem anchor
    [ $# -eq 0 ] || "$DVI" -q -C "$T/other" "$@"
    "$DVI" -q -C "$T/other" sync --bundle-out "$T/x.bundle"
    "$DVI" -q sync --bundle-in "$T/x.bundle" >/dev/null 2>&1 || true
    rm -rf "$T/other" "$T/x.bundle"
}

scenario "chains forked"
equivocate
finds fork
# One equivocation is one fork: our own head, kept beside theirs, is not a second.
expect 1 "$DVI" --json audit
python3 -c "
import json; r = json.load(open('$T/out'))
assert r['summary']['forks'] == 1 and [f['code'] for f in r['findings']].count('fork') == 1, r['findings']" ||
    fail "one equivocation counted as more than one fork"

scenario "an anchor over a commit that is not in its chain here"
equivocate --key polyfil.pem anchor
finds anchor-head-unknown

scenario "a failed inspection"
cat >inspection.yaml <<YAML
kind: inspection
print: $print
serial: A-1
result: fail
inspector: J. Martin
date: "2026-11-24"
measurements:
  - id: IP-01
    result: fail
YAML
if "$DVI" -q --key bureau7.pem seal inspection.yaml 2>err.txt; then
    finds inspection-failed 0
else
    fail "$SCENARIO: cannot seal the inspection: $(cat err.txt)"
fi
