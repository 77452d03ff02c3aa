// dvi init: a new consortium ledger (genesis roster), or a clone of a partner's.
#include <cstdio>
#include <filesystem>

#include "common.hpp"
#include "dvi/init.hpp"

namespace dvi::cli {

namespace {

struct InitOptions {
    std::string consortium;
    std::string join;
    std::string partner;
    std::string writer;
    std::vector<std::string> roles;
    std::string trust;
    std::string dir = ".";
};

int run_init(Context& ctx, const InitOptions& o) {
    if (o.consortium.empty() == o.join.empty())
        return report(make_error(Errc::invalid_input, "give either --consortium <name> or --join <source>"));
    if (!o.join.empty() && o.writer.empty())
        return report(make_error(Errc::invalid_input, "--join needs --writer <name>"));
    if (!o.join.empty() && !o.roles.empty())
        return report(make_error(Errc::invalid_input, "--role is for --consortium; an authority grants roles to joiners"));
    if (o.join.empty() && !o.trust.empty())
        return report(make_error(Errc::invalid_input, "--trust is for --join"));
    auto key = ctx.signing_key(nullptr);
    if (!key) return report(key.error());
    auto now = ctx.now();
    if (!now) return report(now.error());
    std::string key_path = ctx.signing_key_path(nullptr);

    if (o.join.empty()) {
        InitRequest req{o.dir, o.consortium, o.partner, o.writer.empty() ? "main" : o.writer, o.roles,
                        &*key, key_path, *now, self_executable()};
        auto out = ledger_init(req);
        if (!out) return report(out.error());
        if (ctx.globals.json) {
            print_json({{"ledger", out->path.string()},
                        {"consortium", o.consortium},
                        {"genesis", out->genesis},
                        {"commit", out->commit},
                        {"writer", out->writer.str()}});
        } else if (!ctx.globals.quiet) {
            std::printf("created ledger %s for consortium '%s'\nauthority %s, genesis %s\n", out->path.c_str(),
                        o.consortium.c_str(), out->writer.str().c_str(), out->genesis.c_str());
            std::printf("partners pin the genesis when they join: dvi init --join <ledger> --trust %s ...\n",
                        out->genesis.c_str());
        }
        return k_exit_ok;
    }

    JoinRequest req;
    req.source = o.join;
    req.dir = o.dir;
    req.partner = o.partner;
    req.writer = o.writer;
    if (!o.trust.empty()) req.trust = o.trust;
    req.key = &*key;
    req.key_path = key_path;
    req.hook_dvi = self_executable();
    req.transport = ctx.transport();
    auto out = ledger_join(req);
    if (!out) return report(out.error());
    if (ctx.globals.json) {
        print_json({{"ledger", out->path.string()},
                    {"consortium", out->consortium},
                    {"genesis", out->genesis},
                    {"trusted_on_first_use", out->trusted_on_first_use},
                    {"chains", out->chains},
                    {"records", out->records},
                    {"join_request",
                     {{"partner", out->writer.partner},
                      {"writer", out->writer.writer},
                      {"public_key", out->public_key},
                      {"fingerprint", out->fingerprint}}},
                    {"admitted", out->already_admitted}});
        return k_exit_ok;
    }
    if (!ctx.globals.quiet) {
        std::printf("joined consortium '%s' in %s (%zu chains, %lld records, every commit verified)\n",
                    out->consortium.c_str(), out->path.c_str(), out->chains, static_cast<long long>(out->records));
        if (out->trusted_on_first_use)
            std::printf("trusted on first use: genesis %s\n  (check it with the consortium's authority)\n",
                        out->genesis.c_str());
        else
            std::printf("genesis %s verified\n", out->genesis.c_str());
        if (out->already_admitted) {
            std::printf("%s is already in the roster\n", out->writer.str().c_str());
        } else {
            std::printf("\njoin request for an authority of the consortium:\n  dvi roster add %s --role <role> "
                        "--writer %s --pubkey '%s'\n",
                        out->writer.partner.c_str(), out->writer.writer.c_str(), out->public_key.c_str());
        }
    }
    return k_exit_ok;
}

}  // namespace

void register_init(CLI::App& root, Registry& reg) {
    auto o = std::make_shared<InitOptions>();
    auto* app = root.add_subcommand("init", "Create a consortium ledger, or join a partner's, every commit verified");
    app->add_option("--consortium", o->consortium, "Name of the new consortium")->type_name("<name>");
    app->add_option("--join", o->join, "Join the ledger at this path or URL, or in this bundle file, instead")->type_name("<source>");
    app->add_option("--partner", o->partner, "Your partner id")->type_name("<id>")->required();
    app->add_option("--writer", o->writer, "Name of your signing key's chain (default: main)")->type_name("<name>");
    app->add_option("--role", o->roles, "An extra role of the founding partner (e.g. oem)")->type_name("<role>")->allow_extra_args(false);
    app->add_option("--trust", o->trust, "Genesis id the joined ledger must have")->type_name("<genesis-id>");
    app->add_option("dir", o->dir, "Where to create the ledger (default: the current directory)")->type_name("<dir>");
    app->footer("Examples:\n  dvi --key acme.pem init --consortium 'Bracket consortium' --partner acme --role oem ledger\n"
                "  dvi --key unit7.pem init --join /media/usb/ledger --partner unit7 --writer s5-0412 --trust sha256:...");
    reg.add(app, [o](Context& ctx) { return run_init(ctx, *o); });
}

}  // namespace dvi::cli
