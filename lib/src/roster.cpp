#include "dvi/roster.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "dvi/tsp.hpp"
#include "dvi/util/encoding.hpp"
#include "git.hpp"

namespace dvi {

namespace {
const std::map<std::string, std::vector<std::string>>& role_table() {
    // Which record types each role's writers may append (their default key usages).
    static const std::map<std::string, std::vector<std::string>> k{
        {"authority", {"roster", "anchor", "revocation"}},
        {"oem", {"dossier", "license", "deviation", "qualification", "revocation", "anchor"}},
        {"supplier", {"material-lot", "anchor"}},
        {"bureau", {"license", "print", "inspection", "revocation", "anchor"}},
        {"field-unit", {"license", "print", "inspection", "revocation", "anchor"}},
        {"inspector", {"inspection", "qualification", "anchor"}},
        {"auditor", {"anchor"}},
    };
    return k;
}

bool contains(const Json& arr, const std::string& s) {
    return arr.is_array() && std::find(arr.begin(), arr.end(), Json(s)) != arr.end();
}

Json sorted_union(const Json& a, const Json& b) {
    std::set<std::string> s;
    for (auto& x : a) s.insert(x.get<std::string>());
    for (auto& x : b) s.insert(x.get<std::string>());
    Json out = Json::array();
    for (auto& x : s) out.push_back(x);
    return out;
}
}  // namespace

const std::vector<std::string>& all_roles() {
    static const std::vector<std::string> k = [] {
        std::vector<std::string> v;
        for (auto& [r, _] : role_table()) v.push_back(r);
        return v;
    }();
    return k;
}

const std::vector<std::string>& all_record_types() {
    static const std::vector<std::string> k{"roster",  "dossier",    "material-lot", "qualification",
                                            "license", "print",      "inspection",   "deviation",
                                            "revocation", "anchor"};
    return k;
}

std::vector<std::string> record_types_of_role(const std::string& role) {
    auto it = role_table().find(role);
    return it == role_table().end() ? std::vector<std::string>{} : it->second;
}

const Json* Roster::partner(const std::string& id) const {
    auto ps = m_state.find("partners");
    if (ps == m_state.end()) return nullptr;
    auto it = ps->find(id);
    return it == ps->end() ? nullptr : &*it;
}

const Json* Roster::writer(const WriterId& w) const {
    const Json* p = partner(w.partner);
    if (!p) return nullptr;
    auto ws = p->find("writers");
    if (ws == p->end()) return nullptr;
    auto it = ws->find(w.writer);
    return it == ws->end() ? nullptr : &*it;
}

std::optional<WriterId> Roster::writer_by_fingerprint(const std::string& fingerprint) const {
    auto ps = m_state.find("partners");
    if (ps == m_state.end()) return std::nullopt;
    for (auto p = ps->begin(); p != ps->end(); ++p)
        for (auto w = (*p)["writers"].begin(); w != (*p)["writers"].end(); ++w)
            if (w->value("fingerprint", "") == fingerprint) return WriterId{p.key(), w.key()};
    return std::nullopt;
}

Result<crypto::PublicKey> Roster::key_of(const WriterId& w) const {
    const Json* wr = writer(w);
    if (!wr) return make_error(Errc::denied, "writer '" + w.str() + "' is not in the roster");
    return crypto::PublicKey::from_openssh(wr->value("key", ""));
}

Status Roster::may_write(const WriterId& w, const std::string& type) const {
    const Json* p = partner(w.partner);
    const Json* wr = writer(w);
    if (!p || !wr) return make_error(Errc::denied, "writer '" + w.str() + "' is not in the roster");
    if (!(*p)["revoked"].is_null())
        return make_error(Errc::denied, "partner '" + w.partner + "' was revoked: " + (*p)["revoked"].value("reason", ""));
    if (!(*wr)["revoked"].is_null())
        return make_error(Errc::denied, "key of '" + w.str() + "' was revoked: " + (*wr)["revoked"].value("reason", ""),
                          "ask an authority to admit a new key with 'dvi roster add'");
    return role_allows(w, type);
}

Status Roster::may_have_written(const WriterId& w, const std::string& type, std::int64_t seq) const {
    const Json* wr = writer(w);
    if (!wr) return make_error(Errc::denied, "writer '" + w.str() + "' is not in the roster");
    const Json& revoked = (*wr)["revoked"];
    if (!revoked.is_null() && seq > revoked.value("after_seq", std::int64_t{0}))
        return make_error(Errc::denied, "key of '" + w.str() + "' was revoked after position " +
                                            std::to_string(revoked.value("after_seq", std::int64_t{0})) + ": " +
                                            revoked.value("reason", ""));
    return role_allows(w, type);
}

Status Roster::role_allows(const WriterId& w, const std::string& type) const {
    const Json* p = partner(w.partner);
    const Json* wr = writer(w);
    if (!p || !wr) return make_error(Errc::denied, "writer '" + w.str() + "' is not in the roster");
    bool role_allows = false;
    for (auto& role : (*p)["roles"]) {
        auto types = record_types_of_role(role.get<std::string>());
        if (std::find(types.begin(), types.end(), type) != types.end()) role_allows = true;
    }
    std::string roles;
    for (auto& r : (*p)["roles"]) roles += (roles.empty() ? "" : ", ") + r.get<std::string>();
    if (!role_allows)
        return make_error(Errc::denied, "partner '" + w.partner + "' (" + roles + ") may not write " + type + " records");
    if (wr->contains("usages") && !contains((*wr)["usages"], type))
        return make_error(Errc::denied, "the key of '" + w.str() + "' is not allowed to write " + type + " records");
    return {};
}

Result<Roster> Roster::apply(const std::string& record_id, const Json& rec) const {
    const std::string action = rec.value("action", "");
    const std::int64_t version = rec.value("version", std::int64_t{0});
    Json s = m_state;
    auto bad = [&](std::string msg) { return make_error(Errc::invalid_input, msg); };

    if (action == "genesis") {
        if (!s.empty() && s.contains("genesis")) return bad("a roster already has a genesis");
        s = Json{{"consortium", rec["consortium"]}, {"genesis", record_id}, {"partners", Json::object()}};
    } else {
        if (!s.contains("genesis")) return bad("no roster to amend");
        if (rec.value("prev", "") != head())
            return bad("roster record amends " + rec.value("prev", std::string("nothing")) + ", not the current head " + head());
    }
    if (version != this->version() + 1) return bad("roster version " + std::to_string(version) + " does not follow " +
                                                    std::to_string(this->version()));
    const std::string pid = rec.value("partner", "");
    Json& partners = s["partners"];

    if (action == "genesis" || action == "admit") {
        bool is_new = !partners.contains(pid);
        if (is_new) {
            if (!rec.contains("roles") || rec["roles"].empty()) return bad("a new partner needs at least one role");
            partners[pid] = Json{{"roles", Json::array()}, {"writers", Json::object()}, {"devices", Json::object()},
                                 {"since", version}, {"revoked", nullptr}};
        }
        Json& p = partners[pid];
        if (!p["revoked"].is_null()) return bad("partner '" + pid + "' was revoked");
        bool changed = is_new;
        if (rec.contains("roles")) {
            Json u = sorted_union(p["roles"], rec["roles"]);
            if (u != p["roles"]) changed = true;
            p["roles"] = u;
        }
        if (rec.contains("writer")) {
            const Json& w = rec["writer"];
            std::string name = w["name"];
            auto key = crypto::PublicKey::from_openssh(w.value("key", ""));
            if (!key) return key.error();
            std::string fp = key->fingerprint();
            if (auto owner = Roster(s).writer_by_fingerprint(fp))
                return bad("key " + fp + " already belongs to '" + owner->str() + "'");
            if (p["writers"].contains(name)) return bad("writer '" + pid + "/" + name + "' already exists");
            Json entry{{"key", key->openssh()}, {"fingerprint", fp}, {"since", version}, {"revoked", nullptr}};
            if (w.contains("usages")) {
                for (auto& u : w["usages"]) {
                    bool ok = false;
                    for (auto& role : p["roles"]) {
                        auto types = record_types_of_role(role);
                        if (std::find(types.begin(), types.end(), u.get<std::string>()) != types.end()) ok = true;
                    }
                    if (!ok) return bad("usage '" + u.get<std::string>() + "' is not allowed by the roles of '" + pid + "'");
                }
                entry["usages"] = w["usages"];
            }
            p["writers"][name] = entry;
            changed = true;
        }
        if (rec.contains("devices")) {
            for (auto& d : rec["devices"]) {
                std::string serial = d["serial"];
                for (auto it = partners.begin(); it != partners.end(); ++it)
                    if ((*it)["devices"].contains(serial) && it.key() != pid)
                        return bad("device '" + serial + "' already belongs to '" + it.key() + "'");
                if (p["devices"].contains(serial)) {
                    if (p["devices"][serial]["model"] != d["model"])
                        return bad("device '" + serial + "' is already registered as '" +
                                   p["devices"][serial]["model"].get<std::string>() + "'");
                    continue;
                }
                p["devices"][serial] = Json{{"model", d["model"]}, {"since", version}};
                changed = true;
            }
        }
        if (!changed) return bad("nothing to change: partner '" + pid + "' already has all of that");
    } else if (action == "revoke") {
        if (!partners.contains(pid)) return bad("no partner '" + pid + "' in the roster");
        Json& p = partners[pid];
        Json revoked{{"reason", rec["reason"]}, {"version", version}, {"record", record_id}};
        if (rec.contains("writer")) {
            std::string name = rec["writer"];
            if (!p["writers"].contains(name)) return bad("no writer '" + pid + "/" + name + "' in the roster");
            Json& w = p["writers"][name];
            if (!w["revoked"].is_null()) return bad("writer '" + pid + "/" + name + "' is already revoked");
            Json r = revoked;
            r["after_seq"] = rec["cut"].value(name, std::int64_t{0});
            w["revoked"] = r;
        } else {
            if (!p["revoked"].is_null()) return bad("partner '" + pid + "' is already revoked");
            p["revoked"] = revoked;
            for (auto it = p["writers"].begin(); it != p["writers"].end(); ++it)
                if ((*it)["revoked"].is_null()) {
                    Json r = revoked;
                    r["after_seq"] = rec["cut"].value(it.key(), std::int64_t{0});
                    (*it)["revoked"] = r;
                }
        }
    } else if (action == "trust-tsa") {
        Json t = rec.value("tsa", Json::object());  // a copy: a missing field reads as null
        if (!t["sha256"].is_string() || !t["certificate"].is_string() || !t["subject"].is_string())
            return bad("a trust-tsa record needs tsa.certificate, tsa.sha256 and tsa.subject");
        std::string fp = t["sha256"];
        auto der = util::base64_decode(t["certificate"].get<std::string>());
        if (!der) return bad("the TSA certificate is not base64");
        auto cert = tsp::read_certificate(std::string_view(reinterpret_cast<const char*>(der->data()), der->size()));
        if (!cert) return bad("the TSA certificate does not parse: " + cert.error().message);
        if (cert->sha256 != fp) return bad("the TSA certificate does not hash to " + fp);
        if (!cert->is_ca && !cert->time_stamping)
            return bad("certificate '" + cert->subject + "' is neither a CA nor a time-stamping certificate");
        if (s.contains("tsa") && s["tsa"].contains(fp)) return bad("the consortium already trusts TSA certificate " + fp);
        s["tsa"][fp] = Json{{"subject", t["subject"]}, {"certificate", t["certificate"]}, {"since", version}};
    } else {
        return bad("unknown roster action '" + action + "'");
    }
    s["version"] = version;
    s["head"] = record_id;
    return Roster(std::move(s));
}

std::vector<std::string> Roster::tsa_certificates() const {
    std::vector<std::string> out;
    auto t = m_state.find("tsa");
    if (t == m_state.end()) return out;
    for (auto& entry : *t) {
        auto der = util::base64_decode(entry.value("certificate", ""));
        if (der) out.emplace_back(reinterpret_cast<const char*>(der->data()), der->size());
    }
    return out;
}

Result<Roster> roster_load(const Ledger& ledger) {
    DVI_TRY(found, ledger.find_chain_files("roster.json"));
    if (found.empty())
        return make_error(Errc::not_found, "the ledger has no roster",
                          "create a consortium with 'dvi init --consortium' or join one with 'dvi init --join'");
    // The newest state any chain claims; a fork (two heads at one version) is refused.
    const std::pair<ChainHead, std::string>* best = nullptr;
    Json best_state;
    std::int64_t best_version = -1;
    for (auto& f : found) {
        auto j = canonical_parse(f.second);
        if (!j) return make_error(Errc::bad_signature, "roster state of chain '" + f.first.writer.str() + "' is corrupt");
        std::int64_t v = j->value("version", std::int64_t{0});
        if (v > best_version) {
            best_version = v;
            best = &f;
            best_state = std::move(*j);
        } else if (v == best_version && j->value("head", "") != best_state.value("head", "")) {
            return make_error(Errc::bad_signature,
                              "the roster has forked: chains '" + best->first.writer.str() + "' and '" +
                                  f.first.writer.str() + "' both hold version " + std::to_string(v),
                              "run 'dvi audit' and ask the authorities to reconcile");
        }
    }
    DVI_TRY(pinned, ledger.config_get("dvi.genesis"));
    std::string genesis = pinned ? *pinned : best_state.value("genesis", "");

    // A state is only as good as the records that made it: replay them from the pinned
    // genesis, each signed by a writer the roster before it allowed to change it.
    std::vector<StoredRecord> records;
    for (std::string id = best_state.value("head", ""); !id.empty();) {
        if (records.size() > 100000) return make_error(Errc::bad_signature, "the roster's history does not end");
        auto rec = ledger.find_record(id, "roster");
        if (!rec) return make_error(Errc::bad_signature, "the roster names record " + id + ", which the ledger lacks");
        if (rec->type != "roster") return make_error(Errc::bad_signature, "the roster names " + id + ", not a roster record");
        const Json& prev = rec->json["prev"];
        records.push_back(std::move(*rec));
        if (prev.is_null()) break;
        id = prev.get<std::string>();
    }
    if (records.empty() || records.back().id != genesis)
        return make_error(Errc::bad_signature, "the roster does not descend from the pinned genesis " + genesis);
    Roster roster;
    for (auto it = records.rbegin(); it != records.rend(); ++it) {
        const Json& issuer = it->json["issuer"];
        WriterId who{issuer.value("partner", ""), issuer.value("writer", "")};
        if (!(it->chain.writer == who))
            return make_error(Errc::bad_signature, "roster record " + it->id + " sits in chain '" +
                                                       it->chain.writer.str() + "', not its issuer's");
        if (it != records.rbegin()) {
            if (auto may = roster.may_write(who, "roster"); !may)
                return make_error(Errc::bad_signature, "roster record " + it->id + " was written by '" + who.str() +
                                                           "', who may not change the roster: " + may.error().message);
        } else if (!it->json.contains("writer") || !it->json["writer"].is_object() ||
                   it->json["writer"].value("name", "") != who.writer || it->json.value("partner", "") != who.partner) {
            return make_error(Errc::bad_signature, "the genesis record is not signed by the authority it founds");
        }
        auto next = roster.apply(it->id, it->json);
        if (!next) return make_error(Errc::bad_signature, "roster record " + it->id + " does not apply: " + next.error().message);
        roster = std::move(*next);
        DVI_TRY(key, roster.key_of(who));
        if (issuer.value("key", "") != key.fingerprint())
            return make_error(Errc::bad_signature, "roster record " + it->id + " names key " + issuer.value("key", "") +
                                                       ", not its writer's");
    }
    if (roster.state() != best_state)
        return make_error(Errc::bad_signature, "the roster state of chain '" + best->first.writer.str() +
                                                   "' does not match the roster records");
    // Every chain holding a roster record is authenticated by its signed head: the
    // tree is cumulative, so the head's signature covers all the records in it.
    std::set<WriterId> checked;
    for (auto& r : records) {
        if (!checked.insert(r.chain.writer).second) continue;
        DVI_TRY(key, roster.key_of(r.chain.writer));
        DVI_TRY(check, ledger.check_commit(r.chain.commit, key));
        if (!check.problems.empty())
            return make_error(Errc::bad_signature,
                              "roster at " + r.chain.commit + " does not verify: " + check.problems.front());
    }
    return roster;
}

std::string allowed_signers(const Roster& roster) {
    std::string out;
    const Json& ps = roster.state()["partners"];
    for (auto p = ps.begin(); p != ps.end(); ++p)
        for (auto w = (*p)["writers"].begin(); w != (*p)["writers"].end(); ++w)
            out += p.key() + "/" + w.key() + " namespaces=\"git\" " + w->value("key", "") + "\n";
    return out;
}

}  // namespace dvi
