// dvi: the command table, global options, parse, dispatch, and error -> exit status.
#include <cctype>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "common.hpp"
#include "dvi/version.hpp"

using namespace dvi::cli;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

void on_signal(int sig) {
    g_interrupted = 1;
    // Let the default action run so the shell sees the signal; the ledger never sees a
    // half-write because every write is a compare-and-swap of a ref.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

// A command-line error in git's words: "dvi: error: …" and where to read the synopsis.
int report_usage(const CLI::App& app, const CLI::ParseError& e) {
    const CLI::App* sub = nullptr;
    std::string path = "dvi";
    for (const CLI::App* level = &app; level;) {
        const CLI::App* next = nullptr;
        for (const auto* s : level->get_subcommands())
            if (s->parsed()) next = s;
        if (next) {
            sub = next;
            path += " " + next->get_name();
        }
        level = next;
    }
    std::string msg = e.what();
    if (!msg.empty()) msg[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(msg[0])));
    if (const auto* extras = dynamic_cast<const CLI::ExtrasError*>(&e); extras && !sub) {
        auto rest = app.remaining();
        if (!rest.empty() && !rest.front().empty() && rest.front()[0] != '-')
            msg = "unknown command '" + rest.front() + "'";
    }
    std::fprintf(stderr, "dvi: error: %s\ndvi: hint: see '%s -h'\n", msg.c_str(), path.c_str());
    return k_exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    CLI::App app{"dvi - certify distributed additive manufacturing with a signed git ledger", "dvi"};
    app.require_subcommand(0, 1);
    app.fallthrough();
    Context ctx;
    app.add_option("-C", ctx.globals.dir, "The ledger (else DVI_DIR, else found from the working directory)")
        ->type_name("<ledger>");
    app.add_option("--key", ctx.globals.key, "Signing key file (else DVI_KEY, else the ledger's dvi.key)")
        ->type_name("<file>");
    app.add_flag("--json", ctx.globals.json, "One JSON document on stdout, for scripts");
    app.add_flag("-q,--quiet", ctx.globals.quiet, "Print only errors");
    bool show_version = false;
    app.add_flag("--version", show_version, "Print the versions of dvi, libgit2 and OpenSSL");
    app.footer("Exit status: 0 success; 1 negative answer (refused, violations, bad signature); 2 bad input;\n"
               "128 fatal error; 129 usage error; 130 interrupted. See dvi(1).");

    Registry reg;
    register_key(app, reg);
    register_init(app, reg);
    register_roster(app, reg);
    register_seal(app, reg);
    register_license(app, reg);
    register_print_verify(app, reg);
    register_anchor(app, reg);
    register_audit(app, reg);
    register_log(app, reg);
    register_show(app, reg);
    register_passport(app, reg);
    register_sync(app, reg);

    if (argc >= 2 && std::string(argv[1]) == "__complete")
        return complete(app, ctx, std::vector<std::string>(argv + 2, argv + argc));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e, std::cout, std::cerr);  // -h, --help
        return report_usage(app, e);
    }
    if (auto given = check_values(app, "command"); !given) return report(given.error());
    if (show_version) {
        if (ctx.globals.json) {
            print_json({{"dvi", dvi::version()}, {"libgit2", dvi::libgit2_version()}, {"openssl", dvi::openssl_version()}});
        } else {
            std::printf("dvi %s (libgit2 %s, %s)\n", dvi::version().c_str(), dvi::libgit2_version().c_str(),
                        dvi::openssl_version().c_str());
        }
        return k_exit_ok;
    }
    for (auto& [sub, run] : reg.commands)
        if (sub->parsed()) {
            try {
                return run(ctx);
            } catch (const std::exception& e) {
                return report(dvi::make_error(dvi::Errc::internal, std::string("internal error: ") + e.what(),
                                              "please report this with the command you ran"));
            }
        }
    std::cerr << app.help();
    return k_exit_usage;
}
