// dvi roster add|revoke|trust-tsa|list|allowed-signers: who belongs to the consortium,
// with which roles, keys and devices, and which time-stamping authorities it trusts.
#include <cstdio>

#include "common.hpp"
#include "dvi/roster.hpp"
#include "dvi/roster_ops.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"

namespace dvi::cli {

namespace {

struct RosterAddOptions {
    std::string partner;
    std::vector<std::string> roles;
    std::string pubkey;
    std::string writer;
    std::vector<std::string> devices;
    std::vector<std::string> usages;
};

struct RosterRevokeOptions {
    std::string target;
    std::string reason;
};

void print_outcome(Context& ctx, const RosterOutcome& out, const std::string& what) {
    if (ctx.globals.json) {
        print_json({{"record", out.append.record_id},
                    {"commit", out.append.commit},
                    {"chain", out.record["issuer"]["partner"].get<std::string>() + "/" +
                                  out.record["issuer"]["writer"].get<std::string>()},
                    {"seq", out.append.seq},
                    {"version", out.version},
                    {"change", out.record}});
    } else if (!ctx.globals.quiet) {
        std::printf("%s: roster version %lld, record %s\n", what.c_str(), static_cast<long long>(out.version),
                    out.append.record_id.c_str());
    }
    for (auto& n : out.append.notices) warn(n);
}

int run_roster_add(Context& ctx, const RosterAddOptions& o) {
    RosterAddRequest req;
    req.partner = o.partner;
    req.roles = o.roles;
    req.usages = o.usages;
    if (!o.writer.empty()) req.writer = o.writer;
    if (!o.pubkey.empty()) {
        std::string line = o.pubkey;
        if (line.rfind("ssh-", 0) != 0) {  // a path to a .pub file
            auto text = util::read_file(line, 16 * 1024);
            if (!text) return report(text.error());
            line = text->substr(0, text->find('\n'));
        }
        req.pubkey = line;
    }
    for (auto& d : o.devices) {
        auto colon = d.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == d.size())
            return report(make_error(Errc::invalid_input, "invalid --device '" + d + "'",
                                     "give <serial>:<model>, e.g. --device S5-0412:'Original Prusa MINI'"));
        req.devices.push_back({d.substr(0, colon), d.substr(colon + 1)});
    }
    auto session = ctx.write_session();
    if (!session) return report(session.error());
    req.time = session->now;
    auto out = roster_add(session->ledger, session->key, req);
    if (!out) return report(out.error());
    print_outcome(ctx, *out, "admitted " + o.partner + (o.writer.empty() ? "" : "/" + o.writer));
    return k_exit_ok;
}

int run_roster_revoke(Context& ctx, const RosterRevokeOptions& o) {
    RosterRevokeRequest req;
    auto slash = o.target.find('/');
    req.partner = o.target.substr(0, slash);
    if (slash != std::string::npos) req.writer = o.target.substr(slash + 1);
    req.reason = o.reason;
    auto session = ctx.write_session();
    if (!session) return report(session.error());
    req.time = session->now;
    auto out = roster_revoke(session->ledger, session->key, req);
    if (!out) return report(out.error());
    print_outcome(ctx, *out, "revoked " + o.target);
    return k_exit_ok;
}

int run_roster_trust_tsa(Context& ctx, const std::string& file) {
    auto bytes = util::read_file(file, 64 * 1024);
    if (!bytes) return report(bytes.error());
    auto session = ctx.write_session();
    if (!session) return report(session.error());
    auto out = roster_trust_tsa(session->ledger, session->key, RosterTrustTsaRequest{*bytes, file, session->now});
    if (!out) return report(out.error());
    print_outcome(ctx, *out, "trusted TSA '" + out->record["tsa"]["subject"].get<std::string>() + "'");
    return k_exit_ok;
}

int run_roster_list(Context& ctx) {
    auto ledger = ctx.ledger();
    if (!ledger) return report(ledger.error());
    auto roster = roster_load(*ledger);
    if (!roster) return report(roster.error());
    const Json& s = roster->state();
    if (ctx.globals.json) {
        print_json(s);
        return k_exit_ok;
    }
    std::printf("consortium '%s', roster version %lld, genesis %s\n", roster->consortium().c_str(),
                static_cast<long long>(roster->version()), roster->genesis().c_str());
    for (auto p = s["partners"].begin(); p != s["partners"].end(); ++p) {
        std::string roles;
        for (auto& r : (*p)["roles"]) roles += (roles.empty() ? "" : ", ") + r.get<std::string>();
        std::printf("\n%s  [%s]%s\n", p.key().c_str(), roles.c_str(),
                    (*p)["revoked"].is_null()
                        ? ""
                        : ("  REVOKED: " + util::escape_controls((*p)["revoked"].value("reason", ""))).c_str());
        for (auto w = (*p)["writers"].begin(); w != (*p)["writers"].end(); ++w) {
            std::string usages;
            if (w->contains("usages"))
                for (auto& u : (*w)["usages"]) usages += (usages.empty() ? " usages: " : ", ") + u.get<std::string>();
            std::string revoked = (*w)["revoked"].is_null()
                                      ? ""
                                      : "  REVOKED after #" + std::to_string((*w)["revoked"].value("after_seq", 0)) +
                                            ": " + util::escape_controls((*w)["revoked"].value("reason", ""));
            std::printf("  writer %-16s %s%s%s\n", w.key().c_str(), (*w)["fingerprint"].get<std::string>().c_str(),
                        usages.c_str(), revoked.c_str());
        }
        for (auto d = (*p)["devices"].begin(); d != (*p)["devices"].end(); ++d)
            std::printf("  device %-16s %s\n", d.key().c_str(), (*d)["model"].get<std::string>().c_str());
    }
    if (s.contains("tsa")) {
        std::printf("\ntime-stamping authorities\n");
        for (auto t = s["tsa"].begin(); t != s["tsa"].end(); ++t)
            std::printf("  %s  %s\n", t.key().c_str(),
                        util::escape_controls((*t)["subject"].get<std::string>()).c_str());
    }
    return k_exit_ok;
}

int run_roster_allowed_signers(Context& ctx) {
    auto ledger = ctx.ledger();
    if (!ledger) return report(ledger.error());
    auto roster = roster_load(*ledger);
    if (!roster) return report(roster.error());
    std::string text = allowed_signers(*roster);
    if (ctx.globals.json) {
        Json lines = Json::array();
        std::size_t start = 0;
        while (start < text.size()) {
            auto nl = text.find('\n', start);
            lines.push_back(text.substr(start, nl - start));
            start = nl + 1;
        }
        print_json({{"allowed_signers", lines}});
    } else {
        std::fputs(text.c_str(), stdout);
    }
    return k_exit_ok;
}

}  // namespace

void register_roster(CLI::App& root, Registry& reg) {
    auto* roster = root.add_subcommand("roster", "Admit and revoke partners, keys and devices; list the roster");
    roster->require_subcommand(1);

    auto add_opts = std::make_shared<RosterAddOptions>();
    auto* add = roster->add_subcommand("add", "Admit a partner, or add roles, a key or devices to one (authority)");
    add->add_option("partner", add_opts->partner, "Partner id")->type_name("<partner>")->required();
    add->add_option("--role", add_opts->roles, "A role: authority, oem, bureau, field-unit, supplier, inspector, auditor")
        ->type_name("<role>")->allow_extra_args(false);
    add->add_option("--pubkey", add_opts->pubkey, "The writer's public key: 'ssh-ed25519 AAAA…' or a .pub file")
        ->type_name("<ssh-ed25519 line>");
    add->add_option("--writer", add_opts->writer, "Name of the writer (chain) this key signs")->type_name("<name>");
    add->add_option("--device", add_opts->devices, "A printer of this partner, as serial:model")
        ->type_name("<serial>:<model>")->allow_extra_args(false);
    add->add_option("--usage", add_opts->usages, "Restrict the key to this record type (repeatable)")
        ->type_name("<type>")->allow_extra_args(false);
    add->footer("Example:\n  dvi roster add bureau7 --role bureau --writer s5-0412 --pubkey s5-0412.pem.pub \\\n"
                "      --device S5-0412:'Original Prusa MINI'");
    reg.add(add, [add_opts](Context& ctx) { return run_roster_add(ctx, *add_opts); });

    auto rev_opts = std::make_shared<RosterRevokeOptions>();
    auto* revoke = roster->add_subcommand("revoke", "Revoke a partner or one of its keys, from this point of the ledger");
    revoke->add_option("target", rev_opts->target, "partner or partner/writer")->type_name("<partner>[/<writer>]")
        ->required();
    revoke->add_option("--reason", rev_opts->reason, "Why (recorded in the ledger)")->type_name("<text>")->required();
    reg.add(revoke, [rev_opts](Context& ctx) { return run_roster_revoke(ctx, *rev_opts); });

    auto tsa_file = std::make_shared<std::string>();
    auto* trust = roster->add_subcommand("trust-tsa",
                                         "Trust a time-stamping authority's certificate (or its CA) for RFC 3161 tokens");
    trust->add_option("certificate", *tsa_file, "The certificate, PEM or DER")->type_name("<cert.pem>")->required();
    trust->footer("Example:\n  dvi roster trust-tsa tsa-ca.pem");
    reg.add(trust, [tsa_file](Context& ctx) { return run_roster_trust_tsa(ctx, *tsa_file); });

    auto* list = roster->add_subcommand("list", "Show partners, roles, keys and devices");
    reg.add(list, [](Context& ctx) { return run_roster_list(ctx); });

    auto* signers = roster->add_subcommand("allowed-signers",
                                           "Print an allowed-signers file for git verify-commit and ssh-keygen -Y verify");
    signers->footer("Example:\n  dvi roster allowed-signers > signers\n"
                    "  git -C ledger -c gpg.ssh.allowedSignersFile=$PWD/signers verify-commit refs/dvi/chains/acme/main");
    reg.add(signers, [](Context& ctx) { return run_roster_allowed_signers(ctx); });
}

}  // namespace dvi::cli
