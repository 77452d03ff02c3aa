// Git bundles for sneakernet: the v2 format (a header of prerequisites and refs, then a
// pack), written with libgit2's packbuilder and read into a quarantine by its indexer,
// so stock `git bundle create/verify` and `git fetch <bundle>` interoperate with dvi.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "dvi/crypto.hpp"
#include "dvi/sync.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"
#include "git.hpp"
#include "import.hpp"

namespace dvi {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_v2 = "# v2 git bundle";
constexpr std::string_view k_v3 = "# v3 git bundle";
constexpr std::size_t k_max_line = 4096;
constexpr std::size_t k_max_refs = 1u << 20;

using detail::repo_of;

bool is_hex40(std::string_view s) {
    return s.size() == GIT_OID_HEXSZ &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

struct BundleHeader {
    std::vector<std::string> prerequisites;
    std::vector<std::pair<std::string, std::string>> refs;  // (commit, ref name)
};

// Reads the header up to the empty line that precedes the pack, with bounded lines
// and counts, so a hostile file cannot make us read it whole into memory.
Result<BundleHeader> read_header(std::istream& in, const fs::path& path) {
    auto bad = [&](const std::string& why) {
        return make_error(Errc::invalid_input, "bundle " + util::quote(path) + ": " + why);
    };
    auto getline = [&](std::string& line) -> bool {
        line.clear();
        char c;
        while (in.get(c)) {
            if (c == '\n') return true;
            if (line.size() >= k_max_line) return false;
            line += c;
        }
        return false;
    };
    std::string line;
    if (!getline(line) || (line != k_v2 && line != k_v3)) return bad("not a git bundle (v2 or v3)");
    bool v3 = line == k_v3;
    BundleHeader h;
    while (true) {
        if (!getline(line)) return bad("the header is truncated or has an over-long line");
        if (line.empty()) break;
        if (v3 && line[0] == '@') {
            if (line != "@object-format=sha1") return bad("unsupported capability '" + line + "'");
            continue;
        }
        if (h.refs.size() + h.prerequisites.size() >= k_max_refs) return bad("too many refs");
        if (line[0] == '-') {
            std::string oid = line.substr(1, GIT_OID_HEXSZ);
            if (!is_hex40(oid) || (line.size() > 41 && line[41] != ' ')) return bad("malformed prerequisite '" + line + "'");
            h.prerequisites.push_back(oid);
            continue;
        }
        std::string oid = line.substr(0, GIT_OID_HEXSZ);
        if (!is_hex40(oid) || line.size() < 43 || line[40] != ' ') return bad("malformed ref line '" + line + "'");
        h.refs.emplace_back(oid, line.substr(41));
    }
    if (h.refs.empty()) return bad("it carries no refs");
    return h;
}

struct PackProgress {
    const ProgressFn* progress;
};

int on_index_progress(const git_indexer_progress* stats, void* payload) {
    auto* p = static_cast<PackProgress*>(payload);
    if (p->progress && *p->progress) (*p->progress)("receiving", stats->received_objects, stats->total_objects);
    return 0;
}

// Streams the rest of `in` (a pack) into the quarantine's object store.
Status index_pack(std::istream& in, git_repository* repo, const fs::path& path, const ProgressFn& progress) {
    git_odb* raw_odb = nullptr;
    DVI_CHECK(git::check(git_repository_odb(&raw_odb, repo), "cannot open the quarantine"));
    git::Odb odb(raw_odb);
    PackProgress pp{&progress};
    git_odb_writepack* wp = nullptr;
    DVI_CHECK(git::check(git_odb_write_pack(&wp, odb.get(), on_index_progress, &pp), "cannot receive a pack"));
    git_indexer_progress stats{};
    std::vector<char> buf(1 << 20);
    int rc = 0;
    std::uint64_t total = 0;
    while (rc == 0 && in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        auto n = static_cast<std::size_t>(in.gcount());
        if (n == 0) break;
        total += n;
        rc = wp->append(wp, buf.data(), n, &stats);
    }
    if (rc == 0 && total == 0) {
        wp->free(wp);
        return make_error(Errc::invalid_input, "bundle " + util::quote(path) + " has no pack");
    }
    if (rc == 0) rc = wp->commit(wp, &stats);
    wp->free(wp);
    if (rc != 0) {
        auto e = git::error(rc, "bundle " + util::quote(path) + " holds a corrupt pack");
        e.code = Errc::invalid_input;
        e.hint = "nothing was imported; ask for the bundle again";
        return e;
    }
    return {};
}

}  // namespace

namespace detail {
bool is_bundle_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    char head[15] = {};
    if (!in.read(head, sizeof head)) return false;
    std::string_view s(head, sizeof head);
    return s == k_v2 || s == k_v3;
}
}  // namespace detail

Result<ImportOutcome> bundle_import(Ledger& ledger, const fs::path& bundle, const ProgressFn& progress) {
    std::ifstream in(bundle, std::ios::binary);
    if (!in) return make_error(Errc::not_found, "cannot read bundle " + util::quote(bundle) + ": " + std::strerror(errno));
    DVI_TRY(header, read_header(in, bundle));
    DVI_TRY(lock, detail::lock_imports(ledger));
    for (auto& p : header.prerequisites) {
        git_oid oid;
        git_oid_fromstr(&oid, p.c_str());
        git_commit* c = nullptr;
        if (git_commit_lookup(&c, repo_of(ledger), &oid) != 0) {
            git_error_clear();
            DVI_TRY(held, ledger.chains());
            if (held.empty())  // a ledger being started from it (dvi init --join)
                return make_error(Errc::invalid_input,
                                  "bundle " + util::quote(bundle) + " continues from commit " + p +
                                      ": it was made with --since, for a ledger that holds the rest",
                                  "start a ledger from a full bundle (dvi sync --bundle-out without --since)");
            return make_error(Errc::invalid_input,
                              "bundle " + util::quote(bundle) + " continues from commit " + p + ", which this ledger lacks",
                              "import the bundles before it first, or ask for one made without --since");
        }
        git_commit_free(c);
    }
    DVI_TRY(q, detail::Quarantine::create(ledger));
    DVI_CHECK(index_pack(in, repo_of(q.ledger()), bundle, progress));
    std::vector<detail::Offer> offers;
    for (auto& [oid, name] : header.refs)
        if (auto w = writer_of_chain_ref(name)) offers.push_back({*w, oid});
    if (offers.empty())
        return make_error(Errc::invalid_input, "bundle " + util::quote(bundle) + " carries no dvi chains (refs/dvi/chains/*)");
    return detail::import_offers(ledger, q.ledger(), offers, detail::ImportMode::apply, progress,
                                 [&] { return q.migrate(ledger); });
}

namespace {
// Where a bundle goes: a descriptor, and the bytes written to it.
struct BundleFile {
    int fd = -1;
    std::uintmax_t bytes = 0;
    int error = 0;  // errno of the first failed write
};

int write_chunk(void* buf, std::size_t size, void* payload) {
    auto* out = static_cast<BundleFile*>(payload);
    out->error = util::write_all(out->fd, std::string_view(static_cast<const char*>(buf), size));
    out->bytes += size;
    return out->error == 0 ? 0 : -1;
}
}  // namespace

Result<BundleExport> bundle_export(const Ledger& ledger, const fs::path& path, const std::optional<fs::path>& since) {
    git_repository* repo = repo_of(ledger);
    BundleExport out;
    out.path = path;
    // What the other side holds: the chain heads of a bundle it sent or took, and the
    // commits that bundle was made on top of (its prerequisites: an incremental bundle
    // names only the chains that moved, and the others' heads are among these).
    std::set<std::string> theirs;
    if (since) {
        std::ifstream in(*since, std::ios::binary);
        if (!in) return make_error(Errc::not_found, "cannot read bundle " + util::quote(*since) + ": " + std::strerror(errno));
        DVI_TRY(h, read_header(in, *since));
        for (auto& [oid, name] : h.refs)
            if (writer_of_chain_ref(name)) theirs.insert(oid);
        theirs.insert(h.prerequisites.begin(), h.prerequisites.end());
    }
    DVI_TRY(heads, ledger.chains());
    git_revwalk* rw = nullptr;
    DVI_CHECK(git::check(git_revwalk_new(&rw, repo), "cannot walk the ledger"));
    git::Revwalk walk(rw);
    for (auto& t : theirs) {
        git_oid oid;
        git_oid_fromstr(&oid, t.c_str());
        git_commit* c = nullptr;
        if (git_commit_lookup(&c, repo, &oid) != 0) {  // a head we never took: not a prerequisite
            git_error_clear();
            continue;
        }
        git_commit_free(c);
        DVI_CHECK(git::check(git_revwalk_hide(walk.get(), &oid), "cannot walk the ledger"));
        out.prerequisites.push_back(t);
    }
    for (auto& h : heads) {
        if (theirs.count(h.commit)) continue;
        git_oid oid;
        git_oid_fromstr(&oid, h.commit.c_str());
        DVI_CHECK(git::check(git_revwalk_push(walk.get(), &oid), "cannot walk the ledger"));
        out.refs.push_back(h);
    }
    if (out.refs.empty()) return out;  // they lack nothing

    git_packbuilder* raw_pb = nullptr;
    DVI_CHECK(git::check(git_packbuilder_new(&raw_pb, repo), "cannot build a pack"));
    std::unique_ptr<git_packbuilder, void (*)(git_packbuilder*)> pb(raw_pb, git_packbuilder_free);
    DVI_CHECK(git::check(git_packbuilder_insert_walk(pb.get(), walk.get()), "cannot build a pack"));
    out.objects = git_packbuilder_object_count(pb.get());

    // A pipe, a device or our standard output (`--bundle-out /dev/stdout`) is written in
    // place; a file through a temporary one that takes its name once complete.
    DVI_TRY(rnd, crypto::random_bytes(6));
    DVI_TRY(in_place, util::open_in_place(path));
    const bool aside = !in_place;
    fs::path tmp = path;
    tmp += ".tmp-" + util::hex_encode(rnd);
    BundleFile f;
    const int owned = aside ? ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644) : in_place->owned;
    if (owned < 0) return util::errno_error("write", path, errno);
    f.fd = aside ? owned : in_place->fd;
    std::string header = std::string(k_v2) + "\n";
    for (auto& p : out.prerequisites) header += "-" + p + "\n";
    for (auto& h : out.refs) header += h.commit + " " + h.writer.ref() + "\n";
    header += "\n";
    f.error = util::write_all(f.fd, header);
    f.bytes += header.size();
    const int rc = f.error == 0 ? git_packbuilder_foreach(pb.get(), write_chunk, &f) : 0;
    // Durable before it takes the name: a bundle is often carried away at once.
    if (rc == 0 && f.error == 0 && aside && ::fsync(f.fd) != 0) f.error = errno;
    if (::close(owned) != 0 && f.error == 0) f.error = errno;
    if (rc != 0 || f.error != 0) {
        std::error_code ec;
        if (aside) fs::remove(tmp, ec);
        return f.error != 0 ? make_error(Errc::io, "cannot write " + util::quote(path) + ": " + std::strerror(f.error))
                            : git::error(rc, "cannot write " + util::quote(path));
    }
    out.bytes = f.bytes;
    out.written = true;
    if (!aside) return out;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;  // e.g. EISDIR: a folder of that name
        std::error_code ec;
        fs::remove(tmp, ec);
        return util::errno_error("write", path, err);
    }
    return out;
}

}  // namespace dvi
