// Reading the ledger back: `dvi log` (a verified walk of chains) and `dvi show` (one
// record, authenticated by the signed head of the chain that holds it).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dvi/ledger.hpp"
#include "dvi/result.hpp"

namespace dvi {

struct LogRequest {
    std::optional<std::string> chain;  // "partner" or "partner/writer"
    std::optional<std::string> type;   // only records of this type (and any that fail)
};

struct LogEntry {
    WriterId chain;
    std::int64_t seq = 0;
    std::string commit;
    std::string record_id;
    std::string type;
    std::string created;
    std::string summary;
    std::string signer;
    std::vector<std::string> problems;  // empty when the commit and its record verify
};

struct LogOutcome {
    std::vector<LogEntry> entries;  // newest first within each chain, chains in order
    std::size_t commits_checked = 0;
    std::size_t bad = 0;  // entries with problems
};

Result<LogOutcome> ledger_log(const Ledger& ledger, const LogRequest& req);

struct ShowOutcome {
    StoredRecord record;
    std::vector<std::string> problems;  // empty when the record is authentic
};

// `ref` is a record id, a unique prefix of one, or a dossier's "<part>@<revision>".
Result<ShowOutcome> ledger_show(const Ledger& ledger, std::string_view ref);

}  // namespace dvi
