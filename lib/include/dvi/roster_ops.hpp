// Roster changes, each one roster record appended by an authority.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dvi/ledger.hpp"
#include "dvi/record.hpp"
#include "dvi/result.hpp"

namespace dvi {

struct Device {
    std::string serial;
    std::string model;
};

struct RosterAddRequest {
    std::string partner;
    std::vector<std::string> roles;
    std::optional<std::string> writer;   // with pubkey: admit this key as partner/writer
    std::optional<std::string> pubkey;   // "ssh-ed25519 AAAA…"
    std::vector<std::string> usages;     // narrows the record types of this key
    std::vector<Device> devices;
    std::int64_t time = 0;
};

struct RosterRevokeRequest {
    std::string partner;
    std::optional<std::string> writer;  // absent: the whole partner
    std::string reason;
    std::int64_t time = 0;
};

struct RosterTrustTsaRequest {
    std::string certificate;  // PEM or DER bytes
    std::string source;       // where they came from, for messages
    std::int64_t time = 0;
};

struct RosterOutcome {
    AppendOutcome append;
    std::int64_t version = 0;
    Json record;
};

Result<RosterOutcome> roster_add(Ledger& ledger, const crypto::PrivateKey& key, const RosterAddRequest& req);
// The cut-point of a revoked key is the head of its chain as this ledger knows it:
// records up to it stay valid, anything it signs later is not.
Result<RosterOutcome> roster_revoke(Ledger& ledger, const crypto::PrivateKey& key, const RosterRevokeRequest& req);

// Trusts a time-stamping authority: its own certificate (extendedKeyUsage timeStamping)
// or the CA that issues such certificates. RFC 3161 tokens then prove time (dvi anchor).
Result<RosterOutcome> roster_trust_tsa(Ledger& ledger, const crypto::PrivateKey& key, const RosterTrustTsaRequest& req);

// Appends a roster record built by `body` (fields besides the header) and the roster
// state after it; shared by init, add and revoke.
Result<RosterOutcome> roster_append(Ledger& ledger, const Roster& current, const Signer& signer, Json body,
                                    std::int64_t time, const std::string& summary);

}  // namespace dvi
