// canonical: the byte form records are hashed in. Key order, no white space, integers
// only, strict parsing of already-canonical bytes, string escaping, record ids, and a
// byte-for-byte comparison with Python's json.dumps, the reference the format names.
#include <catch2/catch.hpp>

#include <limits>

#include "../json_types.hpp"
#include "dvi/canonical.hpp"
#include "dvi/crypto.hpp"
#include "helpers.hpp"

using namespace dvi;

namespace {
std::string dump(const Json& j) {
    auto r = canonical_dump(j);
    REQUIRE(r.ok());
    return *r;
}
}  // namespace

TEST_CASE("canonical_dump sorts keys at every level and writes no white space") {
    Json j = Json::parse(R"({ "b" : 1, "a" : [ 3, 2, { "z" : null, "y" : true } ], "c" : { "k2" : "v w", "k1" : false } })");
    CHECK(dump(j) == R"({"a":[3,2,{"y":true,"z":null}],"b":1,"c":{"k1":false,"k2":"v w"}})");
    CHECK(dump(Json::object()) == "{}");
    CHECK(dump(Json::array()) == "[]");
    CHECK(dump(Json(nullptr)) == "null");
    CHECK(dump(Json("")) == "\"\"");
    // Upper case sorts before lower case: order is by code point, not alphabetical.
    CHECK(dump(Json{{"b", 1}, {"B", 2}, {"a", 3}, {"A", 4}, {"_", 5}}) == R"({"A":4,"B":2,"_":5,"a":3,"b":1})");
}

TEST_CASE("canonical_dump refuses floats and names where they are") {
    auto r = canonical_dump(Json{{"outer", {{"x", 0.2}}}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_input);
    CHECK_THAT(r.error().message, Catch::Contains("/outer/x"));
    CHECK_FALSE(r.error().hint.empty());

    CHECK_FALSE(canonical_dump(Json(1.0)).ok());  // integral value, but a float
    CHECK_FALSE(canonical_dump(Json::array({1, 2, 3.5})).ok());
    auto in_array = canonical_dump(Json{{"list", Json::array({1, 2.5})}});
    REQUIRE_FALSE(in_array.ok());
    CHECK_THAT(in_array.error().message, Catch::Contains("/list/1"));
}

TEST_CASE("canonical_dump accepts integers up to 2^53-1 in magnitude and refuses larger ones") {
    const std::int64_t max_safe = (std::int64_t{1} << 53) - 1;
    CHECK(dump(Json(max_safe)) == "9007199254740991");
    CHECK(dump(Json(-max_safe)) == "-9007199254740991");
    CHECK(dump(Json(std::uint64_t{9007199254740991u})) == "9007199254740991");
    CHECK(dump(Json(0)) == "0");
    CHECK(dump(Json(-1)) == "-1");

    for (const Json& big : {Json(max_safe + 1), Json(-max_safe - 1), Json(std::uint64_t{9007199254740992u}),
                            Json(std::numeric_limits<std::uint64_t>::max()),
                            Json(std::numeric_limits<std::int64_t>::min())}) {
        INFO(big.dump());
        auto r = canonical_dump(Json{{"n", big}});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid_input);
        CHECK_THAT(r.error().message, Catch::Contains("out of range"));
    }
}

TEST_CASE("canonical_dump keeps non-ASCII text as raw UTF-8") {
    CHECK(dump(Json("caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac")) == "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac\"");
    CHECK(dump(Json{{"\xc3\xa9", 1}}) == "{\"\xc3\xa9\":1}");
}

TEST_CASE("canonical_dump escapes control characters as lower-case \\u00XX, quotes and backslashes") {
    CHECK(dump(Json(std::string("\x01", 1))) == R"("\u0001")");
    CHECK(dump(Json(std::string("\x1f", 1))) == R"("\u001f")");
    CHECK(dump(Json(std::string("\x0b", 1))) == R"("\u000b")");
    CHECK(dump(Json(std::string("\0", 1))) == R"("\u0000")");
    CHECK(dump(Json("\b\f\n\r\t")) == R"("\b\f\n\r\t")");
    CHECK(dump(Json("say \"hi\" \\ /")) == R"("say \"hi\" \\ /")");
    CHECK(dump(Json("\x7f")) == "\"\x7f\"");  // DEL is not a control character in JSON
}

TEST_CASE("canonical_dump refuses invalid UTF-8") {
    for (const char* s : {"\xff", "\xc3", "a\xc3(", "\xed\xa0\x80", "\xc0\xaf"}) {
        auto r = canonical_dump(Json{{"k", s}});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid_input);
    }
    CHECK_FALSE(canonical_dump(Json{{"\xff", 1}}).ok());
}

TEST_CASE("canonical_parse accepts canonical bytes and returns the value") {
    const std::string text = R"({"a":[1,-2,{"b":null}],"c":"caf)"
                             "\xc3\xa9"
                             R"( \u0001 \"q\" \\","d":true})";
    auto r = canonical_parse(text);
    REQUIRE(r.ok());
    CHECK((*r)["a"][1] == -2);
    CHECK((*r)["c"] == "caf\xc3\xa9 \x01 \"q\" \\");
    CHECK(dump(*r) == text);
}

TEST_CASE("canonical_parse refuses anything whose canonical form differs") {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"a": 1})", "white space after colon"},
        {R"({ "a":1})", "white space inside braces"},
        {R"( {"a":1})", "leading white space"},
        {"{\"a\":1}\n", "trailing newline"},
        {R"({"b":1,"a":2})", "unsorted keys"},
        {R"({"a":{"d":1,"c":2}})", "unsorted nested keys"},
        {R"({"a":1,"a":2})", "duplicate keys"},
        {R"({"a":1,"a":1})", "duplicate keys with the same value"},
        {R"([1.0])", "a float"},
        {R"([0.2])", "a decimal"},
        {R"([1e2])", "an exponent"},
        {R"([-0])", "negative zero"},
        {R"([01])", "a leading zero"},
        {R"([9007199254740992])", "an integer beyond 2^53-1"},
        {R"([123456789012345678901234567890])", "a huge integer"},
        {R"(["\u0041"])", "an unnecessary escape"},
        {R"(["\/"])", "an escaped slash"},
        {R"(["caf\u00e9"])", "escaped non-ASCII"},
        {R"(["\u001F"])", "an upper-case hex escape"},
        {"[\"\x01\"]", "a raw control character"},
        {"[\"\xff\"]", "invalid UTF-8"},
        {"[\"\xc0\x80\"]", "an overlong UTF-8 sequence"},
        {"[\"\xed\xa0\x80\"]", "a UTF-8 surrogate"},
        {"[\"\xf4\x90\x80\x80\"]", "UTF-8 beyond U+10FFFF"},
        {"[\"\xe2\x82\"]", "a truncated UTF-8 sequence"},
        {R"(["\u0008"])", "a control character that has a short escape"},
        {R"(["\ud83d\ude00"])", "an escaped surrogate pair"},
        {R"(["\x41"])", "an unknown escape"},
        {R"([1,])", "a trailing comma"},
        {R"([-])", "a lone minus"},
        {R"([tru])", "a truncated literal"},
        {R"({"a"})", "a key without a value"},
        {"\xef\xbb\xbf{}", "a byte order mark"},
        {R"({"a":1)", "truncated"},
        {"", "empty"},
        {"{}{}", "two values"},
    };
    for (const auto& [text, why] : cases) {
        INFO(why << ": " << text);
        auto r = canonical_parse(text);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::invalid_input);
    }
}

TEST_CASE("canonical_parse gives the value and the types Json::parse gives") {
    const std::string deep = std::string(300, '[') + "1" + std::string(300, ']');  // deeper than the one-pass reader goes
    const std::string cases[] = {
        R"([0,7,9007199254740991,-1,-9007199254740991])",
        R"(["\b\f\n\r\t\u0000\u001f","\"","\\",""])",
        "[\"\xf0\x9f\x98\x80 \xe2\x82\xac \xc3\xa9 \x7f\"]",
        R"({"":{},"a":[],"b":[[],{}],"c":{"d":{"e":null}},"f":true,"g":false})",
        R"("a string alone")",
        R"(42)",
        deep,
    };
    for (const auto& text : cases) {
        INFO(text.substr(0, 80));
        auto r = canonical_parse(text);
        REQUIRE(r.ok());
        CHECK(dvi_test::same_types(*r, Json::parse(text)));
        CHECK(dump(*r) == text);
    }
}

TEST_CASE("record_id_of is sha256 of the exact bytes") {
    // printf '%s' '{}' | sha256sum
    CHECK(record_id_of("{}") == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    // printf '%s' '{"a":1}' | sha256sum
    CHECK(record_id_of(R"({"a":1})") == "sha256:015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862");
    // printf '' | sha256sum
    CHECK(record_id_of("") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(record_id_of("{} ") != record_id_of("{}"));
    CHECK(is_record_id(record_id_of("{}")));
}

TEST_CASE("is_record_id wants sha256: and exactly 64 lower-case hex digits") {
    const std::string hex64 = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    CHECK(is_record_id("sha256:" + hex64));
    CHECK_FALSE(is_record_id(hex64));
    CHECK_FALSE(is_record_id("sha256:" + hex64.substr(1)));
    CHECK_FALSE(is_record_id("sha256:" + hex64 + "0"));
    CHECK_FALSE(is_record_id("SHA256:" + hex64));
    CHECK_FALSE(is_record_id("sha512:" + hex64));
    CHECK_FALSE(is_record_id("sha256:" + hex64.substr(0, 63) + "A"));
    CHECK_FALSE(is_record_id("sha256:" + hex64.substr(0, 63) + "g"));
    CHECK_FALSE(is_record_id(""));
}

TEST_CASE("canonical_dump equals Python's json.dumps(sort_keys=True, separators=(',',':'), ensure_ascii=False)") {
    dvi_test::TempDir t;
    // ASCII source with escapes, white space and unsorted keys; both sides parse it.
    // Keys cover code point order where UTF-16 order differs (U+FB01 vs U+1F600).
    const std::string source = R"({
  "z": 1,
  "\u00e9": {"b": [1, -2, 9007199254740991, [], {}], "a": "quote \" backslash \\ slash \/"},
  "A": "controls \u0000 \u0001 \u001f \u007f \b \f \n \r \t end",
  "a": {"": true, "B": false, "b": null, "\ufb01": "ligature", "\ud83d\ude00": "emoji key"},
  "emoji": "\ud83d\ude00 caf\u00e9 \u20ac \u2028 \u00ff",
  "Z": [{"y": {"x": [{"w": "deep"}]}}, "\u0100", -9007199254740991, 0],
  "~": "tilde",
  "\u0100": "A with macron",
  "\u00ff": "y with diaeresis"
})";
    dvi_test::write_text(t / "in.json", source);
    auto res = dvi_test::run(
        "python3 -c 'import json,sys\n"
        "d = json.load(open(sys.argv[1], encoding=\"utf-8\"))\n"
        "s = json.dumps(d, sort_keys=True, separators=(\",\", \":\"), ensure_ascii=False)\n"
        "open(sys.argv[2], \"wb\").write(s.encode(\"utf-8\"))' " +
        dvi_test::shq(t / "in.json") + " " + dvi_test::shq(t / "out.json"));
    INFO(res.output);
    REQUIRE(res.status == 0);
    const std::string python = dvi_test::read_text(t / "out.json");

    const std::string ours = dump(Json::parse(source));
    CHECK(ours == python);
    // The comparison is meaningful: the output is raw UTF-8, re-ordered and compact.
    CHECK(python.find("\xc3\xa9") != std::string::npos);
    CHECK(python.find("\xf0\x9f\x98\x80") != std::string::npos);
    CHECK(python.find("\\u001f") != std::string::npos);
    CHECK(python.find('\n') == std::string::npos);
    CHECK(python.find("\": ") == std::string::npos);
    CHECK(python.find(", ") == std::string::npos);
    CHECK(python.substr(0, 5) == R"({"A":)");
    // and it is canonical by our own parser too
    auto back = canonical_parse(python);
    REQUIRE(back.ok());
    CHECK(*back == Json::parse(source));
}
