// Replays fuzz inputs without libFuzzer: the gcc build links each fuzz target with this
// driver, so CTest runs every seed and every saved crash through the same code the fuzzer
// exercises (label fuzz-replay).
//   fuzz_<name> <dir or file>...
// Each regular file (in a directory: each one whose name does not start with '.') is
// read whole and given to LLVMFuzzerTestOneInput once, in name order. A crash or abort
// ends the run with the input's name printed last; exit 0 means every input passed.
// Memory is capped at 2 GiB as libFuzzer's -rss_limit_mb=2048 caps it (by RLIMIT_AS, or
// under ASan, which maps terabytes of shadow, by its hard_rss_limit_mb: see CMakeLists.txt),
// so that an input that eats memory fails the test instead of the machine.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace fs = std::filesystem;

namespace {

bool read_all(const fs::path& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return !f.bad();
}

}  // namespace

int main(int argc, char** argv) {
#if !defined(__SANITIZE_ADDRESS__)
    const rlimit cap{rlim_t{2048} << 20, rlim_t{2048} << 20};
    if (::setrlimit(RLIMIT_AS, &cap) != 0) std::perror("replay: setrlimit");
#endif
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    std::vector<fs::path> inputs;
    for (int i = 1; i < argc; ++i) {
        fs::path arg = argv[i];
        std::error_code ec;
        if (fs::is_directory(arg, ec)) {
            for (auto& e : fs::directory_iterator(arg, ec))
                if (e.is_regular_file(ec) && e.path().filename().string().front() != '.') inputs.push_back(e.path());
            if (ec) {
                std::fprintf(stderr, "replay: cannot list %s: %s\n", arg.c_str(), ec.message().c_str());
                return 2;
            }
        } else if (fs::is_regular_file(arg, ec)) {
            inputs.push_back(arg);
        } else {
            std::fprintf(stderr, "replay: no such file or directory: %s\n", arg.c_str());
            return 2;
        }
    }
    std::sort(inputs.begin(), inputs.end());
    std::string data;
    for (auto& p : inputs) {
        if (!read_all(p, data)) {
            std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
            return 2;
        }
        std::fprintf(stderr, "replay: %s (%zu bytes)\n", p.c_str(), data.size());
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    }
    std::fprintf(stderr, "replay: %zu inputs passed\n", inputs.size());
    return 0;
}
