#!/usr/bin/env python3
"""Runs the bad-input corpus (tests/bad-input/cases): each case's command, its exit status,
its first line of stderr, and that the ledger is as it was (refs, every file in it, its
config). `dvi` in a command is the binary under test; $VARS come from the environment.

usage: bad_input.py <cases> <ledger>      (BAD_INPUT_RECORD=1 prints what each case gives)
"""
import hashlib
import os
import subprocess
import sys


def cases(path):
    case, out = {}, []
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if line.startswith("#"):
            continue
        if not line.strip():
            if case:
                out.append(case)
            case = {}
            continue
        key, _, value = line.partition(": ")
        if key not in ("case", "run", "exit", "error"):
            sys.exit(f"{path}: unknown field in '{line}'")
        case[key] = value
    if case:
        out.append(case)
    return out


def snapshot(ledger):
    """Everything a refused command must leave as it was. Lock files (flock targets) and
    empty folders are not state."""
    h = hashlib.sha256()
    h.update(subprocess.run(["git", "-C", ledger, "for-each-ref"], capture_output=True).stdout)
    for root, dirs, files in os.walk(ledger):
        dirs.sort()
        if os.path.relpath(root, ledger).startswith(os.path.join("dvi", "locks")):
            continue
        for f in sorted(files):
            p = os.path.join(root, f)
            h.update(os.path.relpath(p, ledger).encode() + b"\0")
            if not p.startswith(os.path.join(ledger, "objects")):
                h.update(open(p, "rb").read())
    return h.hexdigest()


def main():
    path, ledger = sys.argv[1], sys.argv[2]
    record = os.environ.get("BAD_INPUT_RECORD") == "1"
    failures, names = [], set()
    all_cases = cases(path)
    for c in all_cases:
        name = c.get("case")
        if not name or "run" not in c or (not record and ("exit" not in c or "error" not in c)):
            sys.exit(f"{path}: case '{name}' needs case, run, exit and error")
        if name in names:
            sys.exit(f"{path}: case '{name}' twice")
        names.add(name)
        before = snapshot(ledger)
        p = subprocess.run(["bash", "-c", c["run"]], capture_output=True, text=True, errors="replace")
        first = p.stderr.splitlines()[0] if p.stderr else ""
        if record:
            print(f"case: {name}\nrun: {c['run']}\nexit: {p.returncode}\nerror: {first}\n")
            continue
        problems = []
        if str(p.returncode) != c["exit"]:
            problems.append(f"exit {p.returncode}, expected {c['exit']}")
        want = os.path.expandvars(c["error"])
        if first != want:
            problems.append(f"stderr '{first}', expected '{want}'")
        if snapshot(ledger) != before:
            problems.append("the ledger changed")
        if problems:
            failures.append(f"{name}: " + "; ".join(problems) + (f"\n  {p.stderr.strip()}" if p.stderr else ""))
    if record:
        return
    if failures:
        sys.exit("FAIL: " + "\nFAIL: ".join(failures))
    print(f"{len(all_cases)} bad inputs: exact exit status and message, ledger unchanged")


if __name__ == "__main__":
    main()
