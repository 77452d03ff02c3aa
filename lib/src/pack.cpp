#include "pack.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "delta.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"
#include "git.hpp"

namespace fs = std::filesystem;

namespace dvi::pack {

namespace {

// Delta chains of a run's objects stay under this length, twice git's pack.depth. A
// chain is the versions of one folder, the newest first: the old ones are read by walks
// of history (audit, log, bundles), oldest first, each from its newer neighbour in
// libgit2's cache of delta bases, and a printer agent reads its chain's newest versions,
// within k_max_cross_depth. A type's folder (records/print/, 256 entries, 6 KB) changes
// with every commit: stored whole every 50 versions, it took 8% of a 30k-record ledger.
constexpr int k_max_depth = 100;
// A newest version's delta chain into the packs merged with it stays this short: it is
// what a printer agent reads (its chain's head), in a new process each time, each delta
// a few dozen bytes to inflate and apply. At 10, the merges of groups of runs could
// seldom link a folder's versions, and the fan-out folders (records/print/ab/, 256
// entries) stored whole took 204 bytes a record at 200k records; 167 at 50.
constexpr int k_max_cross_depth = 50;
constexpr std::size_t k_max_delta_object = std::size_t{1} << 20;  // larger objects are stored whole
constexpr std::uint32_t k_max_objects = 1u << 28;
constexpr std::size_t k_max_batch = 200000;  // loose objects read by one run
constexpr std::uint64_t k_drop_step = std::uint64_t{64} << 20;  // mapped pages a merge lets go at once

using git::OidMap;

bool oid_less(const git_oid& a, const git_oid& b) { return git_oid_cmp(&a, &b) < 0; }

bool is_hex(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::uint32_t be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
void put_be32(std::string& out, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

// Every loose object: objects/<2 hex>/<38 hex>.
OidMap<fs::path> loose_objects(const fs::path& gitdir) {
    OidMap<fs::path> out;
    std::error_code ec;
    for (auto& dir : fs::directory_iterator(gitdir / "objects", ec)) {
        std::string d = dir.path().filename();
        if (d.size() != 2 || !is_hex(d) || !dir.is_directory(ec)) continue;
        for (auto& f : fs::directory_iterator(dir.path(), ec)) {
            std::string name = f.path().filename();
            if (name.size() != 38 || !is_hex(name)) continue;
            git_oid oid;
            if (git_oid_fromstr(&oid, (d + name).c_str()) == 0) out.emplace(oid, f.path());
        }
    }
    return out;
}

// A read-only mapping of a whole file.
class Mapped {
public:
    static std::optional<Mapped> open(const fs::path& p) {
        int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return std::nullopt;
        struct stat st{};
        void* m = MAP_FAILED;
        if (::fstat(fd, &st) == 0 && st.st_size > 0)
            m = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
        ::close(fd);
        if (m == MAP_FAILED) return std::nullopt;
        return Mapped(static_cast<const unsigned char*>(m), static_cast<std::size_t>(st.st_size));
    }
    Mapped(Mapped&& o) noexcept : m_data(o.m_data), m_size(o.m_size) { o.m_data = nullptr; }
    Mapped& operator=(Mapped&&) = delete;
    ~Mapped() {
        if (m_data) ::munmap(const_cast<unsigned char*>(m_data), m_size);
    }
    const unsigned char* data() const { return m_data; }
    std::size_t size() const { return m_size; }
    // Lets go of the whole pages in [from, to): they are read from the file again if
    // touched. Returns where what it let go ends (`from` when nothing was).
    std::uint64_t drop(std::uint64_t from, std::uint64_t to) const {
        const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
        const std::uint64_t a = (from + page - 1) / page * page, b = std::min<std::uint64_t>(to, m_size) / page * page;
        if (b <= a) return from;
        ::madvise(const_cast<unsigned char*>(m_data) + a, b - a, MADV_DONTNEED);
        return b;
    }

private:
    Mapped(const unsigned char* d, std::size_t n) : m_data(d), m_size(n) {}
    const unsigned char* m_data;
    std::size_t m_size;
};

struct IdxEntry {
    git_oid oid;
    std::uint64_t offset;
    std::uint32_t crc;
};

// A pack of the ledger: its index file, how many objects it holds, and whether it may be
// merged: not kept, no larger than k_max_merged, and whole (its pack file there, with
// as many objects as its index says: a damaged pack is left for git fsck, not copied).
struct PackInfo {
    fs::path idx;
    std::uint32_t count = 0;
    bool mergeable = false;
    fs::file_time_type written;  // the index's time: libgit2 touches a pack file it finds an object in again
};
constexpr std::uintmax_t k_max_merged = std::uintmax_t{256} << 20;
// A run merges the pack of the run before it while that pack holds at most this many
// times the run's loose objects (see run()): a group of about this many runs then shares
// one whole version of each folder, for about as many times the pack bytes written.
constexpr std::size_t k_follow = 8;

// The object count of a version 2 index: the last of its 256 fan-out counts.
std::optional<std::uint32_t> index_count(const fs::path& idx) {
    unsigned char head[8 + 256 * 4];
    int fd = ::open(idx.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    ssize_t n = ::pread(fd, head, sizeof head, 0);
    ::close(fd);
    if (n != static_cast<ssize_t>(sizeof head) || std::memcmp(head, "\377tOc\0\0\0\2", 8) != 0) return std::nullopt;
    std::uint32_t count = be32(head + 8 + 255 * 4);
    if (count > k_max_objects) return std::nullopt;
    return count;
}

std::vector<PackInfo> packs_of(const fs::path& gitdir) {
    std::vector<PackInfo> out;
    std::error_code ec;
    for (auto& f : fs::directory_iterator(gitdir / "objects" / "pack", ec)) {
        if (f.path().extension() != ".idx") continue;
        auto n = index_count(f.path());
        if (!n) continue;
        fs::path keep = f.path(), pack = f.path();
        keep.replace_extension(".keep");
        pack.replace_extension(".pack");
        std::error_code e2;
        auto bytes = fs::file_size(pack, e2);
        bool ok = !e2 && bytes <= k_max_merged && !fs::exists(keep, e2);
        if (ok) {
            unsigned char head[12];
            int fd = ::open(pack.c_str(), O_RDONLY | O_CLOEXEC);
            ok = fd >= 0 && ::pread(fd, head, sizeof head, 0) == 12 && std::memcmp(head, "PACK", 4) == 0 && be32(head + 8) == *n;
            if (fd >= 0) ::close(fd);
        }
        out.push_back({f.path(), *n, ok, fs::last_write_time(f.path(), e2)});
    }
    return out;
}

// A version 2 pack index, mapped: its ids, CRC-32s and offsets are read in place, so
// that a merge of a million records' packs (10 million objects) does not copy them to
// the heap (40 bytes an object, twice over, took 980 MB). Checked when opened: its
// sizes, its fan-out, and that every large offset it names exists.
class PackIndex {
public:
    static std::optional<PackIndex> open(const fs::path& idx) {
        auto m = Mapped::open(idx);
        if (!m || m->size() < k_ids + 40 || std::memcmp(m->data(), "\377tOc\0\0\0\2", 8) != 0) return std::nullopt;
        const unsigned char* p = m->data();
        std::uint32_t n = be32(p + 8 + 255 * 4);
        if (n > k_max_objects) return std::nullopt;
        std::size_t crcs = k_ids + std::size_t{n} * 20, offs = crcs + std::size_t{n} * 4,
                    large = offs + std::size_t{n} * 4;
        if (large + 40 > m->size()) return std::nullopt;
        for (std::size_t b = 1; b < 256; ++b)
            if (be32(p + 8 + b * 4) < be32(p + 8 + (b - 1) * 4)) return std::nullopt;
        std::size_t n_large = (m->size() - 40 - large) / 8;
        for (std::uint32_t k = 0; k < n; ++k)
            if (std::uint32_t o = be32(p + offs + std::size_t{k} * 4);
                (o & 0x80000000u) && (o & 0x7fffffffu) >= n_large)
                return std::nullopt;
        return PackIndex(std::move(*m), n, crcs, offs, large);
    }
    std::uint32_t size() const { return m_count; }
    git_oid oid(std::uint32_t k) const {
        git_oid o;
        std::memcpy(o.id, m_map.data() + k_ids + std::size_t{k} * 20, 20);
        return o;
    }
    std::uint32_t crc(std::uint32_t k) const { return be32(m_map.data() + m_crcs + std::size_t{k} * 4); }
    std::uint64_t offset(std::uint32_t k) const {
        std::uint32_t o = be32(m_map.data() + m_offsets + std::size_t{k} * 4);
        if (!(o & 0x80000000u)) return o;
        const unsigned char* l = m_map.data() + m_large + std::size_t{o & 0x7fffffffu} * 8;
        return (std::uint64_t{be32(l)} << 32) | be32(l + 4);
    }
    // The place of `oid` in the index: a binary search among the ids of its fan-out bucket.
    std::optional<std::uint32_t> find(const git_oid& oid) const {
        const unsigned char* p = m_map.data();
        std::uint32_t lo = oid.id[0] ? be32(p + 8 + (oid.id[0] - 1) * 4) : 0, hi = be32(p + 8 + oid.id[0] * 4);
        if (hi > m_count || lo > hi) return std::nullopt;
        while (lo < hi) {
            std::uint32_t mid = lo + (hi - lo) / 2;
            int c = std::memcmp(p + k_ids + std::size_t{mid} * 20, oid.id, 20);
            if (c == 0) return mid;
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return std::nullopt;
    }
    bool has(const git_oid& oid) const { return find(oid).has_value(); }

private:
    static constexpr std::size_t k_ids = 8 + 1024;
    PackIndex(Mapped m, std::uint32_t n, std::size_t crcs, std::size_t offsets, std::size_t large)
        : m_map(std::move(m)), m_count(n), m_crcs(crcs), m_offsets(offsets), m_large(large) {}
    Mapped m_map;
    std::uint32_t m_count;
    std::size_t m_crcs, m_offsets, m_large;
};

Status sync_dir(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return make_error(Errc::io, "cannot open " + util::quote(dir) + ": " + std::strerror(errno));
    int rc = ::syncfs(fd);
    ::close(fd);
    if (rc != 0) return make_error(Errc::io, "cannot flush the new pack to disk");
    return {};
}

// A file written sequentially, with the SHA-1 of everything written so far (a pack's and
// an index's trailer).
class Sha1File {
public:
    static Result<Sha1File> create(const fs::path& path) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        if (fd < 0)
            return make_error(Errc::io, "cannot create " + util::quote(path) + ": " + std::strerror(errno),
                              errno == ENOSPC ? git::k_no_space_hint : "");
        Sha1File f(fd, path);
        if (!f.m_ctx || EVP_DigestInit_ex(f.m_ctx.get(), EVP_sha1(), nullptr) != 1)
            return make_error(Errc::crypto, "cannot start SHA-1");
        return f;
    }
    Sha1File(Sha1File&& o) noexcept
        : m_fd(o.m_fd), m_path(std::move(o.m_path)), m_ctx(std::move(o.m_ctx)), m_buf(std::move(o.m_buf)),
          m_written(o.m_written), m_kicked(o.m_kicked) {
        o.m_fd = -1;
    }
    Sha1File& operator=(Sha1File&&) = delete;
    ~Sha1File() {
        if (m_fd >= 0) ::close(m_fd);
        std::error_code ec;
        if (!m_path.empty()) fs::remove(m_path, ec);  // not installed: never leave a partial file
    }
    std::uint64_t offset() const { return m_written + m_buf.size(); }
    Status write(const void* data, std::size_t n) {
        EVP_DigestUpdate(m_ctx.get(), data, n);
        m_buf.append(static_cast<const char*>(data), n);
        return m_buf.size() >= (1u << 20) ? flush() : Status{};
    }
    Status write(std::string_view s) { return write(s.data(), s.size()); }
    // Writes the SHA-1 trailer, flushes (and fsyncs when durable), closes; returns the
    // trailer.
    Result<std::array<unsigned char, 20>> finish(bool durable) {
        std::array<unsigned char, 20> sum{};
        unsigned int len = 0;
        EVP_DigestFinal_ex(m_ctx.get(), sum.data(), &len);
        m_buf.append(reinterpret_cast<const char*>(sum.data()), sum.size());
        DVI_CHECK(flush());
        if (durable && ::fsync(m_fd) != 0) return io_error();
        if (::close(m_fd) != 0) {
            m_fd = -1;
            return io_error();
        }
        m_fd = -1;
        return sum;
    }
    const fs::path& path() const { return m_path; }
    void keep() { m_path.clear(); }

private:
    Sha1File(int fd, fs::path p) : m_fd(fd), m_path(std::move(p)), m_ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free) {}
    Error io_error() const {
        int err = errno;
        return make_error(Errc::io, "cannot write " + util::quote(m_path) + ": " + std::strerror(err),
                          err == ENOSPC || err == EDQUOT ? git::k_no_space_hint : "");
    }
    Status flush() {
        std::size_t done = 0;
        while (done < m_buf.size()) {
            ssize_t n = ::write(m_fd, m_buf.data() + done, m_buf.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return io_error();
            done += static_cast<std::size_t>(n);
        }
        m_written += m_buf.size();
        m_buf.clear();
#ifdef __linux__
        // A large file's pages start on their way to the disk while the rest is hashed and
        // written: the fsync or syncfs that makes it durable then waits for the tail only
        // (sealing a gigabyte waited seconds for it). Advisory: an error here is not one.
        constexpr std::uint64_t k_writeback_step = std::uint64_t{8} << 20;
        if (m_written - m_kicked >= k_writeback_step) {
            ::sync_file_range(m_fd, static_cast<off_t>(m_kicked), static_cast<off_t>(m_written - m_kicked), SYNC_FILE_RANGE_WRITE);
            m_kicked = m_written;
        }
#endif
        return {};
    }
    int m_fd;
    fs::path m_path;
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> m_ctx;
    std::string m_buf;
    std::uint64_t m_written = 0;
    std::uint64_t m_kicked = 0;  // bytes whose writeback has been started
};

// A pack entry's header: type and size in a little-endian base-128 number whose first
// byte also holds the type.
std::string entry_header(int type, std::uint64_t size) {
    std::string h;
    auto b = static_cast<unsigned char>((static_cast<unsigned>(type) << 4) | static_cast<unsigned>(size & 0x0f));
    size >>= 4;
    while (size) {
        h.push_back(static_cast<char>(b | 0x80));
        b = static_cast<unsigned char>(size & 0x7f);
        size >>= 7;
    }
    h.push_back(static_cast<char>(b));
    return h;
}

// The distance back to an OFS_DELTA's base, as git writes it: base-128, the most
// significant group first, each group but the last one less than its value.
std::string ofs_distance(std::uint64_t back) {
    unsigned char buf[10];
    std::size_t pos = sizeof buf - 1;
    buf[pos] = static_cast<unsigned char>(back & 127);
    while (back >>= 7) buf[--pos] = static_cast<unsigned char>(128 | (--back & 127));
    return std::string(reinterpret_cast<const char*>(buf + pos), sizeof buf - pos);
}

// A delta entry's header at `offset` of the new pack: an OFS_DELTA when its base is
// written before it (at `base_at`), its distance in 1 to 4 bytes, else a REF_DELTA naming
// it in 20 (git writes the base first for that, and so does run()). `size_bytes`: the
// entry's type-and-size bytes, whatever type they say.
std::string delta_header(std::string_view size_bytes, const git_oid& base, std::optional<std::uint64_t> base_at,
                         std::uint64_t offset) {
    std::string h(size_bytes);
    const bool ofs = base_at && *base_at < offset;
    h[0] = static_cast<char>((static_cast<unsigned char>(h[0]) & 0x8f) | ((ofs ? 6 : 7) << 4));
    if (ofs)
        h += ofs_distance(offset - *base_at);
    else
        h.append(reinterpret_cast<const char*>(base.id), 20);
    return h;
}

Result<std::string> deflate(std::string_view data) {
    uLongf n = compressBound(static_cast<uLong>(data.size()));
    std::string out(n, '\0');
    if (compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(data.data()),
                  static_cast<uLong>(data.size()), Z_DEFAULT_COMPRESSION) != Z_OK)
        return make_error(Errc::internal, "cannot compress an object");
    out.resize(n);
    return out;
}

// A loose object, read once: its type and size, and its content unless it is larger
// than a delta is worth (then it is read again when written).
struct Loose {
    fs::path path;
    git_object_t type = GIT_OBJECT_INVALID;
    std::size_t size = 0;
    std::optional<std::string> data;
};

// Reads a loose object file: zlib of "<type> <size>\0<content>". Only the header is
// inflated when the content is larger than `keep`.
std::optional<Loose> read_loose(const fs::path& path, std::size_t keep) {
    auto file = util::read_file(path, k_max_packed_object + 1024);
    if (!file) return std::nullopt;
    z_stream z{};
    if (inflateInit(&z) != Z_OK) return std::nullopt;
    std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, inflateEnd);
    z.next_in = reinterpret_cast<Bytef*>(file->data());
    z.avail_in = static_cast<uInt>(file->size());
    char head[64];
    z.next_out = reinterpret_cast<Bytef*>(head);
    z.avail_out = sizeof head;
    int rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) return std::nullopt;
    std::size_t got = sizeof head - z.avail_out;
    auto nul = std::find(head, head + got, '\0');
    if (nul == head + got) return std::nullopt;
    std::string header(head, nul);
    auto sp = header.find(' ');
    if (sp == std::string::npos) return std::nullopt;
    Loose out;
    out.path = path;
    out.type = git_object_string2type(header.substr(0, sp).c_str());
    try {
        out.size = std::stoull(header.substr(sp + 1));
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (out.type == GIT_OBJECT_INVALID || out.size > k_max_packed_object) return out.type == GIT_OBJECT_INVALID ? std::nullopt : std::optional<Loose>(out);
    if (out.size > keep) return out;
    std::string data(nul + 1, head + got);
    data.resize(out.size);
    std::size_t have = static_cast<std::size_t>(head + got - (nul + 1));
    if (have > out.size) return std::nullopt;
    if (rc != Z_STREAM_END) {
        z.next_out = reinterpret_cast<Bytef*>(data.data() + have);
        z.avail_out = static_cast<uInt>(out.size - have);
        rc = inflate(&z, Z_FINISH);
        if (rc != Z_STREAM_END || z.avail_out != 0) return std::nullopt;
    } else if (have != out.size) {
        return std::nullopt;
    }
    out.data = std::move(data);
    return out;
}

// The entries of a tree object: "<mode> <name>\0<20-byte id>" each.
struct TreeEntry {
    std::string_view name;
    git_oid oid;
    bool is_tree;
};
std::vector<TreeEntry> tree_entries(std::string_view t) {
    std::vector<TreeEntry> out;
    while (!t.empty()) {
        auto sp = t.find(' ');
        auto nul = t.find('\0');
        if (sp == std::string_view::npos || nul == std::string_view::npos || sp > nul || nul + 21 > t.size()) break;
        TreeEntry e{t.substr(sp + 1, nul - sp - 1), {}, t.substr(0, sp) == "40000"};
        std::memcpy(e.oid.id, t.data() + nul + 1, 20);
        out.push_back(e);
        t.remove_prefix(nul + 21);
    }
    return out;
}

// A commit's tree and first parent, from its "tree <hex>" and "parent <hex>" lines.
bool commit_links(std::string_view c, git_oid& tree, std::optional<git_oid>& parent) {
    if (c.substr(0, 5) != "tree " || c.size() < 46 || git_oid_fromstrn(&tree, c.data() + 5, 40) != 0) return false;
    c.remove_prefix(46);
    if (c.substr(0, 7) == "parent " && c.size() >= 48) {
        git_oid p;
        if (git_oid_fromstrn(&p, c.data() + 7, 40) == 0) parent = p;
    }
    return true;
}

// An object of a pack this run merges, as the delta base of a loose object: its type and
// content, and its delta depth in that pack. The base is copied into the new pack with it.
struct PackedBase {
    git_object_t type = GIT_OBJECT_INVALID;
    std::string data;
    int depth = 0;
};
using PackedLookup = std::function<const PackedBase*(const git_oid&)>;
// Any stored object of the ledger (in any pack): what a folder held before this run, to
// tell what a commit changed. Never a delta base, unless PackedLookup also has it.
using StoredLookup = std::function<std::optional<std::string>(const git_oid&, git_object_t)>;

// What goes into the new pack from the loose objects, in order: each object with the
// object it is a delta against, if any.
struct Planned {
    git_oid oid;
    std::optional<git_oid> base;
};

// Hints (see pack.hpp): an object a run stored whole, and the previous version it could
// be a delta against once a merge brings both into one pack.
struct Hint {
    git_oid object, base;
};

struct Plan {
    std::vector<Planned> order;
    OidMap<int> depth;         // delta depth of each planned object
    OidMap<std::size_t> at;    // its place in order
    std::vector<Hint> hints;   // planned whole, their previous version in a pack not merged
};

// Plans the loose objects: the commits of each chain from the oldest, each followed by
// what it adds to its parent's tree, with its delta base: for a commit or a tree, the
// next newer version (the child commit, the same folder in it), and for the newest, the
// version before this run's when a pack merged in this run holds it (else each run would
// store whole every fanned-out folder it touches: 4 KB a record at 367k records); for a
// file, the previous version at the same path; for a new record, the chain's previous new
// record of that type. A base is of the same type and in the new pack, and a delta chain
// stays under git's depth of 50. The rest follows, whole.
Plan plan_loose(const OidMap<Loose>& loose, const std::function<bool(const git_oid&)>& in_merged, const PackedLookup& packed,
                const StoredLookup& stored) {
    Plan plan;
    auto add = [&](const git_oid& oid, const std::optional<git_oid>& base) {
        auto it = loose.find(oid);
        if (it == loose.end() || it->second.size > k_max_packed_object || plan.depth.count(oid) || in_merged(oid)) return;
        std::optional<git_oid> b;
        int depth = 0;
        if (base && it->second.data) {
            auto d = plan.depth.find(*base);
            // A delta takes its base's type: a file never deltas against a folder.
            auto b_obj = loose.find(*base);
            if (d != plan.depth.end() && d->second + 1 < k_max_depth && b_obj != loose.end() && b_obj->second.data &&
                b_obj->second.type == it->second.type) {
                b = base;
                depth = d->second + 1;
            } else if (b_obj == loose.end()) {
                if (const PackedBase* p = packed(*base); p && p->type == it->second.type && p->depth + 1 < k_max_cross_depth) {
                    b = base;
                    depth = p->depth + 1;
                } else if (!in_merged(*base)) {
                    plan.hints.push_back({oid, *base});
                }
            }
        }
        plan.depth.emplace(oid, depth);
        plan.at.emplace(oid, plan.order.size());
        plan.order.push_back({oid, b});
    };
    auto content = [&](const git_oid& oid, git_object_t type) -> const std::string* {
        auto it = loose.find(oid);
        if (it != loose.end()) return it->second.type == type && it->second.data ? &*it->second.data : nullptr;
        const PackedBase* p = packed(oid);
        return p && p->type == type ? &p->data : nullptr;
    };
    // The previous version of a folder or commit, wherever it is stored: without it every
    // entry of a folder would look new (its older records among them), and a new record
    // could take an old, unpackable one as its base, then be stored whole: 600 bytes a
    // print at 400k records, when a delta against the chain's previous print is 30.
    OidMap<std::optional<std::string>> elsewhere;
    auto previous = [&](const git_oid& oid, git_object_t type) -> const std::string* {
        if (const std::string* c = content(oid, type)) return c;
        auto it = elsewhere.find(oid);
        if (it == elsewhere.end()) it = elsewhere.emplace(oid, stored(oid, type)).first;
        return it->second ? &*it->second : nullptr;
    };

    // Parents before children.
    struct Links {
        git_oid tree;
        std::optional<git_oid> parent;
        bool placed = false;
    };
    OidMap<Links> commits;
    for (auto& [oid, obj] : loose) {
        Links l{};
        if (obj.type == GIT_OBJECT_COMMIT && obj.data && commit_links(*obj.data, l.tree, l.parent)) commits.emplace(oid, l);
    }
    std::vector<git_oid> ordered;
    for (auto& [oid, links] : commits) {
        std::vector<git_oid> up;
        for (git_oid at = oid;;) {
            auto it = commits.find(at);
            if (it == commits.end() || it->second.placed) break;
            it->second.placed = true;
            up.push_back(at);
            if (!it->second.parent) break;
            at = *it->second.parent;
        }
        ordered.insert(ordered.end(), up.rbegin(), up.rend());
    }

    std::unordered_map<std::string, std::vector<git_oid>> versions;  // chain (+ folder) -> its commits (trees), oldest first
    std::unordered_map<std::string, git_oid> before_run;             // the same -> its version in a pack, if any
    OidMap<std::string> chain_of;                       // commit -> its chain's key (its oldest loose commit)
    std::unordered_map<std::string, git_oid> last_new;  // chain key + type -> the last new record there
    std::function<void(const git_oid&, const std::optional<git_oid>&, const std::string&, const std::string&)> walk =
        [&](const git_oid& now, const std::optional<git_oid>& before, const std::string& dir, const std::string& chain) {
            add(now, std::nullopt);  // its base is chosen below, from newer versions
            versions[chain + "\n" + dir].push_back(now);
            if (before && !loose.count(*before)) before_run.emplace(chain + "\n" + dir, *before);
            const std::string* t = content(now, GIT_OBJECT_TREE);
            if (!t) return;
            const std::string* old = before ? previous(*before, GIT_OBJECT_TREE) : nullptr;
            std::vector<TreeEntry> old_entries = old ? tree_entries(*old) : std::vector<TreeEntry>{};
            for (auto& e : tree_entries(*t)) {
                auto prev = std::lower_bound(old_entries.begin(), old_entries.end(), e.name,
                                             [](const TreeEntry& x, std::string_view n) { return x.name < n; });
                // Git sorts a tree's entries by name, a folder's as if it ended in '/': close
                // enough for a lookup that only has to find most previous versions.
                const TreeEntry* was = prev != old_entries.end() && prev->name == e.name ? &*prev : nullptr;
                if (!was)
                    for (auto& o : old_entries)
                        if (o.name == e.name) was = &o;
                if (was && git_oid_equal(&was->oid, &e.oid)) continue;
                std::string path = dir + std::string(e.name);
                if (e.is_tree) {
                    walk(e.oid, was && was->is_tree ? std::optional<git_oid>(was->oid) : std::nullopt, path + "/", chain);
                } else if (was) {
                    add(e.oid, was->oid);
                } else if (dir.rfind("records/", 0) != 0) {
                    add(e.oid, std::nullopt);  // an artifact: nothing like it before
                } else if (loose.count(e.oid)) {
                    // A new record: like the chain's previous new record of its type.
                    std::string key = chain + "\n" + dir.substr(0, dir.find('/', 8));
                    auto p = last_new.find(key);
                    add(e.oid, p != last_new.end() ? std::optional<git_oid>(p->second) : std::nullopt);
                    last_new.insert_or_assign(key, e.oid);
                }
            }
        };
    for (auto& c : ordered) {
        const Links& l = commits.at(c);
        std::optional<git_oid> parent_tree;
        std::string chain = git::oid_hex(c);
        if (l.parent) {
            if (auto p = commits.find(*l.parent); p != commits.end()) {
                parent_tree = p->second.tree;
            } else if (const std::string* pc = previous(*l.parent, GIT_OBJECT_COMMIT)) {
                git_oid tree;
                std::optional<git_oid> grandparent;
                if (commit_links(*pc, tree, grandparent)) parent_tree = tree;
                before_run.emplace(chain, *l.parent);
            }
            if (auto k = chain_of.find(*l.parent); k != chain_of.end()) chain = k->second;
        }
        chain_of.emplace(c, chain);
        add(c, std::nullopt);
        versions[chain].push_back(c);
        walk(l.tree, parent_tree, "", chain);
    }
    // Commits and trees are deltas the other way, as git stores them: each version
    // against the next newer one, the newest whole, for the newest is what a printer
    // agent reads (its chain's head) and should cost one inflate; a replay reads them
    // oldest first and finds the newer base in its cache. Each object is decided once,
    // and a delta only names an object decided before it, so no chain loops.
    OidMap<bool> decided;
    for (auto& [key, seq] : versions) {
        // Where the chain last started again: the newest version, then each version whose
        // chain would have grown past k_max_depth and is a delta against that one
        // instead. A type's folder (records/print/, 256 entries) changes with every
        // commit: such a delta spans a hundred versions, 2 KB where stored whole it was 6.
        std::optional<git_oid> restart;
        for (std::size_t i = seq.size(); i-- > 0;) {
            const git_oid& x = seq[i];
            if (!decided.emplace(x, true).second) continue;
            if (i + 1 == seq.size()) {
                // The newest: against the version before this run's, when a pack merged
                // with this one holds it, within a short chain.
                auto prior = before_run.find(key);
                auto xo = loose.find(x);
                const PackedBase* p = prior != before_run.end() ? packed(prior->second) : nullptr;
                if (p && xo != loose.end() && xo->second.data && p->type == xo->second.type && plan.at.count(x) &&
                    !plan.order[plan.at.at(x)].base && p->depth + 1 < k_max_cross_depth) {
                    plan.depth[x] = p->depth + 1;
                    plan.order[plan.at.at(x)].base = prior->second;
                } else if (prior != before_run.end() && (p || !in_merged(prior->second)) && xo != loose.end() &&
                           xo->second.data && plan.at.count(x) && !plan.order[plan.at.at(x)].base) {
                    // For the run that merges both, or, when the version before is here
                    // but too deep, for the next merge of this pack (see rebase_hinted).
                    plan.hints.push_back({x, prior->second});
                }
                restart = x;
                continue;
            }
            auto linkable = [&](const git_oid& base) {
                auto xo = loose.find(x), bo = loose.find(base);
                return xo != loose.end() && bo != loose.end() && xo->second.data && bo->second.data &&
                       xo->second.type == bo->second.type && plan.at.count(x) && plan.at.count(base) &&
                       decided.count(base);
            };
            std::optional<git_oid> base = seq[i + 1];
            if (!linkable(*base)) {
                restart = x;
                continue;
            }
            if (plan.depth.at(*base) + 1 >= k_max_depth) {
                base =
                    restart && linkable(*restart) && plan.depth.at(*restart) + 1 < k_max_depth ? restart : std::nullopt;
                restart = x;  // whole, or a delta against the last start: the chain starts again here
                if (!base) continue;
            }
            plan.depth[x] = plan.depth.at(*base) + 1;
            plan.order[plan.at.at(x)].base = *base;
        }
    }
    for (auto& [oid, obj] : loose) add(oid, std::nullopt);
    return plan;
}

// The header of a pack entry: its type (1 to 4 stored whole, 6 OFS_DELTA, 7 REF_DELTA),
// for a delta where its base is, and where its type-and-size bytes and the whole header end.
struct EntryHeader {
    int type = 0;
    std::uint64_t back = 0;       // OFS_DELTA: the base starts that many bytes before
    std::optional<git_oid> base;  // REF_DELTA: the base's id
    const unsigned char* size_end = nullptr;
    const unsigned char* end = nullptr;
};

// The header of the entry at `offset` of `pack` (a mapped pack file); nullopt when it
// does not lie within the pack's body or names an OFS_DELTA base outside it. Which types
// the caller takes, and whether a base is an entry, are the caller's to check.
std::optional<EntryHeader> read_entry_header(const Mapped& pack, std::uint64_t offset) {
    if (pack.size() < 32 || offset < 12 || offset >= pack.size() - 20) return std::nullopt;
    const unsigned char* body_end = pack.data() + pack.size() - 20;
    const unsigned char* q = pack.data() + offset;
    EntryHeader h;
    h.type = (*q >> 4) & 7;
    while (*q & 0x80)
        if (++q == body_end) return std::nullopt;
    h.size_end = ++q;
    if (h.type == 6) {
        if (q == body_end) return std::nullopt;
        h.back = *q & 0x7f;
        while (*q & 0x80) {
            if (++q == body_end || h.back >= (std::uint64_t{1} << 56)) return std::nullopt;
            h.back = ((h.back + 1) << 7) | (*q & 0x7f);
        }
        ++q;
        if (h.back == 0 || h.back > offset) return std::nullopt;
    } else if (h.type == 7) {
        if (body_end - q < 20) return std::nullopt;
        git_oid base;
        std::memcpy(base.id, q, 20);
        h.base = base;
        q += 20;
    }
    h.end = q;
    return h;
}

// Where the entries of a merged pack went in the new pack, by their place in its index:
// the offset (k_not_copied for an object another merged pack gave already) and the
// CRC-32 of the entry as written. 12 bytes an object.
struct Placed {
    static constexpr std::uint64_t k_not_copied = ~std::uint64_t{0};
    std::vector<std::uint64_t> offset;
    std::vector<std::uint32_t> crc;
};

// Copies the entries of the pack of `index` (not those `skip` says the new pack already
// has) into `out`, in the order they are in the file, each byte for byte but for the
// header of a delta, which names its base anew (see delta_header; `written_at`: where
// the new pack holds an object, if it does by then), and for an object `replaced` has a
// new entry for. Fills `placed`.
Status copy_pack(const fs::path& idx_path, const PackIndex& index, Sha1File& out, Placed& placed,
                 const std::function<bool(const git_oid&)>& skip, const OidMap<std::string>& replaced,
                 const std::function<std::optional<std::uint64_t>(const git_oid&)>& written_at) {
    fs::path pack_path = idx_path;
    pack_path.replace_extension(".pack");
    auto m = Mapped::open(pack_path);
    auto bad = [&](const std::string& why) {
        return make_error(Errc::repository, "cannot merge the pack " + util::quote(pack_path) + ": " + why);
    };
    const std::uint32_t n = index.size();
    if (!m || m->size() < 32 || std::memcmp(m->data(), "PACK", 4) != 0) return bad("not a pack");
    if (be32(m->data() + 8) != n) return bad("its index does not match it");
    // The entries in the order they are in the file; each ends where the next begins.
    std::vector<std::uint32_t> order(n);
    for (std::uint32_t k = 0; k < n; ++k) order[k] = k;
    std::sort(order.begin(), order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return index.offset(a) < index.offset(b); });
    const std::uint64_t body_end = m->size() - 20;
    auto by_offset = [&](std::uint64_t off) -> std::optional<std::uint32_t> {
        auto it = std::lower_bound(order.begin(), order.end(), off,
                                   [&](std::uint32_t k, std::uint64_t o) { return index.offset(k) < o; });
        if (it == order.end() || index.offset(*it) != off) return std::nullopt;
        return *it;
    };
    placed.offset.assign(n, Placed::k_not_copied);
    placed.crc.assign(n, 0);
    std::uint64_t dropped = 0;  // pages of the mapping below this are let go
    for (std::uint32_t i = 0; i < n; ++i) {
        const std::uint32_t k = order[i];
        const std::uint64_t offset = index.offset(k), end_offset = i + 1 < n ? index.offset(order[i + 1]) : body_end;
        if (offset < 12 || end_offset <= offset || end_offset > body_end) return bad("an entry lies outside it");
        const git_oid oid = index.oid(k);
        if (skip(oid)) continue;
        const unsigned char* p = m->data() + offset;
        const unsigned char* end = m->data() + end_offset;
        const std::uint32_t crc = index.crc(k);
        if (crc32_z(0, p, static_cast<std::size_t>(end - p)) != crc)
            return bad("the entry of " + git::oid_hex(oid) + " does not match its CRC");
        auto h = read_entry_header(*m, offset);
        if (!h || h->end > end) return bad("the entry of " + git::oid_hex(oid) + " has a malformed header");
        const std::uint64_t at = out.offset();
        placed.offset[k] = at;
        placed.crc[k] = crc;
        auto write_delta = [&](std::string_view size_bytes, const git_oid& base, std::string_view body) -> Status {
            std::string head = delta_header(size_bytes, base, written_at(base), at);
            uLong c = crc32(0, reinterpret_cast<const Bytef*>(head.data()), static_cast<uInt>(head.size()));
            placed.crc[k] =
                static_cast<std::uint32_t>(crc32_z(c, reinterpret_cast<const Bytef*>(body.data()), body.size()));
            DVI_CHECK(out.write(head));
            return out.write(body);
        };
        if (auto r = replaced.find(oid); r != replaced.end()) {
            // A rebased entry: a REF_DELTA (see delta_entry), its base perhaps written by now.
            std::string_view e = r->second;
            std::size_t size_end = 1;
            while (size_end < e.size() && (static_cast<unsigned char>(e[size_end - 1]) & 0x80)) ++size_end;
            if (size_end + 20 > e.size()) return make_error(Errc::internal, "a rebased entry is malformed");
            git_oid base;
            std::memcpy(base.id, e.data() + size_end, 20);
            DVI_CHECK(write_delta(e.substr(0, size_end), base, e.substr(size_end + 20)));
        } else if (h->type == 6 || h->type == 7) {
            git_oid base;
            if (h->type == 7) {
                base = *h->base;
            } else if (auto b = by_offset(offset - h->back)) {
                base = index.oid(*b);
            } else {
                return bad("a delta's base is not an entry");
            }
            auto bytes = [](const unsigned char* from, const unsigned char* to) {
                return std::string_view(reinterpret_cast<const char*>(from), static_cast<std::size_t>(to - from));
            };
            DVI_CHECK(write_delta(bytes(p, h->size_end), base, bytes(h->end, end)));
        } else {
            DVI_CHECK(out.write(p, static_cast<std::size_t>(end - p)));
        }
        // What is copied is not read again: its pages go back as the copy moves on, so
        // that merging a gigabyte does not hold a gigabyte of the file mapped.
        if (offset - dropped >= k_drop_step) dropped = m->drop(dropped, offset);
    }
    return {};
}

// The entries of the new pack's index, in the order of their ids: those of `loose`
// (sorted by id) and those of each merged pack that `placed` says were copied, merged
// from their sorted indexes as they are read. `each` sees every entry once; an id
// given twice is an error.
Status for_each_entry(const std::vector<IdxEntry>& loose, const std::vector<PackIndex>& merged,
                      const std::vector<Placed>& placed, const std::function<Status(const IdxEntry&)>& each) {
    const std::size_t m = merged.size();
    std::vector<std::uint32_t> at(m + 1, 0);
    auto skip_uncopied = [&](std::size_t s) {
        if (s < m)
            while (at[s] < merged[s].size() && placed[s].offset[at[s]] == Placed::k_not_copied) ++at[s];
    };
    auto left = [&](std::size_t s) { return s < m ? at[s] < merged[s].size() : at[s] < loose.size(); };
    for (std::size_t s = 0; s < m; ++s) skip_uncopied(s);
    std::vector<IdxEntry> heads(m + 1);
    auto load = [&](std::size_t s) {
        if (!left(s)) return;
        if (s < m)
            heads[s] = {merged[s].oid(at[s]), placed[s].offset[at[s]], placed[s].crc[at[s]]};
        else
            heads[s] = loose[at[s]];
    };
    for (std::size_t s = 0; s <= m; ++s) load(s);
    std::optional<git_oid> last;
    while (true) {
        std::size_t best = m + 1;
        for (std::size_t s = 0; s <= m; ++s)
            if (left(s) && (best > m || oid_less(heads[s].oid, heads[best].oid))) best = s;
        if (best > m) return {};
        if (last && git_oid_equal(&*last, &heads[best].oid))
            return make_error(Errc::internal, "the new pack holds " + git::oid_hex(*last) + " twice");
        last = heads[best].oid;
        DVI_CHECK(each(heads[best]));
        ++at[best];
        skip_uncopied(best);
        load(best);
    }
}

// Version 2 index, for the pack whose trailer is `sum`, of `loose` (sorted by id here)
// and of what the merged packs gave it (see for_each_entry).
Status write_index(const fs::path& path, std::vector<IdxEntry>& loose, const std::vector<PackIndex>& merged,
                   const std::vector<Placed>& placed, const std::array<unsigned char, 20>& sum, bool durable) {
    std::sort(loose.begin(), loose.end(), [](auto& a, auto& b) { return oid_less(a.oid, b.oid); });
    DVI_TRY(f, Sha1File::create(path));
    std::string head("\377tOc\0\0\0\2", 8);
    std::array<std::uint32_t, 256> fan{};
    DVI_CHECK(for_each_entry(loose, merged, placed, [&](const IdxEntry& e) -> Status {
        ++fan[e.oid.id[0]];
        return {};
    }));
    std::uint32_t running = 0;
    for (auto n : fan) put_be32(head, running += n);
    DVI_CHECK(f.write(head));
    // Ids, CRC-32s and offsets, each table in the same order, through one buffer.
    std::string block;
    auto flush_full = [&]() -> Status {
        if (block.size() < (std::size_t{1} << 16)) return {};
        Status st = f.write(block);
        block.clear();
        return st;
    };
    auto put = [&](std::uint32_t v) {
        put_be32(block, v);
        return flush_full();
    };
    DVI_CHECK(for_each_entry(loose, merged, placed, [&](const IdxEntry& e) {
        block.append(reinterpret_cast<const char*>(e.oid.id), 20);
        return flush_full();
    }));
    DVI_CHECK(for_each_entry(loose, merged, placed, [&](const IdxEntry& e) { return put(e.crc); }));
    std::string large;
    std::uint32_t n_large = 0;
    DVI_CHECK(for_each_entry(loose, merged, placed, [&](const IdxEntry& e) -> Status {
        if (e.offset < 0x80000000u) return put(static_cast<std::uint32_t>(e.offset));
        put_be32(large, static_cast<std::uint32_t>(e.offset >> 32));
        put_be32(large, static_cast<std::uint32_t>(e.offset & 0xffffffffu));
        return put(0x80000000u | n_large++);
    }));
    DVI_CHECK(f.write(block));
    DVI_CHECK(f.write(large));
    DVI_CHECK(f.write(sum.data(), sum.size()));
    DVI_CHECK(f.finish(durable));
    f.keep();
    return {};
}

constexpr std::string_view k_hints_magic = "dvi-pack-hints 1\n";
constexpr std::uintmax_t k_max_hints_file = std::uintmax_t{64} << 20;

fs::path hints_path(const fs::path& gitdir, const fs::path& idx) {
    return gitdir / "dvi" / "pack-hints" / (idx.stem().string() + ".hints");
}

// A missing, damaged or oversized file is no hints: they only ever choose delta bases.
std::vector<Hint> read_hints(const fs::path& path) {
    std::vector<Hint> out;
    std::error_code ec;
    if (!fs::exists(path, ec)) return out;
    auto text = util::read_file(path, k_max_hints_file);
    if (!text || std::string_view(*text).substr(0, k_hints_magic.size()) != k_hints_magic ||
        (text->size() - k_hints_magic.size()) % 40 != 0)
        return out;
    out.resize((text->size() - k_hints_magic.size()) / 40);
    const char* p = text->data() + k_hints_magic.size();
    for (auto& h : out) {
        std::memcpy(h.object.id, p, 20);
        std::memcpy(h.base.id, p + 20, 20);
        p += 40;
    }
    return out;
}

// Hints are advisory: one that cannot be written costs some bytes later, nothing else.
void write_hints(const fs::path& path, const std::vector<Hint>& hints) {
    std::error_code ec;
    if (hints.empty()) {
        fs::remove(path, ec);
        return;
    }
    std::string text(k_hints_magic);
    for (auto& h : hints) {
        text.append(reinterpret_cast<const char*>(h.object.id), 20);
        text.append(reinterpret_cast<const char*>(h.base.id), 20);
    }
    fs::create_directories(path.parent_path(), ec);
    (void)util::write_file_atomic(path, text, util::FileMode::public_0644, util::Overwrite::yes);
}

// The packs a run merges, as the rebasing of hinted objects sees them: where an object's
// first copy is (the one the new pack takes), whether an entry is whole or a delta on
// what, and how deep the delta chains ending at a whole entry go.
class MergeSet {
public:
    struct Entry {
        std::size_t pack;
        std::uint32_t index;  // its place in that pack's index
    };
    struct Head {
        int type = 0;                // 1 to 4 when stored whole
        std::optional<git_oid> base;  // else the delta's base
    };
    MergeSet(const std::vector<fs::path>& packs, const std::vector<PackIndex>& indexes)
        : m_paths(packs), m_indexes(indexes), m_packs(packs.size()) {}

    std::optional<Entry> find(const git_oid& oid) const {
        for (std::size_t i = 0; i < m_indexes.size(); ++i)
            if (auto k = m_indexes[i].find(oid)) return Entry{i, *k};
        return std::nullopt;
    }
    // nullopt: the entry makes no sense (it is then never used).
    std::optional<Head> head(const Entry& e) {
        Pack& pk = pack(e.pack);
        const PackIndex& ix = m_indexes[e.pack];
        const std::uint64_t offset = ix.offset(e.index);
        auto eh = pk.map ? read_entry_header(*pk.map, offset) : std::nullopt;
        if (!eh) return std::nullopt;
        Head h{eh->type, eh->base};
        if ((h.type >= 1 && h.type <= 4) || h.type == 7) return h;
        if (h.type != 6) return std::nullopt;
        const std::uint64_t back = eh->back;
        auto it = std::lower_bound(pk.by_offset.begin(), pk.by_offset.end(), offset - back,
                                   [&](std::uint32_t k, std::uint64_t o) { return ix.offset(k) < o; });
        if (it == pk.by_offset.end() || ix.offset(*it) != offset - back) return std::nullopt;
        h.base = ix.oid(*it);
        return h;
    }
    // The whole object the delta chain of `oid` ends at, as the packs are now.
    std::optional<git_oid> chain_end(git_oid oid) {
        for (int depth = 0; depth <= k_max_depth; ++depth) {
            auto e = find(oid);
            auto h = e ? head(*e) : std::nullopt;
            if (!h) return std::nullopt;
            if (!h->base) return oid;
            oid = *h->base;
        }
        return std::nullopt;
    }
    // The longest delta chain in its pack that ends at `root`, a whole entry: how much
    // deeper the objects stored against it go when it becomes a delta itself.
    int height(const Entry& root) {
        Pack& pk = pack(root.pack);
        if (pk.height.empty()) heights(root.pack);
        return pk.height[root.index];
    }

private:
    struct Pack {
        std::optional<Mapped> map;
        std::vector<std::uint32_t> by_offset;  // places in the index, by offset
        std::vector<std::uint8_t> height;      // at most k_max_depth
        bool opened = false;
    };
    Pack& pack(std::size_t i) {
        Pack& pk = m_packs[i];
        if (!pk.opened) {
            pk.opened = true;
            if (auto m = Mapped::open(fs::path(m_paths[i]).replace_extension(".pack"))) pk.map.emplace(std::move(*m));
            const PackIndex& ix = m_indexes[i];
            pk.by_offset.resize(ix.size());
            for (std::uint32_t k = 0; k < pk.by_offset.size(); ++k) pk.by_offset[k] = k;
            std::sort(pk.by_offset.begin(), pk.by_offset.end(),
                      [&](std::uint32_t a, std::uint32_t b) { return ix.offset(a) < ix.offset(b); });
        }
        return pk;
    }
    // Every entry's depth and the whole entry its chain ends at, each resolved once; an
    // entry whose chain leaves the pack, loops or makes no sense counts as too deep.
    void heights(std::size_t i) {
        const std::uint32_t n = m_indexes[i].size();
        constexpr std::uint32_t k_none = std::numeric_limits<std::uint32_t>::max();
        static_assert(k_max_depth < 127);
        std::vector<std::int8_t> depth(n, -1);
        std::vector<std::uint32_t> root(n, k_none);
        std::vector<std::uint32_t> stack;
        for (std::uint32_t k = 0; k < n; ++k) {
            std::uint32_t x = k;
            stack.clear();
            while (depth[x] < 0) {
                auto h = head({i, x});
                std::optional<std::uint32_t> b = h && h->base ? m_indexes[i].find(*h->base) : std::nullopt;
                if (h && !h->base) {
                    depth[x] = 0;
                    root[x] = x;
                } else if (!b || stack.size() > static_cast<std::size_t>(k_max_depth)) {
                    depth[x] = k_max_depth;
                } else {
                    stack.push_back(x);
                    x = *b;
                }
            }
            for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
                depth[*it] = static_cast<std::int8_t>(std::min(depth[x] + 1, k_max_depth));
                root[*it] = root[x];
                x = *it;
            }
        }
        Pack& pk = m_packs[i];
        pk.height.assign(n, k_max_depth);
        for (std::uint32_t k = 0; k < n; ++k)
            if (root[k] == k) pk.height[k] = 0;
        for (std::uint32_t k = 0; k < n; ++k)
            if (root[k] != k_none)
                pk.height[root[k]] = static_cast<std::uint8_t>(std::max<int>(pk.height[root[k]], depth[k]));
        // Every entry's header was read: those pages are not needed again.
        if (pk.map) pk.map->drop(0, pk.map->size());
    }
    const std::vector<fs::path>& m_paths;
    const std::vector<PackIndex>& m_indexes;
    std::vector<Pack> m_packs;
};

// The hinted objects of the merged packs that become deltas against their previous
// versions, as the pack entries that replace their whole ones; and the hints to keep for
// a later merge (the previous version is in a pack this run does not merge). A delta chain
// stays under k_max_depth, and under k_max_cross_depth up to the rebased object
// (which may be its folder's newest version, what a printer agent reads). When the hinted
// object cannot become a delta, its previous version becomes one against it instead. No
// loop: an object's base chain never reaches it, and an object that became the end of
// another's chain here is not rebased itself, nor is one of `ends` (the loose objects'
// chains end there, their depths planned with it whole).
struct Rebased {
    OidMap<std::string> entries;
    std::vector<Hint> kept;
};
Result<Rebased> rebase_hinted(MergeSet& set, const std::vector<Hint>& hints, git_odb* odb,
                              const std::function<bool(const git_oid&)>& elsewhere, OidMap<bool> ends) {
    Rebased out;
    OidMap<git_oid> rebased;  // object -> its new base
    auto read = [&](const git_oid& oid) -> std::optional<std::pair<git_object_t, std::string>> {
        std::size_t size = 0;
        git_object_t type = GIT_OBJECT_INVALID;
        git_odb_object* o = nullptr;
        if (!odb || git_odb_read_header(&size, &type, odb, &oid) != 0 || size > k_max_delta_object ||
            git_odb_read(&o, odb, &oid) != 0) {
            git_error_clear();
            return std::nullopt;
        }
        std::pair<git_object_t, std::string> r{git_odb_object_type(o),
                                               std::string(static_cast<const char*>(git_odb_object_data(o)), git_odb_object_size(o))};
        git_odb_object_free(o);
        return r;
    };
    // `object`, whole in the merged packs, stored as a delta against `base`, if both are
    // there and the rules above allow it.
    auto rebase = [&](const git_oid& object, const git_oid& base_oid) -> Status {
        auto t = set.find(object);
        if (!t || !set.find(base_oid) || rebased.count(object) || ends.count(object)) return {};
        auto th = set.head(*t);
        if (!th || th->base) return {};  // not whole (any more): nothing to gain
        // The base's chain in the new pack, from it to the whole object it ends at: the
        // depth of chain[k] is chain.size() - 1 - k.
        std::vector<git_oid> chain;
        std::optional<git_oid> end;
        for (git_oid x = base_oid;
             chain.size() <= static_cast<std::size_t>(k_max_depth) && !git_oid_equal(&x, &object);) {
            chain.push_back(x);
            auto e = set.find(x);
            auto xh = e ? set.head(*e) : std::nullopt;
            if (!xh) break;
            if (xh->base) {
                x = *xh->base;
            } else if (auto r = rebased.find(x); r != rebased.end()) {
                x = r->second;
            } else {
                end = x;
                break;
            }
        }
        if (!end) return {};
        const int depth = static_cast<int>(chain.size()) - 1, height = set.height(*t);
        auto target = read(object);
        if (!target) return {};
        // Against the base, within k_max_cross_depth; past it, against whichever of the
        // base's chain at half that depth or less makes the smallest delta, many versions
        // apart: a fan-out folder linked across groups of runs reached that depth after
        // about a hundred versions, and was then stored whole (6 KB).
        std::optional<std::string> d;
        std::size_t chosen = 0;
        for (std::size_t k = 0; k < chain.size(); ++k) {
            const int at = depth - static_cast<int>(k);
            const bool usable =
                k == 0 ? at + 1 < k_max_cross_depth : depth + 1 >= k_max_cross_depth && at <= k_max_cross_depth / 2;
            if (!usable || at + 1 + height >= k_max_depth) continue;
            auto base = read(chain[k]);
            if (!base || base->first != target->first) continue;
            auto dk = delta::encode(base->second, target->second, d ? d->size() - 1 : target->second.size() / 2);
            if (!dk) continue;
            auto back = delta::apply(base->second, *dk);
            if (!back || *back != target->second) continue;
            d = std::move(dk);
            chosen = k;
            if (k == 0) break;
        }
        if (!d) return {};
        const git_oid base_oid_chosen = chain[chosen];
        std::string entry = entry_header(7, d->size());
        entry.append(reinterpret_cast<const char*>(base_oid_chosen.id), 20);
        DVI_TRY(z, deflate(*d));
        entry += z;
        out.entries.emplace(object, std::move(entry));
        rebased.emplace(object, base_oid_chosen);
        ends.emplace(*end, true);
        return {};
    };
    for (auto& h : hints) {
        auto t = set.find(h.object);
        auto th = t ? set.head(*t) : std::nullopt;
        if (!th || th->base) continue;  // not whole (any more): nothing to gain
        if (!set.find(h.base)) {
            if (elsewhere(h.base)) out.kept.push_back(h);
            continue;
        }
        DVI_CHECK(rebase(h.object, h.base));
        // The other way, as git stores versions (the older against the newer), when the
        // newer cannot change: a later run's objects are deltas against it already (a
        // fan-out folder touched by every run), or its chain is too deep. Else both would
        // stay whole for good, their hint gone with the merge.
        if (!rebased.count(h.object)) DVI_CHECK(rebase(h.base, h.object));
        // Kept when only this run's plan held the object whole: the newest group of runs
        // in a merge starts its folders there, and the loose objects are planned against
        // them. The next merge of this pack links it; dropped here, each group of runs
        // started every fan-out folder whole for good (6 KB, a tenth of a 100k ledger).
        if (!rebased.count(h.object) && !rebased.count(h.base) && ends.count(h.object)) out.kept.push_back(h);
    }
    return out;
}

}  // namespace

bool due(const fs::path& gitdir, std::size_t threshold) {
    if (threshold == 0) return false;
    // As git gc --auto estimates: the objects of a sample of the 256 fan-out folders,
    // scaled up. Enough folders to expect about 32 objects at the threshold: one
    // (objects/17, git's) at the default, all of them for a threshold under 256.
    std::size_t folders = std::clamp<std::size_t>(256 * 32 / threshold, 1, 256), n = 0;
    for (std::size_t i = 0; i < folders; ++i) {
        char name[3];
        std::snprintf(name, sizeof name, "%02zx", (0x17 + i) % 256);
        if (DIR* d = ::opendir((gitdir / "objects" / name).c_str())) {
            while (auto* e = ::readdir(d))
                if (e->d_name[0] != '.') ++n;
            ::closedir(d);
        }
    }
    return n * 256 >= threshold * folders;
}

Result<Outcome> run(git_repository* repo, const fs::path& gitdir, bool durable) {
    Outcome out;
    auto lock = util::FileLock::acquire(gitdir / "dvi" / "locks" / "pack.lock", std::chrono::milliseconds(0));
    if (!lock) return out;  // another process is packing
    // What a packer killed mid-write left: its temporary files, an hour old (git names
    // its own index-pack's files alike, so a young one may be a live git's).
    {
        std::error_code ec;
        auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
        for (auto& f : fs::directory_iterator(gitdir / "objects" / "pack", ec)) {
            std::string n = f.path().filename();
            std::error_code e2;
            if ((n.rfind("tmp_pack_", 0) == 0 || n.rfind("tmp_idx_", 0) == 0) && fs::last_write_time(f.path(), e2) < hour_ago && !e2)
                fs::remove(f.path(), e2);
        }
    }

    // Hints of packs that are gone (deleted by git gc, or a run killed before it
    // deleted them).
    {
        std::error_code ec;
        for (auto& f : fs::directory_iterator(gitdir / "dvi" / "pack-hints", ec)) {
            std::error_code e2;
            if (!fs::exists(gitdir / "objects" / "pack" / (f.path().stem().string() + ".idx"), e2)) fs::remove(f.path(), e2);
        }
    }
    // Each loose object is read once, here (an unreadable one is left for git fsck).
    // At most k_max_batch of them a run, so that memory stays bounded on a ledger that
    // never packed: the next appends pack the rest.
    OidMap<Loose> loose;
    for (auto& [oid, path] : loose_objects(gitdir)) {
        if (loose.size() == k_max_batch) break;
        if (auto l = read_loose(path, k_max_delta_object)) loose.emplace(oid, std::move(*l));
    }
    auto packs = packs_of(gitdir);
    // Geometric merging, as `git repack --geometric=2` splits the packs: those above the
    // split each hold at least twice the objects of the one below; the others go into the
    // new pack with the loose objects, and so does the next one up while it holds less
    // than twice all that. Packs of about the same size, as runs leave them, are merged
    // (a greedy merge from the smallest up left a million records in 20 packs), and with
    // them the hinted objects become deltas.
    packs.erase(std::remove_if(packs.begin(), packs.end(), [](auto& p) { return !p.mergeable; }), packs.end());
    std::sort(packs.begin(), packs.end(), [](auto& a, auto& b) { return a.count < b.count; });
    std::size_t merge = 0;
    for (std::size_t i = packs.size(); i-- > 1;)
        if (packs[i].count < 2 * std::size_t{packs[i - 1].count}) {
            merge = i + 1;
            break;
        }
    std::size_t merged_size = loose.size();
    for (std::size_t i = 0; i < merge; ++i) merged_size += packs[i].count;
    while (merge < packs.size() && packs[merge].count < 2 * merged_size) merged_size += packs[merge++].count;
    // The last run's pack too, while it is at most k_follow times this run's objects: it
    // holds the versions before this run of the folders this run touches again, so that
    // their newest versions here are deltas against them rather than whole. A fan-out
    // folder (records/print/ab/, 256 entries) is 6 KB whole: when only every other run
    // merged the one before it, such folders took 1.8 KB a record at 600k records.
    if (merge < packs.size() && !loose.empty()) {
        auto last = std::max_element(packs.begin() + static_cast<std::ptrdiff_t>(merge), packs.end(),
                                     [](auto& a, auto& b) { return a.written < b.written; });
        bool newest = std::none_of(packs.begin(), packs.begin() + static_cast<std::ptrdiff_t>(merge),
                                   [&](auto& p) { return p.written > last->written; });
        if (newest && last->count <= k_follow * loose.size()) {
            std::iter_swap(packs.begin() + static_cast<std::ptrdiff_t>(merge), last);
            merged_size += packs[merge++].count;
        }
    }
    if (loose.empty() && merge < 2) return out;

    std::vector<PackIndex> merged;  // their indexes, mapped
    merged.reserve(merge);
    std::size_t total = 0;
    for (std::size_t i = 0; i < merge; ++i) {
        auto index = PackIndex::open(packs[i].idx);
        if (!index) return make_error(Errc::repository, "cannot read the pack index " + util::quote(packs[i].idx));
        total += index->size();
        merged.push_back(std::move(*index));
    }
    auto in_merged = [&](const git_oid& oid) {
        return std::any_of(merged.begin(), merged.end(), [&](auto& m) { return m.has(oid); });
    };
    // The delta depth of an entry of merged pack i, from the entry headers (nullopt when
    // they make no sense: such a base is not used).
    std::vector<std::optional<Mapped>> maps(merge);
    std::vector<char> mapped(merge, 0);
    auto depth_in = [&](std::size_t i, std::uint64_t offset) -> std::optional<int> {
        if (!mapped[i]) {
            mapped[i] = 1;
            if (auto m = Mapped::open(fs::path(packs[i].idx).replace_extension(".pack"))) maps[i].emplace(std::move(*m));
        }
        if (!maps[i]) return std::nullopt;
        for (int depth = 0; depth <= k_max_depth; ++depth) {
            auto h = read_entry_header(*maps[i], offset);
            if (!h) return std::nullopt;
            if (h->type == 6) {  // OFS_DELTA: the base is that many bytes before
                offset -= h->back;
            } else if (h->type == 7) {  // REF_DELTA: the base by id, in the same pack
                auto k = merged[i].find(*h->base);
                if (!k) return std::nullopt;
                offset = merged[i].offset(*k);
            } else {
                return depth;
            }
        }
        return std::nullopt;
    };
    OidMap<std::optional<PackedBase>> packed_bases;
    git_odb* read_odb = nullptr;
    if (git_repository_odb(&read_odb, repo) != 0) read_odb = nullptr;
    std::unique_ptr<git_odb, void (*)(git_odb*)> read_odb_guard(read_odb, git_odb_free);
    PackedLookup packed = [&](const git_oid& oid) -> const PackedBase* {
        if (auto c = packed_bases.find(oid); c != packed_bases.end()) return c->second ? &*c->second : nullptr;
        std::optional<PackedBase> found;
        for (std::size_t i = 0; i < merge && read_odb; ++i) {
            auto k = merged[i].find(oid);
            if (!k) continue;
            auto depth = depth_in(i, merged[i].offset(*k));
            git_odb_object* o = nullptr;
            if (depth && git_odb_read(&o, read_odb, &oid) == 0) {
                if (git_odb_object_size(o) <= k_max_delta_object)
                    found = PackedBase{git_odb_object_type(o),
                                       std::string(static_cast<const char*>(git_odb_object_data(o)), git_odb_object_size(o)),
                                       *depth};
                git_odb_object_free(o);
            }
            git_error_clear();
            break;
        }
        auto [it, inserted] = packed_bases.emplace(oid, std::move(found));
        return it->second ? &*it->second : nullptr;
    };
    StoredLookup stored = [&](const git_oid& oid, git_object_t type) -> std::optional<std::string> {
        git_odb_object* o = nullptr;
        if (!read_odb || git_odb_read(&o, read_odb, &oid) != 0) {
            git_error_clear();
            return std::nullopt;
        }
        std::optional<std::string> data;
        if (git_odb_object_type(o) == type && git_odb_object_size(o) <= k_max_delta_object)
            data.emplace(static_cast<const char*>(git_odb_object_data(o)), git_odb_object_size(o));
        git_odb_object_free(o);
        return data;
    };
    Plan plan = plan_loose(loose, in_merged, packed, stored);
    // Objects of the merged packs stored whole, by hints, oldest pack first (a later
    // pack's object may be a delta against an earlier one's, then rebased itself).
    std::vector<fs::path> merged_idx;
    for (std::size_t i = 0; i < merge; ++i) merged_idx.push_back(packs[i].idx);
    MergeSet merge_set(merged_idx, merged);
    std::vector<std::size_t> by_age(merge);
    for (std::size_t i = 0; i < merge; ++i) by_age[i] = i;
    std::sort(by_age.begin(), by_age.end(), [&](auto a, auto b) { return packs[a].written < packs[b].written; });
    std::vector<Hint> hints;
    for (auto i : by_age) {
        auto h = read_hints(hints_path(gitdir, packs[i].idx));
        hints.insert(hints.end(), h.begin(), h.end());
    }
    // A hint is kept while a pack this run does not merge, but a later one may, holds its base.
    std::vector<std::optional<PackIndex>> others(packs.size() - merge);
    std::vector<char> opened(others.size(), 0);
    auto elsewhere = [&](const git_oid& oid) {
        for (std::size_t k = 0; k < others.size(); ++k) {
            if (!opened[k]) {
                opened[k] = 1;
                if (auto index = PackIndex::open(packs[merge + k].idx)) others[k].emplace(std::move(*index));
            }
            if (others[k] && others[k]->has(oid)) return true;
        }
        return false;
    };
    OidMap<bool> planned_on;
    for (auto& item : plan.order)
        if (item.base && !loose.count(*item.base))
            if (auto end = merge_set.chain_end(*item.base)) planned_on.emplace(*end, true);
    DVI_TRY(rebased, rebase_hinted(merge_set, hints, read_odb, elsewhere, std::move(planned_on)));
    for (auto& h : plan.hints)
        if (in_merged(h.base) || elsewhere(h.base)) rebased.kept.push_back(h);
    // Objects two merged packs share are copied once, from the first.
    auto in_earlier = [&](std::size_t i, const git_oid& oid) {
        return std::any_of(merged.begin(), merged.begin() + static_cast<std::ptrdiff_t>(i),
                           [&](auto& m) { return m.has(oid); });
    };
    std::size_t duplicates = 0;
    for (std::size_t i = 1; i < merge; ++i)
        for (std::uint32_t k = 0; k < merged[i].size(); ++k)
            if (in_earlier(i, merged[i].oid(k))) ++duplicates;
    const std::size_t count = total - duplicates + plan.order.size();
    if (count == 0 || count > k_max_objects) return out;

    fs::path dir = gitdir / "objects" / "pack";
    std::error_code ec;
    fs::create_directories(dir, ec);
    DVI_TRY(name, git::store_name());
    DVI_TRY(pack, Sha1File::create(dir / ("tmp_pack_" + name)));
    std::string head("PACK\0\0\0\2", 8);
    put_be32(head, static_cast<std::uint32_t>(count));
    DVI_CHECK(pack.write(head));
    std::vector<Placed> placed(merge);
    // Where each planned loose object was written, by its place in the plan.
    constexpr std::uint64_t k_unwritten = std::numeric_limits<std::uint64_t>::max();
    std::vector<std::uint64_t> loose_at(plan.order.size(), k_unwritten);
    auto written_at = [&](const git_oid& oid) -> std::optional<std::uint64_t> {
        if (auto it = plan.at.find(oid); it != plan.at.end() && loose_at[it->second] != k_unwritten)
            return loose_at[it->second];
        for (std::size_t i = 0; i < merge && !placed[i].offset.empty(); ++i)
            if (auto k = merged[i].find(oid); k && placed[i].offset[*k] != Placed::k_not_copied)
                return placed[i].offset[*k];
        return std::nullopt;
    };
    for (std::size_t i = 0; i < merge; ++i)
        DVI_CHECK(copy_pack(
            packs[i].idx, merged[i], pack, placed[i], [&](const git_oid& oid) { return in_earlier(i, oid); },
            rebased.entries, written_at));
    std::size_t copied = 0;
    for (auto& p : placed)
        copied += static_cast<std::size_t>(
            std::count_if(p.offset.begin(), p.offset.end(), [](std::uint64_t o) { return o != Placed::k_not_copied; }));
    std::vector<IdxEntry> written;  // the loose objects' entries
    written.reserve(plan.order.size());
    // The loose objects, as planned, each delta's base before it, as git writes them: a
    // delta then names its base by offset (OFS_DELTA), in 2 or 3 bytes rather than 20,
    // which took 130 bytes a record at a million records.
    auto write_loose = [&](std::size_t k) -> Status {
        const Planned& item = plan.order[k];
        const Loose& obj = loose.at(item.oid);
        std::optional<Loose> large;  // read again: larger than a delta is worth
        if (!obj.data && !(large = read_loose(obj.path, k_max_packed_object)))
            return make_error(Errc::repository, "cannot read object " + git::oid_hex(item.oid));
        std::string_view data = obj.data ? *obj.data : *large->data;
        const std::uint64_t at = pack.offset();
        auto whole = [&]() -> Result<std::string> {
            std::string entry = entry_header(static_cast<int>(obj.type), data.size());
            DVI_TRY(z, deflate(data));
            return entry + z;
        };
        std::string entry;
        if (item.base) {
            // Planned only with its content: loose, or in a pack merged into this one.
            auto lb = loose.find(*item.base);
            const std::string& base = lb != loose.end() ? *lb->second.data : packed(*item.base)->data;
            if (auto d = delta::encode(base, data, data.size())) {
                entry = delta_header(entry_header(7, d->size()), *item.base, written_at(*item.base), at);
                DVI_TRY(z, deflate(*d));
                entry += z;
                // A delta half the object's size or more is kept when its entry is the
                // smaller one: the small folders and files every commit rewrites (the root,
                // records/, state/, chain.json) are mostly ids, and an offset names the
                // base in 1 to 3 bytes. Stored whole, they took 300 bytes a record.
                bool is_delta = true;
                if (d->size() * 2 >= data.size()) {
                    DVI_TRY(w, whole());
                    if (w.size() <= entry.size()) {
                        entry = std::move(w);
                        is_delta = false;
                    }
                }
                // Checked before anything loose is deleted: a delta that does not give
                // back the object is not written.
                if (is_delta) {
                    auto back = delta::apply(base, *d);
                    if (!back || *back != data)
                        entry.clear();
                    else
                        ++out.deltas;
                }
            }
        }
        if (entry.empty()) {
            DVI_TRY(w, whole());
            entry = std::move(w);
        }
        auto crc = static_cast<std::uint32_t>(crc32_z(0, reinterpret_cast<const Bytef*>(entry.data()), entry.size()));
        written.push_back({item.oid, at, crc});
        loose_at[k] = at;
        return pack.write(entry);
    };
    std::vector<char> done(plan.order.size(), 0);
    std::vector<std::size_t> bases_first;
    for (std::size_t i = 0; i < plan.order.size(); ++i) {
        // The chain of this run's objects that its delta needs, up to one written already
        // or stored elsewhere (a plan has no loops), written from its end.
        bases_first.clear();
        for (std::size_t j = i; !done[j];) {
            bases_first.push_back(j);
            done[j] = 1;
            const auto& base = plan.order[j].base;
            auto b = base ? plan.at.find(*base) : plan.at.end();
            if (b == plan.at.end()) break;
            j = b->second;
        }
        for (auto it = bases_first.rbegin(); it != bases_first.rend(); ++it) DVI_CHECK(write_loose(*it));
    }
    if (copied + written.size() != count) return make_error(Errc::internal, "the pack does not hold what was planned");
    DVI_TRY(sum, pack.finish(durable));
    std::string hex = util::hex_encode(sum.data(), sum.size());
    fs::path final_pack = dir / ("pack-" + hex + ".pack"), final_idx = dir / ("pack-" + hex + ".idx");
    fs::path tmp_idx = dir / ("tmp_idx_" + name);
    DVI_CHECK(write_index(tmp_idx, written, merged, placed, sum, durable));
    // The pack before its index, which is what makes it visible. A pack of that name is
    // the same bytes (it is named by their hash): it stays as it is.
    bool existed = fs::exists(final_pack, ec);
    if (!existed) fs::rename(pack.path(), final_pack, ec);
    if (!ec && !fs::exists(final_idx)) fs::rename(tmp_idx, final_idx, ec);
    if (ec) {
        std::error_code ignored;
        fs::remove(tmp_idx, ignored);
        if (!existed) fs::remove(final_pack, ignored);
        return make_error(Errc::io, "cannot install the new pack: " + ec.message());
    }
    fs::remove(tmp_idx, ec);
    if (!existed) pack.keep();
    write_hints(hints_path(gitdir, final_idx), rebased.kept);
    // The new pack is on disk before anything it holds is deleted (whatever the
    // durability asked for the appends: this deletes history).
    DVI_CHECK(sync_dir(gitdir));
    // The fan-out folders stay, empty: the next appends would make them again, and a
    // mkdir costs more than a file (git prune-packed removes them).
    for (auto& [oid, obj] : loose)
        if (plan.depth.count(oid) || in_merged(oid)) fs::remove(obj.path, ec);
    for (std::size_t i = 0; i < merge; ++i) {
        fs::path base = packs[i].idx;
        if (base == final_idx) continue;  // the same set: already written
        for (auto* ext : {".idx", ".pack", ".rev", ".bitmap", ".mtimes"}) fs::remove(base.replace_extension(ext), ec);
        fs::remove(hints_path(gitdir, packs[i].idx), ec);
    }
    git_odb* odb = nullptr;
    if (git_repository_odb(&odb, repo) == 0) {
        git_odb_refresh(odb);
        git_odb_free(odb);
    }
    out.packed = plan.order.size();
    out.merged = merge;
    out.rebased = rebased.entries.size();
    out.packs = packs_of(gitdir).size();
    return out;
}

int level_for(const void* sample, std::size_t n) {
    if (n == 0) return 1;
    uLongf out = compressBound(static_cast<uLong>(n));
    std::vector<Bytef> buf(out);
    if (compress2(buf.data(), &out, static_cast<const Bytef*>(sample), static_cast<uLong>(n), 1) != Z_OK) return 1;
    return out * 10 >= n * 9 ? 0 : 1;
}

// The blob is deflated in blocks of k_block bytes on every core, as pigz does: each block
// is a raw deflate stream primed with the 32 KiB before it (so its matches reach back as
// a single stream's would) and ended by a sync flush (byte-aligned, not final), the last
// by the final block; in order, behind a zlib header and before the Adler-32 of the whole
// (combined from the blocks'), they are one zlib stream that any inflater reads. The
// caller's thread computes the blob's id (and, in store_artifact, its SHA-256); a writer
// thread sums and writes the blocks in order. On two cores, compressible data (G-code)
// seals at about 1.5 times the speed of a single deflating thread.
struct BlobPack::Impl {
    static constexpr std::size_t k_block = std::size_t{1} << 20;
    static constexpr std::size_t k_window = 32768;  // deflate's reach back

    struct Block {
        std::string input, dict, output;
        bool last = false;
        uLong adler = 1, crc = 0;  // of input, of output
        std::optional<Error> error;
        bool done = false;
    };

    fs::path dir;
    std::string name;
    std::optional<Sha1File> pack;
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> oid_ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
    int level = 0;
    std::uint64_t size = 0, written = 0;
    uLong crc = 0, adler = 1;   // of the entry so far, of the blob so far (the writer's)
    std::string current;        // the block being filled
    std::string previous_tail;  // the last k_window bytes before it

    std::vector<std::thread> deflaters;
    std::thread writer;
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::shared_ptr<Block>> todo, in_flight;  // in_flight: in order, to be written
    std::vector<std::shared_ptr<Block>> spare;           // written: their buffers are reused
    std::optional<Error> failed;                         // the writer's
    bool closing = false;

    ~Impl() { stop(); }
    void stop() {
        {
            std::lock_guard lock(mutex);
            closing = true;
        }
        changed.notify_all();
        for (auto& t : deflaters)
            if (t.joinable()) t.join();
        deflaters.clear();
        if (writer.joinable()) writer.join();
    }
    void deflate_blocks() {
        z_stream z{};
        bool ready = deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
        while (true) {
            std::shared_ptr<Block> b;
            {
                std::unique_lock lock(mutex);
                changed.wait(lock, [&] { return !todo.empty() || closing; });
                if (todo.empty()) break;
                b = std::move(todo.front());
                todo.pop_front();
            }
            try {  // an exception must not end the process from this thread
                if (!ready)
                    b->error = make_error(Errc::internal, "cannot start zlib");
                else if (auto st = compress(z, *b); !st)
                    b->error = st.error();
            } catch (const std::bad_alloc&) {
                b->error = make_error(Errc::io, "out of memory while compressing an artifact");
            }
            {
                std::lock_guard lock(mutex);
                b->done = true;
            }
            changed.notify_all();
        }
        if (ready) deflateEnd(&z);
    }
    static Status compress(z_stream& z, Block& b) {
        if (deflateReset(&z) != Z_OK) return make_error(Errc::internal, "cannot compress an artifact");
        if (!b.dict.empty() && deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(b.dict.data()),
                                                    static_cast<uInt>(b.dict.size())) != Z_OK)
            return make_error(Errc::internal, "cannot compress an artifact");
        // deflateBound holds for Z_FINISH; a sync flush may want a few bytes more, and gets
        // them: deflate is called again until it leaves room unused.
        b.output.resize(deflateBound(&z, b.input.size()) + 64);
        z.next_in = reinterpret_cast<Bytef*>(b.input.data());
        z.avail_in = static_cast<uInt>(b.input.size());
        std::size_t have = 0;
        while (true) {
            z.next_out = reinterpret_cast<Bytef*>(b.output.data() + have);
            z.avail_out = static_cast<uInt>(b.output.size() - have);
            int rc = deflate(&z, b.last ? Z_FINISH : Z_SYNC_FLUSH);
            if (rc == Z_STREAM_ERROR) return make_error(Errc::internal, "cannot compress an artifact");
            have = b.output.size() - z.avail_out;
            if (z.avail_out != 0 && z.avail_in == 0 && (!b.last || rc == Z_STREAM_END)) break;
            b.output.resize(b.output.size() + 4096);
        }
        b.output.resize(have);
        b.adler = adler32_z(1, reinterpret_cast<const Bytef*>(b.input.data()), b.input.size());
        b.crc = crc32_z(0, reinterpret_cast<const Bytef*>(b.output.data()), b.output.size());
        return {};
    }
    // The writer: each block in order once it is deflated, until the last.
    void write_blocks() {
        while (true) {
            std::shared_ptr<Block> b;
            {
                std::unique_lock lock(mutex);
                changed.wait(lock, [&] { return (!in_flight.empty() && in_flight.front()->done) || closing; });
                if (in_flight.empty() || !in_flight.front()->done) return;  // closing
                b = in_flight.front();
            }
            const bool last = b->last;  // once back in `spare`, the block is the caller's again
            std::optional<Error> error = b->error;
            if (!error) {
                crc = crc32_combine(crc, b->crc, static_cast<z_off_t>(b->output.size()));
                adler = adler32_combine(adler, b->adler, static_cast<z_off_t>(b->input.size()));
                try {
                    if (auto st = pack->write(b->output.data(), b->output.size()); !st) error = st.error();
                } catch (const std::bad_alloc&) {
                    error = make_error(Errc::io, "out of memory while writing an artifact");
                }
            }
            {
                std::lock_guard lock(mutex);
                in_flight.pop_front();
                spare.push_back(std::move(b));
                if (error) {
                    failed = std::move(error);
                    todo.clear();  // nothing more is written: nothing more to deflate
                }
            }
            changed.notify_all();
            if (failed || last) return;
        }
    }
    Status emit(const void* data, std::size_t n) {
        crc = crc32_z(crc, static_cast<const Bytef*>(data), n);
        return pack->write(data, n);
    }
    Status emit(std::string_view s) { return emit(s.data(), s.size()); }
    // Hands the filled block to the deflaters, with at most two a deflater in flight. The
    // blocks and their buffers are reused: a gigabyte goes through a few megabytes.
    Status submit(bool last) {
        std::shared_ptr<Block> b;
        {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return in_flight.size() < 2 * deflaters.size() || failed; });
            if (failed) return *failed;
            if (!spare.empty()) {
                b = std::move(spare.back());
                spare.pop_back();
            }
        }
        if (!b) b = std::make_shared<Block>();
        b->input.swap(current);
        b->dict = previous_tail;
        b->output.clear();
        b->last = last;
        b->error.reset();
        b->done = false;
        if (!last) previous_tail.assign(b->input, k_block - k_window, k_window);  // a block before the last is full
        {
            std::lock_guard lock(mutex);
            todo.push_back(b);
            in_flight.push_back(std::move(b));
        }
        changed.notify_all();
        current.clear();
        current.reserve(k_block);
        return {};
    }
    // Waits for the writer to write the last block.
    Status drain() {
        {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return in_flight.empty() || failed; });
        }
        stop();
        if (failed) return *failed;
        return {};
    }
};

BlobPack::BlobPack(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
BlobPack::BlobPack(BlobPack&&) noexcept = default;
BlobPack::~BlobPack() = default;

Result<BlobPack> BlobPack::create(const fs::path& pack_dir, std::uint64_t size, int level) {
    auto impl = std::make_unique<Impl>();
    std::error_code ec;
    fs::create_directories(pack_dir, ec);
    DVI_TRY(name, git::store_name());
    impl->dir = pack_dir;
    impl->name = name;
    DVI_TRY(f, Sha1File::create(pack_dir / ("tmp_pack_" + name)));
    impl->pack.emplace(std::move(f));
    impl->size = size;
    impl->level = level;
    if (!impl->oid_ctx || EVP_DigestInit_ex(impl->oid_ctx.get(), EVP_sha1(), nullptr) != 1)
        return make_error(Errc::crypto, "cannot start SHA-1");
    std::string object_header = "blob " + std::to_string(size) + std::string(1, '\0');
    EVP_DigestUpdate(impl->oid_ctx.get(), object_header.data(), object_header.size());
    std::string head("PACK\0\0\0\2\0\0\0\1", 12);
    DVI_CHECK(impl->pack->write(head));
    DVI_CHECK(impl->emit(entry_header(GIT_OBJECT_BLOB, size)));
    // zlib's header: deflate with a 32 KiB window, no preset dictionary, "fastest" (it is
    // informative); the two bytes read as a multiple of 31.
    DVI_CHECK(impl->emit("\x78\x01", 2));
    impl->current.reserve(Impl::k_block);
    // Storing (level 0) is a copy: one thread does it, and the others keep their cores.
    unsigned n = level == 0 ? 1 : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    Impl* raw = impl.get();
    for (unsigned i = 0; i < n; ++i) impl->deflaters.emplace_back([raw] { raw->deflate_blocks(); });
    impl->writer = std::thread([raw] { raw->write_blocks(); });
    return BlobPack(std::move(impl));
}

Status BlobPack::write(const void* data, std::size_t n) {
    Impl& m = *m_impl;
    m.written += n;
    if (m.written > m.size) return make_error(Errc::internal, "an artifact grew while it was stored");
    EVP_DigestUpdate(m.oid_ctx.get(), data, n);
    // A full block waits for more data: the last one, full or not, is deflated by finish().
    for (auto* p = static_cast<const char*>(data); n > 0;) {
        if (m.current.size() == Impl::k_block) DVI_CHECK(m.submit(false));
        std::size_t take = std::min(n, Impl::k_block - m.current.size());
        m.current.append(p, take);
        p += take;
        n -= take;
    }
    return {};
}

Result<git_oid> BlobPack::finish() {
    Impl& m = *m_impl;
    if (m.written != m.size) return make_error(Errc::internal, "an artifact changed size while it was stored");
    DVI_CHECK(m.submit(true));
    DVI_CHECK(m.drain());
    std::string trailer;
    put_be32(trailer, static_cast<std::uint32_t>(m.adler));
    DVI_CHECK(m.emit(trailer));
    git_oid oid;
    unsigned int len = 0;
    EVP_DigestFinal_ex(m.oid_ctx.get(), oid.id, &len);
    // Flushed to disk by the append that publishes it (one syncfs for everything).
    DVI_TRY(sum, m.pack->finish(false));
    std::string hex = util::hex_encode(sum.data(), sum.size());
    fs::path base = m.dir / ("pack-" + hex);
    std::vector<IdxEntry> entries{{oid, 12, static_cast<std::uint32_t>(m.crc)}};
    fs::path tmp_idx = m.dir / ("tmp_idx_" + m.name);
    DVI_CHECK(write_index(tmp_idx, entries, {}, {}, sum, false));
    std::error_code ec;
    fs::rename(m.pack->path(), base.string() + ".pack", ec);
    if (!ec) m.pack->keep();
    if (!ec) {
        int fd = ::open((base.string() + ".keep").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
        if (fd >= 0) ::close(fd);
        else ec = std::error_code(errno, std::generic_category());
    }
    if (!ec) fs::rename(tmp_idx, base.string() + ".idx", ec);
    if (ec) {
        std::error_code ignored;
        for (auto* ext : {".pack", ".keep"}) fs::remove(base.string() + ext, ignored);
        fs::remove(tmp_idx, ignored);
        return make_error(Errc::io, "cannot store an artifact's pack: " + ec.message(),
                          ec == std::errc::no_space_on_device ? git::k_no_space_hint : "");
    }
    return oid;
}

}  // namespace dvi::pack
