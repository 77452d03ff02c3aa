// util/time: RFC 3339 formatting and the accepted input forms, with impossible dates
// and malformed text refused.
#include <catch2/catch.hpp>

#include "dvi/util/time.hpp"

using namespace dvi::util;

TEST_CASE("format_rfc3339 prints UTC with a Z suffix") {
    CHECK(format_rfc3339(0) == "1970-01-01T00:00:00Z");
    CHECK(format_rfc3339(1234567890) == "2009-02-13T23:31:30Z");
    CHECK(format_rfc3339(1795428900) == "2026-11-23T10:15:00Z");
    CHECK(format_rfc3339(951782400) == "2000-02-29T00:00:00Z");
    CHECK(format_rfc3339(4102444799) == "2099-12-31T23:59:59Z");
}

TEST_CASE("parse_time accepts the three date forms and @seconds") {
    CHECK(parse_time("1970-01-01") == std::int64_t{0});
    CHECK(parse_time("2026-11-23T10:15:00Z") == std::int64_t{1795428900});
    CHECK(parse_time("2026-11-23 10:15:00") == std::int64_t{1795428900});
    CHECK(parse_time("2026-11-23") == std::int64_t{1795428900 - (10 * 3600 + 15 * 60)});
    CHECK(parse_time("2009-02-13T23:31:30Z") == std::int64_t{1234567890});
    CHECK(parse_time("@0") == std::int64_t{0});
    CHECK(parse_time("@1234567890") == std::int64_t{1234567890});
    CHECK(parse_time("@999999999999999999") == std::int64_t{999999999999999999});
}

TEST_CASE("parse_time and format_rfc3339 round trip") {
    for (std::int64_t t : {std::int64_t{0}, std::int64_t{1}, std::int64_t{59}, std::int64_t{86399},
                           std::int64_t{951782400}, std::int64_t{1234567890}, std::int64_t{1795428900},
                           std::int64_t{4102444799}, std::int64_t{253402300799}}) {
        INFO("t = " << t);
        auto text = format_rfc3339(t);
        CHECK(parse_time(text) == t);
    }
    for (std::int64_t t = 1700000000; t < 1800000000; t += 9876543) CHECK(parse_time(format_rfc3339(t)) == t);
}

TEST_CASE("parse_time handles leap years and refuses impossible dates") {
    CHECK(parse_time("2024-02-29"));
    CHECK(parse_time("2000-02-29"));
    CHECK(parse_time("2026-12-31T23:59:59Z"));
    const char* impossible[] = {
        "2026-02-31",           "2026-02-29",           "2023-02-29",           "1900-02-29",
        "2100-02-29",           "2026-04-31",           "2026-06-31",           "2026-09-31",
        "2026-11-31",           "2026-13-01",           "2026-00-10",           "2026-01-00",
        "2026-01-32",           "2026-02-31T10:00:00Z", "2026-02-30 10:00:00",  "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z", "2026-01-01T23:59:61Z", "2026-11-23T10:00:60Z", "2016-12-31T23:59:60Z",
        "1969-12-31",
    };
    for (const char* s : impossible) {
        INFO(s);
        CHECK_FALSE(parse_time(s));
    }
}

TEST_CASE("parse_time refuses malformed text") {
    const char* malformed[] = {
        "",
        "today",
        "2026-1-01",
        "2026-01-1",
        "26-01-01",
        "2026/01/01",
        "20260101",
        " 2026-01-01",
        "2026-01-01 ",
        "2026-01-01T10:15:00",
        "2026-01-01T10:15Z",
        "2026-01-01T10:15:00+01:00",
        "2026-01-01t10:15:00z",
        "2026-01-01T10:15:00.5Z",
        // sscanf would read these fields as numbers; the text is not a date.
        "2026-01- 1",
        "2026- 1-01",
        "2026-+1-01",
        "2026-01-+1",
        "+026-01-01",
        "2026-01-02T01:-1:00Z",
        "2026-01-02T-1:00:00Z",
        "2026-01-02 01:00:-1",
        "2026-01-02T 1:00:00Z",
        "@",
        "@-5",
        "@+5",
        "@12a",
        "@ 12",
        "@1234567890123456789",
        "1234567890",
    };
    for (const char* s : malformed) {
        INFO("'" << s << "'");
        CHECK_FALSE(parse_time(s));
    }
}
