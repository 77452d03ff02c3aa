// passport and its ustar container: archives written by util::tar_write read back by
// GNU tar and by tar_read, byte for byte the same for the same input; the reader's
// refusals (links, extension headers, unsafe names, limits, truncation); the commit
// split that `ssh-keygen -Y verify` checks; and passports that are not passports.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>

#include "dvi/crypto.hpp"
#include "dvi/passport.hpp"
#include "dvi/util/tar.hpp"
#include "helpers.hpp"

using namespace dvi;
using dvi_test::read_text;
using dvi_test::run;
using dvi_test::shq;
using dvi_test::TempDir;
using dvi_test::write_text;

namespace {

std::vector<util::TarEntry> sample() {
    return {{"passport.json", "{}\n"},
            {"records/ab.json", std::string(512, 'x')},
            {"empty", ""},
            {"artifacts/big", std::string(1500, '\x01')}};
}

// The reader's error for an archive, or "" when it reads.
std::string refusal(std::string_view archive, const util::TarLimits& limits = {}) {
    auto r = util::tar_read(archive, limits);
    return r ? std::string() : r.error().message;
}

// A header of `archive` at `offset` with its checksum recomputed after an edit.
void fix_checksum(std::string& archive, std::size_t offset) {
    std::memset(&archive[offset + 148], ' ', 8);
    unsigned sum = 0;
    for (std::size_t i = 0; i < 512; ++i) sum += static_cast<unsigned char>(archive[offset + i]);
    std::snprintf(&archive[offset + 148], 8, "%06o", sum);
    archive[offset + 155] = ' ';
}

}  // namespace

TEST_CASE("tar_write is deterministic and tar_read reads it back", "[passport]") {
    auto a = util::tar_write(sample(), 1795000000);
    auto b = util::tar_write(sample(), 1795000000);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a == *b);
    CHECK(a->size() % 10240 == 0);
    auto c = util::tar_write(sample(), 1795000001);
    REQUIRE(c);
    CHECK(*a != *c);
    auto back = util::tar_read(*a);
    REQUIRE(back);
    REQUIRE(back->size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK((*back)[i].name == sample()[i].name);
        CHECK((*back)[i].data == sample()[i].data);
    }
}

TEST_CASE("GNU tar lists and extracts what tar_write writes, and tar_read reads GNU tar's ustar", "[passport]") {
    TempDir dir("dvi-tar");
    auto a = util::tar_write(sample(), 1795000000);
    REQUIRE(a);
    write_text(dir.path() / "a.tar", *a);
    auto list = run("TZ=UTC tar --numeric-owner --full-time -tvf " + shq(dir.path() / "a.tar") + " | head -1");
    CHECK(list.status == 0);
    CHECK(list.output.rfind("-rw-r--r-- 0/0", 0) == 0);
    CHECK(list.output.find("2026-11-18 11:06:40 passport.json") != std::string::npos);
    auto x = run("mkdir " + shq(dir.path() / "x") + " && tar -xf " + shq(dir.path() / "a.tar") + " -C " +
                 shq(dir.path() / "x"));
    REQUIRE(x.status == 0);
    CHECK(read_text(dir.path() / "x" / "artifacts" / "big") == std::string(1500, '\x01'));
    auto repack = run("tar --format=ustar -cf " + shq(dir.path() / "b.tar") + " -C " + shq(dir.path() / "x") + " .");
    REQUIRE(repack.status == 0);
    auto back = util::tar_read(read_text(dir.path() / "b.tar"));
    REQUIRE(back);
    CHECK(back->size() == 4);  // "./" prefixes and directory entries are dropped
    auto pax = run("cd " + shq(dir.path() / "x") + " && tar --format=pax -cf ../c.tar passport.json");
    REQUIRE(pax.status == 0);
    CHECK(refusal(read_text(dir.path() / "c.tar")) ==
          "'./PaxHeaders/passport.json': extension headers (pax or GNU) are not allowed");
}

TEST_CASE("tar names: plain relative paths only", "[passport]") {
    CHECK(util::tar_name_ok("records/ab.json"));
    CHECK(util::tar_name_ok("SHA256SUMS"));
    CHECK_FALSE(util::tar_name_ok(""));
    CHECK_FALSE(util::tar_name_ok("/etc/passwd"));
    CHECK_FALSE(util::tar_name_ok("../x"));
    CHECK_FALSE(util::tar_name_ok("a/../../x"));
    CHECK_FALSE(util::tar_name_ok("a//b"));
    CHECK_FALSE(util::tar_name_ok("a/./b"));
    CHECK_FALSE(util::tar_name_ok("a/"));
    CHECK_FALSE(util::tar_name_ok("a b"));
    CHECK_FALSE(util::tar_name_ok("a\\b"));
    CHECK_FALSE(util::tar_name_ok(std::string(101, 'a')));
    CHECK(util::tar_name_ok(std::string(100, 'a')));
    auto bad = util::tar_write({{"../x", "y"}}, 0);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "cannot archive '../x': not a plain relative name of 1-100 bytes");
    auto twice = util::tar_write({{"a", "1"}, {"a", "2"}}, 0);
    REQUIRE_FALSE(twice);
    CHECK(twice.error().message == "cannot archive 'a' twice");
}

TEST_CASE("tar_read refuses hostile archives", "[passport]") {
    auto good = *util::tar_write(sample(), 0);
    SECTION("limits") {
        CHECK(refusal(good, {3, 1 << 20, 1 << 20}) == "more than 3 entries");
        CHECK(refusal(good, {10, 1000, 1 << 20}) == "'artifacts/big': 1500 bytes, over the limit of 1000");
        CHECK(refusal(good, {10, 1 << 20, 2000}) == "more than 2000 bytes of entries");
        CHECK(refusal(good).empty());
    }
    SECTION("truncation") {
        CHECK(refusal(good.substr(0, 100)) == "not a tar archive (shorter than one header)");
        CHECK(refusal(good.substr(0, 520)) == "truncated archive: 'passport.json' is cut short");
        CHECK(refusal(good.substr(0, 1024)) == "truncated archive: it ends without its two zero blocks");
    }
    SECTION("header checksums and magic") {
        std::string bad = good;
        bad[0] = 'q';
        CHECK(refusal(bad) == "not a tar archive (bad header checksum)");
        bad = good;
        bad[1024 + 1] = 'Q';  // second header
        CHECK(refusal(bad) == "entry 2: bad header checksum");
        bad = good;
        bad[257] = 'x';
        fix_checksum(bad, 0);
        CHECK(refusal(bad) == "entry 1: not a ustar header");
        CHECK(refusal(std::string(10240, '\xff')) == "not a tar archive (bad header checksum)");
    }
    SECTION("links, devices and names") {
        std::string bad = good;
        bad[156] = '2';
        fix_checksum(bad, 0);
        CHECK(refusal(bad) == "'passport.json': only regular files are allowed (type '2')");
        bad[156] = '1';
        fix_checksum(bad, 0);
        CHECK(refusal(bad) == "'passport.json': only regular files are allowed (type '1')");
        bad[156] = 'L';
        fix_checksum(bad, 0);
        CHECK(refusal(bad) == "'passport.json': extension headers (pax or GNU) are not allowed");
        bad = good;
        std::memcpy(&bad[0], "../passport.js", 14);
        fix_checksum(bad, 0);
        CHECK(refusal(bad) == "'../passport.js': unsafe path (absolute, '..', empty or unusual characters)");
        bad = good;
        std::memcpy(&bad[345], "/etc", 4);  // the prefix field
        fix_checksum(bad, 0);
        CHECK(refusal(bad) == "'/etc/passport.json': unsafe path (absolute, '..', empty or unusual characters)");
        bad = good;
        std::memcpy(&bad[124], "\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 12);  // base-256 size
        fix_checksum(bad, 0);
        CHECK(refusal(bad) == "'passport.json': bad size field");
    }
}

TEST_CASE("split_commit gives what git signed and the armored signature", "[passport]") {
    std::string raw =
        "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
        "author a/b <b@a> 1795000000 +0000\n"
        "committer a/b <b@a> 1795000000 +0000\n"
        "gpgsig -----BEGIN SSH SIGNATURE-----\n"
        " U1NIU0lH\n"
        " -----END SSH SIGNATURE-----\n"
        "\n"
        "summary\n\nDvi-Record: sha256:00\n";
    auto s = split_commit(raw);
    CHECK(s.payload ==
          "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
          "author a/b <b@a> 1795000000 +0000\n"
          "committer a/b <b@a> 1795000000 +0000\n"
          "\n"
          "summary\n\nDvi-Record: sha256:00\n");
    CHECK(s.signature == "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n");
    // A message line that looks like a header stays in the payload.
    auto m = split_commit("tree 0\n\ngpgsig x\n more\n");
    CHECK(m.payload == "tree 0\n\ngpgsig x\n more\n");
    CHECK(m.signature.empty());
    // Git's object id of a commit: SHA-1 over "commit <size>\0" and the bytes.
    auto git = run("printf '%s' " + shq(raw) + " | git hash-object -t commit --stdin --literally");
    CHECK(dvi_test::trim(git.output) == crypto::git_object_id("commit", raw));
}

TEST_CASE("passport_verify_bytes: archives that are not passports are bad input", "[passport]") {
    auto plain = *util::tar_write({{"a.txt", "hello"}}, 0);
    auto r = passport_verify_bytes(plain, "x.tar", std::nullopt);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::invalid_input);
    CHECK(r.error().message == "'x.tar': no passport.json in it: not a part passport");
    auto other = *util::tar_write({{"passport.json", "{\"format\":\"dvi-passport@9\"}"}}, 0);
    r = passport_verify_bytes(other, "x.tar", std::nullopt);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "'x.tar': passport.json is not of format dvi-passport@1");
    r = passport_verify_bytes("junk", "x.tar", std::nullopt);
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "'x.tar': not a tar archive (shorter than one header)");
    r = passport_verify_bytes(plain, "x.tar", std::string("xyz"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "not a genesis id: 'xyz'");
    // An empty passport of the right format: every proof it lacks is a problem, not a crash.
    auto empty = *util::tar_write({{"passport.json", "{\"format\":\"dvi-passport@1\"}\n"}}, 0);
    auto e = passport_verify_bytes(empty, "e.tar", std::nullopt);
    REQUIRE(e);
    CHECK_FALSE(e->problems.empty());
    CHECK(e->problems.front().file == "SHA256SUMS");
}
