#include "dvi/print.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "dvi/anchor.hpp"
#include "dvi/license.hpp"
#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"
#include "dvi/util/time.hpp"

namespace dvi {

namespace {

std::string hex_of(const std::string& id) { return id.substr(7); }

// The latest time the ledger proves (verified anchors). Anchors arrive with
// `dvi anchor`; until a ledger holds one there is no floor, and the local clock rules.
std::string deviation_usage_path(const std::string& id) { return "state/deviation-usage/" + hex_of(id) + ".json"; }

Result<std::int64_t> counter_in(const Ledger& ledger, const WriterId& w, const std::string& path) {
    DVI_TRY(content, ledger.read_chain_file(w, path));
    if (!content) return std::int64_t{0};
    auto j = canonical_parse(*content);
    if (!j || !(*j)["used"].is_number_integer())
        return make_error(Errc::bad_signature, "corrupt counter " + path + " in chain '" + w.str() + "'");
    return (*j)["used"].get<std::int64_t>();
}

// SHA-256 (hex) and size of the operator's file: a regular file only, so that a device
// (/dev/zero) cannot keep the agent reading forever.
Result<std::pair<std::string, std::uint64_t>> file_sha256(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return make_error(errno == ENOENT ? Errc::not_found : Errc::invalid_input,
                          "cannot read " + util::quote(path) + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error(Errc::invalid_input, "--file " + util::quote(path) + " is not a regular file");
    }
    std::uint64_t size = 0;
    crypto::Sha256 sha;
    std::vector<char> buf(1 << 20);
    while (true) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            return make_error(Errc::invalid_input, "cannot read " + util::quote(path) + ": " + std::strerror(err));
        }
        if (n == 0) break;
        sha.update(buf.data(), static_cast<std::size_t>(n));
        size += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    auto d = sha.finish();
    return std::pair{util::hex_encode(d.data(), d.size()), size};
}

bool contains(const Json& arr, const std::string& s) {
    return arr.is_array() && std::find(arr.begin(), arr.end(), Json(s)) != arr.end();
}

}  // namespace

std::string refusal_code(PrintRefusal r) {
    switch (r) {
    case PrintRefusal::key_revoked: return "key-revoked";
    case PrintRefusal::license_unknown: return "license-unknown";
    case PrintRefusal::license_revoked: return "license-revoked";
    case PrintRefusal::not_addressed_to_writer: return "not-addressed-to-writer";
    case PrintRefusal::dossier_revoked: return "dossier-revoked";
    case PrintRefusal::dossier_superseded: return "dossier-superseded";
    case PrintRefusal::clock_behind_ledger: return "clock-behind-ledger";
    case PrintRefusal::not_yet_valid: return "not-yet-valid";
    case PrintRefusal::expired: return "expired";
    case PrintRefusal::device_unknown: return "device-unknown";
    case PrintRefusal::device_not_allowed: return "device-not-allowed";
    case PrintRefusal::no_recipe_for_model: return "no-recipe-for-model";
    case PrintRefusal::lot_unknown: return "lot-unknown";
    case PrintRefusal::lot_spec_not_accepted: return "lot-spec-not-accepted";
    case PrintRefusal::lot_certificate_not_accepted: return "lot-certificate-not-accepted";
    case PrintRefusal::lot_not_released: return "lot-not-released";
    case PrintRefusal::file_mismatch: return "file-mismatch";
    case PrintRefusal::quota_exhausted: return "quota-exhausted";
    case PrintRefusal::no_content_key: return "no-content-key";
    }
    return "unknown";
}

const std::vector<PrintRefusal>& all_refusals() {
    static const std::vector<PrintRefusal> k{
        PrintRefusal::key_revoked,        PrintRefusal::license_unknown,       PrintRefusal::license_revoked,
        PrintRefusal::not_addressed_to_writer, PrintRefusal::dossier_revoked,  PrintRefusal::dossier_superseded,
        PrintRefusal::clock_behind_ledger, PrintRefusal::not_yet_valid,        PrintRefusal::expired,
        PrintRefusal::device_unknown,     PrintRefusal::device_not_allowed,    PrintRefusal::no_recipe_for_model,
        PrintRefusal::lot_unknown,        PrintRefusal::lot_spec_not_accepted, PrintRefusal::lot_certificate_not_accepted,
        PrintRefusal::lot_not_released,   PrintRefusal::file_mismatch,         PrintRefusal::quota_exhausted,
        PrintRefusal::no_content_key};
    return k;
}

Result<StoredRecord> find_material_lot(const Ledger& ledger, std::string_view ref) {
    std::string r(ref);
    if (r.find('/') != std::string::npos && r.rfind("sha256:", 0) != 0) {
        DVI_TRY(found, ledger.find_chain_files("index/material-lots/" + r));
        if (found.empty()) return make_error(Errc::not_found, "no material lot '" + r + "' in the ledger");
        r = found.front().second;
    }
    return find_typed(ledger, r, "material-lot");
}

namespace {

// A text option as the print record holds it (its schema's limits): well-formed UTF-8 of
// 1 to `max` characters. Found here, before any check, rather than when the record is
// refused by its schema, which would leave a refusal unrecorded.
Status check_text(const std::string& option, const std::string& v, std::size_t max) {
    if (const auto at = util::utf8_invalid_at(v); at != std::string::npos)
        return make_error(Errc::invalid_input, option + " is not UTF-8 text (byte " + std::to_string(at + 1) + ")");
    const std::size_t chars = util::utf8_length(v);
    if (chars == 0 || chars > max)
        return make_error(Errc::invalid_input, option + " must be 1 to " + std::to_string(max) + " characters, not " +
                                                   std::to_string(chars));
    return {};
}

// A refusal's sentence as its record holds it: a path or name in it may hold bytes that
// are not UTF-8 (shown as \xNN) or be long (cut, as the schema allows 1024 characters).
std::string fit_message(const std::string& message) {
    std::string out;
    std::string_view rest = message;
    while (!rest.empty()) {
        const auto at = util::utf8_invalid_at(rest);
        if (at == std::string::npos) {
            out += rest;
            break;
        }
        out += rest.substr(0, at);
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(rest[at])));
        out += esc;
        rest.remove_prefix(at + 1);
    }
    out = util::escape_controls(out);
    constexpr std::size_t k_max_chars = 1000;
    std::size_t chars = 0, i = 0;
    for (; i < out.size(); ++i)
        if ((static_cast<unsigned char>(out[i]) & 0xc0) != 0x80 && ++chars > k_max_chars) break;
    if (i < out.size()) out = out.substr(0, i) + "...";
    return out;
}

}  // namespace

Result<PrintOutcome> print_verify(Ledger& ledger, const crypto::PrivateKey& key, const PrintRequest& req) {
    DVI_CHECK(check_text("--device", req.device, 64));
    DVI_CHECK(check_text("--license", req.license, 128));
    DVI_CHECK(check_text("--material-lot", req.material_lot, 128));
    if (req.recipe) DVI_CHECK(check_text("--recipe", *req.recipe, 64));
    if (req.operator_name) DVI_CHECK(check_text("--operator", *req.operator_name, 128));
    if (req.serials.size() > 1000)
        return make_error(Errc::invalid_input,
                          "at most 1000 --serial in one job, not " + std::to_string(req.serials.size()));
    {
        for (auto& x : req.serials) DVI_CHECK(check_text("--serial '" + fit_message(x) + "'", x, 64));
        std::vector<std::string> s = req.serials;
        std::sort(s.begin(), s.end());
        if (auto twice = std::adjacent_find(s.begin(), s.end()); twice != s.end())
            return make_error(Errc::invalid_input, "--serial '" + fit_message(*twice) + "' is given twice");
    }
    std::optional<std::string> file_sha;
    std::uint64_t file_size = 0;
    if (req.file) {
        DVI_TRY(hashed, file_sha256(*req.file));
        file_sha = hashed.first;
        file_size = hashed.second;
    }

    DVI_TRY(roster, roster_load(ledger));
    DVI_TRY(signer, signer_for(roster, key));
    PrintOutcome out;
    out.writer = signer.id;
    Json request{{"license", req.license}, {"device", req.device}, {"material_lot", req.material_lot}};
    if (req.recipe) request["recipe"] = *req.recipe;
    Json facts = Json::object();  // what was resolved, recorded with a refusal too
    std::vector<std::string> deviations;    // live concessions for an unreleased lot, to this writer
    std::optional<std::string> deviation;   // the one this print uses, chosen under the lock

    auto record = [&](std::optional<PrintRefusal> refusal, std::string message,
                      std::function<Result<std::optional<std::pair<PrintRefusal, std::string>>>(std::int64_t&)>
                          last_check,
                      std::function<Result<std::vector<TreeFile>>(std::int64_t used)> counters) -> Result<PrintOutcome> {
        // The decision: the early one, unless the quota check (run under the lock when
        // recording) refuses. Settled afresh on every attempt of the append.
        auto settle = [&](std::int64_t& used) -> Status {
            out.allowed = !refusal;
            out.refusal = refusal;
            out.message = fit_message(message);
            if (!out.allowed || !last_check) return {};
            DVI_TRY(late, last_check(used));
            if (late) {
                out.allowed = false;
                out.refusal = late->first;
                out.message = fit_message(late->second);
            }
            return {};
        };
        if (req.mode == PrintMode::dry_run) {
            std::int64_t used = 0;
            DVI_CHECK(settle(used));
            if (out.allowed) out.used = used;
            return out;
        }
        AppendRequest ar;
        ar.key = &key;
        ar.writer = signer.id;
        ar.time = req.time;
        std::int64_t used_after = 0;
        ar.build = [&](const ChainPosition& pos) -> Result<Json> {
            Json rec = record_header("print", signer, req.time, pos);
            rec["request"] = request;
            rec.update(facts);
            // Under the writer lock and before the compare-and-swap: the count is exact.
            DVI_CHECK(settle(used_after));
            if (out.allowed && deviation) rec["deviation"] = *deviation;
            if (out.allowed) {
                rec["decision"] = "allowed";
                rec["units"] = out.units;
                rec["used"] = used_after;
                rec["quota"] = out.quota;
            } else {
                rec["decision"] = "refused";
                rec["units"] = 0;
                rec["reason"] = {{"code", refusal_code(*out.refusal)}, {"message", out.message}};
            }
            DVI_CHECK(validate_record(rec));
            return rec;
        };
        ar.derive = [&](const std::string&, const Json&) -> Result<std::vector<TreeFile>> {
            if (!out.allowed || !counters) return std::vector<TreeFile>{};
            return counters(used_after);
        };
        // The decision may change under the lock (the quota), so the summary follows the record.
        ar.summarize = [&](const Json& rec) {
            std::string head = rec["decision"] == "allowed"
                                   ? "print: allowed " + out.dossier + " on " + req.device + " (" +
                                         std::to_string(rec["used"].get<std::int64_t>()) + "/" +
                                         std::to_string(out.quota) + ")"
                                   : "print: refused " + rec["reason"]["code"].get<std::string>() + " on " + req.device;
            return head;
        };
        DVI_TRY(appended, ledger.append(ar));
        out.record_id = appended.record_id;
        out.commit = appended.commit;
        out.seq = appended.seq;
        out.notices = appended.notices;
        if (out.allowed) out.used = used_after;
        return out;
    };
    auto refuse = [&](PrintRefusal r, std::string message) {
        return record(r, std::move(message), nullptr, nullptr);
    };

    // The key itself: a revoked writer cannot even record a refusal.
    if (auto st = roster.may_write(signer.id, "print"); !st) {
        const Json* w = roster.writer(signer.id);
        if (w && !(*w)["revoked"].is_null()) {
            out.allowed = false;
            out.refusal = PrintRefusal::key_revoked;
            out.message = "this printer agent's key was revoked: " + (*w)["revoked"].value("reason", "");
            return out;
        }
        return st.error();
    }

    // 1. The licence, its revocation, its holder.
    auto lic = find_typed(ledger, req.license, "license");
    if (!lic) {
        if (lic.error().code == Errc::not_found)
            return refuse(PrintRefusal::license_unknown, "no licence '" + req.license + "' in this ledger");
        if (lic.error().message.find(", not a license") != std::string::npos)
            return refuse(PrintRefusal::license_unknown, lic.error().message);
        return lic.error();  // an ambiguous or malformed id: the operator fixes the command
    }
    const Json& L = lic->json;
    facts["license"] = lic->id;
    DVI_TRY(status, license_status(ledger, lic->id));
    std::string grant = lic->id;
    for (Json cur = L; !cur["parent"].is_null();) {
        grant = cur["parent"].get<std::string>();
        DVI_TRY(up, ledger.find_record(grant, "license"));
        cur = up.json;
    }
    facts["grant"] = grant;
    out.quota = status.quota;
    if (status.revoked) return refuse(PrintRefusal::license_revoked, "the licence was revoked: " + *status.revoked);
    Holder holder = Holder::from_json(L["to"]);
    if (holder.partner != signer.id.partner || holder.writer != signer.id.writer)
        return refuse(PrintRefusal::not_addressed_to_writer,
                      "the licence is addressed to '" + holder.str() + "', not to this printer agent '" + signer.id.str() + "'");

    // 2. The dossier.
    DVI_TRY(dossier, ledger.find_record(L["dossier"].get<std::string>(), "dossier"));
    const Json& D = dossier.json;
    facts["dossier"] = dossier.id;
    out.dossier = D.value("part_number", "") + "@" + D.value("revision", "");
    DVI_TRY(dossier_revoked, revocation_of(ledger, dossier.id));
    if (dossier_revoked) return refuse(PrintRefusal::dossier_revoked, "dossier " + out.dossier + " was revoked");
    DVI_TRY(superseded, ledger.find_chain_files("index/superseded/" + out.dossier));
    if (!superseded.empty())
        return refuse(PrintRefusal::dossier_superseded,
                      "dossier " + out.dossier + " is superseded by " + superseded.front().second);

    // 3. Time: the later of the local clock and the ledger's proven time.
    DVI_TRY(trusted, trusted_time(ledger, roster));
    std::optional<std::int64_t> floor;
    if (trusted) floor = trusted->time;
    if (floor && req.time < *floor)
        return refuse(PrintRefusal::clock_behind_ledger, "the local clock (" + util::format_rfc3339(req.time) +
                                                             ") is earlier than the ledger's trusted time (" +
                                                             util::format_rfc3339(*floor) + ")");
    std::int64_t t = floor ? std::max(req.time, *floor) : req.time;
    if (L["not_before"].is_string() && t < *util::parse_time(L["not_before"].get<std::string>()))
        return refuse(PrintRefusal::not_yet_valid, "the licence is valid from " + L["not_before"].get<std::string>());
    if (L["not_after"].is_string() && t > *util::parse_time(L["not_after"].get<std::string>()))
        return refuse(PrintRefusal::expired, "the licence expired at " + L["not_after"].get<std::string>());

    // 4. The device and its recipe.
    const Json* partner = roster.partner(signer.id.partner);
    if (!(*partner)["devices"].contains(req.device))
        return refuse(PrintRefusal::device_unknown,
                      "printer '" + req.device + "' is not registered to '" + signer.id.partner + "' in the roster");
    std::string model = (*partner)["devices"][req.device]["model"];
    facts["device"] = {{"serial", req.device}, {"model", model}};
    if (!L["devices"].empty() && !contains(L["devices"], req.device))
        return refuse(PrintRefusal::device_not_allowed, "the licence does not allow printer '" + req.device + "'");
    const Json* recipe = nullptr;
    for (auto& r : D["recipes"]) {
        if (r.value("printer_model", "") != model) continue;
        if (req.recipe && r.value("name", "") != *req.recipe) continue;
        recipe = &r;
        break;
    }
    if (!recipe)
        return refuse(PrintRefusal::no_recipe_for_model,
                      "dossier " + out.dossier + " has no sealed recipe" + (req.recipe ? " '" + *req.recipe + "'" : "") +
                          " for a " + model);
    out.recipe = (*recipe)["name"];
    facts["recipe"] = out.recipe;
    const Json& gcode = (*recipe)["gcode"];
    out.gcode_blob = gcode["sha256"];
    out.encrypted = gcode.contains("encrypted");
    // The hash of the operator's file is recorded only for a G-code in clear: for an
    // encrypted one it would tell everyone the plaintext's hash (checked below, unrecorded).
    if (!out.encrypted) {
        out.gcode_sha256 = gcode["sha256"];
        if (file_sha) request["file_sha256"] = *file_sha;
    }
    facts["file"] = {{"sha256", gcode["sha256"]}, {"size", gcode["size"]}};

    // 5. The material lot.
    auto lot = find_material_lot(ledger, req.material_lot);
    if (!lot) {
        if (lot.error().code == Errc::not_found || lot.error().code == Errc::invalid_input)
            return refuse(PrintRefusal::lot_unknown, "no material lot '" + req.material_lot + "' in this ledger");
        return lot.error();
    }
    facts["material_lot"] = lot->id;
    const Json& M = lot->json;
    std::string spec = M["material"].value("spec", "");
    if (!contains(D["materials"]["specs"], spec) || (!L["materials"].empty() && !contains(L["materials"], spec)))
        return refuse(PrintRefusal::lot_spec_not_accepted, "lot " + M.value("lot", "") + " is '" + spec +
                                                               "', which the " +
                                                               (contains(D["materials"]["specs"], spec) ? "licence"
                                                                                                        : "dossier") +
                                                               " does not accept");
    std::string cert = M["certificate"].value("type", "");
    if (!contains(D["materials"]["certificate_types"], cert))
        return refuse(PrintRefusal::lot_certificate_not_accepted,
                      "lot " + M.value("lot", "") + " has a '" + cert + "' certificate, which the dossier does not accept");

    // 6. Units, and the file the operator holds.
    if (L["unit"] == "part" && req.serials.empty())
        return make_error(Errc::invalid_input, "this licence counts parts: give each part's --serial");
    out.units = L["unit"] == "part" ? static_cast<std::int64_t>(req.serials.size()) : 1;
    if (!req.serials.empty()) facts["serials"] = req.serials;
    if (req.operator_name) facts["operator"] = *req.operator_name;
    if (!out.encrypted && file_sha && *file_sha != out.gcode_sha256)
        return refuse(PrintRefusal::file_mismatch, "the file " + util::quote(*req.file) + " (sha256:" +
                                                       file_sha->substr(0, 12) + ", " + std::to_string(file_size) +
                                                       " bytes) is not the sealed G-code of recipe " + out.recipe +
                                                       " (sha256:" + out.gcode_sha256.substr(0, 12) + ")");

    // 7. An unreleased lot needs a deviation addressed to this writer, with parts left.
    if (M.value("status", "") != "released") {
        DVI_TRY(devs, ledger.read_chain_dir("index/deviations/" + hex_of(dossier.id) + "-" + hex_of(lot->id)));
        for (auto& [chain, name, content] : devs) {
            std::string id = "sha256:" + name;
            DVI_TRY(dev, ledger.find_record(id, "deviation"));
            Holder to = Holder::from_json(dev.json["to"]);
            if (to.partner != signer.id.partner || to.writer != signer.id.writer) continue;
            if (dev.json.contains("not_after") && t > *util::parse_time(dev.json["not_after"].get<std::string>()) + 86399)
                continue;  // a concession that has lapsed
            deviations.push_back(id);
        }
        if (deviations.empty())
            return refuse(PrintRefusal::lot_not_released,
                          "lot " + M.value("lot", "") + " is in " + M.value("status", "") + " and no deviation allows it");
    }

    // 8. An encrypted G-code: the recipe key this licence carries for this printer's key,
    //    then the plaintext, checked against the dossier's keyed digest (the ciphertext's
    //    SHA-256 is checked on read). In memory only, and handed over only once the print
    //    is recorded as allowed; a dry run checks the same and keeps nothing.
    if (out.encrypted) {
        auto cek = crypto::open_content_key(L.value("keys", Json::array()), key, "the licence");
        if (!cek && cek.error().code != Errc::not_found && cek.error().code != Errc::bad_signature) return cek.error();
        if (!cek)
            return refuse(PrintRefusal::no_content_key,
                          cek.error().message + ", so the encrypted G-code of recipe " + out.recipe + " cannot be read");
        DVI_TRY(sealed, ledger.read_artifact(out.gcode_blob));
        auto nonce = util::base64_decode(gcode["encrypted"].value("nonce", ""));
        crypto::Nonce n{};
        if (nonce && nonce->size() == n.size()) std::copy(nonce->begin(), nonce->end(), n.begin());
        auto opened = crypto::gcm_open(*cek, n, sealed);
        auto plain = std::make_shared<crypto::Secret>(opened ? std::move(*opened) : std::string());
        auto mac = crypto::plain_mac_hex(*cek, plain->bytes);
        if (!opened || !nonce || nonce->size() != n.size() || !mac || *mac != gcode["encrypted"].value("mac", ""))
            return refuse(PrintRefusal::no_content_key, "the licence's content key does not decrypt the sealed G-code of recipe " +
                                                            out.recipe + " to its sealed digest");
        out.gcode_sha256 = crypto::sha256_hex(plain->bytes);
        if (file_sha && *file_sha != out.gcode_sha256)
            return refuse(PrintRefusal::file_mismatch, "the file " + util::quote(*req.file) +
                                                           " is not the sealed G-code of recipe " + out.recipe);
        if (req.mode == PrintMode::record) out.plaintext = std::move(plain);
    }

    // 9. The quota (and the deviation's limit), counted under the writer's lock.
    std::string lic_id = lic->id;
    std::int64_t units = out.units;
    auto last_check = [&, lic_id, units](std::int64_t& used_after) -> Result<std::optional<std::pair<PrintRefusal, std::string>>> {
        DVI_TRY(used, counter_in(ledger, signer.id, usage_path(lic_id)));
        if (used + units > out.quota) {
            std::string unit = L["unit"].get<std::string>();
            std::string msg = used >= out.quota
                                  ? "the licence's quota is used up: " + std::to_string(used) + " of " +
                                        std::to_string(out.quota) + " " + unit + "s printed"
                                  : "the licence has " + std::to_string(out.quota - used) + " " + unit +
                                        (out.quota - used == 1 ? "" : "s") + " left, and this job needs " +
                                        std::to_string(units);
            return std::optional<std::pair<PrintRefusal, std::string>>({PrintRefusal::quota_exhausted, msg});
        }
        if (!deviations.empty()) {
            // The first concession with parts left, counted in this writer's chain.
            std::int64_t parts = std::max<std::int64_t>(1, static_cast<std::int64_t>(req.serials.size()));
            deviation.reset();
            std::int64_t total = 0;
            for (auto& id : deviations) {
                DVI_TRY(dev, ledger.find_record(id, "deviation"));
                DVI_TRY(dev_used, counter_in(ledger, signer.id, deviation_usage_path(id)));
                std::int64_t max_parts = dev.json["max_parts"].get<std::int64_t>();
                total += max_parts;
                if (dev_used + parts <= max_parts) {
                    deviation = id;
                    break;
                }
            }
            if (!deviation)
                return std::optional<std::pair<PrintRefusal, std::string>>(
                    {PrintRefusal::lot_not_released, "lot " + M.value("lot", "") + " is in " + M.value("status", "") +
                                                         " and its deviations' " + std::to_string(total) +
                                                         " parts are used up"});
        }
        used_after = used + units;
        return std::optional<std::pair<PrintRefusal, std::string>>();
    };
    auto counters = [&, lic_id](std::int64_t used_after) -> Result<std::vector<TreeFile>> {
        DVI_TRY(usage, canonical_dump(Json{{"used", used_after}}));
        std::vector<TreeFile> files{{usage_path(lic_id), usage}};
        if (deviation) {
            std::int64_t parts = std::max<std::int64_t>(1, static_cast<std::int64_t>(req.serials.size()));
            DVI_TRY(dev_used, counter_in(ledger, signer.id, deviation_usage_path(*deviation)));
            DVI_TRY(dev_usage, canonical_dump(Json{{"used", dev_used + parts}}));
            files.push_back({deviation_usage_path(*deviation), dev_usage});
        }
        return files;
    };
    DVI_TRY(done, record(std::nullopt, "allowed: " + out.dossier + " recipe " + out.recipe + " on " + req.device,
                         last_check, counters));
    out.plaintext.reset();
    if (!done.allowed) done.plaintext.reset();  // the quota refused it under the lock
    return done;
}

}  // namespace dvi
