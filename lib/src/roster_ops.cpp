#include "dvi/roster_ops.hpp"

#include <algorithm>

#include "dvi/tsp.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"

namespace dvi {

Result<RosterOutcome> roster_append(Ledger& ledger, const Roster& current, const Signer& signer, Json body,
                                    std::int64_t time, const std::string& summary) {
    bool genesis = body.value("action", "") == "genesis";
    if (!genesis) DVI_CHECK(current.may_write(signer.id, "roster"));
    body["version"] = current.version() + 1;
    body["prev"] = genesis ? Json(nullptr) : Json(current.head());

    // Dry-run the change first so that a refusal writes nothing at all.
    Json probe = record_header("roster", signer, time, ChainPosition{});
    probe.update(body);
    if (auto dry = current.apply("sha256:" + std::string(64, '0'), probe); !dry) return dry.error();

    RosterOutcome out;
    RecordAppend r;
    r.type = "roster";
    r.body = body;
    r.time = time;
    r.summary = summary;
    r.derive = [&](const std::string& id, const Json& rec) -> Result<std::vector<TreeFile>> {
        DVI_TRY(next, current.apply(id, rec));
        DVI_TRY(state, canonical_dump(next.state()));
        return std::vector<TreeFile>{{"roster.json", state}};
    };
    DVI_TRY(done, append_record(ledger, signer, r));
    out.append = std::move(done.append);
    out.record = std::move(done.record);
    out.version = current.version() + 1;
    return out;
}

namespace {
Status check_roles(const std::vector<std::string>& roles) {
    for (auto& r : roles) {
        auto& all = all_roles();
        if (std::find(all.begin(), all.end(), r) == all.end()) {
            std::string list;
            for (auto& a : all) list += (list.empty() ? "" : ", ") + a;
            return make_error(Errc::invalid_input, "unknown role '" + r + "'", "roles are: " + list);
        }
    }
    return {};
}
}  // namespace

Result<RosterOutcome> roster_add(Ledger& ledger, const crypto::PrivateKey& key, const RosterAddRequest& req) {
    if (!is_valid_name(req.partner))
        return make_error(Errc::invalid_input, "invalid partner id '" + req.partner + "'",
                          "use lower-case letters, digits, '-' and '_' (at most 63)");
    DVI_CHECK(check_roles(req.roles));
    if (req.writer.has_value() != req.pubkey.has_value())
        return make_error(Errc::invalid_input, "--writer and --pubkey go together");
    if (req.writer && !is_valid_name(*req.writer))
        return make_error(Errc::invalid_input, "invalid writer name '" + *req.writer + "'",
                          "use lower-case letters, digits, '-' and '_' (at most 63)");
    for (auto& u : req.usages) {
        auto& all = all_record_types();
        if (std::find(all.begin(), all.end(), u) == all.end())
            return make_error(Errc::invalid_input, "unknown record type '" + u + "' in --usage");
    }
    if (!req.usages.empty() && !req.writer) return make_error(Errc::invalid_input, "--usage needs --writer and --pubkey");
    DVI_TRY(roster, roster_load(ledger));
    DVI_TRY(signer, signer_for(roster, key));

    Json body{{"action", "admit"}, {"partner", req.partner}};
    if (!req.roles.empty()) {
        std::vector<std::string> roles = req.roles;
        std::sort(roles.begin(), roles.end());
        roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
        body["roles"] = roles;
    }
    if (req.writer) {
        auto pk = crypto::PublicKey::from_openssh(*req.pubkey);
        if (!pk) return make_error(Errc::invalid_input, "--pubkey: " + pk.error().message, pk.error().hint);
        Json w{{"name", *req.writer}, {"key", pk->openssh()}};
        if (!req.usages.empty()) {
            std::vector<std::string> u = req.usages;
            std::sort(u.begin(), u.end());
            u.erase(std::unique(u.begin(), u.end()), u.end());
            w["usages"] = u;
        }
        body["writer"] = w;
    }
    if (!req.devices.empty()) {
        Json ds = Json::array();
        for (auto& d : req.devices) {
            if (d.serial.empty() || d.model.empty() || d.serial.size() > 64 || d.model.size() > 128)
                return make_error(Errc::invalid_input, "invalid device '" + d.serial + ":" + d.model + "'",
                                  "give devices as <serial>:<model>, e.g. --device S5-0412:'Original Prusa MINI'");
            ds.push_back({{"serial", d.serial}, {"model", d.model}});
        }
        body["devices"] = ds;
    }
    if (!body.contains("roles") && !body.contains("writer") && !body.contains("devices"))
        return make_error(Errc::invalid_input, "nothing to add", "give --role, --writer/--pubkey or --device");
    return roster_append(ledger, roster, signer, body, req.time, "roster: admit " + req.partner);
}

Result<RosterOutcome> roster_revoke(Ledger& ledger, const crypto::PrivateKey& key, const RosterRevokeRequest& req) {
    if (req.reason.empty()) return make_error(Errc::invalid_input, "a revocation needs a --reason");
    if (req.reason.size() > 1024)
        return make_error(Errc::invalid_input, "--reason is too long (" + std::to_string(req.reason.size()) +
                                                   " bytes, at most 1024)");
    DVI_TRY(roster, roster_load(ledger));
    DVI_TRY(signer, signer_for(roster, key));
    const Json* p = roster.partner(req.partner);
    if (!p) return make_error(Errc::invalid_input, "no partner '" + req.partner + "' in the roster");
    Json body{{"action", "revoke"}, {"partner", req.partner}, {"reason", req.reason}};
    Json cut = Json::object();
    for (auto it = (*p)["writers"].begin(); it != (*p)["writers"].end(); ++it) {
        if (req.writer && it.key() != *req.writer) continue;
        DVI_TRY(head, ledger.chain_head(WriterId{req.partner, it.key()}));
        cut[it.key()] = head ? head->seq : 0;
    }
    if (req.writer) {
        if (!(*p)["writers"].contains(*req.writer))
            return make_error(Errc::invalid_input, "no writer '" + req.partner + "/" + *req.writer + "' in the roster");
        body["writer"] = *req.writer;
    }
    body["cut"] = cut;
    std::string what = req.writer ? req.partner + "/" + *req.writer : req.partner;
    if (WriterId{req.partner, req.writer.value_or("")} == signer.id || (!req.writer && req.partner == signer.id.partner))
        return make_error(Errc::invalid_input, "an authority cannot revoke its own key",
                          "another authority key must revoke it");
    return roster_append(ledger, roster, signer, body, req.time, "roster: revoke " + what);
}

Result<RosterOutcome> roster_trust_tsa(Ledger& ledger, const crypto::PrivateKey& key, const RosterTrustTsaRequest& req) {
    auto cert = tsp::read_certificate(req.certificate);
    if (!cert) return make_error(Errc::invalid_input, util::quote(req.source) + ": " + cert.error().message,
                                 "give the TSA's certificate, or its CA's, as PEM or DER");
    if (!cert->is_ca && !cert->time_stamping)
        return make_error(Errc::invalid_input,
                          util::quote(req.source) + ": certificate '" + cert->subject +
                              "' is neither a CA nor a time-stamping certificate",
                          "a TSA certificate has 'extendedKeyUsage = critical,timeStamping'");
    DVI_TRY(roster, roster_load(ledger));
    DVI_TRY(signer, signer_for(roster, key));
    Json body{{"action", "trust-tsa"},
              {"tsa",
               {{"certificate", util::base64_encode(reinterpret_cast<const std::uint8_t*>(cert->der.data()), cert->der.size())},
                {"sha256", cert->sha256},
                {"subject", cert->subject}}}};
    return roster_append(ledger, roster, signer, body, req.time, "roster: trust TSA " + cert->subject);
}

}  // namespace dvi
