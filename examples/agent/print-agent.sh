#!/usr/bin/env bash
# The agent beside a printer: ask dvi whether this job may be printed and, only if it may,
# send the sealed G-code (the bytes in the ledger, never a file from elsewhere) to the
# printer. Every attempt, allowed or refused, is recorded in the agent's own chain.
#
#   print-agent.sh <licence> <material-lot> [<serial>...]
#
# Environment:
#   DVI_DIR         the printer's copy of the ledger (synced now and then, or by USB stick)
#   DVI_KEY         the printer agent's signing key (a writer of the printer's partner)
#   PRINTER_DEVICE  the printer's serial, as registered in the roster (e.g. S5-0412)
#   PRINTER_SEND    a shell command that sends the G-code file "$1" to the printer, e.g.
#                   PrusaLink:  curl -fsS -X PUT -H "X-Api-Key: $PRUSALINK_KEY" -H 'Print-After-Upload: ?1'
#                                    --data-binary @"$1" http://printer.local/api/v1/files/usb/dvi-job.gcode
#                   OctoPrint:  curl -fsS -H "X-Api-Key: $OCTOPRINT_KEY" -F file=@"$1" -F print=true
#                                    http://octopi.local/api/files/local
#   PRINTER_OPERATOR  optional: who runs the job, recorded with it
#
# Exit status: dvi print-verify's (0 sent, 1 refused with a reason code on stderr, 2 bad
# input, 128 fatal), or the send command's own failure.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: print-agent.sh <licence> <material-lot> [<serial>...]" >&2; exit 129; }
: "${PRINTER_DEVICE:?set PRINTER_DEVICE to the serial of the printer in the roster}"
: "${PRINTER_SEND:?set PRINTER_SEND to the shell command that sends the G-code file \"\$1\" to the printer}"
dvi=${DVI:-dvi}
licence=$1 lot=$2
shift 2
args=(print-verify --license "$licence" --device "$PRINTER_DEVICE" --material-lot "$lot")
for s in "$@"; do args+=(--serial "$s"); done
[ -z "${PRINTER_OPERATOR:-}" ] || args+=(--operator "$PRINTER_OPERATOR")
# dvi writes the sealed G-code to a private temporary file, puts its path for {} (here:
# the send command's "$1"), runs the command and removes the file; the command is never
# run for a refused job.
exec "$dvi" "${args[@]}" -- sh -c "$PRINTER_SEND" print-agent {}
