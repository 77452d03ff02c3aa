#include "dvi/record.hpp"

#include <algorithm>
#include <optional>

#include "dvi/roster.hpp"
#include "dvi/schema.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/time.hpp"

namespace dvi {

Result<Signer> signer_for(const Roster& roster, const crypto::PrivateKey& key) {
    auto fp = key.public_key().fingerprint();
    auto w = roster.writer_by_fingerprint(fp);
    if (!w)
        return make_error(Errc::denied, "key " + fp + " is not in the consortium's roster",
                          "send 'dvi key show' to an authority, who admits it with 'dvi roster add'");
    return Signer{&key, *w};
}

Json record_header(const std::string& type, const Signer& signer, std::int64_t time, const ChainPosition& pos) {
    return Json{{"type", type},
                {"schema", "dvi/" + type + "@1"},
                {"issuer",
                 {{"partner", signer.id.partner},
                  {"writer", signer.id.writer},
                  {"key", signer.key->public_key().fingerprint()}}},
                {"created", util::format_rfc3339(time)},
                {"seq", pos.seq},
                {"seen", pos.seen}};
}

namespace {
// The first control character in the strings and keys of `j`; `pointer` is then where.
std::optional<util::ControlChar> control_char_in_json(const Json& j, std::string& pointer) {
    if (j.is_string()) return util::control_char_in(j.get_ref<const std::string&>(), util::LineBreaks::allowed);
    if (j.is_array())
        for (std::size_t i = 0; i < j.size(); ++i)
            if (auto c = control_char_in_json(j[i], pointer)) {
                pointer.insert(0, "/" + std::to_string(i));
                return c;
            }
    if (j.is_object())
        for (auto it = j.begin(); it != j.end(); ++it) {
            auto c = util::control_char_in(it.key(), util::LineBreaks::refused);
            if (!c) c = control_char_in_json(it.value(), pointer);
            if (c) {
                std::string token;
                append_pointer_token(token, it.key());
                pointer.insert(0, token);
                return c;
            }
        }
    return std::nullopt;
}
}  // namespace

Status validate_record(const Json& record) {
    // Only then may its schema be looked up by its type (and "common" is not a type).
    if (!record.is_object()) return make_error(Errc::internal, std::string("a record is a JSON object, not ") + record.type_name());
    auto t = record.find("type");
    if (t == record.end() || !t->is_string()) return make_error(Errc::internal, "a record needs a string field 'type'");
    const std::string type = t->get<std::string>();
    const auto& types = all_record_types();
    if (std::find(types.begin(), types.end(), type) == types.end())
        return make_error(Errc::not_found, "unknown record type '" + type + "'");
    DVI_TRY(schema, schema_by_name("record-" + type));
    DVI_TRY(violations, schema_validate(*schema, record));
    // No text of a record holds a control character (a manifest's tab and line feed
    // aside): records are read on terminals and in reports, and one written by another
    // implementation reaches every partner by sync.
    std::string pointer;
    if (auto c = control_char_in_json(record, pointer))
        violations.push_back({pointer, pointer_to_field(pointer), "holds control character " + c->name()});
    if (violations.empty()) return {};
    std::string msg = "record of type '" + type + "' does not match its schema:";
    for (auto& v : violations) msg += "\n  " + v.field + ": " + v.message;
    return make_error(Errc::internal, msg);
}

Result<RecordAppended> append_record(Ledger& ledger, const Signer& signer, const RecordAppend& r) {
    RecordAppended out;
    AppendRequest req;
    req.key = signer.key;
    req.writer = signer.id;
    req.time = r.time;
    req.summary = r.summary;
    req.artifacts = r.artifacts;
    req.build = [&](const ChainPosition& pos) -> Result<Json> {
        if (r.recheck) DVI_CHECK(r.recheck(pos));
        Json rec = record_header(r.type, signer, r.time, pos);
        rec.update(r.body);
        DVI_CHECK(validate_record(rec));
        out.record = rec;
        return rec;
    };
    if (r.derive) req.derive = r.derive;
    DVI_TRY(appended, ledger.append(req));
    out.append = std::move(appended);
    return out;
}

void check_placement(const Json& rec, const WriterId& chain, std::int64_t seq, std::vector<std::string>& problems) {
    const Json& issuer = rec.contains("issuer") ? rec["issuer"] : Json::object();
    if (issuer.value("partner", "") != chain.partner || issuer.value("writer", "") != chain.writer)
        problems.push_back("record names issuer '" + issuer.value("partner", "?") + "/" + issuer.value("writer", "?") +
                           "' but sits in chain '" + chain.str() + "'");
    if (seq > 0 && rec.value("seq", std::int64_t{-1}) != seq)
        problems.push_back("record says seq " + std::to_string(rec.value("seq", std::int64_t{-1})) +
                           " but is at position " + std::to_string(seq));
}

}  // namespace dvi
