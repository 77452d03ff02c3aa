// util/encoding: hex and base64 (RFC 4648) round trips, the RFC's test vectors,
// strict rejection of malformed input, and line wrapping.
#include <catch2/catch.hpp>

#include <random>
#include <sstream>

#include "dvi/util/encoding.hpp"

using namespace dvi::util;

namespace {

Bytes pseudo_random(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    Bytes out(n);
    for (auto& b : out) b = static_cast<std::uint8_t>(gen() & 0xff);
    return out;
}

Bytes all_byte_values() {
    Bytes b(256);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i);
    return b;
}

}  // namespace

TEST_CASE("hex_encode writes two lower-case digits per byte") {
    CHECK(hex_encode(Bytes{}) == "");
    CHECK(hex_encode(Bytes{0x00, 0x01, 0x7f, 0x80, 0xab, 0xff}) == "00017f80abff");
    auto all = hex_encode(all_byte_values());
    REQUIRE(all.size() == 512);
    CHECK(all.substr(0, 8) == "00010203");
    CHECK(all.substr(504) == "fcfdfeff");
}

TEST_CASE("hex round trips every byte value and random data") {
    auto all = all_byte_values();
    auto back = hex_decode(hex_encode(all));
    REQUIRE(back);
    CHECK(*back == all);
    for (std::size_t n : {0u, 1u, 31u, 32u, 33u, 1000u}) {
        auto data = pseudo_random(n, static_cast<unsigned>(n));
        auto round = hex_decode(hex_encode(data));
        REQUIRE(round);
        CHECK(*round == data);
    }
    auto empty = hex_decode("");
    REQUIRE(empty);
    CHECK(empty->empty());
}

TEST_CASE("hex_decode refuses odd lengths, upper case and non-hex characters") {
    CHECK_FALSE(hex_decode("a"));
    CHECK_FALSE(hex_decode("abc"));
    CHECK_FALSE(hex_decode("AB"));
    CHECK_FALSE(hex_decode("aB"));
    CHECK_FALSE(hex_decode("0g"));
    CHECK_FALSE(hex_decode("zz"));
    CHECK_FALSE(hex_decode("00 1"));
    CHECK_FALSE(hex_decode(" 0"));
    CHECK_FALSE(hex_decode("0x"));
    CHECK_FALSE(hex_decode(std::string("0\0", 2)));
    CHECK_FALSE(hex_decode("\xc3\xa9"));
    CHECK_FALSE(hex_decode("deadbeef0-"));
}

TEST_CASE("base64 matches the RFC 4648 section 10 test vectors") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        INFO("plain: '" << plain << "'");
        CHECK(base64_encode(to_bytes(plain)) == encoded);
        auto decoded = base64_decode(encoded);
        REQUIRE(decoded);
        CHECK(to_string(*decoded) == plain);
    }
}

TEST_CASE("base64 uses the standard alphabet including + and /") {
    CHECK(base64_encode(Bytes{0xfb, 0xff, 0xbf}) == "+/+/");
    CHECK(base64_encode(Bytes{0x00, 0x00, 0x00}) == "AAAA");
    CHECK(base64_encode(Bytes{0xff}) == "/w==");
    auto d = base64_decode("+/+/");
    REQUIRE(d);
    CHECK(*d == Bytes{0xfb, 0xff, 0xbf});
}

TEST_CASE("base64 round trips every length from 0 to 300, wrapped or not") {
    for (std::size_t n = 0; n <= 300; ++n) {
        auto data = pseudo_random(n, static_cast<unsigned>(n) + 7u);
        auto plain = base64_encode(data);
        CHECK(plain.size() == (n + 2) / 3 * 4);
        auto back = base64_decode(plain);
        REQUIRE(back);
        CHECK(*back == data);
        auto wrapped = base64_encode(data, 70);
        auto back_wrapped = base64_decode(wrapped);
        REQUIRE(back_wrapped);
        CHECK(*back_wrapped == data);
    }
    auto all = all_byte_values();
    auto back = base64_decode(base64_encode(all));
    REQUIRE(back);
    CHECK(*back == all);
}

TEST_CASE("base64_encode wraps lines at the given width without a trailing newline") {
    auto data = pseudo_random(48, 1);  // 64 characters
    auto plain = base64_encode(data);
    REQUIRE(plain.size() == 64);

    auto wrapped = base64_encode(data, 16);
    CHECK(wrapped == plain.substr(0, 16) + "\n" + plain.substr(16, 16) + "\n" + plain.substr(32, 16) + "\n" +
                         plain.substr(48, 16));

    // 100 bytes -> 136 characters -> one line of 70 and one of 66.
    auto longer = pseudo_random(100, 2);
    auto w70 = base64_encode(longer, 70);
    auto nl = w70.find('\n');
    REQUIRE(nl == 70);
    CHECK(w70.find('\n', nl + 1) == std::string::npos);
    CHECK(w70.size() == 136 + 1);
    CHECK(w70.back() != '\n');

    // Every line at most `wrap` long, and removing the newlines gives the unwrapped text.
    for (std::size_t wrap : {1u, 3u, 4u, 7u, 64u, 76u}) {
        auto w = base64_encode(longer, wrap);
        std::istringstream lines(w);
        std::string line, joined;
        while (std::getline(lines, line)) {
            CHECK(!line.empty());
            CHECK(line.size() <= wrap);
            joined += line;
        }
        CHECK(joined == base64_encode(longer));
    }
    // Wrapping exactly at the end adds no empty line.
    CHECK(base64_encode(pseudo_random(3, 3), 4).find('\n') == std::string::npos);
}

TEST_CASE("base64_decode skips white space between symbols") {
    auto d = base64_decode("Zm9v\nYmFy");
    REQUIRE(d);
    CHECK(to_string(*d) == "foobar");
    d = base64_decode(" Zm 9v\r\nYm\tE= \n");
    REQUIRE(d);
    CHECK(to_string(*d) == "fooba");
}

TEST_CASE("base64_decode refuses bad length, padding and characters outside the alphabet") {
    const char* bad[] = {
        "Zg",        // missing padding
        "Zg=",       // short padding
        "Zm9vY",     // 5 symbols
        "Z===",      // three padding characters
        "====",      // only padding
        "Zg==Zg==",  // data after padding
        "Zm=v",      // padding in the middle
        "Zm9v!A==",  // '!' is not in the alphabet
        "Zm9v-_==",  // the URL-safe alphabet is not accepted
        "Zm9v.A==",
        "Zm9v\x01",
        "Zm9\xc3\xa9",
        "Zm9v====",
    };
    for (const char* s : bad) {
        INFO("input: " << s);
        CHECK_FALSE(base64_decode(s));
    }
    CHECK_FALSE(base64_decode(std::string("Zm9v\0AAA", 8)));
}

TEST_CASE("to_bytes and to_string are inverse and keep NUL bytes") {
    std::string s("a\0b\xff", 4);
    auto b = to_bytes(s);
    REQUIRE(b.size() == 4);
    CHECK(b[1] == 0);
    CHECK(b[3] == 0xff);
    CHECK(to_string(b) == s);
}

TEST_CASE("control characters: C0 and DEL, C1, bidirectional overrides; tab and line feed only where allowed",
          "[encoding]") {
    using dvi::util::control_char_in;
    using dvi::util::LineBreaks;
    CHECK_FALSE(control_char_in("Mounting bracket, 0.2 mm — Prüfbericht", LineBreaks::refused));
    CHECK_FALSE(control_char_in("two\tcolumns\nand lines", LineBreaks::allowed));
    auto tab = control_char_in("two\tcolumns", LineBreaks::refused);
    REQUIRE(tab);
    CHECK(tab->at == 3);
    CHECK(tab->name() == "U+0009");
    auto esc = control_char_in("red \x1b[31m", LineBreaks::allowed);
    REQUIRE(esc);
    CHECK(esc->at == 4);
    CHECK(esc->name() == "U+001B");
    CHECK(control_char_in(std::string_view("A\0B", 3), LineBreaks::allowed)->name() == "U+0000");
    CHECK(control_char_in("carriage\rreturn", LineBreaks::allowed)->name() == "U+000D");
    CHECK(control_char_in("del\x7f", LineBreaks::allowed)->name() == "U+007F");
    CHECK(control_char_in("c1 \xc2\x9b", LineBreaks::allowed)->name() == "U+009B");
    CHECK_FALSE(control_char_in("nbsp\xc2\xa0", LineBreaks::refused));  // U+00A0 is text
    auto rlo = control_char_in(
        "abc\xe2\x80\xae"
        "fdp.exe",
        LineBreaks::allowed);
    REQUIRE(rlo);
    CHECK(rlo->at == 3);
    CHECK(rlo->name() == "U+202E");
    CHECK(control_char_in("\xe2\x81\xa6x", LineBreaks::allowed)->name() == "U+2066");
    CHECK_FALSE(control_char_in("\xe2\x80\x94 dash \xe2\x81\xa0", LineBreaks::refused));  // U+2014, U+2060
    // A sequence cut short at the end is not read past.
    CHECK_FALSE(control_char_in("x\xc2", LineBreaks::refused));
    CHECK_FALSE(control_char_in("x\xe2\x80", LineBreaks::refused));
}

TEST_CASE("escape_controls writes each control character as an escape and leaves other text alone", "[encoding]") {
    using dvi::util::escape_controls;
    CHECK(escape_controls("plain text, Pr\xc3\xbc"
                          "fbericht") ==
          "plain text, Pr\xc3\xbc"
          "fbericht");
    CHECK(escape_controls("a\nb\tc") == "a\\nb\\tc");
    CHECK(escape_controls("red \x1b[31m!") == "red \\x1b[31m!");
    CHECK(escape_controls(std::string_view("A\0B\x7f", 4)) == "A\\x00B\\x7f");
    CHECK(escape_controls("c1 \xc2\x85 end") == "c1 \\u0085 end");
    CHECK(escape_controls("abc\xe2\x80\xae"
                          "fdp") == "abc\\u202Efdp");
    CHECK(escape_controls("") == "");
}

TEST_CASE("count_of: a count and its noun, singular for one", "[encoding]") {
    CHECK(dvi::util::count_of(1, "job") == "1 job");
    CHECK(dvi::util::count_of(0, "part") == "0 parts");
    CHECK(dvi::util::count_of(100, "job") == "100 jobs");
}
