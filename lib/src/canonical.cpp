#include "dvi/canonical.hpp"

#include "dvi/crypto.hpp"

namespace dvi {

namespace {
constexpr std::int64_t k_max_safe = (std::int64_t{1} << 53) - 1;

Status check_values(const Json& v, const std::string& where) {
    switch (v.type()) {
    case Json::value_t::number_float:
        return make_error(Errc::invalid_input, "non-integer number at '" + where + "'",
                          "decimal quantities are strings with units, e.g. \"0.2 mm\"");
    case Json::value_t::number_integer: {
        auto n = v.get<std::int64_t>();
        if (n > k_max_safe || n < -k_max_safe)
            return make_error(Errc::invalid_input, "integer out of range at '" + where + "'");
        return {};
    }
    case Json::value_t::number_unsigned:
        if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(k_max_safe))
            return make_error(Errc::invalid_input, "integer out of range at '" + where + "'");
        return {};
    case Json::value_t::object:
        for (auto it = v.begin(); it != v.end(); ++it) DVI_CHECK(check_values(it.value(), where + "/" + it.key()));
        return {};
    case Json::value_t::array:
        for (std::size_t i = 0; i < v.size(); ++i) DVI_CHECK(check_values(v[i], where + "/" + std::to_string(i)));
        return {};
    case Json::value_t::binary:
    case Json::value_t::discarded:
        return make_error(Errc::invalid_input, "unsupported value at '" + where + "'");
    default:
        return {};
    }
}
}  // namespace

Result<std::string> canonical_dump(const Json& value) {
    DVI_CHECK(check_values(value, ""));
    try {
        return value.dump(-1, ' ', false, Json::error_handler_t::strict);
    } catch (const Json::exception& e) {
        return make_error(Errc::invalid_input, std::string("cannot encode JSON: ") + e.what());
    }
}

Result<Json> canonical_parse(std::string_view bytes) {
    Json v;
    try {
        v = Json::parse(bytes.begin(), bytes.end());
    } catch (const Json::exception& e) {
        return make_error(Errc::invalid_input, std::string("invalid JSON: ") + e.what());
    }
    auto back = canonical_dump(v);
    if (!back) return back.error();
    if (*back != bytes)
        return make_error(Errc::invalid_input, "JSON is not in canonical form (key order, white space, "
                                               "duplicate keys or escapes differ)");
    return v;
}

std::string record_id_of(std::string_view canonical_bytes) { return "sha256:" + crypto::sha256_hex(canonical_bytes); }

bool is_record_id(std::string_view s) {
    if (s.size() != 71 || s.substr(0, 7) != "sha256:") return false;
    for (char c : s.substr(7))
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace dvi
