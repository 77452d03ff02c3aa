#include "dvi/passport.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "dvi/anchor.hpp"
#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "dvi/sshsig.hpp"
#include "dvi/tsp.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"
#include "dvi/util/tar.hpp"
#include "dvi/util/time.hpp"
#include "git.hpp"

namespace dvi {

namespace {

constexpr std::uintmax_t k_max_passport = std::uintmax_t{256} << 20;
constexpr std::size_t k_max_license_depth = 64;
constexpr std::string_view k_trailer = "Dvi-Record: ";

// The names of a passport's files (dvi-passport(5)).
const std::string k_index = "passport.json";
const std::string k_sums = "SHA256SUMS";
const std::string k_signers = "allowed_signers";
std::string hex_of(const std::string& id) {
    return id.size() > 7 ? id.substr(7) : id;
}
std::string record_file(const std::string& id) {
    return "records/" + hex_of(id) + ".json";
}
std::string commit_file(const std::string& c, const char* ext) {
    return "commits/" + c + "." + ext;
}
std::string artifact_file(const std::string& sha) {
    return "artifacts/" + sha;
}
std::string tsa_file(const std::string& sha) {
    return "tsa/" + sha + ".pem";
}
std::string heads_file(const std::string& anchor) {
    return "anchors/" + hex_of(anchor) + ".heads";
}

// A value at a path of nested objects, or nullptr: records from a passport are read
// defensively even after their schema check.
const Json* at(const Json& j, std::initializer_list<const char*> path) {
    const Json* cur = &j;
    for (const char* k : path) {
        if (!cur->is_object()) return nullptr;
        auto it = cur->find(k);
        if (it == cur->end()) return nullptr;
        cur = &*it;
    }
    return cur;
}
std::string str_at(const Json& j, std::initializer_list<const char*> path) {
    const Json* v = at(j, path);
    return v && v->is_string() ? v->get<std::string>() : std::string();
}
std::int64_t int_at(const Json& j, std::initializer_list<const char*> path) {
    const Json* v = at(j, path);
    return v && v->is_number_integer() ? v->get<std::int64_t>() : 0;
}

WriterId issuer_of(const Json& rec) {
    return {str_at(rec, {"issuer", "partner"}), str_at(rec, {"issuer", "writer"})};
}

// The lines of a commit's header, the gpgsig header taken out (the payload git signed).
struct CommitFacts {
    std::string tree;
    std::vector<std::string> parents;
    std::string message;
};

CommitFacts parse_commit(std::string_view raw) {
    CommitFacts f;
    auto end = raw.find("\n\n");
    std::string_view head = raw.substr(0, end == std::string_view::npos ? raw.size() : end + 1);
    f.message = end == std::string_view::npos ? std::string() : std::string(raw.substr(end + 2));
    std::size_t pos = 0;
    while (pos < head.size()) {
        auto nl = head.find('\n', pos);
        if (nl == std::string_view::npos) nl = head.size();
        auto line = head.substr(pos, nl - pos);
        if (line.rfind("tree ", 0) == 0) f.tree = std::string(line.substr(5));
        if (line.rfind("parent ", 0) == 0) f.parents.emplace_back(line.substr(7));
        pos = nl + 1;
    }
    return f;
}

// The record id of the message's trailer: its last line, "Dvi-Record: sha256:<hex>".
std::optional<std::string> trailer_of(const std::string& message) {
    std::string m = message;
    while (!m.empty() && m.back() == '\n') m.pop_back();
    auto nl = m.rfind('\n');
    std::string last = nl == std::string::npos ? m : m.substr(nl + 1);
    if (last.rfind(k_trailer, 0) != 0) return std::nullopt;
    std::string id = last.substr(k_trailer.size());
    if (!is_record_id(id)) return std::nullopt;
    return id;
}

std::string pem_certificate(const std::string& base64_der) {
    auto der = util::base64_decode(base64_der);
    if (!der) return {};
    return "-----BEGIN CERTIFICATE-----\n" + util::base64_encode(*der, 64) + "\n-----END CERTIFICATE-----\n";
}

// ---- export --------------------------------------------------------------------------

class Exporter {
public:
    explicit Exporter(const Ledger& ledger) : m_ledger(ledger) {}

    Result<PassportOutcome> run(const PassportRequest& req);

private:
    Result<StoredRecord> find_print(const PassportRequest& req);
    // Adds a record and the commit that appends it, under `role`.
    Status add_record(const StoredRecord& rec, const std::string& role);
    Result<StoredRecord> add_by_id(const std::string& id, const std::string& role, const std::string& what);
    Result<std::vector<std::string>> commits_of(const WriterId& w);
    Result<std::string> raw_commit(const std::string& hex);
    Status add_commit(const std::string& hex, const WriterId& chain, std::int64_t seq);
    Status add_artifact(const std::string& sha256, const std::string& what);
    Status add_anchor(const StoredRecord& anchor, const std::string& role);
    Result<std::optional<StoredRecord>> covering_anchor(const StoredRecord& print, const Roster& roster);

    const Ledger& m_ledger;
    std::map<std::string, StoredRecord> m_records;
    std::map<std::string, std::vector<std::string>> m_roles;  // record id -> roles
    std::map<WriterId, std::vector<std::string>> m_chains;    // head first
    struct CommitEntry {
        std::string raw;
        WriterId chain;
        std::int64_t seq = 0;
        std::string record;
    };
    std::map<std::string, CommitEntry> m_commits;
    std::map<std::string, std::string> m_commit_of;                          // record id -> commit
    std::map<std::string, std::pair<std::string, std::string>> m_artifacts;  // sha256 -> (bytes, what)
    std::map<std::string, std::string> m_heads;                              // anchor id -> heads bytes
};

Result<std::vector<std::string>> Exporter::commits_of(const WriterId& w) {
    auto it = m_chains.find(w);
    if (it != m_chains.end()) return it->second;
    DVI_TRY(list, m_ledger.chain_commits(w));
    m_chains[w] = list;
    return list;
}

Result<std::string> Exporter::raw_commit(const std::string& hex) {
    auto* repo = static_cast<git_repository*>(m_ledger.raw_repository());
    DVI_TRY(oid, git::parse_oid(hex));
    git_odb* raw_odb = nullptr;
    DVI_CHECK(git::check(git_repository_odb(&raw_odb, repo), "cannot open the object database"));
    git::Odb odb(raw_odb);
    git_odb_object* obj = nullptr;
    DVI_CHECK(git::check(git_odb_read(&obj, odb.get(), &oid), "cannot read commit " + hex));
    git::OdbObject object(obj);
    if (git_odb_object_type(obj) != GIT_OBJECT_COMMIT)
        return make_error(Errc::repository, "object " + hex + " is not a commit");
    return std::string(static_cast<const char*>(git_odb_object_data(obj)), git_odb_object_size(obj));
}

Status Exporter::add_commit(const std::string& hex, const WriterId& chain, std::int64_t seq) {
    if (m_commits.count(hex)) return {};
    DVI_TRY(raw, raw_commit(hex));
    auto facts = parse_commit(raw);
    CommitEntry e{std::move(raw), chain, seq, trailer_of(facts.message).value_or("")};
    m_commits.emplace(hex, std::move(e));
    return {};
}

Status Exporter::add_record(const StoredRecord& rec, const std::string& role) {
    auto& roles = m_roles[rec.id];
    if (std::find(roles.begin(), roles.end(), role) == roles.end()) roles.push_back(role);
    if (m_records.count(rec.id)) return {};
    m_records.emplace(rec.id, rec);
    // The commit that appends it: position seq of its issuer's chain.
    WriterId w = issuer_of(rec.json);
    std::int64_t seq = int_at(rec.json, {"seq"});
    DVI_TRY(list, commits_of(w));
    auto n = static_cast<std::int64_t>(list.size());
    if (seq < 1 || seq > n)
        return make_error(Errc::bad_signature, "record " + rec.id + " says it is at position " + std::to_string(seq) +
                                                   " of chain '" + w.str() + "', which has " + std::to_string(n));
    const std::string& c = list[static_cast<std::size_t>(n - seq)];
    DVI_CHECK(add_commit(c, w, seq));
    if (m_commits[c].record != rec.id)
        return make_error(Errc::bad_signature,
                          "commit " + c + " at position " + std::to_string(seq) + " of chain '" + w.str() +
                              "' does not append record " + rec.id,
                          "run 'dvi audit'");
    m_commit_of[rec.id] = c;
    return {};
}

Result<StoredRecord> Exporter::add_by_id(const std::string& id, const std::string& role, const std::string& what) {
    auto rec = m_ledger.find_record(id);
    if (!rec)
        return make_error(Errc::invalid_input, "the ledger lacks " + what + " " + id + ": " + rec.error().message,
                          "run 'dvi sync' with its writer, then try again");
    DVI_CHECK(add_record(*rec, role));
    return *rec;
}

Status Exporter::add_artifact(const std::string& sha256, const std::string& what) {
    if (m_artifacts.count(sha256)) return {};
    auto bytes = m_ledger.read_artifact(sha256);
    if (!bytes)
        return make_error(Errc::invalid_input, "the ledger lacks " + what + " (artifact " + sha256 + ")",
                          "run 'dvi sync' with its writer, then try again");
    m_artifacts.emplace(sha256, std::make_pair(std::move(*bytes), what));
    return {};
}

Status Exporter::add_anchor(const StoredRecord& a, const std::string& role) {
    DVI_CHECK(add_record(a, role));
    DVI_TRY(heads, canonical_dump(a.json.value("heads", Json::array())));
    m_heads[a.id] = heads;
    const Json ev = a.json.value("evidence", Json::object());
    std::string kind = ev.value("kind", "");
    if (kind == "rfc3161")
        DVI_CHECK(add_artifact(str_at(ev, {"token", "sha256"}), "the time-stamp token of anchor " + a.id));
    if (kind == "cosign") {
        DVI_TRY(w, add_by_id(str_at(ev, {"anchor"}), "witnessed-anchor", "the anchor co-signed by " + a.id));
        if (w.type == "anchor") {
            DVI_TRY(wheads, canonical_dump(w.json.value("heads", Json::array())));
            m_heads[w.id] = wheads;
            if (str_at(w.json, {"evidence", "kind"}) == "rfc3161")
                DVI_CHECK(add_artifact(str_at(w.json, {"evidence", "token", "sha256"}),
                                       "the time-stamp token of anchor " + w.id));
        }
    }
    return {};
}

Result<StoredRecord> Exporter::find_print(const PassportRequest& req) {
    DVI_TRY(prints, m_ledger.records_of_type("print"));
    std::vector<StoredRecord> allowed;
    std::size_t refused = 0;
    for (auto& [w, id] : prints) {
        DVI_TRY(rec, m_ledger.find_record(id));
        const Json* serials = at(rec.json, {"serials"});
        if (!serials || !serials->is_array() ||
            std::find(serials->begin(), serials->end(), Json(req.serial)) == serials->end())
            continue;
        if (rec.json.value("decision", "") == "allowed")
            allowed.push_back(std::move(rec));
        else
            ++refused;
    }
    std::sort(allowed.begin(), allowed.end(), [](auto& a, auto& b) { return a.id < b.id; });
    if (req.print) {
        std::string want = req.print->rfind("sha256:", 0) == 0 ? req.print->substr(7) : *req.print;
        std::vector<StoredRecord> match;
        for (auto& p : allowed)
            if (!want.empty() && hex_of(p.id).rfind(want, 0) == 0) match.push_back(p);
        if (match.size() == 1) return match.front();
        if (match.empty())
            return make_error(Errc::not_found,
                              "no allowed print of serial '" + req.serial + "' is '" + *req.print + "'");
        allowed = std::move(match);
    }
    if (allowed.empty()) {
        if (refused)
            return make_error(Errc::not_found, "serial '" + req.serial + "' is named only by refused prints",
                              "a refused print made no part: there is no passport to give");
        return make_error(
            Errc::not_found, "no print names serial '" + req.serial + "'",
            "serials are those given to 'dvi print-verify --serial'; 'dvi log --type print' lists the prints");
    }
    if (allowed.size() > 1) {
        std::string list;
        for (auto& p : allowed) list += (list.empty() ? "" : ", ") + p.id;
        return make_error(
            Errc::invalid_input,
            "serial '" + req.serial + "' is named by " + std::to_string(allowed.size()) + " allowed prints: " + list,
            "choose one with --print <id>");
    }
    return allowed.front();
}

// The anchor that first covers the print: among the anchors whose heads hold the
// print's chain at or after it, the one with time evidence that verifies and the fewest
// commits from the print to its head, then the earliest time, then the smallest id. One
// whose head is not in the chain as this ledger holds it is skipped.
Result<std::optional<StoredRecord>> Exporter::covering_anchor(const StoredRecord& print, const Roster& roster) {
    WriterId pw = issuer_of(print.json);
    std::int64_t pseq = int_at(print.json, {"seq"});
    DVI_TRY(anchors, m_ledger.records_of_type("anchor"));
    DVI_TRY(list, commits_of(pw));
    auto n = static_cast<std::int64_t>(list.size());
    std::optional<std::tuple<int, std::int64_t, std::string, std::string>> best;
    std::optional<StoredRecord> chosen;
    for (auto& [w, id] : anchors) {
        DVI_TRY(a, m_ledger.find_record(id));
        const Json* heads = at(a.json, {"heads"});
        if (!heads || !heads->is_array()) continue;
        for (auto& h : *heads) {
            if (!h.is_object() || h.value("chain", "") != pw.str()) continue;
            std::int64_t s = h.value("seq", std::int64_t{0});
            if (s < pseq || s > n || list[static_cast<std::size_t>(n - s)] != h.value("commit", "")) continue;
            auto time = anchor_time(m_ledger, roster, a);
            int untimed = time && *time ? 0 : 1;
            auto key = std::make_tuple(untimed, s, str_at(a.json, {"evidence", "time"}), a.id);
            if (!best || key < *best) {
                best = key;
                chosen = a;
            }
        }
    }
    return chosen;
}

Result<PassportOutcome> Exporter::run(const PassportRequest& req) {
    DVI_TRY(roster, roster_load(m_ledger));
    DVI_TRY(print, find_print(req));
    DVI_CHECK(add_record(print, "print"));
    const Json& p = print.json;

    // The licence printed on, up to its grant.
    std::string lic = str_at(p, {"license"});
    for (std::size_t depth = 0; !lic.empty(); ++depth) {
        if (depth > k_max_license_depth)
            return make_error(Errc::bad_signature, "licence " + lic + " has no grant above it");
        DVI_TRY(l, add_by_id(lic, depth == 0 ? "license" : "parent-license", "the licence"));
        const Json* parent = at(l.json, {"parent"});
        lic = parent && parent->is_string() ? parent->get<std::string>() : "";
    }
    DVI_TRY(dossier, add_by_id(str_at(p, {"dossier"}), "dossier", "the dossier"));
    DVI_TRY(lot, add_by_id(str_at(p, {"material_lot"}), "material-lot", "the material lot"));
    DVI_CHECK(add_artifact(str_at(lot.json, {"certificate", "file", "sha256"}),
                           "the certificate file of lot " + str_at(lot.json, {"lot"})));
    if (const Json* dev = at(p, {"deviation"}); dev && dev->is_string()) {
        DVI_TRY(deviation, add_by_id(dev->get<std::string>(), "deviation", "the deviation"));
    }

    // Inspections of this serial, filed under the print in every chain.
    DVI_TRY(filed, m_ledger.read_chain_dir("index/inspections/" + hex_of(print.id)));
    for (auto& [w, name, content] : filed) {
        DVI_TRY(insp, m_ledger.find_record(content));
        if (insp.json.value("serial", "") != req.serial) continue;
        DVI_CHECK(add_record(insp, "inspection"));
        if (const Json* report = at(insp.json, {"report", "sha256"}); report && report->is_string())
            DVI_CHECK(add_artifact(report->get<std::string>(), "the report of inspection " + insp.id));
    }

    // Time: the anchor the print had seen (after), the first that covers it (before).
    if (const Json* seen = at(p, {"seen"}); seen && seen->is_string()) {
        auto a = m_ledger.find_record(seen->get<std::string>());
        if (!a)
            return make_error(Errc::invalid_input,
                              "the ledger lacks anchor " + seen->get<std::string>() + " the print has seen");
        DVI_CHECK(add_anchor(*a, "seen-anchor"));
    }
    DVI_TRY(cover, covering_anchor(print, roster));
    if (cover) {
        DVI_CHECK(add_anchor(*cover, "covering-anchor"));
        // The print's chain from the print to the anchored head, linked by parent ids.
        WriterId pw = issuer_of(p);
        std::int64_t pseq = int_at(p, {"seq"});
        DVI_TRY(list, commits_of(pw));
        auto n = static_cast<std::int64_t>(list.size());
        for (auto& h : cover->json.value("heads", Json::array()))
            if (h.value("chain", "") == pw.str())
                for (std::int64_t s = pseq + 1; s <= h.value("seq", std::int64_t{0}) && s <= n; ++s)
                    DVI_CHECK(add_commit(list[static_cast<std::size_t>(n - s)], pw, s));
    }

    // The roster, from the genesis to its head: it admits every signing key.
    std::vector<std::string> roster_ids;
    for (std::string id = roster.head(); !id.empty();) {
        if (roster_ids.size() > 100000) return make_error(Errc::bad_signature, "the roster's history does not end");
        DVI_TRY(r, add_by_id(id, "roster", "roster record"));
        roster_ids.push_back(id);
        const Json* prev = at(r.json, {"prev"});
        id = prev && prev->is_string() ? prev->get<std::string>() : "";
    }
    std::reverse(roster_ids.begin(), roster_ids.end());

    // The files.
    std::map<std::string, std::pair<std::string, std::string>> files;  // path -> (bytes, kind)
    Json records = Json::array();
    for (auto& [id, rec] : m_records) {
        files[record_file(id)] = {rec.bytes, "record"};
        records.push_back({{"id", id},
                           {"type", rec.type},
                           {"roles", m_roles[id]},
                           {"chain", issuer_of(rec.json).str()},
                           {"seq", int_at(rec.json, {"seq"})},
                           {"commit", m_commit_of[id]},
                           {"file", record_file(id)}});
    }
    Json commits = Json::array();
    for (auto& [c, e] : m_commits) {
        auto split = split_commit(e.raw);
        files[commit_file(c, "commit")] = {e.raw, "commit"};
        files[commit_file(c, "payload")] = {split.payload, "payload"};
        files[commit_file(c, "sig")] = {split.signature, "signature"};
        bool proves = m_records.count(e.record) > 0;
        commits.push_back({{"commit", c},
                           {"chain", e.chain.str()},
                           {"seq", e.seq},
                           {"record", e.record},
                           {"record_included", proves}});
    }
    Json artifacts = Json::array();
    for (auto& [sha, a] : m_artifacts) {
        files[artifact_file(sha)] = {a.first, "artifact"};
        artifacts.push_back({{"sha256", sha}, {"file", artifact_file(sha)}, {"what", a.second}});
    }
    Json tsas = Json::array();
    if (const Json* t = at(roster.state(), {"tsa"}); t && t->is_object())
        for (auto it = t->begin(); it != t->end(); ++it) {
            files[tsa_file(it.key())] = {pem_certificate(it->value("certificate", "")), "tsa-certificate"};
            tsas.push_back({{"sha256", it.key()}, {"subject", it->value("subject", "")}, {"file", tsa_file(it.key())}});
        }
    Json anchors = Json::array();
    for (auto& [id, bytes] : m_heads) {
        files[heads_file(id)] = {bytes, "anchor-heads"};
        const Json ev = m_records.at(id).json.value("evidence", Json::object());
        Json a{{"id", id}, {"roles", m_roles[id]}, {"kind", ev.value("kind", "")}, {"heads", heads_file(id)}};
        if (ev.value("kind", "") == "rfc3161") a["token"] = artifact_file(str_at(ev, {"token", "sha256"}));
        anchors.push_back(a);
    }
    files[k_signers] = {allowed_signers(roster), "allowed-signers"};

    Json listed = Json::array();
    std::string sums;
    for (auto& [path, f] : files) {
        std::string sha = crypto::sha256_hex(f.first);
        listed.push_back({{"path", path}, {"kind", f.second}, {"sha256", sha}, {"size", f.first.size()}});
    }
    const Json& d = dossier.json;
    std::string part = d.value("part_number", "") + "@" + d.value("revision", "");
    Json index{{"format", std::string(k_passport_format)},
               {"serial", req.serial},
               {"part", part},
               {"print", print.id},
               {"printed", p.value("created", "")},
               {"consortium", roster.consortium()},
               {"genesis", roster.genesis()},
               {"roster", roster_ids},
               {"records", records},
               {"commits", commits},
               {"anchors", anchors},
               {"artifacts", artifacts},
               {"tsa", tsas},
               {"files", listed}};
    DVI_TRY(index_bytes, canonical_dump(index));
    files[k_index] = {index_bytes + "\n", "index"};
    for (auto& [path, f] : files) sums += crypto::sha256_hex(f.first) + "  " + path + "\n";

    PassportOutcome out;
    std::vector<util::TarEntry> entries;
    auto push = [&](const std::string& path, const std::string& bytes, const std::string& kind) {
        entries.push_back({path, bytes});
        out.files.push_back({path, kind, bytes.size(), crypto::sha256_hex(bytes)});
    };
    push(k_index, files[k_index].first, "index");
    push(k_sums, sums, "checksums");
    for (auto& [path, f] : files)
        if (path != k_index) push(path, f.first, f.second);
    std::int64_t mtime = util::parse_time(p.value("created", "")).value_or(0);
    DVI_TRY(archive, util::tar_write(entries, mtime));
    out.serial = req.serial;
    out.print = print.id;
    out.part = part;
    out.genesis = roster.genesis();
    out.archive = std::move(archive);
    out.records = m_records.size();
    out.commits = m_commits.size();
    return out;
}

// ---- verify --------------------------------------------------------------------------

class Verifier {
public:
    Verifier(std::map<std::string, std::string> files, std::optional<std::string> trust)
        : m_files(std::move(files)), m_trust(std::move(trust)) {}

    Result<PassportVerifyOutcome> run();

private:
    void problem(const std::string& file, const std::string& message) { m_out.problems.push_back({file, message}); }
    const std::string* file(const std::string& path) const {
        auto it = m_files.find(path);
        return it == m_files.end() ? nullptr : &it->second;
    }
    // A record the passport must hold: reports it once when it is missing (unless it is
    // there but broken, which was reported already).
    const Json* need(const std::string& id, const std::string& type, const std::string& what);
    void check_sums();
    void check_commits();
    void check_records();
    void check_roster();
    void check_authority();
    void check_references();
    void check_anchors();
    void check_artifact(const std::string& sha256, std::int64_t size, const std::string& what);
    void check_print_facts(const Json& p, const Json* dossier, const Json* lot, const Json* licence,
                           bool has_deviation);
    std::optional<std::int64_t> anchor_time_of(const std::string& id, const Json& a);

    std::map<std::string, std::string> m_files;
    std::optional<std::string> m_trust;
    Json m_index;
    PassportVerifyOutcome m_out;

    struct Commit {
        std::optional<crypto::PublicKey> key;  // when its signature verifies
        std::vector<std::string> parents;
        std::string record;   // the trailer's id
        std::string subject;  // the first line of its (signed) message, e.g. "inspection: S-1 fail"
        bool used = false;    // appends a record of the passport or links an anchor
    };
    std::map<std::string, Commit> m_commits;
    std::map<std::string, std::string> m_commit_of;  // record id -> commit
    std::map<std::string, Json> m_records;           // verified records by id
    std::set<std::string> m_broken;                  // present but failed
    std::set<std::string> m_missing;                 // reported missing
    Roster m_roster;
    bool m_roster_ok = false;
    std::string m_print;
    std::map<std::string, std::string> m_tsa_subject;  // anchor id -> subject of its token's signer
    std::map<std::string, std::int64_t> m_cosign_upper;  // co-signed anchor id -> the later of its clocks
};

const Json* Verifier::need(const std::string& id, const std::string& type, const std::string& what) {
    if (!is_record_id(id)) {
        problem(k_index, what + " is not named by a valid record id");
        return nullptr;
    }
    auto it = m_records.find(id);
    if (it == m_records.end()) {
        if (!m_broken.count(id) && m_missing.insert(id).second)
            problem(record_file(id), "missing: " + what + " " + id + " is not in the passport");
        return nullptr;
    }
    if (str_at(it->second, {"type"}) != type) {
        problem(record_file(id), what + " " + id + " is a " + str_at(it->second, {"type"}) + " record, not " + type);
        return nullptr;
    }
    return &it->second;
}

// Whether `path` is one of the files dvi-passport(5) defines.
bool known_file(const std::string& path) {
    auto hex_named = [&](const std::string& dir, std::size_t digits, const std::string& ext) {
        if (path.size() != dir.size() + digits + ext.size() || path.rfind(dir, 0) != 0 ||
            path.compare(path.size() - ext.size(), ext.size(), ext) != 0)
            return false;
        std::string hex = path.substr(dir.size(), digits);
        return hex.find_first_not_of("0123456789abcdef") == std::string::npos;
    };
    return path == k_index || path == k_sums || path == k_signers || hex_named("records/", 64, ".json") ||
           hex_named("commits/", 40, ".commit") || hex_named("commits/", 40, ".payload") ||
           hex_named("commits/", 40, ".sig") || hex_named("artifacts/", 64, "") || hex_named("tsa/", 64, ".pem") ||
           hex_named("anchors/", 64, ".heads");
}

void Verifier::check_sums() {
    for (auto& [path, bytes] : m_files)
        if (!known_file(path)) problem(path, "not a file of the passport format");
    const std::string* sums = file(k_sums);
    if (!sums) {
        problem(k_sums, "missing");
        return;
    }
    std::set<std::string> listed;
    std::size_t pos = 0, line_no = 0;
    while (pos < sums->size()) {
        auto nl = sums->find('\n', pos);
        if (nl == std::string::npos) nl = sums->size();
        std::string line = sums->substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        if (line.size() < 67 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*') ||
            !util::hex_decode(line.substr(0, 64))) {
            problem(k_sums, "line " + std::to_string(line_no) + " is not '<sha256>  <file>'");
            continue;
        }
        std::string path = line.substr(66);
        listed.insert(path);
        const std::string* f = file(path);
        if (!f)
            problem(path, "missing, though SHA256SUMS lists it");
        else if (crypto::sha256_hex(*f) != line.substr(0, 64))
            problem(path, "its SHA-256 does not match SHA256SUMS");
    }
    for (auto& [path, bytes] : m_files)
        if (path != k_sums && !listed.count(path)) problem(path, "not listed in SHA256SUMS");
}

void Verifier::check_commits() {
    for (auto& [path, raw] : m_files) {
        if (path.rfind("commits/", 0) != 0 || !known_file(path)) continue;
        auto dot = path.rfind('.');
        std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
        std::string name = path.substr(8, dot == std::string::npos ? std::string::npos : dot - 8);
        if (ext == "payload" || ext == "sig") {
            if (!file(commit_file(name, "commit"))) problem(path, "belongs to no commit of the passport");
            continue;
        }
        if (ext != "commit") continue;
        Commit c;
        std::string id = crypto::git_object_id("commit", raw);
        if (id != name) problem(path, "its git id is " + id + ", not the one its name says");
        auto split = split_commit(raw);
        const std::string* payload = file(commit_file(name, "payload"));
        const std::string* sig = file(commit_file(name, "sig"));
        if (!payload)
            problem(commit_file(name, "payload"), "missing");
        else if (*payload != split.payload)
            problem(commit_file(name, "payload"), "differs from " + path + " without its signature");
        if (!sig)
            problem(commit_file(name, "sig"), "missing");
        else if (*sig != split.signature)
            problem(commit_file(name, "sig"), "differs from the signature in " + path);
        if (payload && sig) {
            auto key = sshsig::verify(*sig, *payload, sshsig::k_git_namespace);
            if (!key)
                problem(commit_file(name, "sig"), key.error().message + " (over " + commit_file(name, "payload") + ")");
            else if (id == name && *payload == split.payload && *sig == split.signature)
                c.key = *key;
        }
        auto facts = parse_commit(raw);
        c.parents = facts.parents;
        c.subject = facts.message.substr(0, facts.message.find('\n'));
        if (c.parents.size() > 1)
            problem(path, "has " + std::to_string(c.parents.size()) + " parents; a chain is linear");
        auto trailer = trailer_of(facts.message);
        if (!trailer)
            problem(path, "has no 'Dvi-Record: sha256:<hex>' trailer");
        else {
            c.record = *trailer;
            m_commit_of.emplace(*trailer, name);
        }
        m_commits.emplace(name, std::move(c));
    }
}

void Verifier::check_records() {
    for (auto& [path, bytes] : m_files) {
        if (path.rfind("records/", 0) != 0 || !known_file(path)) continue;
        std::string hex = path.substr(8);
        std::string id = "sha256:" + hex.substr(0, 64);
        if (auto c = m_commit_of.find(id); c != m_commit_of.end()) m_commits[c->second].used = true;
        std::string actual = record_id_of(bytes);
        if (actual != id) {
            problem(path, "its SHA-256 is " + hex_of(actual) + ", not the id its name says");
            m_broken.insert(id);
            continue;
        }
        auto c = m_commit_of.find(id);
        if (c == m_commit_of.end()) {
            problem(path, "no commit of the passport appends it (no 'Dvi-Record: " + id + "' trailer)");
            m_broken.insert(id);
            continue;
        }
        if (!m_commits[c->second].key) {
            m_broken.insert(id);  // its commit's problem is reported already
            continue;
        }
        auto json = canonical_parse(bytes);
        if (!json) {
            problem(path, "not canonical JSON: " + json.error().message);
            m_broken.insert(id);
            continue;
        }
        if (auto valid = validate_record(*json); !valid) {
            problem(path, "does not match its schema: " + valid.error().message);
            m_broken.insert(id);
            continue;
        }
        m_records.emplace(id, std::move(*json));
    }
}

void Verifier::check_roster() {
    const Json* list = at(m_index, {"roster"});
    if (!list || !list->is_array() || list->empty()) {
        problem(k_index, "names no roster records");
        return;
    }
    Roster roster;
    std::string prev;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const Json& idj = (*list)[i];
        std::string id = idj.is_string() ? idj.get<std::string>() : "";
        const Json* rec = need(id, "roster", i == 0 ? "the genesis roster record" : "roster record");
        if (!rec) return;
        std::string f = record_file(id);
        const Json* p = at(*rec, {"prev"});
        if (i == 0 ? !(p && p->is_null()) : !(p && p->is_string() && p->get<std::string>() == prev)) {
            problem(f, i == 0 ? "the first roster record is not a genesis" : "does not follow roster record " + prev);
            return;
        }
        WriterId who = issuer_of(*rec);
        if (i == 0) {
            if (str_at(*rec, {"action"}) != "genesis" || str_at(*rec, {"writer", "name"}) != who.writer ||
                str_at(*rec, {"partner"}) != who.partner) {
                problem(f, "the genesis is not signed by the authority it founds");
                return;
            }
        } else if (auto may = roster.may_write(who, "roster"); !may) {
            problem(f, "written by '" + who.str() + "', who may not change the roster: " + may.error().message);
            return;
        }
        auto next = roster.apply(id, *rec);
        if (!next) {
            problem(f, "does not apply to the roster: " + next.error().message);
            return;
        }
        roster = std::move(*next);
        auto key = roster.key_of(who);
        const Commit& c = m_commits[m_commit_of[id]];
        if (!key || !c.key || !(*key == *c.key)) {
            problem(commit_file(m_commit_of[id], "sig"),
                    "roster record " + id + " is not signed by its writer " + who.str() + "'s key in the roster");
            return;
        }
        if (str_at(*rec, {"issuer", "key"}) != key->fingerprint()) {
            problem(f, "names key " + str_at(*rec, {"issuer", "key"}) + ", not its writer's");
            return;
        }
        prev = id;
    }
    m_roster = std::move(roster);
    m_roster_ok = true;
    m_out.summary.genesis = m_roster.genesis();
    m_out.summary.consortium = m_roster.consortium();
    m_out.summary.roster_head = m_roster.head();
    m_out.summary.roster_records = list->size();
    if (str_at(m_index, {"genesis"}) != m_roster.genesis())
        problem(k_index,
                "names genesis " + str_at(m_index, {"genesis"}) + ", but its roster starts at " + m_roster.genesis());
    if (m_trust) {
        std::string want = m_trust->rfind("sha256:", 0) == 0 ? m_trust->substr(7) : *m_trust;
        if (hex_of(m_roster.genesis()) == want)
            m_out.summary.genesis_pinned = true;
        else
            problem(record_file(m_roster.genesis()),
                    "the passport's genesis " + m_roster.genesis() + " is not the trusted " + *m_trust);
    }
    const std::string* signers = file(k_signers);
    if (!signers)
        problem(k_signers, "missing");
    else if (*signers != allowed_signers(m_roster))
        problem(k_signers, "does not list exactly the keys of the roster");
    if (const Json* t = at(m_roster.state(), {"tsa"}); t && t->is_object())
        for (auto it = t->begin(); it != t->end(); ++it) {
            const std::string* pem = file(tsa_file(it.key()));
            if (!pem) {
                problem(tsa_file(it.key()), "missing: the roster trusts this time-stamping authority");
                continue;
            }
            auto cert = tsp::read_certificate(*pem);
            if (!cert || cert->sha256 != it.key())
                problem(tsa_file(it.key()), "is not the certificate the roster trusts");
        }
}

// Every record is signed by the key the roster admits for its issuer, who may write
// records of its type at its position (revocations cut in at their cut-points).
void Verifier::check_authority() {
    if (!m_roster_ok) return;
    std::set<std::string> listed;
    if (const Json* list = at(m_index, {"roster"}); list && list->is_array())
        for (auto& id : *list)
            if (id.is_string()) listed.insert(id.get<std::string>());
    for (auto& [id, rec] : m_records) {
        if (str_at(rec, {"type"}) == "roster") {
            if (!listed.count(id)) problem(record_file(id), "a roster record that passport.json does not list");
            continue;
        }
        WriterId who = issuer_of(rec);
        const Commit& c = m_commits[m_commit_of[id]];
        auto key = m_roster.key_of(who);
        std::string sig = commit_file(m_commit_of[id], "sig");
        if (!key)
            problem(record_file(id), key.error().message);
        else if (!(*key == *c.key))
            problem(sig,
                    "signed by " + c.key->fingerprint() + ", not by " + who.str() + "'s key " + key->fingerprint());
        else if (str_at(rec, {"issuer", "key"}) != key->fingerprint())
            problem(record_file(id), "names key " + str_at(rec, {"issuer", "key"}) + ", not its writer's");
        else if (auto may = m_roster.may_have_written(who, str_at(rec, {"type"}), int_at(rec, {"seq"})); !may)
            problem(record_file(id), may.error().message);
    }
}

void Verifier::check_artifact(const std::string& sha256, std::int64_t size, const std::string& what) {
    const std::string* bytes = file(artifact_file(sha256));
    if (!bytes)
        problem(artifact_file(sha256), "missing: " + what);
    else if (crypto::sha256_hex(*bytes) != sha256)
        problem(artifact_file(sha256), "its SHA-256 is not " + sha256 + " (" + what + ")");
    else if (size >= 0 && static_cast<std::int64_t>(bytes->size()) != size)
        problem(artifact_file(sha256),
                "has " + std::to_string(bytes->size()) + " bytes, not " + std::to_string(size) + " (" + what + ")");
}

void Verifier::check_references() {
    auto& s = m_out.summary;
    s.serial = str_at(m_index, {"serial"});
    m_print = str_at(m_index, {"print"});
    const Json* print = need(m_print, "print", "the print");
    if (!print) return;
    const Json& p = *print;
    s.print = m_print;
    const Json* serials = at(p, {"serials"});
    if (s.serial.empty() || !serials || !serials->is_array() ||
        std::find(serials->begin(), serials->end(), Json(s.serial)) == serials->end())
        problem(record_file(m_print), "the print does not name serial '" + s.serial + "'");
    if (str_at(p, {"decision"}) != "allowed") problem(record_file(m_print), "the print was refused");
    WriterId printer = issuer_of(p);
    s.printer_chain = printer.str();
    s.print_seq = int_at(p, {"seq"});
    s.created = str_at(p, {"created"});
    s.device_serial = str_at(p, {"device", "serial"});
    s.device_model = str_at(p, {"device", "model"});
    s.recipe = str_at(p, {"recipe"});
    s.dossier = str_at(p, {"dossier"});
    s.license = str_at(p, {"license"});
    s.grant = str_at(p, {"grant"});
    s.material_lot = str_at(p, {"material_lot"});

    // The licence printed on, addressed to the printing writer, up to its grant.
    std::string lic = s.license;
    const Json* printed_on = nullptr;
    for (std::size_t depth = 0; !lic.empty(); ++depth) {
        const Json* l = need(lic, "license", depth == 0 ? "the licence printed on" : "the parent licence");
        if (!l) break;
        if (depth == 0) printed_on = l;
        if (depth > k_max_license_depth) {
            problem(record_file(lic), "the licence chain has no grant");
            break;
        }
        if (depth == 0) {
            s.licensee =
                str_at(*l, {"to", "partner"}) + (at(*l, {"to", "writer"}) ? "/" + str_at(*l, {"to", "writer"}) : "");
            if (str_at(*l, {"to", "partner"}) != printer.partner || str_at(*l, {"to", "writer"}) != printer.writer)
                problem(record_file(lic),
                        "the licence is addressed to '" + s.licensee + "', not to the printer " + printer.str());
        }
        if (str_at(*l, {"dossier"}) != s.dossier)
            problem(record_file(lic), "the licence is for another dossier than the print");
        // Printed within the window of every licence of the chain (by the printer's clock,
        // as print-verify checked it against the later of that clock and trusted time).
        auto created = util::parse_time(s.created);
        for (const char* bound : {"not_before", "not_after"}) {
            const Json* b = at(*l, {bound});
            auto t = b && b->is_string() ? util::parse_time(b->get<std::string>()) : std::nullopt;
            if (t && created && (bound[4] == 'b' ? *created < *t : *created > *t))
                problem(record_file(m_print), std::string("the print is dated ") + s.created + ", outside licence " +
                                                  lic + "'s window (" + bound + " " + b->get<std::string>() + ")");
        }
        const Json* parent = at(*l, {"parent"});
        if (parent && parent->is_string()) {
            // An allocation: issued by the partner its parent is addressed to, one level
            // deeper, within the parent's sub-licence depth (as dvi-audit(1) checks).
            const std::string pid = parent->get<std::string>();
            if (auto pit = m_records.find(pid); pit != m_records.end() && str_at(pit->second, {"type"}) == "license") {
                const Json& pl = pit->second;
                const std::string holder = str_at(pl, {"to", "partner"});
                if (issuer_of(*l).partner != holder || at(pl, {"to", "writer"}))
                    problem(record_file(lic), "the allocation is issued by '" + issuer_of(*l).partner +
                                                  "', not by the partner its parent licence is addressed to ('" +
                                                  holder + "')");
                bool other = str_at(*l, {"to", "partner"}) != holder;
                std::int64_t left = int_at(pl, {"sublicense_depth"});
                if ((other && left < 1) || int_at(*l, {"sublicense_depth"}) != left - (other ? 1 : 0) ||
                    int_at(*l, {"depth"}) != int_at(pl, {"depth"}) + 1)
                    problem(record_file(lic), "the allocation goes deeper than its parent licence allows");
            }
            lic = pid;
        } else {
            // The grant: issued by the dossier's OEM.
            const Json* d = m_records.count(s.dossier) ? &m_records[s.dossier] : nullptr;
            if (d && issuer_of(*l).partner != str_at(*d, {"oem"}))
                problem(record_file(lic), "the grant is issued by '" + issuer_of(*l).partner +
                                              "', not by the dossier's OEM '" + str_at(*d, {"oem"}) + "'");
            if (lic != s.grant)
                problem(record_file(m_print), "the print names grant " + s.grant + ", but its licences lead to " + lic);
            lic.clear();
        }
    }
    const Json* dossier = need(s.dossier, "dossier", "the dossier");
    if (const Json* d = dossier) {
        s.part = str_at(*d, {"part_number"}) + "@" + str_at(*d, {"revision"});
        s.title = str_at(*d, {"title"});
        if (str_at(m_index, {"part"}) != s.part)
            problem(k_index, "names part " + str_at(m_index, {"part"}) + ", not the dossier's " + s.part);
    }
    const Json* lot_rec = need(s.material_lot, "material-lot", "the material lot");
    if (const Json* lot = lot_rec) {
        s.lot = str_at(*lot, {"supplier"}) + "/" + str_at(*lot, {"lot"});
        s.lot_status = str_at(*lot, {"status"});
        s.certificate_type = str_at(*lot, {"certificate", "type"});
        s.certificate_number = str_at(*lot, {"certificate", "number"});
        s.certificate_sha256 = str_at(*lot, {"certificate", "file", "sha256"});
        check_artifact(s.certificate_sha256, int_at(*lot, {"certificate", "file", "size"}),
                       "the certificate file of lot " + s.lot);
    }
    const Json* deviation = at(p, {"deviation"});
    if (deviation && deviation->is_string()) need(deviation->get<std::string>(), "deviation", "the deviation");
    check_print_facts(p, dossier, lot_rec, printed_on, deviation && deviation->is_string());
    for (auto& [id, rec] : m_records) {
        if (str_at(rec, {"type"}) != "inspection") continue;
        if (str_at(rec, {"print"}) != m_print || str_at(rec, {"serial"}) != s.serial) {
            problem(record_file(id), "the inspection is not of serial '" + s.serial + "' of print " + m_print);
            continue;
        }
        if (const Json* report = at(rec, {"report"}))
            check_artifact(str_at(*report, {"sha256"}), int_at(*report, {"size"}), "the report of inspection " + id);
        s.inspections.push_back(
            {id, issuer_of(rec).str(), str_at(rec, {"result"}), str_at(rec, {"inspector"}), str_at(rec, {"date"})});
    }
    // A commit the passport carries (linking the print to an anchor) whose signed message
    // says it appends an inspection of this serial must bring that record: a passport
    // cannot leave out a failed inspection it holds the commit of.
    for (auto& [name, c] : m_commits) {
        if (c.record.empty() || m_records.count(c.record) || m_broken.count(c.record)) continue;
        if (c.subject.rfind("inspection: " + s.serial + " ", 0) == 0)
            problem(commit_file(name, "commit"), "appends inspection " + c.record + " of serial '" + s.serial +
                                                     "' (its signed message says so), which the passport leaves out");
    }
}

// What print-verify checked when it allowed the print, checked again from the records:
// the recipe and its sealed G-code, the printer and its model, the lot's material and
// certificate against the dossier and the licence, and the lot's release.
void Verifier::check_print_facts(const Json& p, const Json* dossier, const Json* lot, const Json* licence,
                                 bool has_deviation) {
    auto& s = m_out.summary;
    auto contains = [](const Json* arr, const std::string& v) {
        return arr && arr->is_array() && std::find(arr->begin(), arr->end(), Json(v)) != arr->end();
    };
    std::string pf = record_file(m_print);
    s.gcode_sha256 = str_at(p, {"file", "sha256"});
    if (dossier) {
        const Json* recipe = nullptr;
        if (const Json* rs = at(*dossier, {"recipes"}); rs && rs->is_array())
            for (auto& r : *rs)
                if (r.is_object() && str_at(r, {"name"}) == s.recipe) recipe = &r;
        if (!recipe) {
            problem(pf, "the print's recipe '" + s.recipe + "' is not a recipe of its dossier");
        } else {
            if (str_at(*recipe, {"printer_model"}) != s.device_model)
                problem(pf, "recipe '" + s.recipe + "' is for printer model '" + str_at(*recipe, {"printer_model"}) +
                                "', not the print's '" + s.device_model + "'");
            if (str_at(*recipe, {"gcode", "sha256"}) != s.gcode_sha256 ||
                int_at(*recipe, {"gcode", "size"}) != int_at(p, {"file", "size"}))
                problem(pf, "the print's file is not the sealed G-code of recipe '" + s.recipe + "'");
        }
    }
    std::string spec = lot ? str_at(*lot, {"material", "spec"}) : "";
    if (dossier && lot) {
        if (!contains(at(*dossier, {"materials", "specs"}), spec))
            problem(record_file(s.material_lot),
                    "lot " + s.lot + " is '" + spec + "', which the dossier does not accept");
        if (!contains(at(*dossier, {"materials", "certificate_types"}), s.certificate_type))
            problem(record_file(s.material_lot), "lot " + s.lot + " has a '" + s.certificate_type +
                                                     "' certificate, which the dossier does not accept");
    }
    if (licence) {
        const Json* devices = at(*licence, {"devices"});
        if (devices && devices->is_array() && !devices->empty() && !contains(devices, s.device_serial))
            problem(record_file(s.license), "the licence does not allow printer '" + s.device_serial + "'");
        const Json* materials = at(*licence, {"materials"});
        if (lot && materials && materials->is_array() && !materials->empty() && !contains(materials, spec))
            problem(record_file(s.license), "the licence does not accept lot " + s.lot + " ('" + spec + "')");
    }
    if (lot && s.lot_status != "released" && !has_deviation)
        problem(pf, "lot " + s.lot + " is not released and the print names no deviation");
    if (m_roster_ok) {
        const Json* partner = m_roster.partner(issuer_of(p).partner);
        if (!partner || str_at(*partner, {"devices", s.device_serial.c_str(), "model"}) != s.device_model)
            problem(pf, "printer '" + s.device_serial + "' is not registered to '" + issuer_of(p).partner + "' as a " +
                            s.device_model + " in the roster");
    }
}

std::optional<std::int64_t> Verifier::anchor_time_of(const std::string& id, const Json& a) {
    std::string f = record_file(id);
    const Json* heads = at(a, {"heads"});
    auto canonical = heads ? canonical_dump(*heads) : Result<std::string>(make_error(Errc::invalid_input, "no heads"));
    if (!canonical) {
        problem(f, "its heads are not canonical JSON");
        return std::nullopt;
    }
    auto digest = crypto::sha256(*canonical);
    if ("sha256:" + util::hex_encode(digest.data(), digest.size()) != str_at(a, {"digest"})) {
        problem(f, "its digest does not match its heads");
        return std::nullopt;
    }
    const std::string* hf = file(heads_file(id));
    if (!hf)
        problem(heads_file(id), "missing: the heads of anchor " + id);
    else if (*hf != *canonical)
        problem(heads_file(id), "differs from the heads of anchor " + id);
    const Json* ev = at(a, {"evidence"});
    std::string kind = ev ? str_at(*ev, {"kind"}) : "";
    if (kind == "rfc3161") {
        std::string sha = str_at(*ev, {"token", "sha256"});
        check_artifact(sha, int_at(*ev, {"token", "size"}), "the time-stamp token of anchor " + id);
        const std::string* token = file(artifact_file(sha));
        if (!token || crypto::sha256_hex(*token) != sha || !m_roster_ok) return std::nullopt;
        auto info = tsp::verify_reply(*token, digest, std::nullopt, m_roster.tsa_certificates());
        if (!info) {
            problem(artifact_file(sha), info.error().message);
            return std::nullopt;
        }
        ++m_out.summary.tokens;
        m_tsa_subject[id] = info->signer_subject;
        if (util::format_rfc3339(info->time) != str_at(*ev, {"time"})) {
            problem(f, "its token says " + util::format_rfc3339(info->time) + ", not " + str_at(*ev, {"time"}));
            return std::nullopt;
        }
        return info->time;
    }
    if (kind == "cosign") {
        std::string wid = str_at(*ev, {"anchor"});
        const Json* w = need(wid, "anchor", "the anchor co-signed by " + id);
        if (!w) return std::nullopt;
        if (at(*w, {"heads"}) == nullptr || *at(*w, {"heads"}) != *heads) {
            problem(f, "it does not confirm the heads of " + wid);
            return std::nullopt;
        }
        if (issuer_of(*w).partner == issuer_of(a).partner) {
            problem(f, "it co-signs an anchor of its own partner");
            return std::nullopt;
        }
        auto t1 = util::parse_time(str_at(*w, {"created"}));
        auto t2 = util::parse_time(str_at(a, {"created"}));
        auto claimed = util::parse_time(str_at(*ev, {"time"}));
        if (!t1 || !t2 || !claimed || std::min(*t1, *t2) != *claimed) {
            problem(f, "its time is not the earlier of the two anchors' times");
            return std::nullopt;
        }
        if (str_at(*w, {"evidence", "kind"}) == "cosign") {
            problem(f, "it co-signs a co-signature");
            return std::nullopt;
        }
        // Its time is a floor for later prints (print-verify); as a bound on when the
        // heads existed, only the later clock counts, since either partner could backdate.
        m_cosign_upper[id] = std::max(*t1, *t2);
        return claimed;
    }
    return std::nullopt;
}

void Verifier::check_anchors() {
    auto& s = m_out.summary;
    const Json* print = m_records.count(m_print) ? &m_records[m_print] : nullptr;
    std::string seen;
    if (print)
        if (const Json* sv = at(*print, {"seen"}); sv && sv->is_string()) {
            seen = sv->get<std::string>();
            need(seen, "anchor", "the anchor the print has seen");
        }
    std::string print_commit = m_commit_of.count(m_print) ? m_commit_of[m_print] : "";
    WriterId printer = print ? issuer_of(*print) : WriterId{};
    std::int64_t pseq = print ? int_at(*print, {"seq"}) : 0;
    std::optional<crypto::PublicKey> printer_key;
    if (m_roster_ok)
        if (auto k = m_roster.key_of(printer)) printer_key = *k;
    std::set<std::string> witnessed;
    for (auto& [id, a] : m_records)
        if (str_at(a, {"type"}) == "anchor" && str_at(a, {"evidence", "kind"}) == "cosign")
            witnessed.insert(str_at(a, {"evidence", "anchor"}));
    for (auto& [id, a] : m_records) {
        if (str_at(a, {"type"}) != "anchor") continue;
        PassportAnchor out{id, "", issuer_of(a).str(), str_at(a, {"evidence", "kind"}), anchor_time_of(id, a), ""};
        out.tsa = m_tsa_subject[id];
        // Coverage: the anchor's head of the print's chain leads to the print's commit
        // through parent ids, one commit per position.
        const Json* heads = at(a, {"heads"});
        bool covers = false;
        if (print && !print_commit.empty() && heads && heads->is_array())
            for (auto& h : *heads) {
                if (!h.is_object() || h.value("chain", "") != printer.str() || h.value("seq", std::int64_t{0}) < pseq)
                    continue;
                std::string cur = h.value("commit", "");
                std::int64_t hops = h.value("seq", std::int64_t{0}) - pseq;
                bool linked = true;
                for (std::int64_t i = 0; i < hops; ++i) {
                    auto c = m_commits.find(cur);
                    if (c == m_commits.end()) {
                        problem(commit_file(cur, "commit"), "missing: it links anchor " + id + " to the print");
                        linked = false;
                        break;
                    }
                    if (!c->second.key || !printer_key || !(*printer_key == *c->second.key)) {
                        problem(commit_file(cur, "sig"), "not signed by the printer " + printer.str() +
                                                             " (it links anchor " + id + " to the print)");
                        linked = false;
                        break;
                    }
                    c->second.used = true;
                    if (c->second.parents.size() != 1) {
                        problem(commit_file(cur, "commit"), "has no parent, so it cannot lead to the print");
                        linked = false;
                        break;
                    }
                    cur = c->second.parents.front();
                }
                if (linked && cur != print_commit) {
                    problem(record_file(id), "its head of chain " + printer.str() +
                                                 " does not lead to the print's commit " + print_commit);
                    linked = false;
                }
                covers = covers || linked;
            }
        out.role = id == seen ? "seen" : covers ? "covering" : witnessed.count(id) ? "witnessed" : "other";
        if (out.role == "seen" && out.time) s.not_before = std::max(s.not_before.value_or(*out.time), *out.time);
        if (out.role == "covering" && out.time) {
            std::int64_t upper = m_cosign_upper.count(id) ? m_cosign_upper[id] : *out.time;
            s.not_after = std::min(s.not_after.value_or(upper), upper);
        }
        s.anchors.push_back(out);
    }
    for (auto& [name, c] : m_commits)
        if (!c.used && c.key && !m_missing.count(c.record) && !m_broken.count(c.record))
            problem(commit_file(name, "commit"), "appends no record of the passport and links no anchor to the print");
}

Result<PassportVerifyOutcome> Verifier::run() {
    const std::string* index = file(k_index);
    if (!index) return make_error(Errc::invalid_input, "no " + k_index + " in it: not a part passport");
    try {
        m_index = Json::parse(*index);
    } catch (const std::exception&) {
        return make_error(Errc::invalid_input, k_index + " is not JSON");
    }
    if (!m_index.is_object() || m_index.value("format", Json()).dump() != Json(std::string(k_passport_format)).dump())
        return make_error(Errc::invalid_input, k_index + " is not of format " + std::string(k_passport_format),
                          "this dvi reads " + std::string(k_passport_format));
    check_sums();
    check_commits();
    check_records();
    check_roster();
    check_authority();
    check_references();
    check_anchors();
    auto& s = m_out.summary;
    s.records = m_records.size();
    s.commits = m_commits.size();
    s.files = m_files.size();
    return m_out;
}
}  // namespace

SplitCommit split_commit(std::string_view raw) {
    SplitCommit out;
    auto end = raw.find("\n\n");
    std::size_t head_end = end == std::string_view::npos ? raw.size() : end + 1;
    std::size_t pos = 0;
    bool in_sig = false;
    while (pos < head_end) {
        auto nl = raw.find('\n', pos);
        std::size_t next = nl == std::string_view::npos || nl >= head_end ? head_end : nl + 1;
        auto line = raw.substr(pos, next - pos);
        if (line.rfind("gpgsig ", 0) == 0) {
            in_sig = true;
            out.signature += line.substr(7);
        } else if (in_sig && !line.empty() && line.front() == ' ') {
            out.signature += line.substr(1);
        } else {
            in_sig = false;
            out.payload += line;
        }
        pos = next;
    }
    out.payload += raw.substr(head_end);
    if (!out.signature.empty() && out.signature.back() != '\n') out.signature.push_back('\n');
    return out;
}

Result<PassportOutcome> passport_export(const Ledger& ledger, const PassportRequest& req) {
    if (req.serial.empty()) return make_error(Errc::invalid_input, "the serial is empty");
    Exporter e(ledger);
    return e.run(req);
}

Result<PassportVerifyOutcome> passport_verify_bytes(std::string_view archive, const std::string& name,
                                                    const std::optional<std::string>& trust) {
    if (trust) {
        std::string hex = trust->rfind("sha256:", 0) == 0 ? trust->substr(7) : *trust;
        // The whole id: a short prefix could be matched by a made-up consortium.
        if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
            return make_error(Errc::invalid_input, "not a genesis id: '" + *trust + "'",
                              "give the whole id, 'sha256:' and 64 hex digits ('dvi -C <ledger> roster list' shows it)");
    }
    auto entries = util::tar_read(archive);
    if (!entries) return make_error(Errc::invalid_input, util::quote(name) + ": " + entries.error().message);
    std::map<std::string, std::string> files;
    for (auto& e : *entries) files.emplace(std::move(e.name), std::move(e.data));
    Verifier v(std::move(files), trust);
    auto out = v.run();
    if (!out) return make_error(out.error().code, util::quote(name) + ": " + out.error().message, out.error().hint);
    return out;
}

Result<PassportVerifyOutcome> passport_verify(const PassportVerifyRequest& req) {
    std::error_code ec;
    if (std::filesystem::is_directory(req.file, ec))
        return make_error(Errc::invalid_input, util::quote(req.file) + " is a folder, not a passport file");
    DVI_TRY(bytes, util::read_file(req.file, k_max_passport));
    return passport_verify_bytes(bytes, req.file.string(), req.trust);
}

}  // namespace dvi
