// dvi seal: seal dossier and material-lot manifests into the signer's chain.
#include <unistd.h>

#include <cstdio>

#include "common.hpp"
#include "dvi/seal.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"

namespace dvi::cli {

namespace {

struct SealOptions {
    std::vector<std::string> manifests;
    bool dry_run = false;
};

Json outcome_json(const SealOutcome& s, const std::string& manifest) {
    return {{"manifest", manifest},
            {"kind", s.kind},
            {"name", s.name},
            {"record", s.record_id.empty() ? Json(nullptr) : Json(s.record_id)},
            {"commit", s.commit.empty() ? Json(nullptr) : Json(s.commit)},
            {"chain", s.writer.str()},
            {"seq", s.seq},
            {"artifacts", s.artifacts},
            {"bytes", s.bytes},
            {"encrypted", s.encrypted},
            {"key_holders", s.key_holders}};
}

// ", 7 encrypted for acme/archive, acme/desk" when the dossier has encrypted files.
std::string encrypted_note(const SealOutcome& s) {
    if (s.encrypted == 0) return "";
    std::string names;
    for (auto& h : s.key_holders) names += (names.empty() ? "" : ", ") + h;
    return ", " + std::to_string(s.encrypted) + " encrypted for " + names;
}

int run_seal(Context& ctx, const SealOptions& o) {
    auto session = ctx.write_session();
    if (!session) return report(session.error());

    // Check every manifest before writing any, so that a bad one writes nothing.
    // A manifest given twice, or two that seal the same dossier revision or lot or
    // supersede the same revision, would write the first and then be refused: found
    // here, before anything is written.
    std::vector<SealOutcome> checked;
    for (std::size_t i = 0; i < o.manifests.size(); ++i) {
        const std::string& m = o.manifests[i];
        auto c = seal(session->ledger, session->key, SealRequest{m, session->now, SealMode::check_only, {}});
        if (!c) return report(c.error());
        for (std::size_t j = 0; j < i; ++j) {
            std::error_code ec;
            const bool unique = c->kind == "dossier" || c->kind == "material-lot";
            std::string again;
            if (std::filesystem::equivalent(o.manifests[j], m, ec))
                again = " is given twice";
            else if (unique && checked[j].kind == c->kind && checked[j].name == c->name)
                again = " seals " + c->kind + " " + c->name + " again, as " + util::quote(o.manifests[j]) + " does";
            else if (!c->supersedes.empty() && checked[j].supersedes == c->supersedes)
                again = " supersedes " + c->supersedes + " too, as " + util::quote(o.manifests[j]) + " does";
            if (!again.empty())
                return report(make_error(Errc::invalid_input, util::quote(m) + again, "seal each once"));
        }
        checked.push_back(std::move(*c));
    }
    Json results = Json::array();
    for (std::size_t i = 0; i < o.manifests.size(); ++i) {
        if (o.dry_run) {
            results.push_back(outcome_json(checked[i], o.manifests[i]));
            if (!ctx.globals.json && !ctx.globals.quiet)
                std::printf("%s: %s %s would be sealed by %s (%s, %s%s)\n", o.manifests[i].c_str(),
                            checked[i].kind.c_str(), checked[i].name.c_str(), checked[i].writer.str().c_str(),
                            util::count_of(static_cast<std::int64_t>(checked[i].artifacts), "file").c_str(),
                            human_size(checked[i].bytes).c_str(), encrypted_note(checked[i]).c_str());
            continue;
        }
        SealRequest req{o.manifests[i], session->now, SealMode::write, {}};
        if (!ctx.globals.quiet && ::isatty(STDERR_FILENO) && checked[i].bytes >= (8u << 20)) {
            // Large files take a while: a progress line on the terminal, erased when done.
            req.progress = [&, name = o.manifests[i]](std::uint64_t done, std::uint64_t total) {
                std::fprintf(stderr, "\rsealing %s: %s of %s (%llu%%)\033[K", name.c_str(), human_size(done).c_str(),
                             human_size(total).c_str(),
                             static_cast<unsigned long long>(total ? done * 100 / total : 100));
                if (done == total) std::fputs("\r\033[K", stderr);
            };
        }
        auto s = seal(session->ledger, session->key, req);
        if (!s) return report(s.error());
        for (auto& n : s->notices) warn(n);
        results.push_back(outcome_json(*s, o.manifests[i]));
        if (!ctx.globals.json && !ctx.globals.quiet)
            std::printf("sealed %s %s as %s\n  %s #%lld, %s, %s%s\n", s->kind.c_str(), s->name.c_str(),
                        s->record_id.c_str(), s->writer.str().c_str(), static_cast<long long>(s->seq),
                        util::count_of(static_cast<std::int64_t>(s->artifacts), "file").c_str(),
                        human_size(s->bytes).c_str(), encrypted_note(*s).c_str());
    }
    if (ctx.globals.json) print_json({{"dry_run", o.dry_run}, {"sealed", results}});
    return k_exit_ok;
}

}  // namespace

void register_seal(CLI::App& root, Registry& reg) {
    auto o = std::make_shared<SealOptions>();
    auto* app = root.add_subcommand("seal", "Seal dossier, material-lot, deviation and inspection manifests (YAML) into the ledger");
    app->add_option("manifest", o->manifests, "A manifest; its 'kind' says what it seals")
        ->type_name("<manifest.yaml>")
        ->required();
    app->add_flag("--dry-run", o->dry_run, "Check the manifests, files and authority; write nothing");
    app->footer("Example:\n  dvi --key acme.pem seal examples/bracket/dossier.yaml");
    reg.add(app, [o](Context& ctx) { return run_seal(ctx, *o); });
}

}  // namespace dvi::cli
