// Shared by the unit tests and the fuzz targets: whether two JSON values are equal and of
// equal types all the way down (Json's == says 1u == 1, and a reader of records must give
// the types Json::parse gives).
#pragma once

#include <cstddef>

#include "dvi/canonical.hpp"

namespace dvi_test {

inline bool same_types(const dvi::Json& a, const dvi::Json& b) {
    if (a.type() != b.type() || a.size() != b.size()) return false;
    if (a.is_object()) {
        for (auto x = a.begin(), y = b.begin(); x != a.end(); ++x, ++y)
            if (x.key() != y.key() || !same_types(x.value(), y.value())) return false;
        return true;
    }
    if (a.is_array()) {
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!same_types(a[i], b[i])) return false;
        return true;
    }
    return a == b;
}

}  // namespace dvi_test
