// dvi sync: exchange chains with a partner's ledger, or by bundle files; verified before
// any ref moves, never forced, forks kept as evidence.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "common.hpp"
#include "dvi/sync.hpp"
#include "dvi/util/fs.hpp"

namespace dvi::cli {

namespace {

struct SyncOptions {
    std::string remote;
    bool fetch_only = false;
    bool push_only = false;
    std::string bundle_out;
    std::string since;
    std::string bundle_in;
    bool receive = false;
};

Json chain_json(const ChainSync& c) {
    Json j{{"chain", c.writer.str()},
           {"status", to_string(c.status)},
           {"from", c.from ? Json(*c.from) : Json()},
           {"to", c.to.empty() ? Json() : Json(c.to)},
           {"from_seq", c.from_seq},
           {"to_seq", c.to_seq},
           {"records", c.records},
           {"offered", c.offered.empty() ? Json() : Json(c.offered)}};
    if (!c.reason.empty()) j["reason"] = c.reason;
    if (c.status == ChainStatus::fork) {
        j["fork"] = {{"seq", c.fork_seq},
                     {"ours", c.fork_ours},
                     {"theirs", c.fork_theirs},
                     {"evidence", "refs/dvi/forks/" + c.writer.partner + "/" + c.writer.writer + "/"}};
    }
    return j;
}

Json import_json(const ImportOutcome& o) {
    Json chains = Json::array();
    for (auto& c : o.chains) chains.push_back(chain_json(c));
    return {{"records", o.records}, {"advanced", o.advanced}, {"forks", o.forks}, {"refused", o.refused}, {"chains", chains}};
}

// One line per chain that moved or needs attention; up-to-date chains are counted.
void print_chains(FILE* to, const char* heading, const std::vector<ChainSync>& chains) {
    std::size_t same = 0;
    bool printed_heading = false;
    for (auto& c : chains) {
        std::string line;
        switch (c.status) {
            case ChainStatus::up_to_date:
            case ChainStatus::behind: ++same; continue;
            case ChainStatus::new_chain:
                line = "new chain, " + std::to_string(c.records) + " records (to position " + std::to_string(c.to_seq) + ")";
                break;
            case ChainStatus::advanced:
                line = std::to_string(c.from_seq) + " -> " + std::to_string(c.to_seq) + " (" + std::to_string(c.records) +
                       " records)";
                if (c.records == 0) line = "offered";
                break;
            case ChainStatus::partial:
                line = "took " + std::to_string(c.records) + " records, refused the rest: " + c.reason;
                break;
            case ChainStatus::refused: line = "REFUSED: " + c.reason; break;
            case ChainStatus::fork:
                line = "FORK at position " + std::to_string(c.fork_seq) + ": ours " + c.fork_ours + ", theirs " +
                       c.fork_theirs + "; both kept under refs/dvi/forks/" + c.writer.partner + "/" + c.writer.writer + "/";
                break;
        }
        if (!printed_heading) std::fprintf(to, "%s\n", heading);
        printed_heading = true;
        std::fprintf(to, "  %-24s %s\n", c.writer.str().c_str(), line.c_str());
    }
    if (same > 0 && printed_heading)
        std::fprintf(to, "  %zu other chain(s) already in step\n", same);
    else if (same > 0)
        std::fprintf(to, "%s %zu chain(s) already in step\n", heading, same);
}

int run_receive(Context& ctx) {
    std::vector<RefUpdate> updates;
    std::string line;
    while (std::getline(std::cin, line)) {
        auto a = line.find(' ');
        auto b = a == std::string::npos ? a : line.find(' ', a + 1);
        if (b == std::string::npos) return report(make_error(Errc::invalid_input, "malformed ref update '" + line + "'"));
        updates.push_back({line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)});
    }
    auto ledger = ledger_open_for_hook();
    if (!ledger) return report(ledger.error());
    auto out = receive_verify(*ledger, updates);
    if (!out) return report(out.error());
    int rc = k_exit_ok;
    for (auto& c : out->chains) {
        if (c.status == ChainStatus::new_chain || c.status == ChainStatus::advanced || c.status == ChainStatus::up_to_date)
            continue;
        std::string why = c.status == ChainStatus::behind ? "it would move the chain back" : c.reason;
        report(make_error(Errc::denied, "chain '" + c.writer.str() + "' refused: " + why));
        rc = k_exit_negative;
    }
    if (ctx.globals.json) print_json(import_json(*out));
    return rc;
}

int run_sync(Context& ctx, const SyncOptions& o) {
    bool bundles = !o.bundle_in.empty() || !o.bundle_out.empty();
    if (o.receive && (bundles || !o.remote.empty() || o.fetch_only || o.push_only))
        return report(make_error(Errc::invalid_input, "--receive is for the ledger's pre-receive hook and takes no other option"));
    if (o.receive) return run_receive(ctx);
    if (bundles && !o.remote.empty())
        return report(make_error(Errc::invalid_input, "give a remote or bundle files, not both"));
    if (bundles && (o.fetch_only || o.push_only))
        return report(make_error(Errc::invalid_input, std::string(o.fetch_only ? "--fetch-only" : "--push-only") +
                                                          " is for a remote, not for bundle files"));
    if (o.fetch_only && o.push_only) return report(make_error(Errc::invalid_input, "--fetch-only and --push-only exclude each other"));
    if (!o.since.empty() && o.bundle_out.empty()) return report(make_error(Errc::invalid_input, "--since is for --bundle-out"));
    const bool bundle_to_stdout = !o.bundle_out.empty() && is_stdout(o.bundle_out);
    FILE* human = bundle_to_stdout ? stderr : stdout;  // the bundle's bytes own stdout
    if (bundle_to_stdout && ctx.globals.json)
        return report(make_error(Errc::invalid_input, "--json and a bundle written to standard output would mix there",
                                 "write the bundle to a file, or leave out --json"));
    auto ledger = ctx.ledger();
    if (!ledger) return report(ledger.error());
    // Only a ledger that pins its consortium's genesis takes chains: any other git
    // repository (a plain clone, a project's own .git found upwards) would take them with
    // no trust root. Joining is 'dvi init --join', where that pin is made explicitly.
    auto genesis = ledger->config_get("dvi.genesis");
    if (!genesis) return report(genesis.error());
    if (!*genesis)
        return report(make_error(Errc::invalid_input,
                                 "not a dvi ledger: " + util::quote(ledger->path()) + " pins no consortium genesis",
                                 "join a consortium with 'dvi init --join <source>', or give the ledger with -C"));
    SyncRequest req = ctx.transport();
    Json doc = Json::object();
    bool ok = true;
    std::size_t forked = 0, refused = 0, partial = 0;  // chains, either way
    auto tally = [&](const std::vector<ChainSync>& chains) {
        for (auto& c : chains) {
            forked += c.status == ChainStatus::fork;
            refused += c.status == ChainStatus::refused;
            partial += c.status == ChainStatus::partial;
        }
    };

    if (!bundles) {
        req.remote = o.remote;
        req.direction = o.fetch_only ? SyncRequest::Direction::fetch
                        : o.push_only ? SyncRequest::Direction::push
                                      : SyncRequest::Direction::both;
        auto out = ledger_sync(*ledger, req);
        if (!out) return report(out.error());
        for (auto& n : out->fetched.notices) warn(n);
        for (auto& n : out->push_notices) warn(n);
        ok = out->ok();
        tally(out->fetched.chains);
        tally(out->pushed);
        doc["remote"] = out->url;
        doc["fetched"] = import_json(out->fetched);
        Json pushed = Json::array();
        for (auto& c : out->pushed) pushed.push_back(chain_json(c));
        doc["pushed"] = {{"chains", pushed}, {"refused", out->push_refused}};
        if (!ctx.globals.json && !ctx.globals.quiet) {
            print_chains(stdout, ("from " + out->url + ":").c_str(), out->fetched.chains);
            print_chains(stdout, ("to " + out->url + ":").c_str(), out->pushed);
            std::printf("took %lld records, %zu fork(s), %zu refused; offered %zu chain(s)%s\n",
                        static_cast<long long>(out->fetched.records), out->fetched.forks, out->fetched.refused,
                        out->pushed.size(), out->push_refused ? (", " + std::to_string(out->push_refused) + " refused").c_str() : "");
        }
    }
    if (!o.bundle_in.empty()) {
        auto out = bundle_import(*ledger, o.bundle_in, req.progress);
        if (!out) return report(out.error());
        for (auto& n : out->notices) warn(n);
        ok = ok && out->ok();
        tally(out->chains);
        doc["bundle_in"] = import_json(*out);
        doc["bundle_in"]["path"] = o.bundle_in;
        if (!ctx.globals.json && !ctx.globals.quiet) {
            print_chains(human, ("from " + o.bundle_in + ":").c_str(), out->chains);
            std::fprintf(human, "took %lld records, %zu fork(s), %zu refused\n", static_cast<long long>(out->records),
                         out->forks, out->refused);
        }
    }
    if (!o.bundle_out.empty()) {
        std::optional<std::filesystem::path> since;
        if (!o.since.empty()) since = o.since;
        auto out = bundle_export(*ledger, o.bundle_out, since);
        if (!out) return report(out.error());
        Json refs = Json::array();
        for (auto& h : out->refs) refs.push_back({{"chain", h.writer.str()}, {"commit", h.commit}, {"seq", h.seq}});
        doc["bundle_out"] = {{"path", o.bundle_out},          {"written", out->written}, {"refs", refs},
                             {"prerequisites", out->prerequisites}, {"objects", out->objects}, {"bytes", out->bytes}};
        if (!ctx.globals.json && !ctx.globals.quiet) {
            if (out->written)
                std::fprintf(
                    human, "wrote %s: %zu chain(s), %zu objects, %s%s\n", o.bundle_out.c_str(), out->refs.size(),
                    out->objects, human_size(out->bytes).c_str(),
                    out->prerequisites.empty()
                        ? ""
                        : (", on top of " + std::to_string(out->prerequisites.size()) + " head(s) they hold").c_str());
            else
                std::fprintf(human, "nothing new since %s: no bundle written\n", o.since.c_str());
        }
    }
    if (ctx.globals.json) print_json(doc);
    if (!ok) {
        // Says what happened: a refused or forked chain did not move, a partly taken one
        // moved as far as it verified.
        if (refused + partial > 0)
            std::fprintf(stderr, "dvi: error: %zu chain(s) refused%s: what does not verify was not taken\n",
                         refused + partial,
                         partial ? (", " + std::to_string(partial) + " of them partly taken").c_str() : "");
        if (forked > 0)
            std::fprintf(stderr,
                         "dvi: error: %zu chain(s) forked: both heads are kept under refs/dvi/forks/ as evidence\n",
                         forked);
        if (refused + partial + forked == 0) std::fprintf(stderr, "dvi: error: the other side refused some chains\n");
        std::fprintf(stderr,
                     "dvi: hint: the report on standard output says why for each chain; 'dvi audit' reports forks\n");
        return k_exit_negative;
    }
    return k_exit_ok;
}

}  // namespace

void register_sync(CLI::App& root, Registry& reg) {
    auto o = std::make_shared<SyncOptions>();
    auto* app = root.add_subcommand("sync", "Exchange chains with a partner's ledger or by bundle files, verified");
    app->add_option("remote", o->remote, "A git remote of the ledger, a path or a URL (default: origin)")
        ->type_name("<remote>");
    app->add_flag("--fetch-only", o->fetch_only, "Only take the other side's chains");
    app->add_flag("--push-only", o->push_only, "Only offer ours");
    app->add_option("--bundle-out", o->bundle_out, "Write a git bundle of our chains to this file")->type_name("<file>");
    app->add_option("--since", o->since, "With --bundle-out: only what is new since the heads of this bundle")
        ->type_name("<bundle>");
    app->add_option("--bundle-in", o->bundle_in, "Verify and import the chains of this git bundle")->type_name("<file>");
    app->add_flag("--receive", o->receive, "Verify pushed updates (run by the ledger's pre-receive hook)");
    app->footer("Examples:\n  dvi sync depot                          # a git remote of the ledger\n"
                "  dvi sync ssh://depot.example/srv/ledger\n"
                "  dvi sync --bundle-in from-depot.bundle --bundle-out to-depot.bundle --since from-depot.bundle\n"
                "Exit status: 0 in step; 1 a chain was refused or has forked; 2 bad input; 128 fatal.");
    reg.add(app, [o](Context& ctx) { return run_sync(ctx, *o); });
}

}  // namespace dvi::cli
