#include "git.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <mutex>
#include <vector>

#include "dvi/crypto.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"

namespace dvi::git {

void ensure_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        git_libgit2_init();
        // libgit2's own fsync costs two syncs per object (about 20 per record); appends
        // instead sync the file system twice (Ledger::append), which is as durable.
        git_libgit2_opts(GIT_OPT_ENABLE_FSYNC_GITDIR, 0);
        git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 1);
        git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 1);
        // One operation reads the same trees and blobs many times (each chain's records/
        // fan-out, chain.json, roster.json, counters). libgit2 keeps only objects under
        // 4 KiB and no blobs, so a 256-entry fan-out tree was re-read and re-inflated on
        // every lookup. Objects are immutable: caching them changes no result.
        git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, std::size_t{64 * 1024});
        git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_BLOB, std::size_t{64 * 1024});
    });
}

Error error(int rc, const std::string& what) {
    int sys = errno;  // libgit2 leaves some failed writes (ENOSPC) without a message
    const git_error* e = git_error_last();
    std::string msg = what;
    if (e && e->message) msg += std::string(": ") + e->message;
    else if (sys != 0) msg += std::string(": ") + std::strerror(sys);
    else msg += ": libgit2 error " + std::to_string(rc);
    git_error_clear();
    // libgit2 puts strerror() into its messages, but errno may have moved on by now.
    bool full = sys == ENOSPC || sys == EDQUOT || msg.find(std::strerror(ENOSPC)) != std::string::npos ||
                msg.find(std::strerror(EDQUOT)) != std::string::npos;
    if (sys == ENOSPC || sys == EDQUOT) msg = what + ": " + std::strerror(sys);  // not what failed after it
    if (full)
        return make_error(Errc::io, msg, k_no_space_hint);
    return make_error(rc == GIT_ENOTFOUND ? Errc::not_found : Errc::repository, msg);
}

Status migrate_objects(const std::filesystem::path& from, const std::filesystem::path& to) {
    namespace fs = std::filesystem;
    auto move = [](const fs::path& src, const fs::path& dst) -> Status {
        std::error_code e;
        if (fs::exists(dst, e)) {
            fs::remove(src, e);  // the same object, already there
            return {};
        }
        fs::rename(src, dst, e);
        if (e) return make_error(Errc::io, "cannot move " + util::quote(src) + " into the ledger: " + e.message());
        return {};
    };
    std::error_code ec;
    for (auto& dir : fs::directory_iterator(from, ec)) {
        std::string name = dir.path().filename().string();
        if (name.size() != 2 || !dir.is_directory()) continue;
        std::error_code e;
        fs::create_directories(to / name, e);
        if (e) return make_error(Errc::io, "cannot create " + util::quote(to / name) + ": " + e.message());
        for (auto& o : fs::directory_iterator(dir.path(), e)) DVI_CHECK(move(o.path(), to / name / o.path().filename()));
        // Emptied: a store that lives for many appends (a sync, a bulk load) would list
        // every folder it ever used on each of them.
        ::rmdir(dir.path().c_str());
    }
    // Packs are linked, not moved: the private store's pack backend may still read them
    // until the store is removed. The pack and its .keep before the index, which is what
    // makes a pack visible.
    auto link = [&](const fs::path& src, const fs::path& dst) -> Status {
        if (::link(src.c_str(), dst.c_str()) == 0 || errno == EEXIST) return {};
        if (errno == ENOSPC || errno == EDQUOT)
            return make_error(Errc::io, "cannot link " + util::quote(src) + " into the ledger: " + std::strerror(errno), k_no_space_hint);
        return move(src, dst);  // a file system without hard links
    };
    std::vector<fs::path> indexes;
    for (auto& e : fs::directory_iterator(from / "pack", ec)) {
        if (e.path().extension() == ".idx") indexes.push_back(e.path());
        else if (e.path().extension() == ".pack" || e.path().extension() == ".keep") {
            std::error_code e2;
            fs::create_directories(to / "pack", e2);
            DVI_CHECK(link(e.path(), to / "pack" / e.path().filename()));
        }
    }
    for (auto& i : indexes) DVI_CHECK(link(i, to / "pack" / i.filename()));
    return {};
}

namespace {
std::string host_name() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) return "host";
    std::string h(host);
    for (char& c : h)
        if (c == '-' || c == '/') c = '_';
    return h;
}
}  // namespace

void remove_stale_stores(const std::filesystem::path& base) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::string here = host_name() + "-";
    for (auto& e : fs::directory_iterator(base, ec)) {
        std::string name = e.path().filename().string();
        bool dead = false;
        if (name.rfind(here, 0) == 0) {
            long pid = std::strtol(name.c_str() + here.size(), nullptr, 10);
            dead = pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
        } else {  // another machine's (a ledger on a shared file system): by age only
            std::error_code e2;
            auto age = fs::file_time_type::clock::now() - fs::last_write_time(e.path(), e2);
            dead = !e2 && age > std::chrono::hours(24);
        }
        std::error_code e3;
        if (dead) fs::remove_all(e.path(), e3);
    }
}

Status check_size(git_repository* repo, const git_oid& oid, std::size_t max, const std::string& what) {
    git_odb* raw = nullptr;
    DVI_CHECK(check(git_repository_odb(&raw, repo), "cannot open the object database"));
    Odb odb(raw);
    std::size_t size = 0;
    git_object_t type{};
    DVI_CHECK(check(git_odb_read_header(&size, &type, odb.get(), &oid), "cannot read " + what));
    if (size > max)
        return make_error(Errc::bad_signature, what + " is " + std::to_string(size) + " bytes, more than dvi ever writes (" +
                                                   std::to_string(max) + ")");
    return {};
}

std::optional<std::string> remove_stale_ref_lock(const std::filesystem::path& gitdir, const std::string& ref) {
    std::filesystem::path lock = gitdir / (ref + ".lock");
    struct stat st {};
    if (::stat(lock.c_str(), &st) != 0 || std::time(nullptr) - st.st_mtime < 5) return std::nullopt;
    if (::unlink(lock.c_str()) != 0) return std::nullopt;
    return "recovered a stale lock " + util::quote(lock) + " left by an interrupted writer";
}

Result<std::string> store_name() {
    DVI_TRY(rnd, crypto::random_bytes(8));
    return host_name() + "-" + std::to_string(::getpid()) + "-" + util::hex_encode(rnd);
}

Status check(int rc, const std::string& what) {
    if (rc >= 0) return {};
    return error(rc, what);
}

std::string oid_hex(const git_oid& oid) {
    char buf[GIT_OID_HEXSZ + 1];
    git_oid_tostr(buf, sizeof buf, &oid);
    return buf;
}

Result<git_oid> parse_oid(const std::string& hex) {
    git_oid oid;
    if (hex.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, hex.c_str()) != 0)
        return make_error(Errc::invalid_input, "not a commit id: '" + hex + "'");
    return oid;
}

}  // namespace dvi::git
