// Git's delta format (the instructions of a pack's OBJ_REF_DELTA entries): a target
// rebuilt from a base by "copy these bytes of the base" and "insert these bytes". The
// ledger's objects change little from one commit to the next (a tree gains an entry, a
// commit names another parent), so a delta against the previous version is a few dozen
// bytes where the whole object is a few kilobytes.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "dvi/result.hpp"

namespace dvi::delta {

// A delta that rebuilds `target` from `base`, or nullopt when it would take more than
// `limit` bytes (then storing the target whole is better). Finds the common prefix and
// suffix first, then matches 8-byte blocks of what lies between, so its cost follows the
// size of the change rather than of the objects.
std::optional<std::string> encode(std::string_view base, std::string_view target, std::size_t limit);

// Rebuilds the target; an error names what is malformed (a copy outside the base, sizes
// that do not add up). Used to check what encode wrote.
Result<std::string> apply(std::string_view base, std::string_view delta);

}  // namespace dvi::delta
