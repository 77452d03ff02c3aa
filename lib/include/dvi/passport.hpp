// Part passports (dvi-passport(5)): one self-contained file that carries the proof of
// one printed part for decades — its print record, licence chain, dossier, material lot
// and certificate, inspections, covering anchors with their RFC 3161 tokens, the roster
// records back to the genesis, and the raw signed commit behind every record, split so
// that `sha256sum`, `ssh-keygen -Y verify` and `openssl ts -verify` check it without dvi.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dvi/ledger.hpp"
#include "dvi/result.hpp"

namespace dvi {

// The format this version writes and reads (passport.json "format").
inline constexpr std::string_view k_passport_format = "dvi-passport@1";

struct PassportRequest {
    std::string serial;
    // The print record to use (id or unique prefix) when several allowed prints name
    // the serial; without it such a serial is refused and the prints are listed.
    std::optional<std::string> print;
};

// One file of a passport.
struct PassportFile {
    std::string path;
    std::string kind;  // index, checksums, allowed-signers, record, commit, payload, signature, artifact,
                       // tsa-certificate, anchor-heads
    std::uint64_t size = 0;
    std::string sha256;
};

struct PassportOutcome {
    std::string serial;
    std::string print;  // the print record's id
    std::string part;   // part_number@revision
    std::string genesis;
    std::string archive;  // the passport's bytes (a ustar archive)
    std::vector<PassportFile> files;
    std::size_t records = 0;
    std::size_t commits = 0;
};

// Builds the passport of the part with `req.serial` from the ledger, reading only.
// not_found for a serial no allowed print names; invalid_input when several do (the
// hint lists them) or the ledger lacks a record the passport needs.
Result<PassportOutcome> passport_export(const Ledger& ledger, const PassportRequest& req);

struct PassportVerifyRequest {
    std::filesystem::path file;
    // The genesis roster id (or a unique-looking prefix of its hex, at least 8 digits)
    // the passport must descend from; without it the genesis is reported, not judged.
    std::optional<std::string> trust;
};

// What failed, and in which file of the passport.
struct PassportProblem {
    std::string file;
    std::string message;
};

struct PassportInspection {
    std::string id;
    std::string chain;
    std::string result;  // pass or fail
    std::string inspector;
    std::string date;
};

struct PassportAnchor {
    std::string id;
    std::string role;  // "seen" (the print names it: a lower bound) or "covering" (an upper bound)
    std::string chain;
    std::string kind;                  // evidence kind: rfc3161, cosign, none, rfc3161-request
    std::optional<std::int64_t> time;  // verified time, when the evidence holds
    std::string tsa;                   // the TSA certificate's subject, for rfc3161
};

// The part as the passport proves it.
struct PassportSummary {
    std::string serial;
    std::string part;  // part_number@revision
    std::string title;
    std::string print, dossier, license, grant, material_lot;
    std::string printer_chain;  // partner/writer of the print's chain
    std::int64_t print_seq = 0;
    std::string created;  // the printer's clock
    std::string device_serial, device_model, recipe;
    std::string gcode_sha256;  // the sealed G-code the print handed over
    std::string lot;           // supplier/lot
    std::string lot_status, certificate_type, certificate_number, certificate_sha256;
    std::string licensee;  // partner[/writer] of the licence printed on
    std::vector<PassportInspection> inspections;
    std::vector<PassportAnchor> anchors;
    std::optional<std::int64_t> not_before;  // printed after (seen anchor's verified time)
    std::optional<std::int64_t> not_after;   // recorded before (covering anchor's verified time)
    std::string genesis;
    std::string consortium;
    bool genesis_pinned = false;  // --trust was given and matched
    // The roster the passport carries ends here: a later revocation would not be in it.
    std::string roster_head;
    std::size_t roster_records = 0;
    std::size_t records = 0, commits = 0, files = 0, tokens = 0;
};

struct PassportVerifyOutcome {
    PassportSummary summary;
    std::vector<PassportProblem> problems;  // empty when every proof holds
};

// Verifies a passport file with no ledger: file hashes, every record against its id and
// its commit's trailer, every commit's signature by the key the passport's roster admits
// for that writer and record type, the roster back to a self-signed genesis, the
// references between records, the lot certificate, time-stamp tokens and anchor
// coverage through the commits' parent ids. invalid_input for a file that is not a
// well-formed passport (unreadable, not a safe ustar archive, too large, no index);
// a proof that fails is a problem in the outcome.
Result<PassportVerifyOutcome> passport_verify(const PassportVerifyRequest& req);

// The same on bytes already read; `name` is how messages call the file.
Result<PassportVerifyOutcome> passport_verify_bytes(std::string_view archive, const std::string& name,
                                                    const std::optional<std::string>& trust);

// A raw commit object split as git signs it: the payload (the commit without its gpgsig
// header) and the armored SSH signature (the header's value, ending in a newline).
struct SplitCommit {
    std::string payload;
    std::string signature;  // empty when the commit is unsigned
};
SplitCommit split_commit(std::string_view raw);

}  // namespace dvi
