#!/usr/bin/env python3
"""Latency of a line-oriented process (dvi print-verify --batch, git cat-file --batch-check).

lineclock.py <runs> <warm-up> <expect> <line> -- <command>...

Starts the command once, then writes <line> to it <warm-up> + <runs> times, each time
waiting for its one line of answer, which must contain <expect>. Prints the milliseconds
of each of the last <runs> exchanges, one a line, then "peak <MB>": the command's peak
resident memory, and "anon <MB>": the most of it that was its own (RssAnon), not pages of
files it maps (a ledger's pack indexes). An answer that takes more than 10 minutes stops it. Not run by CTest;
tests/bench/run.sh uses it.
"""
import resource
import select
import subprocess
import sys
import time


def own_memory_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def main():
    runs, warm, expect, line = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if sys.argv[5] != "--":
        sys.exit("usage: lineclock.py <runs> <warm-up> <expect> <line> -- <command>...")
    proc = subprocess.Popen(sys.argv[6:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    times = []
    anon = 0
    for i in range(warm + runs):
        start = time.perf_counter()
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        if not select.select([proc.stdout], [], [], 600)[0]:
            proc.kill()
            sys.exit(f"lineclock.py: no answer {i + 1} after 10 minutes")
        answer = proc.stdout.readline()
        took = (time.perf_counter() - start) * 1000
        if expect not in answer:
            proc.kill()
            sys.exit(f"lineclock.py: answer {i + 1} lacks {expect!r}: {answer.strip()[:300]!r}")
        if i >= warm:
            times.append(took)
        anon = max(anon, own_memory_kb(proc.pid))
    proc.stdin.close()
    proc.wait()
    for t in times:
        print(f"{t:.2f}")
    print(f"peak {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}")
    print(f"anon {anon / 1024:.0f}")


if __name__ == "__main__":
    main()
