#!/usr/bin/env bash
# dvi passport: a part's evidence file exported from a real ledger (lot, dossier, licence,
# allocation, prints, an inspection, RFC 3161 anchors), verified by dvi without a ledger
# and by stock tools alone following dvi-passport(5) command by command; tampering,
# hostile archives, determinism and errors.
. "$(dirname "$0")/lib.sh"
tsa_start
echo "2026-11-23 12:00:00" >"$TSA_DIR/time"
export DVI_DIR=$T/ledger
licensed "$DVI_DIR"
lot=polyfil/PETG-2026-0117
"$DVI" -q roster trust-tsa "$TSA_DIR/ca.pem"
"$DVI" -q --key acme.pem anchor --tsa "$TSA_URL"
expect 0 "$DVI" --json show "$(git -C "$DVI_DIR" config dvi.genesis)"
genesis=$(json_get '["id"]')
g=$(grant --to bureau7 --quota 20 --not-before 2026-11-01 --not-after 2026-12-31)
a=$(allocate "$g" bureau7/s5 10)
export DVI_TEST_DATE=2026-11-23T12:30:00Z
pv() { "$DVI" --json --key bureau7.pem print-verify --license "$a" --device S5-0412 "$@"; }
expect 0 pv --material-lot $lot --serial BRK-2026-00017 --serial BRK-2026-00018
p=$(json_get '["record"]')
expect 0 pv --material-lot $lot --serial BRK-2026-00019
p19=$(json_get '["record"]')
expect 1 pv --material-lot polyfil/PETG-2026-0131 --serial R-1
printf 'Inspection report BRK-2026-00017\n' >report.txt
cat >inspection.yaml <<YAML
kind: inspection
print: $p
serial: BRK-2026-00017
result: pass
inspector: M. Martin
date: "2026-11-26"
measurements:
  - id: IP-01
    result: pass
report: report.txt
YAML
"$DVI" -q --key bureau7.pem seal inspection.yaml
echo "2026-11-23 13:00:00" >"$TSA_DIR/time"
export DVI_TEST_DATE=2026-11-23T13:00:00Z
expect 0 "$DVI" --json --key acme.pem anchor --tsa "$TSA_URL"
cover=$(json_get '["record"]')
# After the covering anchor: a print of the same serial, for the ambiguity below.
expect 0 pv --material-lot $lot --serial BRK-2026-00019
p19b=$(json_get '["record"]')

# --- export -----------------------------------------------------------------------------
mkdir export && cd export
before=$(snapshot "$DVI_DIR")
expect 0 "$DVI" --json passport BRK-2026-00017 --output BRK-2026-00017.tar
[ "$(json_get '["print"]')" = "$p" ] || fail "the passport's print"
[ "$(json_get '["part"]')" = BRK-2041@C ] || fail "part"
[ "$(json_get '["genesis"]')" = "$genesis" ] || fail "genesis"
[ "$(json_get '["sha256"]')" = "$(sha256sum <BRK-2026-00017.tar | cut -c1-64)" ] || fail "sha256 of the file"
[ "$(json_get '["size"]')" = "$(wc -c <BRK-2026-00017.tar)" ] || fail "size"
expect 0 "$DVI" passport BRK-2026-00017 --output again.tar
stdout_has "passport of BRK-2026-00017 (BRK-2041@C) written to again.tar"
cmp -s BRK-2026-00017.tar again.tar || fail "two exports of one ledger differ"
"$DVI" passport BRK-2026-00017 --output - >stdout.tar
cmp -s BRK-2026-00017.tar stdout.tar || fail "--output - differs"
expect 0 "$DVI" -q passport BRK-2026-00018
cmp -s BRK-2026-00018.passport.tar BRK-2026-00017.tar && fail "two serials of one print gave one passport"
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "export wrote to the ledger"
[ $(($(wc -c <BRK-2026-00017.tar) % 10240)) = 0 ] || fail "not padded to tar's record size"
TZ=UTC tar --numeric-owner -tvf BRK-2026-00017.tar >listing || fail "tar cannot list the passport"
[ "$(head -1 listing | awk '{print $1, $2, $4, $5, $6}')" = "-rw-r--r-- 0/0 2026-11-23 12:30 passport.json" ] ||
    fail "entry metadata: $(head -1 listing)"
[ "$(awk '{print $1, $2}' listing | sort -u)" = "-rw-r--r-- 0/0" ] || fail "every entry is a 0644 file of 0/0"
pass "export: deterministic ustar, stdout, nothing written to the ledger"

# --- dvi passport verify, outside any ledger --------------------------------------------
mkdir "$T/elsewhere"
cp BRK-2026-00017.tar "$T/elsewhere/"
cd "$T/elsewhere"
before=$(snapshot "$DVI_DIR")
expect 0 env -u DVI_DIR "$DVI" --json passport verify BRK-2026-00017.tar --trust "$genesis"
[ "$(ls)" = BRK-2026-00017.tar ] || fail "verify wrote files"
[ "$(json_get '["valid"]')" = true ] || fail "valid"
[ "$(json_get '["problems"]')" = "[]" ] || fail "problems"
[ "$(json_get '["serial"]')" = BRK-2026-00017 ] || fail "serial"
[ "$(json_get '["part"]')" = BRK-2041@C ] || fail "part"
[ "$(json_get '["print"]["id"]')" = "$p" ] || fail "print"
[ "$(json_get '["print"]["chain"]')" = bureau7/s5 ] || fail "printer"
[ "$(json_get '["print"]["created"]')" = 2026-11-23T12:30:00Z ] || fail "created"
[ "$(json_get '["print"]["device"]["serial"]')" = S5-0412 ] || fail "device"
gcode=$("$DVI" --json show BRK-2041@C | python3 -c 'import json,sys; print([r["gcode"]["sha256"] for r in json.load(sys.stdin)["record"]["recipes"] if r["name"] == "mini-petg"][0])')
[ "$(json_get '["print"]["gcode_sha256"]')" = "$gcode" ] || fail "the print's G-code is the recipe's"
[ "$(json_get '["license"]["id"]')" = "$a" ] || fail "licence"
[ "$(json_get '["license"]["grant"]')" = "$g" ] || fail "grant"
[ "$(json_get '["license"]["to"]')" = bureau7/s5 ] || fail "licensee"
[ "$(json_get '["material_lot"]["lot"]')" = "$lot" ] || fail "lot"
[ "$(json_get '["material_lot"]["status"]')" = released ] || fail "lot status"
[ "$(json_get '["inspections"].__len__()')" = 1 ] || fail "one inspection"
[ "$(json_get '["inspections"][0]["result"]')" = pass ] || fail "inspection result"
[ "$(json_get '["inspections"][0]["inspector"]')" = "M. Martin" ] || fail "inspector"
[ "$(json_get '["printed_after"]')" = 2026-11-23T12:00:00Z ] || fail "lower time bound"
[ "$(json_get '["recorded_before"]')" = 2026-11-23T13:00:00Z ] || fail "upper time bound"
[ "$(python3 -c 'import json,sys; print(" ".join(a["id"] for a in json.load(open(sys.argv[1]))["anchors"] if a["role"] == "covering"))' "$T/out")" = "$cover" ] ||
    fail "covering anchor"
[ "$(json_get '["anchors"][0]["tsa"]')" = "CN=dvi test tsa" ] || fail "tsa subject"
[ "$(json_get '["genesis"]')" = "$genesis" ] || fail "genesis"
[ "$(json_get '["genesis_pinned"]')" = true ] || fail "pinned"
[ "$(json_get '["counts"]["records"]')" = 13 ] || fail "13 records: $(json_get '["counts"]')"
[ "$(json_get '["counts"]["commits"]')" = 15 ] || fail "15 commits (two link the anchor): $(json_get '["counts"]')"
[ "$(json_get '["counts"]["tokens"]')" = 2 ] || fail "2 tokens"
expect 1 env -u DVI_DIR "$DVI" passport verify BRK-2026-00017.tar
stdout_has "genesis   $genesis (Bracket consortium), NOT PINNED"
stdout_has "passport: consistent, but its genesis is not pinned"
stderr_is "dvi: error: 'BRK-2026-00017.tar': consistent, but its genesis $genesis is not pinned, so it proves nothing
dvi: hint: compare that id with the consortium's genesis and give --trust <genesis id>"
expect 1 "$DVI" --json passport verify BRK-2026-00017.tar
[ "$(json_get '["valid"]')" = false ] || fail "valid without a pinned genesis"
expect 2 "$DVI" passport verify BRK-2026-00017.tar --trust "${genesis:0:15}"
stderr_has "not a genesis id: '${genesis:0:15}'"
expect 0 env -u DVI_DIR "$DVI" passport verify BRK-2026-00017.tar --trust "$genesis"
stdout_has "serial    BRK-2026-00017"
stdout_has "printed   2026-11-23T12:30:00Z (printer clock) on S5-0412 (Original Prusa MINI) by bureau7/s5"
stdout_has "recipe    mini-petg, sealed G-code sha256:$gcode"
stdout_has "inspected pass by M. Martin on 2026-11-26"
stdout_has "time      after 2026-11-23T12:00:00Z, before 2026-11-23T13:00:00Z"
stdout_has "genesis   $genesis (Bracket consortium), trusted"
stdout_has "passport: valid"
[ "$(snapshot "$DVI_DIR")" = "$before" ] || fail "verify wrote to the ledger"
expect 1 "$DVI" passport verify BRK-2026-00017.tar --trust "sha256:$(printf '%064d' 0)"
stderr_is "dvi: error: 'records/${genesis#sha256:}.json': the passport's genesis $genesis is not the trusted sha256:$(printf '%064d' 0)
dvi: hint: do not rely on this passport: 1 proof failed"
expect 2 "$DVI" passport verify BRK-2026-00017.tar --trust abc
stderr_is "dvi: error: not a genesis id: 'abc'
dvi: hint: give the whole id, 'sha256:' and 64 hex digits ('dvi -C <ledger> roster list' shows it)"
pass "verify without a ledger: --json, summary, --trust"

# --- stock tools only: the commands of dvi-passport(5), as written ------------------------
# stock_script: the command lines of VERIFYING WITH STOCK TOOLS, prompts removed.
stock_script() {
    awk '/^\.SH/ { on = ($0 ~ /VERIFYING WITH STOCK TOOLS/); next }
         on && /^\.EX/ { ex = 1; next } on && /^\.EE/ { ex = 0; next } on && ex' "$DVI_SOURCE_DIR/man/dvi-passport.5" |
        sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\e/\\/g' -e 's/\\f[BIR]//g' -e 's/^\$ //'
}
stock_script >"$T/stock.sh"
grep -q "ssh-keygen -Y verify -f allowed_signers" "$T/stock.sh" || fail "no ssh-keygen line in dvi-passport(5)"
grep -q "openssl ts -verify" "$T/stock.sh" || fail "no openssl ts line in dvi-passport(5)"
# stock <dir> <passport>: runs the page's commands on <passport> (as BRK-2026-00017.tar) in <dir>.
stock() {
    mkdir -p "$1"
    cp "$2" "$1/BRK-2026-00017.tar"
    (cd "$1" && bash "$T/stock.sh") >"$T/out" 2>"$T/err" || true
}
stock "$T/stock" "$T/elsewhere/BRK-2026-00017.tar"
cert=$("$DVI" --json show "$(git -C "$DVI_DIR" cat-file blob refs/dvi/chains/polyfil/lab:index/material-lots/$lot)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["record"]["certificate"]["file"]["sha256"])')
[ "$(cat "$T/out")" = "artifacts/$cert: OK
${cover#sha256:} covers the print" ] || fail "the stock tools do not verify the passport: $(cat "$T/out") $(cat "$T/err")"
[ "$(grep -c 'Good "git" signature' "$T/err" || true)" = 0 ] || fail "ssh-keygen output is not silenced as the page says"
pass "tar, sha256sum, sha1sum, ssh-keygen -Y verify and openssl ts -verify alone verify it"

# --- tampering --------------------------------------------------------------------------
cd "$T"
P=$T/elsewhere/BRK-2026-00017.tar
# unpack <dir>: the passport in <dir>; repack <dir> <file>: back with GNU tar (ustar,
# "./" names and directory entries); resum <dir>: SHA256SUMS recomputed.
unpack() { rm -rf "$1" && mkdir "$1" && tar -xf "$P" -C "$1"; }
repack() { tar --format=ustar -cf "$2" -C "$1" .; }
resum() { (cd "$1" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum >SHA256SUMS); }
lot_id=$(python3 -c 'import json,sys; print([r["id"] for r in json.load(open(sys.argv[1]))["records"] if r["type"] == "material-lot"][0])' "$T/stock/p/passport.json")
lot_hex=${lot_id#sha256:}
lot_commit=$(grep -lx "Dvi-Record: $lot_id" "$T"/stock/p/commits/*.payload | xargs basename | sed 's/\.payload$//')
print_commit=$(grep -lx "Dvi-Record: $p" "$T"/stock/p/commits/*.payload | xargs basename | sed 's/\.payload$//')

# A record byte edited.
unpack t1
sed -i 's/"status":"released"/"status":"quarantine"/' "t1/records/$lot_hex.json"
repack t1 t1.tar
new_hex=$(sha256sum <"t1/records/$lot_hex.json" | cut -c1-64)
expect 1 "$DVI" passport verify t1.tar
stderr_is "dvi: error: 'records/$lot_hex.json': its SHA-256 does not match SHA256SUMS
dvi: error: 'records/$lot_hex.json': its SHA-256 is $new_hex, not the id its name says
dvi: hint: do not rely on this passport: 2 proofs failed"
stdout_has "passport: INVALID"
# The same, with the checksums and the file name made to agree.
resum t1
mv "t1/records/$lot_hex.json" "t1/records/$new_hex.json"
resum t1
repack t1 t1b.tar
expect 1 "$DVI" --json passport verify t1b.tar
stderr_is "dvi: error: 'records/$new_hex.json': no commit of the passport appends it (no 'Dvi-Record: sha256:$new_hex' trailer)
dvi: error: 'records/$lot_hex.json': missing: the material lot $lot_id is not in the passport
dvi: hint: do not rely on this passport: 2 proofs failed"
[ "$(json_get '["valid"]')" = false ] || fail "--json valid"
[ "$(json_get '["problems"][1]["file"]')" = "records/$lot_hex.json" ] || fail "--json problem file"
pass "an edited record is refused, with or without its checksums forged"

# The inspection left out (its record and its entry in passport.json, checksums forged):
# the passport still carries the signed commit that appended it, whose message says so.
unpack t8
insp=$(python3 -c 'import json,sys; print([r["id"] for r in json.load(open(sys.argv[1]))["records"] if r["type"] == "inspection"][0])' t8/passport.json)
insp_commit=$(grep -lx "Dvi-Record: $insp" t8/commits/*.payload | xargs basename | sed 's/\.payload$//')
rm "t8/records/${insp#sha256:}.json"
python3 - t8/passport.json "$insp" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["records"] = [r for r in d["records"] if r["id"] != sys.argv[2]]
open(sys.argv[1], "w").write(json.dumps(d, indent=2) + "\n")
PY
resum t8
repack t8 t8.tar
expect 1 "$DVI" passport verify t8.tar
stderr_has "dvi: error: 'commits/$insp_commit.commit': appends inspection $insp of serial 'BRK-2026-00017' (its signed message says so), which the passport leaves out"
pass "an inspection left out of the passport is found by the commit that appended it"

# A signature swapped for another commit's, checksums forged.
unpack t2
cp "t2/commits/$print_commit.sig" "t2/commits/$lot_commit.sig"
resum t2
repack t2 t2.tar
expect 1 "$DVI" passport verify t2.tar
stderr_is "dvi: error: 'commits/$lot_commit.sig': differs from the signature in commits/$lot_commit.commit
dvi: error: 'commits/$lot_commit.sig': signature does not verify (over commits/$lot_commit.payload)
dvi: hint: do not rely on this passport: 2 proofs failed"
stock "$T/stock2" t2.tar
grep -qx "BAD signature: commits/$lot_commit.sig" "$T/out" || fail "the page's commands miss a swapped signature: $(cat "$T/out")"
pass "a swapped signature is refused, by dvi and by the page's ssh-keygen"

# The lot certificate dropped (and its checksum line).
unpack t3
rm "t3/artifacts/$cert"
resum t3
repack t3 t3.tar
expect 1 "$DVI" passport verify t3.tar
stderr_is "dvi: error: 'artifacts/$cert': missing: the certificate file of lot $lot
dvi: hint: do not rely on this passport: 1 proof failed"
stock "$T/stock3" t3.tar
grep -q "artifacts/$cert: FAILED open or read" "$T/out" || fail "the page's sha256sum misses a dropped certificate: $(cat "$T/out")"
pass "a dropped lot certificate is refused"

# A file the format does not define, even with its checksum.
unpack t4
printf '#!/bin/sh\n' >t4/run-me.sh
resum t4
repack t4 t4.tar
expect 1 "$DVI" passport verify t4.tar
stderr_is "dvi: error: 'run-me.sh': not a file of the passport format
dvi: hint: do not rely on this passport: 1 proof failed"
pass "an extra file is refused"

# Hostile archives: exit 2 before anything is trusted, nothing written.
python3 - <<'EOF'
import io, tarfile
def make(name, entries):
    with tarfile.open(name, "w", format=tarfile.USTAR_FORMAT) as t:
        for n, kind in entries:
            i = tarfile.TarInfo(n)
            if kind == "sym":
                i.type, i.linkname = tarfile.SYMTYPE, "/etc/passwd"
                t.addfile(i)
            else:
                i.size = 2
                t.addfile(i, io.BytesIO(b"x\n"))
make("dotdot.tar", [("passport.json", "f"), ("../x", "f")])
make("absolute.tar", [("/tmp/dvi-passport-absolute", "f")])
make("symlink.tar", [("passport.json", "sym")])
make("twice.tar", [("a", "f"), ("a", "f")])
EOF
mkdir hostile && cd hostile
expect 2 "$DVI" passport verify ../dotdot.tar
stderr_is "dvi: error: '../dotdot.tar': '../x': unsafe path (absolute, '..', empty or unusual characters)"
expect 2 "$DVI" passport verify ../absolute.tar
stderr_is "dvi: error: '../absolute.tar': '/tmp/dvi-passport-absolute': unsafe path (absolute, '..', empty or unusual characters)"
expect 2 "$DVI" passport verify ../symlink.tar
stderr_is "dvi: error: '../symlink.tar': 'passport.json': only regular files are allowed (type '2')"
expect 2 "$DVI" passport verify ../twice.tar
stderr_is "dvi: error: '../twice.tar': 'a': appears twice"
[ -z "$(ls)" ] || fail "verify wrote into the folder"
[ ! -e "$T/x" ] && [ ! -e /tmp/dvi-passport-absolute ] || fail "verify wrote outside"
head -c 612 "$P" >trunc.tar
expect 2 "$DVI" passport verify trunc.tar
stderr_is "dvi: error: 'trunc.tar': truncated archive: 'passport.json' is cut short"
head -c 1024 "$P" | tail -c 512 >nottar.tar
expect 2 "$DVI" passport verify nottar.tar
stderr_is "dvi: error: 'nottar.tar': not a tar archive (bad header checksum)"
expect 2 "$DVI" passport verify ../dotdot-missing.tar
stderr_has "dvi: error: cannot read '../dotdot-missing.tar'"
tar -cf notpassport.tar -C "$T" report.txt
expect 2 "$DVI" passport verify notpassport.tar
stderr_is "dvi: error: 'notpassport.tar': no passport.json in it: not a part passport"
rm -f trunc.tar nottar.tar notpassport.tar
cd "$T"
pass "'..', absolute names, symlinks, duplicates, truncated and foreign files: exit 2"

# --- which print, and errors ------------------------------------------------------------
cd "$T/export"
expect 2 "$DVI" passport NOPE
stderr_is "dvi: error: no print names serial 'NOPE'
dvi: hint: serials are those given to 'dvi print-verify --serial'; 'dvi log --type print' lists the prints"
expect 2 "$DVI" passport R-1
stderr_is "dvi: error: serial 'R-1' is named only by refused prints
dvi: hint: a refused print made no part: there is no passport to give"
first=$(printf '%s\n%s\n' "$p19" "$p19b" | sort | head -1)
second=$(printf '%s\n%s\n' "$p19" "$p19b" | sort | tail -1)
expect 2 "$DVI" passport BRK-2026-00019
stderr_is "dvi: error: serial 'BRK-2026-00019' is named by 2 allowed prints: $first, $second
dvi: hint: choose one with --print <id>"
[ ! -e BRK-2026-00019.passport.tar ] || fail "a refused export wrote a file"
expect 0 "$DVI" --json passport BRK-2026-00019 --print "${p19b:7:10}" --output 19b.tar
[ "$(json_get '["print"]')" = "$p19b" ] || fail "--print chooses"
expect 0 "$DVI" --json passport verify --trust "$genesis" 19b.tar
[ "$(json_get '["recorded_before"]')" = null ] || fail "a print after the last anchor has no upper bound: $(json_get '["recorded_before"]')"
# Anchored later by acme (time-stamped 14:00) and co-signed by bureau7 at 13:30: the
# co-signature, earlier, covers the print; the anchor it witnesses comes along.
echo "2026-11-23 14:00:00" >"$TSA_DIR/time"
export DVI_TEST_DATE=2026-11-23T13:30:00Z
expect 0 "$DVI" --json --key "$T/acme.pem" anchor --tsa "$TSA_URL"
a14=$(json_get '["record"]')
expect 0 "$DVI" --json --key "$T/bureau7desk.pem" anchor --cosign "$a14"
co=$(json_get '["record"]')
expect 0 "$DVI" -q passport BRK-2026-00019 --print "$p19b" --output 19c.tar
expect 0 "$DVI" --json passport verify --trust "$genesis" 19c.tar
[ "$(json_get '["recorded_before"]')" = 2026-11-23T13:30:00Z ] || fail "the co-signature bounds the print"
[ "$(python3 -c 'import json,sys; print(" ".join(sorted(a["role"] + ":" + a["kind"] for a in json.load(open(sys.argv[1]))["anchors"])))' "$T/out")" = \
    "covering:cosign covering:rfc3161 seen:rfc3161" ] || fail "anchors of a co-signed passport: $(json_get '["anchors"]')"
tar -xf 19c.tar records/${co#sha256:}.json records/${a14#sha256:}.json || fail "the co-signature and what it witnesses"
pass "a co-signed anchor covers a print"

# A print print-verify never checked (written around dvi, signed with the printer's key): the
# sealed recipe of another printer model, and another G-code. Export does not judge;
# verify re-checks what print-verify would have.
"$DVI" -q key export "$T/bureau7.pem" --out "$T/bureau7.ssh"
fpr=$(fingerprint "$T/bureau7.pem")
body=$(record_body "$p" "r['serials'] = ['F-1']; r['file']['sha256'] = 'ab' * 32
r['device'] = {'serial': 'K3-0077', 'model': 'Original Prusa i3 MK3S'}")
forged=$(python3 "$DVI_SOURCE_DIR/tests/cli/forge.py" "$DVI_DIR" bureau7/s5 "$T/bureau7.ssh" "$fpr" 2026-11-23T13:40:00Z print "$body")
expect 0 "$DVI" -q passport F-1 --output forged.tar
expect 1 "$DVI" passport verify forged.tar
stderr_is "dvi: error: 'records/${forged#sha256:}.json': recipe 'mini-petg' is for printer model 'Original Prusa MINI', not the print's 'Original Prusa i3 MK3S'
dvi: error: 'records/${forged#sha256:}.json': the print's file is not the sealed G-code of recipe 'mini-petg'
dvi: hint: do not rely on this passport: 2 proofs failed"
pass "a signed print that print-verify would have refused is refused"

# A licence the bureau grants itself for the OEM's dossier (properly signed by its desk,
# whose role may write licences), and a print under it: the grant is not the OEM's.
"$DVI" -q key export "$T/bureau7desk.pem" --out "$T/desk.ssh"
fdesk=$(fingerprint "$T/bureau7desk.pem")
lbody=$(record_body "$g" "r['to'] = {'partner': 'bureau7', 'writer': 's5'}; r['quota'] = 1000")
self=$(python3 "$DVI_SOURCE_DIR/tests/cli/forge.py" "$DVI_DIR" bureau7/desk "$T/desk.ssh" "$fdesk" 2026-11-23T13:40:00Z license "$lbody")
pbody=$(record_body "$p" "r['serials'] = ['PIRATE-1']; r['license'] = r['grant'] = '$self'")
pirate=$(python3 "$DVI_SOURCE_DIR/tests/cli/forge.py" "$DVI_DIR" bureau7/s5 "$T/bureau7.ssh" "$fpr" 2026-11-23T13:41:00Z print "$pbody")
expect 0 "$DVI" -q passport PIRATE-1 --output pirate.tar
expect 1 "$DVI" passport verify --trust "$genesis" pirate.tar
stderr_is "dvi: error: 'records/${self#sha256:}.json': the grant is issued by 'bureau7', not by the dossier's OEM 'acme'
dvi: hint: do not rely on this passport: 1 proof failed"
pass "a licence granted by someone else than the dossier's OEM is refused"

expect 2 "$DVI" passport BRK-2026-00017 --output BRK-2026-00017.tar
stderr_is "dvi: error: 'BRK-2026-00017.tar' already exists
dvi: hint: remove it or choose another file with --output <file>"
expect 129 "$DVI" --json passport BRK-2026-00017 --output -
expect 129 "$DVI" passport
stderr_is "dvi: error: a serial or 'verify <file>' is required
dvi: hint: see 'dvi passport -h'"
expect 129 "$DVI" passport verify
pass "one print per serial, --print, refused prints, unknown serial, usage"
