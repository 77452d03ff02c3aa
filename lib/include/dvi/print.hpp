// `dvi print-verify`: the agent beside each printer. It checks the licence (and its
// allocation chain), the dossier, the time window, the device, the material lot and the
// file, then appends a print record — allowed, or refused with a stable reason code —
// and, when allowed, hands over the sealed G-code from the ledger.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dvi/ledger.hpp"
#include "dvi/result.hpp"

namespace dvi {

// Every reason print-verify refuses, with its stable code (dvi-print-verify(1)).
enum class PrintRefusal {
    key_revoked,
    license_unknown,
    license_revoked,
    not_addressed_to_writer,
    dossier_revoked,
    dossier_superseded,
    clock_behind_ledger,
    not_yet_valid,
    expired,
    device_unknown,
    device_not_allowed,
    no_recipe_for_model,
    lot_unknown,
    lot_spec_not_accepted,
    lot_certificate_not_accepted,
    lot_not_released,
    file_mismatch,
    quota_exhausted,
    no_content_key,
};
std::string refusal_code(PrintRefusal r);
const std::vector<PrintRefusal>& all_refusals();

enum class PrintMode { record, dry_run };

struct PrintRequest {
    std::string license;       // id or prefix of a licence addressed to this writer
    std::string device;        // serial, as in the roster
    std::string material_lot;  // id, prefix, or <supplier>/<lot>
    std::optional<std::string> recipe;
    std::optional<std::filesystem::path> file;  // a G-code the operator has, to compare
    std::vector<std::string> serials;
    std::optional<std::string> operator_name;
    std::int64_t time = 0;
    PrintMode mode = PrintMode::record;
};

struct PrintOutcome {
    bool allowed = false;
    std::optional<PrintRefusal> refusal;
    std::string message;  // a sentence for the operator
    std::string record_id;  // empty when nothing was recorded
    std::string commit;
    std::int64_t seq = 0;
    WriterId writer;
    std::int64_t units = 0;  // counted against the quota by this print
    std::int64_t used = 0;   // units used under the licence after it
    std::int64_t quota = 0;
    std::string recipe;
    std::string gcode_sha256;  // SHA-256 of the G-code to hand over (the plaintext, when encrypted)
    std::string gcode_blob;    // SHA-256 of the sealed artifact that holds it (read_artifact)
    // An encrypted G-code: decrypted in memory after the checks, kept only when the print
    // was recorded as allowed, for the caller to hand over; wiped when the last copy goes.
    bool encrypted = false;
    std::shared_ptr<crypto::Secret> plaintext;
    std::string dossier;
    std::vector<std::string> notices;
};

// Errors (exit 2/128) are returned as Error; a refusal is an outcome with allowed=false,
// recorded in the ledger unless the mode is dry_run or the key itself may not write.
Result<PrintOutcome> print_verify(Ledger& ledger, const crypto::PrivateKey& key, const PrintRequest& req);

// A material lot by id, prefix or "<supplier>/<lot>".
Result<StoredRecord> find_material_lot(const Ledger& ledger, std::string_view ref);

}  // namespace dvi
