// Byte encodings: hex and base64 (RFC 4648), used for ids, keys and armor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dvi::util {

using Bytes = std::vector<std::uint8_t>;

std::string hex_encode(const std::uint8_t* data, std::size_t size);
inline std::string hex_encode(const Bytes& b) { return hex_encode(b.data(), b.size()); }
// Lower-case hex of [0-9a-f]; nullopt on odd length or any other character.
std::optional<Bytes> hex_decode(std::string_view hex);

// Base64 with padding; `wrap` > 0 inserts a newline every `wrap` characters.
std::string base64_encode(const std::uint8_t* data, std::size_t size, std::size_t wrap = 0);
inline std::string base64_encode(const Bytes& b, std::size_t wrap = 0) {
    return base64_encode(b.data(), b.size(), wrap);
}
// Strict decode; white space is skipped, anything else outside the alphabet fails.
std::optional<Bytes> base64_decode(std::string_view text);

// The offset of the first byte that is not part of well-formed UTF-8 (no overlong forms,
// surrogates or code points above U+10FFFF), or npos when all of `s` is.
std::size_t utf8_invalid_at(std::string_view s);
// The number of characters (code points) of well-formed UTF-8 `s`, as JSON Schema's
// minLength and maxLength count them.
std::size_t utf8_length(std::string_view s);

// Whether a tab and a line feed count as text (a manifest's notes) or not (a value given
// on the command line).
enum class LineBreaks { allowed, refused };
// A character that would act on a terminal or hide what text says rather than be read:
// a C0 control (but tab and line feed when allowed), DEL, a C1 control (U+0080 to
// U+009F), or a bidirectional override or isolate (U+202A to U+202E, U+2066 to U+2069).
struct ControlChar {
    std::size_t at = 0;        // byte offset in the text
    char32_t code = 0;         // its code point
    std::string name() const;  // "U+001B"
};
// The first such character of UTF-8 text `s`, if any.
std::optional<ControlChar> control_char_in(std::string_view s, LineBreaks breaks);
// `s` with each of those characters (tab and line feed included) written as an escape,
// \n, \t, \x1b or \u202e, for a message that must not act on a terminal or forge a line.
std::string escape_controls(std::string_view s);

// "1 job", "2 jobs": a count and its noun, plural by adding "s" (the nouns dvi counts
// take it: job, part, file, record, unit).
std::string count_of(std::int64_t n, std::string_view noun);

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string to_string(const Bytes& b) { return std::string(b.begin(), b.end()); }

}  // namespace dvi::util
