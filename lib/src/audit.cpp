#include "dvi/audit.hpp"

#include <git2.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <deque>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "dvi/anchor.hpp"
#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "dvi/sshsig.hpp"
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

using Digest = std::array<std::uint8_t, 32>;

int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // record ids are lower case, as every other reference to them
}

// "sha256:<64 hex digits>" as its 32 bytes; nullopt for anything else.
std::optional<Digest> digest_of(std::string_view id) {
    constexpr std::string_view prefix = "sha256:";
    if (id.size() != prefix.size() + 64 || id.substr(0, prefix.size()) != prefix) return std::nullopt;
    Digest d{};
    for (std::size_t i = 0; i < d.size(); ++i) {
        int hi = nibble(id[prefix.size() + 2 * i]), lo = nibble(id[prefix.size() + 2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        d[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return d;
}

struct DigestHash {
    std::size_t operator()(const Digest& d) const {
        std::size_t h;
        std::memcpy(&h, d.data(), sizeof h);  // a SHA-256 is uniform already
        return h;
    }
};

std::string id_text(const Digest& d) {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out = "sha256:";
    for (auto b : d) {
        out += k_hex[b >> 4];
        out += k_hex[b & 15];
    }
    return out;
}

// A record as the replay meets it, whole: what one commit says about itself.
struct Rec {
    WriterId chain;
    std::int64_t seq = 0;
    std::string commit;
    std::string id;
    std::string type;
    Json json;
    std::int64_t created = 0;
};

// What the walk of a chain read of a commit: its tree, and the item of its chain's index
// that its trailer names (k_unindexed when it names none, or it has more than one parent).
constexpr std::uint32_t k_unindexed = std::numeric_limits<std::uint32_t>::max();
struct Walked {
    git_oid tree{};
    std::uint32_t item = k_unindexed;
};

// One commit of a chain to verify; 28 bytes, one per record of the ledger.
struct Job {
    git_oid commit{};
    std::uint32_t chain = 0;  // index into the heads
    std::uint32_t seq = 0;    // its position in the chain
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

// Interned strings: the values that a million prints repeat (licence, dossier, lot,
// recipe, file, device model, anchor) are kept once. A Sym is an index; 0 is "".
using Sym = std::uint32_t;
constexpr Sym k_no_sym = ~Sym{0};
class Strings {
public:
    Strings() { intern(""); }
    Strings(const Strings&) = delete;  // the index holds views into m_all
    Strings& operator=(const Strings&) = delete;
    Sym intern(std::string_view s) {
        if (auto it = m_index.find(s); it != m_index.end()) return it->second;
        m_all.emplace_back(s);  // a deque: the views the index holds stay valid
        auto sym = static_cast<Sym>(m_all.size() - 1);
        m_index.emplace(std::string_view(m_all.back()), sym);
        return sym;
    }
    std::optional<Sym> find(std::string_view s) const {
        auto it = m_index.find(s);
        return it == m_index.end() ? std::nullopt : std::optional<Sym>(it->second);
    }
    const std::string& operator[](Sym s) const { return m_all[s]; }

private:
    std::deque<std::string> m_all;
    std::unordered_map<std::string_view, Sym> m_index;
};

// A record once its own checks are done, as the cross-record checks need it. Prints and
// inspections, which a ledger holds by the million, keep only the fields those checks
// read (about 150 bytes, where their parsed JSON takes 5 to 10 KB); every other record,
// a few per dossier and licence, keeps its JSON.
enum class Kind : std::uint8_t { full, print, inspection };
// 64 bytes: its commit, chain and position are those of its job.
struct Entry {
    Digest id{};
    std::int64_t created = 0;
    std::uint32_t job = 0;  // index into the audit's jobs
    Sym type = 0;
    Sym seen = 0;
    Sym created_text = k_no_sym;  // `created` as written, when format_rfc3339(created) does not give it back
    Kind kind = Kind::full;
    std::uint32_t payload = 0;  // index into the JSON, print or inspection facts
};
struct PrintFacts {
    Sym decision = 0, reason = 0, license = 0, dossier = 0, lot = 0, deviation = 0, recipe = 0, file = 0, model = 0;
    bool has_deviation = false;
    std::uint32_t serials = 0;
    std::int64_t units = 0;
};
struct InspectionFacts {
    Digest print{};
    bool print_is_id = false;
    Sym print_text = 0;  // the reference as written, when it is not a record id
    Sym dossier = 0, result = 0;
    Sym serial = 0;  // kept for a failed inspection only, the one a finding names
};

class Auditor {
public:
    // `jobs`: every commit of the audit, which outlive the Auditor.
    Auditor(const Ledger& ledger, const Roster& roster, AuditReport& rep, std::vector<WriterId> chains,
            const std::vector<Job>& jobs, AuditEvents events)
        : m_ledger(ledger), m_roster(roster), m_rep(rep), m_chains(std::move(chains)), m_jobs(jobs), m_events(events),
          m_by_chain(m_chains.size()) {
        for (std::uint32_t c = 0; c < m_chains.size(); ++c) m_chain_index.emplace(m_chains[c].str(), c);
    }

    // A finding about a record being checked, or about none.
    void add(const char* code, Severity sev, const Rec* r, std::string message) {
        Finding f{code, sev, "", 0, "", "", std::move(message), "", ""};
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

    // A finding about a kept record.
    void add(const char* code, Severity sev, const Entry* e, std::string message) {
        Finding f{code, sev, "", 0, "", "", std::move(message), "", ""};
        if (e) {
            f.chain = chain_name(*e);
            f.seq = seq_of(*e);
            f.record = id_text(e->id);
            f.commit = git::oid_hex(m_jobs[e->job].commit);
            const std::string& type = m_strings[e->type];
            f.dossier = type == "dossier" ? f.record : field_of(*e, "dossier");
            f.license = type == "license" ? f.record : field_of(*e, "license");
        }
        m_rep.findings.push_back(std::move(f));
    }

    // Phase 1: what one commit says about itself, its chain and its writer.
    // Takes the record out of `r`: the Auditor keeps what it needs of it.
    // `schema_error`, `state_error`: what the verifying thread found wrong with the
    // record's schema and the commit's chain.json (never for a commit an earlier audit
    // verified: that depends only on its immutable content).
    // Returns whether those checks found anything (the artifacts it references, checked
    // on every audit, do not count).
    bool check_commit(const Job& job, Result<CommitCheck>& r, std::int64_t& last_created,
                      const std::optional<std::string>& schema_error, const std::optional<std::string>& state_error) {
        const std::size_t before = m_rep.findings.size();
        const WriterId& w = m_chains[job.chain];
        const std::string commit = git::oid_hex(job.commit);
        Rec placeholder{w, job.seq, commit, "", "", Json(), 0};
        if (!r) {
            add("commit-unreadable", Severity::error, &placeholder, r.error().message);
            return true;
        }
        for (std::size_t i = 0; i < r->problems.size(); ++i)
            add(i < r->codes.size() ? r->codes[i].c_str() : "bad-signature", Severity::error, &placeholder,
                "commit " + commit + ": " + r->problems[i]);
        if (!r->record) return m_rep.findings.size() != before;
        StoredRecord& sr = *r->record;
        Rec rec{w, job.seq, commit, sr.id, sr.type, std::move(sr.json), 0};
        sr.bytes.clear();
        rec.created = util::parse_time(str(rec.json, "created")).value_or(0);
        if (schema_error) {
            add("schema-violation", Severity::error, &rec, *schema_error);
            return true;  // the checks below read fields the schema guarantees
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
        const bool found = m_rep.findings.size() != before;
        artifacts(rec);
        keep(std::move(rec), job);
        return found;
    }

    void index() {
        m_by_id.reserve(m_entries.size());
        for (std::uint32_t i = 0; i < m_entries.size(); ++i) {
            m_by_id.push_back(i);
            m_by_type[m_strings[m_entries[i].type]].push_back(i);
        }
        // The first of two records with one id (a record replayed in another chain) answers.
        std::stable_sort(m_by_id.begin(), m_by_id.end(),
                         [this](std::uint32_t x, std::uint32_t y) { return m_entries[x].id < m_entries[y].id; });
    }

    std::size_t size() const { return m_entries.size(); }

    // Room for every record of `jobs` (prints and inspections grow in blocks).
    void reserve(const std::vector<Job>& jobs) {
        m_entries.reserve(jobs.size());
        std::vector<std::size_t> per_chain(m_chains.size(), 0);
        for (auto& j : jobs) ++per_chain[j.chain];
        for (std::size_t c = 0; c < m_chains.size(); ++c) m_by_chain[c].reserve(per_chain[c]);
    }

    const Entry* get(std::string_view id) const {
        auto d = digest_of(id);
        if (!d) return nullptr;
        auto it = std::lower_bound(m_by_id.begin(), m_by_id.end(), *d,
                                   [this](std::uint32_t x, const Digest& v) { return m_entries[x].id < v; });
        return it == m_by_id.end() || m_entries[*it].id != *d ? nullptr : &m_entries[*it];
    }
    const Entry* lookup(const Json& id) const { return id.is_string() ? get(std::string_view(id.get_ref<const std::string&>())) : nullptr; }
    const std::vector<std::uint32_t>& of_type(const std::string& t) { return m_by_type[t]; }

    // The JSON of a record that keeps it (a null for prints and inspections).
    const Json& json(const Entry& e) const {
        static const Json null;
        return e.kind == Kind::full ? m_json[e.payload] : null;
    }
    const std::string& type_of(const Entry& e) const { return m_strings[e.type]; }
    std::uint32_t chain_of(const Entry& e) const { return m_jobs[e.job].chain; }
    std::int64_t seq_of(const Entry& e) const { return m_jobs[e.job].seq; }
    std::string chain_name(const Entry& e) const { return m_chains[chain_of(e)].str(); }
    std::string created_text(const Entry& e) const {
        return e.created_text != k_no_sym ? m_strings[e.created_text] : util::format_rfc3339(e.created);
    }
    // The dossier or licence a record names, for grouping its findings.
    std::string field_of(const Entry& e, const char* field) const {
        if (e.kind == Kind::print) {
            const PrintFacts& p = m_prints[e.payload];
            return m_strings[std::string_view(field) == "dossier" ? p.dossier : p.license];
        }
        if (e.kind == Kind::inspection) return std::string_view(field) == "dossier" ? m_strings[m_inspections[e.payload].dossier] : "";
        return str(json(e), field);
    }

    // A reference that must resolve; reported once per referring record and field.
    const Entry* ref(const Entry& r, const char* field, const std::string& value, const char* want_type) {
        const Entry* t = get(value);
        if (!t) {
            add("reference-missing", Severity::error, &r, std::string(field) + " " + short_id(value) + " is not in the ledger");
            return nullptr;
        }
        if (want_type && type_of(*t) != want_type) {
            add("reference-missing", Severity::error, &r,
                std::string(field) + " " + short_id(id_text(t->id)) + " is a " + type_of(*t) + ", not a " + want_type);
            return nullptr;
        }
        return t;
    }
    const Entry* ref(const Entry& r, const char* field, const char* want_type) {
        return ref(r, field, str(json(r), field), want_type);
    }

    // Anchors: evidence, heads, and the verified times that windows and `seen` use.
    void anchors() {
        for (auto i : of_type("anchor")) {
            const Entry& a = m_entries[i];
            const Json& aj = json(a);
            const std::string aid = id_text(a.id);
            ++m_rep.anchors;
            StoredRecord sr{aid, "anchor", "", aj, ChainHead{}};
            auto t = anchor_time(m_ledger, m_roster, sr);
            if (!t) add("anchor-invalid", Severity::error, &a, t.error().message);
            else if (*t) m_anchor_time[aid] = **t;
            if (str(at(aj, "evidence"), "kind") == "rfc3161-request") m_pending.insert(aid);
            if (at(aj, "evidence").contains("request")) m_pending.erase(str(at(aj, "evidence"), "request"));
            for (auto& h : at(aj, "heads")) {
                std::string chain = str(h, "chain");
                auto slash = chain.find('/');
                WriterId w{chain.substr(0, slash), chain.substr(slash + 1)};
                std::string commit = str(h, "commit");
                // A verified record of the replay answers at once; only a head the replay
                // did not keep (a commit with a finding) costs a walk of its chain.
                if (const Entry* named = at_position(chain, num(h, "seq"));
                    named && git::oid_hex(m_jobs[named->job].commit) == commit && id_text(named->id) == str(h, "record"))
                    continue;
                auto inside = m_ledger.chain_contains(w, commit);
                auto pos = inside && *inside ? m_ledger.head_at(w, commit) : Result<ChainHead>(Error{});
                if (!inside || !*inside || !pos || pos->seq != num(h, "seq") || pos->record_id != str(h, "record"))
                    add("anchor-head-unknown", Severity::error, &a,
                        "the anchor names commit " + commit + " of chain '" + chain + "' at position " +
                            std::to_string(num(h, "seq")) + ", which is not in that chain here");
            }
        }
        for (auto& id : m_pending) add("anchor-pending", Severity::info, get(id), "a time-stamp was requested and its reply not imported");
        for (auto& [id, t] : m_anchor_time)
            if (auto s = m_strings.find(id)) m_seen_time.emplace(*s, t);
    }

    // The kept record at a position of a chain.
    const Entry* at_position(const std::string& chain, std::int64_t seq) const {
        auto c = m_chain_index.find(chain);
        if (c == m_chain_index.end()) return nullptr;
        const auto& list = m_by_chain[c->second];
        auto it = std::lower_bound(list.begin(), list.end(), seq, [&](std::uint32_t i, std::int64_t s) { return seq_of(m_entries[i]) < s; });
        return it == list.end() || seq_of(m_entries[*it]) != seq ? nullptr : &m_entries[*it];
    }

    std::optional<std::int64_t> seen_time(const Entry& e) const {
        auto it = m_seen_time.find(e.seen);
        if (it == m_seen_time.end()) return std::nullopt;
        return it->second;
    }

    void backdating() {
        for (auto& e : m_entries) {
            auto t = seen_time(e);
            // A refusal for that very reason is the record of the attempt, not a backdating.
            bool refused_for_clock = e.kind == Kind::print && m_strings[m_prints[e.payload].reason] == "clock-behind-ledger";
            if (t && e.created < *t && !refused_for_clock)
                add("created-before-anchor", Severity::error, &e,
                    "created " + created_text(e) + ", before the time its writer's anchor proves (" + util::format_rfc3339(*t) +
                        "): backdated");
        }
    }

    // The usage of a licence or allocation, kept by id.
    LicenceUsage& usage(const Entry& l) {
        auto index = static_cast<std::uint32_t>(&l - m_entries.data());
        auto it = m_usage_of.find(index);
        if (it != m_usage_of.end()) return *it->second;
        LicenceUsage& u = m_usage[id_text(l.id)];
        m_usage_of.emplace(index, &u);
        return u;
    }

    void licences() {
        for (auto i : of_type("license")) {
            const Entry& l = m_entries[i];
            const Json& lj = json(l);
            const WriterId& issuer = m_chains[chain_of(l)];
            LicenceUsage u;
            u.id = id_text(l.id);
            u.parent = str(lj, "parent");
            u.dossier = str(lj, "dossier");
            const Json& to = at(lj, "to");
            u.holder = str(to, "partner") + (to.contains("writer") ? "/" + str(to, "writer") : "");
            u.chain = issuer.str();
            u.quota = num(lj, "quota");
            u.unit = str(lj, "unit");
            m_usage.emplace(u.id, u);
            const Entry* d = ref(l, "dossier", "dossier");
            // Encrypted recipes: the printer agent a licence is addressed to needs their key,
            // wrapped for the key the roster holds for it.
            const Json* holder = to.contains("writer") ? m_roster.writer(WriterId{str(to, "partner"), str(to, "writer")})
                                                       : nullptr;
            if (d && holder && at(json(*d), "encryption").contains("recipe_keys")) {
                const Json& keys = lj.contains("keys") ? lj["keys"] : Json::array();
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
                if (d && str(json(*d), "oem") != issuer.partner)
                    add("license-not-by-oem", Severity::error, &l,
                        "the licence is granted by '" + issuer.partner + "', not by the dossier's OEM '" +
                            str(json(*d), "oem") + "'");
                continue;
            }
            const Entry* p = ref(l, "parent", "license");
            if (!p) continue;
            const Json& pj = json(*p);
            const Json& pto = at(pj, "to");
            if (str(pto, "partner") != issuer.partner)
                add("allocation-not-by-holder", Severity::error, &l,
                    "the allocation is issued by '" + issuer.partner + "', not by the holder of its parent '" +
                        str(pto, "partner") + "'");
            bool other = str(to, "partner") != str(pto, "partner");
            std::int64_t left = num(pj, "sublicense_depth");
            if ((other && left < 1) || num(lj, "sublicense_depth") != left - (other ? 1 : 0) ||
                num(lj, "depth") != num(pj, "depth") + 1)
                add("sublicense-too-deep", Severity::error, &l,
                    "the allocation to '" + u.holder + "' goes deeper than licence " + short_id(id_text(p->id)) +
                        " allows (sub-licence depth " + std::to_string(left) + ")");
            if (str(lj, "dossier") != str(pj, "dossier"))
                add("reference-missing", Severity::error, &l, "the allocation is for another dossier than its parent");
        }
        // Allocations never sum above the parent's quota, across all chains.
        for (auto& [id, u] : m_usage)
            if (!u.parent.empty() && m_usage.count(u.parent)) m_usage[u.parent].allocated += u.quota;
        for (auto& [id, u] : m_usage)
            if (u.allocated > u.quota)
                add("allocation-over-quota", Severity::error, get(id),
                    "allocations of this licence sum to " + std::to_string(u.allocated) + ", above its quota of " +
                        std::to_string(u.quota));
    }

    // The first revocation of a record, if any.
    const Entry* revocation_of(const Entry& target) const {
        auto it = m_revocation_of.find(static_cast<std::uint32_t>(&target - m_entries.data()));
        return it == m_revocation_of.end() ? nullptr : &m_entries[it->second];
    }

    void revocations() {
        for (auto i : of_type("revocation")) {
            const Entry& r = m_entries[i];
            if (const Entry* target = lookup(at(json(r), "target")))
                m_revocation_of.emplace(static_cast<std::uint32_t>(target - m_entries.data()), i);
            if (!ref(r, "target", nullptr)) continue;
            if (auto it = m_usage.find(str(json(r), "target")); it != m_usage.end()) it->second.revoked = true;
        }
    }

    // Whether the anchor a record names covers `r`: its heads include r's chain at or
    // after r's position, so the record's writer had r when it wrote.
    bool covered(const Entry& by, const Entry& r) const {
        const Entry* a = get(m_strings[by.seen]);
        if (!a) return false;
        const std::string chain = chain_name(r);
        for (auto& h : at(json(*a), "heads"))
            if (str(h, "chain") == chain && num(h, "seq") >= seq_of(r)) return true;
        return false;
    }

    // A print of something revoked: an error when the printing writer had the revocation
    // (its anchor covers it), a warning when only the clocks say the print came later
    // (a disconnected agent could not know).
    void revoked_before(const Entry& p, const Entry& rv, const std::string& what) {
        std::string msg = what + " was revoked at " + created_text(rv) + " (" + chain_name(rv) + " #" + std::to_string(seq_of(rv)) + ")";
        if (covered(p, rv))
            add("print-after-revocation", Severity::error, &p, msg + ", and the printing agent had that revocation");
        else if (rv.created < p.created)
            add("print-after-revocation-unseen", Severity::warning, &p,
                msg + ", before this print by the clocks; the printing agent may not have had it yet");
    }

    void prints() {
        std::map<std::string, std::int64_t> deviation_used;
        std::map<std::string, const Entry*> deviation_first;
        const std::string k_allowed = "allowed";
        for (auto i : of_type("print")) {
            const Entry& p = m_entries[i];
            const PrintFacts& f = m_prints[p.payload];
            const WriterId& printer = m_chains[chain_of(p)];
            if (m_strings[f.decision] != k_allowed) continue;
            const Entry* lic = ref(p, "license", m_strings[f.license], "license");
            const Entry* dossier = ref(p, "dossier", m_strings[f.dossier], "dossier");
            const Entry* lot = ref(p, "material_lot", m_strings[f.lot], "material-lot");
            if (!lic) continue;
            const Json& lj = json(*lic);
            // Who may spend the allocation: exactly the writer it is addressed to.
            const Json& to = at(lj, "to");
            if (str(to, "partner") != printer.partner || str(to, "writer") != printer.writer)
                add("allocation-spent-by-other", Severity::error, &p,
                    "allocation " + short_id(id_text(lic->id)) + " is addressed to '" + str(to, "partner") +
                        (to.contains("writer") ? "/" + str(to, "writer") : "") + "', but '" + printer.str() + "' printed on it");
            for (const Entry* l = lic; l; l = lookup(at(json(*l), "parent"))) {
                usage(*l).used += f.units;
                if (const Entry* rv = revocation_of(*l)) revoked_before(p, *rv, "licence " + short_id(id_text(l->id)));
                if (at(json(*l), "parent").is_null()) break;
            }
            if (dossier)
                if (const Entry* rv = revocation_of(*dossier)) revoked_before(p, *rv, "dossier " + short_id(id_text(dossier->id)));
            // The window, by the writer's clock and by the time the ledger proves.
            auto nb = util::parse_time(str(lj, "not_before"));
            auto na = util::parse_time(str(lj, "not_after"));
            auto t = seen_time(p);
            if ((nb && p.created < *nb) || (na && p.created > *na))
                add("print-outside-window", Severity::error, &p, "printed at " + created_text(p) + ", outside the licence's window");
            else if (na && t && *t > *na)
                add("print-outside-window", Severity::error, &p,
                    "the ledger proves " + util::format_rfc3339(*t) + " before this print, after the licence expired at " +
                        str(lj, "not_after"));
            // The recipe and the file.
            if (dossier) {
                const Json* recipe = nullptr;
                const std::string& name = m_strings[f.recipe];
                const std::string& file = m_strings[f.file];
                const std::string& model = m_strings[f.model];
                for (auto& r : at(json(*dossier), "recipes"))
                    if (str(r, "name") == name) recipe = &r;
                if (!recipe)
                    add("recipe-mismatch", Severity::error, &p, "the dossier has no recipe '" + name + "'");
                else if (str(at((*recipe), "gcode"), "sha256") != file)
                    add("recipe-mismatch", Severity::error, &p,
                        "the printed file " + file.substr(0, 12) + " is not the sealed G-code " +
                            str(at((*recipe), "gcode"), "sha256").substr(0, 12) + " of recipe '" + str(*recipe, "name") + "'");
                else if (str((*recipe), "printer_model") != model)
                    add("recipe-mismatch", Severity::error, &p,
                        "recipe '" + str(*recipe, "name") + "' is for '" + str(*recipe, "printer_model") + "', not '" + model + "'");
            }
            // The material lot, its status and its certificate.
            if (lot && dossier) {
                const Json& lotj = json(*lot);
                const Json& mats = at(json(*dossier), "materials");
                std::string spec = str(at(lotj, "material"), "spec");
                std::string cert = str(at(lotj, "certificate"), "type");
                auto has = [](const Json& arr, const std::string& s) {
                    return arr.is_array() && std::find(arr.begin(), arr.end(), Json(s)) != arr.end();
                };
                if (!has(at(mats, "specs"), spec) || !has(at(mats, "certificate_types"), cert))
                    add("material-not-accepted", Severity::error, &p,
                        "lot " + str(lotj, "lot") + " (" + spec + ", " + cert + ") is not accepted by the dossier");
                if (str(lotj, "status") != "released") {
                    const Entry* dev = f.has_deviation ? get(m_strings[f.deviation]) : nullptr;
                    if (!dev)
                        add("lot-not-released", Severity::error, &p,
                            "lot " + str(lotj, "lot") + " is in " + str(lotj, "status") + " and no deviation allows it");
                    else {
                        std::int64_t n = f.serials > 0 ? f.serials : 1;
                        const std::string dev_id = id_text(dev->id);
                        deviation_used[dev_id] += n;
                        deviation_first.emplace(dev_id, dev);
                        const Json& devj = json(*dev);
                        const Json& dto = at(devj, "to");
                        if (str(devj, "material_lot") != id_text(lot->id) || str(devj, "dossier") != id_text(dossier->id) ||
                            str(dto, "partner") != printer.partner ||
                            (dto.contains("writer") && str(dto, "writer") != printer.writer))
                            add("lot-not-released", Severity::error, &p,
                                "deviation " + short_id(dev_id) + " does not cover this lot, dossier and printer");
                    }
                }
            }
        }
        for (auto& [id, used] : deviation_used) {
            const Entry* d = deviation_first[id];
            if (used > num(json(*d), "max_parts"))
                add("deviation-overused", Severity::error, d,
                    "the deviation allows at most " + std::to_string(num(json(*d), "max_parts")) + " parts, " +
                        std::to_string(used) + " were printed under it");
        }
        // Units given back under a licence whose failed jobs do not count, as the printer
        // agent gives them (dvi-license(1)): a failed job its units, once however many of
        // its parts failed; under a licence that counts parts, each failed part (serial)
        // its unit, once, and never more than the print used.
        std::map<const Entry*, std::set<Sym>> failed_parts;  // by print: its failed serials
        for (auto i : of_type("inspection")) {
            const Entry& in = m_entries[i];
            const InspectionFacts& f = m_inspections[in.payload];
            const Entry* p = ref(in, "print", f.print_is_id ? id_text(f.print) : m_strings[f.print_text], "print");
            const bool failed = m_strings[f.result] == "fail";
            if (failed) add("inspection-failed", Severity::warning, &in, "serial " + m_strings[f.serial] + " failed inspection");
            if (p && failed && chain_of(*p) == chain_of(in)) failed_parts[p].insert(f.serial);
        }
        for (auto& [p, serials] : failed_parts) {
            const PrintFacts& pf = m_prints[p->payload];
            const Entry* lic = get(m_strings[pf.license]);
            if (!lic || !json(*lic).is_object() || json(*lic).value("count_failed", true)) continue;
            const std::int64_t back = json(*lic).value("unit", "") == "part"
                                          ? std::min(pf.units, static_cast<std::int64_t>(serials.size()))
                                          : pf.units;
            for (const Entry* l = lic; l; l = lookup(at(json(*l), "parent"))) usage(*l).used -= back;
        }
        for (auto& [id, u] : m_usage)
            if (u.used > u.quota)
                add(u.parent.empty() ? "prints-over-license" : "prints-over-allocation", Severity::error, get(id),
                    std::to_string(u.used) + " units were printed under this " +
                        (u.parent.empty() ? std::string("licence") : std::string("allocation")) + ", above its quota of " +
                        std::to_string(u.quota));
    }

    void deviations() {
        for (auto i : of_type("deviation")) {
            const Entry& d = m_entries[i];
            const Entry* dossier = ref(d, "dossier", "dossier");
            ref(d, "material_lot", "material-lot");
            const std::string& issuer = m_chains[chain_of(d)].partner;
            if (dossier && str(json(*dossier), "oem") != issuer)
                add("deviation-not-by-oem", Severity::error, &d,
                    "the deviation is issued by '" + issuer + "', not by the dossier's OEM '" + str(json(*dossier), "oem") + "'");
        }
    }

    // Every artifact a record references is in its chain's tree and hashes to its name.
    void artifacts(const Rec& r) {
        std::vector<std::string> shas;
        collect_artifacts(r.json, shas);
        if (m_artifacts_chain != r.chain) {  // the replay goes chain after chain
            m_artifacts_chain = r.chain;
            m_artifacts_done.clear();
            m_artifacts_odd.clear();
        }
        for (auto& sha : shas) {
            auto d = digest_of("sha256:" + sha);
            if (d ? !m_artifacts_done.insert(*d).second : !m_artifacts_odd.insert(sha).second) continue;
            auto content = m_ledger.read_chain_file(r.chain, "artifacts/" + sha.substr(0, 2) + "/" + sha);
            if (!content || !*content)
                add("artifact-missing", Severity::error, &r, "artifact sha256:" + sha + " is not in the chain's tree");
            else if (crypto::sha256_hex(**content) != sha)
                add("artifact-hash-mismatch", Severity::error, &r, "artifact sha256:" + sha + " holds bytes with another hash");
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
            // Both heads of an equivocation are kept; ours, and any head our chain has
            // since grown from, is the chain itself: only a head outside it is a fork.
            git_oid kept, head;
            if (git_oid_fromstr(&kept, rest.substr(b + 1).c_str()) == 0 &&
                git_reference_name_to_id(&head, repo, ("refs/dvi/chains/" + rest.substr(0, b)).c_str()) == 0 &&
                (git_oid_equal(&kept, &head) || git_graph_descendant_of(repo, &head, &kept) == 1))
                continue;
            git_error_clear();
            ++m_rep.forks;
            Finding f;
            f.code = "fork";
            f.severity = Severity::error;
            f.chain = rest.substr(0, b);
            f.commit = rest.substr(b + 1);
            f.message = "writer '" + f.chain +
                        "' signed a head that diverges from its chain: an equivocation, kept as "
                        "evidence under " +
                        name;
            m_rep.findings.push_back(std::move(f));
        }
    }

    void events() {
        for (auto& e : m_entries) {
            const std::string& type = type_of(e);
            if (type == "dossier") m_rep.names[id_text(e.id)] = str(json(e), "part_number") + "@" + str(json(e), "revision");
            if (m_events == AuditEvents::skip) continue;
            AuditEvent ev{chain_name(e), seq_of(e), type, id_text(e.id), created_text(e), ""};
            if (e.kind == Kind::print) ev.label = m_strings[m_prints[e.payload].decision];
            else if (type == "anchor") ev.label = str(at(json(e), "evidence"), "kind");
            else if (type == "roster") ev.label = str(json(e), "action");
            m_rep.events.push_back(std::move(ev));
        }
        for (auto& [id, u] : m_usage) m_rep.licences.push_back(u);
    }

private:
    // Keeps a checked record: whole, or the facts the cross-record checks read of it.
    void keep(Rec&& rec, const Job& job) {
        Entry e;
        e.id = digest_of(rec.id).value_or(Digest{});
        e.job = static_cast<std::uint32_t>(&job - m_jobs.data());
        e.created = rec.created;
        e.type = m_strings.intern(rec.type);
        const Json& j = rec.json;
        e.seen = m_strings.intern(str(j, "seen"));
        if (std::string created = str(j, "created"); util::format_rfc3339(e.created) != created)
            e.created_text = m_strings.intern(created);
        if (rec.type == "print") {
            PrintFacts f;
            f.decision = m_strings.intern(str(j, "decision"));
            f.reason = m_strings.intern(str(at(j, "reason"), "code"));
            f.license = m_strings.intern(str(j, "license"));
            f.dossier = m_strings.intern(str(j, "dossier"));
            f.lot = m_strings.intern(str(j, "material_lot"));
            f.has_deviation = j.contains("deviation");
            f.deviation = m_strings.intern(str(j, "deviation"));
            f.recipe = m_strings.intern(str(j, "recipe"));
            f.file = m_strings.intern(str(at(j, "file"), "sha256"));
            f.model = m_strings.intern(str(at(j, "device"), "model"));
            f.serials = static_cast<std::uint32_t>(at(j, "serials").size());
            f.units = num(j, "units");
            e.kind = Kind::print;
            e.payload = static_cast<std::uint32_t>(m_prints.size());
            m_prints.push_back(f);
        } else if (rec.type == "inspection") {
            InspectionFacts f;
            std::string print = str(j, "print");
            if (auto d = digest_of(print)) {
                f.print = *d;
                f.print_is_id = true;
            } else {
                f.print_text = m_strings.intern(print);
            }
            f.dossier = m_strings.intern(str(j, "dossier"));
            f.result = m_strings.intern(str(j, "result"));
            if (str(j, "result") == "fail") f.serial = m_strings.intern(str(j, "serial"));
            e.kind = Kind::inspection;
            e.payload = static_cast<std::uint32_t>(m_inspections.size());
            m_inspections.push_back(f);
        } else {
            e.payload = static_cast<std::uint32_t>(m_json.size());
            m_json.push_back(std::move(rec.json));
        }
        m_by_chain[job.chain].push_back(static_cast<std::uint32_t>(m_entries.size()));
        m_entries.push_back(e);
    }

    const Ledger& m_ledger;
    const Roster& m_roster;
    AuditReport& m_rep;
    std::vector<WriterId> m_chains;
    const std::vector<Job>& m_jobs;
    AuditEvents m_events;
    std::map<std::string, std::uint32_t> m_chain_index;
    Strings m_strings;
    std::vector<Entry> m_entries;
    std::vector<Json> m_json;
    std::deque<PrintFacts> m_prints;
    std::deque<InspectionFacts> m_inspections;
    std::vector<std::vector<std::uint32_t>> m_by_chain;         // entries of each chain, by position
    std::vector<std::uint32_t> m_by_id;                         // entries, sorted by id
    std::map<std::string, std::vector<std::uint32_t>> m_by_type;
    std::map<std::string, std::int64_t> m_anchor_time;
    std::unordered_map<Sym, std::int64_t> m_seen_time;  // the same, by interned anchor id
    std::set<std::string> m_pending;
    std::map<std::string, LicenceUsage> m_usage;
    std::unordered_map<std::uint32_t, LicenceUsage*> m_usage_of;      // by licence entry
    std::unordered_map<std::uint32_t, std::uint32_t> m_revocation_of;  // target entry -> first revocation
    // The artifacts checked in the chain being replayed (by SHA-256; odd names apart).
    WriterId m_artifacts_chain;
    std::unordered_set<Digest, DigestHash> m_artifacts_done;
    std::set<std::string> m_artifacts_odd;
};

// Every record blob of a chain's head tree (its tree is cumulative), by record id: how
// a commit's record is read without walking its tree. The bytes are checked against the
// id all the same. About 56 bytes per record.
// Freed heap pages back to the system (glibc keeps them in its arenas otherwise) and the
// pages of the ledger's pack files mapped so far back to the page cache.
void give_back_memory(const std::filesystem::path& pack_dir) {
#ifdef __GLIBC__
    ::malloc_trim(0);
#endif
    util::release_mappings_under(pack_dir);
}

// Holds the pages of the pack files and indexes that libgit2 maps under `budget` bytes
// while it lives, from a thread of its own: the chain walks, the chains' indexes and the
// replay all read packs, and a lookup's binary search touches pages all over an index
// (28 bytes per object, 11 objects per record). Pages past the budget go back to the
// page cache, to be read again from there when next needed.
class MappedBudget {
public:
    MappedBudget(std::filesystem::path dir, std::size_t budget)
        : m_thread([this, dir = std::move(dir), budget] {
              std::unique_lock lock(m_mutex);
              while (!m_stop) {
                  if (util::resident_bytes().files > budget) util::release_mappings_under(dir);
                  m_changed.wait_for(lock, std::chrono::milliseconds(50));
              }
          }) {}
    MappedBudget(const MappedBudget&) = delete;
    MappedBudget& operator=(const MappedBudget&) = delete;
    ~MappedBudget() {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_changed.notify_all();
        m_thread.join();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_stop = false;
    std::thread m_thread;  // last: starts once the members it uses exist
};

struct ChainIndex {
    struct Item {
        Digest id;
        git_oid blob;
        std::uint8_t type;  // into types
    };
    std::vector<std::string> types;
    std::vector<Item> items;  // sorted by id

    const Item* find(const Digest& id) const {
        auto it = std::lower_bound(items.begin(), items.end(), id, [](const Item& x, const Digest& v) { return x.id < v; });
        return it == items.end() || it->id != id ? nullptr : &*it;
    }
};

// A part of a chain's index, in the order a walk of its records tree meets it: a folder
// records/<type>/<ab> still to be read (by any thread), or the records filed above the
// fan-out folders, read with the chain's type folders.
struct IndexPart {
    std::uint32_t chain = 0;
    std::uint8_t type = 0;  // into the chain's index's types
    std::optional<git_oid> folder;
    std::vector<ChainIndex::Item> items;
};

// Adds the record of tree entry `e` to `items` if its name is `<64 hex>.json`.
void index_entry(const git_tree_entry* e, std::uint8_t type, std::vector<ChainIndex::Item>& items) {
    std::string_view name = git_tree_entry_name(e);
    if (name.size() != 69 || name.substr(64) != ".json") return;
    if (auto id = digest_of("sha256:" + std::string(name.substr(0, 64)))) items.push_back({*id, *git_tree_entry_id(e), type});
}

// The top of the records tree of the chain at `head`, cut into parts: the layout is
// records/<type>/<ab>/<cd>/<id>.json, and nothing deeper is read, however deep a hostile
// tree goes.
void index_top(const Ledger& ledger, const ChainHead& head, std::uint32_t chain, ChainIndex& index,
               std::vector<IndexPart>& parts) {
    struct Top {
        std::uint32_t chain;
        ChainIndex* index;
        std::vector<IndexPart>* parts;
    } top{chain, &index, &parts};
    auto* repo = static_cast<git_repository*>(ledger.raw_repository());
    git_oid commit_oid;
    Result<git::Commit> commit = make_error(Errc::not_found, "");
    git_tree* tree = nullptr;
    git_tree_entry* records = nullptr;
    git_tree* rt = nullptr;
    if (git_oid_fromstr(&commit_oid, head.commit.c_str()) == 0 && (commit = git::lookup_commit(repo, commit_oid, "")) &&
        git_commit_tree(&tree, commit->get()) == 0 && git_tree_entry_bypath(&records, tree, "records") == 0 &&
        git_tree_lookup(&rt, repo, git_tree_entry_id(records)) == 0) {
        git_tree_walk(
            rt, GIT_TREEWALK_PRE,
            [](const char* root, const git_tree_entry* e, void* payload) {
                auto* t = static_cast<Top*>(payload);
                const bool folder = git_tree_entry_type(e) == GIT_OBJECT_TREE;
                if (!folder && git_tree_entry_type(e) != GIT_OBJECT_BLOB) return 0;
                std::string_view dir = root;
                if (folder && dir.empty()) return 0;  // records/<type>: walked here
                std::string type(dir.substr(0, dir.find('/')));
                auto& types = t->index->types;
                auto it = std::find(types.begin(), types.end(), type);
                if (it == types.end()) {
                    if (types.size() == 255) return folder ? 1 : 0;  // the slow path reads these
                    it = types.insert(types.end(), type);
                }
                const auto type_at = static_cast<std::uint8_t>(it - types.begin());
                auto& out = *t->parts;
                if (folder) {
                    // records/<type>/<ab>: read later, by any thread
                    out.push_back(IndexPart{t->chain, type_at, *git_tree_entry_id(e), {}});
                    return 1;
                }
                if (out.empty() || out.back().folder || out.back().chain != t->chain || out.back().type != type_at)
                    out.push_back(IndexPart{t->chain, type_at, std::nullopt, {}});
                index_entry(e, type_at, out.back().items);
                return 0;
            },
            &top);
    }
    git_error_clear();
    git_tree_free(rt);
    git_tree_entry_free(records);
    git_tree_free(tree);
}

// Reads the folder records/<type>/<ab> of `part` into its items: the records in it and
// in its <cd> folders.
void index_folder(const Ledger& ledger, IndexPart& part) {
    auto* repo = static_cast<git_repository*>(ledger.raw_repository());
    git_tree* folder = nullptr;
    if (git_tree_lookup(&folder, repo, &*part.folder) == 0)
        git_tree_walk(
            folder, GIT_TREEWALK_PRE,
            [](const char* root, const git_tree_entry* e, void* payload) {
                auto* p = static_cast<IndexPart*>(payload);
                if (git_tree_entry_type(e) == GIT_OBJECT_TREE) return *root ? 1 : 0;  // <cd>, and nothing below it
                if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) index_entry(e, p->type, p->items);
                return 0;
            },
            &part);
    git_error_clear();
    git_tree_free(folder);
    part.folder.reset();
}

// Every record of the head tree of each chain `wanted`, by id. The <ab> folders are read
// by every thread (`on_all(f)` runs f(handle, thread number) on each handle) in rounds of
// k_index_round, between which `release_all` lets every handle go of its object store:
// reading folders fills libgit2's caches of delta bases (16 MB for each pack they are in).
template <class OnAll, class ReleaseAll>
std::vector<ChainIndex> index_chains(const Ledger& ledger, const std::vector<ChainHead>& heads, const std::vector<char>& wanted,
                                     OnAll&& on_all, ReleaseAll&& release_all) {
    constexpr std::size_t k_index_round = 64;  // folders of up to 257 trees each
    std::vector<ChainIndex> indexes(heads.size());
    std::vector<IndexPart> parts;
    for (std::size_t c = 0; c < heads.size(); ++c)
        if (wanted[c]) index_top(ledger, heads[c], static_cast<std::uint32_t>(c), indexes[c], parts);
    std::vector<std::size_t> folders;
    for (std::size_t i = 0; i < parts.size(); ++i)
        if (parts[i].folder) folders.push_back(i);
    for (std::size_t round = 0; round < folders.size(); round += k_index_round) {
        const std::size_t end = std::min(folders.size(), round + k_index_round);
        std::atomic<std::size_t> next{round};
        on_all([&](const Ledger& l, unsigned) {
            for (std::size_t f; (f = next++) < end;) index_folder(l, parts[folders[f]]);
        });
        release_all();
    }
    // Each index in walk order, then by id: a hostile tree may file one id twice, and the
    // first in walk order answers, as when the record is read through the commit's own tree.
    std::vector<std::size_t> sizes(heads.size(), 0);
    for (auto& p : parts) sizes[p.chain] += p.items.size();
    for (std::size_t c = 0; c < heads.size(); ++c) indexes[c].items.reserve(sizes[c]);
    for (auto& p : parts) {
        auto& items = indexes[p.chain].items;
        items.insert(items.end(), p.items.begin(), p.items.end());
        p.items = {};
    }
    for (auto& index : indexes)
        std::stable_sort(index.items.begin(), index.items.end(), [](auto& x, auto& y) { return x.id < y.id; });
    return indexes;
}

// The record of item `item` of the index, added by commit `commit_hex` whose trailer says
// `id` (the item's id): its bytes are checked against it.
std::optional<StoredRecord> indexed_record(const Ledger& l, const ChainIndex& index, const ChainIndex::Item& item,
                                           const std::string& commit_hex, const std::string& id) {
    auto* repo = static_cast<git_repository*>(l.raw_repository());
    std::string bytes;
    {
        auto obj = git::read_object(repo, item.blob, git::k_max_ledger_file, "record");
        if (!obj || git_odb_object_type(obj->get()) != GIT_OBJECT_BLOB) {
            git_error_clear();
            return std::nullopt;  // the slow path says what is wrong
        }
        bytes.assign(static_cast<const char*>(git_odb_object_data(obj->get())), git_odb_object_size(obj->get()));
    }
    if (const auto digest = crypto::sha256(bytes); !std::equal(digest.begin(), digest.end(), item.id.begin(), item.id.end()))
        return std::nullopt;
    auto json = canonical_parse(bytes);
    if (!json) return std::nullopt;
    StoredRecord rec{id, index.types[item.type], std::string(), std::move(*json), ChainHead{}};
    rec.chain.commit = commit_hex;
    return rec;
}

// The record a commit adds, read through the chain's index; nullopt when the index
// cannot tell (the caller then reads it the slow way).
// `id`: the record id of the commit's trailer, when known; else the commit is read for it.
std::optional<StoredRecord> indexed_record(const Ledger& l, const ChainIndex& index, const std::string& commit_hex,
                                           std::optional<std::string> id = std::nullopt) {
    auto* repo = static_cast<git_repository*>(l.raw_repository());
    if (!id) {
        git_oid oid;
        if (git_oid_fromstr(&oid, commit_hex.c_str()) != 0) return std::nullopt;
        auto raw = git::read_commit(repo, oid);
        if (!raw) {
            git_error_clear();
            return std::nullopt;
        }
        id = commit_record_id(raw->message.c_str());
    }
    auto digest = id ? digest_of(*id) : std::nullopt;
    const ChainIndex::Item* item = digest ? index.find(*digest) : nullptr;
    if (!item) return std::nullopt;
    return indexed_record(l, index, *item, commit_hex, *id);
}

// @2: records also checked for control characters and dates of the calendar, so a cache
// of an earlier version vouches for nothing.
constexpr const char* k_cache_format = "dvi-audit-cache@2";

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
        const bool other_version =
            doc && doc->is_object() && doc->contains("format") && str(*doc, "format") != k_cache_format;
        notices.push_back("the audit cache " + util::quote(path) +
                          (other_version ? " was made by another version of dvi" : " is damaged") +
                          "; every commit is verified again");
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
    // A replay reads each object about once, and again at once: libgit2's object cache
    // (256 MB per handle by default) would only hold memory beyond a few MB, and so would packs mapped whole (a page read
    // once stays resident while it is mapped): at most 64 MB of them, in 16 MB windows.
    git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, static_cast<ssize_t>(4 << 20));
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, static_cast<std::size_t>(16 << 20));
    git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, static_cast<std::size_t>(64 << 20));
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
    const std::filesystem::path pack_dir =
        std::filesystem::path(git_repository_path(static_cast<git_repository*>(ledger.raw_repository()))) / "objects" / "pack";
    MappedBudget mapped(pack_dir, std::size_t{64} << 20);

    // Each verifying thread has its own handle of the ledger (libgit2 handles are not
    // shared between threads); the chains' own counts (chain.json) only decide how many.
    std::size_t expected = 0;
    for (auto& h : heads) expected += static_cast<std::size_t>(std::max<std::int64_t>(h.seq, 0));
    unsigned threads = req.threads ? req.threads : std::max(1u, std::thread::hardware_concurrency());
    if (expected < 64 || !req.reopen) threads = 1;
    std::vector<std::optional<Ledger>> handles;
    if (threads > 1)
        for (unsigned t = 0; t < threads; ++t) {
            auto h = req.reopen();
            if (!h) return h.error();
            handles.emplace_back(std::move(*h));
        }
    // Runs f(handle, thread number) on a thread per handle, or on the caller's handle.
    auto on_all = [&](auto&& f) {
        if (threads == 1) return f(ledger, 0u);
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; ++t) pool.emplace_back([&, t] { f(*handles[t], t); });
        for (auto& t : pool) t.join();
    };

    // Every commit of every chain, oldest first within a chain; the chains walked in parallel.
    std::vector<WriterId> writers;
    for (auto& h : heads) writers.push_back(h.writer);
    std::vector<std::optional<crypto::PublicKey>> keys;
    std::vector<std::string> fingerprints;  // by chain: its key's, or empty
    for (auto& h : heads) {
        auto k = roster->key_of(h.writer);
        keys.push_back(k ? std::optional<crypto::PublicKey>(*k) : std::nullopt);
        fingerprints.push_back(k ? k->fingerprint() : std::string());
    }
    // What an earlier audit verified of each chain, if by the key the chain has now: the
    // walk stops verifying signatures at that head, and whether the head still sits at
    // its cached position is checked once the chain is walked.
    std::map<std::string, CachedChain> cache;
    if (req.cache == AuditCache::use) cache = load_cache(ledger, rep.genesis, rep.notices);
    std::vector<const CachedChain*> cached(heads.size(), nullptr);
    std::vector<std::optional<git_oid>> cached_head(heads.size());
    for (std::size_t c = 0; c < heads.size(); ++c) {
        auto it = cache.find(heads[c].writer.str());
        git_oid oid;
        if (it != cache.end() && keys[c] && it->second.key == fingerprints[c] &&
            git_oid_fromstr(&oid, it->second.commit.c_str()) == 0) {
            cached[c] = &it->second;
            cached_head[c] = oid;
        }
    }
    // Each chain is walked by first parents from its head, the chains shared out among the
    // threads, in rounds of at most k_walk_round commits a chain: between rounds every
    // handle lets go of its object store, as reading commits fills libgit2's caches of
    // delta bases (16 MB for each pack a chain runs through).
    constexpr std::size_t k_walk_round = 65536;
    struct Walk {
        git_oid next{};
        bool done = false;
        bool cached = false;        // reached the head an earlier audit verified
        std::vector<git_oid> oids;  // newest first, as walked
        std::vector<char> good;     // by position in oids: its signature verified during the walk
        std::vector<Walked> read;   // by position in oids: what the walk read of it
        std::optional<Error> error;
    };
    std::vector<Walk> walked(heads.size());
    for (std::size_t c = 0; c < heads.size(); ++c) {
        DVI_TRY(head, git::parse_oid(heads[c].commit));
        walked[c].next = head;  // the count chain.json claims is not trusted with a reservation
    }
    auto release_all = [&] {
        for (auto& h : handles) h->release_object_store();
        ledger.release_object_store();
    };
    // Every record of each chain's head tree, by id: how the walk finds the record a commit
    // adds, and the replay reads it, without walking the commit's own tree.
    std::vector<char> known(heads.size());
    for (std::size_t c = 0; c < heads.size(); ++c) known[c] = keys[c].has_value();
    std::vector<ChainIndex> indexes = index_chains(ledger, heads, known, on_all, release_all);
    // A chain can only be walked one commit after another (each names the one before it),
    // which left all cores but one idle on a ledger of one long chain. So the signatures of
    // the commits read so far are verified meanwhile by every thread, from the bytes the
    // walk read. A signature found good by the writer's key is not verified again below;
    // any other outcome is left to the full check, which says what is wrong. A few hundred
    // commits wait at most.
    struct Signed {
        std::uint32_t chain = 0, at = 0;  // at: position in the walk, newest first
        std::string signature, payload;
    };
    constexpr std::size_t k_waiting = 256;
    struct SignQueue {
        std::mutex mutex;
        std::condition_variable ready;
        std::deque<Signed> items;
        unsigned walking = 0;
    } signing;
    while (std::any_of(walked.begin(), walked.end(), [](auto& w) { return !w.done; })) {
        std::atomic<std::size_t> next_chain{0};
        signing.walking = threads;
        // Sized for the whole round first: threads set flags in it while the chain grows.
        for (auto& w : walked)
            if (!w.done) w.good.resize(w.oids.size() + k_walk_round, 0);
        on_all([&](const Ledger& l, unsigned) {
            auto* repo = static_cast<git_repository*>(l.raw_repository());
            auto verify_one = [&](const Signed& s) {
                auto key = sshsig::verify(s.signature, s.payload, sshsig::k_git_namespace);
                if (key && *key == *keys[s.chain]) walked[s.chain].good[s.at] = 1;
            };
            for (std::size_t c; (c = next_chain++) < heads.size();) {
                Walk& w = walked[c];
                for (std::size_t n = 0; !w.done && n < k_walk_round; ++n) {
                    auto raw = git::read_commit(repo, w.next);
                    if (!raw) {
                        w.error = make_error(Errc::repository, raw.error().message);
                        w.done = true;
                        break;
                    }
                    w.oids.push_back(w.next);
                    Walked seen{raw->tree, k_unindexed};
                    if (raw->parents <= 1 && keys[c])
                        if (auto id = commit_record_id(raw->message.c_str()); id && is_record_id(*id))
                            if (auto* item = indexes[c].find(*digest_of(*id)))
                                seen.item = static_cast<std::uint32_t>(item - indexes[c].items.data());
                    w.read.push_back(seen);
                    if (keys[c] && !w.cached && raw->signature && w.oids.size() <= std::numeric_limits<std::uint32_t>::max()) {
                        if (cached_head[c] && git_oid_equal(&*cached_head[c], &w.next)) {
                            w.cached = true;  // what is older was verified by an earlier audit
                        } else {
                            std::optional<Signed> mine;
                            {
                                std::lock_guard lock(signing.mutex);
                                signing.items.push_back({static_cast<std::uint32_t>(c), static_cast<std::uint32_t>(w.oids.size() - 1),
                                                         std::move(*raw->signature), std::move(raw->signed_data)});
                                if (signing.items.size() > k_waiting) {
                                    mine = std::move(signing.items.front());
                                    signing.items.pop_front();
                                }
                            }
                            signing.ready.notify_one();
                            if (mine) verify_one(*mine);
                        }
                    }
                    // A merge is reported by the commit's own checks rather than walked.
                    if (raw->parents == 0 || w.oids.size() >= (std::size_t{1} << 40)) w.done = true;
                    else w.next = raw->parent;
                }
            }
            // This thread's chains are walked: it verifies what the others still read.
            {
                std::lock_guard lock(signing.mutex);
                --signing.walking;
            }
            signing.ready.notify_all();
            for (;;) {
                Signed s;
                {
                    std::unique_lock lock(signing.mutex);
                    signing.ready.wait(lock, [&] { return !signing.items.empty() || signing.walking == 0; });
                    if (signing.items.empty()) break;
                    s = std::move(signing.items.front());
                    signing.items.pop_front();
                }
                verify_one(s);
            }
        });
        for (auto& w : walked) {
            if (w.error) return *w.error;
            w.good.resize(w.oids.size());
        }
        release_all();
    }
    // Every vector that grows with the ledger is sized once: doubling one of a million
    // entries would hold both copies at once.
    std::size_t commit_count = 0;
    for (auto& w : walked) commit_count += w.oids.size();
    std::vector<Job> jobs;
    jobs.reserve(commit_count);
    std::vector<char> presigned;  // by job: its signature verified during the walk
    presigned.reserve(commit_count);
    std::vector<Walked> walked_read;  // by job: what the walk read of its commit
    walked_read.reserve(commit_count);
    for (std::uint32_t c = 0; c < heads.size(); ++c) {
        const auto& commits = walked[c].oids;
        if (commits.size() >= std::numeric_limits<std::uint32_t>::max())
            return make_error(Errc::repository, "chain '" + heads[c].writer.str() + "' has more commits than an audit can hold");
        std::uint32_t seq = 0;
        for (auto it = commits.rbegin(); it != commits.rend(); ++it) jobs.push_back({*it, c, ++seq});
        presigned.insert(presigned.end(), walked[c].good.rbegin(), walked[c].good.rend());
        walked_read.insert(walked_read.end(), walked[c].read.rbegin(), walked[c].read.rend());
        walked[c].oids = {};
        walked[c].good = {};
        walked[c].read = {};
    }
    rep.commits = jobs.size();

    // Which commits an earlier audit verified: a chain's cached head must sit at its
    // position in the chain as it is now, signed by the same key.
    std::vector<char> skip(jobs.size(), 0);
    {
        std::map<std::size_t, std::int64_t> upto;
        for (std::size_t c = 0; c < heads.size(); ++c)
            if (cached[c]) upto[c] = cached[c]->seq;
        // The cached head itself must be this chain's commit at that position.
        std::set<std::size_t> found;
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            auto u = upto.find(jobs[i].chain);
            if (u == upto.end() || jobs[i].seq != u->second) continue;
            if (git_oid_equal(&jobs[i].commit, &*cached_head[jobs[i].chain])) found.insert(jobs[i].chain);
        }
        for (auto& [c, n] : upto)
            if (!found.count(c)) n = 0;
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            auto u = upto.find(jobs[i].chain);
            skip[i] = u != upto.end() && jobs[i].seq <= u->second;
        }
    }

    // The signatures, on every core. The commits go through in windows: this thread
    // replays in order each batch the threads have checked, as they go, and at most two
    // windows of records are ever whole in memory.
    const std::size_t window_size = std::max<std::size_t>(req.window, 1);
    struct Window {
        std::size_t start = 0, end = 0;
        std::atomic<std::size_t> next{0};
        std::vector<std::optional<Result<CommitCheck>>> results;
        std::vector<std::optional<std::string>> schema_errors, state_errors;
        std::vector<char> checked;  // by batch, under the pool's mutex
    };
    std::atomic<std::size_t> done{0};
    std::mutex progress_mutex;
    auto continue_progress = [&] {
        std::size_t d = ++done;
        if (req.progress && (d % 256 == 0 || d == jobs.size())) {
            std::lock_guard<std::mutex> lock(progress_mutex);
            req.progress(d, jobs.size());
        }
    };
    // `last`: the chain head the commit before job i claimed, when this thread read it.
    auto one = [&](const Ledger& l, Window& win, std::size_t i, std::optional<ChainHead>& last) {
        const Job& job = jobs[i];
        const std::string commit = git::oid_hex(job.commit);
        auto& result = win.results[i - win.start];
        if (!keys[job.chain]) {
            // unknown writer: reported once below
        } else if (skip[i]) {
            // Verified by an earlier run: read the record, skip the signature.
            const ChainIndex& index = indexes[job.chain];
            const std::uint32_t item = walked_read[i].item;
            if (auto fast = item != k_unindexed ? indexed_record(l, index, index.items[item], commit, id_text(index.items[item].id))
                                                : indexed_record(l, index, commit)) {
                CommitCheck cc;
                cc.commit = commit;
                cc.record_id = fast->id;
                cc.record = std::move(*fast);
                result = std::move(cc);
            } else if (auto rec = l.record_of_commit(commit); !rec) {
                result = Result<CommitCheck>(rec.error());
            } else {
                CommitCheck cc;
                cc.commit = commit;
                cc.record_id = rec->id;
                cc.record = std::move(*rec);
                result = std::move(cc);
            }
        } else {
            std::optional<Result<ChainHead>> head;
            auto take = [&](Result<Ledger::ChainCommit>&& checked) {
                if (!checked) {
                    result = Result<CommitCheck>(checked.error());
                } else {
                    result = std::move(checked->check);
                    head = std::move(checked->head);
                }
            };
            if (presigned[i] && walked_read[i].item != k_unindexed) {
                // The walk read the commit and found its signature, parents and trailer
                // good: its chain.json and its record (through the index) are read here.
                const ChainIndex& index = indexes[job.chain];
                const ChainIndex::Item& item = index.items[walked_read[i].item];
                std::string id = id_text(item.id);
                std::optional<ChainHead> guess = std::move(last);
                if (guess) {
                    guess->seq += 1;
                    guess->record_id = id;
                }
                take(l.check_walked_commit(heads[job.chain].writer, job.commit, walked_read[i].tree, id, fingerprints[job.chain],
                                           guess ? &*guess : nullptr));
                if (*result) {
                    if (auto fast = indexed_record(l, index, item, commit, id)) (**result).record = std::move(*fast);
                    else result = l.check_commit(commit, *keys[job.chain]);
                }
            } else {
                // The signature here; the record from the chain's head-tree index (its
                // bytes checked against the trailer's id), else from the commit's tree.
                // One read of the commit gives its signature, its trailer and its chain.json.
                take(l.check_chain_commit(heads[job.chain].writer, commit, *keys[job.chain],
                                          presigned[i] ? Ledger::Signature::verified : Ledger::Signature::verify));
                if (*result && !(**result).record_id.empty()) {
                    auto fast = indexed_record(l, indexes[job.chain], commit, (**result).record_id);
                    if (fast) (**result).record = std::move(*fast);
                    else result = l.check_commit(commit, *keys[job.chain]);
                }
            }
            // The schema and chain.json too, here on every core: they are the costliest
            // checks after the signature. A chain.json that describes its commit is the
            // guess for the next one's.
            last.reset();
            if (*result && (**result).record && head) {
                const StoredRecord& rec = *(**result).record;
                if (auto v = validate_record(rec.json); !v) win.schema_errors[i - win.start] = v.error().message;
                if (!*head) win.state_errors[i - win.start] = head->error().message;
                else if ((*head)->seq != job.seq || (*head)->record_id != rec.id)
                    win.state_errors[i - win.start] =
                        "its chain.json says position " + std::to_string((*head)->seq) + " and record " + (*head)->record_id;
                else last = **head;
            }
        }
        continue_progress();
    };
    // Each thread takes consecutive commits of a chain: each record is stored as a delta
    // against the one before, which is then still in that thread's cache.
    // `checked(b)` is called once batch b of the window is.
    constexpr std::size_t k_batch = 32;
    auto verify = [&](const Ledger& l, Window& win, auto&& checked) {
        for (std::size_t start; (start = win.next.fetch_add(k_batch)) < win.end;) {
            std::optional<ChainHead> last;
            for (std::size_t i = start; i < std::min(start + k_batch, win.end); ++i) {
                if (i > start && jobs[i].chain != jobs[i - 1].chain) last.reset();
                one(l, win, i, last);
            }
            checked((start - win.start) / k_batch);
        }
    };
    auto prepare = [&](Window& win, std::size_t start) {
        win.start = start;
        win.end = std::min(jobs.size(), start + window_size);
        win.next = start;
        win.results.assign(win.end - start, std::nullopt);
        win.schema_errors.assign(win.end - start, std::nullopt);
        win.state_errors.assign(win.end - start, std::nullopt);
        win.checked.assign((win.end - start + k_batch - 1) / k_batch, 0);
    };

    Auditor a(ledger, *roster, rep, writers, jobs, req.events);
    a.reserve(jobs);
    std::vector<std::int64_t> last_created(heads.size(), 0);
    std::set<std::size_t> unknown;
    // The verified prefix of each chain: up to the first commit with any finding of its
    // own, so that a later audit, which skips its immutable checks, loses none. By chain,
    // the job of its last commit.
    std::vector<std::optional<std::size_t>> verified_prefix(heads.size());
    std::vector<char> broken(heads.size(), 0);
    // What the chain walks and the indexes read and freed (libgit2's commit lists, their
    // pack pages) goes back before the replay grows: at a million records, 250 MB of
    // freed heap and mapped pack pages stayed resident through the whole audit.
    give_back_memory(pack_dir);
    // Replays jobs [from, to) of the window.
    auto replay = [&](Window& win, std::size_t from, std::size_t to) {
        for (std::size_t i = from; i < to; ++i) {
            const std::size_t c = jobs[i].chain;
            const WriterId& w = heads[c].writer;
            if (!keys[c]) {
                if (unknown.insert(c).second) {
                    Rec none{w, 0, "", "", "", Json(), 0};
                    a.add("unknown-writer", Severity::error, &none,
                          "writer '" + w.str() + "' is not in the roster: its " + std::to_string(heads[c].seq) +
                              " records cannot be verified");
                }
                continue;
            }
            auto& result = *win.results[i - win.start];
            const bool good = result && result->problems.empty();
            const bool found =
                a.check_commit(jobs[i], result, last_created[c], win.schema_errors[i - win.start], win.state_errors[i - win.start]);
            ++(skip[i] ? rep.cached : rep.verified);
            if (!good || found) broken[c] = 1;
            if (!broken[c]) verified_prefix[c] = i;
        }
    };
    std::array<Window, 2> windows;
    if (threads == 1) {
        // One handle: verify, then replay (the replay reads artifacts through it too).
        for (std::size_t start = 0; start < jobs.size(); start += window_size) {
            if (start) ledger.release_object_store();
            prepare(windows[0], start);
            verify(ledger, windows[0], [](std::size_t) {});
            replay(windows[0], windows[0].start, windows[0].end);
        }
    } else if (!jobs.empty()) {
        // One thread per handle for the whole audit (each keeps its schema regexes and
        // verification contexts), checking one window after the other; the last of them
        // to finish a window prepares the next once this thread has replayed the one
        // before (its place), so that the threads never wait for the replay of the window
        // they have just checked.
        struct Pool {
            std::mutex mutex;
            std::condition_variable changed;
            std::size_t posted = 0;    // windows prepared; window k is windows[k % 2]
            std::size_t replayed = 0;  // windows this thread has replayed
            unsigned busy = 0;         // threads still checking the last window posted
            bool quit = false;
        } pool;
        std::vector<std::thread> workers;
        for (unsigned t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                for (std::size_t k = 0;; ++k) {
                    {
                        std::unique_lock lock(pool.mutex);
                        pool.changed.wait(lock, [&] { return pool.quit || pool.posted > k; });
                        if (pool.quit) break;
                    }
                    Window& win = windows[k % 2];
                    verify(*handles[t], win, [&](std::size_t b) {
                        {
                            std::lock_guard lock(pool.mutex);
                            win.checked[b] = 1;
                        }
                        pool.changed.notify_all();
                    });
                    // Each handle lets go of libgit2's caches when it has checked a window:
                    // they take up to 16 MB for each pack the window touched (at a million
                    // records in 22 packs, that was most of the audit's memory), and a pack
                    // goes once no handle reads it.
                    handles[t]->release_object_store();
                    std::unique_lock lock(pool.mutex);
                    if (--pool.busy > 0 || win.end >= jobs.size()) continue;
                    pool.changed.wait(lock, [&] { return pool.quit || pool.replayed >= k; });
                    if (pool.quit) break;
                    prepare(windows[(k + 1) % 2], win.end);
                    pool.busy = threads;
                    ++pool.posted;
                    lock.unlock();
                    pool.changed.notify_all();
                }
                // Each handle lets go of its caches on its own thread: freeing libgit2's
                // object caches one after the other took a few percent of the audit.
                handles[t].reset();
            });
        // Stops the threads however this scope is left (a window they check is finished first).
        struct Stop {
            Pool& pool;
            std::vector<std::thread>& workers;
            ~Stop() {
                {
                    std::lock_guard lock(pool.mutex);
                    pool.quit = true;
                }
                pool.changed.notify_all();
                for (auto& w : workers) w.join();
            }
        } stop{pool, workers};
        prepare(windows[0], 0);
        {
            std::lock_guard lock(pool.mutex);
            pool.busy = threads;
            pool.posted = 1;
        }
        pool.changed.notify_all();
        for (std::size_t k = 0;; ++k) {
            Window& win = windows[k % 2];
            {
                std::unique_lock lock(pool.mutex);
                pool.changed.wait(lock, [&] { return pool.posted > k; });
            }
            for (std::size_t b = 0, start = win.start; start < win.end; ++b, start += k_batch) {
                {
                    std::unique_lock lock(pool.mutex);
                    pool.changed.wait(lock, [&] { return win.checked[b] != 0; });
                }
                replay(win, start, std::min(win.end, start + k_batch));
            }
            ledger.release_object_store();
            // Read before the window's place is given back: a thread may prepare another
            // window in it at once.
            const bool last = win.end >= jobs.size();
            {
                std::lock_guard lock(pool.mutex);
                ++pool.replayed;
            }
            pool.changed.notify_all();
            if (last) break;
        }
    }
    indexes.clear();
    give_back_memory(pack_dir);
    rep.records = a.size();
    {
        std::map<std::string, CachedChain> verified;
        for (std::size_t c = 0; c < heads.size(); ++c)
            if (const auto i = verified_prefix[c])
                verified[heads[c].writer.str()] = CachedChain{git::oid_hex(jobs[*i].commit), jobs[*i].seq, fingerprints[c]};
        save_cache(ledger, rep.genesis, verified, rep.notices);
    }
    a.index();
    a.anchors();
    a.backdating();
    a.licences();
    a.revocations();
    a.deviations();
    a.prints();
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
