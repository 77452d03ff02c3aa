// The verification engine shared by sync, bundles and the receive hook: a quarantine
// repository for incoming objects, and the judgement of offered chain heads. Private
// to the library.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dvi/ledger.hpp"
#include "dvi/sync.hpp"
#include "dvi/util/fs.hpp"
#include "git.hpp"

namespace dvi::detail {

// The libgit2 repository behind a ledger handle.
inline git_repository* repo_of(const Ledger& l) { return static_cast<git_repository*>(l.raw_repository()); }

// A bare repository under <ledger>/dvi/incoming/ whose object store borrows the
// ledger's (alternates) and holds only what arrives. Nothing in it is visible to the
// ledger until migrate(); the folder is removed when the quarantine is destroyed.
class Quarantine {
public:
    static Result<Quarantine> create(const Ledger& main);
    Quarantine(Quarantine&& o) noexcept;
    Quarantine& operator=(Quarantine&&) = delete;
    ~Quarantine();

    Ledger& ledger() { return *m_ledger; }
    // Moves the received packs and objects into the ledger's object store (packs are
    // complete before their index appears, so readers never see half a pack).
    Status migrate(const Ledger& main);

private:
    Quarantine(std::filesystem::path dir, Ledger l);
    std::filesystem::path m_dir;
    std::optional<Ledger> m_ledger;
};

// A chain head the other side holds.
struct Offer {
    WriterId writer;
    std::string commit;
};

// apply: `incoming` is a quarantine whose verified objects and refs are taken;
// verify_only: inside git's pre-receive hook, `incoming` opened from git's environment.
enum class ImportMode { apply, verify_only };

// Judges each offer against `main`'s chains, with objects read from `incoming` (the
// quarantine, or `main` itself for a receive hook): verifies every new commit, and in
// apply mode moves the refs of `main` by compare-and-swap and keeps forks as evidence.
// The roster comes from the pinned genesis (config dvi.genesis of `incoming`), or for
// a ledger being joined without one, from the genesis the offers descend from.
// `before_refs` runs once verification is done and before any ref moves (it moves the
// quarantined objects into the ledger).
Result<ImportOutcome> import_offers(Ledger& main, Ledger& incoming, const std::vector<Offer>& offers, ImportMode mode,
                                    const ProgressFn& progress, const std::function<Status()>& before_refs);

// Whether the file starts as a git bundle does.
bool is_bundle_file(const std::filesystem::path& path);

// Serialises imports into one ledger.
Result<util::FileLock> lock_imports(const Ledger& ledger);

}  // namespace dvi::detail
