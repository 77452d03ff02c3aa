#include "dvi/license.hpp"

#include <algorithm>
#include <map>

#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "dvi/util/time.hpp"

namespace dvi {

namespace {

constexpr std::int64_t k_max_quota = (std::int64_t{1} << 53) - 1;

std::string hex_of(const std::string& id) { return id.substr(7); }

Json time_or_null(const std::optional<std::int64_t>& t) {
    return t ? Json(util::format_rfc3339(*t)) : Json(nullptr);
}

Result<LicenseOutcome> append_license_record(Ledger& ledger, const Signer& signer, const std::string& type,
                                             const Json& body, std::int64_t time, const std::string& summary,
                                             std::function<Status(const ChainPosition&)> recheck,
                                             std::function<std::vector<TreeFile>(const std::string& id)> index) {
    RecordAppend r{type, body, time, summary, {}, std::move(recheck),
                   [index](const std::string& id, const Json&) -> Result<std::vector<TreeFile>> { return index(id); }};
    DVI_TRY(done, append_record(ledger, signer, r));
    return LicenseOutcome{std::move(done.append), std::move(done.record)};
}

Status check_holder(const Roster& roster, const Holder& h) {
    const Json* p = roster.partner(h.partner);
    if (!p) return make_error(Errc::invalid_input, "no partner '" + h.partner + "' in the roster");
    if (!(*p)["revoked"].is_null()) return make_error(Errc::denied, "partner '" + h.partner + "' was revoked");
    if (h.writer) {
        const Json* w = roster.writer(WriterId{h.partner, *h.writer});
        if (!w) return make_error(Errc::invalid_input, "no writer '" + h.str() + "' in the roster");
        if (!(*w)["revoked"].is_null()) return make_error(Errc::denied, "the key of '" + h.str() + "' was revoked");
    }
    return {};
}

// A licence is for printing on, or for allocating to those who print: a partner none of
// whose roles may do either (a supplier, an inspector, an auditor) could never use one.
Status check_can_use(const Roster& roster, const Holder& h) {
    if (h.writer) return {};  // a writer must be able to print: checked where it matters
    const Json* p = roster.partner(h.partner);
    if (!p) return {};
    std::string roles;
    for (auto& r : (*p)["roles"]) {
        const auto types = record_types_of_role(r.get<std::string>());
        if (std::find(types.begin(), types.end(), "print") != types.end() ||
            std::find(types.begin(), types.end(), "license") != types.end())
            return {};
        roles += (roles.empty() ? "" : ", ") + r.get<std::string>();
    }
    return make_error(Errc::invalid_input,
                      "partner '" + h.partner + "' (" + roles + ") may neither print nor allocate a licence",
                      "license a print bureau or a field unit");
}

Result<std::int64_t> allocated_under(const Ledger& ledger, const std::string& parent_id) {
    DVI_TRY(files, ledger.read_chain_dir("index/allocations/" + hex_of(parent_id)));
    std::int64_t sum = 0;
    for (auto& [chain, name, content] : files) {
        auto j = canonical_parse(content);
        if (!j || !(*j)["quota"].is_number_integer())
            return make_error(Errc::bad_signature, "corrupt allocation index in chain '" + chain.str() + "'");
        sum += (*j)["quota"].get<std::int64_t>();
    }
    return sum;
}

}  // namespace

namespace {

// partner/writer -> key of every writer the holders name, sorted.
Result<std::map<std::string, crypto::PublicKey>> writers_of(const Roster& roster, const std::vector<Holder>& holders) {
    std::map<std::string, crypto::PublicKey> writers;
    for (auto& h : holders) {
        DVI_CHECK(check_holder(roster, h));
        const Json& ws = (*roster.partner(h.partner))["writers"];
        bool any = false;
        for (auto it = ws.begin(); it != ws.end(); ++it) {
            if ((h.writer && it.key() != *h.writer) || !it.value()["revoked"].is_null()) continue;
            DVI_TRY(pub, roster.key_of(WriterId{h.partner, it.key()}));
            writers.emplace(h.partner + "/" + it.key(), pub);
            any = true;
        }
        if (!any) return make_error(Errc::invalid_input, "'" + h.partner + "' has no writer whose key is not revoked");
    }
    return writers;
}

}  // namespace

Result<std::vector<std::string>> holder_writers(const Roster& roster, const std::vector<Holder>& holders) {
    DVI_TRY(writers, writers_of(roster, holders));
    std::vector<std::string> out;
    for (auto& [to, pub] : writers) out.push_back(to);
    return out;
}

Result<Json> wrap_for_holders(const Roster& roster, const std::vector<Holder>& holders, const crypto::ContentKey& key) {
    DVI_TRY(writers, writers_of(roster, holders));
    Json keys = Json::array();
    for (auto& [to, pub] : writers) {
        DVI_TRY(w, crypto::wrap_content_key(key, pub, to));
        keys.push_back(w.json());
    }
    return keys;
}

Json Holder::json() const {
    Json j{{"partner", partner}};
    if (writer) j["writer"] = *writer;
    return j;
}

Holder Holder::from_json(const Json& j) {
    Holder h{j.value("partner", ""), std::nullopt};
    if (j.contains("writer")) h.writer = j["writer"].get<std::string>();
    return h;
}

Result<Holder> Holder::parse(std::string_view text) {
    Holder h;
    auto slash = text.find('/');
    h.partner = std::string(text.substr(0, slash));
    if (slash != std::string_view::npos) h.writer = std::string(text.substr(slash + 1));
    if (!is_valid_name(h.partner) || (h.writer && !is_valid_name(*h.writer)))
        return make_error(Errc::invalid_input, "invalid holder '" + std::string(text) + "'",
                          "give a partner id or partner/writer");
    return h;
}

Result<StoredRecord> find_typed(const Ledger& ledger, std::string_view ref, const std::string& type) {
    std::string target(ref);
    if (type == "dossier" && target.find('@') != std::string::npos && target.rfind("sha256:", 0) != 0) {
        DVI_TRY(found, ledger.find_chain_files("index/dossiers/" + target));
        if (found.empty()) return make_error(Errc::not_found, "no dossier '" + target + "' in the ledger");
        target = found.front().second;
    }
    DVI_TRY(rec, ledger.find_record(target, type));
    if (rec.type != type)
        return make_error(Errc::invalid_input, "record " + rec.id + " is a " + rec.type + ", not a " + type);
    return rec;
}

Result<std::optional<std::string>> revocation_of(const Ledger& ledger, const std::string& id) {
    DVI_TRY(found, ledger.find_chain_files("index/revoked/" + hex_of(id)));
    if (found.empty()) return std::optional<std::string>();
    return std::optional<std::string>(found.front().second);
}

std::string usage_path(const std::string& license_id) { return "state/usage/" + hex_of(license_id) + ".json"; }

Result<std::int64_t> usage_of(const Ledger& ledger, const WriterId& writer, const std::string& license_id) {
    DVI_TRY(content, ledger.read_chain_file(writer, usage_path(license_id)));
    if (!content) return std::int64_t{0};
    auto j = canonical_parse(*content);
    if (!j || !(*j)["used"].is_number_integer())
        return make_error(Errc::bad_signature, "corrupt usage counter in chain '" + writer.str() + "'");
    return (*j)["used"].get<std::int64_t>();
}

Result<LicenseOutcome> license_grant(Ledger& ledger, const crypto::PrivateKey& key, const LicenseGrantRequest& req) {
    if (req.quota < 1 || req.quota > k_max_quota)
        return make_error(Errc::invalid_input, "--quota must be from 1 to 2^53-1 (9007199254740991)");
    if (req.unit != "job" && req.unit != "part")
        return make_error(Errc::invalid_input, "--unit must be 'job' or 'part'");
    if (req.sublicense_depth < 0 || req.sublicense_depth > 16)
        return make_error(Errc::invalid_input, "--sublicense-depth must be between 0 and 16");
    if (req.not_before && req.not_after && *req.not_before >= *req.not_after)
        return make_error(Errc::invalid_input, "--not-before must be earlier than --not-after");
    DVI_TRY(holder, Holder::parse(req.to));
    DVI_TRY(roster, roster_load(ledger));
    DVI_TRY(signer, signer_for(roster, key));
    DVI_CHECK(roster.may_write(signer.id, "license"));
    DVI_TRY(dossier, find_typed(ledger, req.dossier, "dossier"));
    const Json& d = dossier.json;
    if (d.value("oem", "") != signer.id.partner)
        return make_error(Errc::denied, "only the dossier's OEM '" + d.value("oem", "") +
                                            "' may grant licences for " + dossier.id);
    DVI_TRY(revoked, revocation_of(ledger, dossier.id));
    if (revoked) return make_error(Errc::denied, "dossier " + dossier.id + " was revoked");
    std::string part = d.value("part_number", "") + "@" + d.value("revision", "");
    DVI_TRY(superseded, ledger.find_chain_files("index/superseded/" + part));
    if (!superseded.empty())
        return make_error(Errc::denied, "dossier " + part + " is superseded by " + superseded.front().second,
                          "license the new revision");
    DVI_CHECK(check_holder(roster, holder));
    DVI_CHECK(check_can_use(roster, holder));
    if (holder.writer) {
        if (auto may = roster.may_write(WriterId{holder.partner, *holder.writer}, "print"); !may)
            return make_error(Errc::invalid_input, "'" + holder.str() + "' cannot print: " + may.error().message,
                              "address the licence to a partner, or to one of its printer agents");
    }
    const Json* holder_partner = roster.partner(holder.partner);
    for (auto& serial : req.devices)
        if (!(*holder_partner)["devices"].contains(serial))
            return make_error(Errc::invalid_input, "device '" + serial + "' is not a printer of '" + holder.partner + "'",
                              "'dvi roster list' shows each partner's devices");
    for (auto& m : req.materials)
        if (std::find(d["materials"]["specs"].begin(), d["materials"]["specs"].end(), Json(m)) == d["materials"]["specs"].end())
            return make_error(Errc::invalid_input, "material '" + m + "' is not one the dossier accepts",
                              "the dossier accepts: " + d["materials"]["specs"].dump());
    std::vector<std::string> devices = req.devices, materials = req.materials;
    std::sort(devices.begin(), devices.end());
    devices.erase(std::unique(devices.begin(), devices.end()), devices.end());
    std::sort(materials.begin(), materials.end());
    materials.erase(std::unique(materials.begin(), materials.end()), materials.end());
    // Encrypted recipes: the grantor passes their key on to the holder's writers (the
    // design files' key stays with the dossier's recipients).
    std::optional<Json> keys;
    if (d.contains("encryption") && d["encryption"].contains("recipe_keys")) {
        auto cek = crypto::open_content_key(d["encryption"]["recipe_keys"], key, "dossier " + part);
        if (!cek)
            return make_error(cek.error().code == Errc::not_found || cek.error().code == Errc::bad_signature
                                  ? Errc::denied
                                  : cek.error().code,
                              cek.error().message,
                              "grant with a key the dossier's recipes were encrypted for (its 'encryption.recipe_keys')");
        DVI_TRY(wrapped, wrap_for_holders(roster, {holder}, *cek));
        keys = std::move(wrapped);
    }
    Json body{{"dossier", dossier.id},
              {"part", d.value("part_number", "") + "@" + d.value("revision", "")},
              {"parent", nullptr},
              {"depth", 0},
              {"to", holder.json()},
              {"quota", req.quota},
              {"unit", req.unit},
              {"count_failed", req.count_failed},
              {"not_before", time_or_null(req.not_before)},
              {"not_after", time_or_null(req.not_after)},
              {"devices", devices},
              {"materials", materials},
              {"sublicense_depth", req.sublicense_depth}};
    if (keys) body["keys"] = std::move(*keys);
    return append_license_record(ledger, signer, "license", body, req.time,
                         "license: " + body["part"].get<std::string>() + " to " + holder.str() + " x" +
                             std::to_string(req.quota),
                         nullptr, [](const std::string&) { return std::vector<TreeFile>{}; });
}

Result<LicenseOutcome> license_allocate(Ledger& ledger, const crypto::PrivateKey& key,
                                        const LicenseAllocateRequest& req) {
    if (req.quota < 1 || req.quota > k_max_quota)
        return make_error(Errc::invalid_input, "--quota must be from 1 to 2^53-1 (9007199254740991)");
    DVI_TRY(holder, Holder::parse(req.to));
    DVI_TRY(roster, roster_load(ledger));
    DVI_TRY(signer, signer_for(roster, key));
    DVI_CHECK(roster.may_write(signer.id, "license"));
    DVI_TRY(parent, find_typed(ledger, req.from, "license"));
    const Json& p = parent.json;
    Holder parent_to = Holder::from_json(p["to"]);
    if (parent_to.partner != signer.id.partner)
        return make_error(Errc::denied, "licence " + parent.id + " is held by '" + parent_to.str() +
                                            "'; only its holder may allocate it");
    if (parent_to.writer)
        return make_error(Errc::denied, "licence " + parent.id + " is addressed to the writer '" + parent_to.str() +
                                            "', who prints on it",
                          "only a licence addressed to a partner is split into allocations");
    DVI_TRY(status, license_status(ledger, parent.id));
    if (status.revoked) return make_error(Errc::denied, "licence " + parent.id + " was revoked: " + *status.revoked);
    if (status.dossier_revoked)
        return make_error(Errc::denied, "the dossier of licence " + parent.id + " was revoked: " + *status.dossier_revoked);
    DVI_CHECK(check_holder(roster, holder));
    DVI_CHECK(check_can_use(roster, holder));
    if (!holder.writer && holder.partner == parent_to.partner)
        return make_error(
            Errc::invalid_input, "licence " + parent.id + " is already held by '" + parent_to.partner + "'",
            "allocate to one of its writers ('" + parent_to.partner + "/<writer>') or to another partner");
    if (holder.writer) {
        if (auto may = roster.may_write(WriterId{holder.partner, *holder.writer}, "print"); !may)
            return make_error(Errc::invalid_input, "'" + holder.str() + "' cannot print: " + may.error().message);
    }
    std::int64_t depth_left = p["sublicense_depth"].get<std::int64_t>();
    bool other_partner = holder.partner != parent_to.partner;
    if (other_partner && depth_left < 1)
        return make_error(Errc::denied, "licence " + parent.id + " may not be sub-licensed to another partner (" +
                                            "sub-licence depth exhausted)",
                          "allocate to writers of '" + parent_to.partner + "', or ask the OEM for a deeper licence");
    auto over = [&](std::int64_t allocated) -> Status {
        if (allocated + req.quota > p["quota"].get<std::int64_t>())
            return make_error(Errc::denied,
                              "allocations of " + parent.id + " would sum to " + std::to_string(allocated + req.quota) +
                                  ", above its quota of " + std::to_string(p["quota"].get<std::int64_t>()),
                              std::to_string(p["quota"].get<std::int64_t>() - allocated) + " left to allocate");
        return {};
    };
    DVI_CHECK(over(status.allocated));
    Json body = p;
    for (auto k : {"type", "schema", "issuer", "created", "seq", "seen"}) body.erase(k);
    body["parent"] = parent.id;
    body["depth"] = p["depth"].get<std::int64_t>() + 1;
    body["to"] = holder.json();
    body["quota"] = req.quota;
    body["sublicense_depth"] = depth_left - (other_partner ? 1 : 0);
    // Devices of the parent that belong to another partner do not carry over.
    if (other_partner && !p["devices"].empty()) {
        Json kept = Json::array();
        const Json* hp = roster.partner(holder.partner);
        for (auto& dvc : p["devices"])
            if ((*hp)["devices"].contains(dvc.get<std::string>())) kept.push_back(dvc);
        if (kept.empty())
            return make_error(Errc::denied, "licence " + parent.id + " allows none of the devices of '" + holder.partner + "'");
        body["devices"] = kept;
    }
    // An encrypted dossier: the content key passes from the licence to the new holder.
    body.erase("keys");
    if (p.contains("keys")) {
        auto cek = crypto::open_content_key(p["keys"], key, "licence " + parent.id);
        if (!cek)
            return make_error(cek.error().code == Errc::not_found || cek.error().code == Errc::bad_signature
                                  ? Errc::denied
                                  : cek.error().code,
                              cek.error().message, "allocate with a key the licence carries a content key for");
        DVI_TRY(wrapped, wrap_for_holders(roster, {holder}, *cek));
        body["keys"] = std::move(wrapped);
    }
    return append_license_record(
        ledger, signer, "license", body, req.time,
        "license: allocate " + std::to_string(req.quota) + " of " + p.value("part", "") + " to " + holder.str(),
        // Under the writer lock: a concurrent allocation by this writer may have won.
        [&](const ChainPosition&) -> Status {
            DVI_TRY(now_allocated, allocated_under(ledger, parent.id));
            return over(now_allocated);
        },
        [&](const std::string& id) {
            return std::vector<TreeFile>{{"index/allocations/" + hex_of(parent.id) + "/" + hex_of(id),
                                          canonical_dump(Json{{"quota", req.quota}, {"to", holder.str()}}).value()}};
        });
}

Result<LicenseOutcome> license_revoke(Ledger& ledger, const crypto::PrivateKey& key, const LicenseRevokeRequest& req) {
    if (req.reason.empty() || req.reason.size() > 1024)
        return make_error(Errc::invalid_input, "--reason must be 1 to 1024 bytes");
    DVI_TRY(roster, roster_load(ledger));
    DVI_TRY(signer, signer_for(roster, key));
    DVI_CHECK(roster.may_write(signer.id, "revocation"));
    // A licence, or a whole dossier (which stops every licence of it).
    auto target = req.license.find('@') != std::string::npos ? find_typed(ledger, req.license, "dossier")
                                                              : ledger.find_record(req.license);
    if (!target) return target.error();
    if (target->type != "license" && target->type != "dossier")
        return make_error(Errc::invalid_input, "record " + target->id + " is a " + target->type +
                                                   "; only licences and dossiers are revoked here");
    const std::string what = target->type == "license" ? "licence" : "dossier";
    std::string owner = target->type == "license" ? target->json["issuer"].value("partner", "")
                                                  : target->json.value("oem", "");
    if (owner != signer.id.partner)
        return make_error(Errc::denied, "the " + what + " " + target->id + " belongs to '" + owner +
                                            "'; only it may revoke it");
    DVI_TRY(already, revocation_of(ledger, target->id));
    if (already) return make_error(Errc::invalid_input, "the " + what + " " + target->id + " is already revoked by " + *already);
    if (target->type == "license") {
        // An allocation stops with the licence it was allocated from.
        DVI_TRY(status, license_status(ledger, target->id));
        if (status.revoked)
            return make_error(Errc::invalid_input,
                              "the licence " + target->id +
                                  " is already revoked, with the licence it was allocated from: " + *status.revoked);
    }
    Json body{{"target", target->id}, {"target_type", target->type}, {"reason", req.reason}};
    std::string tid = target->id;
    return append_license_record(ledger, signer, "revocation", body, req.time,
                         "revocation: " + target->type + " " + tid.substr(0, 19), nullptr,
                         [tid](const std::string& id) { return std::vector<TreeFile>{{"index/revoked/" + hex_of(tid), id}}; });
}

Result<LicenseStatus> license_status(const Ledger& ledger, std::string_view ref) {
    DVI_TRY(rec, find_typed(ledger, ref, "license"));
    LicenseStatus st;
    st.record = rec;
    st.quota = rec.json["quota"].get<std::int64_t>();
    // Revoked if this licence or any ancestor is.
    std::string cur = rec.id;
    Json cur_json = rec.json;
    for (int guard = 0; guard < 32; ++guard) {
        DVI_TRY(rev, revocation_of(ledger, cur));
        if (rev) {
            auto r = ledger.find_record(*rev, "revocation");
            st.revoked = r ? r->json.value("reason", "revoked") : std::string("revoked");
            break;
        }
        if (cur_json["parent"].is_null()) break;
        cur = cur_json["parent"].get<std::string>();
        DVI_TRY(up, ledger.find_record(cur, "license"));
        cur_json = up.json;
    }
    DVI_TRY(dossier_rev, revocation_of(ledger, rec.json.value("dossier", "")));
    if (dossier_rev) {
        auto r = ledger.find_record(*dossier_rev, "revocation");
        st.dossier_revoked = r ? r->json.value("reason", "revoked") : std::string("revoked");
    }
    Holder to = Holder::from_json(rec.json["to"]);
    if (to.writer) {
        DVI_TRY(used, usage_of(ledger, WriterId{to.partner, *to.writer}, rec.id));
        st.used = used;
    }
    DVI_TRY(children, ledger.read_chain_dir("index/allocations/" + hex_of(rec.id)));
    for (auto& [chain, name, content] : children) {
        std::string child_id = "sha256:" + name;
        DVI_TRY(child, license_status(ledger, child_id));
        st.allocated += child.quota;
        st.used += child.used;
        st.allocations.push_back(std::move(child));
    }
    return st;
}

Result<std::vector<LicenseStatus>> license_list(const Ledger& ledger, const std::optional<std::string>& dossier,
                                                const std::optional<std::string>& to) {
    std::optional<std::string> dossier_id;
    if (dossier) {
        DVI_TRY(d, find_typed(ledger, *dossier, "dossier"));
        dossier_id = d.id;
    }
    if (to) {
        // A holder the roster never had is a mistake, not a holder without licences (a
        // revoked one still has its licences listed).
        DVI_TRY(holder, Holder::parse(*to));
        DVI_TRY(roster, roster_load(ledger));
        if (!roster.partner(holder.partner) ||
            (holder.writer && !roster.writer(WriterId{holder.partner, *holder.writer})))
            return make_error(
                Errc::invalid_input,
                "no " + std::string(holder.writer ? "writer" : "partner") + " '" + holder.str() + "' in the roster",
                "'dvi roster list' shows them");
    }
    DVI_TRY(all, ledger.records_of_type("license"));
    std::vector<LicenseStatus> out;
    for (auto& [chain, id] : all) {
        DVI_TRY(rec, ledger.find_record(id, "license"));
        if (dossier_id && rec.json.value("dossier", "") != *dossier_id) continue;
        // Allocations are shown under their parent, unless the list is of one holder's.
        if (!to && !rec.json["parent"].is_null()) continue;
        std::string holder = Holder::from_json(rec.json["to"]).str();
        if (to && holder != *to && holder.substr(0, holder.find('/')) != *to) continue;
        DVI_TRY(st, license_status(ledger, id));
        out.push_back(std::move(st));
    }
    // In order of creation: by the writers' clocks, then within a chain by position.
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
        return std::tuple(a.record.json.value("created", ""), a.record.chain.writer,
                          a.record.json.value("seq", std::int64_t{0})) <
               std::tuple(b.record.json.value("created", ""), b.record.chain.writer,
                          b.record.json.value("seq", std::int64_t{0}));
    });
    return out;
}

}  // namespace dvi
