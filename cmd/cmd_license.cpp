// dvi license grant|allocate|revoke|list|show: the OEM rents a dossier; licensees split
// their quota among their printers and partners.
#include <cstdio>

#include "common.hpp"
#include "dvi/license.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/time.hpp"

namespace dvi::cli {

namespace {

struct GrantOptions {
    std::string dossier, to, unit = "job", not_before, not_after;
    std::int64_t quota = 0, depth = 0;
    std::vector<std::string> devices, materials;
    bool no_count_failed = false;
};
struct AllocateOptions {
    std::string from, to;
    std::int64_t quota = 0;
};
struct RevokeOptions {
    std::string license, reason;
};
struct ListOptions {
    std::string dossier, to;
};
struct ShowOptions {
    std::string license;
};

Result<std::optional<std::int64_t>> parse_date_option(const std::string& name, const std::string& value, bool end_of_day) {
    if (value.empty()) return std::optional<std::int64_t>();
    auto t = util::parse_time(value);
    if (!t)
        return make_error(Errc::invalid_input, name + " '" + value + "' is not a date",
                          "use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
    // A bare date as the end of a window means the whole of that day.
    if (end_of_day && value.size() == 10) *t += 86399;
    return std::optional<std::int64_t>(*t);
}

Json status_json(const LicenseStatus& s) {
    const Json& r = s.record.json;
    Json allocations = Json::array();
    for (auto& a : s.allocations) allocations.push_back(status_json(a));
    return {{"id", s.record.id},
            {"dossier", r["dossier"]},
            {"part", r.value("part", "")},
            {"parent", r["parent"]},
            {"depth", r["depth"]},
            {"issuer", r["issuer"]["partner"].get<std::string>() + "/" + r["issuer"]["writer"].get<std::string>()},
            {"to", Holder::from_json(r["to"]).str()},
            {"unit", r["unit"]},
            {"quota", s.quota},
            {"allocated", s.allocated},
            {"used", s.used},
            {"remaining", s.quota - s.used},
            {"not_before", r["not_before"]},
            {"not_after", r["not_after"]},
            {"devices", r["devices"]},
            {"materials", r["materials"]},
            {"sublicense_depth", r["sublicense_depth"]},
            {"count_failed", r["count_failed"]},
            {"revoked", s.revoked ? Json(*s.revoked) : Json(nullptr)},
            {"dossier_revoked", s.dossier_revoked ? Json(*s.dossier_revoked) : Json(nullptr)},
            {"allocations", allocations}};
}

void print_line(const LicenseStatus& s, int indent) {
    const Json& r = s.record.json;
    std::printf("%*s%.19s  %-12s %-16s %s %lld/%lld used%s%s%s\n", indent, "", s.record.id.c_str(),
                r.value("part", "").c_str(), Holder::from_json(r["to"]).str().c_str(), r.value("unit", "").c_str(),
                static_cast<long long>(s.used), static_cast<long long>(s.quota),
                s.allocated ? (", " + std::to_string(s.allocated) + " allocated").c_str() : "",
                s.revoked           ? "  REVOKED"
                : s.dossier_revoked ? "  DOSSIER REVOKED"
                                    : "",
                s.allocated > s.quota ? "  OVER-ALLOCATED" : "");
    for (auto& a : s.allocations) print_line(a, indent + 2);
}

int finish(Context& ctx, const Result<LicenseOutcome>& out, const std::string& what) {
    const char* key = "license";
    if (!out) return report(out.error());
    for (auto& n : out->append.notices) warn(n);
    if (ctx.globals.json)
        print_json({{"record", out->append.record_id},
                    {"commit", out->append.commit},
                    {"chain", out->append.ref.substr(std::string("refs/dvi/chains/").size())},
                    {"seq", out->append.seq},
                    {out->record.value("type", key), out->record}});
    else if (!ctx.globals.quiet)
        std::printf("%s: %s\n", what.c_str(), out->append.record_id.c_str());
    return k_exit_ok;
}

int run_grant(Context& ctx, const GrantOptions& o) {
    LicenseGrantRequest req;
    req.dossier = o.dossier;
    req.to = o.to;
    req.quota = o.quota;
    req.unit = o.unit;
    req.count_failed = !o.no_count_failed;
    req.devices = o.devices;
    req.materials = o.materials;
    req.sublicense_depth = o.depth;
    auto nb = parse_date_option("--not-before", o.not_before, false);
    if (!nb) return report(nb.error());
    auto na = parse_date_option("--not-after", o.not_after, true);
    if (!na) return report(na.error());
    req.not_before = *nb;
    req.not_after = *na;
    auto session = ctx.write_session();
    if (!session) return report(session.error());
    req.time = session->now;
    return finish(ctx, license_grant(session->ledger, session->key, req), "granted " + o.to + " " +
                                                                               std::to_string(o.quota) + " " + o.unit +
                                                                               (o.quota == 1 ? "" : "s"));
}

int run_allocate(Context& ctx, const AllocateOptions& o) {
    auto session = ctx.write_session();
    if (!session) return report(session.error());
    LicenseAllocateRequest req{o.from, o.to, o.quota, session->now};
    return finish(ctx, license_allocate(session->ledger, session->key, req),
                  "allocated " + std::to_string(o.quota) + " to " + o.to);
}

int run_revoke(Context& ctx, const RevokeOptions& o) {
    auto session = ctx.write_session();
    if (!session) return report(session.error());
    LicenseRevokeRequest req{o.license, o.reason, session->now};
    return finish(ctx, license_revoke(session->ledger, session->key, req), "revoked " + o.license);
}

int run_list(Context& ctx, const ListOptions& o) {
    auto ledger = ctx.ledger();
    if (!ledger) return report(ledger.error());
    std::optional<std::string> dossier, to;
    if (!o.dossier.empty()) dossier = o.dossier;
    if (!o.to.empty()) to = o.to;
    auto list = license_list(*ledger, dossier, to);
    if (!list) return report(list.error());
    if (ctx.globals.json) {
        Json arr = Json::array();
        for (auto& s : *list) arr.push_back(status_json(s));
        print_json({{"licenses", arr}});
    } else {
        for (auto& s : *list) print_line(s, 0);
    }
    return k_exit_ok;
}

int run_show(Context& ctx, const ShowOptions& o) {
    auto ledger = ctx.ledger();
    if (!ledger) return report(ledger.error());
    auto s = license_status(*ledger, o.license);
    if (!s) return report(s.error());
    if (ctx.globals.json) {
        print_json(status_json(*s));
        return k_exit_ok;
    }
    const Json& r = s->record.json;
    std::printf("license %s%s\n", s->record.id.c_str(),
                r["parent"].is_null() ? " (grant)" : (" (allocation of " + r["parent"].get<std::string>() + ")").c_str());
    std::printf("dossier  %s (%s)\n", r.value("part", "").c_str(), r["dossier"].get<std::string>().c_str());
    std::printf("holder   %s, issued by %s/%s\n", Holder::from_json(r["to"]).str().c_str(),
                r["issuer"].value("partner", "").c_str(), r["issuer"].value("writer", "").c_str());
    std::printf("quota    %s: %lld used, %lld remaining, %lld allocated\n",
                util::count_of(s->quota, r.value("unit", "")).c_str(), static_cast<long long>(s->used),
                static_cast<long long>(s->quota - s->used), static_cast<long long>(s->allocated));
    std::printf("window   %s .. %s\n", r["not_before"].is_null() ? "(open)" : r["not_before"].get<std::string>().c_str(),
                r["not_after"].is_null() ? "(open)" : r["not_after"].get<std::string>().c_str());
    auto listed = [](const Json& names) {
        std::string out;
        for (auto& n : names) out += (out.empty() ? "" : ", ") + util::escape_controls(n.get<std::string>());
        return out;
    };
    std::printf("devices  %s\nmaterials %s\nsub-licence depth %lld; failed jobs %s\n",
                r["devices"].empty() ? "any of the holder's" : listed(r["devices"]).c_str(),
                r["materials"].empty() ? "any the dossier accepts" : listed(r["materials"]).c_str(),
                static_cast<long long>(r["sublicense_depth"].get<std::int64_t>()),
                r["count_failed"].get<bool>() ? "count" : "do not count");
    std::printf("status   %s\n", s->revoked ? ("REVOKED: " + util::escape_controls(*s->revoked)).c_str()
                                 : s->dossier_revoked
                                     ? ("DOSSIER REVOKED: " + util::escape_controls(*s->dossier_revoked)).c_str()
                                     : "valid");
    if (s->allocated > s->quota)
        std::printf(
            "warning  its allocations sum to %lld, above its quota of %lld: two of its holder's writers "
            "allocated at once ('dvi audit' reports allocation-over-quota)\n",
            static_cast<long long>(s->allocated), static_cast<long long>(s->quota));
    if (!s->allocations.empty()) {
        std::printf("allocations\n");
        for (auto& a : s->allocations) print_line(a, 2);
    }
    return k_exit_ok;
}

}  // namespace

void register_license(CLI::App& root, Registry& reg) {
    auto* lic = root.add_subcommand("license", "Grant, allocate, revoke and inspect licences of sealed dossiers");
    lic->require_subcommand(1);

    auto g = std::make_shared<GrantOptions>();
    auto* grant = lic->add_subcommand("grant", "Grant a licence of a dossier to a partner or one of its writers (the OEM)");
    grant->add_option("--dossier", g->dossier, "The dossier: id, id prefix or part@revision")->type_name("<id>")->required();
    grant->add_option("--to", g->to, "The licensee: partner, or partner/writer to print on it directly")
        ->type_name("<partner>[/<writer>]")->required();
    grant->add_option("--quota", g->quota, "How many units may be printed")
        ->type_name("<n>")
        ->transform(decimal())
        ->required();
    grant->add_option("--unit", g->unit, "What the quota counts: job (default) or part")->type_name("job|part");
    grant->add_flag("--no-count-failed", g->no_count_failed, "Failed jobs do not count against the quota");
    grant->add_option("--not-before", g->not_before, "Valid from this date (UTC)")->type_name("<date>");
    grant->add_option("--not-after", g->not_after, "Valid until this date (UTC, inclusive)")->type_name("<date>");
    grant->add_option("--device", g->devices, "Only this printer (serial; repeatable)")
        ->type_name("<serial>")->allow_extra_args(false);
    grant->add_option("--material", g->materials, "Only this material spec (repeatable)")
        ->type_name("<spec>")->allow_extra_args(false);
    grant->add_option("--sublicense-depth", g->depth, "How many levels of sub-licences to other partners (default 0)")
        ->type_name("<n>")
        ->transform(decimal());
    grant->footer("Example:\n  dvi license grant --dossier BRK-2041@C --to bureau7 --quota 200 --not-after 2027-06-30");
    reg.add(grant, [g](Context& ctx) { return run_grant(ctx, *g); });

    auto a = std::make_shared<AllocateOptions>();
    auto* alloc = lic->add_subcommand("allocate", "Split part of a licence off to a writer or partner (the licensee)");
    alloc->add_option("--from", a->from, "The licence to allocate from")->type_name("<license>")->required();
    alloc->add_option("--to", a->to, "partner/writer (a printer agent) or partner")->type_name("<partner>[/<writer>]")
        ->required();
    alloc->add_option("--quota", a->quota, "How many of the licence's units")
        ->type_name("<n>")
        ->transform(decimal())
        ->required();
    alloc->footer("Example:\n  dvi license allocate --from 3f2a9c --to bureau7/s5 --quota 50");
    reg.add(alloc, [a](Context& ctx) { return run_allocate(ctx, *a); });

    auto r = std::make_shared<RevokeOptions>();
    auto* revoke = lic->add_subcommand("revoke", "Revoke a licence and its allocations, or a whole dossier, from now on");
    revoke->add_option("license", r->license, "The licence, or a dossier (id or part@revision) to stop all its licences")
        ->type_name("<license>")
        ->required();
    revoke->add_option("--reason", r->reason, "Why (recorded in the ledger)")->type_name("<text>")->required();
    reg.add(revoke, [r](Context& ctx) { return run_revoke(ctx, *r); });

    auto l = std::make_shared<ListOptions>();
    auto* list = lic->add_subcommand("list", "List licences and allocations with their usage");
    list->add_option("--dossier", l->dossier, "Only licences of this dossier")->type_name("<id>");
    list->add_option("--to", l->to, "Only licences held by this partner or partner/writer")->type_name("<partner>");
    reg.add(list, [l](Context& ctx) { return run_list(ctx, *l); });

    auto s = std::make_shared<ShowOptions>();
    auto* show = lic->add_subcommand("show", "Show a licence: quota, used, remaining, allocations");
    show->add_option("license", s->license, "The licence")->type_name("<license>")->required();
    reg.add(show, [s](Context& ctx) { return run_show(ctx, *s); });
}

}  // namespace dvi::cli
