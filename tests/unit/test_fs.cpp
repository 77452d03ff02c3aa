// util/fs: bounded reads, atomic private writes and confinement of manifest paths,
// on real files, folders, FIFOs and symbolic links in a scratch folder.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <future>
#include <set>

#include "dvi/util/fs.hpp"
#include "helpers.hpp"

using namespace dvi;
using dvi_test::TempDir;
namespace fs = std::filesystem;

namespace {

std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

// Sets the umask for the lifetime of the object.
struct UmaskGuard {
    mode_t saved;
    explicit UmaskGuard(mode_t m) : saved(::umask(m)) {}
    ~UmaskGuard() { ::umask(saved); }
};

}  // namespace

// ---- read_file ----

TEST_CASE("read_file returns the exact bytes, including NULs and a final missing newline") {
    TempDir t;
    std::string data("line 1\n\0binary\xff\xfe", 16);
    dvi_test::write_text(t / "f.bin", data);
    auto r = util::read_file(t / "f.bin", 1024);
    REQUIRE(r.ok());
    CHECK(*r == data);

    dvi_test::write_text(t / "empty", "");
    auto e = util::read_file(t / "empty", 0);
    REQUIRE(e.ok());
    CHECK(e->empty());
}

TEST_CASE("read_file enforces its size limit exactly") {
    TempDir t;
    dvi_test::write_text(t / "f", std::string(100, 'x'));
    auto at_limit = util::read_file(t / "f", 100);
    REQUIRE(at_limit.ok());
    CHECK(at_limit->size() == 100);

    auto over = util::read_file(t / "f", 99);
    REQUIRE_FALSE(over.ok());
    CHECK(over.error().code == Errc::invalid_input);
    CHECK_THAT(over.error().message, Catch::Contains("too large") && Catch::Contains((t / "f").string()) &&
                                         Catch::Contains("100 bytes") && Catch::Contains("limit 99"));
}

TEST_CASE("read_file reports a missing file as not_found and a folder as invalid input") {
    TempDir t;
    auto missing = util::read_file(t / "nope.yaml", 1024);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == Errc::not_found);
    CHECK_THAT(missing.error().message, Catch::Contains("nope.yaml"));

    auto under_file = util::read_file(t / "nope.yaml" / "x", 1024);
    REQUIRE_FALSE(under_file.ok());
    CHECK(under_file.error().code == Errc::not_found);

    auto dir = util::read_file(t.path(), 1024);
    REQUIRE_FALSE(dir.ok());
    CHECK(dir.error().code == Errc::invalid_input);
    CHECK_THAT(dir.error().message, Catch::Contains("not a regular file"));
}

TEST_CASE("read_file refuses a FIFO without waiting for a writer") {
    TempDir t;
    fs::path fifo = t / "pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto fut = std::async(std::launch::async, [&] { return util::read_file(fifo, 1024); });
    bool finished = fut.wait_for(std::chrono::seconds(3)) == std::future_status::ready;
    if (!finished) {
        // Unblock the reader so the test can end, then fail.
        int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd >= 0) ::close(fd);
    }
    CHECK(finished);
    auto r = fut.get();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Errc::invalid_input);
    CHECK_THAT(r.error().message, Catch::Contains("not a regular file"));
}

// ---- write_file_atomic ----

TEST_CASE("write_file_atomic writes the data with exactly the requested mode, whatever the umask") {
    TempDir t;
    UmaskGuard strict(077);
    REQUIRE(util::write_file_atomic(t / "key", "secret", util::FileMode::private_0600, util::Overwrite::no).ok());
    CHECK(dvi_test::read_text(t / "key") == "secret");
    CHECK(dvi_test::mode_of(t / "key") == 0600);

    REQUIRE(util::write_file_atomic(t / "pub", "public\n", util::FileMode::public_0644, util::Overwrite::no).ok());
    CHECK(dvi_test::mode_of(t / "pub") == 0644);  // not narrowed by the umask

    UmaskGuard lax(0);
    REQUIRE(util::write_file_atomic(t / "key2", "s", util::FileMode::private_0600, util::Overwrite::no).ok());
    CHECK(dvi_test::mode_of(t / "key2") == 0600);  // not widened either
}

TEST_CASE("write_file_atomic with Overwrite::no refuses an existing file and leaves it untouched") {
    TempDir t;
    dvi_test::write_text(t / "f", "original", 0644);
    auto st = util::write_file_atomic(t / "f", "new", util::FileMode::private_0600, util::Overwrite::no);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == Errc::invalid_input);
    CHECK_THAT(st.error().message, Catch::Contains("refusing to overwrite"));
    CHECK_FALSE(st.error().hint.empty());
    CHECK(dvi_test::read_text(t / "f") == "original");
    CHECK(dvi_test::mode_of(t / "f") == 0644);

    // A dangling symbolic link counts as existing: it is not followed.
    fs::create_symlink(t / "target-that-does-not-exist", t / "link");
    auto via_link = util::write_file_atomic(t / "link", "x", util::FileMode::private_0600, util::Overwrite::no);
    REQUIRE_FALSE(via_link.ok());
    CHECK(via_link.error().code == Errc::invalid_input);
    CHECK_FALSE(fs::exists(t / "target-that-does-not-exist"));

    CHECK(names_in(t.path()) == std::set<std::string>{"f", "link"});
}

TEST_CASE("write_file_atomic with Overwrite::yes replaces content and mode") {
    TempDir t;
    dvi_test::write_text(t / "f", "a much longer original content", 0644);
    REQUIRE(util::write_file_atomic(t / "f", "short", util::FileMode::private_0600, util::Overwrite::yes).ok());
    CHECK(dvi_test::read_text(t / "f") == "short");
    CHECK(dvi_test::mode_of(t / "f") == 0600);
    // and creates a file that does not exist yet
    REQUIRE(util::write_file_atomic(t / "g", "", util::FileMode::public_0644, util::Overwrite::yes).ok());
    CHECK(fs::file_size(t / "g") == 0);
}

TEST_CASE("write_file_atomic with Overwrite::yes writes a FIFO in place, and a link to it") {
    TempDir t;
    fs::path fifo = t / "pipe";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    fs::create_symlink(fifo, t / "link");  // as /dev/stdout is a link to /proc/self/fd/1
    using Kind = util::OutputTarget::Kind;
    CHECK(util::output_target(fifo).kind == Kind::special);
    CHECK(util::output_target(t / "link").kind == Kind::special);
    dvi_test::write_text(t / "f", "x", 0644);
    CHECK(util::output_target(t / "f").kind == Kind::file);
    CHECK(util::output_target(t / "missing").kind == Kind::file);

    for (const char* target : {"pipe", "link"}) {
        // The reading end, open before the write and never waiting: what a rename over
        // the FIFO would hide from it, it does not get.
        int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        REQUIRE(reader >= 0);
        REQUIRE(util::write_file_atomic(t / target, "the report\n", util::FileMode::public_0644, util::Overwrite::yes)
                    .ok());
        char buf[64];
        const ssize_t n = ::read(reader, buf, sizeof buf);
        ::close(reader);
        CHECK(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0) == "the report\n");
        // Still the FIFO and the link: renaming a temporary file over them replaced them
        // with regular files (with /dev/null, a system's).
        CHECK(fs::is_fifo(fs::symlink_status(fifo)));
        CHECK(fs::is_symlink(fs::symlink_status(t / "link")));
    }
    CHECK(names_in(t.path()) == std::set<std::string>{"f", "link", "pipe"});
}

TEST_CASE("write_file_atomic with Overwrite::yes writes through standard error when the path is its file") {
    TempDir t;
    const int saved = ::dup(STDERR_FILENO);
    REQUIRE(saved >= 0);
    // Standard error appends to a regular file, as `2>>log` does: the write goes through
    // it, after what is there, instead of replacing the file.
    dvi_test::write_text(t / "log", "before\n", 0644);
    int log = ::open((t / "log").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    REQUIRE(log >= 0);
    REQUIRE(::dup2(log, STDERR_FILENO) == STDERR_FILENO);
    ::close(log);
    const auto st =
        util::write_file_atomic("/proc/self/fd/2", "report\n", util::FileMode::public_0644, util::Overwrite::yes);
    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    REQUIRE(st.ok());
    CHECK(dvi_test::read_text(t / "log") == "before\nreport\n");
    CHECK(fs::is_symlink(fs::symlink_status("/proc/self/fd/2")));
}

TEST_CASE("write_file_atomic leaves no temporary files behind") {
    TempDir t;
    for (int i = 0; i < 5; ++i) {
        auto name = "f" + std::to_string(i);
        REQUIRE(util::write_file_atomic(t / name, std::string(10000, 'a'), util::FileMode::private_0600,
                                        util::Overwrite::no)
                    .ok());
        REQUIRE(util::write_file_atomic(t / name, "b", util::FileMode::private_0600, util::Overwrite::yes).ok());
        CHECK_FALSE(util::write_file_atomic(t / name, "c", util::FileMode::private_0600, util::Overwrite::no).ok());
    }
    CHECK(names_in(t.path()) == std::set<std::string>{"f0", "f1", "f2", "f3", "f4"});

    // A failed write (missing folder) leaves nothing either.
    auto st = util::write_file_atomic(t / "missing" / "f", "x", util::FileMode::private_0600, util::Overwrite::no);
    REQUIRE_FALSE(st.ok());
    CHECK(st.error().code == Errc::not_found);
    CHECK(names_in(t.path()).size() == 5);
}

TEST_CASE("quote wraps a path in single quotes") {
    CHECK(util::quote("a b/c.yaml") == "'a b/c.yaml'");
    CHECK(util::quote("") == "''");
    // A control character cannot forge a line of a message or act on a terminal.
    CHECK(util::quote("a.stl\nb") == "'a.stl\\nb'");
    CHECK(util::quote("x\ty") == "'x\\ty'");
    CHECK(util::quote("red\x1b[31m") == "'red\\x1b[31m'");
    CHECK(util::quote(std::string("del\x7f", 4)) == "'del\\x7f'");
    CHECK(util::quote("rtl\xe2\x80\xae"
                      "fdp.exe") == "'rtl\\u202Efdp.exe'");
    CHECK(util::quote("Pr\xc3\xbc"
                      "fbericht.pdf") ==
          "'Pr\xc3\xbc"
          "fbericht.pdf'");  // UTF-8 stays as it is
}

// ---- resolve_confined ----

namespace {
// base/a.txt, base/sub/b.txt, outside/secret.txt, base2/f.txt and links:
//   base/in      -> a.txt            (inside)
//   base/indir   -> sub              (inside, a folder)
//   base/out     -> ../outside/secret.txt
//   base/outdir  -> ../outside
//   base/abs     -> <absolute>/outside/secret.txt
//   base/prefix  -> ../base2/f.txt   (a sibling whose name starts with "base")
//   base/dangling-> nowhere
struct Tree {
    TempDir t{"dvi-unit-fs"};
    fs::path base = t / "base";
    Tree() {
        fs::create_directories(base / "sub");
        fs::create_directories(t / "outside");
        fs::create_directories(t / "base2");
        dvi_test::write_text(base / "a.txt", "a");
        dvi_test::write_text(base / "sub" / "b.txt", "b");
        dvi_test::write_text(t / "outside" / "secret.txt", "secret");
        dvi_test::write_text(t / "base2" / "f.txt", "f");
        fs::create_symlink("a.txt", base / "in");
        fs::create_directory_symlink("sub", base / "indir");
        fs::create_symlink("../outside/secret.txt", base / "out");
        fs::create_directory_symlink("../outside", base / "outdir");
        fs::create_symlink(t / "outside" / "secret.txt", base / "abs");
        fs::create_symlink("../base2/f.txt", base / "prefix");
        fs::create_symlink("nowhere", base / "dangling");
    }
};

void require_refused(const Result<fs::path>& r, Errc code, const char* what) {
    INFO(what);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == code);
}
}  // namespace

TEST_CASE("resolve_confined accepts relative paths to regular files inside the folder") {
    Tree tr;
    auto a = util::resolve_confined(tr.base, "a.txt");
    REQUIRE(a.ok());
    CHECK(*a == fs::canonical(tr.base / "a.txt"));
    CHECK(a->is_absolute());

    auto b = util::resolve_confined(tr.base, "sub/b.txt");
    REQUIRE(b.ok());
    CHECK(*b == fs::canonical(tr.base / "sub" / "b.txt"));

    auto dotted = util::resolve_confined(tr.base, "./sub/./b.txt");
    REQUIRE(dotted.ok());
    CHECK(*dotted == *b);

    // A base given through a symbolic link is fine: confinement is to its real folder.
    fs::create_directory_symlink(tr.base, tr.t / "base-link");
    auto via = util::resolve_confined(tr.t / "base-link", "sub/b.txt");
    REQUIRE(via.ok());
    CHECK(*via == *b);
}

TEST_CASE("resolve_confined accepts symbolic links that stay inside the folder") {
    Tree tr;
    auto in = util::resolve_confined(tr.base, "in");
    REQUIRE(in.ok());
    CHECK(*in == fs::canonical(tr.base / "a.txt"));

    auto indir = util::resolve_confined(tr.base, "indir/b.txt");
    REQUIRE(indir.ok());
    CHECK(*indir == fs::canonical(tr.base / "sub" / "b.txt"));
}

TEST_CASE("resolve_confined refuses absolute paths and any '..'") {
    Tree tr;
    require_refused(util::resolve_confined(tr.base, (tr.base / "a.txt").string()), Errc::invalid_input,
                    "absolute inside");
    require_refused(util::resolve_confined(tr.base, "/etc/passwd"), Errc::invalid_input, "absolute outside");
    require_refused(util::resolve_confined(tr.base, "../outside/secret.txt"), Errc::invalid_input, "leading ..");
    require_refused(util::resolve_confined(tr.base, "sub/../a.txt"), Errc::invalid_input, ".. that stays inside");
    require_refused(util::resolve_confined(tr.base, "sub/../../outside/secret.txt"), Errc::invalid_input,
                    ".. that leaves");
    require_refused(util::resolve_confined(tr.base, ".."), Errc::invalid_input, "bare ..");
    require_refused(util::resolve_confined(tr.base, ""), Errc::invalid_input, "empty");
    require_refused(util::resolve_confined(tr.base, "sub\\b.txt"), Errc::invalid_input, "backslash");
    require_refused(util::resolve_confined(tr.base, std::string("a.txt\0x", 7)), Errc::invalid_input, "NUL");

    auto r = util::resolve_confined(tr.base, "../outside/secret.txt");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "path '../outside/secret.txt' leaves the manifest's folder");
    auto inside = util::resolve_confined(tr.base, "sub/../a.txt");
    REQUIRE_FALSE(inside.ok());
    CHECK(inside.error().message == "path 'sub/../a.txt' goes through '..': name the file without it");
}

TEST_CASE("resolve_confined refuses symbolic links that lead out of the folder") {
    Tree tr;
    require_refused(util::resolve_confined(tr.base, "out"), Errc::invalid_input, "relative link to a file outside");
    require_refused(util::resolve_confined(tr.base, "abs"), Errc::invalid_input, "absolute link to a file outside");
    require_refused(util::resolve_confined(tr.base, "outdir/secret.txt"), Errc::invalid_input,
                    "file inside a linked folder outside");
    require_refused(util::resolve_confined(tr.base, "prefix"), Errc::invalid_input,
                    "link to a sibling folder sharing the name prefix");
    auto r = util::resolve_confined(tr.base, "out");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("symbolic link"));
}

TEST_CASE("resolve_confined reports missing files as not_found and refuses folders") {
    Tree tr;
    require_refused(util::resolve_confined(tr.base, "missing.txt"), Errc::not_found, "missing file");
    require_refused(util::resolve_confined(tr.base, "nodir/x.txt"), Errc::not_found, "missing folder");
    require_refused(util::resolve_confined(tr.base, "dangling"), Errc::not_found, "dangling link");
    require_refused(util::resolve_confined(tr.base, "sub"), Errc::invalid_input, "a folder");
    require_refused(util::resolve_confined(tr.base, "indir"), Errc::invalid_input, "a link to a folder");
    require_refused(util::resolve_confined(tr.base, "."), Errc::invalid_input, "the folder itself");
    auto r = util::resolve_confined(tr.base, "sub");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains("not a regular file"));

    require_refused(util::resolve_confined(tr.t / "no-such-base", "a.txt"), Errc::not_found, "missing base");
}

TEST_CASE("FileLock excludes a second holder until the first is gone") {
    dvi_test::TempDir t("dvi-lock");
    fs::path file = t / "sub" / "a.lock";
    {
        auto first = util::FileLock::acquire(file, std::chrono::milliseconds(0));
        REQUIRE(first.ok());
        auto second = util::FileLock::acquire(file, std::chrono::milliseconds(50));
        REQUIRE_FALSE(second.ok());
        CHECK(second.error().code == Errc::conflict);
        CHECK_THAT(second.error().message, Catch::Contains("is held by another process"));
    }
    CHECK(util::FileLock::acquire(file, std::chrono::milliseconds(0)).ok());
}

TEST_CASE("release_mappings_under gives back the pages of read-only mappings in a folder, and only those") {
    TempDir t;
    fs::create_directories(t.path() / "pack");
    const std::size_t size = std::size_t{16} << 20;
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 7919) >> 3);
    REQUIRE(util::write_file_atomic(t.path() / "pack" / "a.idx", data, util::FileMode::public_0644, util::Overwrite::no));
    REQUIRE(util::write_file_atomic(t.path() / "other.idx", data, util::FileMode::public_0644, util::Overwrite::no));
    auto map = [&](const fs::path& p) {
        int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
        ::close(fd);
        REQUIRE(m != MAP_FAILED);
        return static_cast<const unsigned char*>(m);
    };
    const unsigned char* inside = map(t.path() / "pack" / "a.idx");
    const unsigned char* outside = map(t.path() / "other.idx");
    auto touch = [&](const unsigned char* m) {
        std::size_t sum = 0;
        for (std::size_t i = 0; i < size; i += 4096) sum += m[i];
        return sum;
    };
    const std::size_t before = util::resident_bytes().files;
    const std::size_t sum = touch(inside);
    REQUIRE(touch(outside) == sum);
    const std::size_t touched = util::resident_bytes().files;
    CHECK(touched >= before + 2 * size - (std::size_t{1} << 20));

    CHECK(util::release_mappings_under(t.path() / "pack") == size);
    const std::size_t after = util::resident_bytes().files;
    CHECK(after + size - (std::size_t{1} << 20) <= touched);  // the folder's mapping only
    CHECK(after >= before + size - (std::size_t{1} << 20));
    CHECK(touch(inside) == sum);  // read again, the same bytes
    CHECK(std::memcmp(inside, data.data(), size) == 0);
    ::munmap(const_cast<unsigned char*>(inside), size);
    ::munmap(const_cast<unsigned char*>(outside), size);
    CHECK(util::release_mappings_under(t.path() / "pack") == 0);
}
