// Creating a ledger: a new consortium (its genesis roster), or joining one by cloning.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dvi/crypto.hpp"
#include "dvi/ledger.hpp"
#include "dvi/result.hpp"
#include "dvi/sync.hpp"

namespace dvi {

struct InitRequest {
    std::filesystem::path dir;
    std::string consortium;
    std::string partner;             // the founding authority
    std::string writer;              // its first signing key's name
    std::vector<std::string> roles;  // roles besides "authority" (e.g. "oem")
    const crypto::PrivateKey* key = nullptr;
    std::filesystem::path key_path;  // remembered as the ledger's default key
    std::int64_t time = 0;
    std::filesystem::path hook_dvi;  // the dvi the pre-receive hook runs (none: no hook)
};

struct InitOutcome {
    std::filesystem::path path;
    std::string genesis;  // the genesis roster record id: the consortium's trust root
    std::string commit;
    WriterId writer;
};

// Creates a bare ledger whose first record is the genesis roster. On any failure the
// directory is removed again: nothing half-made is left.
Result<InitOutcome> ledger_init(const InitRequest& req);

struct JoinRequest {
    std::string source;  // path or URL of a partner's ledger, or a bundle file
    std::filesystem::path dir;
    std::string partner;
    std::string writer;
    std::optional<std::string> trust;  // expected genesis id; absent = trust on first use
    const crypto::PrivateKey* key = nullptr;
    std::filesystem::path key_path;
    std::filesystem::path hook_dvi;  // the dvi the pre-receive hook runs (none: no hook)
    SyncRequest transport;           // ssh keys, known hosts, progress
};

struct JoinOutcome {
    std::filesystem::path path;
    std::string consortium;
    std::string genesis;
    bool trusted_on_first_use = false;
    std::size_t chains = 0;
    std::int64_t records = 0;  // records verified and taken
    WriterId writer;
    std::string public_key;  // what the authority needs to admit this writer
    std::string fingerprint;
    bool already_admitted = false;
};

// Fetches the chains of `source` into a new bare ledger, verifying every commit as a
// sync does, and pins its genesis (refused if it differs from `trust`). Removed again on
// any failure, including a chain that does not verify.
Result<JoinOutcome> ledger_join(const JoinRequest& req);

}  // namespace dvi
