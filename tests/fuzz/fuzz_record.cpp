// Fuzz target: one record as a sync, the pre-receive hook and an audit judge what a
// partner's commit adds (import.cpp check_one, audit.cpp): canonical_parse, then
// validate_record against schemas/record-<type>.schema.json, then the checks that read
// the fields the schema guarantees: placement in the issuer's chain, the issuer's
// authority in the roster, and for roster records Roster::apply, on an empty roster and
// on the genesis roster of the fuzz ledger (which the seeds' roster records continue).
#include <string>
#include <vector>

#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "fuzz_ledger.hpp"

namespace {

const dvi::Roster& genesis_roster() {
    static const dvi::Roster roster = [] {
        auto r = dvi::roster_load(dvi_fuzz::fuzz_ledger().ledger());
        DVI_FUZZ_CHECK(r.ok(), "the fuzz ledger's roster loads");
        return *r;
    }();
    return roster;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const dvi::Roster& genesis = genesis_roster();
    const std::string_view bytes = dvi_fuzz::as_text(data, size);
    auto parsed = dvi::canonical_parse(bytes);
    if (!parsed) return 0;
    const dvi::Json& rec = *parsed;
    const std::string id = dvi::record_id_of(bytes);
    if (auto valid = dvi::validate_record(rec); !valid) {
        DVI_FUZZ_CHECK(valid.error().code == dvi::Errc::internal || valid.error().code == dvi::Errc::not_found,
                       "a record is refused as a schema violation or an unknown type");
        return 0;
    }

    // What every record schema guarantees (record-common): an object with a string type,
    // an issuer object with partner and writer names, an integer seq and a seen field.
    DVI_FUZZ_CHECK(rec.is_object(), "a valid record is an object");
    const auto type = rec.find("type");
    const auto issuer = rec.find("issuer");
    const auto seq = rec.find("seq");
    DVI_FUZZ_CHECK(type != rec.end() && type->is_string(), "a valid record has a string type");
    DVI_FUZZ_CHECK(issuer != rec.end() && issuer->is_object(), "a valid record has an issuer");
    DVI_FUZZ_CHECK(seq != rec.end() && seq->is_number_integer(), "a valid record has an integer seq");
    DVI_FUZZ_CHECK(rec.contains("seen"), "a valid record has seen");
    const auto partner = issuer->find("partner");
    const auto writer = issuer->find("writer");
    DVI_FUZZ_CHECK(partner != issuer->end() && partner->is_string() && dvi::is_valid_name(partner->get<std::string>()),
                   "a valid issuer names a partner");
    DVI_FUZZ_CHECK(writer != issuer->end() && writer->is_string() && dvi::is_valid_name(writer->get<std::string>()),
                   "a valid issuer names a writer");

    const dvi::WriterId who{partner->get<std::string>(), writer->get<std::string>()};
    const std::int64_t at = seq->get<std::int64_t>();
    std::vector<std::string> problems;
    dvi::check_placement(rec, who, at, problems);
    DVI_FUZZ_CHECK(problems.empty(), "a record sits well in the chain of its own issuer at its own seq");
    (void)genesis.may_have_written(who, type->get<std::string>(), at);

    if (type->get<std::string>() == "roster") {
        auto fresh = dvi::Roster().apply(id, rec);
        if (fresh) DVI_FUZZ_CHECK(fresh->genesis() == id && fresh->version() == 1, "a genesis starts a roster");
        auto next = genesis.apply(id, rec);
        if (next) DVI_FUZZ_CHECK(next->head() == id && next->version() == genesis.version() + 1, "a roster record advances the roster");
    }
    return 0;
}
