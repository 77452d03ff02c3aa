// Automatic packing, in the spirit of `git gc --auto`, through libgit2's packbuilder: the
// loose objects every append leaves become one pack, and small packs are merged
// geometrically, so a ledger neither accumulates files nor packs without bound.
#pragma once

#include <git2.h>

#include <cstddef>
#include <filesystem>

#include "dvi/result.hpp"

namespace dvi::pack {

// Loose objects before packing is due when the ledger's config does not say (dvi.autoPack;
// 0: never). Off by default for now: libgit2's packbuilder takes seconds for a few
// thousand objects (20 s and 443 MB for 110k), which would land on a printer agent's
// append; a ledger opts in with e.g. `git config dvi.autoPack 6700` (git's gc.auto).
constexpr std::size_t k_default_threshold = 0;

// Whether about `threshold` loose objects have accumulated, estimated as git does from a
// sample of the fan-out folders (here 16 of the 256, times 16: a few syscalls).
bool due(const std::filesystem::path& gitdir, std::size_t threshold);

struct Outcome {
    std::size_t packed = 0;  // loose objects moved into the new pack
    std::size_t merged = 0;  // small packs merged into it
    std::size_t packs = 0;   // packs afterwards
};

// Packs every loose object into a new pack, merges the packs whose sizes no longer grow
// geometrically (each at least twice the next smaller one), flushes it all to disk, and
// only then deletes what it packed. Concurrent appends are safe: their new loose
// objects are not in the snapshot packed, and nothing is deleted before it is in a
// pack on disk. A second packer at the same time returns at once.
Result<Outcome> run(git_repository* repo, const std::filesystem::path& gitdir);

}  // namespace dvi::pack
