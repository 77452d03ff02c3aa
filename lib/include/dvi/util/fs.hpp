// File-system helpers that know nothing about dvi: bounded reads, atomic writes,
// permission checks and confinement of relative paths to a folder.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "dvi/result.hpp"

namespace dvi::util {

// Reads a whole file, refusing files larger than `max_bytes` (an invalid_input error
// that names the file), so hostile input cannot exhaust memory.
Result<std::string> read_file(const std::filesystem::path& path, std::uintmax_t max_bytes);

enum class FileMode : unsigned { private_0600 = 0600, public_0644 = 0644 };

// Where an output path really goes, its symbolic links followed. A regular file, or one
// not there yet, is written aside and renamed (file: a link to a regular file is replaced
// by the file); a character device or a FIFO, such as /dev/null or a shell's >(...), in
// place (special), never renamed over, which would put a regular file in its stead; the
// file, pipe or socket of this process's standard output or error, as /dev/stdout names
// it, through that stream (stream: `fd` is 1 or 2), which keeps its offset and its
// O_APPEND. Any other block device or socket is special too, and open_in_place refuses it.
struct OutputTarget {
    enum class Kind { file, special, stream } kind = Kind::file;
    int fd = -1;
};
OutputTarget output_target(const std::filesystem::path& path);

// An output opened to be written in place (output_target says special or stream):
// `owned` is the descriptor to close, `fd` the one to write to (the stream's, or `owned`).
// Opened before it is looked at, so what is written to is what was looked at; stdio's
// buffer of that stream is flushed first. nullopt: a file, to write aside and rename.
struct InPlace {
    int owned = -1;
    int fd = -1;
};
Result<std::optional<InPlace>> open_in_place(const std::filesystem::path& path);

// "cannot <what> '<p>': <strerror>", as bad input the user can fix (a missing folder, a
// folder where a file was meant, no permission) or else as an I/O failure.
Error errno_error(const char* what, const std::filesystem::path& p, int err);
// Writes all of `data` to `fd`, through short writes and EINTR: 0, or the errno.
int write_all(int fd, std::string_view data);

// Writes `data` to `path` through a temporary file in the same folder, fsync and rename,
// so a reader sees the old file or the new one, never a torn one. Refuses to replace an
// existing file unless `overwrite` is Overwrite::yes; with it, a special file or a
// standard stream (output_target) is written in place.
enum class Overwrite { no, yes };
Status write_file_atomic(const std::filesystem::path& path, std::string_view data, FileMode mode,
                         Overwrite overwrite);

// Resolves `relative` (from a manifest) against `base`, refusing absolute paths, `..`
// that leaves `base`, and symbolic links anywhere that lead out of it. Returns the
// canonical path of an existing regular file.
Result<std::filesystem::path> resolve_confined(const std::filesystem::path& base,
                                               const std::string& relative);

// An exclusive flock(2) on a lock file, held until destroyed. The kernel releases it if
// the holder dies, so it never goes stale. acquire() waits up to `timeout`, then fails
// with Errc::conflict.
class FileLock {
public:
    static Result<FileLock> acquire(const std::filesystem::path& file, std::chrono::milliseconds timeout);
    FileLock(FileLock&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
    FileLock& operator=(FileLock&&) = delete;
    ~FileLock();

private:
    explicit FileLock(int fd) : m_fd(fd) {}
    int m_fd;
};

// Quotes a path for messages the way git does: 'path', a control character in it as an
// escape (\n, \t, \x1b), so that a name can neither forge a line nor act on a terminal.
std::string quote(const std::filesystem::path& p);

// The process's resident memory in bytes, and the part of it that maps files (0 where the
// system does not say).
struct Resident {
    std::size_t total = 0;
    std::size_t files = 0;
};
Resident resident_bytes();

// Gives back the pages of every read-only mapping of a file inside `dir` (e.g. the
// pack files and indexes a library maps whole): they are read again from the page cache
// when next touched. Returns the bytes of the mappings released; 0 where unsupported.
std::size_t release_mappings_under(const std::filesystem::path& dir);

}  // namespace dvi::util
