// What every record shares (dvi-records(5)): type, schema, issuer, created, seq, seen —
// and the signer that appends it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dvi/canonical.hpp"
#include "dvi/crypto.hpp"
#include "dvi/ledger.hpp"
#include "dvi/roster.hpp"

namespace dvi {

// A private key together with the roster entry it belongs to.
struct Signer {
    const crypto::PrivateKey* key = nullptr;
    WriterId id;
};

// Finds the writer of `key` in `roster`; denied (with a hint) when the key is unknown.
Result<Signer> signer_for(const Roster& roster, const crypto::PrivateKey& key);

// The common fields for a record of `type` at position `pos` of the signer's chain
// (its seq, and the anchor it has seen).
Json record_header(const std::string& type, const Signer& signer, std::int64_t time, const ChainPosition& pos);

// Validates a record against schemas/record-<type>.schema.json; a violation is a bug
// in dvi (Errc::internal) when writing, and a finding when auditing.
Status validate_record(const Json& record);

// What a record must say about where it stands: its issuer is the chain's writer and,
// when `seq` > 0, its seq is that position. Appends a sentence per mismatch.
void check_placement(const Json& rec, const WriterId& chain, std::int64_t seq, std::vector<std::string>& problems);

// One record to append: the header is added for the position the chain gives it.
struct RecordAppend {
    std::string type;
    Json body;  // the fields besides the header
    std::int64_t time = 0;
    std::string summary;
    std::vector<ArtifactRef> artifacts;
    // Checked again under the writer's lock, for what a concurrent writer could change.
    std::function<Status(const ChainPosition&)> recheck;
    // Index and state files the record adds to the chain's tree.
    std::function<Result<std::vector<TreeFile>>(const std::string& id, const Json& record)> derive;
};

struct RecordAppended {
    AppendOutcome append;
    Json record;
};

// Appends `r` to the signer's chain, schema-checked: how every record type is written.
Result<RecordAppended> append_record(Ledger& ledger, const Signer& signer, const RecordAppend& r);

}  // namespace dvi
