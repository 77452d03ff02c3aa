#!/usr/bin/env bash
# dvi print-verify --batch: one job a line of standard input, one JSON line out for each,
# the exit status the worst of the jobs'; bad lines refused one by one with nothing
# recorded; the hand-over per job; the refs read afresh for every job.
. "$(dirname "$0")/lib.sh"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
lot=polyfil/PETG-2026-0117
g=$(grant --to bureau7 --quota 20 --not-before 2026-11-01 --not-after 2026-12-31)
a=$(allocate "$g" bureau7/s5 3)
batch() { "$DVI" --key bureau7.pem print-verify --batch "$@"; }
# line <n> <python expression on r>: the JSON line of job <n> of stdout satisfies it.
line() {
    python3 - "$T/out" "$1" "$2" <<'EOF' || fail "line $1 of the output: $3"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in lines if x["line"] == int(sys.argv[2])]
assert len(r) == 1, lines
r = r[0]
assert eval(sys.argv[3]), r
EOF
}
# record_of <n>: the record id that job <n> of stdout recorded.
record_of() {
    python3 -c 'import json, sys
print([r for r in map(json.loads, open(sys.argv[1])) if r["line"] == int(sys.argv[2])][0]["record"])' "$T/out" "$1"
}

# Allowed jobs, a dry run, blank lines skipped, a refusal, and every kind of bad line.
n=$(chain_length bureau7/s5)
long=$(head -c 70000 /dev/zero | tr '\0' x)
printf '%s\n' \
    "{\"license\": \"$a\", \"serials\": [\"BRK-1\"], \"operator\": \"J. Doe\"}" \
    "" \
    "{\"license\": \"${a:7:8}\", \"dry_run\": true}" \
    "{\"license\": \"$a\"}" \
    "not json" \
    "{\"license\": \"$a\", \"license\": \"$a\"}" \
    "{\"license\": \"$a\", \"serial\": \"BRK-2\"}" \
    "{\"license\": \"$a\", \"serials\": \"BRK-2\"}" \
    "{\"serials\": [\"BRK-2\"]}" \
    "{\"license\": \"$a\", \"operator\": \"\"}" \
    "{\"license\": \"$long\"}" \
    "{\"license\": \"$a\", \"output\": \"$T/job.gcode\"}" \
    "{\"license\": \"$a\"}" \
    "{\"license\": \"$a\", \"output\": \"$T/job.gcode\"}" \
    "{\"license\": \"$a\", \"file\": \"/dev/null\"}" \
    "{\"license\": \"$a\", \"operator\": \"J\\u0000Doe\"}" \
    "{\"license\": \"$a\", \"serials\": [\"BRK-\\u202e9\"]}" \
    "{\"license\": \"$a\", \"file\": \"\"}" \
    "{\"license\": \"$a\", \"output\": \"\"}" >jobs
expect 2 batch --device S5-0412 --material-lot $lot <jobs
[ "$(wc -l <"$T/out")" = 18 ] || fail "one output line for each of the 18 jobs"
line 1 'r["decision"] == "allowed" and r["exit"] == 0 and r["used"] == 1 and r["quota"] == 3 and r["seq"] > 0' \
    "the first job allowed"
"$DVI" --json show "$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["record"])' "$T/out")" |
    python3 -c '
import json, sys
r = json.load(sys.stdin)["record"]
assert r["decision"] == "allowed" and r["serials"] == ["BRK-1"] and r["operator"] == "J. Doe", r
' || fail "the first job's record"
line 3 'r["decision"] == "allowed" and r["dry_run"] and r["record"] is None and r["used"] == 2' "a dry run"
line 4 'r["decision"] == "allowed" and r["used"] == 2' "the second print"
"$DVI" --json show "$(record_of 4)" | python3 -c '
import json, sys
r = json.load(sys.stdin)["record"]
assert "serials" not in r and "operator" not in r, r
' || fail "the first job's serials or operator leaked into the second"
line 5 'r["exit"] == 2 and r["error"] == "a job must be one JSON object on one line" and "decision" not in r' \
    "not JSON"
line 6 'r["exit"] == 2 and r["error"] == "the job gives \"license\" twice"' "a repeated field"
line 7 'r["exit"] == 2 and r["error"] == "the job has an unknown field \"serial\""' "an unknown field"
line 8 'r["exit"] == 2 and r["error"] == "the job'"'"'s \"serials\" must be a list of strings"' "a field of the wrong type"
line 9 'r["exit"] == 2 and r["error"] == "the job has no \"license\"" and r["hint"] == "give it on the line or as --license"' \
    "a missing licence"
line 10 'r["exit"] == 2 and r["error"] == "the job'"'"'s \"operator\" is empty"' "an empty operator"
line 11 'r["exit"] == 2 and r["error"] == "the job is longer than 65536 bytes"' "a line too long"
line 12 'r["decision"] == "allowed" and r["used"] == 3' "the third print, to --output"
cmp -s "$T/job.gcode" "$EXAMPLE/recipes/mini/bracket.gcode" || fail "the job's output is not the sealed G-code"
line 13 'r["decision"] == "refused" and r["code"] == "quota-exhausted" and r["exit"] == 1 and r["record"]' \
    "the quota used up"
line 14 'r["exit"] == 2 and r["error"] == "refusing to overwrite '"'$T/job.gcode'"'"' "an output that exists"
line 15 'r["exit"] == 2 and r["error"] == "--file '"'/dev/null'"' is not a regular file"' "a file that is a device"
line 16 'r["exit"] == 2 and r["error"] == "the job'"'"'s \"operator\" holds a control character"' "a NUL"
line 17 'r["exit"] == 2 and r["error"] == "the job'"'"'s \"serials\" hold a control character"' "a bidirectional override"
line 18 'r["exit"] == 2 and r["error"] == "the job'"'"'s \"file\" is empty"' "an empty file (not a print without the comparison)"
line 19 'r["exit"] == 2 and r["error"] == "the job'"'"'s \"output\" is empty"' "an empty output (not a print handed to nobody)"
stderr_has "dvi: error: line 5: a job must be one JSON object on one line"
stderr_has "dvi: error: line 11: the job is longer than 65536 bytes"
stderr_has "dvi: error: line 13: print refused [quota-exhausted]: the licence's quota is used up: 3 of 3 jobs printed"
[ "$(chain_length bureau7/s5)" = $((n + 4)) ] || fail "three prints and one refusal recorded, nothing for the bad lines"
pass "one JSON line a job, bad lines refused one by one and unrecorded, the worst status"

# Only allowed jobs: status 0. A command after -- gets each allowed job's G-code, with
# /dev/null for input (the jobs are dvi's); its output goes to standard error, so
# standard output holds the result lines only.
b=$(allocate "$g" bureau7/s5 2)
printf '{"license": "%s", "file": "%s"}\r\n{"license": "%s", "serials": ["BRK-9"], "operator": "J. Doe"}' \
    "$b" "$EXAMPLE/recipes/mini/bracket.gcode" "$b" >jobs
expect 0 batch --license "$a" --device S5-0412 --material-lot $lot --operator "Night shift" -- \
    sh -c 'test "$(readlink /proc/self/fd/0)" = /dev/null && echo noise && cat "$1" >>"$0"' "$T/sent" {} <jobs
[ "$(wc -l <"$T/out")" = 2 ] && ! grep -q noise "$T/out" || fail "the command's output reached standard output"
grep -qx noise "$T/err" || fail "the command's output is not on standard error"
cat "$EXAMPLE/recipes/mini/bracket.gcode" "$EXAMPLE/recipes/mini/bracket.gcode" | cmp -s - "$T/sent" ||
    fail "the command did not get the sealed G-code of each job"
for job in "1 Night shift" "2 J. Doe"; do
    "$DVI" --json show "$(record_of "${job%% *}")" | python3 -c '
import json, sys
r = json.load(sys.stdin)["record"]
assert r["operator"] == sys.argv[1], r
' "${job#* }" || fail "job ${job%% *}: the operator is not '${job#* }'"
done
expect 0 batch --device S5-0412 --material-lot $lot </dev/null
[ ! -s "$T/out" ] || fail "no jobs, no output"
pass "a command for every allowed job, its output on standard error, its input empty; --operator a default"

# A dry run from the command line cannot be lifted by a line; a dry-run job of a batch
# with a command hands nothing over; a command that fails is the job's error (128).
n=$(chain_length bureau7/s5)
d=$(allocate "$g" bureau7/s5 3)
printf '{"license": "%s"}\n{"license": "%s", "dry_run": false}\n' "$d" "$d" >jobs
expect 2 batch --dry-run --device S5-0412 --material-lot $lot <jobs
line 1 'r["decision"] == "allowed" and r["dry_run"] and r["exit"] == 0' "a dry run"
line 2 'r["exit"] == 2 and r["error"] == "the batch is a dry run (--dry-run): no job of it is recorded"' "dry_run false"
[ "$(chain_length bureau7/s5)" = "$n" ] || fail "a dry-run batch recorded something"
printf '{"license": "%s", "dry_run": true}\n{"license": "%s"}\n' "$d" "$d" >jobs
expect 128 batch --device S5-0412 --material-lot $lot -- false <jobs
line 1 'r["decision"] == "allowed" and r["dry_run"] and r["exit"] == 0' "a dry-run job with a command"
line 2 'r["decision"] == "allowed" and r["record"] and r["exit"] == 128 and r["error"] == "the print is recorded as allowed, but '"'false'"' exited with status 1"' \
    "a command that fails"
expect 2 "$DVI" --key nowhere.pem print-verify --batch --dry-run -- true </dev/null
stderr_is "dvi: error: --dry-run hands nothing over: drop --output and the command"
pass "--dry-run a ceiling; a dry-run job hands nothing over; a failed hand-over; option checks before the key"

# An answer that cannot be written stops the batch (128) after the job it answers.
n=$(chain_length bureau7/s5)
printf '{"license": "%s"}\n{"license": "%s"}\n' "$d" "$d" >jobs
got=0
batch --device S5-0412 --material-lot $lot <jobs >&- 2>"$T/err" || got=$?
[ "$got" = 128 ] || fail "a closed standard output: status $got, not 128"
stderr_has "dvi: error: cannot write the answer to line 1: Bad file descriptor"
[ "$(chain_length bureau7/s5)" = $((n + 1)) ] || fail "jobs went on after an answer could not be written"
pass "an answer that cannot be written stops the batch"

# SIGTERM while a job runs (hashing a large --file) waits for its answer, then stops dvi.
truncate -s 1G big.gcode
python3 - "$DVI" "$d" "$lot" "$T/big.gcode" <<'EOF' || fail "SIGTERM during a job"
import json, signal, subprocess, sys, time
dvi, lic, lot, big = sys.argv[1:]
p = subprocess.Popen([dvi, "--key", "bureau7.pem", "print-verify", "--batch", "--device", "S5-0412",
                      "--material-lot", lot], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, text=True)
def send(job):
    p.stdin.write(json.dumps(job) + "\n")
    p.stdin.flush()
send({"license": lic, "dry_run": True})  # dvi has started once this is answered
assert json.loads(p.stdout.readline())["exit"] == 0
send({"license": lic, "file": big})  # hashing 1 GiB takes longer than the pause below
time.sleep(0.1)
p.send_signal(signal.SIGTERM)
answer = json.loads(p.stdout.readline())
assert answer["code"] == "file-mismatch" and answer["record"], answer
assert p.wait() == -signal.SIGTERM, p.returncode
EOF
pass "SIGTERM during a job: the job is answered, then dvi stops"

# Every job reads the refs afresh: a licence revoked by another process after a dry run
# (which appends nothing, so nothing else would make the batch read them again) refuses
# the next job.
c=$(allocate "$g" bureau7/s5 5)
python3 - "$DVI" "$c" "$lot" <<'EOF' || fail "a revocation between two jobs"
import json, subprocess, sys
dvi, lic, lot = sys.argv[1:]
p = subprocess.Popen([dvi, "--key", "bureau7.pem", "print-verify", "--batch", "--device", "S5-0412",
                      "--material-lot", lot], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, text=True)
def job(**fields):
    p.stdin.write(json.dumps({"license": lic, **fields}) + "\n")
    p.stdin.flush()
    return json.loads(p.stdout.readline())
first = job(dry_run=True)
assert first["decision"] == "allowed", first
subprocess.run([dvi, "-q", "--key", "bureau7desk.pem", "license", "revoke", lic, "--reason", "contract ended"], check=True)
second = job()
assert second["decision"] == "refused" and second["code"] == "license-revoked", second
p.stdin.close()
assert p.wait() == 1
EOF
pass "a licence revoked after a dry run refuses the next job"

# Usage: the single job needs its three options; --batch takes no per-job option.
expect 129 "$DVI" --key bureau7.pem print-verify --device S5-0412 --material-lot $lot
stderr_is "dvi: error: --license is required
dvi: hint: see 'dvi print-verify -h'"
expect 129 batch --serial BRK-1 </dev/null
stderr_has "dvi: error: --serial excludes --batch"
expect 2 "$DVI" --key nowhere.pem print-verify --batch </dev/null
stderr_is "dvi: error: cannot read 'nowhere.pem': No such file or directory"
pass "usage errors; a key that cannot be read stops the batch before any job"
