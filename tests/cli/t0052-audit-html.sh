#!/usr/bin/env bash
# dvi audit --format html: one self-contained file (no script, nothing fetched), opened in
# headless Chromium: a screenshot is taken, and the rendered page's text holds the
# verdict, the findings, the quota usage and the picture of the chains.
. "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || fail "chromium is needed (scripts/install-deps installs it)"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
keys s6
"$DVI" -q roster add bureau7 --writer s6 --pubkey s6.pem.pub
lot=polyfil/PETG-2026-0117
g=$(grant --to bureau7 --quota 10 --not-before 2026-11-01 --not-after 2026-12-31)
a=$(allocate "$g" bureau7/s5 3)
for i in 1 2; do
    DVI_TEST_DATE=2026-11-2${i}T10:00:00Z "$DVI" -q --key bureau7.pem print-verify --license "$a" --device S5-0412 \
        --material-lot $lot --serial "H-$i"
done
DVI_TEST_DATE=2026-11-24T10:00:00Z "$DVI" -q --key bureau7.pem print-verify --license "$a" --device S5-0412 \
    --material-lot polyfil/PETG-2026-0131 || true
DVI_TEST_DATE=2026-11-25T10:00:00Z "$DVI" -q --key acme.pem anchor
# The second printer agent spends the first one's allocation (a bypassed agent).
"$DVI" -q key export s6.pem --out s6.ssh
fp=$("$DVI" --json key show s6.pem | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
body=$("$DVI" --json log bureau7/s5 --type print | python3 -c '
import json, subprocess, sys, os
e = [x for x in json.load(sys.stdin)["entries"] if "allowed" in x["summary"]][0]
r = json.loads(subprocess.run([os.environ["DVI"], "--json", "show", e["record"]], capture_output=True).stdout)["record"]
for k in ("type", "schema", "issuer", "created", "seq", "seen"): r.pop(k)
r["serials"] = ["H-9"]
print(json.dumps(r))')
python3 "$DVI_SOURCE_DIR/tests/cli/forge.py" "$DVI_DIR" bureau7/s6 "$T/s6.ssh" "$fp" 2026-11-26T10:00:00Z print "$body" >/dev/null

expect 1 "$DVI" audit --format html --output report.html
stdout_has "fail: 1 errors, 0 warnings, 0 notes; report written to report.html"
grep -qi '<script' report.html && fail "the report holds a script"
grep -qiE '(src|href)="(https?:)?//' report.html && fail "the report fetches something"
pass "a self-contained HTML file"

# Headless Chromium renders it: a screenshot, and the text of the rendered page.
chrome=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$T/chrome")
timeout 120 "${chrome[@]}" --window-size=1200,1600 --screenshot="$T/shot.png" "file://$T/report.html" >/dev/null 2>&1 ||
    fail "chromium could not take a screenshot"
python3 - "$T/shot.png" <<'EOF' || fail "the screenshot is not a 1200x1600 PNG with content"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1200, 1600), (w, h)
assert len(data) > 20000, len(data)  # a blank page compresses to a few KB
EOF
timeout 120 "${chrome[@]}" --dump-dom "file://$T/report.html" >dom.html 2>/dev/null || fail "chromium could not load the page"
python3 - "$T/dom.html" "$a" <<'EOF' || fail "the rendered page lacks what the audit found"
import html.parser, sys
class Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self.svg = [], 0
    def handle_starttag(self, tag, attrs):
        self.svg += tag in ("circle", "path", "rect")
    def handle_data(self, d):
        self.parts.append(d)
t = Text()
t.feed(open(sys.argv[1]).read())
text = " ".join(" ".join(t.parts).split())
for want in ("dvi audit of Bracket consortium FAIL", "allocation-spent-by-other",
             "is addressed to 'bureau7/s5', but 'bureau7/s6' printed on it", "Quota usage",
             sys.argv[2][:19], "The chains over time", "bureau7/s6", "print refused", "anchor", "fork"):
    assert want in text, want
assert t.svg >= 8, t.svg  # marks of prints, the anchor, the legend
EOF
pass "headless Chromium renders the findings, quota usage and the chains"
