// Licences (DESIGN.md "Licences and quotas"): the dossier's OEM grants a licence to a
// licensee; a licence addressed to a partner is split into allocations, one addressed
// to partner/writer is spent by that writer alone, so offline devices cannot
// double-spend. Allocations never sum above their parent's quota.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dvi/ledger.hpp"
#include "dvi/result.hpp"

namespace dvi {

// "partner" or "partner/writer", as licences address their holder.
struct Holder {
    std::string partner;
    std::optional<std::string> writer;
    std::string str() const { return writer ? partner + "/" + *writer : partner; }
    Json json() const;
    static Result<Holder> parse(std::string_view text);
    static Holder from_json(const Json& j);
};

class Roster;

// The content key of an encrypted dossier wrapped for every writer the holders name (a
// writer, or each writer of a partner whose key is not revoked), one entry per writer,
// sorted: the `keys` of a licence and the `encryption.keys` of a dossier.
// Errc::invalid_input names a holder that has no such writer.
Result<Json> wrap_for_holders(const Roster& roster, const std::vector<Holder>& holders, const crypto::ContentKey& key);
// The writers (partner/writer, sorted) wrap_for_holders would wrap for.
Result<std::vector<std::string>> holder_writers(const Roster& roster, const std::vector<Holder>& holders);

struct LicenseGrantRequest {
    std::string dossier;  // id, prefix or part@revision
    std::string to;       // partner or partner/writer
    std::int64_t quota = 0;
    std::string unit = "job";  // job | part
    bool count_failed = true;
    std::optional<std::int64_t> not_before, not_after;
    std::vector<std::string> devices;    // serials from the roster; empty = any of the holder's
    std::vector<std::string> materials;  // material specs; empty = the dossier's
    std::int64_t sublicense_depth = 0;   // levels of allocation to other partners allowed
    std::int64_t time = 0;
};

struct LicenseAllocateRequest {
    std::string from;  // the parent licence
    std::string to;    // partner or partner/writer
    std::int64_t quota = 0;
    std::int64_t time = 0;
};

struct LicenseRevokeRequest {
    std::string license;
    std::string reason;
    std::int64_t time = 0;
};

struct LicenseOutcome {
    AppendOutcome append;
    Json record;
};

Result<LicenseOutcome> license_grant(Ledger& ledger, const crypto::PrivateKey& key, const LicenseGrantRequest& req);
Result<LicenseOutcome> license_allocate(Ledger& ledger, const crypto::PrivateKey& key, const LicenseAllocateRequest& req);
Result<LicenseOutcome> license_revoke(Ledger& ledger, const crypto::PrivateKey& key, const LicenseRevokeRequest& req);

// A licence with what has become of its quota.
struct LicenseStatus {
    StoredRecord record;
    std::int64_t quota = 0;
    std::int64_t allocated = 0;  // sum of the quotas of its allocations
    std::int64_t used = 0;       // units printed under it and under its allocations
    std::optional<std::string> revoked;  // the reason, if this licence or a parent was revoked
    std::optional<std::string> dossier_revoked;  // the reason, if its dossier was withdrawn
    std::vector<LicenseStatus> allocations;
};

Result<LicenseStatus> license_status(const Ledger& ledger, std::string_view ref);
// Licences (grants and allocations), optionally of one dossier or to one holder.
Result<std::vector<LicenseStatus>> license_list(const Ledger& ledger, const std::optional<std::string>& dossier,
                                                const std::optional<std::string>& to);

// Shared with print-verify: a record of an expected type by id, prefix (or, for
// dossiers, part@revision).
Result<StoredRecord> find_typed(const Ledger& ledger, std::string_view ref, const std::string& type);
// The revocation of `id` (a licence or dossier), if any chain holds one.
Result<std::optional<std::string>> revocation_of(const Ledger& ledger, const std::string& id);
// Units used under a licence addressed to a writer: kept in that writer's chain tree.
Result<std::int64_t> usage_of(const Ledger& ledger, const WriterId& writer, const std::string& license_id);
// "state/usage/<hex>": where a writer's chain keeps the units it used under a licence.
std::string usage_path(const std::string& license_id);

}  // namespace dvi
