// A consortium ledger for the fuzz targets that need one (bundle, record), made once per
// process by the library's own ledger_init in a private temporary folder, removed at exit.
//
// Its genesis is, byte for byte, the one `dvi init` writes with the key below and
//   DVI_TEST_DATE=2026-11-23T10:00:00Z dvi --key fuzz.pem init --consortium "Fuzz consortium"
//       --partner acme --writer desk --role oem <dir>
// (Ed25519 signatures are deterministic), so the ledgers tests/fuzz/make-seeds.sh builds
// that way continue this one: their bundles import, their roster records apply.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "dvi/init.hpp"
#include "dvi/ledger.hpp"
#include "fuzz.hpp"

namespace dvi_fuzz {

// A throw-away test key, used by nothing but the fuzz targets and their seeds;
// make-seeds.sh extracts it from here.
inline constexpr std::string_view k_key_pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJwPQq5BGyt0DqHHj6eA5C+u6SnjtT0+Q5NuDwevIKb2\n"
    "-----END PRIVATE KEY-----\n";
inline constexpr std::int64_t k_genesis_time = 1795428000;  // 2026-11-23T10:00:00Z

class FuzzLedger {
public:
    FuzzLedger() {
        dvi::set_durability(dvi::Durability::relaxed);  // nothing here must survive a crash
        std::string tmpl = (std::filesystem::temp_directory_path() / "dvi-fuzz-XXXXXX").string();
        DVI_FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr, "a temporary folder can be made");
        m_dir = tmpl;
        auto key = dvi::crypto::PrivateKey::from_pem(k_key_pem, std::nullopt);
        DVI_FUZZ_CHECK(key.ok(), "the fuzz key reads");
        dvi::InitRequest req;
        req.dir = m_dir / "ledger";
        req.consortium = "Fuzz consortium";
        req.partner = "acme";
        req.writer = "desk";
        req.roles = {"oem"};
        req.key = &*key;
        req.time = k_genesis_time;
        auto init = dvi::ledger_init(req);
        if (!init) std::fprintf(stderr, "fuzz: ledger_init: %s\n", init.error().message.c_str());
        DVI_FUZZ_CHECK(init.ok(), "the fuzz ledger is created");
        auto opened = dvi::Ledger::open(init->path);
        DVI_FUZZ_CHECK(opened.ok(), "the fuzz ledger opens");
        m_ledger.emplace(std::move(*opened));
    }
    ~FuzzLedger() {
        m_ledger.reset();
        std::error_code ec;
        std::filesystem::remove_all(m_dir, ec);
    }
    FuzzLedger(const FuzzLedger&) = delete;
    FuzzLedger& operator=(const FuzzLedger&) = delete;

    dvi::Ledger& ledger() { return *m_ledger; }
    // A folder of this process's own for scratch files.
    const std::filesystem::path& dir() const { return m_dir; }

private:
    std::filesystem::path m_dir;
    std::optional<dvi::Ledger> m_ledger;
};

// The process's ledger, made on first use; a static, so destroyed (and removed) at exit.
inline FuzzLedger& fuzz_ledger() {
    static FuzzLedger ledger;
    return ledger;
}

}  // namespace dvi_fuzz
