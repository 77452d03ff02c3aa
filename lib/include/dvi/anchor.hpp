// Anchors (dvi-anchor(1), dvi-records(5)): a record over the heads of every chain a
// writer knows, with time evidence — an RFC 3161 token from a TSA the roster trusts, or
// another partner's co-signature — so the ledger proves time no single clock can fake.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dvi/crypto.hpp"
#include "dvi/ledger.hpp"
#include "dvi/result.hpp"
#include "dvi/roster.hpp"

namespace dvi {

// [{"chain":"<p>/<w>","seq":n,"commit":"<hex>","record":"sha256:…"}] sorted by chain:
// what an anchor covers.
Json anchor_heads(const std::vector<ChainHead>& heads);
// SHA-256 over the canonical bytes of `heads`: the imprint an RFC 3161 token signs.
crypto::Digest256 anchor_digest(const Json& heads);

// What time evidence `dvi anchor` attaches.
enum class AnchorEvidence {
    none,     // the heads only: causal order, no time
    tsa,      // an RFC 3161 token fetched now from a TSA URL
    request,  // a time-stamp request written to a file, for a TSA reached later
    import,   // the TSA's reply to such a request, as a follow-up anchor
    cosign,   // another partner's anchor witnessed: the same heads, in our chain
};

struct AnchorRequest {
    AnchorEvidence evidence = AnchorEvidence::none;
    std::string tsa_url;             // tsa
    std::filesystem::path file;      // request: where the .tsq goes; import: the .tsr
    std::string cosign;              // cosign: the anchor's id or a unique prefix
    std::int64_t time = 0;           // the local clock
    int timeout_seconds = 30;        // tsa
};

struct AnchorOutcome {
    AppendOutcome append;
    Json record;
    std::string digest;                // "sha256:…" over the heads
    std::optional<std::int64_t> time;  // the time the evidence proves, if any
    std::string tsa_subject;           // who signed the token
    std::string request_file;          // request: the .tsq written
};

// Appends an anchor record to the signer's chain. Tokens are verified (imprint, nonce,
// signature by a TSA the roster trusts, at the token's time) before anything is written;
// a co-signed anchor must name heads that are all in this ledger's chains.
Result<AnchorOutcome> anchor(Ledger& ledger, const crypto::PrivateKey& key, const AnchorRequest& req);

// Verifies the time evidence of one anchor record: the time it proves, nullopt when it
// has none (plain, request), bad_signature when the evidence does not hold.
Result<std::optional<std::int64_t>> anchor_time(const Ledger& ledger, const Roster& roster, const StoredRecord& anchor);

// The latest time the ledger proves: the latest verified anchor time among the anchors
// the chains have seen. Anchors whose evidence does not verify are skipped.
struct TrustedTime {
    std::int64_t time = 0;
    std::string anchor;  // the anchor record that proves it
};
Result<std::optional<TrustedTime>> trusted_time(const Ledger& ledger, const Roster& roster);

}  // namespace dvi
