#!/usr/bin/env bash
# examples/agent/print-agent.sh, the printer-side script: an allowed job sends exactly the
# sealed G-code to the printer command; a refused one sends nothing and exits 1.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
g=$(grant --to bureau7 --quota 5 --not-before 2026-11-01 --not-after 2026-12-31)
a=$(allocate "$g" bureau7/s5 1)
agent=$DVI_SOURCE_DIR/examples/agent/print-agent.sh
export DVI_KEY=$T/bureau7.pem PRINTER_DEVICE=S5-0412 PRINTER_OPERATOR="J. Doe"
export PRINTER_SEND='cp "$1" "$PRINTER_SPOOL/job-$(ls "$PRINTER_SPOOL" | wc -l).gcode"' PRINTER_SPOOL=$T/spool
mkdir spool
expect 0 env DVI="$DVI" "$agent" "$a" polyfil/PETG-2026-0117 BRK-1
cmp -s spool/job-0.gcode "$EXAMPLE/recipes/mini/bracket.gcode" || fail "the printer did not get the sealed G-code"
"$DVI" --json log bureau7/s5 --type print | python3 -c '
import json, sys, subprocess, os
e = json.load(sys.stdin)["entries"][0]
r = json.loads(subprocess.run([os.environ["DVI"], "--json", "show", e["record"]], capture_output=True).stdout)["record"]
assert r["decision"] == "allowed" and r["operator"] == "J. Doe" and r["serials"] == ["BRK-1"], r
' || fail "the print record"
pass "an allowed job: the sealed G-code sent, the print recorded with its operator"

expect 1 env DVI="$DVI" "$agent" "$a" polyfil/PETG-2026-0117 BRK-2
stderr_has "print refused [quota-exhausted]"
[ "$(ls spool | wc -l)" = 1 ] || fail "a refused job reached the printer"
expect 129 env DVI="$DVI" "$agent" "$a"
stderr_is "usage: print-agent.sh <licence> <material-lot> [<serial>...]"
pass "a refused job sends nothing"
