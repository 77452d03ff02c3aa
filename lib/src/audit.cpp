#include "dvi/audit.hpp"

#include <git2.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "dvi/anchor.hpp"
#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "dvi/util/fs.hpp"
#include "dvi/util/time.hpp"
#include "git.hpp"

namespace dvi {

std::string severity_name(Severity s) {
    switch (s) {
    case Severity::error: return "error";
    case Severity::warning: return "warning";
    case Severity::info: return "info";
    }
    return "error";
}

std::size_t AuditReport::count(Severity s) const {
    return static_cast<std::size_t>(
        std::count_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.severity == s; }));
}

namespace {

// A record as the replay met it: where it sits and what it says.
struct Rec {
    WriterId chain;
    std::int64_t seq = 0;
    std::string commit;
    std::string id;
    std::string type;
    Json json;
    std::int64_t created = 0;
};

struct Job {
    std::size_t chain = 0;  // index into heads
    std::int64_t seq = 0;
    std::string commit;
};

// A field of an object, or null: records are read, never changed, and a missing field
// must not throw (the schema was checked, but a finding's record may be any JSON).
const Json& at(const Json& j, const char* k) {
    static const Json null;
    if (!j.is_object()) return null;
    auto it = j.find(k);
    return it == j.end() ? null : *it;
}

std::string str(const Json& j, const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
std::int64_t num(const Json& j, const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}
std::string short_id(const std::string& id) { return id.substr(0, std::min<std::size_t>(id.size(), 19)); }

class Auditor {
public:
    Auditor(const Ledger& ledger, const Roster& roster, AuditReport& rep) : m_ledger(ledger), m_roster(roster), m_rep(rep) {}

    void add(const char* code, Severity sev, const Rec* r, std::string message) {
        Finding f;
        f.code = code;
        f.severity = sev;
        f.message = std::move(message);
        if (r) {
            f.chain = r->chain.str();
            f.seq = r->seq;
            f.record = r->id;
            f.commit = r->commit;
            const Json& j = r->json;
            if (r->type == "dossier") f.dossier = r->id;
            else if (j.contains("dossier") && j["dossier"].is_string()) f.dossier = j["dossier"];
            if (r->type == "license") f.license = r->id;
            else if (j.contains("license") && j["license"].is_string()) f.license = j["license"];
        }
        m_rep.findings.push_back(std::move(f));
    }

    // Phase 1: what one commit says about itself, its chain and its writer.
    // Takes the record out of `r`: the Auditor keeps it.
    // `schema_error`, `state_error`: what the verifying thread found wrong with the
    // record's schema and the commit's chain.json (never for a commit an earlier audit
    // verified: that depends only on its immutable content).
    void check_commit(const Job& job, const WriterId& w, Result<CommitCheck>& r, std::int64_t& last_created,
                      const std::optional<std::string>& schema_error, const std::optional<std::string>& state_error) {
        Rec placeholder{w, job.seq, job.commit, "", "", Json(), 0};
        if (!r) {
            add("commit-unreadable", Severity::error, &placeholder, r.error().message);
            return;
        }
        for (std::size_t i = 0; i < r->problems.size(); ++i)
            add(i < r->codes.size() ? r->codes[i].c_str() : "bad-signature", Severity::error, &placeholder,
                "commit " + job.commit + ": " + r->problems[i]);
        if (!r->record) return;
        StoredRecord& sr = *r->record;
        Rec rec{w, job.seq, job.commit, sr.id, sr.type, std::move(sr.json), 0};
        sr.bytes.clear();
        rec.created = util::parse_time(str(rec.json, "created")).value_or(0);
        if (schema_error) {
            add("schema-violation", Severity::error, &rec, *schema_error);
            return;  // the checks below read fields the schema guarantees
        }
        std::int64_t said = num(rec.json, "seq");
        if (said > job.seq)
            add("sequence-gap", Severity::error, &rec,
                "the record says position " + std::to_string(said) + " but is at " + std::to_string(job.seq) +
                    ": commits are missing before it");
        std::vector<std::string> placement;
        check_placement(rec.json, w, said > job.seq ? 0 : job.seq, placement);
        for (auto& p : placement) add("misplaced-record", Severity::error, &rec, p);
        const Json* wj = m_roster.writer(w);
        if (wj && str(at(rec.json, "issuer"), "key") != str(*wj, "fingerprint"))
            add("issuer-mismatch", Severity::error, &rec,
                "the record names key " + str(at(rec.json, "issuer"), "key") + ", not the writer's " + str(*wj, "fingerprint"));
        if (state_error) add("chain-state-mismatch", Severity::error, &rec, *state_error);
        if (wj) {
            if (auto m = m_roster.may_have_written(w, sr.type, job.seq); !m) {
                bool revoked = !at((*wj), "revoked").is_null() && job.seq > num(at((*wj), "revoked"), "after_seq");
                add(revoked ? "revoked-key-used" : "not-authorized", Severity::error, &rec, m.error().message);
            }
        }
        // Once per jump back, not for every record after it.
        if (rec.created < last_created)
            add("clock-regression", Severity::warning, &rec,
                "created " + str(rec.json, "created") + ", earlier than the record before it in its chain (" +
                    util::format_rfc3339(last_created) + ")");
        last_created = rec.created;
        m_records.push_back(std::move(rec));
    }

    void index() {
        for (std::size_t i = 0; i < m_records.size(); ++i) {
            m_by_id.emplace(m_records[i].id, i);
            m_by_commit.emplace(m_records[i].commit, i);
            m_by_type[m_records[i].type].push_back(i);
        }
    }

    const Rec* get(const Json& id) const {
        if (!id.is_string()) return nullptr;
        auto it = m_by_id.find(id.get<std::string>());
        return it == m_by_id.end() ? nullptr : &m_records[it->second];
    }
    const std::vector<std::size_t>& of_type(const std::string& t) { return m_by_type[t]; }

    // A reference that must resolve; reported once per referring record and field.
    const Rec* ref(const Rec& r, const char* field, const char* want_type) {
        const Rec* t = get(r.json[field]);
        if (!t) {
            add("reference-missing", Severity::error, &r,
                std::string(field) + " " + short_id(str(r.json, field)) + " is not in the ledger");
            return nullptr;
        }
        if (want_type && t->type != want_type) {
            add("reference-missing", Severity::error, &r,
                std::string(field) + " " + short_id(t->id) + " is a " + t->type + ", not a " + want_type);
            return nullptr;
        }
        return t;
    }

    // Anchors: evidence, heads, and the verified times that windows and `seen` use.
    void anchors() {
        for (auto i : of_type("anchor")) {
            const Rec& a = m_records[i];
            ++m_rep.anchors;
            StoredRecord sr{a.id, a.type, "", a.json, ChainHead{}};
            auto t = anchor_time(m_ledger, m_roster, sr);
            if (!t) add("anchor-invalid", Severity::error, &a, t.error().message);
            else if (*t) m_anchor_time[a.id] = **t;
            if (str(at(a.json, "evidence"), "kind") == "rfc3161-request") m_pending.insert(a.id);
            if (at(a.json, "evidence").contains("request")) m_pending.erase(str(at(a.json, "evidence"), "request"));
            for (auto& h : at(a.json, "heads")) {
                std::string chain = str(h, "chain");
                auto slash = chain.find('/');
                WriterId w{chain.substr(0, slash), chain.substr(slash + 1)};
                std::string commit = str(h, "commit");
                // A verified record of the replay answers at once; only a head the replay
                // did not keep (a commit with a finding) costs a walk of its chain.
                if (auto r = m_by_commit.find(commit); r != m_by_commit.end()) {
                    const Rec& named = m_records[r->second];
                    if (named.chain == w && named.seq == num(h, "seq") && named.id == str(h, "record")) continue;
                }
                auto inside = m_ledger.chain_contains(w, commit);
                auto at = inside && *inside ? m_ledger.head_at(w, commit) : Result<ChainHead>(Error{});
                if (!inside || !*inside || !at || at->seq != num(h, "seq") || at->record_id != str(h, "record"))
                    add("anchor-head-unknown", Severity::error, &a,
                        "the anchor names commit " + commit + " of chain '" + chain + "' at position " +
                            std::to_string(num(h, "seq")) + ", which is not in that chain here");
            }
        }
        for (auto& id : m_pending) {
            const Rec* a = get(Json(id));
            add("anchor-pending", Severity::info, a, "a time-stamp was requested and its reply not imported");
        }
    }

    std::optional<std::int64_t> seen_time(const Rec& r) const {
        auto it = m_anchor_time.find(str(r.json, "seen"));
        if (it == m_anchor_time.end()) return std::nullopt;
        return it->second;
    }

    void backdating() {
        for (auto& r : m_records) {
            auto t = seen_time(r);
            // A refusal for that very reason is the record of the attempt, not a backdating.
            bool refused_for_clock = r.type == "print" && str(at(r.json, "reason"), "code") == "clock-behind-ledger";
            if (t && r.created < *t && !refused_for_clock)
                add("created-before-anchor", Severity::error, &r,
                    "created " + str(r.json, "created") + ", before the time its writer's anchor proves (" +
                        util::format_rfc3339(*t) + "): backdated");
        }
    }

    void licences() {
        for (auto i : of_type("license")) {
            const Rec& l = m_records[i];
            LicenceUsage u;
            u.id = l.id;
            u.parent = str(l.json, "parent");
            u.dossier = str(l.json, "dossier");
            const Json& to = at(l.json, "to");
            u.holder = str(to, "partner") + (to.contains("writer") ? "/" + str(to, "writer") : "");
            u.chain = l.chain.str();
            u.quota = num(l.json, "quota");
            m_usage.emplace(l.id, u);
            const Rec* d = ref(l, "dossier", "dossier");
            // Encrypted recipes: the printer agent a licence is addressed to needs their key,
            // wrapped for the key the roster holds for it.
            const Json* holder = to.contains("writer") ? m_roster.writer(WriterId{str(to, "partner"), str(to, "writer")})
                                                       : nullptr;
            if (d && holder && at(d->json, "encryption").contains("recipe_keys")) {
                const Json& keys = l.json.contains("keys") ? l.json["keys"] : Json::array();
                const std::string fp = str(*holder, "fingerprint");
                bool carried = keys.is_array() && std::any_of(keys.begin(), keys.end(), [&](const Json& k) {
                                   return k.is_object() && k.value("key", "") == fp;
                               });
                if (!carried)
                    add("license-without-content-key", Severity::warning, &l,
                        "the dossier is encrypted and the licence carries no content key for '" + u.holder +
                            "', who cannot print on it");
            }
            if (u.parent.empty()) {
                if (d && str(d->json, "oem") != l.chain.partner)
                    add("license-not-by-oem", Severity::error, &l,
                        "the licence is granted by '" + l.chain.partner + "', not by the dossier's OEM '" +
                            str(d->json, "oem") + "'");
                continue;
            }
            const Rec* p = ref(l, "parent", "license");
            if (!p) continue;
            const Json& pto = at(p->json, "to");
            if (str(pto, "partner") != l.chain.partner)
                add("allocation-not-by-holder", Severity::error, &l,
                    "the allocation is issued by '" + l.chain.partner + "', not by the holder of its parent '" +
                        str(pto, "partner") + "'");
            bool other = str(to, "partner") != str(pto, "partner");
            std::int64_t left = num(p->json, "sublicense_depth");
            if ((other && left < 1) || num(l.json, "sublicense_depth") != left - (other ? 1 : 0) ||
                num(l.json, "depth") != num(p->json, "depth") + 1)
                add("sublicense-too-deep", Severity::error, &l,
                    "the allocation to '" + u.holder + "' goes deeper than licence " + short_id(p->id) +
                        " allows (sub-licence depth " + std::to_string(left) + ")");
            if (str(l.json, "dossier") != str(p->json, "dossier"))
                add("reference-missing", Severity::error, &l, "the allocation is for another dossier than its parent");
        }
        // Allocations never sum above the parent's quota, across all chains.
        for (auto& [id, u] : m_usage)
            if (!u.parent.empty() && m_usage.count(u.parent)) m_usage[u.parent].allocated += u.quota;
        for (auto& [id, u] : m_usage)
            if (u.allocated > u.quota)
                add("allocation-over-quota", Severity::error, get(Json(id)),
                    "allocations of this licence sum to " + std::to_string(u.allocated) + ", above its quota of " +
                        std::to_string(u.quota));
    }

    std::optional<const Rec*> revocation_of(const std::string& target) {
        for (auto i : of_type("revocation"))
            if (str(m_records[i].json, "target") == target) return &m_records[i];
        return std::nullopt;
    }

    void revocations() {
        for (auto i : of_type("revocation")) {
            const Rec& r = m_records[i];
            if (!ref(r, "target", nullptr)) continue;
            if (auto it = m_usage.find(str(r.json, "target")); it != m_usage.end()) it->second.revoked = true;
        }
    }

    // Whether the anchor a record names covers `r`: its heads include r's chain at or
    // after r's position, so the record's writer had r when it wrote.
    bool covered(const Rec& by, const Rec& r) const {
        const Rec* a = get(at(by.json, "seen"));
        if (!a) return false;
        for (auto& h : at(a->json, "heads"))
            if (str(h, "chain") == r.chain.str() && num(h, "seq") >= r.seq) return true;
        return false;
    }

    // A print of something revoked: an error when the printing writer had the revocation
    // (its anchor covers it), a warning when only the clocks say the print came later
    // (a disconnected agent could not know).
    void revoked_before(const Rec& p, const Rec& rv, const std::string& what) {
        std::string msg = what + " was revoked at " + str(rv.json, "created") + " (" + rv.chain.str() + " #" +
                          std::to_string(rv.seq) + ")";
        if (covered(p, rv))
            add("print-after-revocation", Severity::error, &p, msg + ", and the printing agent had that revocation");
        else if (rv.created < p.created)
            add("print-after-revocation-unseen", Severity::warning, &p,
                msg + ", before this print by the clocks; the printing agent may not have had it yet");
    }

    void prints() {
        std::map<std::string, std::int64_t> deviation_used;
        std::map<std::string, const Rec*> deviation_first;
        for (auto i : of_type("print")) {
            const Rec& p = m_records[i];
            if (str(p.json, "decision") != "allowed") continue;
            std::int64_t units = num(p.json, "units");
            const Rec* lic = ref(p, "license", "license");
            const Rec* dossier = ref(p, "dossier", "dossier");
            const Rec* lot = ref(p, "material_lot", "material-lot");
            if (!lic) continue;
            // Who may spend the allocation: exactly the writer it is addressed to.
            const Json& to = at(lic->json, "to");
            if (str(to, "partner") != p.chain.partner || str(to, "writer") != p.chain.writer)
                add("allocation-spent-by-other", Severity::error, &p,
                    "allocation " + short_id(lic->id) + " is addressed to '" + str(to, "partner") +
                        (to.contains("writer") ? "/" + str(to, "writer") : "") + "', but '" + p.chain.str() +
                        "' printed on it");
            for (const Rec* l = lic; l; l = get(at(l->json, "parent"))) {
                m_usage[l->id].used += units;
                if (auto rv = revocation_of(l->id)) revoked_before(p, **rv, "licence " + short_id(l->id));
                if (at(l->json, "parent").is_null()) break;
            }
            if (dossier)
                if (auto rv = revocation_of(dossier->id)) revoked_before(p, **rv, "dossier " + short_id(dossier->id));
            // The window, by the writer's clock and by the time the ledger proves.
            auto nb = util::parse_time(str(lic->json, "not_before"));
            auto na = util::parse_time(str(lic->json, "not_after"));
            auto t = seen_time(p);
            if ((nb && p.created < *nb) || (na && p.created > *na))
                add("print-outside-window", Severity::error, &p,
                    "printed at " + str(p.json, "created") + ", outside the licence's window");
            else if (na && t && *t > *na)
                add("print-outside-window", Severity::error, &p,
                    "the ledger proves " + util::format_rfc3339(*t) + " before this print, after the licence expired at " +
                        str(lic->json, "not_after"));
            // The recipe and the file.
            if (dossier) {
                const Json* recipe = nullptr;
                for (auto& r : at(dossier->json, "recipes"))
                    if (str(r, "name") == str(p.json, "recipe")) recipe = &r;
                if (!recipe)
                    add("recipe-mismatch", Severity::error, &p,
                        "the dossier has no recipe '" + str(p.json, "recipe") + "'");
                else if (str(at((*recipe), "gcode"), "sha256") != str(at(p.json, "file"), "sha256"))
                    add("recipe-mismatch", Severity::error, &p,
                        "the printed file " + str(at(p.json, "file"), "sha256").substr(0, 12) + " is not the sealed G-code " +
                            str(at((*recipe), "gcode"), "sha256").substr(0, 12) + " of recipe '" + str(*recipe, "name") + "'");
                else if (str((*recipe), "printer_model") != str(at(p.json, "device"), "model"))
                    add("recipe-mismatch", Severity::error, &p,
                        "recipe '" + str(*recipe, "name") + "' is for '" + str(*recipe, "printer_model") + "', not '" +
                            str(at(p.json, "device"), "model") + "'");
            }
            // The material lot, its status and its certificate.
            if (lot && dossier) {
                const Json& mats = at(dossier->json, "materials");
                std::string spec = str(at(lot->json, "material"), "spec");
                std::string cert = str(at(lot->json, "certificate"), "type");
                auto has = [](const Json& arr, const std::string& s) {
                    return arr.is_array() && std::find(arr.begin(), arr.end(), Json(s)) != arr.end();
                };
                if (!has(at(mats, "specs"), spec) || !has(at(mats, "certificate_types"), cert))
                    add("material-not-accepted", Severity::error, &p,
                        "lot " + str(lot->json, "lot") + " (" + spec + ", " + cert + ") is not accepted by the dossier");
                if (str(lot->json, "status") != "released") {
                    const Rec* dev = p.json.contains("deviation") ? get(at(p.json, "deviation")) : nullptr;
                    if (!dev)
                        add("lot-not-released", Severity::error, &p,
                            "lot " + str(lot->json, "lot") + " is in " + str(lot->json, "status") +
                                " and no deviation allows it");
                    else {
                        std::int64_t n = p.json.contains("serials") && !at(p.json, "serials").empty()
                                             ? static_cast<std::int64_t>(at(p.json, "serials").size())
                                             : 1;
                        deviation_used[dev->id] += n;
                        deviation_first.emplace(dev->id, dev);
                        const Json& dto = at(dev->json, "to");
                        if (str(dev->json, "material_lot") != lot->id || str(dev->json, "dossier") != dossier->id ||
                            str(dto, "partner") != p.chain.partner ||
                            (dto.contains("writer") && str(dto, "writer") != p.chain.writer))
                            add("lot-not-released", Severity::error, &p,
                                "deviation " + short_id(dev->id) + " does not cover this lot, dossier and printer");
                    }
                }
            }
        }
        for (auto& [id, used] : deviation_used) {
            const Rec* d = deviation_first[id];
            if (used > num(d->json, "max_parts"))
                add("deviation-overused", Severity::error, d,
                    "the deviation allows at most " + std::to_string(num(d->json, "max_parts")) + " parts, " +
                        std::to_string(used) + " were printed under it");
        }
        // Failed jobs given back under a licence whose failed jobs do not count.
        for (auto i : of_type("inspection")) {
            const Rec& in = m_records[i];
            const Rec* p = ref(in, "print", "print");
            if (str(in.json, "result") == "fail")
                add("inspection-failed", Severity::warning, &in,
                    "serial " + str(in.json, "serial") + " failed inspection");
            if (!p || str(in.json, "result") != "fail" || !(p->chain == in.chain)) continue;
            const Rec* lic = get(at(p->json, "license"));
            if (lic && !lic->json.value("count_failed", true))
                for (const Rec* l = lic; l; l = get(at(l->json, "parent"))) m_usage[l->id].used -= num(p->json, "units");
        }
        for (auto& [id, u] : m_usage)
            if (u.used > u.quota)
                add(u.parent.empty() ? "prints-over-license" : "prints-over-allocation", Severity::error, get(Json(id)),
                    std::to_string(u.used) + " units were printed under this " +
                        (u.parent.empty() ? std::string("licence") : std::string("allocation")) + ", above its quota of " +
                        std::to_string(u.quota));
    }

    void deviations() {
        for (auto i : of_type("deviation")) {
            const Rec& d = m_records[i];
            const Rec* dossier = ref(d, "dossier", "dossier");
            ref(d, "material_lot", "material-lot");
            if (dossier && str(dossier->json, "oem") != d.chain.partner)
                add("deviation-not-by-oem", Severity::error, &d,
                    "the deviation is issued by '" + d.chain.partner + "', not by the dossier's OEM '" +
                        str(dossier->json, "oem") + "'");
        }
    }

    // Every artifact a record references is in its chain's tree and hashes to its name.
    void artifacts() {
        std::set<std::pair<std::string, std::string>> done;  // (chain, sha256)
        for (auto& r : m_records) {
            std::vector<std::string> shas;
            collect_artifacts(r.json, shas);
            for (auto& sha : shas) {
                if (!done.insert({r.chain.str(), sha}).second) continue;
                auto content = m_ledger.read_chain_file(r.chain, "artifacts/" + sha.substr(0, 2) + "/" + sha);
                if (!content || !*content)
                    add("artifact-missing", Severity::error, &r, "artifact sha256:" + sha + " is not in the chain's tree");
                else if (crypto::sha256_hex(**content) != sha)
                    add("artifact-hash-mismatch", Severity::error, &r,
                        "artifact sha256:" + sha + " holds bytes with another hash");
            }
        }
    }

    static void collect_artifacts(const Json& j, std::vector<std::string>& out) {
        if (j.is_object()) {
            auto sha = j.find("sha256");
            auto media = j.find("media_type");
            if (sha != j.end() && media != j.end() && sha->is_string()) out.push_back(sha->get<std::string>());
            for (auto& [k, v] : j.items()) collect_artifacts(v, out);
        } else if (j.is_array()) {
            for (auto& v : j) collect_artifacts(v, out);
        }
    }

    void forks() {
        git_repository* repo = static_cast<git_repository*>(m_ledger.raw_repository());
        std::vector<std::string> refs;
        git_reference_foreach_glob(
            repo, "refs/dvi/forks/*",
            [](const char* name, void* payload) {
                static_cast<std::vector<std::string>*>(payload)->push_back(name);
                return 0;
            },
            &refs);
        for (auto& name : refs) {
            std::string rest = name.substr(std::string("refs/dvi/forks/").size());
            auto a = rest.find('/'), b = rest.find('/', a + 1);
            if (a == std::string::npos || b == std::string::npos) continue;
            ++m_rep.forks;
            Finding f;
            f.code = "fork";
            f.severity = Severity::error;
            f.chain = rest.substr(0, b);
            f.commit = rest.substr(b + 1);
            f.message = "writer '" + f.chain + "' signed a head that diverges from its chain here: an equivocation, kept as "
                        "evidence under " + name;
            m_rep.findings.push_back(std::move(f));
        }
    }

    void events() {
        for (auto& r : m_records) {
            AuditEvent e{r.chain.str(), r.seq, r.type, r.id, str(r.json, "created"), ""};
            if (r.type == "dossier") m_rep.names[r.id] = str(r.json, "part_number") + "@" + str(r.json, "revision");
            if (r.type == "print") e.label = str(r.json, "decision");
            else if (r.type == "anchor") e.label = str(at(r.json, "evidence"), "kind");
            else if (r.type == "roster") e.label = str(r.json, "action");
            m_rep.events.push_back(std::move(e));
        }
        for (auto& [id, u] : m_usage) m_rep.licences.push_back(u);
    }

    std::vector<Rec>& records() { return m_records; }

private:
    const Ledger& m_ledger;
    const Roster& m_roster;
    AuditReport& m_rep;
    std::vector<Rec> m_records;
    std::map<std::string, std::size_t> m_by_id;
    std::unordered_map<std::string, std::size_t> m_by_commit;  // commit -> record, for anchors' heads
    std::map<std::string, std::vector<std::size_t>> m_by_type;
    std::map<std::string, std::int64_t> m_anchor_time;
    std::set<std::string> m_pending;
    std::map<std::string, LicenceUsage> m_usage;
};

// Every record blob of a chain's head tree (its tree is cumulative), by record id: how
// the records of commits verified by an earlier audit are read without walking each
// commit's tree. The bytes are checked against the id all the same.
struct RecordBlob {
    git_oid oid;
    std::string type;
};
using ChainIndex = std::map<std::string, RecordBlob>;

ChainIndex index_chain(const Ledger& ledger, const ChainHead& head) {
    ChainIndex out;
    auto* repo = static_cast<git_repository*>(ledger.raw_repository());
    git_oid commit_oid;
    git_commit* commit = nullptr;
    git_tree* tree = nullptr;
    git_tree_entry* records = nullptr;
    git_tree* rt = nullptr;
    if (git_oid_fromstr(&commit_oid, head.commit.c_str()) == 0 && git_commit_lookup(&commit, repo, &commit_oid) == 0 &&
        git_commit_tree(&tree, commit) == 0 && git_tree_entry_bypath(&records, tree, "records") == 0 &&
        git_tree_lookup(&rt, repo, git_tree_entry_id(records)) == 0) {
        git_tree_walk(
            rt, GIT_TREEWALK_PRE,
            [](const char* root, const git_tree_entry* e, void* payload) {
                // records/<type>/<ab>/<cd>/<id>.json: nothing deeper is walked, however deep
                // a hostile tree goes.
                if (git_tree_entry_type(e) == GIT_OBJECT_TREE) return std::count(root, root + std::strlen(root), '/') >= 3 ? 1 : 0;
                if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) return 0;
                std::string name = git_tree_entry_name(e);
                if (name.size() != 69 || name.substr(64) != ".json") return 0;
                std::string dir = root;
                auto* idx = static_cast<ChainIndex*>(payload);
                (*idx)["sha256:" + name.substr(0, 64)] = RecordBlob{*git_tree_entry_id(e), dir.substr(0, dir.find('/'))};
                return 0;
            },
            &out);
    }
    git_error_clear();
    git_tree_free(rt);
    git_tree_entry_free(records);
    git_tree_free(tree);
    git_commit_free(commit);
    return out;
}

// The record a commit adds, read through the chain's index; nullopt when the index
// cannot tell (the caller then reads it the slow way).
std::optional<StoredRecord> indexed_record(const Ledger& l, const ChainIndex& index, const std::string& commit_hex) {
    auto* repo = static_cast<git_repository*>(l.raw_repository());
    git_oid oid;
    git_commit* commit = nullptr;
    if (git_oid_fromstr(&oid, commit_hex.c_str()) != 0 || git_commit_lookup(&commit, repo, &oid) != 0) {
        git_error_clear();
        return std::nullopt;
    }
    auto id = commit_record_id(git_commit_message(commit));
    git_commit_free(commit);
    auto it = id ? index.find(*id) : index.end();
    if (it == index.end()) return std::nullopt;
    git_blob* blob = nullptr;
    if (!git::check_size(repo, it->second.oid, std::size_t{16} << 20, "record").ok() ||
        git_blob_lookup(&blob, repo, &it->second.oid) != 0) {
        git_error_clear();
        return std::nullopt;  // the slow path says what is wrong
    }
    std::string bytes(static_cast<const char*>(git_blob_rawcontent(blob)), static_cast<std::size_t>(git_blob_rawsize(blob)));
    git_blob_free(blob);
    if (record_id_of(bytes) != *id) return std::nullopt;
    auto json = canonical_parse(bytes);
    if (!json) return std::nullopt;
    StoredRecord rec{*id, it->second.type, std::string(), std::move(*json), ChainHead{}};
    rec.chain.commit = commit_hex;
    return rec;
}

constexpr const char* k_cache_format = "dvi-audit-cache@1";

struct CachedChain {
    std::string commit;
    std::int64_t seq = 0;
    std::string key;
};

std::filesystem::path cache_path(const Ledger& ledger) { return ledger.path() / "dvi" / "audit-cache.json"; }

// The cache, if it is there, whole and of this consortium; a damaged one is reported
// and ignored (the audit then verifies everything and writes a good one).
std::map<std::string, CachedChain> load_cache(const Ledger& ledger, const std::string& genesis,
                                              std::vector<std::string>& notices) {
    std::map<std::string, CachedChain> out;
    auto path = cache_path(ledger);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) return out;
    auto text = util::read_file(path, 64 << 20);
    auto doc = text ? canonical_parse(*text) : Result<Json>(text.error());
    bool good = doc && doc->is_object() && str(*doc, "format") == k_cache_format && str(*doc, "genesis") == genesis &&
                at(*doc, "chains").is_object();
    if (good) {
        Json body = *doc;
        body.erase("checksum");
        good = str(*doc, "checksum") == crypto::sha256_hex(canonical_dump(body).value());
    }
    if (!good) {
        notices.push_back("the audit cache " + util::quote(path) + " is damaged; every commit is verified again");
        return out;
    }
    for (auto& [chain, c] : at(*doc, "chains").items())
        out[chain] = CachedChain{str(c, "commit"), num(c, "seq"), str(c, "key")};
    return out;
}

void save_cache(const Ledger& ledger, const std::string& genesis, const std::map<std::string, CachedChain>& chains,
                std::vector<std::string>& notices) {
    Json c = Json::object();
    for (auto& [chain, v] : chains) c[chain] = {{"commit", v.commit}, {"seq", v.seq}, {"key", v.key}};
    Json doc{{"format", k_cache_format}, {"genesis", genesis}, {"chains", c}};
    doc["checksum"] = crypto::sha256_hex(canonical_dump(doc).value());
    auto path = cache_path(ledger);
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (auto w = util::write_file_atomic(path, canonical_dump(doc).value(), util::FileMode::public_0644,
                                         util::Overwrite::yes);
        !w)
        notices.push_back("cannot write the audit cache: " + w.error().message);
}

}  // namespace

Result<AuditReport> audit(const Ledger& ledger, const AuditRequest& req) {
    AuditReport rep;
    // --since names an anchor of this ledger: checked before anything (the cache) is written.
    std::optional<StoredRecord> since;
    if (!req.since.empty()) {
        DVI_TRY(anchor, ledger.find_record(req.since));
        if (anchor.type != "anchor")
            return make_error(Errc::invalid_input, "--since: record " + anchor.id + " is a " + anchor.type + ", not an anchor");
        since = std::move(anchor);
    }
    // A replay reads each object about once: libgit2's object cache (256 MB per handle
    // by default) would only hold memory.
    git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, static_cast<ssize_t>(16 << 20));
    auto roster = roster_load(ledger);
    if (!roster) {
        if (roster.error().code != Errc::bad_signature && roster.error().code != Errc::invalid_input)
            return roster.error();
        rep.findings.push_back(Finding{"roster-invalid", Severity::error, "", 0, "", "", roster.error().message, "", ""});
        return rep;
    }
    rep.consortium = roster->consortium();
    rep.genesis = roster->genesis();
    DVI_TRY(heads, ledger.chains());
    rep.chains = heads.size();

    // Every commit of every chain, oldest first within a chain.
    std::vector<Job> jobs;
    for (std::size_t c = 0; c < heads.size(); ++c) {
        DVI_TRY(commits, ledger.chain_commits(heads[c].writer));
        std::int64_t seq = 0;
        for (auto it = commits.rbegin(); it != commits.rend(); ++it) jobs.push_back({c, ++seq, *it});
    }
    rep.commits = jobs.size();
    std::vector<std::optional<crypto::PublicKey>> keys;
    for (auto& h : heads) {
        auto k = roster->key_of(h.writer);
        keys.push_back(k ? std::optional<crypto::PublicKey>(*k) : std::nullopt);
    }

    // Which commits an earlier audit verified: a chain's cached head must sit at its
    // position in the chain as it is now, signed by the same key.
    std::map<std::string, CachedChain> cache;
    if (req.cache == AuditCache::use) cache = load_cache(ledger, rep.genesis, rep.notices);
    std::vector<char> skip(jobs.size(), 0);
    {
        std::map<std::size_t, std::int64_t> upto;
        for (std::size_t c = 0; c < heads.size(); ++c) {
            auto it = cache.find(heads[c].writer.str());
            if (it != cache.end() && keys[c] && it->second.key == keys[c]->fingerprint()) upto[c] = it->second.seq;
        }
        // The cached head itself must be this chain's commit at that position.
        std::set<std::size_t> found;
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            auto u = upto.find(jobs[i].chain);
            if (u == upto.end() || jobs[i].seq != u->second) continue;
            if (jobs[i].commit == cache[heads[jobs[i].chain].writer.str()].commit) found.insert(jobs[i].chain);
        }
        for (auto& [c, n] : upto)
            if (!found.count(c)) n = 0;
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            auto u = upto.find(jobs[i].chain);
            skip[i] = u != upto.end() && jobs[i].seq <= u->second;
        }
    }

    // The signatures, on every core: each thread with its own handle of the ledger.
    std::vector<std::optional<Result<CommitCheck>>> results(jobs.size());
    unsigned threads = req.threads ? req.threads : std::max(1u, std::thread::hardware_concurrency());
    if (jobs.size() < 64 || !req.reopen) threads = 1;
    std::atomic<std::size_t> next{0}, done{0};
    std::mutex progress_mutex;
    auto continue_progress = [&] {
        std::size_t d = ++done;
        if (req.progress && (d % 256 == 0 || d == jobs.size())) {
            std::lock_guard<std::mutex> lock(progress_mutex);
            req.progress(d, jobs.size());
        }
    };
    std::vector<std::optional<std::string>> schema_errors(jobs.size()), state_errors(jobs.size());
    std::vector<ChainIndex> indexes(heads.size());
    for (std::size_t c = 0; c < heads.size(); ++c)
        if (keys[c]) indexes[c] = index_chain(ledger, heads[c]);
    auto one = [&](const Ledger& l, std::size_t i) {
        {
            if (!keys[jobs[i].chain]) {
                // unknown writer: reported once below
            } else if (skip[i]) {
                // Verified by an earlier run: read the record, skip the signature.
                if (auto fast = indexed_record(l, indexes[jobs[i].chain], jobs[i].commit)) {
                    CommitCheck cc;
                    cc.commit = jobs[i].commit;
                    cc.record_id = fast->id;
                    cc.record = std::move(*fast);
                    results[i] = std::move(cc);
                    continue_progress();
                    return;
                }
                auto rec = l.record_of_commit(jobs[i].commit);
                if (!rec) {
                    results[i] = Result<CommitCheck>(rec.error());
                } else {
                    CommitCheck cc;
                    cc.commit = jobs[i].commit;
                    cc.record_id = rec->id;
                    cc.record = std::move(*rec);
                    results[i] = std::move(cc);
                }
            } else {
                // The signature here; the record from the chain's head-tree index (its
                // bytes checked against the trailer's id), else from the commit's tree.
                results[i] = l.check_commit(jobs[i].commit, *keys[jobs[i].chain], Ledger::RecordRead::trailer_only);
                if (*results[i] && !(**results[i]).record_id.empty()) {
                    auto fast = indexed_record(l, indexes[jobs[i].chain], jobs[i].commit);
                    if (fast) (**results[i]).record = std::move(*fast);
                    else results[i] = l.check_commit(jobs[i].commit, *keys[jobs[i].chain]);
                }
                // The schema and chain.json too, here on every core: they are the costliest
                // checks after the signature.
                if (*results[i] && (**results[i]).record) {
                    const StoredRecord& rec = *(**results[i]).record;
                    if (auto v = validate_record(rec.json); !v) schema_errors[i] = v.error().message;
                    auto head = l.head_at(heads[jobs[i].chain].writer, jobs[i].commit);
                    if (!head) state_errors[i] = head.error().message;
                    else if (head->seq != jobs[i].seq || head->record_id != rec.id)
                        state_errors[i] = "its chain.json says position " + std::to_string(head->seq) + " and record " +
                                          head->record_id;
                }
            }
            continue_progress();
        }
    };
    // Each thread takes consecutive commits of a chain: each record is stored as a delta
    // against the one before, which is then still in that thread's cache.
    const std::size_t k_batch = std::clamp<std::size_t>(jobs.size() / (4 * threads), 1, 128);
    auto work = [&](const Ledger& l) {
        for (std::size_t start; (start = next.fetch_add(k_batch)) < jobs.size();)
            for (std::size_t i = start; i < std::min(start + k_batch, jobs.size()); ++i) one(l, i);
    };
    if (threads == 1) {
        work(ledger);
    } else {
        std::vector<Result<Ledger>> handles;
        for (unsigned t = 0; t < threads; ++t) handles.push_back(req.reopen());
        for (auto& h : handles)
            if (!h) return h.error();
        std::vector<std::thread> pool;
        for (auto& h : handles) pool.emplace_back([&] { work(*h); });
        for (auto& t : pool) t.join();
    }

    Auditor a(ledger, *roster, rep);
    std::vector<std::int64_t> last_created(heads.size(), 0);
    std::set<std::size_t> unknown;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const WriterId& w = heads[jobs[i].chain].writer;
        if (!keys[jobs[i].chain]) {
            if (unknown.insert(jobs[i].chain).second) {
                Rec none{w, 0, "", "", "", Json(), 0};
                a.add("unknown-writer", Severity::error, &none,
                      "writer '" + w.str() + "' is not in the roster: its " + std::to_string(heads[jobs[i].chain].seq) +
                          " records cannot be verified");
            }
            continue;
        }
        a.check_commit(jobs[i], w, *results[i], last_created[jobs[i].chain], schema_errors[i], state_errors[i]);
        if (*results[i] && (**results[i]).record) (**results[i]).record.reset();
    }
    rep.records = a.records().size();
    for (std::size_t i = 0; i < jobs.size(); ++i)
        if (keys[jobs[i].chain]) ++(skip[i] ? rep.cached : rep.verified);

    // The verified prefix of each chain: up to the first commit with any finding of its
    // own, so that a later audit, which skips its immutable checks, loses none.
    std::set<std::string> flagged;
    for (auto& f : rep.findings) flagged.insert(f.commit);
    std::map<std::string, CachedChain> verified_prefix;
    std::set<std::size_t> broken;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        std::size_t c = jobs[i].chain;
        if (!keys[c] || broken.count(c)) continue;
        if (!results[i] || !(*results[i]) || !(**results[i]).problems.empty() || flagged.count(jobs[i].commit)) {
            broken.insert(c);
            continue;
        }
        verified_prefix[heads[c].writer.str()] = CachedChain{jobs[i].commit, jobs[i].seq, keys[c]->fingerprint()};
    }
    save_cache(ledger, rep.genesis, verified_prefix, rep.notices);
    a.index();
    a.anchors();
    a.backdating();
    a.licences();
    a.revocations();
    a.deviations();
    a.prints();
    a.artifacts();
    a.forks();
    a.events();

    if (since) {
        const StoredRecord& anchor = *since;
        std::map<std::string, std::int64_t> covered;
        for (auto& h : at(anchor.json, "heads")) covered[str(h, "chain")] = num(h, "seq");
        rep.since = anchor.id;
        auto before = [&](const Finding& f) {
            auto it = covered.find(f.chain);
            return f.seq > 0 && it != covered.end() && f.seq <= it->second;
        };
        auto keep = std::stable_partition(rep.findings.begin(), rep.findings.end(), [&](auto& f) { return !before(f); });
        rep.before_since = static_cast<std::size_t>(rep.findings.end() - keep);
        rep.findings.erase(keep, rep.findings.end());
    }
    std::stable_sort(rep.findings.begin(), rep.findings.end(), [](const Finding& x, const Finding& y) {
        return std::tie(x.severity, x.chain, x.seq, x.code) < std::tie(y.severity, y.chain, y.seq, y.code);
    });
    return rep;
}

}  // namespace dvi
