// A small POSIX ustar archive writer and a bounded reader, for files a third party opens
// with stock `tar`: regular files only, written deterministically (fixed mtime, mode
// 0644, uid/gid 0, no user names), read without touching the file system.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dvi/result.hpp"

namespace dvi::util {

struct TarEntry {
    std::string name;  // relative path, '/'-separated, at most 100 bytes
    std::string data;
};

// The archive of `entries` in the order given: a 512-byte ustar header per file, its data
// padded to 512 bytes, two zero blocks, padded to a multiple of 10240 bytes as tar does.
// Same entries and mtime, same bytes. invalid_input for a name the reader would refuse.
Result<std::string> tar_write(const std::vector<TarEntry>& entries, std::int64_t mtime);

// What a reader accepts: hostile archives are refused before they cost memory.
struct TarLimits {
    std::size_t max_entries = 20000;
    std::uint64_t max_entry_size = std::uint64_t{64} << 20;
    std::uint64_t max_total_size = std::uint64_t{256} << 20;
};

// The regular files of an archive, in archive order. Refuses (invalid_input, naming the
// entry) links, devices and other special entries, pax and GNU extension headers, names
// that are absolute, contain '..', empty components or unusual bytes, duplicate names,
// bad header checksums, sizes over the limits and truncated archives. Directory entries
// and a leading "./" (as `tar -cf x.tar -C dir .` writes) are accepted and ignored.
Result<std::vector<TarEntry>> tar_read(std::string_view archive, const TarLimits& limits = {});

// Whether `name` is one tar_read accepts: 1-100 bytes of [A-Za-z0-9._+@=-] components
// separated by single '/', none of them "." or "..", not starting with '/'.
bool tar_name_ok(std::string_view name);

}  // namespace dvi::util
