#include <catch2/catch.hpp>

#include "dvi/result.hpp"

using namespace dvi;

namespace {
Result<int> half(int v) {
    if (v % 2) return make_error(Errc::invalid_input, "odd");
    return v / 2;
}
Result<int> quarter(int v) {
    DVI_TRY(h, half(v));
    return half(h);
}
}  // namespace

TEST_CASE("Result carries a value or an error, and DVI_TRY propagates the error") {
    REQUIRE(quarter(8).ok());
    CHECK(quarter(8).value() == 2);
    auto bad = quarter(6);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == Errc::invalid_input);
    CHECK(bad.error().message == "odd");
}
