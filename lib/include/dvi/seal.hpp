// `dvi seal`: a YAML manifest (dossier, material lot) checked against its schema, its
// files streamed into the ledger, and one signed record appended.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "dvi/crypto.hpp"
#include "dvi/ledger.hpp"
#include "dvi/result.hpp"

namespace dvi {

// The manifest kinds `dvi seal` accepts, and the record type each becomes.
const std::vector<std::string>& seal_kinds();

enum class SealMode { write, check_only };

struct SealRequest {
    std::filesystem::path manifest;
    std::int64_t time = 0;
    SealMode mode = SealMode::write;
    // Hears the bytes of the manifest's files stored so far, of `total` (optional).
    std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct SealOutcome {
    std::string kind;
    std::string name;  // "BRK-2041@C" for a dossier, the lot id for a material lot
    std::string supersedes;  // the dossier revision a dossier supersedes ("BRK-2041@B"), if any
    std::string record_id;  // empty in check_only mode
    std::string commit;
    std::int64_t seq = 0;
    WriterId writer;
    std::size_t artifacts = 0;
    std::uint64_t bytes = 0;  // artifact bytes hashed and stored
    std::size_t encrypted = 0;  // of those artifacts, how many are stored encrypted
    std::vector<std::string> key_holders;  // partner/writer who can read them (sorted)
    std::vector<std::string> notices;
};

// Every refusal (syntax, schema, path, missing file, authority, duplicate) happens
// before anything is written; its message names the manifest, the line and the field.
Result<SealOutcome> seal(Ledger& ledger, const crypto::PrivateKey& key, const SealRequest& req);

}  // namespace dvi
