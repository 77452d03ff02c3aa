#!/usr/bin/env python3
"""Independent check of every record in a dvi ledger, with git and Python only:
canonical JSON (Python's json.dumps gives the same bytes), SHA-256 equal to the file
name and to the commit's Dvi-Record trailer, and validity against schemas/.
Usage: check_records.py <ledger> <schemas-dir> [expected-count]"""
import hashlib
import json
import os
import subprocess
import sys

import jsonschema
import referencing

ledger, schemas = sys.argv[1], sys.argv[2]
expected = int(sys.argv[3]) if len(sys.argv) > 3 else None
resources = []
for name in os.listdir(schemas):
    doc = json.load(open(os.path.join(schemas, name)))
    resources.append((doc["$id"], referencing.Resource.from_contents(doc)))
registry = referencing.Registry().with_resources(resources)


def git(*args):
    return subprocess.run(["git", "-C", ledger, *args], check=True, capture_output=True).stdout


seen, types = 0, {}
for ref in git("for-each-ref", "--format=%(refname)", "refs/dvi/chains").decode().split():
    trailers = set()
    for c in git("rev-list", ref).decode().split():
        trailers.add(git("log", "-1", "--format=%(trailers:key=Dvi-Record,valueonly)", c).decode().strip())
    for line in git("ls-tree", "-r", ref, "records").decode().splitlines():
        meta, path = line.split("\t")
        blob = git("cat-file", "blob", meta.split()[2])
        rec = json.loads(blob)
        again = json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        assert again == blob, f"{ref} {path}: not canonical"
        digest = hashlib.sha256(blob).hexdigest()
        assert path.endswith(digest + ".json"), f"{path}: name is not its hash {digest}"
        assert "sha256:" + digest in trailers, f"{path}: no commit of {ref} carries it"
        schema = json.load(open(os.path.join(schemas, f"record-{rec['type']}.schema.json")))
        jsonschema.Draft202012Validator(schema, registry=registry).validate(rec)
        types[rec["type"]] = types.get(rec["type"], 0) + 1
        seen += 1
if expected is not None:
    assert seen == expected, f"{seen} records, expected {expected}"
print("records checked:", seen, json.dumps(types, sort_keys=True))
