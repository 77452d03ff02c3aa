#include "git.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <git2/sys/alloc.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <mutex>
#include <vector>

#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"

namespace dvi::git {

namespace {

// The ceiling of this thread's ReadCeiling, 0 when none: libgit2 allocates through the
// functions below, which refuse what is above it and otherwise are the C library's.
thread_local std::size_t t_ceiling = 0;

bool above_ceiling(std::size_t n) {
    if (t_ceiling == 0 || n <= t_ceiling) return false;
    git_error_set_oom();
    return true;
}
bool above_ceiling(std::size_t count, std::size_t size) {
    std::size_t n = 0;
    if (__builtin_mul_overflow(count, size, &n)) {
        git_error_set_oom();
        return true;
    }
    return above_ceiling(n);
}
void* oom_or(void* p) {
    if (!p) git_error_set_oom();
    return p;
}

void* ceiling_malloc(std::size_t n, const char*, int) {
    return above_ceiling(n) ? nullptr : oom_or(std::malloc(n));
}
void* ceiling_calloc(std::size_t count, std::size_t size, const char*, int) {
    return above_ceiling(count, size) ? nullptr : oom_or(std::calloc(count, size));
}
char* ceiling_strndup(const char* s, std::size_t n, const char* file, int line) {
    const std::size_t len = ::strnlen(s, n);
    auto* out = static_cast<char*>(ceiling_malloc(len + 1, file, line));
    if (out) {
        std::memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}
char* ceiling_strdup(const char* s, const char* file, int line) {
    return ceiling_strndup(s, std::strlen(s), file, line);
}
char* ceiling_substrdup(const char* s, std::size_t n, const char* file, int line) {
    if (n == std::numeric_limits<std::size_t>::max()) return static_cast<char*>(oom_or(nullptr));
    auto* out = static_cast<char*>(ceiling_malloc(n + 1, file, line));
    if (out) {
        std::memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}
void* ceiling_realloc(void* p, std::size_t n, const char*, int) {
    return above_ceiling(n) ? nullptr : oom_or(std::realloc(p, n));
}
void* ceiling_reallocarray(void* p, std::size_t count, std::size_t size, const char*, int) {
    return above_ceiling(count, size) ? nullptr : oom_or(std::realloc(p, count * size));
}
void* ceiling_mallocarray(std::size_t count, std::size_t size, const char*, int) {
    return above_ceiling(count, size) ? nullptr : oom_or(std::malloc(count * size));
}
void ceiling_free(void* p) {
    std::free(p);
}

// Debian's libgit2 1.5 is built with mbedTLS, whose start-up parses the whole system CA
// bundle (144 certificates: about 8 ms of base64 and X.509, a third of a print-verify)
// for the https remotes that few commands ever open. dvi defines the two functions
// libgit2 calls for it (a file, a folder); an executable's definition comes first for
// the dynamic linker (with static libraries, the linker's --wrap does the same). While
// libgit2 starts, on the thread that starts it, they only note what was asked for;
// load_tls_authorities() loads it before a remote is opened. Until then the chain is
// empty, and a TLS certificate checked against it fails: nothing is trusted by default.
// With a libgit2 built on OpenSSL they are never called.
thread_local bool t_tls_deferring = false;
std::mutex g_tls_mutex;
std::string g_tls_deferred_file, g_tls_deferred_dir;              // what libgit2 asked for at start-up
std::optional<std::pair<std::string, std::string>> g_tls_loaded;  // file and folder loaded

}  // namespace

}  // namespace dvi::git

struct mbedtls_x509_crt;
using ParseCas = int (*)(mbedtls_x509_crt*, const char*);

#ifdef DVI_TLS_WRAP
extern "C" int __real_mbedtls_x509_crt_parse_file(mbedtls_x509_crt* chain, const char* path);
extern "C" int __real_mbedtls_x509_crt_parse_path(mbedtls_x509_crt* chain, const char* path);
static ParseCas real_parse_file() {
    return __real_mbedtls_x509_crt_parse_file;
}
static ParseCas real_parse_path() {
    return __real_mbedtls_x509_crt_parse_path;
}
#define DVI_PARSE_CA_FILE __wrap_mbedtls_x509_crt_parse_file
#define DVI_PARSE_CA_PATH __wrap_mbedtls_x509_crt_parse_path
#else
static ParseCas real_parse_file() {
    static auto* next = reinterpret_cast<ParseCas>(dlsym(RTLD_NEXT, "mbedtls_x509_crt_parse_file"));
    return next;
}
static ParseCas real_parse_path() {
    static auto* next = reinterpret_cast<ParseCas>(dlsym(RTLD_NEXT, "mbedtls_x509_crt_parse_path"));
    return next;
}
#define DVI_PARSE_CA_FILE mbedtls_x509_crt_parse_file
#define DVI_PARSE_CA_PATH mbedtls_x509_crt_parse_path
#endif

// mbedTLS's contract: 0 when all certificates parsed, the number that did not, or < 0.
extern "C" int DVI_PARSE_CA_FILE(mbedtls_x509_crt* chain, const char* path) {
    using namespace dvi::git;
    if (t_tls_deferring && path) {
        std::lock_guard lock(g_tls_mutex);
        g_tls_deferred_file = path;
        return 0;  // the chain stays empty until load_tls_authorities()
    }
    ParseCas real = real_parse_file();
    return real ? real(chain, path) : -1;
}
extern "C" int DVI_PARSE_CA_PATH(mbedtls_x509_crt* chain, const char* path) {
    using namespace dvi::git;
    if (t_tls_deferring && path) {
        std::lock_guard lock(g_tls_mutex);
        g_tls_deferred_dir = path;
        return 0;
    }
    ParseCas real = real_parse_path();
    return real ? real(chain, path) : -1;
}

namespace dvi::git {

ReadCeiling::ReadCeiling(std::size_t max) : m_before(t_ceiling) {
    ensure_init();
    t_ceiling = m_before == 0 ? max : std::min(m_before, max);
}
ReadCeiling::~ReadCeiling() {
    t_ceiling = m_before;
}

void ensure_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        t_tls_deferring = true;
        git_libgit2_init();
        t_tls_deferring = false;
        // What libgit2 allocates from here on goes through the ceiling of ReadCeiling;
        // its allocations so far were the C library's, and are freed by it.
        static git_allocator ceiling{ceiling_malloc,       ceiling_calloc,      ceiling_strdup,
                                     ceiling_strndup,      ceiling_substrdup,   ceiling_realloc,
                                     ceiling_reallocarray, ceiling_mallocarray, ceiling_free};
        git_libgit2_opts(GIT_OPT_SET_ALLOCATOR, &ceiling);
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

Status load_tls_authorities(const std::optional<std::filesystem::path>& file,
                            const std::optional<std::filesystem::path>& dir) {
    ensure_init();
    std::lock_guard lock(g_tls_mutex);
    // As OpenSSL reads SSL_CERT_FILE and SSL_CERT_DIR: each replaces its own default (on
    // Debian both hold the system's CAs), so a file of private CAs adds to the system's.
    std::string f, d;
    if (file || dir) {
        f = file ? file->string() : g_tls_deferred_file.empty() ? X509_get_default_cert_file() : g_tls_deferred_file;
        d = dir ? dir->string() : X509_get_default_cert_dir();
        std::error_code ec;
        if (!file && !std::filesystem::is_regular_file(f, ec)) f.clear();
        if (!dir && !std::filesystem::is_directory(d, ec)) d.clear();
    } else {
        f = g_tls_deferred_file;
        d = g_tls_deferred_dir;
    }
    if (g_tls_loaded && *g_tls_loaded == std::pair(f, d)) return {};
    if (f.empty() && d.empty()) {  // libgit2 loaded its CAs itself, or found none
        g_tls_loaded.emplace(f, d);
        return {};
    }
    int rc = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, f.empty() ? nullptr : f.c_str(),
                              d.empty() ? nullptr : d.c_str());
    if (rc != 0) {
        g_tls_loaded.reset();  // libgit2 dropped the chain it had
        if (file || dir) {
            Error e = error(
                rc, "cannot load the certificate authorities of " + util::quote(file ? file->string() : dir->string()));
            e.code = Errc::invalid_input;
            e.hint = "SSL_CERT_FILE names a PEM file of CA certificates, SSL_CERT_DIR a folder of them";
            return e;
        }
        Error e = error(rc, "cannot load the system's certificate authorities " + util::quote(f.empty() ? d : f));
        e.code = Errc::crypto;
        return e;
    }
    g_tls_loaded.emplace(f, d);
    return {};
}

std::string tls_deferred_bundle() {
    ensure_init();
    std::lock_guard lock(g_tls_mutex);
    return g_tls_loaded ? std::string() : g_tls_deferred_file.empty() ? g_tls_deferred_dir : g_tls_deferred_file;
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

// libgit2's view of a PendingObjects: the C struct first, so the two pointers convert.
struct PendingBackend {
    git_odb_backend parent;
    PendingObjects* store;
};

PendingObjects& store_of(git_odb_backend* b) { return *reinterpret_cast<PendingBackend*>(b)->store; }

int pending_read(void** out, std::size_t* len, git_object_t* type, git_odb_backend* b, const git_oid* oid) {
    const auto* o = store_of(b).find(*oid);
    if (!o) return GIT_ENOTFOUND;
    void* buf = git_odb_backend_data_alloc(b, o->data.size() + 1);
    if (!buf) return -1;
    std::memcpy(buf, o->data.data(), o->data.size());
    static_cast<char*>(buf)[o->data.size()] = '\0';
    *out = buf;
    *len = o->data.size();
    *type = o->type;
    return 0;
}

int pending_read_header(std::size_t* len, git_object_t* type, git_odb_backend* b, const git_oid* oid) {
    const auto* o = store_of(b).find(*oid);
    if (!o) return GIT_ENOTFOUND;
    *len = o->data.size();
    *type = o->type;
    return 0;
}

int pending_exists(git_odb_backend* b, const git_oid* oid) { return store_of(b).find(*oid) ? 1 : 0; }

// Runs `f` for a callback of libgit2, which is C: no exception may cross its frames, and
// the only one these can throw is running out of memory. A write that fails so is tried
// on the next writable backend (the private store's, else the ledger's own loose store:
// a dangling object there is the worst outcome).
template <class F>
int without_exceptions(F&& f) noexcept {
    try {
        f();
        return 0;
    } catch (...) {
        git_error_set_oom();
        return -1;
    }
}

int pending_write(git_odb_backend* b, const git_oid* oid, const void* data, std::size_t len, git_object_t type) {
    return without_exceptions([&] { store_of(b).add(*oid, type, std::string(static_cast<const char*>(data), len)); });
}

int pending_foreach(git_odb_backend* b, git_odb_foreach_cb cb, void* payload) {
    for (auto& o : store_of(b).objects())
        if (int rc = cb(&o.oid, payload); rc != 0) return rc;
    return 0;
}

// A streamed object: kept in memory up to PendingObjects::k_in_memory, else written by
// the spill backend (libgit2 computes the id and calls finalize_write with it).
struct BufferedStream {
    git_odb_stream parent;
    git_object_t type;
    std::string* data;
};

int buffered_write(git_odb_stream* s, const char* buf, std::size_t len) {
    return without_exceptions([&] { reinterpret_cast<BufferedStream*>(s)->data->append(buf, len); });
}

int buffered_finalize(git_odb_stream* s, const git_oid* oid) {
    auto* bs = reinterpret_cast<BufferedStream*>(s);
    return without_exceptions([&] { store_of(s->backend).add(*oid, bs->type, std::move(*bs->data)); });
}

void buffered_free(git_odb_stream* s) {
    auto* bs = reinterpret_cast<BufferedStream*>(s);
    delete bs->data;
    delete bs;
}

int pending_writestream(git_odb_stream** out, git_odb_backend* b, git_object_size_t size, git_object_t type) {
    PendingObjects& store = store_of(b);
    if (size > PendingObjects::k_in_memory && store.spill()) return store.spill()->writestream(out, store.spill(), size, type);
    return without_exceptions([&] {
        auto bs = std::make_unique<BufferedStream>();
        auto data = std::make_unique<std::string>();
        data->reserve(static_cast<std::size_t>(std::min<git_object_size_t>(size, PendingObjects::k_in_memory)));
        bs->parent.backend = b;
        bs->parent.mode = GIT_STREAM_WRONLY;
        bs->parent.write = buffered_write;
        bs->parent.finalize_write = buffered_finalize;
        bs->parent.free = buffered_free;
        bs->type = type;
        bs->data = data.release();
        *out = &bs.release()->parent;
    });
}

void pending_free(git_odb_backend* b) {
    auto* backend = reinterpret_cast<PendingBackend*>(b);
    delete backend->store;
    delete backend;
}

// The bytes of a loose object file: "<type> <size>\0<data>", deflated.
Result<std::string> loose_bytes(const PendingObjects::Object& o) {
    std::string raw = std::string(git_object_type2string(o.type)) + " " + std::to_string(o.data.size());
    raw.push_back('\0');
    raw += o.data;
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::string out(size, '\0');
    if (compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(raw.data()),
                  static_cast<uLong>(raw.size()), Z_BEST_SPEED) != Z_OK)
        return make_error(Errc::internal, "cannot compress object " + oid_hex(o.oid));
    out.resize(size);
    return out;
}

// Creates `path` (which must not exist) holding `bytes`, read-only as git's objects are.
Status write_new_file(const std::filesystem::path& path, const std::string& bytes) {
    auto fail = [&](int err) {
        return make_error(Errc::io, "cannot write " + util::quote(path) + ": " + std::strerror(err),
                          err == ENOSPC || err == EDQUOT ? k_no_space_hint : "");
    };
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444);
    if (fd < 0) return fail(errno);
    for (std::size_t done = 0; done < bytes.size();) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = n < 0 ? errno : ENOSPC;
            ::close(fd);
            ::unlink(path.c_str());
            return fail(err);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(path.c_str());
        return fail(err);
    }
    return {};
}

std::string host_name() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) return "host";
    std::string h(host);
    for (char& c : h)
        if (c == '-' || c == '/') c = '_';
    return h;
}
}  // namespace

Result<PendingObjects*> PendingObjects::attach(git_repository* repo, int priority) {
    git_odb* raw = nullptr;
    DVI_CHECK(check(git_repository_odb(&raw, repo), "cannot open the object database"));
    Odb odb(raw);
    auto backend = std::make_unique<PendingBackend>();
    DVI_CHECK(check(git_odb_init_backend(&backend->parent, GIT_ODB_BACKEND_VERSION), "cannot prepare the object store"));
    backend->parent.read = pending_read;
    backend->parent.read_header = pending_read_header;
    backend->parent.exists = pending_exists;
    backend->parent.write = pending_write;
    backend->parent.writestream = pending_writestream;
    backend->parent.foreach = pending_foreach;
    backend->parent.free = pending_free;
    auto store = std::make_unique<PendingObjects>();
    backend->store = store.get();
    DVI_CHECK(check(git_odb_add_backend(odb.get(), &backend->parent, priority), "cannot prepare the object store"));
    backend.release();  // the object database's now, freed through pending_free
    return store.release();
}

const PendingObjects::Object* PendingObjects::find(const git_oid& oid) const noexcept {
    auto it = m_index.find(oid);
    return it == m_index.end() ? nullptr : &m_objects[it->second];
}

void PendingObjects::add(const git_oid& oid, git_object_t type, std::string data) {
    if (m_index.count(oid)) return;
    m_objects.push_back({oid, type, std::move(data)});
    try {
        m_index.emplace(oid, m_objects.size() - 1);
    } catch (...) {
        m_objects.pop_back();
        throw;
    }
}

Status PendingObjects::write_loose(const std::filesystem::path& stage) {
    discard_written();  // left by a publish that failed after writing them
    for (auto& o : m_objects) {
        auto bytes = loose_bytes(o);
        std::filesystem::path path = stage / oid_hex(o.oid);
        Status st = bytes ? write_new_file(path, *bytes) : Status(bytes.error());
        if (!st) {
            discard_written();
            return st;
        }
        m_written.push_back(std::move(path));
    }
    return {};
}

void PendingObjects::discard_written() {
    for (auto& f : m_written) ::unlink(f.c_str());
    m_written.clear();
}

Status PendingObjects::move_into(const std::filesystem::path& objects) {
    auto io_error = [](const std::string& what, int err) {
        return make_error(Errc::io, what + ": " + std::strerror(err), err == ENOSPC || err == EDQUOT ? k_no_space_hint : "");
    };
    // The fan-out folders first: a folder that cannot be made (the last free block
    // taken) then stops the publish before any object is in.
    std::vector<std::string> names;
    names.reserve(m_written.size());
    for (std::size_t i = 0; i < m_written.size(); ++i) {
        names.push_back(oid_hex(m_objects[i].oid));
        std::filesystem::path dir = objects / names.back().substr(0, 2);
        if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
            int err = errno;
            return io_error("cannot create " + util::quote(dir), err);
        }
    }
    for (std::size_t i = 0; i < m_written.size(); ++i) {
        std::filesystem::path to = objects / names[i].substr(0, 2) / names[i].substr(2);
        if (::rename(m_written[i].c_str(), to.c_str()) != 0) {
            int err = errno;
            return io_error("cannot move " + util::quote(m_written[i]) + " into the ledger", err);
        }
    }
    m_written.clear();
    m_objects.clear();
    m_index.clear();
    return {};
}

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

Error too_large(const std::string& what, std::size_t size, std::size_t max) {
    return make_error(Errc::bad_signature, what + " is " + std::to_string(size) +
                                               " bytes, more than dvi ever writes (" + std::to_string(max) + ")");
}

git_object_t object_type(git_repository* repo, const git_oid& oid) {
    git_odb* raw = nullptr;
    if (git_repository_odb(&raw, repo) != 0) {
        git_error_clear();
        return GIT_OBJECT_INVALID;
    }
    Odb odb(raw);
    std::size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    if (git_odb_read_header(&size, &type, odb.get(), &oid) != 0) {
        git_error_clear();
        return GIT_OBJECT_INVALID;
    }
    return type;
}

Status check_size(git_repository* repo, const git_oid& oid, std::size_t max, const std::string& what) {
    git_odb* raw = nullptr;
    DVI_CHECK(check(git_repository_odb(&raw, repo), "cannot open the object database"));
    Odb odb(raw);
    std::size_t size = 0;
    git_object_t type{};
    DVI_CHECK(check(git_odb_read_header(&size, &type, odb.get(), &oid), "cannot read " + what));
    if (size > max) return too_large(what, size, max);
    return {};
}

Result<OdbObject> read_object(git_repository* repo, const git_oid& oid, std::size_t max, const std::string& what) {
    git_odb* raw_odb = nullptr;
    DVI_CHECK(check(git_repository_odb(&raw_odb, repo), "cannot open the object database"));
    Odb odb(raw_odb);
    git_odb_object* raw = nullptr;
    int rc = 0;
    {
        // One ceiling for every such read, not `max`: libgit2 also grows its object cache's
        // table here (2 MiB at 130,000 objects), and a refused growth costs a read again.
        ReadCeiling ceiling(std::max(max, k_max_ledger_file) + 1);  // and the terminating NUL
        rc = git_odb_read(&raw, odb.get(), &oid);
    }
    if (rc != 0) {
        Error failed = error(rc, "cannot read " + what);
        auto size = check_size(repo, oid, max, what);
        return !size && size.error().code == Errc::bad_signature ? size.error() : failed;
    }
    git_error_clear();  // an allocation refused on the way (a cache that could not grow) failed nothing
    OdbObject obj(raw);
    if (git_odb_object_size(obj.get()) > max) return too_large(what, git_odb_object_size(obj.get()), max);
    return obj;
}

Result<Commit> lookup_commit(git_repository* repo, const git_oid& oid, const std::string& what) {
    // Read first under the ceiling, then parsed without it: libgit2 caches the parsed
    // commit in place of the raw object, and a refused allocation there would hand back
    // the raw object as the commit.
    if (auto raw = read_object(repo, oid, k_max_commit, "commit " + oid_hex(oid)); !raw) {
        if (raw.error().code == Errc::bad_signature) return raw.error();
    }
    git_commit* c = nullptr;
    DVI_CHECK(check(git_commit_lookup(&c, repo, &oid), what));
    return Commit(c);
}

Result<RawCommit> read_commit(git_repository* repo, const git_oid& oid) {
    DVI_TRY(obj, read_object(repo, oid, k_max_commit, "commit " + oid_hex(oid)));
    if (git_odb_object_type(obj.get()) != GIT_OBJECT_COMMIT)
        return make_error(Errc::repository, oid_hex(oid) + " is not a commit");
    std::string_view data(static_cast<const char*>(git_odb_object_data(obj.get())), git_odb_object_size(obj.get()));
    auto malformed = [&](const char* what) {
        return make_error(Errc::bad_signature, "commit " + oid_hex(oid) + " is malformed: " + what);
    };
    RawCommit out;
    out.signed_data.reserve(data.size());
    std::size_t pos = 0;
    bool first = true;
    // The headers, one per line up to the empty line; a line that starts with a space
    // continues the header above it (as the armored signature does).
    while (true) {
        auto eol = data.find('\n', pos);
        if (eol == std::string_view::npos) return malformed("its headers do not end");
        std::string_view line = data.substr(pos, eol - pos);
        if (line.empty()) break;
        if (line.front() == ' ') return malformed("a header continues nothing");
        std::size_t next = eol + 1;
        while (next < data.size() && data[next] == ' ') {
            auto e = data.find('\n', next);
            if (e == std::string_view::npos) return malformed("its headers do not end");
            next = e + 1;
        }
        std::string_view field = data.substr(pos, next - pos);  // with its continuations
        if (first) {
            constexpr std::string_view k_tree = "tree ";
            if (line.size() != k_tree.size() + GIT_OID_HEXSZ || line.substr(0, k_tree.size()) != k_tree ||
                git_oid_fromstrn(&out.tree, line.data() + k_tree.size(), GIT_OID_HEXSZ) != 0)
                return malformed("it does not start with its tree");
            first = false;
        }
        if (line.substr(0, 7) == "parent ") {
            git_oid parent;
            if (line.size() != 7 + GIT_OID_HEXSZ || git_oid_fromstrn(&parent, line.data() + 7, GIT_OID_HEXSZ) != 0)
                return malformed("a parent is not an object id");
            if (out.parents++ == 0) out.parent = parent;
        }
        if (line.substr(0, 7) == "gpgsig ") {
            if (out.signature) return malformed("it has two signatures");
            std::string sig;
            sig.reserve(field.size());
            for (std::size_t p = pos + 7; p < next;) {
                auto e = data.find('\n', p);
                sig.append(data.substr(p, e - p));
                p = e + 1;
                if (p < next) {
                    sig.push_back('\n');
                    ++p;  // the continuation's space
                }
            }
            out.signature = std::move(sig);
        } else {
            out.signed_data.append(field);
        }
        pos = next;
    }
    if (first) return malformed("it does not start with its tree");  // no header at all
    out.signed_data.append(data.substr(pos));
    out.message = std::string(data.substr(pos + 1));
    return out;
}

std::optional<std::string> remove_stale_ref_lock(const std::filesystem::path& gitdir, const std::string& ref) {
    std::filesystem::path lock = gitdir / (ref + ".lock");
    struct stat st {};
    if (::stat(lock.c_str(), &st) != 0 || std::time(nullptr) - st.st_mtime < 5) return std::nullopt;
    if (::unlink(lock.c_str()) != 0) return std::nullopt;
    return "recovered a stale lock " + util::quote(lock) + " left by an interrupted writer";
}

Result<std::string> store_name() {
    // Straight from the kernel: OpenSSL's generator would cost a print-verify, which needs
    // no other randomness, half a millisecond to set up.
    std::uint8_t rnd[8];
    if (::getentropy(rnd, sizeof rnd) != 0)
        return make_error(Errc::io, std::string("cannot read random bytes: ") + std::strerror(errno));
    return host_name() + "-" + std::to_string(::getpid()) + "-" + util::hex_encode(rnd, sizeof rnd);
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
