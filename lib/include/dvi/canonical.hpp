// Canonical JSON (dvi-records(5)): UTF-8, keys sorted by code point, no insignificant
// white space, integers only (|n| < 2^53), no duplicate keys. The bytes are what a
// record's id hashes, so two implementations must agree byte for byte; the form equals
// Python's json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "dvi/result.hpp"

namespace dvi {

using Json = nlohmann::json;

// The canonical bytes of `value`; refuses floats, out-of-range integers and invalid UTF-8.
Result<std::string> canonical_dump(const Json& value);

// Parses bytes that must already be canonical: anything whose canonical form differs
// (white space, key order, duplicate keys, floats, escapes) is refused.
Result<Json> canonical_parse(std::string_view bytes);

// "sha256:<64 hex>" of the given canonical bytes.
std::string record_id_of(std::string_view canonical_bytes);

// True for "sha256:" followed by exactly 64 lower-case hex digits.
bool is_record_id(std::string_view s);

}  // namespace dvi
