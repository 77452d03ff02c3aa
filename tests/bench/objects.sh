#!/usr/bin/env bash
# Where a ledger's bytes go: its objects by kind and path (folders and files with their
# fan-out levels as <xx> and the ids of records and artifacts as *), each kind's bytes a
# record, stored whole, as deltas or loose (from `git verify-pack -v`, `git rev-list
# --objects` and the loose files), then the pack indexes. Prints a Markdown table, the
# kinds under 1 byte a record summed in one row. run.sh ends with it; CTest runs it
# through smoke.sh.
#   tests/bench/objects.sh <ledger> [records]
# records: what to divide by; default, the sum of the chains' positions (chain.json).
set -euo pipefail
export LC_ALL=C
ledger=${1:?usage: objects.sh <ledger> [records]}
git -C "$ledger" rev-parse --git-dir >/dev/null 2>&1 || { echo "objects.sh: '$ledger' is not a ledger" >&2; exit 2; }
records=${2:-$(git -C "$ledger" for-each-ref --format='%(refname)' refs/dvi/chains/ | while read -r ref; do
    git -C "$ledger" cat-file blob "$ref:chain.json" && echo
done | python3 -c 'import json, sys; print(sum(json.loads(l)["seq"] for l in sys.stdin if l.strip()))')}
[ "$records" -gt 0 ] || { echo "objects.sh: no records in '$ledger'" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/dvi-objects.XXXXXX")
trap 'rm -rf "$T"' EXIT

# "<id> <type> <bytes> <depth: 0 when whole, -1 when loose>" of every object, packed or loose.
for idx in "$ledger"/objects/pack/*.idx; do
    [ -e "$idx" ] || continue
    git verify-pack -v "$idx"
done | awk 'NF == 5 || NF == 7 { print $1, $2, $4, (NF == 7 ? $6 : 0) }' >"$T/objects"
{ find "$ledger"/objects/?? -type f -printf '%h%f %s\n' 2>/dev/null || true; } | sed 's|^.*/objects/||' | sort -k1,1 >"$T/loose"
cut -d' ' -f1 "$T/loose" | git -C "$ledger" cat-file --batch-check='%(objectname) %(objecttype)' | sort -k1,1 |
    join - "$T/loose" | awk '{ print $1, $2, $3, -1 }' >>"$T/objects"
sort -k1,1 -o "$T/objects" "$T/objects"
# "<id> <path>" of every object the chains reach (the root folder's path is empty).
git -C "$ledger" rev-list --objects --glob=refs/dvi | awk '{ print $1, (NF > 1 ? $2 : "") }' | sort -u -k1,1 >"$T/paths"

idx_bytes=$( { cat "$ledger"/objects/pack/*.idx 2>/dev/null || true; } | wc -c)
join -a1 "$T/objects" "$T/paths" | awk -v n="$records" -v idx="$idx_bytes" '
function kind(type, path,    parts, k, i, out) {
    if (type == "commit") return "commit";
    if (type == "tag") return "tag";
    k = split(path, parts, "/");
    out = "";
    for (i = 1; i <= k; ++i) {
        if (parts[i] ~ /^[0-9a-f][0-9a-f]$/) parts[i] = "<xx>";
        else if (length(parts[i]) >= 40 && parts[i] ~ /^[0-9a-f]+/) { sub(/^[0-9a-f]+/, "*", parts[i]) }
        out = out (i > 1 ? "/" : "") parts[i];
    }
    if (type == "tree") return "folder " (out == "" ? "(root)" : out "/");
    return "file " (out == "" ? "(no path)" : out);
}
{
    k = kind($2, $5);
    bytes[k] += $3; count[k]++;
    if ($4 > 0) { deltas[k]++; delta_bytes[k] += $3 } else if ($4 == 0) whole[k]++; else loose[k]++;
    total += $3; objects++;
}
END {
    printf "| objects | a record | whole | deltas | loose | bytes a record | of which deltas |\n|---|---|---|---|---|---|---|\n";
    for (k in bytes) {
        if (bytes[k] / n < 1) { rest += bytes[k]; rest_count += count[k]; continue }
        printf "| %s | %.2f | %d | %d | %d | %.1f | %.1f |\n", k, count[k] / n, whole[k], deltas[k], loose[k], bytes[k] / n,
            delta_bytes[k] / n | "sort -t\"|\" -k7,7 -rn";
    }
    close("sort -t\"|\" -k7,7 -rn");
    printf "| everything else | %.2f | | | | %.1f | |\n", rest_count / n, rest / n;
    printf "| **objects** | %.2f | | | | %.1f | |\n", objects / n, total / n;
    printf "| pack indexes | | | | | %.1f | |\n", idx / n;
    printf "| **ledger** (%d records) | | | | | %.1f | |\n", n, (total + idx) / n;
}'
