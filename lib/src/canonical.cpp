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

namespace {
// Reads bytes that are already canonical in one pass, building the value as it checks
// that each byte is the one canonical_dump would write. Anything else, and nesting
// deeper than k_max_depth, makes it give up: the caller then takes the full path
// (parse, dump, compare), which accepts exactly the same bytes and says what is wrong.
// The value has the types Json::parse gives: non-negative integers unsigned.
class CanonicalReader {
public:
    explicit CanonicalReader(std::string_view bytes) : m_s(bytes) {}

    bool read(Json& out) { return value(out, 0) && m_i == m_s.size(); }

private:
    static constexpr int k_max_depth = 128;
    static constexpr std::uint64_t k_max_integer = (std::uint64_t{1} << 53) - 1;

    bool eat(char c) {
        if (m_i >= m_s.size() || m_s[m_i] != c) return false;
        ++m_i;
        return true;
    }
    bool word(std::string_view w) {
        if (m_s.substr(m_i, w.size()) != w) return false;
        m_i += w.size();
        return true;
    }
    unsigned char at(std::size_t k) const { return k < m_s.size() ? static_cast<unsigned char>(m_s[k]) : 0; }

    bool value(Json& out, int depth) {
        if (m_i >= m_s.size()) return false;
        switch (m_s[m_i]) {
        case '{': return object(out, depth + 1);
        case '[': return array(out, depth + 1);
        case '"': {
            std::string text;
            if (!string(text)) return false;
            out = std::move(text);
            return true;
        }
        case 't': out = true; return word("true");
        case 'f': out = false; return word("false");
        case 'n': out = nullptr; return word("null");
        default: return number(out);
        }
    }

    bool object(Json& out, int depth) {
        if (depth > k_max_depth) return false;
        ++m_i;
        out = Json::object();
        auto& map = out.get_ref<Json::object_t&>();
        if (eat('}')) return true;
        const std::string* previous = nullptr;
        do {
            std::string key;
            if (!string(key) || !eat(':')) return false;
            if (previous && !(*previous < key)) return false;  // sorted, no duplicates
            Json v;
            if (!value(v, depth)) return false;
            auto it = map.emplace_hint(map.end(), std::move(key), std::move(v));
            previous = &it->first;
        } while (eat(','));
        return eat('}');
    }

    bool array(Json& out, int depth) {
        if (depth > k_max_depth) return false;
        ++m_i;
        out = Json::array();
        auto& items = out.get_ref<Json::array_t&>();
        if (eat(']')) return true;
        do {
            items.emplace_back();
            if (!value(items.back(), depth)) return false;
        } while (eat(','));
        return eat(']');
    }

    // -?(0|[1-9][0-9]*) within +-(2^53 - 1); "-0", fractions and exponents are not canonical.
    bool number(Json& out) {
        const bool negative = eat('-');
        const std::size_t start = m_i;
        std::uint64_t n = 0;
        while (m_i < m_s.size() && m_s[m_i] >= '0' && m_s[m_i] <= '9') {
            if (m_i - start >= 16) return false;
            n = n * 10 + static_cast<std::uint64_t>(m_s[m_i] - '0');
            ++m_i;
        }
        const std::size_t digits = m_i - start;
        if (digits == 0 || (digits > 1 && m_s[start] == '0') || n > k_max_integer || (negative && n == 0)) return false;
        if (m_i < m_s.size() && (m_s[m_i] == '.' || m_s[m_i] == 'e' || m_s[m_i] == 'E')) return false;
        if (negative) out = -static_cast<std::int64_t>(n);
        else out = n;
        return true;
    }

    // A string as canonical_dump writes it: '"' and '\\' escaped, control characters
    // as \b \f \n \r \t or \u00xx (lower-case hex), everything else raw and valid UTF-8.
    bool string(std::string& out) {
        if (!eat('"')) return false;
        std::size_t run = m_i;
        for (;;) {
            const unsigned char c = at(m_i);
            if (m_i >= m_s.size() || c < 0x20) return false;
            if (c == '"') break;
            if (c < 0x80 && c != '\\') {
                ++m_i;
                continue;
            }
            out.append(m_s.data() + run, m_i - run);
            if (c == '\\') {
                if (!escape(out)) return false;
            } else {
                const std::size_t n = utf8_length(m_i);
                if (n == 0) return false;
                out.append(m_s.data() + m_i, n);
                m_i += n;
            }
            run = m_i;
        }
        out.append(m_s.data() + run, m_i - run);
        ++m_i;
        return true;
    }

    bool escape(std::string& out) {
        const unsigned char e = at(m_i + 1);
        m_i += 2;
        switch (e) {
        case '"': out += '"'; return true;
        case '\\': out += '\\'; return true;
        case 'b': out += '\b'; return true;
        case 'f': out += '\f'; return true;
        case 'n': out += '\n'; return true;
        case 'r': out += '\r'; return true;
        case 't': out += '\t'; return true;
        case 'u': break;
        default: return false;
        }
        // Only \u00xx for a control character without a short escape.
        auto hex = [](unsigned char h) { return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1; };
        if (at(m_i) != '0' || at(m_i + 1) != '0') return false;
        const int hi = hex(at(m_i + 2)), lo = hex(at(m_i + 3));
        if (hi < 0 || hi > 1 || lo < 0) return false;
        const char c = static_cast<char>(hi * 16 + lo);
        if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t') return false;
        m_i += 4;
        out += c;
        return true;
    }

    // The length of the well-formed UTF-8 sequence at k (RFC 3629), or 0.
    std::size_t utf8_length(std::size_t k) const {
        const unsigned char c = at(k);
        auto cont = [&](std::size_t j, unsigned char lo = 0x80, unsigned char hi = 0xbf) {
            return at(k + j) >= lo && at(k + j) <= hi;
        };
        if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
        if (c == 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
        if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) return cont(1) && cont(2) ? 3 : 0;
        if (c == 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
        if (c == 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
        if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
        if (c == 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
        return 0;
    }

    std::string_view m_s;
    std::size_t m_i = 0;
};
}  // namespace

Result<Json> canonical_parse(std::string_view bytes) {
    // Records are read far more often than written (an audit reads every one): the
    // one-pass reader answers for canonical bytes, the full path for everything else.
    if (Json fast; CanonicalReader(bytes).read(fast)) return fast;
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
