#include "dvi/ledger.hpp"

#include <git2/sys/repository.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <set>
#include <thread>

#include "dvi/sshsig.hpp"
#include "dvi/util/fs.hpp"
#include "dvi/util/time.hpp"
#include "git.hpp"
#include "pack.hpp"

namespace dvi {

namespace fs = std::filesystem;

bool is_valid_name(std::string_view name) {
    if (name.empty() || name.size() > 63) return false;
    auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!alnum(name[0])) return false;
    return std::all_of(name.begin(), name.end(), [&](char c) { return alnum(c) || c == '-' || c == '_'; });
}

namespace {
std::atomic<Durability> g_durability{Durability::fsync};
constexpr off_t k_publish_reserve = 64 * 1024;
// Artifacts from this size on are stored as a pack of their own (pack::BlobPack); the
// smaller ones are packed with the rest.
constexpr std::uint64_t k_blob_pack_threshold = pack::k_max_packed_object;

// Flushes everything written to the ledger's file system: one syncfs(2) instead of an
// fsync per object, file and folder.
Status sync_ledger(const fs::path& gitdir) {
    if (g_durability.load() == Durability::relaxed) return {};
    int fd = ::open(gitdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return make_error(Errc::io, "cannot open " + util::quote(gitdir) + ": " + std::strerror(errno));
    int rc = ::syncfs(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return make_error(Errc::io, "cannot flush the ledger to disk: " + std::string(std::strerror(err)));
    return {};
}
}  // namespace

void set_durability(Durability d) { g_durability.store(d); }

std::string record_tree_path(const std::string& type, const std::string& id) {
    std::string hex = id.substr(7);
    return "records/" + type + "/" + hex.substr(0, 2) + "/" + hex.substr(2, 2) + "/" + hex + ".json";
}

namespace {

constexpr std::string_view k_chain_prefix = "refs/dvi/chains/";
constexpr std::string_view k_trailer = "Dvi-Record";
constexpr int k_max_attempts = 200;

std::string artifact_tree_path(const std::string& sha) { return "artifacts/" + sha.substr(0, 2) + "/" + sha; }

using git::parse_oid;

// The blob at `path` in `tree`, or nullopt if the path does not exist.
Result<std::optional<std::string>> tree_read(git_repository* repo, git_tree* tree, const std::string& path) {
    git_tree_entry* raw = nullptr;
    int rc = git_tree_entry_bypath(&raw, tree, path.c_str());
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return std::optional<std::string>();
    }
    DVI_CHECK(git::check(rc, "cannot read tree entry '" + path + "'"));
    git::TreeEntry entry(raw);
    if (git_tree_entry_type(entry.get()) != GIT_OBJECT_BLOB)
        return make_error(Errc::repository, "tree entry '" + path + "' is not a file");
    if (path.rfind("artifacts/", 0) != 0)  // records and state files are small; artifacts may not be
        DVI_CHECK(git::check_size(repo, *git_tree_entry_id(entry.get()), git::k_max_ledger_file, "'" + path + "'"));
    git_blob* blob = nullptr;
    DVI_CHECK(git::check(git_blob_lookup(&blob, repo, git_tree_entry_id(entry.get())), "cannot read blob '" + path + "'"));
    git::Blob b(blob);
    return std::optional<std::string>(std::string(static_cast<const char*>(git_blob_rawcontent(b.get())),
                                                  static_cast<std::size_t>(git_blob_rawsize(b.get()))));
}

Result<git::Tree> commit_tree(git_repository* repo, const git_oid& commit_oid) {
    DVI_TRY(commit, git::lookup_commit(repo, commit_oid, "cannot read commit " + git::oid_hex(commit_oid)));
    git_tree* t = nullptr;
    DVI_CHECK(git::check(git_commit_tree(&t, commit.get()), "cannot read tree of " + git::oid_hex(commit_oid)));
    return git::Tree(t);
}

std::optional<WriterId> parse_chain_ref(std::string_view name) {
    if (name.substr(0, k_chain_prefix.size()) != k_chain_prefix) return std::nullopt;
    auto rest = name.substr(k_chain_prefix.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    WriterId w{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
    if (!is_valid_name(w.partner) || !is_valid_name(w.writer)) return std::nullopt;
    return w;
}

}  // namespace

std::optional<std::string> commit_record_id(const char* message) {
    git_message_trailer_array arr{};
    if (git_message_trailers(&arr, message) != 0) {
        git_error_clear();
        return std::nullopt;
    }
    std::optional<std::string> id;
    for (std::size_t i = 0; i < arr.count; ++i)
        if (k_trailer == arr.trailers[i].key) id = arr.trailers[i].value;
    git_message_trailer_array_free(&arr);
    return id;
}

namespace {

// Appenders of one chain on this machine take turns under a per-writer flock; the ref's
// own .lock is still the cross-machine guard (CAS).
Result<util::FileLock> lock_writer(const fs::path& gitdir, const WriterId& w) {
    auto lock = util::FileLock::acquire(gitdir / "dvi" / "locks" / w.partner / (w.writer + ".lock"), std::chrono::seconds(60));
    if (!lock && lock.error().code == Errc::conflict)
        return make_error(Errc::conflict, "another dvi process has been writing to chain '" + w.str() + "' for over a minute",
                          "check for a stuck 'dvi' process");
    return lock;
}

}  // namespace

struct Ledger::Impl {
    git::Repository repo;
    fs::path gitdir;
    // The chain heads as first read by this handle: one consistent snapshot for the
    // lookups of one operation. Appends go to the refs themselves and refresh it.
    std::optional<std::vector<ChainHead>> heads;
    bool view = false;  // heads were set by set_view(): the refs are not consulted
    std::optional<std::size_t> autopack;  // dvi.autoPack, read at the first append
    AutoPack autopack_when = AutoPack::after_append;
    // Objects this handle writes wait in memory (git::PendingObjects) until an append
    // publishes them just before its ref moves; large artifacts wait in a private store,
    // dvi/stage/<host>-<pid>-<random> (a pack of their own from 16 MiB, loose objects from
    // 1 MiB), where the objects from memory are also written out just before they are
    // all moved in. So a command that fails, runs out of space or is killed leaves the
    // ledger's object store as it was.
    git::PendingObjects* pending = nullptr;  // owned by the repository's object database
    std::optional<fs::path> stage;
    bool stage_packs_ready = false;
    bool stage_loose_ready = false;
    std::optional<fs::file_time_type> packs_seen;  // objects/pack/ at the last refresh()

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        if (!stage) return;
        std::error_code ec;
        fs::remove_all(*stage, ec);
    }

    Status begin_writes() {
        if (pending) return {};
        // Above the ledger's own loose (1) and pack (2) backends and the private store's packs.
        DVI_TRY(p, git::PendingObjects::attach(repo.get(), 100));
        pending = p;
        return {};
    }

    Status begin_stage() {
        if (stage) return {};
        fs::path base = gitdir / "dvi" / "stage";
        std::error_code ec;
        fs::create_directories(base, ec);
        if (ec) return make_error(Errc::io, "cannot create " + util::quote(base) + ": " + ec.message(), io_hint(ec));
        git::remove_stale_stores(base);  // left by killed processes
        DVI_TRY(name, git::store_name());
        fs::create_directory(base / name, ec);
        if (ec) return make_error(Errc::io, "cannot create " + util::quote(base / name) + ": " + ec.message(), io_hint(ec));
        stage = base / name;
        return {};
    }

    // Hands `backend` (over the private store's `objects`) to the repository's object
    // database, which then owns it; frees it when that fails.
    Status add_backend(git_odb_backend* backend, int priority, const fs::path& objects) {
        git_odb* raw = nullptr;
        int rc = git_repository_odb(&raw, repo.get());
        git::Odb odb(raw);
        if (rc == 0) rc = git_odb_add_backend(odb.get(), backend, priority);
        if (rc == 0) return {};
        backend->free(backend);
        return git::error(rc, "cannot prepare " + util::quote(objects));
    }

    // The packs of large artifacts (pack::BlobPack) in the private store, made readable
    // when the first is written: a command that writes none (print-verify) pays nothing.
    Status stage_packs() {
        DVI_CHECK(begin_stage());
        if (stage_packs_ready) return {};
        fs::path objects = *stage / "objects";
        std::error_code ec;
        fs::create_directories(objects / "pack", ec);  // libgit2's pack backend only looks if it exists
        if (ec) return make_error(Errc::io, "cannot create " + util::quote(objects / "pack") + ": " + ec.message(), io_hint(ec));
        git_odb_backend* packs = nullptr;
        DVI_CHECK(git::check(git_odb_backend_pack(&packs, objects.c_str()), "cannot prepare " + util::quote(objects)));
        DVI_CHECK(add_backend(packs, 99, objects));
        stage_packs_ready = true;
        return {};
    }

    // Streamed objects too large to wait in memory: libgit2's loose backend on the private
    // store takes them (PendingObjects::spill_to), and reads them back until published.
    Status stage_loose() {
        DVI_CHECK(begin_writes());
        DVI_CHECK(begin_stage());
        if (stage_loose_ready) return {};
        fs::path objects = *stage / "objects";
        std::error_code ec;
        fs::create_directories(objects, ec);
        if (ec) return make_error(Errc::io, "cannot create " + util::quote(objects) + ": " + ec.message(), io_hint(ec));
        git_odb_backend* loose = nullptr;
        DVI_CHECK(git::check(git_odb_backend_loose(&loose, objects.c_str(), -1, 0, 0, 0), "cannot prepare " + util::quote(objects)));
        DVI_CHECK(add_backend(loose, 98, objects));
        pending->spill_to(loose);
        stage_loose_ready = true;
        return {};
    }

    // Publishing needs a little space of its own (fan-out folders, the ref's lock file
    // and reflog): it is reserved, then released just before, so a disk that fills up
    // stops the append while nothing is published yet.
    Status publish_stage() {
        bool loose = pending && !pending->empty();
        if (loose) {
            DVI_CHECK(begin_stage());
            DVI_CHECK(pending->write_loose(*stage));
        }
        if (!loose && !stage_packs_ready && !stage_loose_ready) return {};
        Status st = reserve_and_move(loose);
        if (!st && loose) pending->discard_written();  // a later append on this handle writes them again
        return st;
    }

    Status reserve_and_move(bool loose) {
        fs::path reserve = *stage / "reserve";
        int fd = ::open(reserve.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) return io_error("cannot write " + util::quote(reserve), errno);
        int rc = ::posix_fallocate(fd, 0, k_publish_reserve);
        ::close(fd);
        ::unlink(reserve.c_str());
        if (rc != 0) return io_error("cannot reserve space in the ledger", rc);
        if (loose) DVI_CHECK(pending->move_into(gitdir / "objects"));
        if (stage_packs_ready || stage_loose_ready) return git::migrate_objects(*stage / "objects", gitdir / "objects");
        return {};
    }

    static Error io_error(const std::string& what, int err) {
        return make_error(Errc::io, what + ": " + std::strerror(err),
                          io_hint(std::error_code(err, std::generic_category())));
    }

    static std::string io_hint(const std::error_code& ec) {
        return ec == std::errc::no_space_on_device ? git::k_no_space_hint : "";
    }
};

Ledger::Ledger() : m_impl(std::make_unique<Impl>()) {}
Ledger::Ledger(Ledger&&) noexcept = default;
Ledger& Ledger::operator=(Ledger&&) noexcept = default;
Ledger::~Ledger() = default;

void* Ledger::raw_repository() const { return m_impl->repo.get(); }

bool Ledger::release_object_store() const {
    // Pending objects and the private store are backends of this object database.
    if (m_impl->pending || m_impl->stage) return false;
    // Frees the object database (a pack's cache goes with the last database that uses
    // it), the object cache, config and refdb; libgit2 opens each again when next needed.
    return git_repository__cleanup(m_impl->repo.get()) == 0;
}
fs::path Ledger::path() const { return m_impl->gitdir; }

Result<Ledger> Ledger::create(const fs::path& dir) {
    git::ensure_init();
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
        return make_error(Errc::invalid_input, "cannot create ledger " + util::quote(dir) + ": directory is not empty");
    git_repository_init_options opts;
    git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
    opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
    opts.description = "dvi ledger";
    git_repository* raw = nullptr;
    DVI_CHECK(git::check(git_repository_init_ext(&raw, dir.c_str(), &opts), "cannot create ledger " + util::quote(dir)));
    Ledger l;
    l.m_impl->repo.reset(raw);
    l.m_impl->gitdir = fs::canonical(git_repository_path(raw));
    return l;
}

Result<Ledger> Ledger::open(const fs::path& dir) {
    git::ensure_init();
    git_repository* raw = nullptr;
    int rc = git_repository_open_ext(&raw, dir.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return make_error(Errc::not_found, "not a dvi ledger: " + util::quote(dir),
                          "create one with 'dvi init' or give its path with -C");
    }
    DVI_CHECK(git::check(rc, "cannot open ledger " + util::quote(dir)));
    Ledger l;
    l.m_impl->repo.reset(raw);
    l.m_impl->gitdir = fs::canonical(git_repository_path(raw));
    return l;
}

Result<Ledger> Ledger::discover(const fs::path& start) {
    git::ensure_init();
    git::Buf buf;
    int rc = git_repository_discover(&buf.buf, start.c_str(), 0, nullptr);
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return make_error(Errc::not_found, "not in a dvi ledger (or any of its parents)",
                          "give the ledger with -C <dir> or DVI_DIR, or create one with 'dvi init'");
    }
    DVI_CHECK(git::check(rc, "cannot search for a ledger"));
    return open(buf.str());
}

Result<std::optional<std::string>> Ledger::config_get(const std::string& name) const {
    git_config* raw = nullptr;
    DVI_CHECK(git::check(git_repository_config_snapshot(&raw, m_impl->repo.get()), "cannot read ledger config"));
    git::Config cfg(raw);
    git::Buf buf;
    int rc = git_config_get_string_buf(&buf.buf, cfg.get(), name.c_str());
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return std::optional<std::string>();
    }
    DVI_CHECK(git::check(rc, "cannot read config '" + name + "'"));
    return std::optional<std::string>(buf.str());
}

Status Ledger::config_set(const std::string& name, const std::string& value) {
    git_config* raw = nullptr;
    DVI_CHECK(git::check(git_repository_config(&raw, m_impl->repo.get()), "cannot open ledger config"));
    git::Config cfg(raw);
    return git::check(git_config_set_string(cfg.get(), name.c_str(), value.c_str()), "cannot set config '" + name + "'");
}

namespace {
// An anchor as a chain's chain.json names it.
struct AnchorSeen {
    std::string id;
    std::optional<std::int64_t> time;
};

enum class Prefer { first_on_tie, second_on_tie };

// The anchor that claims the later time; an anchor without time evidence ranks below
// any timed one, so a plain anchor never hides the time floor of an earlier one.
AnchorSeen later_anchor(const AnchorSeen& a, const AnchorSeen& b, Prefer tie = Prefer::first_on_tie) {
    if (a.id.empty()) return b;
    if (b.id.empty()) return a;
    auto ta = a.time.value_or(std::numeric_limits<std::int64_t>::min());
    auto tb = b.time.value_or(std::numeric_limits<std::int64_t>::min());
    if (ta == tb) return tie == Prefer::first_on_tie ? a : b;
    return ta > tb ? a : b;
}

// The time an anchor record claims (evidence.time), unverified: ranking only.
std::optional<std::int64_t> claimed_anchor_time(const Json& record) {
    auto ev = record.find("evidence");
    if (ev == record.end() || !ev->is_object()) return std::nullopt;
    auto t = ev->find("time");  // absent for anchors without time evidence
    if (t == ev->end() || !t->is_string()) return std::nullopt;
    return util::parse_time(t->get<std::string>());
}

// The bytes of a chain's chain.json as an append writes them: position `seq` of `w`'s
// chain holds `record_id`, and the latest anchor its writer had seen is `seen`.
std::string chain_state_bytes(const WriterId& w, std::int64_t seq, const std::string& record_id, const AnchorSeen& seen) {
    Json chain = {{"partner", w.partner}, {"writer", w.writer}, {"seq", seq}, {"record", record_id}};
    if (!seen.id.empty()) chain["anchor"] = {{"id", seen.id}, {"time", seen.time ? Json(*seen.time) : Json(nullptr)}};
    return canonical_dump(chain).value();
}

// The chain head that `tree`, the tree of commit `oid` of `w`'s chain, claims (its chain.json).
// `guess`: a head it is expected to claim; when the chain.json is exactly the bytes an
// append writes for that head (its blob id says so), the blob is not read.
Result<ChainHead> chain_head_in(git_repository* repo, git_tree* tree, const WriterId& w, const git_oid& oid,
                                const ChainHead* guess = nullptr) {
    if (const git_tree_entry* e = guess ? git_tree_entry_byname(tree, "chain.json") : nullptr;
        e && git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
        const std::string bytes = chain_state_bytes(w, guess->seq, guess->record_id, {guess->anchor, guess->anchor_time});
        git_oid expected;
        if (git_odb_hash(&expected, bytes.data(), bytes.size(), GIT_OBJECT_BLOB) == 0 &&
            git_oid_equal(&expected, git_tree_entry_id(e))) {
            ChainHead h = *guess;
            h.writer = w;
            h.commit = git::oid_hex(oid);
            return h;
        }
        git_error_clear();
    }
    DVI_TRY(chain, tree_read(repo, tree, "chain.json"));
    ChainHead h;
    h.writer = w;
    h.commit = git::oid_hex(oid);
    if (!chain) return make_error(Errc::repository, "chain '" + w.str() + "' has no chain.json at " + h.commit);
    auto j = canonical_parse(*chain);
    if (!j || !j->is_object() || !(*j)["seq"].is_number_integer() || !(*j)["record"].is_string())
        return make_error(Errc::repository, "chain '" + w.str() + "' has a malformed chain.json at " + h.commit);
    h.seq = (*j)["seq"].get<std::int64_t>();
    h.record_id = (*j)["record"].get<std::string>();
    if (auto a = j->find("anchor"); a != j->end()) {
        if (!a->is_object() || !(*a)["id"].is_string() || !((*a)["time"].is_null() || (*a)["time"].is_number_integer()))
            return make_error(Errc::repository, "chain '" + w.str() + "' has a malformed chain.json at " + h.commit);
        h.anchor = (*a)["id"].get<std::string>();
        if ((*a)["time"].is_number_integer()) h.anchor_time = (*a)["time"].get<std::int64_t>();
    }
    return h;
}

// dvi never writes a symbolic ref among the chains: one there would make a chain read
// as another's (or hide it), so it is named rather than followed or skipped.
Error symbolic_chain_ref(const git_reference* ref) {
    const char* target = git_reference_symbolic_target(ref);
    return make_error(Errc::repository,
                      util::quote(git_reference_name(ref)) + " is a symbolic ref" +
                          (target ? " to " + util::quote(target) : std::string()) + ", not a chain's head",
                      "the ledger was altered: remove it with 'git update-ref --no-deref -d " +
                          std::string(git_reference_name(ref)) + "', then sync from a partner");
}

Result<ChainHead> head_of(git_repository* repo, const WriterId& w, const git_oid& oid) {
    auto read = commit_tree(repo, oid);
    if (!read)
        return make_error(
            Errc::repository,
            "chain '" + w.str() + "' points to " + git::oid_hex(oid) +
                (read.error().code == Errc::bad_signature ? ": " + read.error().message  // a commit bomb
                                                          : ", which is not a commit of this ledger"),
            "the ledger is damaged: check it with 'git fsck', then sync from a partner to restore the chain");
    return chain_head_in(repo, read->get(), w, oid);
}
}  // namespace

Result<std::vector<ChainHead>> Ledger::chains() const {
    if (m_impl->heads) return *m_impl->heads;
    git_reference_iterator* raw = nullptr;
    DVI_CHECK(git::check(git_reference_iterator_new(&raw, m_impl->repo.get()), "cannot list refs"));
    git::RefIterator it(raw);
    std::vector<ChainHead> out;
    git_reference* ref = nullptr;
    int rc;
    while ((rc = git_reference_next(&ref, it.get())) == 0) {
        git::Reference r(ref);
        auto w = parse_chain_ref(git_reference_name(r.get()));
        if (!w) continue;
        if (git_reference_type(r.get()) != GIT_REFERENCE_DIRECT) return symbolic_chain_ref(r.get());
        DVI_TRY(h, head_of(m_impl->repo.get(), *w, *git_reference_target(r.get())));
        out.push_back(std::move(h));
    }
    if (rc != GIT_ITEROVER) return git::error(rc, "cannot list refs");
    git_error_clear();
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.writer < b.writer; });
    m_impl->heads = out;
    return out;
}

Result<std::optional<ChainHead>> Ledger::chain_head(const WriterId& w) const {
    if (m_impl->view) {
        for (auto& h : *m_impl->heads)
            if (h.writer == w) return std::optional<ChainHead>(h);
        return std::optional<ChainHead>();
    }
    git_reference* raw = nullptr;
    int rc = git_reference_lookup(&raw, m_impl->repo.get(), w.ref().c_str());
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return std::optional<ChainHead>();
    }
    DVI_CHECK(git::check(rc, "cannot read ref " + w.ref()));
    git::Reference ref(raw);
    if (git_reference_type(ref.get()) != GIT_REFERENCE_DIRECT) return symbolic_chain_ref(ref.get());
    DVI_TRY(h, head_of(m_impl->repo.get(), w, *git_reference_target(ref.get())));
    return std::optional<ChainHead>(std::move(h));
}

Result<std::optional<std::string>> Ledger::read_chain_file(const WriterId& w, const std::string& path) const {
    DVI_TRY(head, chain_head(w));
    if (!head) return std::optional<std::string>();
    DVI_TRY(oid, parse_oid(head->commit));
    DVI_TRY(tree, commit_tree(m_impl->repo.get(), oid));
    return tree_read(m_impl->repo.get(), tree.get(), path);
}

Result<std::vector<std::pair<ChainHead, std::string>>> Ledger::find_chain_files(const std::string& path) const {
    DVI_TRY(heads, chains());
    std::vector<std::pair<ChainHead, std::string>> out;
    for (auto& h : heads) {
        DVI_TRY(oid, parse_oid(h.commit));
        DVI_TRY(tree, commit_tree(m_impl->repo.get(), oid));
        DVI_TRY(content, tree_read(m_impl->repo.get(), tree.get(), path));
        if (content) out.emplace_back(h, std::move(*content));
    }
    return out;
}

Result<std::vector<std::tuple<WriterId, std::string, std::string>>> Ledger::read_chain_dir(const std::string& dir) const {
    git_repository* repo = m_impl->repo.get();
    DVI_TRY(heads, chains());
    std::vector<std::tuple<WriterId, std::string, std::string>> out;
    for (auto& h : heads) {
        DVI_TRY(oid, parse_oid(h.commit));
        DVI_TRY(tree, commit_tree(repo, oid));
        git_tree_entry* raw = nullptr;
        if (git_tree_entry_bypath(&raw, tree.get(), dir.c_str()) != 0) {
            git_error_clear();
            continue;
        }
        git::TreeEntry entry(raw);
        if (git_tree_entry_type(entry.get()) != GIT_OBJECT_TREE) continue;
        git_tree* t = nullptr;
        DVI_CHECK(git::check(git_tree_lookup(&t, repo, git_tree_entry_id(entry.get())), "cannot read " + dir));
        git::Tree sub(t);
        for (std::size_t i = 0; i < git_tree_entrycount(sub.get()); ++i) {
            const git_tree_entry* e = git_tree_entry_byindex(sub.get(), i);
            if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) continue;
            git_blob* b = nullptr;
            DVI_CHECK(git::check(git_blob_lookup(&b, repo, git_tree_entry_id(e)), "cannot read " + dir));
            git::Blob blob(b);
            out.emplace_back(h.writer, git_tree_entry_name(e),
                             std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())),
                                         static_cast<std::size_t>(git_blob_rawsize(blob.get()))));
        }
    }
    return out;
}

namespace {
// Record ids under records/<type>/ of `tree` that match `hex_prefix` (>= 4 digits).
// `only_type`, when not empty: the one records/<type>/ folder to look in.
Result<std::vector<std::pair<std::string, std::string>>> match_in_tree(git_repository* repo, git_tree* tree,
                                                                       const std::string& hex_prefix,
                                                                       std::string_view only_type = {}) {
    std::vector<std::pair<std::string, std::string>> out;  // (type, id)
    git_tree_entry* raw = nullptr;
    int rc = git_tree_entry_bypath(&raw, tree, "records");
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return out;
    }
    DVI_CHECK(git::check(rc, "cannot read records"));
    git::TreeEntry records(raw);
    git_tree* rt = nullptr;
    DVI_CHECK(git::check(git_tree_lookup(&rt, repo, git_tree_entry_id(records.get())), "cannot read records"));
    git::Tree records_tree(rt);
    for (std::size_t i = 0; i < git_tree_entrycount(records_tree.get()); ++i) {
        const git_tree_entry* type_entry = git_tree_entry_byindex(records_tree.get(), i);
        std::string type = git_tree_entry_name(type_entry);
        if (!only_type.empty() && type != only_type) continue;
        std::string dir = hex_prefix.substr(0, 2) + "/" + hex_prefix.substr(2, 2);
        if (hex_prefix.size() == 64) {
            git_tree_entry* e = nullptr;
            std::string p = type + "/" + dir + "/" + hex_prefix + ".json";
            int r2 = git_tree_entry_bypath(&e, records_tree.get(), p.c_str());
            if (r2 == 0) {
                git_tree_entry_free(e);
                out.emplace_back(type, "sha256:" + hex_prefix);
            } else {
                git_error_clear();
            }
            continue;
        }
        git_tree_entry* e = nullptr;
        std::string p = type + "/" + dir;
        if (git_tree_entry_bypath(&e, records_tree.get(), p.c_str()) != 0) {
            git_error_clear();
            continue;
        }
        git::TreeEntry fan(e);
        git_tree* ft = nullptr;
        DVI_CHECK(git::check(git_tree_lookup(&ft, repo, git_tree_entry_id(fan.get())), "cannot read records"));
        git::Tree fan_tree(ft);
        for (std::size_t j = 0; j < git_tree_entrycount(fan_tree.get()); ++j) {
            std::string name = git_tree_entry_name(git_tree_entry_byindex(fan_tree.get(), j));
            if (name.size() == 69 && name.compare(0, hex_prefix.size(), hex_prefix) == 0)
                out.emplace_back(type, "sha256:" + name.substr(0, 64));
        }
    }
    return out;
}
}  // namespace

Result<StoredRecord> Ledger::find_record(std::string_view id_or_prefix, std::string_view type) const {
    if (!type.empty()) {
        // The type's own folders first: in a chain of a million prints, looking for a
        // licence then costs one lookup in its records/ tree instead of reading a
        // fan-out folder of each type. Not found there, the search below says what the
        // id names instead (or that it is ambiguous, or absent).
        auto typed = find_record_of(id_or_prefix, type);
        if (typed || typed.error().code != Errc::not_found) return typed;
    }
    return find_record_of(id_or_prefix, {});
}

Result<StoredRecord> Ledger::find_record_of(std::string_view id_or_prefix, std::string_view only_type) const {
    std::string hex(id_or_prefix);
    if (hex.rfind("sha256:", 0) == 0) hex = hex.substr(7);
    bool is_hex = !hex.empty() && std::all_of(hex.begin(), hex.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
    if (!is_hex || hex.size() > 64)
        return make_error(Errc::invalid_input, "not a record id: '" + std::string(id_or_prefix) + "'",
                          "give 'sha256:<hex>' or at least 4 of its hex digits");
    if (hex.size() < 4)
        return make_error(Errc::invalid_input, "record id prefix '" + hex + "' is too short",
                          "give at least 4 hex digits");
    DVI_TRY(heads, chains());
    std::vector<std::tuple<std::string, std::string, ChainHead>> found;
    for (auto& h : heads) {
        DVI_TRY(oid, parse_oid(h.commit));
        DVI_TRY(tree, commit_tree(m_impl->repo.get(), oid));
        DVI_TRY(matches, match_in_tree(m_impl->repo.get(), tree.get(), hex, only_type));
        for (auto& [type, id] : matches) found.emplace_back(type, id, h);
    }
    std::set<std::string> ids;
    for (auto& f : found) ids.insert(std::get<1>(f));
    if (ids.empty()) return make_error(Errc::not_found, "no record '" + std::string(id_or_prefix) + "' in the ledger");
    if (ids.size() > 1) {
        std::string list;
        for (auto& id : ids) list += "\n  " + id;
        return make_error(Errc::invalid_input, "record id prefix '" + hex + "' is ambiguous:" + list,
                          "give more hex digits");
    }
    auto& [type, id, head] = found.front();
    DVI_TRY(oid, parse_oid(head.commit));
    DVI_TRY(tree, commit_tree(m_impl->repo.get(), oid));
    DVI_TRY(bytes, tree_read(m_impl->repo.get(), tree.get(), record_tree_path(type, id)));
    StoredRecord rec{id, type, std::move(*bytes), {}, head};
    auto parsed = canonical_parse(rec.bytes);
    if (!parsed) return make_error(Errc::bad_signature, "record " + id + " is corrupt: " + parsed.error().message);
    if (record_id_of(rec.bytes) != id)
        return make_error(Errc::bad_signature, "record " + id + " does not hash to its id");
    rec.json = std::move(*parsed);
    return rec;
}

Result<std::vector<std::pair<WriterId, std::string>>> Ledger::records_of_type(const std::string& type) const {
    if (!is_valid_name(type)) return make_error(Errc::invalid_input, "invalid record type '" + type + "'");
    git_repository* repo = m_impl->repo.get();
    DVI_TRY(heads, chains());
    std::vector<std::pair<WriterId, std::string>> out;
    for (auto& h : heads) {
        DVI_TRY(oid, parse_oid(h.commit));
        DVI_TRY(tree, commit_tree(repo, oid));
        git_tree_entry* raw = nullptr;
        std::string dir = "records/" + type;
        if (git_tree_entry_bypath(&raw, tree.get(), dir.c_str()) != 0) {
            git_error_clear();
            continue;
        }
        git::TreeEntry entry(raw);
        git_tree* t = nullptr;
        DVI_CHECK(git::check(git_tree_lookup(&t, repo, git_tree_entry_id(entry.get())), "cannot read " + dir));
        git::Tree type_tree(t);
        // Two fan-out levels, then <hex>.json.
        auto walk = [&](auto&& self, git_tree* node, int depth) -> Status {
            for (std::size_t i = 0; i < git_tree_entrycount(node); ++i) {
                const git_tree_entry* e = git_tree_entry_byindex(node, i);
                std::string name = git_tree_entry_name(e);
                if (depth == 2) {
                    if (name.size() == 69) out.emplace_back(h.writer, "sha256:" + name.substr(0, 64));
                    continue;
                }
                if (git_tree_entry_type(e) != GIT_OBJECT_TREE) continue;
                git_tree* sub = nullptr;
                DVI_CHECK(git::check(git_tree_lookup(&sub, repo, git_tree_entry_id(e)), "cannot read " + dir));
                git::Tree sub_tree(sub);
                DVI_CHECK(self(self, sub_tree.get(), depth + 1));
            }
            return {};
        };
        DVI_CHECK(walk(walk, type_tree.get(), 0));
    }
    return out;
}

Result<bool> Ledger::has_record(const std::string& id) const {
    auto r = find_record(id);
    if (r) return true;
    if (r.error().code == Errc::not_found) return false;
    return r.error();
}

Result<ArtifactRef> Ledger::store_artifact(const fs::path& file, const std::string& media_type,
                                           const std::function<void(std::uint64_t)>& progress,
                                           const ArtifactEncryption* encryption) {
    DVI_CHECK(m_impl->begin_writes());
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error(Errc::not_found, "cannot read " + util::quote(file) + ": " + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    ::fstat(fd, &st);
    const auto file_size = static_cast<std::uint64_t>(st.st_size);
    if (encryption && file_size > (std::uint64_t{1} << 36) - 32)  // GCM: 2^32 - 2 blocks per nonce
        return make_error(Errc::invalid_input, util::quote(file) + " is larger than AES-256-GCM encrypts under one nonce (64 GiB)");
    const std::uint64_t blob_size = file_size + (encryption ? crypto::k_gcm_tag_size : 0);
    std::vector<char> buf(1 << 20);
    auto read_some = [&]() -> Result<std::size_t> {
        while (true) {
            ssize_t n = ::read(fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return make_error(Errc::io, "cannot read " + util::quote(file) + ": " + std::strerror(errno));
            return static_cast<std::size_t>(n);
        }
    };
    DVI_TRY(first, read_some());

    // A large blob becomes a pack of its own, compressed only if it compresses; a small one
    // a loose object, through libgit2.
    std::optional<pack::BlobPack> big;
    git::Odb odb;
    git_odb_stream* stream = nullptr;
    if (blob_size >= k_blob_pack_threshold) {
        DVI_CHECK(m_impl->stage_packs());
        int level = encryption ? 0 : pack::level_for(buf.data(), first);
        DVI_TRY(bp, pack::BlobPack::create(*m_impl->stage / "objects" / "pack", blob_size, level));
        big.emplace(std::move(bp));
    } else {
        if (blob_size > git::PendingObjects::k_in_memory) DVI_CHECK(m_impl->stage_loose());
        git_odb* raw_odb = nullptr;
        DVI_CHECK(git::check(git_repository_odb(&raw_odb, m_impl->repo.get()), "cannot open object database"));
        odb.reset(raw_odb);
        DVI_CHECK(git::check(git_odb_open_wstream(&stream, odb.get(), static_cast<git_object_size_t>(blob_size), GIT_OBJECT_BLOB),
                             "cannot store " + util::quote(file)));
    }
    std::unique_ptr<git_odb_stream, void (*)(git_odb_stream*)> stream_guard(stream, git_odb_stream_free);
    std::optional<crypto::GcmEncryptor> enc;
    std::optional<crypto::PlainMac> plain_mac;
    if (encryption) {
        enc.emplace(*encryption->key, encryption->nonce);
        plain_mac.emplace(*encryption->key);
    }
    crypto::Sha256 sha;
    std::vector<std::uint8_t> cipher(encryption ? buf.size() : 0);
    std::uint64_t total = 0;
    auto put = [&](const void* data, std::size_t n) -> Status {
        sha.update(data, n);
        if (big) return big->write(data, n);
        if (int rc = git_odb_stream_write(stream, static_cast<const char*>(data), n); rc != 0)
            return git::error(rc, "cannot store " + util::quote(file));
        return {};
    };
    for (std::size_t n = first; n > 0;) {
        total += n;
        if (total > file_size) break;
        if (enc) {
            plain_mac->update(buf.data(), n);
            DVI_CHECK(enc->update(buf.data(), n, cipher.data()));
            DVI_CHECK(put(cipher.data(), n));
        } else {
            DVI_CHECK(put(buf.data(), n));
        }
        if (progress) progress(total);
        DVI_TRY(next, read_some());
        n = next;
    }
    // Its size tells an append; its times tell a write in place (what was hashed might be
    // half the old file, half the new).
    struct stat after {};
    ::fstat(fd, &after);
    if (total != file_size || after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
        after.st_mtim.tv_nsec != st.st_mtim.tv_nsec || after.st_ctim.tv_sec != st.st_ctim.tv_sec ||
        after.st_ctim.tv_nsec != st.st_ctim.tv_nsec)
        return make_error(Errc::invalid_input, util::quote(file) + " changed while it was being read");
    if (enc) {
        DVI_TRY(tag, enc->finish());
        DVI_CHECK(put(tag.data(), tag.size()));
    }
    git_oid oid;
    if (big) {
        DVI_TRY(o, big->finish());
        oid = o;
    } else {
        DVI_CHECK(git::check(git_odb_stream_finalize_write(&oid, stream), "cannot store " + util::quote(file)));
    }
    auto d = sha.finish();
    ArtifactRef out{util::hex_encode(d.data(), d.size()), blob_size, media_type, git::oid_hex(oid), {}, 0};
    if (enc) {
        DVI_TRY(mac, plain_mac->finish());
        out.plain_mac = mac;
        out.plain_size = total;
    }
    return out;
}

Result<ArtifactRef> Ledger::store_artifact_bytes(std::string_view data, const std::string& media_type) {
    DVI_CHECK(m_impl->begin_writes());
    git_oid oid;
    DVI_CHECK(git::check(git_blob_create_from_buffer(&oid, m_impl->repo.get(), data.data(), data.size()),
                         "cannot store an artifact"));
    return ArtifactRef{crypto::sha256_hex(data), data.size(), media_type, git::oid_hex(oid), {}, 0};
}

Result<std::string> Ledger::read_artifact(const std::string& sha256_hex) const {
    DVI_TRY(found, find_chain_files(artifact_tree_path(sha256_hex)));
    if (found.empty()) return make_error(Errc::not_found, "no artifact sha256:" + sha256_hex + " in the ledger");
    auto& content = found.front().second;
    if (crypto::sha256_hex(content) != sha256_hex)
        return make_error(Errc::bad_signature, "artifact sha256:" + sha256_hex + " does not match its hash");
    return content;
}

Result<AppendOutcome> Ledger::append(const AppendRequest& req) {
    if (!req.key || !req.build) return make_error(Errc::internal, "append without key or record");
    git_repository* repo = m_impl->repo.get();
    DVI_TRY(lock, lock_writer(m_impl->gitdir, req.writer));
    DVI_CHECK(m_impl->begin_writes());
    AppendOutcome out;
    out.ref = req.writer.ref();
    auto backoff = std::chrono::milliseconds(2);
    for (int attempt = 1; attempt <= k_max_attempts; ++attempt) {
        out.attempts = attempt;
        // 1. Where the chain stands now.
        git_oid head_oid{};
        bool has_head = false;
        int rc = git_reference_name_to_id(&head_oid, repo, out.ref.c_str());
        if (rc == 0) has_head = true;
        else if (rc == GIT_ENOTFOUND) git_error_clear();
        else return git::error(rc, "cannot read " + out.ref);
        ChainPosition pos;
        git::Tree base;
        git::Commit parent;
        AnchorSeen seen;
        if (has_head) {
            DVI_TRY(h, head_of(repo, req.writer, head_oid));
            pos.seq = h.seq + 1;
            pos.head_commit = h.commit;
            seen = {h.anchor, h.anchor_time};
            DVI_TRY(head_commit, git::lookup_commit(repo, head_oid, "cannot read head of " + out.ref));
            parent = std::move(head_commit);
            git_tree* t = nullptr;
            DVI_CHECK(git::check(git_commit_tree(&t, parent.get()), "cannot read tree of " + out.ref));
            base.reset(t);
        }

        // 2. The record for that position, and the files it brings into the tree.
        DVI_TRY(others, chains());
        for (auto& c : others)
            if (c.writer != req.writer && !c.anchor.empty()) seen = later_anchor(seen, {c.anchor, c.anchor_time});
        if (!seen.id.empty()) pos.seen = seen.id;
        DVI_TRY(record, req.build(pos));
        DVI_TRY(bytes, canonical_dump(record));
        std::string id = record_id_of(bytes);
        std::string type = record.value("type", "");
        if (!is_valid_name(type)) return make_error(Errc::internal, "record without a valid type");
        std::vector<TreeFile> files;
        files.push_back({record_tree_path(type, id), bytes});
        if (record.value("seen", Json()) != pos.seen)
            return make_error(Errc::internal, "record does not name the anchor its writer has seen");
        if (type == "anchor") seen = later_anchor(seen, {id, claimed_anchor_time(record)}, Prefer::second_on_tie);
        files.push_back({"chain.json", chain_state_bytes(req.writer, pos.seq, id, seen)});
        if (req.derive) {
            DVI_TRY(extra, req.derive(id, record));
            for (auto& f : extra) files.push_back(std::move(f));
        }

        // 3. The new tree: the previous state plus this record.
        std::vector<git_tree_update> updates;
        std::vector<std::string> paths;
        paths.reserve(files.size() + req.artifacts.size());
        for (auto& f : files) {
            git_oid blob;
            DVI_CHECK(git::check(git_blob_create_from_buffer(&blob, repo, f.content.data(), f.content.size()),
                                 "cannot write " + f.path));
            paths.push_back(f.path);
            updates.push_back({GIT_TREE_UPDATE_UPSERT, blob, GIT_FILEMODE_BLOB, paths.back().c_str()});
        }
        for (auto& a : req.artifacts) {
            git_oid blob;
            DVI_CHECK(git::check(git_oid_fromstr(&blob, a.blob_oid.c_str()), "bad artifact blob id"));
            paths.push_back(artifact_tree_path(a.sha256));
            updates.push_back({GIT_TREE_UPDATE_UPSERT, blob, GIT_FILEMODE_BLOB, paths.back().c_str()});
        }
        git_oid tree_oid;
        DVI_CHECK(git::check(git_tree_create_updated(&tree_oid, repo, base.get(), updates.size(), updates.data()),
                             "cannot build tree"));
        git_tree* nt = nullptr;
        DVI_CHECK(git::check(git_tree_lookup(&nt, repo, &tree_oid), "cannot build tree"));
        git::Tree new_tree(nt);

        // 4. The commit, signed the way `git commit -S` with gpg.format=ssh signs.
        git_signature* sig_raw = nullptr;
        std::string name = req.writer.str();
        std::string email = req.writer.writer + "@" + req.writer.partner;
        DVI_CHECK(git::check(git_signature_new(&sig_raw, name.c_str(), email.c_str(), req.time, 0), "bad identity"));
        git::Signature who(sig_raw);
        std::string message = (req.summarize ? req.summarize(record) : req.summary) + "\n\n" + std::string(k_trailer) + ": " + id + "\n";
        const git_commit* parents[1] = {parent.get()};
        git::Buf buffer;
        DVI_CHECK(git::check(git_commit_create_buffer(&buffer.buf, repo, who.get(), who.get(), nullptr, message.c_str(),
                                                      new_tree.get(), has_head ? 1 : 0, parents),
                             "cannot build commit"));
        std::string content = buffer.str();
        DVI_TRY(armored, sshsig::sign(*req.key, content, sshsig::k_git_namespace));
        git_oid commit_oid;
        DVI_CHECK(git::check(git_commit_create_with_signature(&commit_oid, repo, content.c_str(), armored.c_str(), "gpgsig"),
                             "cannot write commit"));

        // 5. Everything the new commit needs is in the object store and on disk before
        //    any ref names it; then compare-and-swap the chain ref.
        DVI_CHECK(m_impl->publish_stage());
        DVI_CHECK(sync_ledger(m_impl->gitdir));
        git_reference* ref = nullptr;
        std::string log = "dvi: append " + id;
        if (has_head)
            rc = git_reference_create_matching(&ref, repo, out.ref.c_str(), &commit_oid, 1, &head_oid, log.c_str());
        else
            rc = git_reference_create(&ref, repo, out.ref.c_str(), &commit_oid, 0, log.c_str());
        if (rc == 0) {
            git_reference_free(ref);
            DVI_CHECK(sync_ledger(m_impl->gitdir));  // the ref itself, before we acknowledge
            m_impl->heads.reset();
            m_impl->view = false;
            out.record_id = id;
            out.commit = git::oid_hex(commit_oid);
            out.seq = pos.seq;
            if (m_impl->autopack_when == AutoPack::after_append) pack_if_due(out.notices);
            return out;
        }
        if (rc == GIT_EMODIFIED || rc == GIT_EEXISTS) {
            git_error_clear();  // another writer won this position: rebuild on its head
            continue;
        }
        if (rc == GIT_ELOCKED) {
            git_error_clear();
            // We hold the writer lock, so a ref lock older than a few seconds was left by a
            // process that died mid-update (or by a stuck git): remove it and go on.
            if (auto notice = git::remove_stale_ref_lock(m_impl->gitdir, out.ref)) {
                out.notices.push_back(*notice);
                continue;
            }
            std::this_thread::sleep_for(backoff);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
            continue;
        }
        return git::error(rc, "cannot update " + out.ref);
    }
    return make_error(Errc::conflict, "cannot append to chain '" + req.writer.str() + "': too much contention",
                      "try again");
}

namespace {
// The record a commit adds; on failure `code` names what is wrong, for audit.
Result<StoredRecord> read_commit_record(git_repository* repo, const std::string& commit_hex, std::string& code) {
    DVI_TRY(oid, parse_oid(commit_hex));
    DVI_TRY(commit, git::lookup_commit(repo, oid, "cannot read commit " + commit_hex));
    auto id = commit_record_id(git_commit_message(commit.get()));
    code = "record-missing";
    if (!id || !is_record_id(*id))
        return make_error(Errc::bad_signature, "commit " + commit_hex + " has no valid Dvi-Record trailer");
    DVI_TRY(tree, commit_tree(repo, oid));
    DVI_TRY(matches, match_in_tree(repo, tree.get(), id->substr(7)));
    if (matches.empty())
        return make_error(Errc::bad_signature, "commit " + commit_hex + " does not hold its record " + *id);
    auto& type = matches.front().first;
    DVI_TRY(bytes, tree_read(repo, tree.get(), record_tree_path(type, *id)));
    StoredRecord rec{*id, type, std::move(*bytes), {}, {}};
    rec.chain.commit = commit_hex;
    code = "record-hash-mismatch";
    if (record_id_of(rec.bytes) != *id)
        return make_error(Errc::bad_signature, "record " + *id + " in commit " + commit_hex + " does not hash to its id");
    code = "not-canonical";
    auto parsed = canonical_parse(rec.bytes);
    if (!parsed) return make_error(Errc::bad_signature, "record " + *id + " is not canonical JSON");
    rec.json = std::move(*parsed);
    code.clear();
    return rec;
}
}  // namespace

void Ledger::set_auto_pack(AutoPack when) {
    m_impl->autopack_when = when;
}

void Ledger::pack_if_due(std::vector<std::string>& notices) {
    if (!m_impl->autopack) {
        auto v = config_get("dvi.autoPack");
        std::size_t n = pack::k_default_threshold;
        if (v && *v) {
            try {
                n = static_cast<std::size_t>(std::stoull(**v));
            } catch (const std::exception&) {
                notices.push_back("dvi.autoPack is not a number: '" + **v + "'; using " + std::to_string(n));
            }
        }
        m_impl->autopack = n;
    }
    if (!pack::due(m_impl->gitdir, *m_impl->autopack)) return;
    // The record is acknowledged already: nothing here may fail the append.
    try {
        if (auto p = pack::run(m_impl->repo.get(), m_impl->gitdir, g_durability.load() == Durability::fsync); !p)
            notices.push_back("cannot pack the ledger's loose objects: " + p.error().message);
    } catch (const std::exception& e) {
        notices.push_back(std::string("cannot pack the ledger's loose objects: ") + e.what());
    }
}

Result<StoredRecord> Ledger::record_of_commit(const std::string& commit_hex) const {
    std::string code;
    return read_commit_record(m_impl->repo.get(), commit_hex, code);
}

namespace {
// The checks of a commit's own bytes, from one read: its signature by `expected_key`, at
// most one parent, and the trailer's id. Fills `out`.
void check_raw_commit(const git::RawCommit& raw, const crypto::PublicKey& expected_key, CommitCheck& out,
                      Ledger::Signature signature = Ledger::Signature::verify) {
    auto add = [&](const char* code, std::string message) {
        out.codes.push_back(code);
        out.problems.push_back(std::move(message));
    };
    if (raw.signature && signature == Ledger::Signature::verified) {
        out.signer = expected_key.fingerprint();
    } else if (!raw.signature) {
        add("unsigned-commit", "commit is not signed");
    } else {
        auto key = sshsig::verify(*raw.signature, raw.signed_data, sshsig::k_git_namespace);
        if (!key) {
            add("bad-signature", "bad signature: " + key.error().message);
        } else {
            out.signer = key->fingerprint();
            if (!(*key == expected_key))
                add("wrong-key", "signed by " + out.signer + ", not by the writer's key " + expected_key.fingerprint());
        }
    }
    if (raw.parents > 1) add("not-linear", "commit has " + std::to_string(raw.parents) + " parents; a chain is linear");
    if (auto id = commit_record_id(raw.message.c_str()); id && is_record_id(*id)) out.record_id = *id;
}

// For a caller that reads the record by the trailer's id: a commit without one is a finding.
void require_trailer(CommitCheck& out) {
    if (!out.record_id.empty()) return;
    out.codes.push_back("record-missing");
    out.problems.push_back("commit " + out.commit + " has no valid Dvi-Record trailer");
}

// A commit whose headers are malformed is a finding about that commit, not a failure of
// the repository: it cannot carry a valid signature.
Result<std::optional<git::RawCommit>> read_checked_commit(git_repository* repo, const git_oid& oid, CommitCheck& out) {
    auto raw = git::read_commit(repo, oid);
    if (raw) return std::optional<git::RawCommit>(std::move(*raw));
    if (raw.error().code != Errc::bad_signature) return raw.error();
    out.codes.push_back("bad-signature");
    out.problems.push_back(raw.error().message);
    return std::optional<git::RawCommit>();
}
}  // namespace

Result<CommitCheck> Ledger::check_commit(const std::string& commit_hex, const crypto::PublicKey& expected_key,
                                         RecordRead read) const {
    git_repository* repo = m_impl->repo.get();
    CommitCheck out;
    out.commit = commit_hex;
    DVI_TRY(oid, parse_oid(commit_hex));
    DVI_TRY(raw, read_checked_commit(repo, oid, out));
    if (!raw) return out;
    check_raw_commit(*raw, expected_key, out);
    if (read == RecordRead::trailer_only) {
        require_trailer(out);
        return out;
    }
    out.record_id.clear();  // the record read below says what is missing, and sets it
    std::string code;
    auto rec = read_commit_record(repo, commit_hex, code);
    if (!rec) {
        if (code.empty()) return rec.error();  // the repository failed us, not the commit
        out.codes.push_back(code);
        out.problems.push_back(rec.error().message);
    } else {
        out.record_id = rec->id;
        out.record = std::move(*rec);
    }
    return out;
}

Result<Ledger::ChainCommit> Ledger::check_chain_commit(const WriterId& writer, const std::string& commit_hex,
                                                       const crypto::PublicKey& expected_key, Signature signature) const {
    git_repository* repo = m_impl->repo.get();
    ChainCommit out{CommitCheck{}, make_error(Errc::repository, "commit " + commit_hex + " could not be read")};
    out.check.commit = commit_hex;
    DVI_TRY(oid, parse_oid(commit_hex));
    DVI_TRY(raw, read_checked_commit(repo, oid, out.check));
    if (!raw) return out;
    check_raw_commit(*raw, expected_key, out.check, signature);
    require_trailer(out.check);
    git_tree* t = nullptr;
    if (int rc = git_tree_lookup(&t, repo, &raw->tree); rc != 0) {
        out.head = git::error(rc, "cannot read the tree of commit " + commit_hex);
        return out;
    }
    git::Tree tree(t);
    out.head = chain_head_in(repo, tree.get(), writer, oid);
    return out;
}

Result<Ledger::ChainCommit> Ledger::check_walked_commit(const WriterId& writer, const git_oid& commit, const git_oid& tree_oid,
                                                        std::string record_id, const std::string& signer,
                                                        const ChainHead* guess) const {
    git_repository* repo = m_impl->repo.get();
    ChainCommit out{CommitCheck{}, ChainHead{}};
    out.check.commit = git::oid_hex(commit);
    out.check.signer = signer;
    out.check.record_id = std::move(record_id);
    git_tree* t = nullptr;
    if (int rc = git_tree_lookup(&t, repo, &tree_oid); rc != 0) {
        out.head = git::error(rc, "cannot read the tree of commit " + out.check.commit);
        return out;
    }
    git::Tree tree(t);
    out.head = chain_head_in(repo, tree.get(), writer, commit, guess);
    return out;
}

Result<std::vector<std::string>> Ledger::chain_commits(const WriterId& w) const {
    git_repository* repo = m_impl->repo.get();
    git_oid head;
    int rc = git_reference_name_to_id(&head, repo, w.ref().c_str());
    if (rc == GIT_ENOTFOUND) {
        git_error_clear();
        return make_error(Errc::not_found, "no chain '" + w.str() + "' in the ledger");
    }
    DVI_CHECK(git::check(rc, "cannot read " + w.ref()));
    std::vector<std::string> out;
    git_oid cur = head;
    // Follow first parents: a chain is linear by construction, and a merge is reported
    // by the caller's checks rather than walked.
    for (std::size_t guard = 0; guard < (std::size_t{1} << 40); ++guard) {
        out.push_back(git::oid_hex(cur));
        DVI_TRY(commit, git::lookup_commit(repo, cur, "cannot read commit " + git::oid_hex(cur)));
        if (git_commit_parentcount(commit.get()) == 0) break;
        cur = *git_commit_parent_id(commit.get(), 0);
    }
    return out;
}

Result<ChainHead> Ledger::head_at(const WriterId& writer, const std::string& commit) const {
    DVI_TRY(oid, parse_oid(commit));
    return head_of(m_impl->repo.get(), writer, oid);
}

void Ledger::set_view(std::vector<ChainHead> heads) {
    std::sort(heads.begin(), heads.end(), [](auto& a, auto& b) { return a.writer < b.writer; });
    m_impl->heads = std::move(heads);
    m_impl->view = true;
}

Result<Ledger> Ledger::open_from_git_environment() {
    git::ensure_init();
    git_repository* raw = nullptr;
    DVI_CHECK(git::check(git_repository_open_ext(&raw, nullptr, GIT_REPOSITORY_OPEN_FROM_ENV, nullptr),
                         "cannot open the ledger git runs this hook in"));
    Ledger l;
    l.m_impl->repo.reset(raw);
    l.m_impl->gitdir = fs::canonical(git_repository_path(raw));
    return l;
}

Result<bool> Ledger::chain_contains(const WriterId& writer, const std::string& commit) const {
    DVI_TRY(head, chain_head(writer));
    if (!head) return false;
    git_oid target;
    if (git_oid_fromstrn(&target, commit.c_str(), commit.size()) != 0 || commit.size() != GIT_OID_HEXSZ) {
        git_error_clear();
        return false;
    }
    if (head->commit == commit) return true;
    DVI_TRY(head_oid, parse_oid(head->commit));
    int rc = git_graph_descendant_of(m_impl->repo.get(), &head_oid, &target);
    if (rc < 0) {
        git_error_clear();
        return false;
    }
    return rc == 1;
}

Result<std::optional<std::string>> Ledger::read_file_at(const std::string& commit, const std::string& path) const {
    DVI_TRY(oid, parse_oid(commit));
    DVI_TRY(tree, commit_tree(m_impl->repo.get(), oid));
    return tree_read(m_impl->repo.get(), tree.get(), path);
}

void Ledger::reload() {
    m_impl->heads.reset();
    m_impl->view = false;
}

bool Ledger::refresh() {
    reload();
    std::error_code ec;
    auto packs = fs::last_write_time(m_impl->gitdir / "objects" / "pack", ec);
    bool packs_changed = !ec && m_impl->packs_seen != packs;
    if (!ec) m_impl->packs_seen = packs;
    bool left_waiting = m_impl->pending && !m_impl->pending->empty();
    // The private store's backends (large artifacts, seal) would go with the database.
    if ((!packs_changed && !left_waiting) || m_impl->stage_packs_ready || m_impl->stage_loose_ready) return false;
    m_impl->pending = nullptr;  // a backend of the object database: freed with it
    return git_repository__cleanup(m_impl->repo.get()) == 0;
}

Status Ledger::flush() const { return sync_ledger(m_impl->gitdir); }

std::optional<WriterId> writer_of_chain_ref(std::string_view ref) { return parse_chain_ref(ref); }

}  // namespace dvi
