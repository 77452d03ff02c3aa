#include "pack.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dvi/util/fs.hpp"
#include "git.hpp"

namespace fs = std::filesystem;

namespace dvi::pack {

namespace {

bool is_hex(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Every loose object: objects/<2 hex>/<38 hex>.
std::vector<std::pair<git_oid, fs::path>> loose_objects(const fs::path& gitdir) {
    std::vector<std::pair<git_oid, fs::path>> out;
    std::error_code ec;
    for (auto& dir : fs::directory_iterator(gitdir / "objects", ec)) {
        std::string d = dir.path().filename();
        if (d.size() != 2 || !is_hex(d) || !dir.is_directory(ec)) continue;
        for (auto& f : fs::directory_iterator(dir.path(), ec)) {
            std::string name = f.path().filename();
            if (name.size() != 38 || !is_hex(name)) continue;
            git_oid oid;
            if (git_oid_fromstr(&oid, (d + name).c_str()) == 0) out.emplace_back(oid, f.path());
        }
    }
    return out;
}

struct PackFile {
    fs::path idx;
    std::vector<git_oid> objects;
};

// The object ids of a pack, from its version 2 index: magic, version, 256 fan-out counts,
// then the sorted ids.
std::optional<PackFile> read_index(const fs::path& idx) {
    std::ifstream in(idx, std::ios::binary);
    unsigned char head[8 + 256 * 4];
    if (!in.read(reinterpret_cast<char*>(head), sizeof head)) return std::nullopt;
    if (std::memcmp(head, "\377tOc\0\0\0\2", 8) != 0) return std::nullopt;
    const unsigned char* last = head + 8 + 255 * 4;
    std::uint32_t n = (std::uint32_t{last[0]} << 24) | (std::uint32_t{last[1]} << 16) | (std::uint32_t{last[2]} << 8) | last[3];
    if (n > (1u << 28)) return std::nullopt;
    PackFile p{idx, std::vector<git_oid>(n)};
    for (auto& oid : p.objects)
        if (!in.read(reinterpret_cast<char*>(oid.id), GIT_OID_RAWSZ)) return std::nullopt;
    return p;
}

std::vector<PackFile> packs_of(const fs::path& gitdir) {
    std::vector<PackFile> out;
    std::error_code ec;
    for (auto& f : fs::directory_iterator(gitdir / "objects" / "pack", ec))
        if (f.path().extension() == ".idx")
            if (auto p = read_index(f.path())) out.push_back(std::move(*p));
    return out;
}

// Inserts what commit `c` adds to its parent's tree, each object with its path: the
// packbuilder pairs objects of the same path for deltas (cumulative trees differ from
// their parent's by a few entries, so they delta well), and the objects a commit
// shares with its parent are left to the pack that already holds them.
Status insert_commit_delta(git_repository* repo, const git_oid& c,
                           const std::function<Status(const git_oid&, const std::string&)>& insert) {
    git_commit* commit = nullptr;
    if (git_commit_lookup(&commit, repo, &c) != 0) {
        git_error_clear();
        return {};  // not a commit: inserted with the rest
    }
    std::unique_ptr<git_commit, void (*)(git_commit*)> cp(commit, git_commit_free);
    DVI_CHECK(insert(c, ""));
    git_tree* tree = nullptr;
    git_tree* parent_tree = nullptr;
    DVI_CHECK(git::check(git_commit_tree(&tree, commit), "cannot read a commit's tree"));
    std::unique_ptr<git_tree, void (*)(git_tree*)> tp(tree, git_tree_free), pp(nullptr, git_tree_free);
    if (git_commit_parentcount(commit) > 0) {
        git_commit* parent = nullptr;
        if (git_commit_parent(&parent, commit, 0) == 0) {
            if (git_commit_tree(&parent_tree, parent) == 0) pp.reset(parent_tree);
            git_commit_free(parent);
        }
        git_error_clear();
    }
    std::function<Status(git_tree*, git_tree*, const std::string&)> walk = [&](git_tree* t, git_tree* old,
                                                                             const std::string& path) -> Status {
        DVI_CHECK(insert(*git_tree_id(t), path));
        for (std::size_t i = 0; i < git_tree_entrycount(t); ++i) {
            const git_tree_entry* e = git_tree_entry_byindex(t, i);
            const git_tree_entry* before = old ? git_tree_entry_byname(old, git_tree_entry_name(e)) : nullptr;
            if (before && git_oid_equal(git_tree_entry_id(e), git_tree_entry_id(before))) continue;
            std::string sub = path.empty() ? git_tree_entry_name(e) : path + "/" + git_tree_entry_name(e);
            if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
                git_tree* child = nullptr;
                git_tree* old_child = nullptr;
                DVI_CHECK(git::check(git_tree_lookup(&child, repo, git_tree_entry_id(e)), "cannot read a tree"));
                std::unique_ptr<git_tree, void (*)(git_tree*)> cc(child, git_tree_free), oc(nullptr, git_tree_free);
                if (before && git_tree_entry_type(before) == GIT_OBJECT_TREE &&
                    git_tree_lookup(&old_child, repo, git_tree_entry_id(before)) == 0)
                    oc.reset(old_child);
                git_error_clear();
                DVI_CHECK(walk(child, oc.get(), sub));
            } else {
                DVI_CHECK(insert(*git_tree_entry_id(e), sub));
            }
        }
        return {};
    };
    return walk(tree, pp.get(), "");
}

Status sync_dir(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return make_error(Errc::io, "cannot open " + util::quote(dir) + ": " + std::strerror(errno));
    int rc = ::syncfs(fd);
    ::close(fd);
    if (rc != 0) return make_error(Errc::io, "cannot flush the new pack to disk");
    return {};
}

}  // namespace

bool due(const fs::path& gitdir, std::size_t threshold) {
    if (threshold == 0) return false;
    std::error_code ec;
    std::size_t n = 0;
    for (const char* dir : {"00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "0a", "0b", "0c", "0d", "0e", "0f"})
        n += static_cast<std::size_t>(std::distance(fs::directory_iterator(gitdir / "objects" / dir, ec),
                                                    fs::directory_iterator()));
    return n * 16 >= threshold;
}

Result<Outcome> run(git_repository* repo, const fs::path& gitdir) {
    Outcome out;
    auto lock = util::FileLock::acquire(gitdir / "dvi" / "locks" / "pack.lock", std::chrono::milliseconds(0));
    if (!lock) return out;  // another process is packing

    auto loose = loose_objects(gitdir);
    auto packs = packs_of(gitdir);
    // Geometric merging: from the smallest pack up, merge while the next one is not
    // at least twice what is merged so far (the new pack of loose objects included).
    std::sort(packs.begin(), packs.end(), [](auto& a, auto& b) { return a.objects.size() < b.objects.size(); });
    std::size_t merged_size = loose.size(), merge = 0;
    while (merge < packs.size() && packs[merge].objects.size() < 2 * merged_size) merged_size += packs[merge++].objects.size();
    if (loose.empty() && merge < 2) return out;

    git_packbuilder* raw = nullptr;
    DVI_CHECK(git::check(git_packbuilder_new(&raw, repo), "cannot start a pack"));
    std::unique_ptr<git_packbuilder, void (*)(git_packbuilder*)> pb(raw, git_packbuilder_free);
    git_packbuilder_set_threads(pb.get(), 0);
    std::set<std::string> seen, snapshot;
    for (auto& [oid, path] : loose) snapshot.insert(std::string(reinterpret_cast<const char*>(oid.id), GIT_OID_RAWSZ));
    // Only what the snapshot holds (loose) or what is merged: objects already in a kept
    // pack stay there.
    std::set<std::string> merging;
    for (std::size_t i = 0; i < merge; ++i)
        for (auto& oid : packs[i].objects) merging.insert(std::string(reinterpret_cast<const char*>(oid.id), GIT_OID_RAWSZ));
    auto insert_named = [&](const git_oid& oid, const std::string& name) -> Status {
        std::string key(reinterpret_cast<const char*>(oid.id), GIT_OID_RAWSZ);
        if ((!snapshot.count(key) && !merging.count(key)) || !seen.insert(key).second) return {};
        return git::check(git_packbuilder_insert(pb.get(), &oid, name.empty() ? nullptr : name.c_str()),
                          "cannot pack " + git::oid_hex(oid));
    };
    // Commits first, newest first within each chain is what the packbuilder likes; the
    // objects each adds, with their paths; then whatever is left.
    std::vector<git_oid> commits;
    for (auto& [oid, path] : loose) {
        git_odb* odb = nullptr;
        git_object_t type = GIT_OBJECT_INVALID;
        std::size_t len = 0;
        if (git_repository_odb(&odb, repo) == 0) {
            if (git_odb_read_header(&len, &type, odb, &oid) != 0) git_error_clear();
            git_odb_free(odb);
        }
        if (type == GIT_OBJECT_COMMIT) commits.push_back(oid);
    }
    for (std::size_t i = 0; i < merge; ++i)
        for (auto& oid : packs[i].objects) {
            git_commit* c = nullptr;
            if (git_commit_lookup(&c, repo, &oid) == 0) {
                commits.push_back(oid);
                git_commit_free(c);
            }
            git_error_clear();
        }
    for (auto it = commits.rbegin(); it != commits.rend(); ++it)
        DVI_CHECK(insert_commit_delta(repo, *it, insert_named));
    for (auto& [oid, path] : loose) DVI_CHECK(insert_named(oid, ""));
    for (std::size_t i = 0; i < merge; ++i)
        for (auto& oid : packs[i].objects) DVI_CHECK(insert_named(oid, ""));
    DVI_CHECK(git::check(git_packbuilder_write(pb.get(), (gitdir / "objects" / "pack").c_str(), 0, nullptr, nullptr),
                         "cannot write a pack"));
    // The new pack is on disk before anything it holds is deleted.
    DVI_CHECK(sync_dir(gitdir));
    std::string written = git::oid_hex(*git_packbuilder_hash(pb.get()));
    std::error_code ec;
    for (auto& [oid, path] : loose) fs::remove(path, ec);
    for (std::size_t i = 0; i < merge; ++i) {
        fs::path base = packs[i].idx;
        if (base.stem().string().find(written) != std::string::npos) continue;  // the same set: already written
        for (auto* ext : {".idx", ".pack", ".rev", ".keep"}) fs::remove(base.replace_extension(ext), ec);
    }
    git_odb* odb = nullptr;
    if (git_repository_odb(&odb, repo) == 0) {
        git_odb_refresh(odb);
        git_odb_free(odb);
    }
    out.packed = loose.size();
    out.merged = merge;
    out.packs = packs.size() - merge + 1;
    return out;
}

}  // namespace dvi::pack
