// Grows a benchmark ledger quickly: N allowed prints through the library's own
// print_verify (the same checks and records as `dvi print-verify`), without fsync.
//   dvi_bench_fill <ledger> <key.pem> <licence> <device> <material-lot> <count>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "dvi/keyfile.hpp"
#include "dvi/ledger.hpp"
#include "dvi/print.hpp"

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
    req.time = 1795000000;
    for (long i = 0; i < count; ++i) {
        auto out = dvi::print_verify(*ledger, *key, req);
        if (!out || !out->allowed) {
            std::fprintf(stderr, "dvi_bench_fill: print %ld: %s\n", i,
                         out ? out->message.c_str() : out.error().message.c_str());
            return 1;
        }
        if ((i + 1) % 10000 == 0) std::fprintf(stderr, "dvi_bench_fill: %ld\n", i + 1);
    }
    return 0;
}
