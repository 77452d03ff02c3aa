#include "dvi/history.hpp"

#include <algorithm>

#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "dvi/util/encoding.hpp"

namespace dvi {

namespace {

Result<std::vector<ChainHead>> select_chains(const Ledger& ledger, const std::optional<std::string>& filter) {
    DVI_TRY(all, ledger.chains());
    if (!filter) return all;
    std::vector<ChainHead> out;
    for (auto& h : all)
        if (h.writer.partner == *filter || h.writer.str() == *filter) out.push_back(h);
    if (out.empty())
        return make_error(Errc::not_found, "no chain '" + *filter + "' in the ledger",
                          "give a partner or partner/writer; 'dvi roster list' shows them");
    return out;
}

// One line about a record, for people.
std::string record_summary(const std::string& type, const Json& r) {
    auto str = [&](const Json& j, const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : ""; };
    auto num = [&](const Json& j, const char* k) {
        return j.contains(k) && j[k].is_number_integer() ? std::to_string(j[k].get<std::int64_t>()) : "?";
    };
    auto holder = [&](const Json& h) {
        return h.is_object() ? str(h, "partner") + (h.contains("writer") ? "/" + str(h, "writer") : "") : "";
    };
    if (type == "dossier") return str(r, "part_number") + "@" + str(r, "revision") + " " + str(r, "title");
    if (type == "material-lot")
        return str(r, "lot") + " " + (r.contains("material") ? str(r["material"], "spec") : "") + " (" +
               str(r, "status") + ")";
    if (type == "roster" && str(r, "action") == "trust-tsa")
        return "trust-tsa " + (r.contains("tsa") ? str(r["tsa"], "subject") : "");
    if (type == "roster")
        return str(r, "action") + " " + str(r, "partner") +
               (r.contains("writer") ? "/" + (r["writer"].is_object() ? str(r["writer"], "name") : str(r, "writer")) : "");
    if (type == "license")
        return str(r, "part") + " to " + holder(r.value("to", Json::object())) + ", " +
               (r.contains("quota") && r["quota"].is_number_integer()
                    ? util::count_of(r["quota"].get<std::int64_t>(), str(r, "unit"))
                    : "? " + str(r, "unit")) +
               (r.value("parent", Json()).is_null() ? " (grant)" : " (allocation)");
    if (type == "print") {
        std::string device = r.contains("request") ? str(r["request"], "device") : "";
        if (str(r, "decision") == "allowed")
            return "allowed on " + device + ", recipe " + str(r, "recipe") + " (" + num(r, "used") + "/" +
                   num(r, "quota") + ")";
        return "refused on " + device + ": " + (r.contains("reason") ? str(r["reason"], "code") : "");
    }
    if (type == "revocation") return str(r, "target_type") + " " + str(r, "target").substr(0, 19) + ": " + str(r, "reason");
    if (type == "deviation")
        return "lot " + str(r, "material_lot").substr(0, 19) + " for " + holder(r.value("to", Json::object())) +
               ", at most " + num(r, "max_parts") + " parts";
    if (type == "inspection") return str(r, "serial") + " " + str(r, "result");
    if (type == "anchor") {
        const Json ev = r.value("evidence", Json::object());
        std::string n = r.contains("heads") && r["heads"].is_array() ? std::to_string(r["heads"].size()) : "?";
        std::string kind = str(ev, "kind");
        std::string what = kind == "rfc3161"           ? "time-stamped " + str(ev, "time")
                           : kind == "rfc3161-request" ? "time-stamp requested"
                           : kind == "cosign"          ? "co-signs " + str(ev, "anchor").substr(0, 19) + ", " + str(ev, "time")
                                                       : "no time evidence";
        return n + " heads, " + what;
    }
    return "";
}

}  // namespace

Result<LogOutcome> ledger_log(const Ledger& ledger, const LogRequest& req) {
    if (req.type) {
        auto& types = all_record_types();
        if (std::find(types.begin(), types.end(), *req.type) == types.end()) {
            std::string list;
            for (auto& t : types) list += (list.empty() ? "" : ", ") + t;
            return make_error(Errc::invalid_input, "unknown record type '" + *req.type + "'", "record types: " + list);
        }
    }
    DVI_TRY(roster, roster_load(ledger));
    DVI_TRY(heads, select_chains(ledger, req.chain));
    LogOutcome out;
    for (auto& head : heads) {
        auto key = roster.key_of(head.writer);
        DVI_TRY(commits, ledger.chain_commits(head.writer));
        auto n = static_cast<std::int64_t>(commits.size());
        for (std::int64_t i = 0; i < n; ++i) {
            const std::string& c = commits[static_cast<std::size_t>(i)];
            LogEntry e;
            e.chain = head.writer;
            e.seq = n - i;
            e.commit = c;
            ++out.commits_checked;
            std::optional<StoredRecord> rec;
            if (key) {
                DVI_TRY(check, ledger.check_commit(c, *key));
                e.problems = check.problems;
                e.signer = check.signer;
                rec = std::move(check.record);
            } else {
                e.problems.push_back("writer '" + head.writer.str() + "' is not in the roster");
                if (auto r = ledger.record_of_commit(c)) rec = std::move(*r);
            }
            if (rec) {
                e.record_id = rec->id;
                e.type = rec->type;
                e.created = rec->json.value("created", "");
                check_placement(rec->json, head.writer, e.seq, e.problems);
                if (key && rec->json.contains("issuer") &&
                    rec->json["issuer"].value("key", "") != key->fingerprint())
                    e.problems.push_back("record names key " + rec->json["issuer"].value("key", "?") +
                                         ", not the writer's " + key->fingerprint());
                e.summary = record_summary(rec->type, rec->json);
            }
            // A commit that does not verify is always shown, whatever the type filter.
            if (!e.problems.empty()) ++out.bad;
            else if (req.type && e.type != *req.type) continue;
            out.entries.push_back(std::move(e));
        }
    }
    return out;
}

Result<ShowOutcome> ledger_show(const Ledger& ledger, std::string_view ref) {
    std::string target(ref);
    if (auto at = target.find('@'); at != std::string::npos && target.rfind("sha256:", 0) != 0) {
        DVI_TRY(found, ledger.find_chain_files("index/dossiers/" + target));
        if (found.empty())
            return make_error(Errc::not_found, "no dossier '" + target + "' in the ledger",
                              "'dvi log --type dossier' lists the sealed dossiers");
        target = found.front().second;
    }
    DVI_TRY(rec, ledger.find_record(target));
    DVI_TRY(roster, roster_load(ledger));
    ShowOutcome out{rec, {}};
    auto key = roster.key_of(rec.chain.writer);
    if (!key) {
        out.problems.push_back("writer '" + rec.chain.writer.str() + "' is not in the roster");
    } else {
        // The head commit signs the chain's whole tree, and so this record.
        DVI_TRY(check, ledger.check_commit(rec.chain.commit, *key));
        for (auto& p : check.problems) out.problems.push_back("chain head " + rec.chain.commit + ": " + p);
    }
    check_placement(rec.json, rec.chain.writer, 0, out.problems);
    return out;
}

}  // namespace dvi
