// yaml: manifests read into JSON with YAML 1.2 core typing of plain scalars, lines for
// every value, and refusal of duplicates, syntax errors, several documents and alias bombs.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>

#include "dvi/yaml.hpp"

using namespace dvi;

namespace {
YamlDocument parse(const std::string& text) {
    auto r = yaml_parse(text, "m.yaml");
    INFO(text);
    if (!r.ok()) FAIL("yaml_parse failed: " << r.error().message);
    return std::move(r).value();
}

Error parse_error(const std::string& text) {
    auto r = yaml_parse(text, "m.yaml");
    INFO(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_input);
    return r.error();
}
}  // namespace

TEST_CASE("plain scalars are typed by the YAML 1.2 core schema") {
    auto d = parse(
        "n1: null\n"
        "n2: ~\n"
        "n3:\n"
        "n4: NULL\n"
        "t1: true\n"
        "t2: True\n"
        "f1: false\n"
        "i1: 42\n"
        "i2: -7\n"
        "i3: +3\n"
        "i4: 0\n"
        "x1: 0.2\n"
        "x2: -1.5e3\n"
        "x3: .5\n"
        "s1: hello world\n"
        "s2: yes\n"
        "s3: no\n"
        "s4: on\n"
        "s5: 0.2 mm\n"
        "s6: 1.2.3\n");
    const Json& v = d.value;
    for (const char* k : {"n1", "n2", "n3", "n4"}) {
        INFO(k);
        CHECK(v.at(k).is_null());
    }
    CHECK(v.at("t1") == true);
    CHECK(v.at("t2") == true);
    CHECK(v.at("f1") == false);
    CHECK(v.at("t1").is_boolean());
    CHECK(v.at("i1").is_number_integer());
    CHECK(v.at("i1") == 42);
    CHECK(v.at("i2") == -7);
    CHECK(v.at("i3") == 3);
    CHECK(v.at("i4") == 0);
    CHECK(v.at("x1").is_number_float());
    CHECK(v.at("x1").get<double>() == Approx(0.2));
    CHECK(v.at("x2").get<double>() == Approx(-1500.0));
    CHECK(v.at("x3").get<double>() == Approx(0.5));
    CHECK(v.at("s1") == "hello world");
    // YAML 1.1 booleans are plain strings in 1.2.
    CHECK(v.at("s2") == "yes");
    CHECK(v.at("s3") == "no");
    CHECK(v.at("s4") == "on");
    CHECK(v.at("s5") == "0.2 mm");
    CHECK(v.at("s6") == "1.2.3");
}

TEST_CASE("infinity and not-a-number are floats with their values") {
    auto d = parse("a: .inf\nb: -.inf\nc: .nan\nd: +.inf\ne: .Inf\nf: .NaN\ng: .infinity\n");
    const Json& v = d.value;
    REQUIRE(v.at("a").is_number_float());
    CHECK(std::isinf(v.at("a").get<double>()));
    CHECK(v.at("a").get<double>() > 0);
    REQUIRE(v.at("b").is_number_float());
    CHECK(std::isinf(v.at("b").get<double>()));
    CHECK(v.at("b").get<double>() < 0);
    REQUIRE(v.at("c").is_number_float());
    CHECK(std::isnan(v.at("c").get<double>()));
    REQUIRE(v.at("d").is_number_float());
    CHECK(std::isinf(v.at("d").get<double>()));
    CHECK(std::isinf(v.at("e").get<double>()));
    CHECK(std::isnan(v.at("f").get<double>()));
    CHECK(v.at("g") == ".infinity");
}

TEST_CASE("quoted scalars stay strings, as do unquoted dates and times") {
    auto d = parse(
        "q1: \"42\"\n"
        "q2: '42'\n"
        "q3: \"true\"\n"
        "q4: 'null'\n"
        "q5: \"0.2\"\n"
        "q6: ''\n"
        "date: 2026-11-23\n"
        "time: 2026-11-23T10:15:00Z\n"
        "tagged: !!str 42\n");
    const Json& v = d.value;
    CHECK(v.at("q1") == "42");
    CHECK(v.at("q2") == "42");
    CHECK(v.at("q3") == "true");
    CHECK(v.at("q4") == "null");
    CHECK(v.at("q5") == "0.2");
    CHECK(v.at("q6") == "");
    CHECK(v.at("date") == "2026-11-23");
    CHECK(v.at("time") == "2026-11-23T10:15:00Z");
    CHECK(v.at("tagged") == "42");
    for (const char* k : {"q1", "q2", "q3", "q4", "q5", "q6", "date", "time", "tagged"}) {
        INFO(k);
        CHECK(v.at(k).is_string());
    }
}

TEST_CASE("nested mappings and sequences become JSON objects and arrays") {
    auto d = parse(
        "name: part\n"
        "list:\n"
        "  - 1\n"
        "  - two\n"
        "  - {a: 1, b: [x, y]}\n"
        "empty_list: []\n"
        "empty_map: {}\n");
    CHECK(d.value == Json::parse(R"({"name":"part","list":[1,"two",{"a":1,"b":["x","y"]}],
                                   "empty_list":[],"empty_map":{}})"));
}

TEST_CASE("integers out of range, unknown tags and mismatched tags are refused with the line") {
    auto big = parse_error("a: 1\nb: 99999999999999999999\n");
    CHECK_THAT(big.message, Catch::StartsWith("m.yaml:2:") && Catch::Contains("out of range"));
    auto tag = parse_error("a: !custom x\n");
    CHECK_THAT(tag.message, Catch::StartsWith("m.yaml:1:") && Catch::Contains("unsupported tag"));
    auto mismatch = parse_error("a: 1\nb: !!int abc\n");
    CHECK_THAT(mismatch.message, Catch::StartsWith("m.yaml:2:") && Catch::Contains("does not fit its tag"));
}

TEST_CASE("duplicate keys are refused with the line of the second one") {
    auto e = parse_error("a: 1\nb: 2\na: 3\n");
    CHECK_THAT(e.message, Catch::StartsWith("m.yaml:3:") && Catch::Contains("duplicate key 'a'"));
    auto nested = parse_error("top:\n  x: 1\n  y: 2\n  x: 3\n");
    CHECK_THAT(nested.message, Catch::StartsWith("m.yaml:4:") && Catch::Contains("duplicate key 'x'"));
    // The same key in different mappings is fine.
    CHECK(yaml_parse("a: {x: 1}\nb: {x: 2}\n", "m.yaml").ok());
}

TEST_CASE("non-scalar keys are refused") {
    auto e = parse_error("? [a, b]\n: value\n");
    CHECK_THAT(e.message, Catch::StartsWith("m.yaml:1:") && Catch::Contains("keys must be plain text"));
}

TEST_CASE("syntax errors name file:LINE") {
    auto e = parse_error("a: 1\nb: [1, 2\nc: 3\n");
    CHECK_THAT(e.message, Catch::StartsWith("m.yaml:") && Catch::Contains("YAML syntax error"));
    auto bad_indent = parse_error("a:\n  b: 1\n c: 2\n");
    CHECK_THAT(bad_indent.message, Catch::StartsWith("m.yaml:3:") && Catch::Contains("YAML syntax error"));
    auto flow = parse_error("a: 1\nb: {x: 1\n");
    CHECK_THAT(flow.message, Catch::StartsWith("m.yaml:") && Catch::Contains("YAML syntax error"));
    auto alias = parse_error("a: *nowhere\n");
    CHECK_THAT(alias.message, Catch::StartsWith("m.yaml:1:"));
    auto r = yaml_parse("x: [\n", "dir/file name.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::StartsWith("dir/file name.yaml:"));
}

TEST_CASE("exactly one document is accepted") {
    auto two = parse_error("a: 1\n---\nb: 2\n");
    CHECK_THAT(two.message, Catch::Contains("more than one YAML document"));
    CHECK_FALSE(two.hint.empty());
    CHECK_THAT(parse_error("").message, Catch::Contains("empty document"));
    // An explicit start marker and end marker around one document are fine.
    auto one = parse("---\na: 1\n...\n");
    CHECK(one.value == Json{{"a", 1}});
    // Where yaml-cpp's LoadAll never ends (a fuzzer's find): refused at once.
    CHECK_THAT(parse_error("{kind: dossier},\n").message, Catch::Contains("more than one YAML document"));
}

TEST_CASE("long scalars are typed without recursion, and text must be UTF-8 without control characters") {
    // 50,000 digits: std::regex would overflow the stack (a fuzzer's find).
    CHECK_THAT(parse_error("n: " + std::string(50000, '7') + "\n").message, Catch::Contains("integer out of range"));
    auto d = parse("f: " + std::string(50000, '1') + ".5e3\ng: 1.\nh: 1e\ni: +.5E-2\nj: -x\n");
    CHECK(d.value.at("f").is_number_float());
    CHECK(d.value.at("g").is_number_float());
    CHECK(d.value.at("h") == "1e");
    CHECK(d.value.at("i").get<double>() == Approx(0.005));
    CHECK(d.value.at("j") == "-x");
    CHECK(parse_error("t: caf\xe9\n").message == "m.yaml:1:7: not UTF-8 (byte 0xe9)");
    CHECK(parse_error(std::string("a: 1\nt: x\0y\n", 13)).message == "m.yaml:2:5: control character 0x00 is not allowed in YAML");
    CHECK(parse_error("t: \x1b[31m\n").message == "m.yaml:1:4: control character 0x1b is not allowed in YAML");
    CHECK(parse("t: caf\xc3\xa9\ttab\r\n").value.at("t") == "caf\xc3\xa9\ttab");
}

TEST_CASE("escapes that decode to control characters are refused with the field; tab and line feed stay") {
    CHECK(parse_error("a: 1\nt: \"red \\e[31m\"\n").message ==
          "m.yaml:2: field 't': control character U+001B is not allowed");
    CHECK(parse_error("x:\n  notes: [\"A\\0B\"]\n").message ==
          "m.yaml:2: field 'x.notes[0]': control character U+0000 is not allowed");
    CHECK(parse_error("t: \"abc\\u202Efdp\"\n").message ==
          "m.yaml:1: field 't': control character U+202E is not allowed");
    CHECK(parse_error("t: \"\\x85\"\n").message == "m.yaml:1: field 't': control character U+0085 is not allowed");
    CHECK(parse_error("\"k\\ey\": 1\n").message == "m.yaml:1: control character U+001B is not allowed in a key");
    auto d = parse("t: \"a\\tb\\nc\"\nblock: |\n  one\n  two\n");
    CHECK(d.value.at("t") == "a\tb\nc");
    CHECK(d.value.at("block") == "one\ntwo\n");
}

TEST_CASE("aliases are expanded, and an alias bomb is refused quickly") {
    auto ok = parse("base: &b {x: 1, y: [2, 3]}\ncopy: *b\n");
    CHECK(ok.value.at("copy") == ok.value.at("base"));

    // Billion laughs: 9 levels of 10 aliases expand to 10^9 strings.
    std::string bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (int i = 1; i <= 9; ++i) {
        std::string prev = "*a" + std::to_string(i - 1);
        bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
        for (int j = 0; j < 10; ++j) bomb += (j ? ", " : "") + prev;
        bomb += "]\n";
    }
    auto start = std::chrono::steady_clock::now();
    auto r = yaml_parse(bomb, "bomb.yaml");
    auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_input);
    CHECK_THAT(r.error().message, Catch::StartsWith("bomb.yaml:") && Catch::Contains("too large"));
    CHECK(elapsed < std::chrono::seconds(5));
}

TEST_CASE("line_of gives the 1-based line of a value, or of its nearest ancestor") {
    auto d = parse(
        "name: bracket\n"          // 1
        "recipes:\n"               // 2
        "  - id: r1\n"             // 3
        "    gcode: a.gcode\n"     // 4
        "  - id: r2\n"             // 5
        "    gcode: b.gcode\n"     // 6
        "    params:\n"            // 7
        "      temp: 200\n"        // 8
        "      layers:\n"          // 9
        "        - 0.2 mm\n"       // 10
        "        - 0.3 mm\n"       // 11
        "odd/key~: 1\n");          // 12
    CHECK(d.line_of("") == 1);
    CHECK(d.line_of("/name") == 1);
    CHECK(d.line_of("/recipes") == 2);
    CHECK(d.line_of("/recipes/0") == 3);
    CHECK(d.line_of("/recipes/0/gcode") == 4);
    CHECK(d.line_of("/recipes/1") == 5);
    CHECK(d.line_of("/recipes/1/gcode") == 6);
    CHECK(d.line_of("/recipes/1/params") == 7);
    CHECK(d.line_of("/recipes/1/params/temp") == 8);
    CHECK(d.line_of("/recipes/1/params/layers") == 9);
    CHECK(d.line_of("/recipes/1/params/layers/1") == 11);
    CHECK(d.line_of("/odd~1key~0") == 12);
    // Pointers below or beside known values fall back to the nearest ancestor.
    CHECK(d.line_of("/recipes/1/material") == 5);
    CHECK(d.line_of("/recipes/1/params/temp/x/y") == 8);
    CHECK(d.line_of("/missing") == 1);
}
