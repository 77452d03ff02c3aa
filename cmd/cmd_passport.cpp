// dvi passport: export the self-contained evidence file of one printed part, and verify
// such a file without a ledger.
#include <cctype>
#include <cstdio>

#include "common.hpp"
#include "dvi/passport.hpp"
#include "dvi/util/fs.hpp"
#include "dvi/util/time.hpp"

namespace dvi::cli {

namespace {

struct PassportOptions {
    std::string serial;
    std::string output;
    std::string print;
};

struct PassportVerifyOptions {
    std::string file;
    std::string trust;
};

// A file name from a serial: its safe characters, others as '_'.
std::string default_output(const std::string& serial) {
    std::string name;
    for (char c : serial) name += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '_';
    if (name.empty() || name[0] == '.') name = "_" + name;
    return name + ".passport.tar";
}

int run_passport(Context& ctx, const PassportOptions& o) {
    bool to_stdout = o.output == "-";
    if (to_stdout && ctx.globals.json) {
        std::fprintf(stderr,
                     "dvi: error: --json and '--output -' both write to standard output\n"
                     "dvi: hint: write the passport to a file with --output <file>\n");
        return k_exit_usage;
    }
    std::string path = o.output.empty() ? default_output(o.serial) : o.output;
    if (!to_stdout && std::filesystem::exists(path))
        return report(make_error(Errc::invalid_input, util::quote(path) + " already exists",
                                 "remove it or choose another file with --output <file>"));
    auto ledger = ctx.ledger();
    if (!ledger) return report(ledger.error());
    PassportRequest req{o.serial, o.print.empty() ? std::nullopt : std::optional<std::string>(o.print)};
    auto out = passport_export(*ledger, req);
    if (!out) return report(out.error());
    if (to_stdout) {
        if (std::fwrite(out->archive.data(), 1, out->archive.size(), stdout) != out->archive.size() ||
            std::fflush(stdout))
            return report(make_error(Errc::io, "cannot write the passport to standard output"));
        return k_exit_ok;
    }
    if (auto w = util::write_file_atomic(path, out->archive, util::FileMode::public_0644, util::Overwrite::no); !w)
        return report(w.error());
    std::string sha = crypto::sha256_hex(out->archive);
    if (ctx.globals.json) {
        print_json({{"serial", out->serial},
                    {"part", out->part},
                    {"print", out->print},
                    {"genesis", out->genesis},
                    {"file", path},
                    {"size", out->archive.size()},
                    {"sha256", sha},
                    {"records", out->records},
                    {"commits", out->commits},
                    {"files", out->files.size()}});
    } else if (!ctx.globals.quiet) {
        std::printf(
            "passport of %s (%s) written to %s\n  %zu records, %zu signed commits, %zu files, %s\n"
            "  sha256 %s\n  genesis %s\n",
            out->serial.c_str(), out->part.c_str(), path.c_str(), out->records, out->commits, out->files.size(),
            human_size(out->archive.size()).c_str(), sha.c_str(), out->genesis.c_str());
    }
    return k_exit_ok;
}

std::string time_or(const std::optional<std::int64_t>& t, const char* none) {
    return t ? util::format_rfc3339(*t) : std::string(none);
}

Json summary_json(const PassportVerifyOutcome& out) {
    const auto& s = out.summary;
    Json inspections = Json::array(), anchors = Json::array(), problems = Json::array();
    for (auto& i : s.inspections)
        inspections.push_back({{"id", i.id},
                               {"chain", i.chain},
                               {"result", i.result},
                               {"inspector", i.inspector},
                               {"date", i.date.empty() ? Json() : Json(i.date)}});
    for (auto& a : s.anchors)
        anchors.push_back({{"id", a.id},
                           {"role", a.role},
                           {"chain", a.chain},
                           {"kind", a.kind},
                           {"time", a.time ? Json(util::format_rfc3339(*a.time)) : Json(nullptr)},
                           {"tsa", a.tsa.empty() ? Json(nullptr) : Json(a.tsa)}});
    for (auto& p : out.problems) problems.push_back({{"file", p.file}, {"message", p.message}});
    return {{"valid", out.problems.empty() && out.summary.genesis_pinned},
            {"serial", s.serial},
            {"part", s.part},
            {"title", s.title},
            {"print",
             {{"id", s.print},
              {"chain", s.printer_chain},
              {"seq", s.print_seq},
              {"created", s.created},
              {"device", {{"serial", s.device_serial}, {"model", s.device_model}}},
              {"recipe", s.recipe},
              {"gcode_sha256", s.gcode_sha256}}},
            {"dossier", s.dossier},
            {"license", {{"id", s.license}, {"grant", s.grant}, {"to", s.licensee}}},
            {"material_lot",
             {{"id", s.material_lot},
              {"lot", s.lot},
              {"status", s.lot_status},
              {"certificate",
               {{"type", s.certificate_type}, {"number", s.certificate_number}, {"sha256", s.certificate_sha256}}}}},
            {"inspections", inspections},
            {"anchors", anchors},
            {"printed_after", s.not_before ? Json(util::format_rfc3339(*s.not_before)) : Json(nullptr)},
            {"recorded_before", s.not_after ? Json(util::format_rfc3339(*s.not_after)) : Json(nullptr)},
            {"genesis", s.genesis},
            {"genesis_pinned", s.genesis_pinned},
            {"roster_head", s.roster_head},
            {"roster_records", s.roster_records},
            {"consortium", s.consortium},
            {"counts", {{"files", s.files}, {"records", s.records}, {"commits", s.commits}, {"tokens", s.tokens}}},
            {"problems", problems}};
}

void print_summary(const PassportVerifyOutcome& out) {
    const auto& s = out.summary;
    std::printf("part      %s  %s\nserial    %s\n", s.part.c_str(), s.title.c_str(), s.serial.c_str());
    std::printf("printed   %s (printer clock) on %s (%s) by %s\n", s.created.c_str(), s.device_serial.c_str(),
                s.device_model.c_str(), s.printer_chain.c_str());
    std::printf("recipe    %s, sealed G-code sha256:%s\n", s.recipe.c_str(), s.gcode_sha256.c_str());
    std::printf("lot       %s (%s), certificate %s %s\n", s.lot.c_str(), s.lot_status.c_str(),
                s.certificate_type.c_str(), s.certificate_number.c_str());
    std::printf("licence   %.19s to %s, under grant %.19s\n", s.license.c_str(), s.licensee.c_str(), s.grant.c_str());
    if (s.inspections.empty()) std::printf("inspected none in this passport\n");
    for (auto& i : s.inspections)
        std::printf("inspected %s by %s%s (%s, %.19s)\n", i.result.c_str(), i.inspector.c_str(),
                    i.date.empty() ? "" : (" on " + i.date).c_str(), i.chain.c_str(), i.id.c_str());
    std::printf("time      after %s, before %s\n", time_or(s.not_before, "(no earlier anchor)").c_str(),
                time_or(s.not_after, "(no covering anchor)").c_str());
    for (auto& a : s.anchors)
        std::printf("  anchor  %-9s %.19s %s%s%s\n", a.role.c_str(), a.id.c_str(), a.kind.c_str(),
                    a.time ? (" " + util::format_rfc3339(*a.time)).c_str() : "",
                    a.tsa.empty() ? "" : (" by '" + a.tsa + "'").c_str());
    std::printf("genesis   %s (%s)%s\n", s.genesis.c_str(), s.consortium.c_str(),
                s.genesis_pinned ? ", trusted" : ", NOT PINNED");
    std::printf("roster    %zu records up to %.19s; a later revocation would not be here\n", s.roster_records,
                s.roster_head.c_str());
    std::printf("checked   %zu files, %zu records, %zu signed commits, %zu time-stamp%s\n", s.files, s.records,
                s.commits, s.tokens, s.tokens == 1 ? "" : "s");
    std::printf("passport: %s\n", !out.problems.empty()          ? "INVALID"
                                   : out.summary.genesis_pinned ? "valid"
                                                                : "consistent, but its genesis is not pinned");
}

int run_passport_verify(Context& ctx, const PassportVerifyOptions& o) {
    PassportVerifyRequest req{o.file, o.trust.empty() ? std::nullopt : std::optional<std::string>(o.trust)};
    auto out = passport_verify(req);
    if (!out) return report(out.error());
    if (ctx.globals.json)
        print_json(summary_json(*out));
    else if (!ctx.globals.quiet)
        print_summary(*out);
    for (auto& p : out->problems) std::fprintf(stderr, "dvi: error: '%s': %s\n", p.file.c_str(), p.message.c_str());
    if (!out->problems.empty()) {
        std::fprintf(stderr, "dvi: hint: do not rely on this passport: %zu proof%s failed\n", out->problems.size(),
                     out->problems.size() == 1 ? "" : "s");
        return k_exit_negative;
    }
    // Anyone can make a consistent passport for a consortium of their own: without a
    // trusted genesis nothing is proven.
    if (!out->summary.genesis_pinned)
        return report(make_error(Errc::denied,
                                 util::quote(o.file) + ": consistent, but its genesis " + out->summary.genesis +
                                     " is not pinned, so it proves nothing",
                                 "compare that id with the consortium's genesis and give --trust <genesis id>"));
    return k_exit_ok;
}

}  // namespace

void register_passport(CLI::App& root, Registry& reg) {
    auto o = std::make_shared<PassportOptions>();
    auto* app = root.add_subcommand("passport", "Export a printed part's self-contained evidence file, or verify one");
    app->add_option("serial", o->serial, "The part's serial, as its print record lists it")->type_name("<serial>");
    app->add_option("--output", o->output, "Where to write it ('-' for standard output; default <serial>.passport.tar)")
        ->type_name("<file>");
    app->add_option("--print", o->print, "The print record, when several allowed prints name the serial")
        ->type_name("<id>");
    app->footer(
        "Examples:\n  dvi passport BRK-2026-00017 --output BRK-2026-00017.tar\n"
        "  dvi passport verify BRK-2026-00017.tar --trust sha256:<the genesis id, 64 hex digits>");

    auto v = std::make_shared<PassportVerifyOptions>();
    auto* verify = app->add_subcommand("verify", "Verify a passport file, without a ledger");
    verify->add_option("file", v->file, "The passport file")->type_name("<file>")->required();
    verify->add_option("--trust", v->trust, "The genesis roster id the passport must descend from")
        ->type_name("<genesis-id>");
    // The subcommand first: when it is given, its parent is parsed too.
    reg.add(verify, [v](Context& ctx) { return run_passport_verify(ctx, *v); });
    reg.add(app, [o](Context& ctx) {
        if (o->serial.empty()) {
            std::fprintf(stderr,
                         "dvi: error: a serial or 'verify <file>' is required\ndvi: hint: see 'dvi passport -h'\n");
            return k_exit_usage;
        }
        return run_passport(ctx, *o);
    });
}

}  // namespace dvi::cli
