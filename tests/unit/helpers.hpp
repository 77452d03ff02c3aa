// Small helpers shared by the unit tests: a scratch folder that cleans up after itself,
// running a real command through the shell and capturing what it prints, and file I/O.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dvi_test {

namespace fs = std::filesystem;

// A fresh, uniquely named folder under the system temp dir, removed with everything in it.
class TempDir {
public:
    explicit TempDir(std::string_view tag = "dvi-unit") {
        std::random_device rd;
        for (int attempt = 0; attempt < 100; ++attempt) {
            fs::path p = fs::temp_directory_path() /
                         (std::string(tag) + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
            std::error_code ec;
            if (fs::create_directory(p, ec) && !ec) {
                m_path = p;
                return;
            }
        }
        throw std::runtime_error("cannot create a temporary folder");
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(m_path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const fs::path& path() const { return m_path; }
    fs::path operator/(const fs::path& p) const { return m_path / p; }

private:
    fs::path m_path;
};

// Single-quotes `s` for /bin/sh.
inline std::string shq(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}
inline std::string shq(const std::string& s) { return shq(std::string_view(s)); }
inline std::string shq(const char* s) { return shq(std::string_view(s)); }
inline std::string shq(const fs::path& p) { return shq(std::string_view(p.native())); }

struct CommandResult {
    int status = -1;     // exit status, or -1 if the command did not exit normally
    std::string output;  // stdout (and stderr when asked for)
};

// Runs `command` with /bin/sh and captures its standard output; with `merge_stderr`,
// standard error too.
inline CommandResult run(const std::string& command, bool merge_stderr = true) {
    CommandResult r;
    std::string full = "(" + command + ")" + (merge_stderr ? " 2>&1" : "");
    FILE* p = ::popen(full.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
    int st = ::pclose(p);
    r.status = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    return r;
}

inline void write_text(const fs::path& path, std::string_view data, unsigned mode = 0644) {
    {
        std::ofstream f(path, std::ios::binary | std::ios::trunc);
        if (!f) throw std::runtime_error("cannot write " + path.string());
        f.write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    fs::permissions(path, static_cast<fs::perms>(mode), fs::perm_options::replace);
}

inline std::string read_text(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The permission bits of `path` (e.g. 0600), without following a final symlink.
inline unsigned mode_of(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return 0xffffffffu;
    return static_cast<unsigned>(st.st_mode & 07777);
}

// `s` without trailing new lines and spaces.
inline std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

}  // namespace dvi_test
