// What every record shares (dvi-records(5)): type, schema, issuer, created, seq, seen —
// and the signer that appends it.
#pragma once

#include <cstdint>
#include <string>

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

// The common fields for a record of `type` at `seq` of the signer's chain.
Json record_header(const std::string& type, const Signer& signer, std::int64_t time, std::int64_t seq);

// Validates a record against schemas/record-<type>.schema.json; a violation is a bug
// in dvi (Errc::internal) when writing, and a finding when auditing.
Status validate_record(const Json& record);

}  // namespace dvi
