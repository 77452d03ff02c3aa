// The libgit2 seam: reads under a ReadCeiling on a real repository that stock git wrote,
// with objects above and below the ceiling, on this thread and on another; the system CA
// bundle that libgit2 would parse at start-up, left for the first https remote.
#include <catch2/catch.hpp>

#include <git2.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>

#include "git.hpp"
#include "helpers.hpp"

using namespace dvi;
using dvi_test::run;
using dvi_test::shq;
using dvi_test::TempDir;
using dvi_test::trim;

namespace {

// A repository that stock git wrote: a 2 MiB blob, a small commit and a commit whose
// message is 2 MiB (both under 100 KiB on disk, being zeros).
struct Repo {
    TempDir dir{"dvi-git"};
    git::Repository repo;
    git_oid big_blob{}, small_commit{}, big_commit{};
    std::string big_commit_size;  // as `git cat-file -s` says

    Repo() {
        git::ensure_init();
        const std::string g = "git -C " + shq(dir.path()) + " -c user.name=T -c user.email=t@example.com ";
        REQUIRE(run("git init -q --bare " + shq(dir.path())).status == 0);
        dvi_test::write_text(dir / "big", std::string(2u << 20, '0'));
        auto blob = run(g + "hash-object -w " + shq(dir / "big"), false);
        auto tree = run(g + "mktree </dev/null", false);
        auto small = run(g + "commit-tree -m small " + trim(tree.output), false);
        auto big = run(g + "commit-tree -F " + shq(dir / "big") + " " + trim(tree.output), false);
        REQUIRE((blob.status | tree.status | small.status | big.status) == 0);
        REQUIRE(git_oid_fromstr(&big_blob, trim(blob.output).c_str()) == 0);
        REQUIRE(git_oid_fromstr(&small_commit, trim(small.output).c_str()) == 0);
        REQUIRE(git_oid_fromstr(&big_commit, trim(big.output).c_str()) == 0);
        big_commit_size = trim(run(g + "cat-file -s " + trim(big.output), false).output);
        git_repository* r = nullptr;
        REQUIRE(git_repository_open(&r, dir.path().c_str()) == 0);
        repo.reset(r);
    }

    // Reads the big blob; true when libgit2 could.
    bool read_big_blob() {
        git_blob* b = nullptr;
        int rc = git_blob_lookup(&b, repo.get(), &big_blob);
        if (rc == 0) CHECK(git_blob_rawsize(b) == (2u << 20));
        git_blob_free(b);
        if (rc != 0) git_error_clear();
        return rc == 0;
    }
};

}  // namespace

TEST_CASE("ReadCeiling makes a read above it fail, for its scope and its thread only") {
    Repo r;
    {
        git::ReadCeiling ceiling(1u << 20);
        git_blob* b = nullptr;
        REQUIRE(git_blob_lookup(&b, r.repo.get(), &r.big_blob) != 0);
        CHECK_THAT(git_error_last()->message, Catch::Contains("out of memory", Catch::CaseSensitive::No));
        git_error_clear();
        // Another thread reads as it always did.
        CHECK(std::async(std::launch::async, [&] {
                  Repo other;
                  return other.read_big_blob();
              }).get());
        {
            git::ReadCeiling wider(64u << 20);  // an inner ceiling never lifts the outer one
            CHECK_FALSE(r.read_big_blob());
        }
        CHECK_FALSE(r.read_big_blob());
    }
    CHECK(r.read_big_blob());  // the scope has ended
    {
        git::ReadCeiling roomy(4u << 20);
        CHECK(r.read_big_blob());
    }
}

TEST_CASE("lookup_commit reads dvi-sized commits and says why a bomb is refused") {
    Repo r;
    auto small = git::lookup_commit(r.repo.get(), r.small_commit, "cannot read the small one");
    REQUIRE(small.ok());
    CHECK(std::string(git_commit_message(small->get())) == "small\n");

    auto big = git::lookup_commit(r.repo.get(), r.big_commit, "cannot read the big one");
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().code == Errc::bad_signature);
    CHECK(big.error().message == "commit " + git::oid_hex(r.big_commit) + " is " + r.big_commit_size +
                                     " bytes, more than dvi ever writes (1048576)");

    auto raw = git::read_commit(r.repo.get(), r.big_commit);
    REQUIRE_FALSE(raw.ok());
    CHECK(raw.error().message == big.error().message);

    git_oid missing;
    REQUIRE(git_oid_fromstr(&missing, "0123456789012345678901234567890123456789") == 0);
    auto none = git::lookup_commit(r.repo.get(), missing, "cannot read the missing one");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == Errc::not_found);
    CHECK_THAT(none.error().message, Catch::StartsWith("cannot read the missing one: "));
}

TEST_CASE("lookup_commit walks a chain long enough for libgit2's object cache to grow") {
    // The cache's table grows from 2^17 to 2^18 slots (2 MiB) at about 100,000 objects:
    // a growth refused under the ceiling once handed back the raw object as the commit.
    TempDir dir("dvi-git-long");
    constexpr int k_commits = 120000;
    REQUIRE(run("git init -q --bare " + shq(dir.path())).status == 0);
    {
        std::ofstream script(dir / "import");
        for (int i = 1; i <= k_commits; ++i) {
            const std::string msg = "c" + std::to_string(i) + "\n";
            script << "commit refs/heads/long\ncommitter T <t@example.com> " << 1700000000 + i << " +0000\ndata "
                   << msg.size() << "\n"
                   << msg << "\n";
        }
    }
    REQUIRE(run("git -C " + shq(dir.path()) + " fast-import --quiet < " + shq(dir / "import")).status == 0);
    git::ensure_init();
    git_repository* r = nullptr;
    REQUIRE(git_repository_open(&r, dir.path().c_str()) == 0);
    git::Repository repo(r);
    git_oid cur;
    REQUIRE(git_reference_name_to_id(&cur, repo.get(), "refs/heads/long") == 0);
    int seen = 0;
    for (int expected = k_commits; expected > 0; --expected) {
        auto c = git::lookup_commit(repo.get(), cur, "cannot read");
        REQUIRE(c.ok());
        ++seen;
        if (std::string(git_commit_message(c->get())) != "c" + std::to_string(expected) + "\n") {
            FAIL("commit " << seen << " from the tip has the message '" << git_commit_message(c->get()) << "'");
        }
        if (git_commit_parentcount(c->get()) == 0) break;
        cur = *git_commit_parent_id(c->get(), 0);
    }
    CHECK(seen == k_commits);
}

TEST_CASE("libgit2's start-up leaves the system's CA bundle for the first https remote") {
    git::ensure_init();
    // Debian's libgit2 1.5 does TLS with mbedTLS, which parsed the bundle in git_libgit2_init.
    std::string pending = git::tls_deferred_bundle();
    REQUIRE_FALSE(pending.empty());
    CHECK(std::filesystem::is_regular_file(pending));
    auto missing = git::load_tls_authorities(std::filesystem::path("/nonexistent/ca.pem"), std::nullopt);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::invalid_input);
    CHECK(missing.error().message.find("'/nonexistent/ca.pem'") != std::string::npos);
    CHECK(git::tls_deferred_bundle() == pending);  // still to load
    REQUIRE(git::load_tls_authorities(std::nullopt, std::nullopt));
    CHECK(git::tls_deferred_bundle().empty());
    CHECK(git::load_tls_authorities(std::nullopt, std::nullopt));  // once
    // Other locations are loaded in their place; the system's again after them.
    CHECK(git::load_tls_authorities(std::filesystem::path(pending), std::nullopt));
    CHECK(git::load_tls_authorities(std::nullopt, std::nullopt));
}
