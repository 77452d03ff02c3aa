// dvi audit --format html: one self-contained file (no script, no external resource):
// the summary, the findings, quota usage per licence and allocation, and a picture of
// the chains over time (inline SVG) with prints, anchors, findings and forks marked.
#include "audit_html.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "dvi/util/time.hpp"

namespace dvi::cli {

namespace {

std::string esc(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

constexpr const char* k_style = R"(
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1d2329;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #d0d7de}
.verdict{display:inline-block;padding:.15em .6em;border-radius:4px;font-weight:600;color:#fff}
.pass{background:#1a7f37}.fail{background:#cf222e}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa}table.summary th{text-align:right}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.id{font-family:ui-monospace,monospace;font-size:.92em}
.error{color:#cf222e;font-weight:600}.warning{color:#9a6700;font-weight:600}.info{color:#57606a}
.bar{background:#eaeef2;height:.8em;border-radius:3px;width:12em;display:inline-block;position:relative}
.bar span{position:absolute;left:0;top:0;bottom:0;border-radius:3px;background:#2da44e}
.bar span.over{background:#cf222e}
svg text{font:12px system-ui,sans-serif;fill:#1d2329}
)";

void summary(std::string& h, const AuditReport& r, bool pass) {
    h += "<h1>dvi audit of " + esc(r.consortium) + " <span class=\"verdict " + (pass ? "pass\">PASS" : "fail\">FAIL") +
         "</span></h1>\n<p>Genesis <span class=\"id\">" + esc(r.genesis) + "</span></p>\n";
    h += "<table class=\"summary\"><tr><th>chains</th><th>commits</th><th>records</th><th>anchors</th><th>forks</th><th>errors</th>"
         "<th>warnings</th><th>notes</th></tr><tr>";
    for (auto n : {r.chains, r.commits, r.records, r.anchors, r.forks, r.count(Severity::error),
                   r.count(Severity::warning), r.count(Severity::info)})
        h += "<td class=\"num\">" + std::to_string(n) + "</td>";
    h += "</tr></table>\n";
    if (!r.since.empty())
        h += "<p>Findings since anchor <span class=\"id\">" + esc(r.since) + "</span> (" +
             std::to_string(r.before_since) + " before it not shown).</p>\n";
}

void findings(std::string& h, const AuditReport& r) {
    h += "<h2>Findings</h2>\n";
    if (r.findings.empty()) {
        h += "<p>No findings: every commit verified and every rule held.</p>\n";
        return;
    }
    h += "<table><tr><th>severity</th><th>code</th><th>where</th><th>finding</th></tr>\n";
    for (auto& f : r.findings) {
        std::string where = f.chain.empty() ? "ledger" : f.chain;
        if (f.seq > 0) where += " #" + std::to_string(f.seq);
        std::string about;
        if (!f.dossier.empty()) {
            auto n = r.names.find(f.dossier);
            about = "dossier " + (n != r.names.end() ? n->second : f.dossier.substr(0, 19));
        }
        if (!f.license.empty()) about += (about.empty() ? "" : ", ") + std::string("licence ") + f.license.substr(0, 19);
        h += "<tr><td class=\"" + severity_name(f.severity) + "\">" + severity_name(f.severity) + "</td><td><code>" +
             esc(f.code) + "</code></td><td>" + esc(where) + "</td><td>" + esc(f.message);
        if (!about.empty()) h += "<br><small>" + esc(about) + "</small>";
        if (!f.record.empty()) h += "<br><small class=\"id\">" + esc(f.record) + "</small>";
        h += "</td></tr>\n";
    }
    h += "</table>\n";
}

void licences(std::string& h, const AuditReport& r) {
    if (r.licences.empty()) return;
    h += "<h2>Quota usage</h2>\n<table><tr><th>licence</th><th>holder</th><th>issuer</th><th>quota</th>"
         "<th>allocated</th><th>used</th><th>unit</th><th></th></tr>\n";
    // Grants first, each followed by its allocations.
    std::vector<const LicenceUsage*> order;
    std::function<void(const std::string&, int)> walk = [&](const std::string& parent, int depth) {
        for (auto& l : r.licences)
            if (l.parent == parent && depth < 32) {
                order.push_back(&l);
                walk(l.id, depth + 1);
            }
    };
    walk("", 0);
    for (auto& l : r.licences)
        if (std::find(order.begin(), order.end(), &l) == order.end()) order.push_back(&l);
    for (auto* l : order) {
        double share =
            l->quota > 0 ? std::clamp(static_cast<double>(l->used) / static_cast<double>(l->quota), 0.0, 1.0) : 1.0;
        bool over = l->used > l->quota;
        h += "<tr><td class=\"id\">" + std::string(l->parent.empty() ? "" : "&#8627; ") + esc(l->id.substr(0, 19)) +
             (l->revoked ? " <small>(revoked)</small>" : "") + "</td><td>" + esc(l->holder) + "</td><td>" +
             esc(l->chain) + "</td><td class=\"num\">" + std::to_string(l->quota) + "</td><td class=\"num\">" +
             std::to_string(l->allocated) + "</td><td class=\"num\">" + std::to_string(l->used) + "</td><td>" +
             esc(l->unit) + "</td><td><span class=\"bar\"><span" + (over ? " class=\"over\"" : "") +
             " style=\"width:" + fmt(share * 100) + "%\"></span></span></td></tr>\n";
    }
    h += "</table>\n";
}

// One row per chain, records placed by their writer's clock.
void picture(std::string& h, const AuditReport& r) {
    if (r.events.empty()) return;
    std::vector<std::string> chains;
    for (auto& e : r.events)
        if (std::find(chains.begin(), chains.end(), e.chain) == chains.end()) chains.push_back(e.chain);
    std::set<std::string> forked;
    std::map<std::string, Severity> worst;  // record -> most severe finding
    for (auto& f : r.findings) {
        if (f.code == "fork") forked.insert(f.chain);
        if (f.record.empty()) continue;
        auto it = worst.find(f.record);
        if (it == worst.end() || f.severity < it->second) worst[f.record] = f.severity;
    }
    std::int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    for (auto& e : r.events)
        if (auto t = util::parse_time(e.created)) t0 = std::min(t0, *t), t1 = std::max(t1, *t);
    if (t0 > t1) t0 = t1 = 0;
    const double left = 170, right = 30, width = 1040, row = 30, top = 40;
    double height = top + row * static_cast<double>(chains.size()) + 50;
    auto x_of = [&](const AuditEvent& e) {
        auto t = util::parse_time(e.created).value_or(t0);
        double span = static_cast<double>(std::max<std::int64_t>(t1 - t0, 1));
        return left + (static_cast<double>(t - t0) / span) * (width - left - right);
    };
    h += "<h2>The chains over time</h2>\n<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"" + fmt(width) +
         "\" height=\"" + fmt(height) + "\" viewBox=\"0 0 " + fmt(width) + " " + fmt(height) +
         "\"><title>Records of each chain by time: prints, anchors, findings and forks</title>\n";
    h += "<text x=\"" + fmt(left) + "\" y=\"20\">" + esc(util::format_rfc3339(t0)) + "</text><text x=\"" +
         fmt(width - right) + "\" y=\"20\" text-anchor=\"end\">" + esc(util::format_rfc3339(t1)) + "</text>\n";
    for (std::size_t i = 0; i < chains.size(); ++i) {
        double y = top + row * static_cast<double>(i) + row / 2;
        h += "<text x=\"8\" y=\"" + fmt(y + 4) + "\">" + esc(chains[i]) + "</text><line x1=\"" + fmt(left) + "\" y1=\"" +
             fmt(y) + "\" x2=\"" + fmt(width - right) + "\" y2=\"" + fmt(y) + "\" stroke=\"#d0d7de\"/>\n";
        if (forked.count(chains[i]))
            h += "<text x=\"" + fmt(width - right + 6) + "\" y=\"" + fmt(y + 5) +
                 "\" fill=\"#cf222e\" font-weight=\"700\">&#10005;<title>fork: an equivocation of " + esc(chains[i]) +
                 "</title></text>\n";
    }
    // A long ledger would draw a mark per record: records of one kind that fall on the
    // same 3 pixels of a chain are drawn once (their count in the tooltip); records with
    // findings are always drawn.
    std::map<std::tuple<std::string, long, std::string>, std::size_t> seen_bucket;
    std::map<std::tuple<std::string, long, std::string>, std::size_t> bucket_count;
    auto kind = [](const AuditEvent& e) { return e.type == "print" ? "print-" + e.label : e.type == "anchor" ? e.type : "other"; };
    for (auto& e : r.events) ++bucket_count[{e.chain, static_cast<long>(x_of(e) / 3), kind(e)}];
    for (auto& e : r.events) {
        auto ci = std::find(chains.begin(), chains.end(), e.chain) - chains.begin();
        double y = top + row * static_cast<double>(ci) + row / 2, x = x_of(e);
        std::tuple<std::string, long, std::string> bucket{e.chain, static_cast<long>(x / 3), kind(e)};
        bool flagged = worst.count(e.record) > 0;
        if (!flagged && seen_bucket[bucket]++ > 0) continue;
        std::size_t n = bucket_count[bucket];
        std::string tip = "<title>" +
                          esc(!flagged && n > 1 ? std::to_string(n) + " records (" + kind(e) + ") of " + e.chain + " from #" +
                                                      std::to_string(e.seq) + ", " + e.created
                                                : e.chain + " #" + std::to_string(e.seq) + " " + e.type +
                                                      (e.label.empty() ? "" : " (" + e.label + ")") + " " + e.created +
                                                      " " + e.record) +
                          "</title>";
        if (e.type == "anchor")
            h += "<path d=\"M" + fmt(x) + " " + fmt(y - 7) + " l6 7 l-6 7 l-6 -7z\" fill=\"#0969da\">" + tip + "</path>";
        else if (e.type == "print")
            h += "<circle cx=\"" + fmt(x) + "\" cy=\"" + fmt(y) + "\" r=\"4\" fill=\"" +
                 (e.label == "allowed" ? "#2da44e\"" : "#fff\" stroke=\"#cf222e\"") + ">" + tip + "</circle>";
        else
            h += "<rect x=\"" + fmt(x - 3) + "\" y=\"" + fmt(y - 3) + "\" width=\"6\" height=\"6\" fill=\"#8c959f\">" + tip +
                 "</rect>";
        if (auto w = worst.find(e.record); w != worst.end() && w->second != Severity::info)
            h += "<circle cx=\"" + fmt(x) + "\" cy=\"" + fmt(y) + "\" r=\"9\" fill=\"none\" stroke=\"" +
                 (w->second == Severity::error ? "#cf222e" : "#bf8700") + "\" stroke-width=\"2\"/>";
        h += "\n";
    }
    double ly = height - 18;
    h += "<circle cx=\"" + fmt(left) + "\" cy=\"" + fmt(ly) + "\" r=\"4\" fill=\"#2da44e\"/><text x=\"" + fmt(left + 10) +
         "\" y=\"" + fmt(ly + 4) + "\">print allowed</text>";
    h += "<circle cx=\"" + fmt(left + 120) + "\" cy=\"" + fmt(ly) + "\" r=\"4\" fill=\"#fff\" stroke=\"#cf222e\"/><text x=\"" +
         fmt(left + 130) + "\" y=\"" + fmt(ly + 4) + "\">print refused</text>";
    h += "<path d=\"M" + fmt(left + 250) + " " + fmt(ly - 7) + " l6 7 l-6 7 l-6 -7z\" fill=\"#0969da\"/><text x=\"" +
         fmt(left + 262) + "\" y=\"" + fmt(ly + 4) + "\">anchor</text>";
    h += "<circle cx=\"" + fmt(left + 340) + "\" cy=\"" + fmt(ly) + "\" r=\"9\" fill=\"none\" stroke=\"#cf222e\" "
         "stroke-width=\"2\"/><text x=\"" + fmt(left + 355) + "\" y=\"" + fmt(ly + 4) + "\">record with an error</text>";
    h += "<text x=\"" + fmt(left + 510) + "\" y=\"" + fmt(ly + 5) + "\" fill=\"#cf222e\" font-weight=\"700\">&#10005;</text>"
         "<text x=\"" + fmt(left + 525) + "\" y=\"" + fmt(ly + 4) + "\">fork</text>\n</svg>\n";
}

}  // namespace

std::string render_html(const AuditReport& r, bool pass) {
    std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>dvi audit: " +
                    esc(r.consortium) + " (" + (pass ? "pass" : "fail") + ")</title>\n<style>" + k_style +
                    "</style></head><body>\n";
    summary(h, r, pass);
    findings(h, r);
    licences(h, r);
    picture(h, r);
    h += "<p><small>Written by dvi audit. Severity codes are explained in dvi-audit(1).</small></p>\n</body></html>\n";
    return h;
}

}  // namespace dvi::cli
