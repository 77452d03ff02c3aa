#include "dvi/util/fs.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "dvi/util/encoding.hpp"

namespace dvi::util {

namespace fs = std::filesystem;

std::string quote(const fs::path& p) {
    return "'" + escape_controls(p.string()) + "'";
}

Error errno_error(const char* what, const fs::path& p, int err) {
    Errc code = (err == ENOENT || err == ENOTDIR) ? Errc::not_found
                : (err == EACCES || err == EPERM || err == EISDIR || err == ELOOP || err == ENAMETOOLONG)
                    ? Errc::invalid_input
                    : Errc::io;
    return make_error(code, std::string("cannot ") + what + " " + quote(p) + ": " + std::strerror(err));
}

Result<std::string> read_file(const fs::path& path, std::uintmax_t max_bytes) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return errno_error("read", path, errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        return errno_error("read", path, err);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error(Errc::invalid_input, "cannot read " + quote(path) + ": not a regular file");
    }
    if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) {
        ::close(fd);
        return make_error(Errc::invalid_input, "cannot read " + quote(path) + ": file too large (" +
                                                   std::to_string(st.st_size) + " bytes, limit " +
                                                   std::to_string(max_bytes) + ")");
    }
    std::string out;
    out.resize(static_cast<std::size_t>(st.st_size));
    std::size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::read(fd, out.data() + done, out.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            return errno_error("read", path, err);
        }
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    out.resize(done);
    return out;
}

int write_all(int fd, std::string_view data) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        done += static_cast<std::size_t>(n);
    }
    return 0;
}

namespace {

// The new name is durable once its folder is.
Status sync_dir(const fs::path& dir) {
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

OutputTarget target_of(const struct stat& st) {
    if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
        for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
            struct stat stream {};
            if (::fstat(fd, &stream) == 0 && stream.st_dev == st.st_dev && stream.st_ino == st.st_ino)
                return {OutputTarget::Kind::stream, fd};
        }
    if (S_ISREG(st.st_mode)) return {};
    return {OutputTarget::Kind::special, -1};
}
}  // namespace

OutputTarget output_target(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) return {};
    return target_of(st);
}

Result<std::optional<InPlace>> open_in_place(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        // Not there, not writable, a folder: for the rename to create, replace or refuse.
        // A socket cannot be opened (ENXIO), and is not renamed over either.
        if (errno == ENXIO) return errno_error("write", path, errno);
        return std::optional<InPlace>();
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        ::close(fd);
        return std::optional<InPlace>();
    }
    const auto target = target_of(st);
    if (target.kind == OutputTarget::Kind::file) {
        ::close(fd);
        return std::optional<InPlace>();
    }
    if (S_ISBLK(st.st_mode)) {
        ::close(fd);
        return make_error(Errc::invalid_input, "refusing to write to " + quote(path) + ": it is a block device",
                          "choose a file");
    }
    if (target.kind == OutputTarget::Kind::stream) std::fflush(target.fd == STDOUT_FILENO ? stdout : stderr);
    return std::optional<InPlace>(InPlace{fd, target.kind == OutputTarget::Kind::stream ? target.fd : fd});
}

Status write_file_atomic(const fs::path& path, std::string_view data, FileMode mode, Overwrite overwrite) {
    if (overwrite == Overwrite::yes) {
        DVI_TRY(in_place, open_in_place(path));
        if (in_place) {
            int err = write_all(in_place->fd, data);
            if (::close(in_place->owned) != 0 && err == 0) err = errno;
            if (err != 0) return errno_error("write", path, err);
            return {};
        }
    }
    std::error_code ec;
    if (overwrite == Overwrite::no && fs::symlink_status(path, ec).type() != fs::file_type::not_found)
        return make_error(Errc::invalid_input, "refusing to overwrite " + quote(path), "choose another path");
    fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    if (overwrite == Overwrite::no) {
        // An unnamed file (O_TMPFILE), linked in once complete and on disk: a process
        // killed before that leaves nothing behind. File systems without O_TMPFILE, or a
        // system without /proc, take the named temporary file below.
        int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, static_cast<mode_t>(mode));
        if (fd >= 0) {
            ::fchmod(fd, static_cast<mode_t>(mode));
            int err = write_all(fd, data);
            if (err == 0 && ::fsync(fd) != 0) err = errno;
            std::string proc = "/proc/self/fd/" + std::to_string(fd);
            if (err == 0 && ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) err = errno;
            ::close(fd);
            if (err == EEXIST)
                return make_error(Errc::invalid_input, "refusing to overwrite " + quote(path), "choose another path");
            if (err == 0) return sync_dir(dir);
            if (err != ENOENT) return errno_error("write", path, err);
        } else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
            return errno_error("write", path, errno);
        }
    }
    std::random_device rd;
    fs::path tmp = dir / ("." + path.filename().string() + ".tmp" + std::to_string(rd()));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd < 0) {
        // The target itself may exist (a file of /proc): what failed is the file beside it.
        const int err = errno;
        Error e = errno_error("write", path, err);
        if (fs::exists(path, ec))
            e.message = "cannot write " + quote(path) + ": no file can be made beside it in " + quote(dir) + " (" +
                        std::strerror(err) + ")";
        return e;
    }
    // The umask may have narrowed the mode; set it exactly.
    ::fchmod(fd, static_cast<mode_t>(mode));
    if (int err = write_all(fd, data); err != 0) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return errno_error("write", path, err);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return errno_error("write", path, err);
    }
    if (overwrite == Overwrite::no) {
        // link() fails if the target appeared meanwhile; rename() would replace it.
        if (::link(tmp.c_str(), path.c_str()) != 0) {
            int err = errno;
            ::unlink(tmp.c_str());
            if (err == EEXIST)
                return make_error(Errc::invalid_input, "refusing to overwrite " + quote(path), "choose another path");
            return errno_error("write", path, err);
        }
        ::unlink(tmp.c_str());
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return errno_error("write", path, err);
    }
    return sync_dir(dir);
}

Result<fs::path> resolve_confined(const fs::path& base, const std::string& relative) {
    if (relative.empty())
        return make_error(Errc::invalid_input, "empty path");
    if (relative.find('\0') != std::string::npos)
        return make_error(Errc::invalid_input, "path " + quote(relative) + " contains a NUL byte");
    fs::path rel(relative);
    if (rel.is_absolute() || relative.find('\\') != std::string::npos)
        return make_error(Errc::invalid_input, "path " + quote(relative) + " must be relative to the manifest's folder");
    for (const auto& part : rel)
        if (part == "..") {
            const fs::path normal = rel.lexically_normal();
            if (!normal.empty() && *normal.begin() == "..")
                return make_error(Errc::invalid_input, "path " + quote(relative) + " leaves the manifest's folder");
            return make_error(Errc::invalid_input,
                              "path " + quote(relative) + " goes through '..': name the file without it");
        }
    std::error_code ec;
    fs::path root = fs::canonical(base, ec);
    if (ec) return errno_error("resolve", base, ec.value());
    fs::path full = root / rel;
    // Walk component by component so that a symlink is caught where it is.
    fs::path cur = root;
    for (const auto& part : rel) {
        if (part == "." || part.empty()) continue;
        cur /= part;
        auto st = fs::symlink_status(cur, ec);
        if (ec || st.type() == fs::file_type::not_found)
            return make_error(Errc::not_found, "cannot read " + quote(relative) + ": no such file");
        if (st.type() == fs::file_type::symlink) {
            fs::path target = fs::canonical(cur, ec);
            if (ec) return make_error(Errc::not_found, "cannot read " + quote(relative) + ": dangling symbolic link");
            auto [r, t] = std::mismatch(root.begin(), root.end(), target.begin(), target.end());
            if (r != root.end())
                return make_error(Errc::invalid_input,
                                  "path " + quote(relative) + " goes through a symbolic link out of the manifest's folder");
        }
    }
    fs::path real = fs::canonical(full, ec);
    if (ec) return errno_error("read", relative, ec.value());
    auto [r, t] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
    if (r != root.end())
        return make_error(Errc::invalid_input, "path " + quote(relative) + " leaves the manifest's folder");
    if (!fs::is_regular_file(real, ec))
        return make_error(Errc::invalid_input, "path " + quote(relative) + " is not a regular file");
    if (::access(real.c_str(), R_OK) != 0)
        return errno_error("read", relative, errno);
    return real;
}

Result<FileLock> FileLock::acquire(const fs::path& file, std::chrono::milliseconds timeout) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return make_error(Errc::io, "cannot open lock " + quote(file) + ": " + std::strerror(errno));
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int err = errno;
            ::close(fd);
            return make_error(Errc::io, "cannot lock " + quote(file) + ": " + std::strerror(err));
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ::close(fd);
            return make_error(Errc::conflict, "lock " + quote(file) + " is held by another process");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return FileLock(fd);
}

FileLock::~FileLock() {
    if (m_fd >= 0) ::close(m_fd);  // closing releases the flock
}

Resident resident_bytes() {
#ifdef __linux__
    std::ifstream statm("/proc/self/statm");  // size resident shared ... (pages)
    std::size_t pages = 0, resident = 0, shared = 0;
    if (statm >> pages >> resident >> shared) {
        const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        return {resident * page, shared * page};
    }
#endif
    return {};
}

std::size_t release_mappings_under(const std::filesystem::path& dir) {
    std::size_t released = 0;
#ifdef __linux__
    std::error_code ec;
    const std::string prefix = std::filesystem::weakly_canonical(dir, ec).string() + "/";
    std::ifstream maps("/proc/self/maps");
    std::string line;
    // "<start>-<end> <perms> <offset> <dev> <inode> <path>"
    while (std::getline(maps, line)) {
        auto path_at = line.find(prefix);
        if (path_at == std::string::npos) continue;
        std::size_t dash = line.find('-'), space = line.find(' ');
        if (dash == std::string::npos || space == std::string::npos || space + 2 >= line.size() || line[space + 2] != '-')
            continue;  // writable: its pages may hold changes of their own
        std::uintptr_t start = std::stoull(line.substr(0, dash), nullptr, 16);
        std::uintptr_t end = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
        if (end > start && ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED) == 0) released += end - start;
    }
#else
    (void)dir;
#endif
    return released;
}

}  // namespace dvi::util
