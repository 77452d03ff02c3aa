#include "git.hpp"

#include <cstddef>
#include <mutex>

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
    const git_error* e = git_error_last();
    std::string msg = what;
    if (e && e->message) msg += std::string(": ") + e->message;
    else msg += ": libgit2 error " + std::to_string(rc);
    git_error_clear();
    return make_error(rc == GIT_ENOTFOUND ? Errc::not_found : Errc::repository, msg);
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
