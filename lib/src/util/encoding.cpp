#include "dvi/util/encoding.hpp"

#include <array>

namespace dvi::util {

namespace {
constexpr char k_hex[] = "0123456789abcdef";
constexpr char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

constexpr std::array<int, 256> make_b64_table() {
    std::array<int, 256> t{};
    for (auto& v : t) v = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(k_b64[i])] = i;
    return t;
}
constexpr auto k_b64_table = make_b64_table();
}  // namespace

std::string hex_encode(const std::uint8_t* data, std::size_t size) {
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(k_hex[data[i] >> 4]);
        out.push_back(k_hex[data[i] & 0xf]);
    }
    return out;
}

std::optional<Bytes> hex_decode(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    Bytes out(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return out;
}

std::string base64_encode(const std::uint8_t* data, std::size_t size, std::size_t wrap) {
    std::string out;
    out.reserve((size + 2) / 3 * 4 + (wrap ? size / wrap + 1 : 0));
    std::size_t col = 0;
    auto put = [&](char c) {
        if (wrap && col == wrap) {
            out.push_back('\n');
            col = 0;
        }
        out.push_back(c);
        ++col;
    };
    std::size_t i = 0;
    for (; i + 2 < size; i += 3) {
        std::uint32_t v = std::uint32_t(data[i]) << 16 | std::uint32_t(data[i + 1]) << 8 | data[i + 2];
        put(k_b64[v >> 18 & 63]);
        put(k_b64[v >> 12 & 63]);
        put(k_b64[v >> 6 & 63]);
        put(k_b64[v & 63]);
    }
    if (i + 1 == size) {
        std::uint32_t v = std::uint32_t(data[i]) << 16;
        put(k_b64[v >> 18 & 63]);
        put(k_b64[v >> 12 & 63]);
        put('=');
        put('=');
    } else if (i + 2 == size) {
        std::uint32_t v = std::uint32_t(data[i]) << 16 | std::uint32_t(data[i + 1]) << 8;
        put(k_b64[v >> 18 & 63]);
        put(k_b64[v >> 12 & 63]);
        put(k_b64[v >> 6 & 63]);
        put('=');
    }
    return out;
}

std::optional<Bytes> base64_decode(std::string_view text) {
    Bytes out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    int pad = 0;
    std::size_t symbols = 0;
    for (char c : text) {
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '=') {
            ++pad;
            ++symbols;
            continue;
        }
        if (pad) return std::nullopt;  // data after padding
        int v = k_b64_table[static_cast<unsigned char>(c)];
        if (v < 0) return std::nullopt;
        ++symbols;
        acc = acc << 6 | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>(acc >> bits & 0xff));
        }
    }
    if (symbols % 4 != 0 || pad > 2) return std::nullopt;
    return out;
}

std::size_t utf8_invalid_at(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x80) {
            ++i;
            continue;
        }
        std::size_t len;
        std::uint32_t cp, min;
        if ((b & 0xE0) == 0xC0) len = 2, cp = b & 0x1Fu, min = 0x80;
        else if ((b & 0xF0) == 0xE0) len = 3, cp = b & 0x0Fu, min = 0x800;
        else if ((b & 0xF8) == 0xF0) len = 4, cp = b & 0x07u, min = 0x10000;
        else return i;
        if (i + len > s.size()) return i;
        for (std::size_t k = 1; k < len; ++k) {
            auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (c & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += len;
    }
    return std::string_view::npos;
}

std::string ControlChar::name() const {
    static const char* d = "0123456789ABCDEF";
    std::string out = "U+";
    for (int shift = 12; shift >= 0; shift -= 4) out += d[(code >> shift) & 15];
    return out;
}

std::optional<ControlChar> control_char_in(std::string_view s, LineBreaks breaks) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if (b < 0x20 || b == 0x7F) {
            if (breaks == LineBreaks::allowed && (b == '\t' || b == '\n')) continue;
            return ControlChar{i, b};
        }
        const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0u;
        if (b == 0xC2 && next >= 0x80 && next <= 0x9F) return ControlChar{i, next};  // U+0080..U+009F
        if (b == 0xE2 && i + 2 < s.size()) {
            const auto third = static_cast<unsigned char>(s[i + 2]);
            const char32_t code = 0x2000 + ((next & 0x3Fu) << 6) + (third & 0x3Fu);
            if ((next == 0x80 && third >= 0xAA && third <= 0xAE) || (next == 0x81 && third >= 0xA6 && third <= 0xA9))
                return ControlChar{i, code};
        }
    }
    return std::nullopt;
}

std::string escape_controls(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    while (!s.empty()) {
        const auto c = control_char_in(s, LineBreaks::refused);
        const std::size_t at = c ? c->at : s.size();
        out.append(s.substr(0, at));
        if (!c) break;
        static const char* d = "0123456789abcdef";
        std::size_t width = 1;
        if (c->code == '\n')
            out += "\\n";
        else if (c->code == '\t')
            out += "\\t";
        else if (c->code < 0x80)
            out += std::string("\\x") + d[c->code >> 4] + d[c->code & 15];
        else {
            out += "\\u" + c->name().substr(2);
            width = c->code < 0x800 ? 2 : 3;
        }
        s.remove_prefix(at + width);
    }
    return out;
}

std::string count_of(std::int64_t n, std::string_view noun) {
    return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;  // not a continuation byte
    return n;
}

}  // namespace dvi::util
