// dvi show: one record, authenticated, in full.
#include <cstdio>

#include "common.hpp"
#include "dvi/history.hpp"

namespace dvi::cli {

namespace {

struct ShowOptions {
    std::string id;
};

int run_show(Context& ctx, const ShowOptions& o) {
    auto ledger = ctx.ledger();
    if (!ledger) return report(ledger.error());
    auto out = ledger_show(*ledger, o.id);
    if (!out) return report(out.error());
    const auto& r = out->record;
    if (ctx.globals.json) {
        print_json({{"id", r.id},
                    {"type", r.type},
                    {"chain", r.chain.writer.str()},
                    {"chain_head", r.chain.commit},
                    {"verified", out->problems.empty()},
                    {"problems", out->problems},
                    {"record", r.json}});
    } else {
        std::printf("%s %s\nchain %s (head %s)\nverified: %s\n\n%s\n", r.type.c_str(), r.id.c_str(),
                    r.chain.writer.str().c_str(), r.chain.commit.c_str(), out->problems.empty() ? "yes" : "NO",
                    r.json.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
    }
    if (!out->problems.empty()) {
        for (auto& p : out->problems) std::fprintf(stderr, "dvi: error: %s\n", p.c_str());
        return k_exit_negative;
    }
    return k_exit_ok;
}

}  // namespace

void register_show(CLI::App& root, Registry& reg) {
    auto o = std::make_shared<ShowOptions>();
    auto* app = root.add_subcommand("show", "Show one record, verified against its chain's signed head");
    app->add_option("id", o->id, "Record id, a unique prefix of its hex, or a dossier as part@revision")
        ->type_name("<id>")
        ->required();
    reg.add(app, [o](Context& ctx) { return run_show(ctx, *o); });
}

}  // namespace dvi::cli
