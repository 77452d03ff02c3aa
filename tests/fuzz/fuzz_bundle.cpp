// Fuzz target: a git bundle handed to `dvi sync --bundle-in` (or `dvi init --join`):
// the header reader, libgit2's pack indexer in a quarantine, and the verification of every
// offered chain, through the public bundle_import into the fuzz ledger (fuzz_ledger.hpp),
// whose genesis the seed bundles continue. Properties: whatever the import took passes
// the audit's checks of signatures, records and authority; and the quarantine is gone.
// After each input the ledger's refs are put back, so every input meets the same ledger.
#include <git2.h>

#include <fstream>
#include <map>
#include <set>
#include <string>

#include "dvi/audit.hpp"
#include "dvi/sync.hpp"
#include "fuzz_ledger.hpp"

namespace {

using Refs = std::map<std::string, std::string>;  // name -> oid hex

git_repository* repo() { return static_cast<git_repository*>(dvi_fuzz::fuzz_ledger().ledger().raw_repository()); }

Refs read_refs() {
    Refs out;
    git_reference_iterator* it = nullptr;
    DVI_FUZZ_CHECK(git_reference_iterator_glob_new(&it, repo(), "refs/dvi/*") == 0, "the refs can be listed");
    git_reference* ref = nullptr;
    while (git_reference_next(&ref, it) == 0) {
        if (const git_oid* oid = git_reference_target(ref)) out[git_reference_name(ref)] = git_oid_tostr_s(oid);
        git_reference_free(ref);
    }
    git_reference_iterator_free(it);
    return out;
}

// Puts the refs back as they were after init: an import that took something must not
// change what the next input meets. (The objects it migrated stay; they are inert
// without refs.)
void restore_refs(const Refs& want) {
    Refs now = read_refs();
    if (now == want) return;
    for (auto& [name, oid] : now)
        if (!want.count(name)) DVI_FUZZ_CHECK(git_reference_remove(repo(), name.c_str()) == 0, "a new ref is removed");
    for (auto& [name, oid] : want) {
        git_oid o;
        git_reference* ref = nullptr;
        DVI_FUZZ_CHECK(git_oid_fromstr(&o, oid.c_str()) == 0, "a saved oid parses");
        DVI_FUZZ_CHECK(git_reference_create(&ref, repo(), name.c_str(), &o, 1, nullptr) == 0, "a ref is restored");
        git_reference_free(ref);
    }
    dvi_fuzz::fuzz_ledger().ledger().reload();
    DVI_FUZZ_CHECK(read_refs() == want, "the refs are back");
}

// Audit codes for what an import must never take: commits that do not verify, records
// that break their schema, writers without the authority, chains whose state lies.
const std::set<std::string> k_import_guarantees = {
    "bad-signature",  "commit-unreadable", "schema-violation", "roster-invalid",      "unknown-writer",
    "not-authorized", "issuer-mismatch",   "misplaced-record", "chain-state-mismatch", "sequence-gap",
};

}  // namespace

// libgit2's indexer reserves memory for as many objects as a pack's 12-byte header claims
// (a 500-byte bundle can claim 2^32), never touches most of it, and fails cleanly when the
// allocation is refused. Under ASan that reservation is real memory and libFuzzer would
// report it as out-of-memory; refuse allocations over 1 GiB instead, as a system without
// overcommit would (replay_main.cpp's RLIMIT_AS does the same in the plain build).
#if defined(__SANITIZE_ADDRESS__)
#define DVI_FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DVI_FUZZ_ASAN 1
#endif
#endif
#ifdef DVI_FUZZ_ASAN
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1:max_allocation_size_mb=1024"; }
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& fl = dvi_fuzz::fuzz_ledger();
    static const Refs initial = read_refs();
    static const std::filesystem::path input = fl.dir() / "input.bundle";
    {
        std::ofstream f(input, std::ios::binary | std::ios::trunc);
        f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
        DVI_FUZZ_CHECK(f.good(), "the input is written");
    }

    auto out = dvi::bundle_import(fl.ledger(), input, {});
    std::error_code ec;
    DVI_FUZZ_CHECK(std::filesystem::is_empty(fl.ledger().path() / "dvi" / "incoming", ec) || ec,
                   "no quarantine is left behind");
    if (out && out->records > 0) {
        fl.ledger().reload();
        dvi::AuditRequest req;
        req.cache = dvi::AuditCache::full;
        req.threads = 1;
        auto report = dvi::audit(fl.ledger(), req);
        DVI_FUZZ_CHECK(report.ok(), "a ledger an import advanced can be audited");
        for (auto& f : report->findings) {
            if (!k_import_guarantees.count(f.code)) continue;
            std::fprintf(stderr, "audit after import: %s %s: %s\n", f.code.c_str(), f.chain.c_str(), f.message.c_str());
            DVI_FUZZ_CHECK(false, "what an import takes passes the audit's checks");
        }
    }
    restore_refs(initial);
    return 0;
}
