// dvi audit: replay the whole ledger and report findings with stable codes, as text,
// JSON (schemas/audit-report.schema.json), Markdown (a CI job summary) or HTML.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "audit_html.hpp"
#include "common.hpp"
#include "dvi/audit.hpp"
#include "dvi/util/fs.hpp"

namespace dvi::cli {

namespace {

constexpr unsigned k_max_jobs = 256;

struct AuditOptions {
    std::string format;  // empty: text, or JSON under --json
    std::string output;
    bool strict = false;
    bool full = false;
    std::string since;
    unsigned jobs = 0;  // 0: one thread per core
};

Json finding_json(const Finding& f) {
    auto opt = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
    return {{"code", f.code},         {"severity", severity_name(f.severity)},
            {"chain", opt(f.chain)},  {"seq", f.seq > 0 ? Json(f.seq) : Json(nullptr)},
            {"record", opt(f.record)}, {"commit", opt(f.commit)},
            {"dossier", opt(f.dossier)}, {"license", opt(f.license)},
            {"message", f.message}};
}

Json report_json(const AuditReport& r, bool pass) {
    Json findings = Json::array();
    for (auto& f : r.findings) findings.push_back(finding_json(f));
    Json licences = Json::array();
    for (auto& l : r.licences)
        licences.push_back({{"id", l.id},
                            {"parent", l.parent.empty() ? Json(nullptr) : Json(l.parent)},
                            {"dossier", l.dossier},
                            {"holder", l.holder},
                            {"issuer", l.chain},
                            {"quota", l.quota},
                            {"unit", l.unit},
                            {"allocated", l.allocated},
                            {"used", l.used},
                            {"revoked", l.revoked}});
    return {{"consortium", r.consortium},
            {"genesis", r.genesis.empty() ? Json(nullptr) : Json(r.genesis)},
            {"since", r.since.empty() ? Json(nullptr) : Json(r.since)},
            {"before_since", r.before_since},
            {"verdict", pass ? "pass" : "fail"},
            {"summary",
             {{"chains", r.chains},
              {"commits", r.commits},
              {"verified", r.verified},
              {"cached", r.cached},
              {"records", r.records},
              {"anchors", r.anchors},
              {"forks", r.forks},
              {"errors", r.count(Severity::error)},
              {"warnings", r.count(Severity::warning)},
              {"infos", r.count(Severity::info)}}},
            {"findings", findings},
            {"licences", licences}};
}

std::string where(const Finding& f) {
    std::string s = f.chain.empty() ? "ledger" : f.chain;
    if (f.seq > 0) s += " #" + std::to_string(f.seq);
    return s;
}

std::string summary_line(const AuditReport& r) {
    return std::to_string(r.chains) + " chains, " + std::to_string(r.commits) + " commits (" +
           std::to_string(r.verified) + " verified now, " + std::to_string(r.cached) + " before), " +
           std::to_string(r.records) + " records, " + std::to_string(r.anchors) + " anchors, " +
           std::to_string(r.forks) + " forks";
}

std::string counts_line(const AuditReport& r) {
    return std::to_string(r.count(Severity::error)) + " errors, " + std::to_string(r.count(Severity::warning)) +
           " warnings, " + std::to_string(r.count(Severity::info)) + " notes";
}

std::string dossier_name(const AuditReport& r, const std::string& id) {
    auto it = r.names.find(id);
    return it == r.names.end() ? id : it->second + " (" + id.substr(0, 19) + ")";
}

// A summary, then the findings grouped by dossier and licence.
std::string render_text(const AuditReport& r, bool pass) {
    std::string out = "audit of '" + r.consortium + "' (genesis " + r.genesis + ")\n  " + summary_line(r) + "\n  " +
                      counts_line(r) + ": " + (pass ? "PASS" : "FAIL") + "\n";
    if (!r.since.empty())
        out += "  findings since anchor " + r.since + " (" + std::to_string(r.before_since) + " before it not shown)\n";
    std::map<std::string, std::map<std::string, std::vector<const Finding*>>> groups;
    for (auto& f : r.findings) groups[f.dossier][f.license].push_back(&f);
    for (auto& [dossier, by_licence] : groups) {
        out += "\n" + (dossier.empty() ? std::string("ledger") : "dossier " + dossier_name(r, dossier)) + "\n";
        for (auto& [licence, fs] : by_licence) {
            std::string indent = "  ";
            if (!licence.empty()) {
                out += "  licence " + licence.substr(0, 19) + "\n";
                indent = "    ";
            }
            for (auto* f : fs) {
                char line[160];
                std::snprintf(line, sizeof line, "%-8s %-26s %-22s ", severity_name(f->severity).c_str(),
                              f->code.c_str(), where(*f).c_str());
                out += indent + line + f->message + "\n";
                if (!f->record.empty()) out += indent + "         record " + f->record + "\n";
            }
        }
    }
    if (!r.licences.empty()) {
        out += "\nlicences (quota, allocated, used, unit)\n";
        for (auto& l : r.licences) {
            char line[200];
            std::snprintf(line, sizeof line, "  %-19s %-20s %6lld %6lld %6lld %s%s\n", l.id.substr(0, 19).c_str(),
                          l.holder.c_str(), static_cast<long long>(l.quota), static_cast<long long>(l.allocated),
                          static_cast<long long>(l.used), l.unit.c_str(), l.revoked ? "  revoked" : "");
            out += line;
        }
    }
    return out;
}

std::string md_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '|' || c == '`' || c == '*' || c == '_' || c == '<' || c == '>') out += '\\';
        out += c == '\n' ? ' ' : c;
    }
    return out;
}

std::string render_markdown(const AuditReport& r, bool pass) {
    std::string out = std::string("## dvi audit: ") + (pass ? "pass" : "fail") + "\n\n" + "Consortium **" +
                      md_escape(r.consortium) + "**, genesis `" + r.genesis + "`.\n\n" +
                      "| chains | commits | records | anchors | forks | errors | warnings | notes |\n" +
                      "|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    out += "| " + std::to_string(r.chains) + " | " + std::to_string(r.commits) + " | " + std::to_string(r.records) +
           " | " + std::to_string(r.anchors) + " | " + std::to_string(r.forks) + " | " +
           std::to_string(r.count(Severity::error)) + " | " + std::to_string(r.count(Severity::warning)) + " | " +
           std::to_string(r.count(Severity::info)) + " |\n";
    if (!r.since.empty())
        out +=
            "\nFindings since anchor `" + r.since + "` (" + std::to_string(r.before_since) + " before it not shown).\n";
    if (!r.findings.empty()) {
        out += "\n| severity | code | where | finding |\n|---|---|---|---|\n";
        for (auto& f : r.findings)
            out += "| " + severity_name(f.severity) + " | `" + f.code + "` | " + md_escape(where(f)) + " | " +
                   md_escape(f.message) + " |\n";
    }
    if (!r.licences.empty()) {
        out += "\n| licence | holder | quota | allocated | used | unit | |\n|---|---|---:|---:|---:|---|---|\n";
        for (auto& l : r.licences)
            out += "| `" + l.id.substr(0, 19) + "` | " + md_escape(l.holder) + " | " + std::to_string(l.quota) + " | " +
                   std::to_string(l.allocated) + " | " + std::to_string(l.used) + " | " + md_escape(l.unit) + " | " +
                   (l.revoked ? "revoked" : "") + " |\n";
    }
    return out;
}

int run_audit(Context& ctx, const AuditOptions& o) {
    if (!o.format.empty() && o.format != "text" && o.format != "json" && o.format != "markdown" && o.format != "html")
        return report(make_error(Errc::invalid_input, "unknown --format '" + o.format + "'",
                                 "use text, json, markdown or html"));
    // --json is what standard output gets: the report itself, or with --output a summary
    // of the report written in --format.
    if (ctx.globals.json && !o.format.empty() && o.format != "json" && o.output.empty())
        return report(make_error(Errc::invalid_input, "--json prints JSON, and --format asks for " + o.format,
                                 "write the " + o.format + " report with --output <file>, or leave out --json"));
    const std::string format = !o.format.empty() ? o.format : ctx.globals.json ? "json" : "text";
    if (o.jobs > k_max_jobs)
        return report(make_error(Errc::invalid_input, "--jobs " + std::to_string(o.jobs) + " is more than " +
                                                          std::to_string(k_max_jobs) + " threads",
                                 "leave it out for one thread per core"));
    if (!o.output.empty()) {
        // Found before the audit, which can take minutes: a report with nowhere to go.
        std::error_code ec;
        const std::filesystem::path out(o.output);
        const auto folder = out.parent_path().empty() ? std::filesystem::path(".") : out.parent_path();
        if (std::filesystem::is_directory(out, ec))
            return report(make_error(Errc::invalid_input, "cannot write " + util::quote(out) + ": it is a folder",
                                     "give a file name for the report"));
        if (!std::filesystem::is_directory(folder, ec))
            return report(make_error(Errc::invalid_input,
                                     "cannot write " + util::quote(out) + ": no folder " + util::quote(folder)));
    }
    auto ledger = ctx.ledger();
    if (!ledger) return report(ledger.error());
    AuditRequest req;
    req.cache = o.full ? AuditCache::full : AuditCache::use;
    req.since = o.since;
    req.threads = o.jobs;
    if (const char* env = std::getenv("DVI_TEST_AUDIT_WINDOW"); env && *env) {
        char* end = nullptr;
        const unsigned long n = std::strtoul(env, &end, 10);
        if (*end || n == 0 || n > (1u << 20) || *env == '-')
            return report(make_error(Errc::invalid_input, std::string("DVI_TEST_AUDIT_WINDOW '") + env +
                                                              "' is not a number of commits from 1 to 1048576"));
        req.window = n;
    }
    req.events = format == "html" ? AuditEvents::collect : AuditEvents::skip;
    std::filesystem::path path = ledger->path();
    req.reopen = [path] { return Ledger::open(path); };
    bool tty = !ctx.globals.quiet && ::isatty(STDERR_FILENO);
    if (tty)
        req.progress = [](std::uint64_t done, std::uint64_t total) {
            std::fprintf(stderr, "\rverifying commits: %llu/%llu", static_cast<unsigned long long>(done),
                         static_cast<unsigned long long>(total));
            if (done == total) std::fputc('\n', stderr);
        };
    auto rep = audit(*ledger, req);
    if (!rep) return report(rep.error());
    for (auto& n : rep->notices) warn(n);
    bool pass = rep->count(Severity::error) == 0 && !(o.strict && rep->count(Severity::warning) > 0);
    std::string doc = format == "json"       ? report_json(*rep, pass).dump(2) + "\n"
                      : format == "markdown" ? render_markdown(*rep, pass)
                      : format == "html"     ? render_html(*rep, pass)
                                             : render_text(*rep, pass);
    if (!o.output.empty()) {
        if (auto w = util::write_file_atomic(o.output, doc, util::FileMode::public_0644, util::Overwrite::yes); !w)
            return report(w.error());
        // Written to stdout itself (--output /dev/stdout): the report is all stdout gets.
        const bool on_stdout = is_stdout(o.output);
        if (!ctx.globals.quiet && !ctx.globals.json)
            std::fprintf(on_stdout ? stderr : stdout, "%s: %s; report written to %s\n", pass ? "pass" : "fail",
                         counts_line(*rep).c_str(), o.output.c_str());
        if (ctx.globals.json && !on_stdout)
            print_json({{"verdict", pass ? "pass" : "fail"},
                        {"summary", report_json(*rep, pass)["summary"]},
                        {"output", {{"path", o.output}, {"format", format}}}});
    } else if (!ctx.globals.quiet || format == "json") {
        std::fputs(doc.c_str(), stdout);
    }
    return pass ? k_exit_ok : k_exit_negative;
}

}  // namespace

void register_audit(CLI::App& root, Registry& reg) {
    auto o = std::make_shared<AuditOptions>();
    auto* app = root.add_subcommand("audit", "Replay the whole ledger and report findings with stable codes");
    app->add_option("--format", o->format, "text (default), json, markdown or html")->type_name("<format>");
    app->add_option("--output", o->output, "Write the report to this file instead of stdout")->type_name("<file>");
    app->add_flag("--strict", o->strict, "Warnings fail the audit too");
    app->add_flag("--full", o->full, "Verify every signature again, ignoring the cache of earlier audits");
    app->add_option("--since", o->since, "Report only findings after this anchor's heads")->type_name("<anchor>");
    app->add_option("--jobs", o->jobs, "Check commits on this many threads (default: one per core)")
        ->type_name("<n>")
        ->transform(decimal());
    app->footer(
        "Exit status: 0 no errors (warnings allowed unless --strict); 1 findings that fail the audit;\n"
        "2 bad input; 128 the ledger or the report cannot be read or written.\n"
        "Example:\n  dvi audit --format markdown >> \"$GITHUB_STEP_SUMMARY\"");
    reg.add(app, [o](Context& ctx) { return run_audit(ctx, *o); });
}

}  // namespace dvi::cli
