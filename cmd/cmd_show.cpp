// dvi show: one record, authenticated, in full.
#include <cstdio>

#include "common.hpp"
#include "dvi/history.hpp"
#include "dvi/util/encoding.hpp"

namespace dvi::cli {

namespace {

struct ShowOptions {
    std::string id;
    bool raw = false;
};

std::string short_sha(const Json& artifact) { return artifact.value("sha256", "").substr(0, 12); }

// A text field of the record on one line: a line feed or tab in it is shown as \n or \t,
// and no character of it acts on the terminal.
std::string line_of(const Json& j, const char* key, const char* absent) {
    return util::escape_controls(j.value(key, std::string(absent)));
}

// An encrypted artifact shows the plaintext's size, then the stored ciphertext's hash.
void print_artifact(const Json& a, const std::string& label) {
    const bool encrypted = a.contains("encrypted") && a["encrypted"].is_object();
    std::uint64_t size = encrypted ? a["encrypted"].value("size", std::uint64_t{0}) : a.value("size", std::uint64_t{0});
    std::printf("  %-16s %-34s %10s  sha256:%s%s\n", label.c_str(), line_of(a, "path", "").c_str(),
                human_size(size).c_str(), short_sha(a).c_str(), encrypted ? "  encrypted" : "");
}

// Who holds a key of an encrypted dossier: "recipe key for: acme/desk, acme/archive".
void print_key_holders(const char* which, const Json& keys) {
    if (!keys.is_array()) return;
    std::string names;
    for (auto& k : keys) names += (names.empty() ? "" : ", ") + (k.is_object() ? line_of(k, "to", "?") : "?");
    std::printf("%s key for: %s\n", which, names.c_str());
}

// A reading of the record for people; --json and --raw give all of it.
void print_human(const StoredRecord& r) {
    const Json& j = r.json;
    const Json& issuer = j.contains("issuer") ? j["issuer"] : Json::object();
    std::printf("%s %s\n", r.type.c_str(), r.id.c_str());
    std::printf("issuer   %s/%s (%s)\n", line_of(issuer, "partner", "?").c_str(),
                line_of(issuer, "writer", "?").c_str(), line_of(issuer, "key", "?").c_str());
    std::printf("position #%lld of %s, created %s\n", static_cast<long long>(j.value("seq", std::int64_t{0})),
                r.chain.writer.str().c_str(), line_of(j, "created", "").c_str());
    if (r.type == "dossier") {
        std::printf("\n%s@%s  %s\noem      %s\n\nfiles\n", line_of(j, "part_number", "").c_str(),
                    line_of(j, "revision", "").c_str(), line_of(j, "title", "").c_str(), line_of(j, "oem", "").c_str());
        for (auto& f : j["files"]) print_artifact(f, line_of(f, "role", ""));
        std::printf("\nrecipes\n");
        for (auto& rc : j["recipes"]) {
            std::printf("  %s: %s, %s %s\n", line_of(rc, "name", "").c_str(), line_of(rc, "printer_model", "").c_str(),
                        line_of(rc["slicer"], "name", "").c_str(), line_of(rc["slicer"], "version", "").c_str());
            print_artifact(rc["profile"], "  profile");
            print_artifact(rc["gcode"], "  gcode");
        }
        std::printf("\nmaterials: %s\ncertificates: %s\nacceptance: %zu characteristics; marking %s\n",
                    j["materials"]["specs"].dump().c_str(), j["materials"]["certificate_types"].dump().c_str(),
                    j["acceptance"].size(), line_of(j["marking"], "scheme", "").c_str());
        if (j.contains("encryption") && j["encryption"].is_object()) {
            print_key_holders("design", j["encryption"].value("design_keys", Json()));
            print_key_holders("recipe", j["encryption"].value("recipe_keys", Json()));
        }
    } else if (r.type == "material-lot") {
        const Json& c = j["certificate"];
        std::printf("\nlot      %s (%s), %s\nmaterial %s, %s, %s\nsupplier %s, made %s\n",
                    line_of(j, "lot", "").c_str(), line_of(j, "status", "").c_str(), line_of(j, "quantity", "").c_str(),
                    line_of(j["material"], "spec", "").c_str(), line_of(j["material"], "grade", "").c_str(),
                    line_of(j["material"], "form", "").c_str(), line_of(j, "supplier", "").c_str(),
                    line_of(j, "manufactured", "").c_str());
        std::printf("\ncertificate %s %s, %zu results\n", line_of(c, "type", "").c_str(),
                    line_of(c, "number", "").c_str(), c["results"].size());
        print_artifact(c["file"], "file");
    } else {
        std::printf("\n%s\n", j.dump(2, ' ', false, Json::error_handler_t::replace).c_str());
    }
}

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
    } else if (o.raw) {
        std::fwrite(r.bytes.data(), 1, r.bytes.size(), stdout);
    } else {
        print_human(r);
        std::printf("\nverified: %s (chain head %s)\n", out->problems.empty() ? "yes" : "NO", r.chain.commit.c_str());
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
    app->add_flag("--raw", o->raw, "Print the record's exact canonical bytes (its SHA-256 is its id)");
    app->footer("Examples:\n  dvi show BRK-2041@C\n  dvi show --raw 3f2a9c | sha256sum");
    reg.add(app, [o](Context& ctx) { return run_show(ctx, *o); });
}

}  // namespace dvi::cli
