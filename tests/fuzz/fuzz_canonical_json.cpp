// Fuzz target: canonical JSON, the bytes a record id hashes (dvi-records(5)). Properties:
//  1. round trip: when canonical_parse accepts bytes, canonical_dump gives them back exactly;
//  2. acceptance is exact: canonical_parse accepts bytes iff they parse as JSON and are
//     their own canonical form;
//  3. fixed point: the canonical form of any JSON value is accepted and reads back equal;
//  4. an accepted value has the types Json::parse gives (canonical_parse reads canonical
//     bytes in one pass of its own), a non-negative integer unsigned;
//  5. the form is the one canonical.hpp promises, Python's json.dumps(v, sort_keys=True,
//     separators=(",", ":"), ensure_ascii=False), here written out independently.
#include <cstdio>
#include <string>

#include "../json_types.hpp"
#include "dvi/canonical.hpp"
#include "fuzz.hpp"

namespace {

// A second, independent serialiser: Python's json.dumps as the header specifies it.
void python_string(const std::string& s, std::string& out) {
    out += '"';
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                out += buf;
            } else {
                out += ch;  // ensure_ascii=False: UTF-8 passes through, DEL included
            }
        }
    }
    out += '"';
}

void python_dumps(const dvi::Json& v, std::string& out) {
    switch (v.type()) {
    case dvi::Json::value_t::null: out += "null"; break;
    case dvi::Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case dvi::Json::value_t::number_integer: out += std::to_string(v.get<std::int64_t>()); break;
    case dvi::Json::value_t::number_unsigned: out += std::to_string(v.get<std::uint64_t>()); break;
    case dvi::Json::value_t::string: python_string(v.get_ref<const std::string&>(), out); break;
    case dvi::Json::value_t::array: {
        out += '[';
        bool first = true;
        for (auto& e : v) {
            if (!first) out += ',';
            first = false;
            python_dumps(e, out);
        }
        out += ']';
        break;
    }
    case dvi::Json::value_t::object: {
        // sort_keys orders by code point, which is the byte order of UTF-8; std::string
        // compares bytes as unsigned char, so the map's own order is that order.
        out += '{';
        bool first = true;
        std::string prev;
        for (auto it = v.begin(); it != v.end(); ++it) {
            DVI_FUZZ_CHECK(first || prev < it.key(), "object keys are strictly increasing");
            if (!first) out += ',';
            first = false;
            prev = it.key();
            python_string(it.key(), out);
            out += ':';
            python_dumps(it.value(), out);
        }
        out += '}';
        break;
    }
    default: DVI_FUZZ_CHECK(false, "canonical_dump refuses floats, binary and discarded values");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes = dvi_fuzz::as_text(data, size);
    auto parsed = dvi::canonical_parse(bytes);
    if (parsed) {
        auto back = dvi::canonical_dump(*parsed);
        DVI_FUZZ_CHECK(back.ok(), "an accepted value can be dumped");
        DVI_FUZZ_CHECK(*back == bytes, "canonical_dump(canonical_parse(b)) == b");
        DVI_FUZZ_CHECK(dvi::is_record_id(dvi::record_id_of(bytes)), "record ids are well formed");
    }

    // The same bytes read as any JSON, without the canonical checks.
    const dvi::Json any = dvi::Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
    if (any.is_discarded()) {
        DVI_FUZZ_CHECK(!parsed, "canonical_parse accepts only JSON");
        return 0;
    }
    if (parsed) DVI_FUZZ_CHECK(dvi_test::same_types(*parsed, any), "canonical_parse gives the value and types Json::parse gives");
    auto canonical = dvi::canonical_dump(any);
    DVI_FUZZ_CHECK(parsed.ok() == (canonical.ok() && *canonical == bytes),
                   "canonical_parse accepts exactly the bytes that are their own canonical form");
    if (!canonical) return 0;
    auto again = dvi::canonical_parse(*canonical);
    DVI_FUZZ_CHECK(again.ok(), "a canonical form is accepted");
    DVI_FUZZ_CHECK(*again == any, "a canonical form reads back as the same value");
    std::string python;
    python_dumps(any, python);
    DVI_FUZZ_CHECK(python == *canonical, "canonical_dump equals Python's json.dumps(sort_keys, separators, ensure_ascii=False)");
    return 0;
}
