// Automatic packing, in the spirit of `git gc --auto`: the loose objects every append
// leaves become one pack, and small packs are merged geometrically, so a ledger neither
// accumulates files nor packs without bound.
//
// dvi writes the pack and its index itself (pack format version 2, index version 2),
// not through libgit2's packbuilder, whose delta search took 20 s and 443 MB for 110k
// objects. It needs no search: each object is stored as a delta against the object that
// held its place in the parent commit (the same path, or the chain's previous record of
// that type), which is where a ledger's similarity is; the newest version of a folder,
// against its version before the run when a pack merged in the same run holds it. Packs
// it merges are copied entry by entry, their deltas kept. As git does, a delta names its
// base by offset (OFS_DELTA, 1 to 4 bytes) when the base is written before it, and the
// loose objects are written bases first; else by id (REF_DELTA, 20 bytes). Merges read
// the packs' indexes in place, mapped. Stock `git verify-pack` and `git fsck` check the
// result.
//
// An object a run had to store whole, its previous version being in a pack it did not
// merge (or in this one, too deep, or with the run's own objects planned against it),
// is noted as a hint beside the pack (`dvi/pack-hints/pack-<hex>.hints`: the line
// "dvi-pack-hints 1", then 40 bytes a hint, the object's id and its previous version's). A
// later run that merges them stores it as a delta against that version: a fanned-out
// folder of 256 entries is 6 KB whole and a few dozen bytes as a delta. Hints only choose
// bases: a hint that names anything else (a missing object, another type, a loop) is
// ignored, and a damaged hints file is read as none.
#pragma once

#include <git2.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "dvi/result.hpp"

namespace dvi::pack {

// Loose objects before packing is due when the ledger's config does not say
// (dvi.autoPack; 0: never). git's gc.auto default: about 600 appends.
constexpr std::size_t k_default_threshold = 6700;

// Loose objects larger than this are left as they are: an artifact of a gigabyte would
// have to be inflated and compressed again, on some printer agent's append.
constexpr std::size_t k_max_packed_object = std::size_t{16} << 20;

// Whether about `threshold` loose objects have accumulated, estimated as git does from a
// sample of the fan-out folders (one of the 256 at the default threshold).
bool due(const std::filesystem::path& gitdir, std::size_t threshold);

struct Outcome {
    std::size_t packed = 0;  // loose objects moved into the new pack
    std::size_t deltas = 0;  // of which stored as deltas
    std::size_t merged = 0;  // small packs merged into it
    std::size_t rebased = 0; // objects of merged packs stored whole until now, now deltas
    std::size_t packs = 0;   // packs afterwards
};

// Packs every loose object into a new pack, merges the packs whose sizes no longer grow
// geometrically (each at least twice the next smaller one; a pack with a .keep file is
// never merged), flushes it all to disk when `durable`, and only then deletes what it
// packed. Concurrent appends are safe: their new loose objects are not in the snapshot
// packed, and nothing is deleted before it is in a pack on disk. A second packer at the
// same time returns at once.
Result<Outcome> run(git_repository* repo, const std::filesystem::path& gitdir, bool durable = true);

// One large blob written as a pack of its own, streamed, into `pack_dir`: the pack, its
// index and a .keep file (such a pack is never merged: rewriting a gigabyte on some later
// append would cost more than one pack file more). `level` is zlib's: 0 stores
// incompressible data (a zipped 3MF, ciphertext) at the speed of the hashes, where git
// hash-object spends most of its time deflating it in vain.
class BlobPack {
public:
    static Result<BlobPack> create(const std::filesystem::path& pack_dir, std::uint64_t size, int level);
    BlobPack(BlobPack&&) noexcept;
    BlobPack& operator=(BlobPack&&) = delete;
    ~BlobPack();
    Status write(const void* data, std::size_t n);
    // Installs pack, .keep and index (in that order); returns the blob's id. Exactly
    // `size` bytes must have been written.
    Result<git_oid> finish();

private:
    struct Impl;
    explicit BlobPack(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// The zlib level for a large artifact whose first bytes are `sample`: 0 when they do not
// compress (below 90%), else 1 (fast: an artifact is sealed once, but on a printer
// agent's or a CI runner's time).
int level_for(const void* sample, std::size_t n);

}  // namespace dvi::pack
