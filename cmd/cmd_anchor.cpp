// dvi anchor: an anchor record over the heads of every chain this ledger knows, with
// time evidence (an RFC 3161 token, now or by request/reply files, or a co-signature).
#include <cstdio>
#include <optional>

#include "common.hpp"
#include "dvi/anchor.hpp"
#include "dvi/util/time.hpp"

namespace dvi::cli {

namespace {

struct AnchorOptions {
    std::string tsa;
    std::string request;
    std::string import;
    std::string cosign;
    std::optional<int> timeout;  // seconds; 30 when not given
};

std::string evidence_line(const AnchorOutcome& out) {
    const Json& ev = out.record["evidence"];
    std::string kind = ev["kind"];
    if (kind == "rfc3161")
        return "time-stamped " + util::format_rfc3339(*out.time) + " by '" + out.tsa_subject + "'";
    if (kind == "rfc3161-request") return "time-stamp request written to " + out.request_file;
    if (kind == "cosign") return "co-signs " + ev["anchor"].get<std::string>() + ", time " + util::format_rfc3339(*out.time);
    return "no time evidence";
}

int run_anchor(Context& ctx, const AnchorOptions& o) {
    AnchorRequest req;
    int given = !o.tsa.empty() + !o.request.empty() + !o.import.empty() + !o.cosign.empty();
    if (given > 1)
        return report(make_error(Errc::invalid_input, "--tsa, --request, --import and --cosign exclude each other",
                                 "attach one kind of evidence per anchor"));
    if (!o.tsa.empty()) req.evidence = AnchorEvidence::tsa, req.tsa_url = o.tsa;
    if (!o.request.empty()) req.evidence = AnchorEvidence::request, req.file = o.request;
    if (!o.import.empty()) req.evidence = AnchorEvidence::import, req.file = o.import;
    if (!o.cosign.empty()) req.evidence = AnchorEvidence::cosign, req.cosign = o.cosign;
    if (o.timeout && o.tsa.empty()) return report(make_error(Errc::invalid_input, "--timeout is for --tsa"));
    if (o.timeout && (*o.timeout < 1 || *o.timeout > 600))
        return report(make_error(Errc::invalid_input, "--timeout must be between 1 and 600 seconds"));
    req.timeout_seconds = o.timeout.value_or(30);
    if (o.request == "-" || o.import == "-")
        return report(
            make_error(Errc::invalid_input,
                       std::string(o.request == "-" ? "--request" : "--import") + " takes a file name, not '-'",
                       "standard input and output carry dvi's own text; name the file the TSA gets or gave"));

    auto session = ctx.write_session();
    if (!session) return report(session.error());
    req.time = session->now;
    auto out = anchor(session->ledger, session->key, req);
    if (!out) return report(out.error());
    for (auto& n : out->append.notices) warn(n);
    if (ctx.globals.json) {
        print_json({{"record", out->append.record_id},
                    {"commit", out->append.commit},
                    {"chain", out->append.ref.substr(std::string("refs/dvi/chains/").size())},
                    {"seq", out->append.seq},
                    {"digest", out->digest},
                    {"heads", out->record["heads"]},
                    {"evidence", out->record["evidence"]},
                    {"time", out->time ? Json(util::format_rfc3339(*out->time)) : Json(nullptr)},
                    {"request_file", out->request_file.empty() ? Json(nullptr) : Json(out->request_file)}});
    } else if (!ctx.globals.quiet) {
        std::size_t n = out->record["heads"].size();
        std::printf("anchored %zu chain%s as %s\n  digest %s\n  %s\n", n, n == 1 ? "" : "s",
                    out->append.record_id.c_str(), out->digest.c_str(), evidence_line(*out).c_str());
    }
    return k_exit_ok;
}

}  // namespace

void register_anchor(CLI::App& root, Registry& reg) {
    auto o = std::make_shared<AnchorOptions>();
    auto* app = root.add_subcommand("anchor", "Anchor the heads of all chains, with trusted time (RFC 3161 or co-signature)");
    app->add_option("--tsa", o->tsa, "Time-stamp now with this RFC 3161 authority (http:// or https://)")
        ->type_name("<url>");
    app->add_option("--request", o->request, "Write a time-stamp request for a TSA reached later")
        ->type_name("<out.tsq>");
    app->add_option("--import", o->import, "Attach the TSA's reply to an earlier --request")->type_name("<in.tsr>");
    app->add_option("--cosign", o->cosign, "Witness another partner's anchor over the same heads")
        ->type_name("<anchor>");
    app->add_option("--timeout", o->timeout, "Seconds to wait for the TSA (--tsa)")
        ->type_name("<seconds>")
        ->transform(decimal());
    app->footer("Examples:\n  dvi anchor --tsa http://timestamp.example/tsr\n"
                "  dvi anchor --request today.tsq    # carry it to the TSA, then:\n"
                "  dvi anchor --import today.tsr\n"
                "  dvi anchor --cosign 3f9a0c");
    reg.add(app, [o](Context& ctx) { return run_anchor(ctx, *o); });
}

}  // namespace dvi::cli
