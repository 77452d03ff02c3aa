// Deltas and packs as dvi writes them, checked by stock git: `git verify-pack`, `git fsck`
// and `git cat-file` read every object back, byte for byte, from repositories that
// `git fast-import` built with the shape of a ledger's chains.
#include <catch2/catch.hpp>

#include <git2.h>

#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>

#include "delta.hpp"
#include "dvi/util/encoding.hpp"
#include "git.hpp"
#include "helpers.hpp"
#include "pack.hpp"

using namespace dvi;
using dvi_test::run;
using dvi_test::shq;
using dvi_test::TempDir;
using dvi_test::trim;
namespace fs = std::filesystem;

namespace {

std::string random_bytes(std::mt19937& rng, std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

std::string random_hex(std::mt19937& rng, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string s(n, '0');
    for (auto& c : s) c = digits[rng() & 15];
    return s;
}

void round_trip(std::string_view base, std::string_view target) {
    auto d = delta::encode(base, target, target.size() + 64);
    REQUIRE(d);
    auto back = delta::apply(base, *d);
    REQUIRE(back);
    CHECK(*back == target);
}

// `count` commits on refs/heads/main in the shape of a chain: each adds a record under a
// fanned-out path and rewrites chain.json; the first names `from` as its parent when set.
// With `folders`, the records go to that many folders (records/print/ab/<00…>), in turn,
// and are alike as a real chain's prints are: the same fields but for their sequence.
std::string chain_stream(std::mt19937& rng, int first, int count, bool from, int folders = 0) {
    std::string s;
    for (int i = first; i < first + count; ++i) {
        std::string id = random_hex(rng, 64);
        std::string record = R"({"created":"2026-11-23T10:00:00Z","id":")" + id + R"(","license":"sha256:9c0d04","seq":)" +
                             std::to_string(i) + R"(,"type":"print"})";
        if (folders > 0) {
            char folder[16];
            std::snprintf(folder, sizeof folder, "%02x", static_cast<unsigned>(i % folders) & 0xffu);
            id = "ab" + std::string(folder) + id.substr(4);
            record = R"({"created":"2026-11-23T10:00:00Z","device":{"model":"Original Prusa MINI","serial":"S5-0412"},)"
                     R"("license":"sha256:)" + std::string(64, '9') + R"(","material_lot":"sha256:)" + std::string(64, '7') +
                     R"(","recipe":"mini-petg","seq":)" + std::to_string(i) + R"(,"type":"print","used":)" +
                     std::to_string(i) + "}";
        }
        std::string chain = R"({"partner":"bureau7","record":"sha256:)" + id + R"(","seq":)" + std::to_string(i) + "}";
        std::string message = "print " + std::to_string(i) + "\n\nDvi-Record: sha256:" + id + "\n";
        s += "commit refs/heads/main\ncommitter bureau7/s5 <s5@bureau7> " + std::to_string(1795000000 + i) + " +0000\n";
        s += "data " + std::to_string(message.size()) + "\n" + message;
        if (from && i == first) s += "from refs/heads/main^0\n";
        s += "M 100644 inline records/print/" + id.substr(0, 2) + "/" + id.substr(2, 2) + "/" + id + ".json\n";
        s += "data " + std::to_string(record.size()) + "\n" + record + "\n";
        s += "M 100644 inline chain.json\ndata " + std::to_string(chain.size()) + "\n" + chain + "\n";
    }
    return s;
}

// Imports the commits, then turns what git packed into loose objects, as appends leave them
// (a small import git leaves loose itself).
void import_loose(const fs::path& repo, const std::string& stream, const fs::path& scratch) {
    dvi_test::write_text(scratch / "stream", stream);
    auto r = run("cd " + shq(repo) + " && before=$(ls objects/pack) && git fast-import --quiet < " +
                 shq(scratch / "stream") +
                 " && for p in objects/pack/pack-*.pack; do [ -e \"$p\" ] || continue; case \"$before\" in "
                 "*\"${p#objects/pack/}\"*) continue;; esac;"
                 " mv \"$p\" " +
                 shq(scratch / "in.pack") + " && rm -f \"${p%.pack}\".* && git unpack-objects -q < " +
                 shq(scratch / "in.pack") + " || exit 1; done");
    REQUIRE(r.status == 0);
}

std::size_t loose_count(const fs::path& repo) {
    auto r = run("git -C " + shq(repo) + " count-objects -v | sed -n 's/^count: //p'");
    return std::stoul(trim(r.output));
}
std::size_t pack_count(const fs::path& repo) {
    auto r = run("ls " + shq(repo / "objects/pack") + " | grep -c '\\.pack$'");
    return std::stoul(trim(r.output));
}
// Every object's id, type and content, through stock git.
std::string all_objects(const fs::path& repo) {
    auto r = run("git -C " + shq(repo) + " cat-file --batch-all-objects --batch | sha256sum", false);
    REQUIRE(r.status == 0);
    return r.output;
}
void check_with_git(const fs::path& repo) {
    auto fsck = run("git -C " + shq(repo) + " fsck --full --strict --no-dangling");
    INFO(fsck.output);
    CHECK(fsck.status == 0);
    auto verify = run("git verify-pack " + shq(repo) + "/objects/pack/pack-*.idx");
    INFO(verify.output);
    CHECK(verify.status == 0);
}

struct Repo {
    git_repository* raw = nullptr;
    explicit Repo(const fs::path& p) {
        git::ensure_init();
        REQUIRE(git_repository_open(&raw, p.c_str()) == 0);
    }
    ~Repo() { git_repository_free(raw); }
};

// The objects of the packs `idx` names (a path or a shell glob), as git verify-pack -v
// lists them: "<id> <type> <size> <size in pack> <offset>", then "<depth> <base>" for a delta.
struct Listed {
    std::string id, type, base;  // base empty: stored whole
    std::uint64_t offset = 0;
    int depth = 0;
};
std::vector<Listed> pack_listing(const std::string& idx) {
    std::vector<Listed> out;
    std::istringstream lines(run("git verify-pack -v " + idx).output);
    for (std::string l; std::getline(lines, l);) {
        std::istringstream f(l);
        Listed e;
        std::string size, packed, offset, depth;
        if (!(f >> e.id >> e.type >> size >> packed >> offset) || e.id.size() != 40) continue;  // not the summary
        if (f >> depth) {
            f >> e.base;
            e.depth = std::stoi(depth);
        }
        e.offset = std::stoull(offset);
        out.push_back(std::move(e));
    }
    return out;
}

// The index of a ledger's newest pack.
std::string newest_pack_index(const fs::path& repo) {
    return trim(run("ls -t " + shq(repo / "objects/pack") + "/*.idx | head -1").output);
}

// The lines a shell command prints (object ids), as a set.
std::set<std::string> lines_of(const std::string& command) {
    std::set<std::string> out;
    std::istringstream lines(run(command).output);
    for (std::string l; std::getline(lines, l);) out.insert(l);
    return out;
}

// The ids of the objects `revs` reach (git rev-list --objects).
std::set<std::string> objects_of(const fs::path& repo, const std::string& revs) {
    std::set<std::string> out;
    std::istringstream ids(run("git -C " + shq(repo) + " rev-list --objects " + revs + " | cut -c1-40").output);
    for (std::string id; std::getline(ids, id);) out.insert(id);
    return out;
}

// A bare ledger `dir`/ledger.git of `first` records in 40 folders, packed, then `then`
// records more, packed by a run that merges nothing: two packs side by side, the second
// run's folders whose versions before it are in the first pack.
fs::path two_runs_apart(const TempDir& dir, std::mt19937& rng, int first, int then) {
    fs::path repo = dir / "ledger.git";
    REQUIRE(run("git init -q --bare " + shq(repo)).status == 0);
    import_loose(repo, chain_stream(rng, 1, first, false, 40), dir.path());
    Repo r(repo);
    REQUIRE(pack::run(r.raw, repo));
    import_loose(repo, chain_stream(rng, first + 1, then, true, 40), dir.path());
    auto second = pack::run(r.raw, repo);
    REQUIRE(second);
    REQUIRE(second->merged == 0);
    REQUIRE(pack_count(repo) == 2);
    return repo;
}

}  // namespace

TEST_CASE("delta: rebuilds the target from the base", "[pack]") {
    std::mt19937 rng(7);
    std::string tree;
    for (int i = 0; i < 256; ++i) tree += "40000 " + random_hex(rng, 2) + '\0' + random_bytes(rng, 20);
    std::string entry = "100644 " + random_hex(rng, 64) + ".json" + '\0' + random_bytes(rng, 20);

    SECTION("an entry inserted into a tree costs about its own size") {
        std::string grown = tree.substr(0, 3000) + entry + tree.substr(3000);
        auto d = delta::encode(tree, grown, grown.size());
        REQUIRE(d);
        CHECK(d->size() < entry.size() + 20);
        CHECK(*delta::apply(tree, *d) == grown);
    }
    SECTION("edits in the middle, at both ends, and none") {
        round_trip(tree, tree);
        round_trip(tree, entry + tree);
        round_trip(tree, tree + entry);
        std::string edited = tree;
        for (int i = 0; i < 20; ++i) edited[rng() % edited.size()] ^= 0x5a;
        round_trip(tree, edited);
        round_trip(tree, tree.substr(100, 4000));
        round_trip("", entry);
        round_trip(entry, "");
    }
    SECTION("copies longer than one instruction holds are split") {
        std::string big = random_bytes(rng, 200000);
        std::string target = big.substr(0, 150000) + "x" + big.substr(150000);
        auto d = delta::encode(big, target, 100);
        REQUIRE(d);
        CHECK(*delta::apply(big, *d) == target);
        round_trip(big, big.substr(70000) + big.substr(0, 70000));
    }
    SECTION("unrelated data gives no delta under the limit") {
        std::string other = random_bytes(rng, tree.size());
        CHECK_FALSE(delta::encode(tree, other, other.size() / 2));
    }
    SECTION("malformed deltas are refused") {
        auto d = *delta::encode(tree, tree + entry, 1 << 20);
        CHECK_FALSE(delta::apply(tree + "x", d));                     // another base
        CHECK_FALSE(delta::apply(tree, d.substr(0, d.size() - 1)));  // truncated
        std::string outside = d.substr(0, 4) + std::string("\x91\xff\xff\x10", 4);
        CHECK_FALSE(delta::apply(tree, outside));
    }
}

// How the deltas of the packs of `repo` name their bases, from each entry's first byte:
// {by offset (OFS_DELTA), by id (REF_DELTA)}.
std::pair<std::size_t, std::size_t> delta_kinds(const fs::path& repo) {
    std::size_t ofs = 0, ref = 0;
    std::istringstream list(run("ls " + shq(repo / "objects/pack") + "/*.idx").output);
    for (std::string idx; std::getline(list, idx);) {
        std::string pack = dvi_test::read_text(fs::path(idx).replace_extension(".pack"));
        for (auto& e : pack_listing(shq(idx))) {
            if (e.base.empty()) continue;
            REQUIRE(e.offset < pack.size());
            int type = (static_cast<unsigned char>(pack[e.offset]) >> 4) & 7;
            (type == 6 ? ofs : ref) += 1;
        }
    }
    return {ofs, ref};
}

TEST_CASE("pack: loose objects of chains become one pack that stock git reads", "[pack]") {
    TempDir dir("dvi-pack");
    fs::path repo = dir / "ledger.git";
    REQUIRE(run("git init -q --bare " + shq(repo)).status == 0);
    std::mt19937 rng(11);
    import_loose(repo, chain_stream(rng, 1, 300, false), dir.path());
    std::size_t before = loose_count(repo);
    REQUIRE(before >= 300 * 5);
    std::string objects = all_objects(repo);
    auto du = [&] { return std::stoul(trim(run("du -sb " + shq(repo / "objects/pack") + " | cut -f1").output)); };

    Repo r(repo);
    auto out = pack::run(r.raw, repo);
    REQUIRE(out);
    CHECK(out->packed == before);
    // At least the tree of records/print of every commit after the first: the small
    // objects (a commit without signature, chain.json) are not worth a delta.
    CHECK(out->deltas >= 299);  // every commit after the first, and the tree of records/print
    CHECK(loose_count(repo) == 0);
    CHECK(pack_count(repo) == 1);
    check_with_git(repo);
    CHECK(all_objects(repo) == objects);
    // The versions of `path` in the 300 commits, and how many of them are stored whole.
    auto versions_of = [&](const std::string& path) {
        return lines_of("for c in $(git -C " + shq(repo) + " rev-list main); do git -C " + shq(repo) +
                        " rev-parse $c:" + path + "; done");
    };
    auto whole_of = [&](const std::set<std::string>& ids) {
        std::size_t whole = 0;
        for (auto& e : pack_listing(shq(repo) + "/objects/pack/pack-*.idx"))
            if (ids.count(e.id) && e.base.empty()) ++whole;
        return whole;
    };
    // records/print/ changes with every commit: its 300 versions are one chain of deltas,
    // the newest whole, each version against the next newer one; where that would go
    // past 100 deep, against the version the chain last started again from (git's
    // pack.depth of 50 would store 6 of them whole, the chains of 100 before, 3).
    auto folder = versions_of("records/print");
    REQUIRE(folder.size() == 300);
    CHECK(whole_of(folder) == 1);
    int deepest = 0;
    for (auto& e : pack_listing(shq(repo) + "/objects/pack/pack-*.idx")) deepest = std::max(deepest, e.depth);
    CHECK(deepest < 100);
    CHECK(deepest >= 99);
    // The root folder too, though a delta of it is more than half its size (most of
    // what it holds changes with every commit): its entries are smaller.
    auto roots = lines_of("git -C " + shq(repo) + " log --format=%T main");
    REQUIRE(roots.size() == 300);
    CHECK(whole_of(roots) == 1);
    // chain.json is mostly the ids of what changed: a delta a hundred versions apart is
    // its whole size, so it starts again whole.
    auto chain = versions_of("chain.json");
    REQUIRE(chain.size() == 300);
    CHECK(whole_of(chain) == 3);
    // Each base is written before its deltas, which name it by offset, as git writes them.
    auto [ofs, ref] = delta_kinds(repo);
    INFO(ofs << " deltas by offset, " << ref << " by id");
    CHECK(ofs == out->deltas);
    CHECK(ref == 0);
    // No larger than what git's own delta search makes of the same objects, within 25%.
    auto ours = du();
    REQUIRE(run("cp -r " + shq(repo) + " " + shq(dir / "gc.git") + " && git -C " + shq(dir / "gc.git") + " gc -q").status == 0);
    auto theirs = std::stoul(trim(run("du -sb " + shq(dir / "gc.git/objects/pack") + " | cut -f1").output));
    INFO("dvi " << ours << " bytes, git gc " << theirs);
    CHECK(ours < theirs * 5 / 4);

    SECTION("nothing to do: nothing written") {
        auto again = pack::run(r.raw, repo);
        REQUIRE(again);
        CHECK(again->packed == 0);
        CHECK(pack_count(repo) == 1);
    }
    SECTION("later appends: a second pack, then the small ones merge, git's own included") {
        import_loose(repo, chain_stream(rng, 301, 20, true), dir.path());
        auto second = pack::run(r.raw, repo);
        REQUIRE(second);
        // 300 commits' pack is more than twice, and more than 8 times, 20 commits' objects.
        CHECK(second->merged == 0);
        CHECK(pack_count(repo) == 2);
        // A pack git wrote, with offset deltas, beside them: git repack of the new objects.
        import_loose(repo, chain_stream(rng, 321, 400, true), dir.path());
        REQUIRE(run("git -C " + shq(repo) + " repack -q").status == 0);  // loose -> one git pack
        CHECK(pack_count(repo) == 3);
        import_loose(repo, chain_stream(rng, 721, 200, true), dir.path());
        std::string all = all_objects(repo);
        auto third = pack::run(r.raw, repo);
        REQUIRE(third);
        CHECK(third->merged == 3);
        CHECK(pack_count(repo) == 1);
        CHECK(loose_count(repo) == 0);
        check_with_git(repo);
        CHECK(all_objects(repo) == all);
        REQUIRE(run("git -C " + shq(repo) + " rev-list --count main").output == "920\n");
    }
    SECTION("the last run's pack is merged while it is small, though twice this run's objects") {
        import_loose(repo, chain_stream(rng, 301, 100, true), dir.path());
        auto next = pack::run(r.raw, repo);
        REQUIRE(next);
        CHECK(next->merged == 1);
        CHECK(pack_count(repo) == 1);
        check_with_git(repo);
        // Not a pack older than the last run's, however small.
        import_loose(repo, chain_stream(rng, 401, 10, true), dir.path());
        REQUIRE(pack::run(r.raw, repo));  // 10 commits: the 400 commits' pack is too large to follow
        CHECK(pack_count(repo) == 2);
        import_loose(repo, chain_stream(rng, 411, 100, true), dir.path());
        auto third = pack::run(r.raw, repo);
        REQUIRE(third);
        CHECK(third->merged == 1);  // the 10 commits' pack (geometric); the older, larger one stays
        CHECK(pack_count(repo) == 2);
        check_with_git(repo);
    }
    SECTION("a run that merges the pack before it: its newest folders are deltas against their versions there") {
        import_loose(repo, chain_stream(rng, 301, 400, true), dir.path());
        std::string all = all_objects(repo);
        auto next = pack::run(r.raw, repo);
        REQUIRE(next);
        CHECK(next->merged == 1);
        CHECK(pack_count(repo) == 1);
        check_with_git(repo);
        CHECK(all_objects(repo) == all);
        // Newest folders are deltas against their versions before the run, in the merged
        // pack, where that delta is worth it (a folder that changed little).
        std::size_t cross = 0;
        std::set<std::string> before_run;
        std::istringstream old(run("git -C " + shq(repo) + " rev-list --objects main~400 | cut -c1-40").output);
        for (std::string id; std::getline(old, id);) before_run.insert(id);
        for (auto& e : pack_listing(shq(repo) + "/objects/pack/pack-*.idx"))
            if (e.type == "tree" && !e.base.empty() && !before_run.count(e.id) && before_run.count(e.base)) ++cross;
        INFO("new folders stored against their version before the run: " << cross);
        CHECK(cross >= 20);  // 38 with this seed: the small ones, where a delta is not worth it, stay whole
        // The merged pack's deltas, copied, and the run's, against its objects copied
        // before them, all name their bases by offset.
        auto [by_offset, by_id] = delta_kinds(repo);
        INFO(by_offset << " deltas by offset, " << by_id << " by id");
        CHECK(by_offset >= next->deltas + 299);
        CHECK(by_id == 0);
    }
    SECTION("hints that name a loop, a missing object or another type, or a damaged file, change nothing else") {
        import_loose(repo, chain_stream(rng, 301, 20, true), dir.path());
        REQUIRE(pack::run(r.raw, repo));
        std::string newest = newest_pack_index(repo);
        std::string oldest = trim(run("ls -t " + shq(repo / "objects/pack") + "/*.idx | tail -1").output);
        // Two whole versions of records/print, one in each pack, hinted against each other.
        std::string x = trim(run("git -C " + shq(repo) + " rev-parse main~20:records/print").output);
        std::string y = trim(run("git -C " + shq(repo) + " rev-parse main:records/print").output);
        std::string blob = trim(run("git -C " + shq(repo) + " rev-parse main:chain.json").output);
        // An older version of y, stored as a delta against y: y against it would be a loop.
        std::string y_older = trim(run("git -C " + shq(repo) + " rev-parse main~1:records/print").output);
        auto is_whole = [&](const std::string& idx, const std::string& id) {
            for (auto& e : pack_listing(shq(idx)))
                if (e.id == id) return e.base.empty();
            return false;
        };
        REQUIRE(is_whole(oldest, x));
        REQUIRE(is_whole(newest, y));
        REQUIRE(!is_whole(newest, y_older));
        auto raw = [](const std::string& hex) {
            git_oid oid;
            REQUIRE(git_oid_fromstr(&oid, hex.c_str()) == 0);
            return std::string(reinterpret_cast<const char*>(oid.id), 20);
        };
        std::string crafted = "dvi-pack-hints 1\n" + raw(y) + raw(y_older) + raw(x) + raw(y) + raw(y) + raw(x) + raw(std::string(40, '1')) + raw(x) +
                              raw(blob) + raw(x) + raw(y) + raw(blob);
        fs::path hints = repo / "dvi" / "pack-hints" / (fs::path(newest).stem().string() + ".hints");
        dvi_test::write_text(hints, crafted);
        dvi_test::write_text(repo / "dvi" / "pack-hints" / (fs::path(oldest).stem().string() + ".hints"), "dvi-pack-hints 1\nshort");
        // Another chain's appends, so that the run merges both packs and plans no loose
        // object against x or y.
        std::string other = chain_stream(rng, 1, 400, false);
        for (std::size_t at; (at = other.find("refs/heads/main")) != std::string::npos;) other.replace(at, 15, "refs/heads/next");
        import_loose(repo, other, dir.path());
        std::string all = all_objects(repo);
        auto third = pack::run(r.raw, repo);
        REQUIRE(third);
        CHECK(third->merged == 2);
        CHECK(third->rebased == 1);  // x against y or y against x, never both
        check_with_git(repo);
        CHECK(all_objects(repo) == all);
    }
    SECTION("a run that merges nothing: new records are deltas against the chain's previous one") {
        // Their folders' versions before the run are in the pack of the first run, which
        // this one does not merge: every entry of such a folder looked new, older records
        // included, and became the next record's base (outside the pack: stored whole).
        TempDir d2("dvi-pack-records");
        fs::path repo2 = two_runs_apart(d2, rng, 120, 10);
        check_with_git(repo2);
        // The new pack's records ("device" in them): whole or deltas, from git verify-pack -v.
        std::string newest = newest_pack_index(repo2);
        std::size_t whole = 0, deltas = 0;
        for (auto& e : pack_listing(shq(newest))) {
            if (e.type != "blob") continue;
            if (run("git -C " + shq(repo2) + " cat-file -p " + e.id + " | grep -q device").status != 0) continue;
            ++(e.base.empty() ? whole : deltas);
        }
        INFO(whole << " records whole, " << deltas << " deltas");
        CHECK(whole + deltas == 10);
        CHECK(whole <= 2);  // the run's first, against nothing in its pack
    }
    SECTION("a folder that becomes a file: no delta across types") {
        std::string note = "a file where a folder was\n";
        std::string message = "replace\n";
        std::string stream = "commit refs/heads/main\ncommitter x <x@y> 1795000999 +0000\ndata " +
                             std::to_string(message.size()) + "\n" + message + "from refs/heads/main^0\nD records\n" +
                             "M 100644 inline records\ndata " + std::to_string(note.size()) + "\n" + note + "\n";
        import_loose(repo, chain_stream(rng, 301, 5, true) + stream + chain_stream(rng, 307, 5, false), dir.path());
        std::string all = all_objects(repo);
        auto next = pack::run(r.raw, repo);
        REQUIRE(next);
        check_with_git(repo);
        CHECK(all_objects(repo) == all);
    }
    SECTION("a pack with a .keep file is never merged") {
        auto idx = trim(run("ls " + shq(repo / "objects/pack") + "/*.idx").output);
        fs::path keep = fs::path(idx).replace_extension(".keep");
        dvi_test::write_text(keep, "");
        import_loose(repo, chain_stream(rng, 301, 1000, true), dir.path());
        auto next = pack::run(r.raw, repo);
        REQUIRE(next);
        CHECK(next->merged == 0);
        CHECK(fs::exists(fs::path(idx)));
        CHECK(pack_count(repo) == 2);
        check_with_git(repo);
    }
}

TEST_CASE("pack: what a run stored whole, its previous version in a pack it did not merge, is a delta once both merge",
          "[pack]") {
    std::mt19937 rng(12);
    // Records in 40 folders, as a large ledger's fill its fanned-out ones: each new
    // version of a folder adds an entry to a few hundred bytes.
    TempDir d2("dvi-pack-hints");
    fs::path repo = two_runs_apart(d2, rng, 300, 20);
    Repo r2(repo);
    // The run's objects, and which of its folders it stored whole.
    std::set<std::string> first_run = objects_of(repo, "main~20"), second_run = objects_of(repo, "main ^main~20");
    std::string newest = newest_pack_index(repo);
    std::size_t whole = 0;
    for (auto& e : pack_listing(shq(newest)))
        if (e.type == "tree" && e.base.empty() && second_run.count(e.id)) ++whole;
    INFO(whole << " folders of the second run stored whole");
    REQUIRE(whole >= 20);  // the 20 folders of its records, and those above them
    fs::path hints = repo / "dvi" / "pack-hints" / (fs::path(newest).stem().string() + ".hints");
    REQUIRE(fs::exists(hints));
    // A copy without the hints, packed the same way: what the hints are worth.
    REQUIRE(run("cp -r " + shq(repo) + " " + shq(d2 / "plain.git") + " && rm -r " + shq(d2 / "plain.git/dvi/pack-hints")).status == 0);

    import_loose(repo, chain_stream(rng, 321, 400, true), d2.path());
    REQUIRE(run("cp -r " + shq(repo / "objects") + "/. " + shq(d2 / "plain.git/objects") + "/").status == 0);
    std::string all = all_objects(repo);
    auto third = pack::run(r2.raw, repo);
    REQUIRE(third);
    CHECK(third->merged == 2);
    CHECK(pack_count(repo) == 1);
    check_with_git(repo);
    CHECK(all_objects(repo) == all);
    // What is left are the hints of the second run's folders that the third run's own
    // versions are stored against (its plan holds them whole): each names two objects
    // of the new pack, for its next merge to link.
    std::set<std::string> in_pack, whole_in_pack;
    for (auto& e : pack_listing(shq(repo) + "/objects/pack/pack-*.idx")) {
        in_pack.insert(e.id);
        if (e.base.empty()) whole_in_pack.insert(e.id);
    }
    std::size_t left = 0;
    for (auto& f : fs::directory_iterator(repo / "dvi" / "pack-hints")) {
        std::string text = dvi_test::read_text(f.path());
        REQUIRE(text.rfind("dvi-pack-hints 1\n", 0) == 0);
        for (std::size_t at = 17; at + 40 <= text.size(); at += 40, ++left) {
            auto bytes = reinterpret_cast<const std::uint8_t*>(text.data() + at);
            std::string object = dvi::util::hex_encode(bytes, 20), base = dvi::util::hex_encode(bytes + 20, 20);
            CHECK(whole_in_pack.count(object) == 1);
            CHECK(second_run.count(object) == 1);
            CHECK(in_pack.count(base) == 1);
        }
    }
    INFO(left << " hints left");
    CHECK(left <= whole);
    CHECK(left >= 1);
    std::size_t cross = 0;
    for (auto& e : pack_listing(shq(repo) + "/objects/pack/pack-*.idx"))
        if (e.type == "tree" && second_run.count(e.id) && first_run.count(e.base)) ++cross;
    INFO(cross << " folders of the second run now stored against the first run's; " << third->rebased << " rebased");
    CHECK(cross >= 20);  // at least the folders of its records, each one entry more than before
    CHECK(third->rebased >= cross);

    Repo plain(d2 / "plain.git");
    auto without = pack::run(plain.raw, d2 / "plain.git");
    REQUIRE(without);
    CHECK(without->merged == 2);
    CHECK(without->rebased == 0);
    check_with_git(d2 / "plain.git");
    CHECK(all_objects(d2 / "plain.git") == all);
    auto bytes = [&](const fs::path& p) {
        return std::stoul(trim(run("cat " + shq(p / "objects/pack") + "/*.pack | wc -c").output));
    };
    INFO("with hints " << bytes(repo) << " bytes, without " << bytes(d2 / "plain.git"));
    CHECK(bytes(repo) < bytes(d2 / "plain.git"));
}

TEST_CASE("pack: when a hinted folder is the base of the run's own versions, its previous version becomes a delta "
          "against it",
          "[pack]") {
    std::mt19937 rng(17);
    // The second run's 20 folders stored whole; the third run adds records to the same
    // folders, so their newest versions are deltas against the second run's: those stay
    // whole, and the first run's versions are stored against them, as git stores an older
    // version against a newer one.
    TempDir d("dvi-pack-reverse");
    fs::path repo = two_runs_apart(d, rng, 300, 20);
    Repo r(repo);
    std::set<std::string> first_run = objects_of(repo, "main~20"), second_run = objects_of(repo, "main ^main~20");
    import_loose(repo, chain_stream(rng, 321, 200, true, 40), d.path());
    std::string all = all_objects(repo);
    auto third = pack::run(r.raw, repo);
    REQUIRE(third);
    CHECK(third->merged == 2);
    check_with_git(repo);
    CHECK(all_objects(repo) == all);
    std::size_t forward = 0, reverse = 0;
    for (auto& e : pack_listing(shq(repo) + "/objects/pack/pack-*.idx")) {
        if (e.type != "tree") continue;
        if (second_run.count(e.id) && first_run.count(e.base)) ++forward;
        if (first_run.count(e.id) && second_run.count(e.base)) ++reverse;
    }
    INFO(forward << " second-run folders against the first run's, " << reverse << " the other way; " << third->rebased
                 << " rebased");
    CHECK(reverse >= 20);  // the 20 folders of the second run's records
    CHECK(third->rebased >= forward + reverse);
}

TEST_CASE("pack: a large blob streamed as a pack of its own, stored or deflated", "[pack]") {
    TempDir dir("dvi-blobpack");
    fs::path repo = dir / "r.git";
    REQUIRE(run("git init -q --bare " + shq(repo)).status == 0);
    std::mt19937 rng(5);
    std::string random = random_bytes(rng, 3 << 20);
    std::string text;
    while (text.size() < (3u << 20)) text += "G1 X10.5 Y20.25 E0.0412 F1800 ; move " + std::to_string(text.size() % 977) + "\n";
    CHECK(pack::level_for(random.data(), 1 << 20) == 0);
    CHECK(pack::level_for(text.data(), 1 << 20) == 1);
    for (auto* data : {&random, &text}) {
        int level = pack::level_for(data->data(), 1 << 20);
        auto bp = pack::BlobPack::create(repo / "objects/pack", data->size(), level);
        REQUIRE(bp);
        for (std::size_t at = 0; at < data->size(); at += 100000)
            REQUIRE(bp->write(data->data() + at, std::min<std::size_t>(100000, data->size() - at)));
        auto oid = bp->finish();
        REQUIRE(oid);
        dvi_test::write_text(dir / "blob", *data);
        // The id git gives the same bytes, and the bytes git reads back from the pack.
        CHECK(trim(run("git hash-object " + shq(dir / "blob")).output) == git::oid_hex(*oid));
        CHECK(run("git -C " + shq(repo) + " cat-file blob " + git::oid_hex(*oid) + " | cmp - " + shq(dir / "blob")).status == 0);
        auto base = trim(run("ls " + shq(repo / "objects/pack") + "/pack-*.idx | xargs -n1 | while read -r i; do "
                             "git verify-pack -v \"$i\" | grep -q " + git::oid_hex(*oid) + " && echo \"${i%.idx}\"; done").output);
        REQUIRE_FALSE(base.empty());
        CHECK(fs::exists(base + ".keep"));
        auto size = fs::file_size(base + ".pack");
        INFO("level " << level << ": " << size << " bytes for " << data->size());
        if (level == 0) CHECK(size < data->size() + data->size() / 100);  // stored: a few bytes a block
        else CHECK(size < data->size() / 4);
    }
    check_with_git(repo);
    SECTION("deflated in blocks: any size, any writes, one zlib stream that git reads") {
        // Sizes around the 1 MiB blocks and the 32 KiB that each block is primed with.
        for (int level : {0, 1})
            for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{32767}, std::size_t{1} << 20,
                                  (std::size_t{1} << 20) + 1, (std::size_t{5} << 20) + 12345}) {
                std::string data = text.substr(0, std::min(n, text.size()));
                while (data.size() < n) data += text.substr(0, std::min(text.size(), n - data.size()));
                auto bp = pack::BlobPack::create(repo / "objects/pack", data.size(), level);
                REQUIRE(bp);
                for (std::size_t at = 0; at < data.size(); at += 777777)
                    REQUIRE(bp->write(data.data() + at, std::min<std::size_t>(777777, data.size() - at)));
                auto oid = bp->finish();
                REQUIRE(oid);
                INFO(n << " bytes, level " << level);
                dvi_test::write_text(dir / "blob", data);
                CHECK(trim(run("git hash-object " + shq(dir / "blob")).output) == git::oid_hex(*oid));
                CHECK(run("git -C " + shq(repo) + " cat-file blob " + git::oid_hex(*oid) + " | cmp - " +
                          shq(dir / "blob"))
                          .status == 0);
            }
        check_with_git(repo);
    }
    SECTION("a short or long write is refused, and nothing is left") {
        auto bp = pack::BlobPack::create(repo / "objects/pack", 10, 0);
        REQUIRE(bp);
        REQUIRE(bp->write("12345", 5));
        CHECK_FALSE(bp->finish());
        auto over = pack::BlobPack::create(repo / "objects/pack", 3, 0);
        REQUIRE(over);
        CHECK_FALSE(over->write("12345", 5));
    }
    CHECK(run("ls " + shq(repo / "objects/pack") + " | grep -c tmp_").output == "0\n");
}

// A ledger grown by `runs` packing runs of 20 records in 40 folders (records/print/ab/<xx>),
// each run's objects loose before it, as appends leave them; checked by stock git.
fs::path runs_in_folders(const TempDir& d, std::mt19937& rng, int runs) {
    fs::path repo = d / "ledger.git";
    REQUIRE(run("git init -q --bare " + shq(repo)).status == 0);
    Repo r(repo);
    for (int k = 0, at = 1; k < runs; ++k, at += 20) {
        import_loose(repo, chain_stream(rng, at, 20, at > 1, 40), d.path());
        REQUIRE(pack::run(r.raw, repo));
    }
    check_with_git(repo);
    return repo;
}

TEST_CASE("pack: folders' versions are deltas across groups of runs, within a depth a printer agent reads fast",
          "[pack]") {
    // Records in 40 folders, 20 a run: each run touches half of them. A group of about
    // eight runs, each merging the pack of the one before, starts every folder whole
    // again, with a hint; merging the groups' packs links them, within k_max_cross_depth.
    // At 10, the fan-out folders of a large ledger were stored whole again every few
    // groups (204 bytes a record at 200k records, 167 at 50).
    std::mt19937 rng(23);
    TempDir d("dvi-pack-depth");
    fs::path repo = runs_in_folders(d, rng, 64);
    // The newest version of each folder: what a printer agent reads.
    auto newest = lines_of("git -C " + shq(repo) + " ls-tree --format='%(objectname)' main:records/print/ab");
    REQUIRE(newest.size() == 40);
    std::size_t whole = 0, deepest = 0;
    for (auto& e : pack_listing(shq(repo) + "/objects/pack/pack-*.idx")) {
        if (e.type == "tree" && e.base.empty()) ++whole;
        if (newest.count(e.id)) deepest = std::max(deepest, static_cast<std::size_t>(e.depth));
    }
    INFO(whole << " folders stored whole; the newest versions at most " << deepest << " deltas deep");
    CHECK(whole <= 262);  // 279 with a depth of 10
    CHECK(deepest < 50);
}

TEST_CASE("pack: a folder linked across groups of runs past k_max_cross_depth is a delta against an older version",
          "[pack]") {
    // 200 runs of 20 records in 40 folders (records/print/ab/<xx>): 100 versions a
    // folder, linked across groups of runs until the version before is 50 deltas deep;
    // the next group's first version is then a delta against a version at half that
    // depth or less, many versions older, rather than whole (6 KB for a fan-out folder
    // of a large ledger).
    std::mt19937 rng(29);
    TempDir d("dvi-pack-jump");
    fs::path repo = runs_in_folders(d, rng, 200);
    // Each folder's versions, newest first, and each version's place among them.
    std::map<std::string, std::pair<std::string, std::size_t>> place;  // id -> folder, place
    std::istringstream objects(run("git -C " + shq(repo) + " rev-list --objects main").output);
    std::map<std::string, std::size_t> count;
    for (std::string l; std::getline(objects, l);) {
        auto sp = l.find(' ');
        if (sp == std::string::npos || l.size() != sp + 1 + 19 || l.compare(sp + 1, 17, "records/print/ab/") != 0)
            continue;
        std::string folder = l.substr(sp + 1);
        place.emplace(l.substr(0, sp), std::make_pair(folder, count[folder]++));
    }
    REQUIRE(count.size() == 40);
    std::size_t whole = 0, jumps = 0;
    int deepest = 0;
    for (auto& e : pack_listing(shq(repo) + "/objects/pack/pack-*.idx")) {
        auto v = place.find(e.id);
        if (v == place.end()) continue;
        deepest = std::max(deepest, e.depth);
        if (e.base.empty()) {
            ++whole;
            continue;
        }
        auto b = place.find(e.base);
        REQUIRE(b != place.end());
        CHECK(b->second.first == v->second.first);               // a version of the same folder
        if (b->second.second >= v->second.second + 20) ++jumps;  // 20 versions older or more
    }
    INFO(place.size() << " versions, " << whole << " whole, " << jumps << " deltas against a version 20 or more older, "
                      << deepest << " deep at most");
    CHECK(jumps >= 5);
    CHECK(whole <= 225);  // 240 against the version before only
    CHECK(deepest < 100);
}
