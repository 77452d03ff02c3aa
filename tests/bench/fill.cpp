// Grows a benchmark ledger quickly: N allowed prints through the library's own
// print_verify (the same checks and records as `dvi print-verify`), without fsync.
//   dvi_bench_fill <ledger> <key.pem> <licence> <device> <material-lot> <count>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "dvi/keyfile.hpp"
#include "dvi/ledger.hpp"
#include "dvi/print.hpp"
#include "dvi/util/time.hpp"

int main(int argc, char** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: dvi_bench_fill <ledger> <key.pem> <licence> <device> <material-lot> <count>\n");
        return 129;
    }
    dvi::set_durability(dvi::Durability::relaxed);
    auto ledger = dvi::Ledger::open(argv[1]);
    auto key = dvi::key_load(argv[2], std::nullopt);
    if (!ledger || !key) {
        std::fprintf(stderr, "dvi_bench_fill: %s\n", (!ledger ? ledger.error() : key.error()).message.c_str());
        return 2;
    }
    long count = std::atol(argv[6]);
    dvi::PrintRequest req;
    req.license = argv[3];
    req.device = argv[4];
    req.material_lot = argv[5];
    req.time = 1795000000;  // 2026-11-18, or the test clock when it is set
    if (const char* now = std::getenv("DVI_TEST_DATE"))
        if (auto t = dvi::util::parse_time(now)) req.time = *t;
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < count; ++i) {
        auto out = dvi::print_verify(*ledger, *key, req);
        if (!out || !out->allowed) {
            std::fprintf(stderr, "dvi_bench_fill: print %ld: %s\n", i,
                         out ? out->message.c_str() : out.error().message.c_str());
            return 1;
        }
        if (std::getenv("DVI_FILL_TRACE") && (i + 1) % 250 == 0) {
            std::fprintf(stderr, "dvi_bench_fill: %ld %ld ms\n", i + 1, static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()));
            t0 = std::chrono::steady_clock::now();
        }
        if ((i + 1) % 10000 == 0) std::fprintf(stderr, "dvi_bench_fill: %ld\n", i + 1);
    }
    return 0;
}
