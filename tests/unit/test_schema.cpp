// schema: the compiled-in schemas load and use only supported keywords; each keyword of
// the supported subset is exercised with a small inline schema, checking where a
// violation is reported and what it says.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

#include "dvi/schema.hpp"

using namespace dvi;

namespace {

std::vector<SchemaViolation> check(const Json& schema, const Json& doc) {
    auto r = schema_validate(schema, doc);
    INFO("schema: " << schema.dump() << "  doc: " << doc.dump());
    if (!r.ok()) FAIL("schema_validate failed: " << r.error().message);
    return *r;
}

// The single violation of `doc`, which must have exactly one.
SchemaViolation one(const Json& schema, const Json& doc) {
    auto v = check(schema, doc);
    INFO("schema: " << schema.dump() << "  doc: " << doc.dump());
    REQUIRE(v.size() == 1);
    CHECK(v[0].field == pointer_to_field(v[0].pointer));
    return v[0];
}

bool valid(const Json& schema, const Json& doc) { return check(schema, doc).empty(); }

std::string escape_token(const std::string& s) {
    std::string out;
    for (char c : s) out += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
    return out;
}

// Every subschema of `node` (at JSON Pointer `ptr`), the node itself included.
void subschemas(const Json& node, const std::string& ptr, std::vector<std::string>& out) {
    if (!node.is_object()) return;
    out.push_back(ptr);
    for (const char* map_kw : {"properties", "$defs"})
        if (auto it = node.find(map_kw); it != node.end() && it->is_object())
            for (auto p = it->begin(); p != it->end(); ++p)
                subschemas(p.value(), ptr + "/" + map_kw + "/" + escape_token(p.key()), out);
    for (const char* kw : {"items", "additionalProperties", "not", "if", "then", "else", "propertyNames"})
        if (auto it = node.find(kw); it != node.end()) subschemas(*it, ptr + "/" + kw, out);
    for (const char* list_kw : {"allOf", "anyOf", "oneOf"})
        if (auto it = node.find(list_kw); it != node.end() && it->is_array())
            for (std::size_t i = 0; i < it->size(); ++i)
                subschemas((*it)[i], ptr + "/" + list_kw + "/" + std::to_string(i), out);
}

const std::string k_record_id = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
const std::string k_fingerprint = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";

}  // namespace

// ---- the compiled-in schemas ----

TEST_CASE("every compiled-in schema is present, sorted and loads") {
    auto names = schema_names();
    REQUIRE_FALSE(names.empty());
    CHECK(std::is_sorted(names.begin(), names.end()));
    for (const char* want : {"dossier-manifest", "material-lot-manifest", "record-roster", "record-dossier",
                             "record-material-lot", "record-common"}) {
        INFO(want);
        CHECK(std::find(names.begin(), names.end(), want) != names.end());
    }
    for (const auto& name : names) {
        INFO(name);
        auto s = schema_by_name(name);
        REQUIRE(s.ok());
        REQUIRE(*s != nullptr);
        CHECK((*s)->is_object());
        CHECK((*s)->contains("$schema"));
    }
    auto missing = schema_by_name("no-such-schema");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == Errc::not_found);
}

TEST_CASE("every subschema of every compiled-in schema uses supported keywords and resolvable $refs") {
    std::size_t visited = 0;
    for (const auto& name : schema_names()) {
        const Json* root = schema_by_name(name).value();
        std::vector<std::string> ptrs;
        subschemas(*root, "", ptrs);
        for (const auto& ptr : ptrs) {
            // A $ref reaches any location, so each subschema is checked on its own; the
            // keyword check runs first, and every $ref in it is resolved whatever the value.
            Json wrapper{{"$ref", name + ".schema.json#" + ptr}};
            for (const Json& doc : {Json(nullptr), Json::object(), Json::array(), Json(""), Json(0)}) {
                auto r = schema_validate(wrapper, doc);
                INFO(name << "#" << ptr << " on " << doc.dump() << ": " << (r.ok() ? "" : r.error().message));
                CHECK(r.ok());
                ++visited;
            }
        }
    }
    CHECK(visited > 100);
}

TEST_CASE("the manifest and record schemas report each missing top-level field") {
    for (const char* name : {"dossier-manifest", "material-lot-manifest", "record-roster", "record-dossier",
                             "record-material-lot"}) {
        INFO(name);
        const Json* s = schema_by_name(name).value();
        REQUIRE(s->contains("required"));
        auto v = check(*s, Json::object());
        CHECK(v.size() >= (*s)["required"].size());  // conditional requirements may add more
        for (const auto& field : (*s)["required"]) {
            auto want = "/" + field.get<std::string>();
            CHECK(std::any_of(v.begin(), v.end(),
                              [&](const SchemaViolation& x) { return x.pointer == want && x.message == "is missing"; }));
        }
        // Not a mapping at all.
        auto list = one(*s, Json::array());
        CHECK(list.pointer == "");
        CHECK(list.field == "(document)");
        CHECK(list.message == "expected a mapping, found a list");
    }
}

// ---- keywords ----

TEST_CASE("type: single and multiple types, integers versus numbers") {
    auto v = one(Json{{"type", "string"}}, 5);
    CHECK(v.pointer == "");
    CHECK(v.message == "expected a string, found an integer");
    CHECK(valid(Json{{"type", "string"}}, "x"));

    Json either{{"type", {"string", "null"}}};
    CHECK(valid(either, nullptr));
    CHECK(valid(either, "x"));
    CHECK(one(either, true).message == "expected a string or null, found a boolean");

    CHECK(valid(Json{{"type", "integer"}}, 3));
    CHECK(one(Json{{"type", "integer"}}, 1.5).message == "expected an integer, found a decimal number");
    CHECK(valid(Json{{"type", "number"}}, 1.5));
    CHECK(valid(Json{{"type", "number"}}, -2));
    CHECK(one(Json{{"type", "object"}}, Json::array()).message == "expected a mapping, found a list");
    CHECK(one(Json{{"type", "array"}}, Json::object()).message == "expected a list, found a mapping");
    CHECK(one(Json{{"type", "boolean"}}, "true").message == "expected a boolean, found a string");

    // A decimal where a string is expected gets advice.
    CHECK_THAT(one(Json{{"type", "string"}}, 0.2).message, Catch::Contains("\"0.2 mm\""));
    // A type mismatch stops further checks on that value.
    CHECK(check(Json{{"type", "string"}, {"minLength", 3}, {"enum", {"abc"}}}, 7).size() == 1);
}

TEST_CASE("required: the violation is at the missing child's pointer") {
    Json s = Json::parse(R"({"type":"object","properties":{"a":{"type":"object","required":["b","c"]}}})");
    auto v = check(s, Json::parse(R"({"a":{"c":1}})"));
    REQUIRE(v.size() == 1);
    CHECK(v[0].pointer == "/a/b");
    CHECK(v[0].field == "a.b");
    CHECK(v[0].message == "is missing");
    CHECK(valid(s, Json::parse(R"({"a":{"b":null,"c":1}})")));
    CHECK(valid(s, Json::object()));  // "a" itself is optional

    auto all = check(Json::parse(R"({"required":["x","y"]})"), Json::object());
    REQUIRE(all.size() == 2);
    CHECK(all[0].pointer == "/x");
    CHECK(all[1].pointer == "/y");

    auto escaped = one(Json::parse(R"({"required":["a/b~c"]})"), Json::object());
    CHECK(escaped.pointer == "/a~1b~0c");
    CHECK(escaped.field == "a/b~c");
}

TEST_CASE("additionalProperties: false names each unknown field; a schema checks them") {
    Json s = Json::parse(R"({"properties":{"a":{"type":"integer"}},"additionalProperties":false})");
    CHECK(valid(s, Json::parse(R"({"a":1})")));
    auto v = check(s, Json::parse(R"({"a":1,"colour":"red","zz":2})"));
    REQUIRE(v.size() == 2);
    CHECK(v[0].pointer == "/colour");
    CHECK(v[0].field == "colour");
    CHECK(v[0].message == "is not a known field");
    CHECK(v[1].pointer == "/zz");

    Json typed = Json::parse(R"({"properties":{"a":{}},"additionalProperties":{"type":"integer"}})");
    CHECK(valid(typed, Json::parse(R"({"a":"anything","n":3})")));
    auto t = one(typed, Json::parse(R"({"n":"three"})"));
    CHECK(t.pointer == "/n");
    CHECK(t.message == "expected an integer, found a string");

    // Without additionalProperties, unknown fields are allowed.
    CHECK(valid(Json::parse(R"({"properties":{"a":{}}})"), Json::parse(R"({"b":1})")));
}

TEST_CASE("enum and const") {
    Json e = Json::parse(R"({"enum":["genesis","admit",3,null]})");
    CHECK(valid(e, "admit"));
    CHECK(valid(e, 3));
    CHECK(valid(e, nullptr));
    auto v = one(e, "revoke");
    CHECK(v.message == "'revoke' is not one of: genesis, admit, 3, null");
    CHECK_FALSE(valid(e, "3"));  // the string is not the number
    CHECK_FALSE(valid(e, "Admit"));

    Json c = Json::parse(R"({"const":"roster"})");
    CHECK(valid(c, "roster"));
    CHECK(one(c, "dossier").message == "must be 'roster', found 'dossier'");
    CHECK_FALSE(valid(Json::parse(R"({"const":1})"), true));
    CHECK(valid(Json::parse(R"({"const":{"a":[1,2]}})"), Json::parse(R"({"a":[1,2]})")));
    CHECK_FALSE(valid(Json::parse(R"({"const":{"a":[1,2]}})"), Json::parse(R"({"a":[2,1]})")));
}

TEST_CASE("pattern: ECMAScript search, with the description in the message when there is one") {
    Json s = Json::parse(R"({"pattern":"^[a-z][a-z0-9_-]{0,62}$"})");
    CHECK(valid(s, "acme"));
    CHECK(valid(s, "a-1_b"));
    auto v = one(s, "Acme");
    CHECK(v.message == "'Acme' does not match the pattern ^[a-z][a-z0-9_-]{0,62}$");
    CHECK_FALSE(valid(s, ""));
    CHECK_FALSE(valid(s, "a" + std::string(63, 'b')));

    // Unanchored patterns match anywhere, as JSON Schema says.
    CHECK(valid(Json::parse(R"({"pattern":"b"})"), "abc"));
    // Patterns apply to strings only.
    CHECK(valid(Json::parse(R"({"pattern":"^x$"})"), 5));

    Json described = Json::parse(R"({"pattern":"^[0-9]+$","description":"a number of parts"})");
    CHECK(one(described, "ten").message == "'ten' is not a number of parts");

    auto bad = schema_validate(Json::parse(R"({"pattern":"(unclosed"})"), "x");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::internal);
}

TEST_CASE("minLength and maxLength count UTF-8 code points, not bytes") {
    Json min3 = Json::parse(R"({"minLength":3})");
    CHECK_FALSE(valid(min3, "\xc3\xa9\xc3\xa9"));  // 2 code points, 4 bytes
    CHECK(one(min3, "\xc3\xa9\xc3\xa9").message == "is too short (at least 3 characters)");
    CHECK(valid(min3, "\xc3\xa9\xc3\xa9\xc3\xa9"));
    CHECK(one(Json::parse(R"({"minLength":1})"), "").message == "must not be empty");

    Json max3 = Json::parse(R"({"maxLength":3})");
    CHECK(valid(max3, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"));  // 3 emoji, 12 bytes
    CHECK(valid(max3, "abc"));
    CHECK(one(max3, "abcd").message == "is too long (at most 3 characters)");
    CHECK_FALSE(valid(max3, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"));
}

TEST_CASE("items, minItems, maxItems and uniqueItems") {
    Json items = Json::parse(R"({"items":{"type":"integer"}})");
    CHECK(valid(items, Json::parse("[1,2,3]")));
    CHECK(valid(items, Json::array()));
    auto v = check(items, Json::parse(R"([1,"x",3,true])"));
    REQUIRE(v.size() == 2);
    CHECK(v[0].pointer == "/1");
    CHECK(v[0].field == "[1]");
    CHECK(v[1].pointer == "/3");

    Json min2 = Json::parse(R"({"minItems":2})");
    CHECK(one(min2, Json::parse("[1]")).message == "needs at least 2 entries");
    CHECK(one(min2, Json::array()).message == "must not be empty");
    CHECK(valid(min2, Json::parse("[1,1]")));
    CHECK(one(Json::parse(R"({"maxItems":1})"), Json::parse("[1,2]")).message == "has too many entries (at most 1)");

    Json unique = Json::parse(R"({"uniqueItems":true})");
    CHECK(valid(unique, Json::parse(R"([1,2,"1",[1]])")));
    auto dup = one(unique, Json::parse("[1,2,1]"));
    CHECK(dup.pointer == "/2");
    CHECK(dup.message == "repeats entry 0");
    CHECK(one(unique, Json::parse(R"([{"a":1},{"a":1}])")).pointer == "/1");
    CHECK(valid(Json::parse(R"({"uniqueItems":false})"), Json::parse("[1,1]")));

    // Nested: the pointer goes through the list index.
    Json nested = Json::parse(R"({"properties":{"recipes":{"items":{"required":["gcode"]}}}})");
    auto n = one(nested, Json::parse(R"({"recipes":[{"gcode":"a"},{"id":"r2"}]})"));
    CHECK(n.pointer == "/recipes/1/gcode");
    CHECK(n.field == "recipes[1].gcode");
}

TEST_CASE("$ref to a local definition") {
    Json s = Json::parse(R"({
        "$defs": {"pos": {"type": "integer", "minimum": 1}, "list": {"items": {"$ref": "#/$defs/pos"}}},
        "properties": {"n": {"$ref": "#/$defs/pos"}, "l": {"$ref": "#/$defs/list"}}})");
    CHECK(valid(s, Json::parse(R"({"n":1,"l":[1,2]})")));
    auto v = one(s, Json::parse(R"({"n":0})"));
    CHECK(v.pointer == "/n");
    CHECK(v.message == "must be at least 1");
    CHECK(one(s, Json::parse(R"({"l":[1,"x"]})")).pointer == "/l/1");

    auto bad = schema_validate(Json::parse(R"({"$ref":"#/$defs/nope"})"), 1);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::internal);
    auto no_hash = schema_validate(Json::parse(R"({"$ref":"https://example.com/s.json"})"), 1);
    REQUIRE_FALSE(no_hash.ok());
    CHECK(no_hash.error().code == Errc::internal);
    CHECK_FALSE(schema_validate(Json::parse(R"({"$ref":"no-such.schema.json#/$defs/x"})"), 1).ok());
}

TEST_CASE("$ref into record-common.schema.json, whose own refs resolve in that file") {
    Json s = Json::parse(R"({"properties":{"id":{"$ref":"record-common.schema.json#/$defs/record_id"}}})");
    CHECK(valid(s, Json{{"id", k_record_id}}));
    auto v = one(s, Json{{"id", "sha256:XYZ"}});
    CHECK(v.pointer == "/id");
    CHECK_THAT(v.message, Catch::StartsWith("'sha256:XYZ' does not match"));
    CHECK(one(s, Json{{"id", 7}}).message == "expected a string, found an integer");
    CHECK_FALSE(valid(s, Json{{"id", k_record_id + "0"}}));

    // issuer refers to #/$defs/name and #/$defs/fingerprint inside record-common.
    Json issuer = Json::parse(R"({"$ref":"record-common.schema.json#/$defs/issuer"})");
    CHECK(valid(issuer, Json{{"partner", "acme"}, {"writer", "desk-1"}, {"key", k_fingerprint}}));
    auto bad = one(issuer, Json{{"partner", "Acme Corp"}, {"writer", "desk-1"}, {"key", k_fingerprint}});
    CHECK(bad.pointer == "/partner");
    CHECK_THAT(bad.message, Catch::Contains("a partner id or writer name"));
    auto missing = one(issuer, Json{{"partner", "acme"}, {"writer", "desk-1"}});
    CHECK(missing.pointer == "/key");
    CHECK(missing.message == "is missing");
}

TEST_CASE("if / then / else") {
    Json s = Json::parse(R"({
        "if": {"properties": {"kind": {"const": "file"}}},
        "then": {"required": ["path"]},
        "else": {"required": ["url"]}})");
    auto then = one(s, Json{{"kind", "file"}});
    CHECK(then.pointer == "/path");
    CHECK(then.message == "is missing");
    CHECK(valid(s, Json{{"kind", "file"}, {"path", "a"}}));
    auto els = one(s, Json{{"kind", "link"}});
    CHECK(els.pointer == "/url");
    CHECK(valid(s, Json{{"kind", "link"}, {"url", "u"}}));
    // Without else, a failed condition imposes nothing.
    CHECK(valid(Json::parse(R"({"if":{"const":1},"then":{"const":2}})"), 5));
}

TEST_CASE("anyOf, oneOf, allOf and not") {
    Json any = Json::parse(R"({"anyOf":[{"type":"null"},{"type":"integer","minimum":1}]})");
    CHECK(valid(any, nullptr));
    CHECK(valid(any, 3));
    CHECK(one(any, 0).message == "matches none of the allowed forms");
    CHECK(one(any, "x").message == "matches none of the allowed forms");

    Json exactly = Json::parse(R"({"oneOf":[{"type":"integer"},{"minimum":0}]})");
    CHECK(valid(exactly, -1));   // only the first
    CHECK(valid(exactly, 1.5));  // only the second
    CHECK(one(exactly, 5).message == "is ambiguous");
    CHECK(one(exactly, -1.5).message == "matches none of the allowed forms");

    Json all = Json::parse(R"({"allOf":[{"minimum":1},{"maximum":10}]})");
    CHECK(valid(all, 5));
    CHECK(one(all, 0).message == "must be at least 1");
    CHECK(one(all, 11).message == "must be at most 10");

    Json never_string = Json::parse(R"({"not":{"type":"string"}})");
    CHECK(valid(never_string, 1));
    auto n = one(never_string, "x");
    CHECK(n.pointer == "");
    CHECK(n.message == "is not allowed here");
}

TEST_CASE("boolean schemas, propertyNames and property counts") {
    auto f = one(Json::parse(R"({"properties":{"a":false,"b":true}})"), Json::parse(R"({"a":1,"b":2})"));
    CHECK(f.pointer == "/a");
    CHECK(f.message == "is not allowed");

    Json names = Json::parse(R"({"propertyNames":{"pattern":"^[a-z]+$"}})");
    CHECK(valid(names, Json::parse(R"({"abc":1})")));
    CHECK(one(names, Json::parse(R"({"aBc":1})")).pointer == "/aBc");

    CHECK(one(Json::parse(R"({"minProperties":1})"), Json::object()).message == "must have at least 1 entries");
    CHECK(one(Json::parse(R"({"maxProperties":1})"), Json::parse(R"({"a":1,"b":2})")).message ==
          "must have at most 1 entries");
}

TEST_CASE("an unsupported keyword makes the schema invalid rather than being ignored") {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"patternProperties":{"^x":{"type":"integer"}}})", R"({"x":1})"},
        {R"({"properties":{"a":{"dependentRequired":{"a":["b"]}}}})", R"({"a":{}})"},
        {R"({"items":{"prefixItems":[]}})", "[1]"},
        {R"({"contains":{"const":1}})", "[1]"},
        {R"({"exclusiveMinimum":0})", "1"},
    };
    for (const auto& [schema, doc] : cases) {
        INFO(schema);
        auto r = schema_validate(Json::parse(schema), Json::parse(doc));
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Errc::internal);
        CHECK_THAT(r.error().message, Catch::Contains("unsupported schema keyword"));
    }
    auto pp = schema_validate(Json::parse(R"({"patternProperties":{}})"), Json::object());
    REQUIRE_FALSE(pp.ok());
    CHECK_THAT(pp.error().message, Catch::Contains("'patternProperties'"));
    // A keyword that is only annotation ("examples", "title", a format other than date
    // and date-time) is accepted.
    CHECK(valid(Json::parse(R"({"format":"email","examples":["x"],"title":"t","$comment":"c"})"), "x"));
}

TEST_CASE("pointer_to_field writes pointers the way people write field names") {
    CHECK(pointer_to_field("") == "(document)");
    CHECK(pointer_to_field("/recipes/1/gcode") == "recipes[1].gcode");
    CHECK(pointer_to_field("/name") == "name");
    CHECK(pointer_to_field("/0") == "[0]");
    // A field name is shown to people: a control character in it is escaped.
    CHECK(pointer_to_field("/note\x1b[31m/0") == "note\\x1b[31m[0]");
    CHECK(pointer_to_field("/0/a") == "[0].a");
    CHECK(pointer_to_field("/a/10/20/b") == "a[10][20].b");
    CHECK(pointer_to_field("/a~1b/c~0d") == "a/b.c~d");
    CHECK(pointer_to_field("/caf\xc3\xa9/x") == "caf\xc3\xa9.x");
}

TEST_CASE("format date and date-time: a value of the right shape must also be of the calendar") {
    Json date = Json::parse(R"({"type":"string","pattern":"^[0-9]{4}-[0-9]{2}-[0-9]{2}$","format":"date"})");
    CHECK(valid(date, "2024-02-29"));
    CHECK(valid(date, "2026-12-31"));
    CHECK(valid(date, "1965-07-14"));  // before 1970 too
    CHECK(valid(date, "2000-02-29"));
    Json format_only = Json::parse(R"({"type":"string","format":"date"})");
    CHECK_FALSE(valid(format_only, "@123456789"));
    CHECK_FALSE(valid(format_only, "1900-02-29"));
    for (const char* bad : {"2026-02-30", "2026-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "2026-19-45"}) {
        INFO(bad);
        CHECK(one(date, bad).message == "'" + std::string(bad) + "' is not a date of the calendar");
    }
    // A value the pattern refuses is reported once, by the pattern.
    auto shape = check(date, "2026-1-1");
    REQUIRE(shape.size() == 1);
    CHECK_THAT(shape[0].message, Catch::Contains("does not match the pattern"));
    Json time = Json::parse(R"({"type":"string","format":"date-time"})");
    CHECK(valid(time, "2026-11-23T10:00:00Z"));
    CHECK(one(time, "2026-02-30T10:00:00Z").message == "'2026-02-30T10:00:00Z' is not a UTC time of the calendar");
    // Times are POSIX seconds: a leap second would be read as the next one.
    CHECK(one(time, "2026-12-31T23:59:60Z").message == "'2026-12-31T23:59:60Z' is not a UTC time of the calendar");
    CHECK_FALSE(valid(time, "2026-11-23 10:00:00"));
    CHECK_FALSE(valid(time, "2026-11-23"));
    // The shipped schemas ask it of every date a manifest or record holds.
    auto lot = schema_by_name("material-lot-manifest");
    REQUIRE(lot);
    CHECK((*lot)->at("$defs").at("date").at("format") == "date");
    auto common = schema_by_name("record-common");
    REQUIRE(common);
    CHECK((*common)->at("$defs").at("timestamp").at("format") == "date-time");
}
