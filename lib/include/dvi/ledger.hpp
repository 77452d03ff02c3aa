// The ledger: a git repository whose chains refs/dvi/chains/<partner>/<writer> each
// hold one record per SSH-signed commit. Each chain's tree is the cumulative state of
// that chain (records fanned out by id, artifacts by SHA-256, small indexes), so
// lookups cost a few tree reads per chain and never walk history (dvi-ledger(5)).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "dvi/canonical.hpp"
#include "dvi/content.hpp"
#include "dvi/crypto.hpp"
#include "dvi/result.hpp"

struct git_oid;  // libgit2's object id, for the library's own modules (audit)

namespace dvi {

// Partner ids and writer names: lower-case ASCII letters, digits, '-' and '_', 1-63
// characters, starting with a letter or digit, so they are safe ref components.
bool is_valid_name(std::string_view name);

// Who writes a chain: one signing key of one partner.
struct WriterId {
    std::string partner;
    std::string writer;
    std::string ref() const { return "refs/dvi/chains/" + partner + "/" + writer; }
    std::string str() const { return partner + "/" + writer; }
    bool operator==(const WriterId&) const = default;
    auto operator<=>(const WriterId&) const = default;
};

// An artifact stored as a git blob and referenced from a record by SHA-256.
struct ArtifactRef {
    std::string sha256;  // 64 hex
    std::uint64_t size = 0;
    std::string media_type;
    std::string blob_oid;  // git's id of the blob (transport only)
    // Of an encrypted artifact (sha256 and size above are the ciphertext's): the plaintext's
    // keyed digest (crypto::PlainMac) and size.
    std::string plain_mac;
    std::uint64_t plain_size = 0;
};

// How store_artifact encrypts a file: AES-256-GCM under `key` with `nonce`, the tag after
// the ciphertext (dvi-records(5), "Encrypted artifacts").
struct ArtifactEncryption {
    const crypto::ContentKey* key = nullptr;
    crypto::Nonce nonce{};
};

struct ChainHead {
    WriterId writer;
    std::string commit;     // hex
    std::int64_t seq = 0;   // position of the head record, from 1
    std::string record_id;  // "sha256:…"
    // The latest anchor this chain had seen at its head (its head record, if that is an
    // anchor, or the anchor its head record names in `seen`), and the time that anchor
    // claims; empty when the chain has seen none (chain.json "anchor").
    std::string anchor;
    std::optional<std::int64_t> anchor_time;
};

// A record read from the ledger, with the chain whose head tree holds it.
struct StoredRecord {
    std::string id;
    std::string type;
    std::string bytes;  // canonical JSON, exactly as stored
    Json json;
    ChainHead chain;
};

// Where the next record of a chain goes; given to the record builder of an append.
struct ChainPosition {
    std::int64_t seq = 1;
    std::optional<std::string> head_commit;
    // The record's `seen`: the anchor with the latest claimed time among those the
    // chains of this ledger have seen (null when there is none).
    Json seen = nullptr;
};

// A derived file placed in the chain's tree beside the record (an index entry, the
// roster state), covered by the commit's signature like everything in the tree.
struct TreeFile {
    std::string path;
    std::string content;
};

struct AppendRequest {
    const crypto::PrivateKey* key = nullptr;
    WriterId writer;
    std::int64_t time = 0;  // the writer's clock, seconds since the epoch
    std::string summary;    // first line of the commit message
    // Or the first line computed from the record, when it depends on what build decided.
    std::function<std::string(const Json& record)> summarize;
    std::vector<ArtifactRef> artifacts;
    // Builds the record for `pos`; called again if a concurrent writer took the position.
    std::function<Result<Json>(const ChainPosition& pos)> build;
    // Derived tree files for the record once its id is known (optional).
    std::function<Result<std::vector<TreeFile>>(const std::string& id, const Json& record)> derive;
};

struct AppendOutcome {
    std::string record_id;
    std::string commit;
    std::int64_t seq = 0;
    std::string ref;
    int attempts = 1;                  // >1 when concurrent writers forced a rebuild
    std::vector<std::string> notices;  // e.g. a stale lock that was recovered
};

// How one commit of a chain checked out.
struct CommitCheck {
    std::string commit;
    std::string record_id;  // from the Dvi-Record trailer
    std::string signer;     // fingerprint of the key that signed, if parseable
    std::vector<std::string> problems;  // empty when the commit verifies
    // A stable code per problem, in the same order (dvi-audit(1)): unsigned-commit,
    // bad-signature, wrong-key, not-linear, record-missing, record-hash-mismatch, not-canonical.
    std::vector<std::string> codes;
    std::optional<StoredRecord> record;  // the record it adds, when it could be read
};

class Ledger {
public:
    Ledger(Ledger&&) noexcept;
    Ledger& operator=(Ledger&&) noexcept;
    ~Ledger();

    // A new bare repository at `dir` (which must not exist or be empty).
    static Result<Ledger> create(const std::filesystem::path& dir);
    // An existing ledger at exactly `dir` (bare repository or a work tree's .git).
    static Result<Ledger> open(const std::filesystem::path& dir);
    // Searches `start` and its parents, like git does.
    static Result<Ledger> discover(const std::filesystem::path& start);
    // The ledger a git hook runs in, as git's environment names it (GIT_DIR, and the
    // quarantine of objects being pushed: GIT_OBJECT_DIRECTORY and its alternates).
    static Result<Ledger> open_from_git_environment();

    std::filesystem::path path() const;

    Result<std::optional<std::string>> config_get(const std::string& name) const;
    Status config_set(const std::string& name, const std::string& value);

    // Every chain, sorted by partner then writer.
    Result<std::vector<ChainHead>> chains() const;
    Result<std::optional<ChainHead>> chain_head(const WriterId& writer) const;

    // The content of `path` in the head tree of `writer`'s chain, if present.
    Result<std::optional<std::string>> read_chain_file(const WriterId& writer, const std::string& path) const;
    // The same across all chains: every chain that has `path`, with its content.
    Result<std::vector<std::pair<ChainHead, std::string>>> find_chain_files(const std::string& path) const;

    // The files directly under folder `dir` of every chain's head tree:
    // (chain, file name, content). For small index folders.
    Result<std::vector<std::tuple<WriterId, std::string, std::string>>> read_chain_dir(const std::string& dir) const;

    // A record by full id or by a unique prefix of its hex (at least 4 digits).
    // With `type` (the type the caller expects), that type's folders are searched first,
    // which spares reading the fan-out folders of other types in long chains.
    Result<StoredRecord> find_record(std::string_view id_or_prefix, std::string_view type = {}) const;
    // Ids of every record of `type` in every chain's current tree, with their chain
    // (reads the records/<type>/ fan-out; no history walk).
    Result<std::vector<std::pair<WriterId, std::string>>> records_of_type(const std::string& type) const;
    // Whether a record id is present in any chain (exact id).
    Result<bool> has_record(const std::string& id) const;

    // Streams a file into a git blob while hashing it with SHA-256, in bounded memory;
    // `progress` (optional) hears the bytes stored so far after each 1 MiB. With
    // `encryption`, the blob is the file's ciphertext and its tag.
    Result<ArtifactRef> store_artifact(const std::filesystem::path& file, const std::string& media_type,
                                       const std::function<void(std::uint64_t)>& progress = {},
                                       const ArtifactEncryption* encryption = nullptr);
    // Stores bytes already in memory (a time-stamp token, a certificate) as an artifact.
    Result<ArtifactRef> store_artifact_bytes(std::string_view data, const std::string& media_type);
    // The bytes of an artifact by SHA-256 hex, from any chain's tree.
    Result<std::string> read_artifact(const std::string& sha256_hex) const;

    // Appends one record to `req.writer`'s chain: one signed commit, compare-and-swap on
    // the ref, retried when a concurrent writer won; nothing is left half-written.
    Result<AppendOutcome> append(const AppendRequest& req);

    // When the packing that appends leave due (about dvi.autoPack loose objects; unset:
    // 6,700, 0: never) runs: at the end of the append that makes it due, as `git gc
    // --auto` after a commit, or only when pack_if_due() is called. A printer agent asks
    // for it after the G-code is handed over, for a run that merges packs rewrites up to
    // hundreds of megabytes at a million records.
    enum class AutoPack { after_append, when_asked };
    void set_auto_pack(AutoPack when);
    // Packs the loose objects if that is due, merging packs as pack.hpp says. It never
    // fails: a failure, after the records are acknowledged, is a notice for `notices`.
    void pack_if_due(std::vector<std::string>& notices);

    // Verifies a commit: its SSH signature by `expected_key`, at most one parent (a chain
    // is linear), and (with RecordRead::own_tree) the Dvi-Record trailer against the
    // record in the commit's own tree. RecordRead::trailer_only reads just the trailer's
    // id, for a caller that reads the records of a whole chain from its head tree.
    enum class RecordRead { own_tree, trailer_only };
    Result<CommitCheck> check_commit(const std::string& commit_hex, const crypto::PublicKey& expected_key,
                                     RecordRead read = RecordRead::own_tree) const;

    // The audit's read of a commit of `writer`'s chain, from one read of the commit:
    // check_commit's checks with RecordRead::trailer_only, and the chain head the
    // commit's chain.json claims (an error when that file is missing or malformed).
    // Signature::verified: the caller has verified this commit's signature by
    // `expected_key` (its object is content-addressed and hash-checked on every read, so
    // the bytes are the same); the other checks still run.
    struct ChainCommit {
        CommitCheck check;
        Result<ChainHead> head;
    };
    enum class Signature { verify, verified };
    Result<ChainCommit> check_chain_commit(const WriterId& writer, const std::string& commit_hex,
                                           const crypto::PublicKey& expected_key,
                                           Signature signature = Signature::verify) const;
    // The same for a commit a walk of the chain has read already, signed by the key of
    // fingerprint `signer` (verified), with at most one parent and a valid trailer naming
    // `record_id`; `tree` is its tree. `guess`: the head its chain.json is expected to
    // claim (the commit before it moved on by this record); a chain.json that is exactly
    // that is known by its blob id, unread.
    Result<ChainCommit> check_walked_commit(const WriterId& writer, const git_oid& commit, const git_oid& tree,
                                            std::string record_id, const std::string& signer,
                                            const ChainHead* guess) const;

    // Commits of a chain from head to its root (a history walk: for log and audit).
    Result<std::vector<std::string>> chain_commits(const WriterId& writer) const;
    // The record a commit adds (by its trailer), as stored in that commit's tree.
    Result<StoredRecord> record_of_commit(const std::string& commit_hex) const;

    // The chain head at `commit` of `writer`'s chain (its chain.json), whether or not a
    // ref names it: for commits that arrive by sync before they are accepted.
    Result<ChainHead> head_at(const WriterId& writer, const std::string& commit) const;
    // Makes every lookup of this handle see exactly these chain heads instead of the refs:
    // the state a sync would produce, verified before any ref moves. An append ends it.
    void set_view(std::vector<ChainHead> heads);
    // Forgets the chain heads read so far: the next lookup reads the refs again (after a
    // sync moved them).
    void reload();
    // Between two operations of a handle that lives long (print-verify --batch): reload(),
    // and, when the pack folder changed since the last call (a pack run of this handle's
    // or of another process merged packs away) or a failed append left objects waiting,
    // lets go of what libgit2 keeps of the object store, those objects included. Packs
    // deleted since then stay mapped no longer, so memory does not grow with the
    // operations; the store opens again at the next read. True when it let go.
    bool refresh();

    // Whether `commit` is in `writer`'s chain as this ledger holds it (its head or an
    // ancestor of the head); false when the object is missing.
    Result<bool> chain_contains(const WriterId& writer, const std::string& commit) const;

    // The content of `path` in the tree of `commit`, if present.
    Result<std::optional<std::string>> read_file_at(const std::string& commit, const std::string& path) const;
    // Flushes everything written so far to disk (one syncfs), as appends do.
    Status flush() const;

    // For library modules that need libgit2 directly (sync, audit).
    void* raw_repository() const;
    // Lets go of what libgit2 keeps of the object store between reads: a cache of delta
    // bases of up to 16 MB for each pack, the packs' index mappings, the object cache.
    // The next read opens the store again. For a long read-only pass (audit), whose
    // memory would otherwise grow with the number of packs; a handle that has written
    // anything keeps its store, and the call returns false.
    bool release_object_store() const;

private:
    Ledger();
    // find_record's search, in the records/<only_type>/ folders only when that is given.
    Result<StoredRecord> find_record_of(std::string_view id_or_prefix, std::string_view only_type) const;
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// Whether every object and ref write is fsynced (the default). Only benchmark fillers
// that build throw-away ledgers turn it off.
enum class Durability { fsync, relaxed };
void set_durability(Durability d);

// The writer of a chain ref "refs/dvi/chains/<partner>/<writer>"; nullopt for any other
// ref or an invalid name.
std::optional<WriterId> writer_of_chain_ref(std::string_view ref);

// The record id a commit message names in its Dvi-Record trailer, if any.
std::optional<std::string> commit_record_id(const char* message);

// "records/<type>/<ab>/<cd>/<hex>.json"
std::string record_tree_path(const std::string& type, const std::string& id);

}  // namespace dvi
