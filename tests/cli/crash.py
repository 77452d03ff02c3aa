#!/usr/bin/env python3
"""SIGKILL dvi at random moments of seal, print-verify, sync and anchor.

Run from a directory prepared by t0090-crash.sh (ledger/, peer/, keys, manifests).
Each iteration starts one command and kills it after a random delay drawn from
0 to 1.3 times that command's measured duration, so some kills land before the
append, some in it and some after it. After every iteration both ledgers must open,
`dvi audit` must find no errors, git fsck must find no corruption, and every record
whose command exited 0 must be in the ledger (and for sync, on both sides).

usage: crash.py <iterations> [<seed>]
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

DVI = os.environ["DVI"]
LOT = "polyfil/PETG-2026-0117"


def run(args, check=True, **kw):
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def heads(ledger):
    out = run(["git", "-C", ledger, "for-each-ref", "--format=%(refname) %(objectname)", "refs/dvi/chains"]).stdout
    return dict(line.split(" ") for line in out.splitlines())


def variant(manifest, old, new, name):
    """A copy of an example manifest with one line changed, beside it (its paths resolve)."""
    with open(f"bracket/{manifest}.yaml") as f:
        text = f.read().replace(old, new)
    with open(f"bracket/{name}.yaml", "w") as f:
        f.write(text)
    return f"bracket/{name}.yaml"


class Ops:
    def __init__(self, alloc):
        self.alloc = alloc
        self.n = 0

    def next_args(self, kind):
        """The command line of one operation, unique per iteration."""
        self.n += 1
        i = self.n
        if kind == "seal-lot":
            return ["--key", "polyfil.pem", "seal",
                    variant("material-lot", "lot: PETG-2026-0117", f"lot: CRASH-{i:05d}", f"lot{i}")]
        if kind == "seal-dossier":
            return ["--key", "acme.pem", "seal", variant("dossier", "revision: C", f"revision: K{i}", f"dossier{i}")]
        if kind == "print-verify":
            extra = ["--output", f"given/print{i}.gcode"] if i % 2 else []
            return ["--key", "bureau7.pem", "print-verify", "--license", self.alloc, "--device", "S5-0412",
                    "--material-lot", LOT, "--recipe", "mini-petg", "--serial", f"SN-{i:05d}"] + extra
        if kind == "anchor":
            return ["--key", "acme.pem", "anchor"]
        if kind == "sync":
            # The peer writes first (unkilled), so each sync has something to carry.
            run([DVI, "-q", "-C", "peer", "--key", "polyfil2.pem", "anchor"])
            return ["sync", os.path.abspath("peer")]
        raise ValueError(kind)


def acknowledged(kind, stdout):
    doc = json.loads(stdout)
    if kind.startswith("seal"):
        return [s["record"] for s in doc["sealed"]]
    if kind == "sync":
        return []  # what a sync acknowledges is both sides' heads, checked apart
    return [doc["record"]]


def check(acked, synced, it):
    for ledger in ("ledger", "peer"):
        p = run([DVI, "-C", ledger, "log"], check=False)
        if p.returncode != 0:
            sys.exit(f"FAIL: iteration {it}: {ledger} does not open: {p.stderr}")
        p = run([DVI, "--json", "-C", ledger, "audit"], check=False)
        if p.returncode != 0:
            sys.exit(f"FAIL: iteration {it}: audit of {ledger} exited {p.returncode}\n{p.stdout[:3000]}")
        errors = json.loads(p.stdout)["summary"]["errors"]
        if errors:
            sys.exit(f"FAIL: iteration {it}: audit of {ledger} found {errors} errors")
        p = run(["git", "-C", ledger, "fsck", "--no-dangling", "--no-progress"], check=False)
        if p.returncode != 0:
            sys.exit(f"FAIL: iteration {it}: git fsck of {ledger}: {p.stderr[:2000]}")
    present = set()
    for ref, commit in heads("ledger").items():
        log = run(["git", "-C", "ledger", "log", "--format=%(trailers:key=Dvi-Record,valueonly)", commit]).stdout
        present.update(line.strip() for line in log.splitlines() if line.strip())
    lost = [r for r in acked if r not in present]
    if lost:
        sys.exit(f"FAIL: iteration {it}: acknowledged records missing: {lost}")
    for ledger, want in synced:
        have = heads(ledger)
        for ref, commit in want.items():
            if run(["git", "-C", ledger, "merge-base", "--is-ancestor", commit, have.get(ref, "0" * 40)],
                   check=False).returncode != 0:
                sys.exit(f"FAIL: iteration {it}: {ref} at {commit} acknowledged by sync, missing in {ledger}")


def main():
    iterations = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"seed {seed}", flush=True)
    os.makedirs("given", exist_ok=True)
    ops = Ops(open("alloc").read().strip())
    kinds = ["seal-lot", "seal-dossier", "print-verify", "anchor", "sync"]
    env = dict(os.environ, DVI_DIR=os.path.abspath("ledger"))

    # Each kind once to completion: its duration sets the range of kill delays.
    duration, acked, synced = {}, [], []
    for kind in kinds:
        before = (heads("ledger"), heads("peer"))
        t0 = time.monotonic()
        p = run([DVI, "--json"] + ops.next_args(kind), env=env)
        duration[kind] = time.monotonic() - t0
        acked += acknowledged(kind, p.stdout)
        if kind == "sync":
            synced += [("ledger", before[1]), ("peer", before[0])]
    print("durations: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in duration.items()), flush=True)

    killed = completed = landed = 0
    for it in range(1, iterations + 1):
        kind = rng.choice(kinds)
        args = ops.next_args(kind)
        before = (heads("ledger"), heads("peer"))
        proc = subprocess.Popen([DVI, "--json"] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(rng.uniform(0, 1.3 * duration[kind]))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        if proc.returncode == 0:
            completed += 1
            acked += acknowledged(kind, out)
            if kind == "sync":
                synced += [("ledger", before[1]), ("peer", before[0])]
        elif proc.returncode == -signal.SIGKILL:
            killed += 1
            if heads("ledger") != before[0]:
                landed += 1  # killed after its commit was written: present, not acknowledged
        else:
            sys.exit(f"FAIL: iteration {it}: {kind} exited {proc.returncode}\n{err}\n{out[:6000]}")
        check(acked, synced, it)
    print(f"{iterations} iterations: {killed} killed mid-run ({landed} after their append), {completed} completed; "
          f"{len(acked)} acknowledged records all present; audit and fsck clean after each", flush=True)


if __name__ == "__main__":
    main()
