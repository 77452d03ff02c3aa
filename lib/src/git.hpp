// The libgit2 seam: one owner and one free per handle, and git_check() turning a
// libgit2 failure into an Error. Private to the library.
#pragma once

#include <git2.h>
#include <git2/sys/odb_backend.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dvi/result.hpp"

namespace dvi::git {

template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
template <class T, void (*Free)(T*)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

using Repository = Handle<git_repository, git_repository_free>;
using Commit = Handle<git_commit, git_commit_free>;
using Tree = Handle<git_tree, git_tree_free>;
using TreeEntry = Handle<git_tree_entry, git_tree_entry_free>;
using Reference = Handle<git_reference, git_reference_free>;
using Blob = Handle<git_blob, git_blob_free>;
using Odb = Handle<git_odb, git_odb_free>;
using OdbObject = Handle<git_odb_object, git_odb_object_free>;
using Revwalk = Handle<git_revwalk, git_revwalk_free>;
using Config = Handle<git_config, git_config_free>;
using Signature = Handle<git_signature, git_signature_free>;
using RefIterator = Handle<git_reference_iterator, git_reference_iterator_free>;
using Remote = Handle<git_remote, git_remote_free>;

// Owns a git_buf.
struct Buf {
    git_buf buf = GIT_BUF_INIT;
    Buf() = default;
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    ~Buf() { git_buf_dispose(&buf); }
    std::string str() const { return buf.ptr ? std::string(buf.ptr, buf.size) : std::string(); }
};

// Initialises libgit2 once per process (durable writes on); safe to call repeatedly.
void ensure_init();

// Makes TLS remotes checkable: loads the certificate authorities of `file` and/or `dir`
// (the user's SSL_CERT_FILE, SSL_CERT_DIR; each replaces its own default, as in OpenSSL),
// else the system's, which libgit2 was kept from parsing at start-up (git.cpp). Loads
// again only for other locations; invalid_input when a given file or folder cannot be
// loaded.
Status load_tls_authorities(const std::optional<std::filesystem::path>& file,
                            const std::optional<std::filesystem::path>& dir);

// The system CA bundle (or folder) libgit2 asked for at start-up and dvi has not loaded
// yet ("" when none is pending: loaded, or libgit2 did not ask through mbedTLS).
std::string tls_deferred_bundle();

// What a user can do about ENOSPC or EDQUOT on the ledger's file system.
inline constexpr const char* k_no_space_hint = "free space on the file system that holds the ledger, then try again";

// 0 -> ok; anything else -> Errc::repository with "<what>: <libgit2 message>".
Status check(int rc, const std::string& what);
Error error(int rc, const std::string& what);

// Moves the loose objects of one objects folder into another on the same file system
// (rename, so each object appears whole or not at all) and links its packs there (the
// source's pack backend may still read them); objects the target already has stay
// behind. A pack and its .keep arrive before its index, which is what makes it visible.
Status migrate_objects(const std::filesystem::path& from, const std::filesystem::path& to);

// Object ids as keys: their first bytes are already uniformly distributed.
struct OidHash {
    std::size_t operator()(const git_oid& o) const noexcept {
        std::size_t h;
        std::memcpy(&h, o.id, sizeof h);
        return h;
    }
};
struct OidEq {
    bool operator()(const git_oid& a, const git_oid& b) const noexcept { return git_oid_equal(&a, &b) != 0; }
};
template <class V>
using OidMap = std::unordered_map<git_oid, V, OidHash, OidEq>;

// The objects a command writes, held in memory until an append publishes them: a libgit2
// object database backend attached above the repository's own, so that it takes every
// write (libgit2 writes to the first writable backend, after checking that no backend has
// the object) and answers reads of what it holds. A command that fails or is killed
// before publishing leaves the object store as it was.
class PendingObjects {
public:
    // Owned by the repository's object database (freed with it).
    static Result<PendingObjects*> attach(git_repository* repo, int priority);
    // Where a streamed object larger than k_in_memory goes instead: libgit2's loose
    // backend on the private store (which the caller also makes readable), so that a seal
    // of large files needs no more memory than before.
    static constexpr std::size_t k_in_memory = std::size_t{1} << 20;
    void spill_to(git_odb_backend* loose) { m_spill = loose; }
    git_odb_backend* spill() const { return m_spill; }

    bool empty() const { return m_objects.empty(); }
    // Writes each object as a loose object file (zlib, as git does) into `stage`, a folder
    // on the object store's file system; on failure removes what it wrote. Then
    // move_into() renames those files into `objects` (each appears whole or not at all)
    // and forgets them; discard_written() removes them instead (a failed publish).
    Status write_loose(const std::filesystem::path& stage);
    Status move_into(const std::filesystem::path& objects);
    void discard_written();

    struct Object {
        git_oid oid;
        git_object_t type;
        std::string data;
    };
    const Object* find(const git_oid& oid) const noexcept;
    void add(const git_oid& oid, git_object_t type, std::string data);
    const std::vector<Object>& objects() const { return m_objects; }

private:
    std::vector<Object> m_objects;
    OidMap<std::size_t> m_index;                   // id -> m_objects
    std::vector<std::filesystem::path> m_written;  // by write_loose, in m_objects' order
    git_odb_backend* m_spill = nullptr;
};

// Removes the folders under `base` (private object stores of dvi processes) whose owner
// is gone: named "<host>-<pid>-…" with a dead pid on this host, or a day old elsewhere.
void remove_stale_stores(const std::filesystem::path& base);
// A fresh name for such a folder: "<host>-<pid>-<random>".
Result<std::string> store_name();

// After GIT_ELOCKED on `ref` (libgit2 never waits): a "<ref>.lock" older than a few
// seconds was left by a process that died mid-update, and would block that ref for good.
// Removes it and returns a notice saying so; nullopt when the lock is young (a live
// writer: wait and retry) or already gone.
std::optional<std::string> remove_stale_ref_lock(const std::filesystem::path& gitdir, const std::string& ref);

// The type of object `oid` in the repository, from its header alone; GIT_OBJECT_INVALID
// when it is not there (or cannot be read).
git_object_t object_type(git_repository* repo, const git_oid& oid);

// Refuses an object larger than `max` bytes before anything inflates it whole: a hostile
// bundle's record or commit can expand from a small pack to gigabytes (its header says
// how much, so this costs one small read).
Status check_size(git_repository* repo, const git_oid& oid, std::size_t max, const std::string& what);
// The error of check_size: `what` is `size` bytes, above `max`.
Error too_large(const std::string& what, std::size_t size, std::size_t max);

// While it lives, every libgit2 allocation of this thread larger than `max` bytes fails,
// so reading an object of a hostile ledger (a record, a commit) cannot inflate a bomb
// into memory: the read fails instead ("out of memory"), and the caller tells why with
// check_size. As cheap as no check, where check_size walks a packed object's delta chain.
class ReadCeiling {
public:
    explicit ReadCeiling(std::size_t max);
    ~ReadCeiling();
    ReadCeiling(const ReadCeiling&) = delete;
    ReadCeiling& operator=(const ReadCeiling&) = delete;

private:
    std::size_t m_before;  // the ceiling of an enclosing ReadCeiling; 0: none
};

// A commit as its signature sees it, from one read of the object: what the checks of a
// chain need (its signature, the bytes it covers, its tree, its parents, its message),
// without libgit2 reading and parsing it again for each of them.
struct RawCommit {
    git_oid tree{};
    std::size_t parents = 0;
    git_oid parent{};  // the first, when there is one
    std::optional<std::string> signature;  // the gpgsig header, continuation spaces removed
    std::string signed_data;               // the object without that header: the signed payload
    std::string message;
};
// Errc::repository when the object is missing or not a commit, Errc::bad_signature when
// its headers are malformed (no tree first, a header split from its line, two gpgsig) or
// it is larger than k_max_commit.
Result<RawCommit> read_commit(git_repository* repo, const git_oid& oid);
// dvi's commits are under 2 KiB: a larger one was not written by dvi.
inline constexpr std::size_t k_max_commit = std::size_t{1} << 20;
// No record or state file that dvi writes comes near this; artifacts are not bound by it.
inline constexpr std::size_t k_max_ledger_file = std::size_t{16} << 20;

// Object `oid` read under a ReadCeiling (k_max_ledger_file, or `max` if larger): one
// larger than `max` gets check_size's error (Errc::bad_signature), any other failure
// "cannot read <what>: <libgit2's reason>".
Result<OdbObject> read_object(git_repository* repo, const git_oid& oid, std::size_t max, const std::string& what);

// The commit `oid`, read first by read_object: one larger than k_max_commit gets its
// error, any other failure "<what>: <libgit2's reason>".
Result<Commit> lookup_commit(git_repository* repo, const git_oid& oid, const std::string& what);

std::string oid_hex(const git_oid& oid);
// A full 40-hex object id; Errc::invalid_input otherwise.
Result<git_oid> parse_oid(const std::string& hex);

}  // namespace dvi::git
