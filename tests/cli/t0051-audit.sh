#!/usr/bin/env bash
# dvi audit: the formats (text, JSON valid against schemas/audit-report.schema.json with an
# independent validator, Markdown), --output, --strict, -q, exit status, and a ledger
# long enough that commits are verified on several threads.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
lot=polyfil/PETG-2026-0117
g=$(grant --to bureau7 --quota 100 --not-before 2026-11-01 --not-after 2026-12-31)
a=$(allocate "$g" bureau7/s5 80)
for i in $(seq 70); do
    "$DVI" -q --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --serial "S-$i"
done
commits=$(git -C "$DVI_DIR" rev-list --glob=refs/dvi/chains | wc -l)

validate() {
    python3 - "$1" "$DVI_SOURCE_DIR/schemas" <<'EOF' || fail "the JSON report does not match its schema"
import json, os, sys
import jsonschema, referencing
doc = json.load(open(sys.argv[1]))
res = []
for n in os.listdir(sys.argv[2]):
    s = json.load(open(os.path.join(sys.argv[2], n)))
    res.append((s["$id"], referencing.Resource.from_contents(s)))
reg = referencing.Registry().with_resources(res)
schema = json.load(open(os.path.join(sys.argv[2], "audit-report.schema.json")))
jsonschema.Draft202012Validator(schema, registry=reg).validate(doc)
EOF
}

# A clean ledger, in every format.
expect 0 "$DVI" audit
stdout_has "audit of 'Bracket consortium' (genesis sha256:"
stdout_has "  4 chains, $commits commits ($commits verified now, 0 before), $commits records, 0 anchors, 0 forks"
stdout_has "  0 errors, 0 warnings, 0 notes: PASS"
grep -qE "^  sha256:[0-9a-f]{12} +bureau7/s5 +80 +0 +70 job$" "$T/out" || fail "licence usage line"
expect 0 "$DVI" audit --format json
validate "$T/out"
[ "$(json_get '["summary"]["commits"]')" = "$commits" ] || fail "commits counted"
[ "$(json_get '["verdict"]')" = pass ] || fail "verdict"
python3 -c "
import json
r = json.load(open('$T/out'))
u = {l['id']: l for l in r['licences']}
assert u['$a']['used'] == 70 and u['$a']['quota'] == 80 and u['$a']['unit'] == 'job', u['$a']
assert u['$g']['allocated'] == 80 and u['$g']['used'] == 70, u['$g']
" || fail "licence usage in JSON"
cp "$T/out" clean.json
expect 0 "$DVI" --json audit
cmp -s "$T/out" clean.json || fail "--json and --format json differ"
# --output to a FIFO, and to stdout through a link of our own to /proc/self/fd/1 (a
# regression would replace that link, not /dev/stdout): written in place, the line on
# stderr when the report is stdout, and --json not printed twice.
mkfifo report.fifo
timeout 20 cat report.fifo > from-fifo.json &  # no writer ever (a rename over it): fails, not hangs
reader=$!
expect 0 "$DVI" audit --format json --output report.fifo
wait $reader || fail "nothing was written to the FIFO"
[ -p report.fifo ] || fail "--output replaced the FIFO with a regular file"
cmp -s from-fifo.json clean.json || fail "the report read from the FIFO"
stdout_has "pass: 0 errors, 0 warnings, 0 notes; report written to report.fifo"
ln -s /proc/self/fd/1 stdout
expect 0 "$DVI" --json audit --output stdout
[ -L stdout ] || fail "--output replaced the link to stdout"
cmp -s "$T/out" clean.json || fail "--json audit --output stdout is not the report, once"
expect 0 "$DVI" audit --format json --output stdout
cmp -s "$T/out" clean.json || fail "audit --output stdout is not the report alone"
stderr_is "pass: 0 errors, 0 warnings, 0 notes; report written to stdout"
expect 0 "$DVI" audit --format markdown
head -1 "$T/out" | grep -qx "## dvi audit: pass" || fail "markdown title"
stdout_has "| 4 | $commits | $commits | 0 | 0 | 0 | 0 | 0 |"
expect 0 "$DVI" audit --format json --output report.json
stdout_has "pass: 0 errors, 0 warnings, 0 notes; report written to report.json"
cmp -s report.json clean.json || fail "--output holds the report"
expect 0 "$DVI" -q audit
[ ! -s "$T/out" ] || fail "-q printed a report"
# --json with --output: the report in its --format in the file (JSON by default), and a
# summary of it on stdout; --json with another format and nowhere to write it is refused.
expect 0 "$DVI" --json audit --output report2.json
cmp -s report2.json clean.json || fail "--json --output holds the JSON report"
python3 -c "
import json; d = json.load(open('$T/out'))
assert d == {'verdict': 'pass', 'summary': json.load(open('clean.json'))['summary'],
             'output': {'path': 'report2.json', 'format': 'json'}}, d" || fail "--json --output prints a summary"
expect 0 "$DVI" --json audit --format html --output report.html
grep -q '<!DOCTYPE html>' report.html || fail "--json --format html --output writes HTML"
[ "$(json_get '["output"]["format"]')" = html ] || fail "the summary names the format"
expect 2 "$DVI" --json audit --format markdown
stderr_is "dvi: error: --json prints JSON, and --format asks for markdown
dvi: hint: write the markdown report with --output <file>, or leave out --json"
# A report with nowhere to go is refused before the audit runs (and writes its cache).
cache=$(stat -c '%i %y' ledger/dvi/audit-cache.json)
expect 2 "$DVI" audit --output nowhere/report.json
stderr_is "dvi: error: cannot write 'nowhere/report.json': no folder 'nowhere'"
mkdir a-folder
expect 2 "$DVI" audit --output a-folder
stderr_is "dvi: error: cannot write 'a-folder': it is a folder
dvi: hint: give a file name for the report"
[ "$(stat -c '%i %y' ledger/dvi/audit-cache.json)" = "$cache" ] || fail "a refused audit ran"
expect 2 "$DVI" audit --format pdf
stderr_is "dvi: error: unknown --format 'pdf'
dvi: hint: use text, json, markdown or html"
pass "a clean ledger in text, JSON (schema-valid), Markdown, to a file, quietly"

# Incremental: what an earlier audit verified is not verified again; --full does; a
# damaged cache is reported and rebuilt.
cache="$DVI_DIR/dvi/audit-cache.json"
[ -f "$cache" ] || fail "no audit cache"
summary() { python3 -c "import json; s = json.load(open('$T/out'))['summary']; print(s['verified'], s['cached'])"; }
expect 0 "$DVI" audit --format json
[ "$(summary)" = "0 $commits" ] || fail "a second audit verified again: $(summary)"
"$DVI" -q --key bureau7.pem print-verify --license "$a" --device S5-0412 --material-lot $lot --serial S-70b
commits=$((commits + 1))
expect 0 "$DVI" audit --format json
[ "$(summary)" = "1 $((commits - 1))" ] || fail "after one print: $(summary)"
expect 0 "$DVI" audit --format json --full
[ "$(summary)" = "$commits 0" ] || fail "--full: $(summary)"
sed -i 's/"seq":/"seq":1/' "$cache"
expect 0 "$DVI" audit --format json
[ "$(summary)" = "$commits 0" ] || fail "a damaged cache was used: $(summary)"
stderr_is "dvi: warning: the audit cache '$cache' is damaged; every commit is verified again"
expect 0 "$DVI" audit --format json
[ "$(summary)" = "0 $commits" ] || fail "the cache was not rebuilt: $(summary)"
# A cache of another version of dvi vouches for nothing: its rules were not these.
python3 - "$cache" <<'EOF'
import hashlib, json, sys
doc = json.load(open(sys.argv[1]))
doc.pop("checksum")
doc["format"] = "dvi-audit-cache@1"
body = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
doc["checksum"] = hashlib.sha256(body.encode()).hexdigest()
open(sys.argv[1], "w").write(json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
EOF
expect 0 "$DVI" audit --format json
[ "$(summary)" = "$commits 0" ] || fail "the cache of another version was used: $(summary)"
stderr_is "dvi: warning: the audit cache '$cache' was made by another version of dvi; every commit is verified again"
pass "incremental: only new commits are verified; --full; a damaged cache or one of another version is rebuilt"

# A warning passes, unless --strict.
DVI_TEST_DATE=2026-11-20T10:00:00Z "$DVI" -q --key bureau7.pem print-verify --license "$a" --device S5-0412 \
    --material-lot $lot --serial S-71
expect 0 "$DVI" audit
stdout_has "  0 errors, 1 warnings, 0 notes: PASS"
stdout_has "warning  clock-regression"
expect 1 "$DVI" audit --strict --format json
[ "$(json_get '["verdict"]')" = fail ] || fail "--strict verdict"
pass "warnings pass, --strict fails them"

# A tampered head, found by the threads that verify the 70+ commits.
ref=refs/dvi/chains/bureau7/s5
head=$(git -C "$DVI_DIR" rev-parse $ref)
git -C "$DVI_DIR" cat-file commit "$head" | sed 's/^print: /print: (edited) /' | git -C "$DVI_DIR" hash-object -t commit -w --stdin >new
git -C "$DVI_DIR" update-ref $ref "$(cat new)" "$head"
expect 1 "$DVI" audit --format json
validate "$T/out"
[ "$(json_get '["verdict"]')" = fail ] || fail "tampered verdict"
python3 -c "
import json
f = [x for x in json.load(open('$T/out'))['findings'] if x['severity'] == 'error']
assert [x['code'] for x in f] == ['bad-signature'], f
assert f[0]['chain'] == 'bureau7/s5' and f[0]['commit'] == '$(cat new)', f[0]
" || fail "the tampered head"
expect 1 "$DVI" audit --format markdown
head -1 "$T/out" | grep -qx "## dvi audit: fail" || fail "markdown fail title"
stdout_has "| error | \`bad-signature\` | bureau7/s5 #"
expect 1 "$DVI" audit
stdout_has ": FAIL"
pass "a tampered ledger fails, in every format"

# A chain rewritten from its tenth-newest commit on, each later commit keeping its old
# signature (on a copy): exactly the ten rewritten commits are reported, whether their
# signatures were checked while the chain was walked or after.
cp -a "$DVI_DIR" "$T/rewritten"
parent=
for c in $(git -C "$T/rewritten" rev-list --first-parent -n 10 $ref | tac); do
    git -C "$T/rewritten" cat-file commit "$c" >"$T/body"
    if [ -z "$parent" ]; then sed -i 's/^print: /print: (rewritten) /' "$T/body"; else sed -i "s/^parent .*/parent $parent/" "$T/body"; fi
    parent=$(git -C "$T/rewritten" hash-object -t commit -w "$T/body")
    echo "$parent" >>rewritten.list
done
git -C "$T/rewritten" update-ref $ref "$parent"
for full in --full ""; do
    expect 1 "$DVI" -C "$T/rewritten" audit --format json $full
    python3 - "$T/out" "$T/rewritten" <<'EOF2' || fail "the rewritten chain ($full)"
import json, sys
f = [x for x in json.load(open(sys.argv[1]))["findings"] if x["severity"] == "error"]
assert {x["code"] for x in f} == {"bad-signature"}, f
assert sorted(x["commit"] for x in f) == sorted(open("rewritten.list").read().split()), f
EOF2
done
rm -rf "$T/rewritten" rewritten.list body
pass "a chain rewritten from its middle: every rewritten commit, no other"

# --since <anchor>: only what came after the anchor's heads is reported (the ledger is
# still replayed whole): the tampered head before it is left out, a later warning is not.
anchor=$("$DVI" --json --key acme.pem anchor | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"])')
expect 0 "$DVI" audit --since "${anchor:7:10}" --format json
validate "$T/out"
[ "$(json_get '["since"]')" = "$anchor" ] || fail "--since names its anchor"
[ "$(json_get '["before_since"]')" = 2 ] || fail "the findings before the anchor (the tampered head, the earlier warning): $(json_get '["before_since"]')"
[ "$(json_get '["findings"].__len__()')" = 0 ] || fail "findings before the anchor shown: $(json_get '["findings"]')"
DVI_TEST_DATE=2026-11-19T10:00:00Z "$DVI" -q --key bureau7.pem print-verify --license "$a" --device S5-0412 \
    --material-lot $lot --serial S-72
expect 1 "$DVI" audit --since "$anchor" --strict
stdout_has "  findings since anchor $anchor (2 before it not shown)"
stdout_has "warning  clock-regression"
expect 1 "$DVI" audit --since "$anchor" --strict --format markdown
stdout_has "Findings since anchor \`$anchor\` (2 before it not shown)."
expect 1 "$DVI" audit --since "$anchor" --strict --format html
stdout_has "Findings since anchor <span class=\"id\">$anchor</span> (2 before it not shown)."
expect 2 "$DVI" audit --since "${a:7:10}"
stderr_is "dvi: error: --since: record $a is a license, not an anchor"
pass "--since: only what came after the anchor"

# Every finding code the sources can emit is documented in dvi-audit(1), and only those.
python3 - "$DVI_SOURCE_DIR" <<'EOF2' || fail "finding codes and dvi-audit(1) differ"
import re, sys
src = sys.argv[1]
audit = open(f"{src}/lib/src/audit.cpp").read()
ledger = open(f"{src}/lib/src/ledger.cpp").read()
emitted = set(re.findall(r'add\("([a-z-]+)"', audit))
emitted |= set(re.findall(r'add\(([a-z]+\.parent\.empty\(\) \? )?"([a-z-]+)" : "([a-z-]+)"', audit) and
               [c for t in re.findall(r'\? "([a-z-]+)" : "([a-z-]+)"', audit) for c in t])
emitted |= set(re.findall(r'Finding\{"([a-z-]+)"', audit)) | set(re.findall(r'f\.code = "([a-z-]+)"', audit))
emitted |= set(re.findall(r'add\("([a-z-]+)", ', ledger)) | set(re.findall(r'code = "([a-z-]+)"', ledger))
man = open(f"{src}/man/dvi-audit.1").read()
section = man.split(".SH FINDINGS")[1].split(".SH EXIT STATUS")[0]
documented = {c.replace("\\-", "-") for c in re.findall(r'^\.BR (\S+) ', section, re.M)}
assert emitted == documented, (sorted(emitted - documented), sorted(documented - emitted))
print(len(documented), "codes")
EOF2
pass "every finding code is documented"
