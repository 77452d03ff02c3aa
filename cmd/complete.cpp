// dvi __complete -- <word>...: what the shell completions (completions/) ask. The words are
// the command line after `dvi`, the last one being completed (possibly empty). Prints one
// candidate per line: commands and options from the command table itself, so they never
// drift, and values from the ledger (record ids, dossiers, lots, partners, devices);
// "__files__" when a file name is expected. Not in the command table: main() hands the
// words over before parsing, so that options among them are words, not options.
#include <cstdio>
#include <map>
#include <set>

#include "common.hpp"
#include "dvi/roster.hpp"

namespace dvi::cli {

namespace {

bool takes_value(const CLI::Option* o) { return !o->get_positional() && o->get_type_size() > 0; }

const CLI::Option* find_option(CLI::App* app, const std::string& name) {
    for (CLI::App* a = app; a; a = a->get_parent())
        for (auto* o : a->get_options()) {
            for (auto& l : o->get_lnames())
                if ("--" + l == name) return o;
            for (auto& sn : o->get_snames())
                if ("-" + sn == name) return o;
        }
    return nullptr;
}

std::vector<CLI::App*> visible_subcommands(CLI::App* app) {
    return app->get_subcommands([](CLI::App* s) { return !s->get_group().empty(); });
}

// Values the ledger knows for a kind of argument.
std::vector<std::string> ledger_values(Context& ctx, const std::string& kind) {
    std::vector<std::string> out;
    auto ledger = ctx.ledger();
    if (!ledger) return out;
    auto ids = [&](const std::string& type) {
        auto recs = ledger->records_of_type(type);
        if (recs)
            for (auto& [w, id] : *recs) out.push_back(id.substr(7, 12));
    };
    if (kind == "license" || kind == "anchor") ids(kind);
    if (kind == "dossier" || kind == "record") {
        if (auto recs = ledger->records_of_type("dossier"))
            for (auto& [w, id] : *recs)
                if (auto r = ledger->find_record(id))
                    out.push_back(r->json.value("part_number", "") + "@" + r->json.value("revision", ""));
    }
    if (kind == "record")
        for (auto* t : {"license", "material-lot", "print", "anchor", "deviation", "inspection"}) ids(t);
    if (kind == "lot") {
        if (auto recs = ledger->records_of_type("material-lot"))
            for (auto& [w, id] : *recs)
                if (auto r = ledger->find_record(id))
                    out.push_back(r->json.value("supplier", "") + "/" + r->json.value("lot", ""));
    }
    auto roster = roster_load(*ledger);
    if (!roster) return out;
    const Json& partners = roster->state()["partners"];
    for (auto p = partners.begin(); p != partners.end(); ++p) {
        if (kind == "partner" || kind == "holder" || kind == "chain") out.push_back(p.key());
        if (kind == "holder" || kind == "chain")
            for (auto w = (*p)["writers"].begin(); w != (*p)["writers"].end(); ++w) out.push_back(p.key() + "/" + w.key());
        if (kind == "device")
            for (auto d = (*p)["devices"].begin(); d != (*p)["devices"].end(); ++d) out.push_back(d.key());
    }
    return out;
}

// What a value of option `name` (or a positional of `command`) is.
std::string kind_of(const std::string& command, const std::string& name) {
    static const std::map<std::string, std::string> by_option{
        {"-C", "__files__"},         {"--key", "__files__"},        {"--out", "__files__"},
        {"--output", "__files__"},   {"--file", "__files__"},       {"--request", "__files__"},
        {"--import", "__files__"},   {"--bundle-in", "__files__"},  {"--bundle-out", "__files__"},
        {"--since", "__files__"},    {"--pubkey", "__files__"},     {"--license", "license"},
        {"--from", "license"},       {"--dossier", "dossier"},      {"--material-lot", "lot"},
        {"--device", "device"},      {"--to", "holder"},            {"--cosign", "anchor"},
        {"--format", "=text json markdown html"},                   {"--unit", "=job part"},
        {"--type", "=roster dossier material-lot license print inspection deviation revocation anchor"},
        {"--role", "=authority oem bureau field-unit supplier inspector auditor"}};
    if (!name.empty()) {
        auto it = by_option.find(name);
        return it == by_option.end() ? "" : it->second;
    }
    if (command == "show") return "record";
    if (command == "log") return "chain";
    if (command == "license show" || command == "license revoke") return "license";
    if (command == "roster revoke") return "holder";
    if (command == "roster add") return "partner";
    if (command == "seal" || command == "roster trust-tsa" || command == "key show" || command == "key export" ||
        command == "sync" || command == "init")
        return "__files__";
    return "";
}

int run_complete(Context& ctx, CLI::App* root, const std::vector<std::string>& words_in) {
    std::vector<std::string> words = words_in;
    if (words.empty()) words.push_back("");
    std::string current = words.back();
    words.pop_back();

    // Walk the words: subcommands deepen, options that take a value skip it.
    CLI::App* app = root;
    std::string command;
    const CLI::Option* pending = nullptr;
    std::string pending_name;
    for (auto& w : words) {
        if (pending) {
            if (pending_name == "-C") ctx.globals.dir = w;
            pending = nullptr;
            continue;
        }
        if (w.rfind("-", 0) == 0) {
            auto eq = w.find('=');
            const CLI::Option* o = find_option(app, w.substr(0, eq));
            if (o && takes_value(o) && eq == std::string::npos) pending = o, pending_name = w;
            continue;
        }
        for (auto* s : visible_subcommands(app))
            if (s->get_name() == w) {
                app = s;
                command += (command.empty() ? "" : " ") + w;
                break;
            }
    }

    std::vector<std::string> candidates;
    std::string kind;
    if (pending) {
        kind = kind_of(command, pending_name);
    } else if (current.rfind("-", 0) == 0) {
        for (CLI::App* a = app; a; a = a->get_parent()) {
            for (auto* o : a->get_options())
                if (!o->get_positional() && o->get_group() != "")
                    for (auto& l : o->get_lnames()) candidates.push_back("--" + l);
            if (a == root) break;
        }
    } else {
        auto subs = visible_subcommands(app);
        for (auto* s : subs) candidates.push_back(s->get_name());
        if (subs.empty()) kind = kind_of(command, "");
    }
    if (kind == "__files__") {
        std::puts("__files__");
        return k_exit_ok;
    }
    if (kind.rfind("=", 0) == 0) {
        std::string list = kind.substr(1);
        for (std::size_t start = 0; start < list.size();) {
            auto sp = list.find(' ', start);
            candidates.push_back(list.substr(start, sp - start));
            start = sp == std::string::npos ? list.size() : sp + 1;
        }
    } else if (!kind.empty()) {
        candidates = ledger_values(ctx, kind);
    }
    std::set<std::string> unique(candidates.begin(), candidates.end());
    for (auto& c : unique)
        if (c.rfind(current, 0) == 0) std::printf("%s\n", c.c_str());
    return k_exit_ok;
}

}  // namespace

int complete(CLI::App& root, Context& ctx, std::vector<std::string> words) {
    if (!words.empty() && words.front() == "--") words.erase(words.begin());
    return run_complete(ctx, &root, words);
}

}  // namespace dvi::cli
