#!/usr/bin/env python3
"""Appends a record to a chain with stock git only, as a writer that bypasses dvi would:
the record in canonical JSON, the chain's cumulative tree, chain.json, and a commit
signed with the writer's OpenSSH key by `git commit-tree -S`. For the audit's tamper
corpus: the records it writes are properly signed, and wrong in what they say.

Usage: forge.py <ledger> <partner/writer> <openssh-key> <fingerprint> <created> <type> <body-json | @file>
                [--seq N] [--seen ID] [--file PATH=CONTENT]... [--chain-seq N]
Prints the new record's id."""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

p = argparse.ArgumentParser()
for a in ("ledger", "chain", "key", "fingerprint", "created", "type", "body"):
    p.add_argument(a)
p.add_argument("--seq", type=int)
p.add_argument("--seen")
p.add_argument("--file", action="append", default=[])
p.add_argument("--chain-seq", type=int)
args = p.parse_args()
partner, writer = args.chain.split("/")
ref = f"refs/dvi/chains/{partner}/{writer}"


def git(*a, input=None, env=None):
    return subprocess.run(["git", "-C", args.ledger, *a], check=True, capture_output=True, input=input,
                          env=env).stdout.decode().strip()


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


try:
    head = git("rev-parse", "--verify", "-q", ref)
except subprocess.CalledProcessError:
    head = None
chain = json.loads(git("cat-file", "blob", f"{head}:chain.json")) if head else {"seq": 0}
seq = args.seq if args.seq is not None else chain["seq"] + 1
seen = args.seen if args.seen is not None else chain.get("anchor", {}).get("id")
record = {"type": args.type, "schema": f"dvi/{args.type}@1",
          "issuer": {"partner": partner, "writer": writer, "key": args.fingerprint},
          "created": args.created, "seq": seq, "seen": seen}
record.update(json.loads(open(args.body[1:]).read() if args.body.startswith("@") else args.body))
data = canonical(record)
hexid = hashlib.sha256(data).hexdigest()
rid = "sha256:" + hexid

with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, GIT_INDEX_FILE=os.path.join(tmp, "index"))
    if head:
        git("read-tree", f"{head}^{{tree}}", env=env)
    else:
        git("read-tree", "--empty", env=env)

    def put(path, content):
        blob = git("hash-object", "-w", "--stdin", input=content)
        git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)

    put(f"records/{args.type}/{hexid[:2]}/{hexid[2:4]}/{hexid}.json", data)
    state = {"partner": partner, "writer": writer, "seq": args.chain_seq or seq, "record": rid}
    if "anchor" in chain and args.chain_seq is None:
        state["anchor"] = chain["anchor"]
    put("chain.json", canonical(state))
    for f in args.file:
        path, content = f.split("=", 1)
        put(path, content.encode())
    tree = git("write-tree", env=env)
epoch = subprocess.run(["date", "-u", "-d", args.created, "+%s"], check=True, capture_output=True).stdout.decode().strip()
cenv = dict(os.environ, GIT_AUTHOR_DATE=f"{epoch} +0000", GIT_COMMITTER_DATE=f"{epoch} +0000",
            GIT_AUTHOR_NAME=args.chain, GIT_COMMITTER_NAME=args.chain,
            GIT_AUTHOR_EMAIL=f"{writer}@{partner}", GIT_COMMITTER_EMAIL=f"{writer}@{partner}")
parents = ["-p", head] if head else []
commit = git("-c", "gpg.format=ssh", "-c", f"user.signingkey={args.key}", "commit-tree", "-S", *parents,
             "-m", f"{args.type}: forged\n\nDvi-Record: {rid}", tree, env=cenv)
git("update-ref", ref, commit, *( [head] if head else [] ))
print(rid)
