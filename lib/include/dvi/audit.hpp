// dvi audit: a full replay of the ledger — every commit's signature and record, the
// writer's authority at its position, references, quotas and allocations across all
// chains, windows against trusted time, revocations, lots, recipes, deviations,
// anchors and forks — as findings with stable codes (dvi-audit(1)).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "dvi/ledger.hpp"
#include "dvi/result.hpp"

namespace dvi {

enum class Severity { error, warning, info };
std::string severity_name(Severity s);

// One thing the audit found. Empty fields do not apply (a fork has no record).
struct Finding {
    std::string code;  // stable, e.g. "prints-over-allocation"
    Severity severity = Severity::error;
    std::string chain;   // partner/writer
    std::int64_t seq = 0;
    std::string record;  // sha256:…
    std::string commit;
    std::string message;  // one sentence a person understands
    std::string dossier;  // for grouping: the dossier and licence concerned, if any
    std::string license;
};

// Quota and usage of one licence or allocation, across all chains.
struct LicenceUsage {
    std::string id;
    std::string parent;  // empty for a grant
    std::string dossier;
    std::string holder;  // partner or partner/writer
    std::string chain;   // who issued it
    std::string unit;    // what the quota counts: job or part
    std::int64_t quota = 0;
    std::int64_t allocated = 0;  // sum of the quotas of its allocations
    std::int64_t used = 0;       // units printed under it and its allocations
    bool revoked = false;
};

// One record as the audit saw it, for the report's picture of the chains over time.
struct AuditEvent {
    std::string chain;
    std::int64_t seq = 0;
    std::string type;
    std::string record;
    std::string created;
    std::string label;  // e.g. "allowed", "refused", "rfc3161"
};

struct AuditReport {
    std::string consortium;
    std::string genesis;
    std::size_t chains = 0;
    std::size_t commits = 0;
    std::size_t records = 0;
    std::size_t forks = 0;
    std::size_t anchors = 0;
    std::size_t verified = 0;  // commits whose signature this run checked
    std::size_t cached = 0;    // commits verified by an earlier run (the cache)
    std::vector<std::string> notices;  // e.g. a corrupt cache that was rebuilt
    std::string since;                 // the anchor of AuditRequest::since, resolved
    std::size_t before_since = 0;      // findings left out because they come before it
    std::vector<Finding> findings;  // sorted: severity, then chain and position
    std::vector<LicenceUsage> licences;
    std::vector<AuditEvent> events;
    std::map<std::string, std::string> names;  // dossier id -> "part@revision"
    std::size_t count(Severity s) const;
};

using AuditProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Whether the audit may skip the signatures it verified before (dvi/audit-cache.json:
// per chain, the head of its verified prefix; commits are immutable, so a verified
// commit stays verified). `full` verifies everything and rewrites the cache.
enum class AuditCache { use, full };

// Whether the report keeps one event per record (AuditReport::events, the HTML report's
// picture of the chains): a million records' events take about 250 MB, so only a
// report that draws them asks for them.
enum class AuditEvents { skip, collect };

struct AuditRequest {
    AuditCache cache = AuditCache::use;
    // Report only findings about records after this anchor's heads (an anchor id or a
    // unique prefix): what happened since, e.g., the last audit's anchor. The whole
    // ledger is still replayed, since quotas and references span it.
    std::string since;
    unsigned threads = 0;  // signature checks in parallel; 0: one per core
    // Commits checked at a time: at most two windows of records are in memory at once.
    // Tests make it small to run many windows through a small ledger.
    std::size_t window = 2048;
    AuditEvents events = AuditEvents::skip;
    AuditProgress progress;
    // Opens another handle of the same ledger for a verifying thread (libgit2 handles
    // are not shared between threads).
    std::function<Result<Ledger>()> reopen;
};

// Replays the whole ledger. An Error only when the ledger cannot be read at all; every
// problem with its content is a Finding.
Result<AuditReport> audit(const Ledger& ledger, const AuditRequest& req);

}  // namespace dvi
