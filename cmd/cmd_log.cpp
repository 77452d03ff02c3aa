// dvi log: the records of the ledger, chain by chain, each commit verified.
#include <cstdio>

#include "common.hpp"
#include "dvi/history.hpp"
#include "dvi/util/encoding.hpp"

namespace dvi::cli {

namespace {

struct LogOptions {
    std::string chain;
    std::string type;
};

int run_log(Context& ctx, const LogOptions& o) {
    auto ledger = ctx.ledger();
    if (!ledger) return report(ledger.error());
    LogRequest req;
    if (!o.chain.empty()) req.chain = o.chain;
    if (!o.type.empty()) req.type = o.type;
    auto out = ledger_log(*ledger, req);
    if (!out) return report(out.error());
    if (ctx.globals.json) {
        Json entries = Json::array();
        for (auto& e : out->entries)
            entries.push_back({{"chain", e.chain.str()},
                               {"seq", e.seq},
                               {"commit", e.commit},
                               {"record", e.record_id},
                               {"type", e.type},
                               {"created", e.created},
                               {"summary", e.summary},
                               {"signer", e.signer},
                               {"verified", e.problems.empty()},
                               {"problems", e.problems}});
        print_json({{"entries", entries}, {"commits_checked", out->commits_checked}, {"bad", out->bad}});
    } else {
        for (auto& e : out->entries) {
            std::printf("%-22s #%-4lld %s  %-12s %.19s  %s%s\n", e.chain.str().c_str(), static_cast<long long>(e.seq),
                        e.created.c_str(), e.type.c_str(), e.record_id.c_str(),
                        util::escape_controls(e.summary).c_str(), e.problems.empty() ? "" : "  [BAD]");
            for (auto& p : e.problems) std::printf("    bad: %s (commit %s)\n", p.c_str(), e.commit.c_str());
        }
    }
    if (out->bad) {
        std::fprintf(stderr, "dvi: error: %zu of %zu commits do not verify\n", out->bad, out->commits_checked);
        std::fprintf(stderr, "dvi: hint: do not rely on these records; the ledger was altered or a key misused\n");
        return k_exit_negative;
    }
    return k_exit_ok;
}

}  // namespace

void register_log(CLI::App& root, Registry& reg) {
    auto o = std::make_shared<LogOptions>();
    auto* app = root.add_subcommand("log", "List the ledger's records, newest first per chain, verifying each commit");
    app->add_option("chain", o->chain, "Only this partner or partner/writer")->type_name("<chain>");
    app->add_option("--type", o->type, "Only records of this type (dossier, material-lot, roster, ...)")
        ->type_name("<type>");
    reg.add(app, [o](Context& ctx) { return run_log(ctx, *o); });
}

}  // namespace dvi::cli
