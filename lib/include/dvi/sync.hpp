// Exchanging chains with partners (dvi-sync(1)): over any git transport libgit2 speaks,
// or by git bundle files for sneakernet. Incoming commits land in a quarantine, every
// one is verified (signature, trailer, record, placement, the writer's authority at its
// position), and only then do refs move, by compare-and-swap and never by force. A
// chain that diverged from ours is an equivocation: both heads are kept under
// refs/dvi/forks/ as evidence and nothing else happens to that chain.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dvi/ledger.hpp"
#include "dvi/result.hpp"

namespace dvi {

// What happened to one chain.
enum class ChainStatus {
    new_chain,   // we had none: taken whole
    advanced,    // fast-forwarded from our head
    up_to_date,  // the same head
    behind,      // the other side is behind us (nothing to take)
    partial,     // advanced up to the last commit that verifies, the rest refused
    refused,     // nothing taken: the first new commit does not verify
    fork,        // diverged from ours: both heads kept as evidence
};
std::string to_string(ChainStatus s);

struct ChainSync {
    WriterId writer;
    ChainStatus status = ChainStatus::up_to_date;
    std::optional<std::string> from;  // our head before (commit)
    std::string to;                   // the head we now hold (empty: none)
    std::string offered;              // the head the other side offered
    std::int64_t from_seq = 0;
    std::int64_t to_seq = 0;
    std::int64_t records = 0;  // records taken
    std::string reason;        // why refused, partial or forked
    std::int64_t fork_seq = 0;  // position of the first differing commit (fork)
    std::string fork_ours, fork_theirs;  // the two commits at that position (fork)
};

struct ImportOutcome {
    std::vector<ChainSync> chains;  // sorted by writer
    std::int64_t records = 0;       // records taken, all chains
    std::size_t advanced = 0, forks = 0, refused = 0;
    std::vector<std::string> notices;  // e.g. a stale ref lock recovered
    bool ok() const { return forks == 0 && refused == 0; }
};

// Called with a stage ("receiving", "verifying", "writing") and its progress.
using ProgressFn = std::function<void(const std::string& stage, std::uint64_t done, std::uint64_t total)>;

struct SyncRequest {
    std::string remote;  // a git remote of the ledger, a path, or a URL
    enum class Direction { both, fetch, push } direction = Direction::both;
    // Credentials for ssh:// remotes: the ssh agent (when there is one) is tried first,
    // then these keys (OpenSSH private key files); host keys are checked against
    // `known_hosts`, and an unknown host is refused.
    bool ssh_agent = false;
    std::vector<std::filesystem::path> ssh_keys;
    std::vector<std::filesystem::path> known_hosts;
    // Certificate authorities for https:// remotes, instead of the system's bundle.
    std::optional<std::filesystem::path> tls_ca_file, tls_ca_dir;
    ProgressFn progress;
};

struct SyncOutcome {
    std::string url;
    ImportOutcome fetched;
    std::vector<ChainSync> pushed;  // chains the other side took from us (or refused)
    std::size_t push_refused = 0;
    std::vector<std::string> push_notices;  // what the other ledger noticed taking ours (a path remote)
    bool ok() const { return fetched.ok() && push_refused == 0; }
};

// Fetches and verifies the other side's chains, then offers it ours. A path remote is
// opened as a ledger and verifies what it takes itself; a git:// or ssh:// ledger
// verifies in its pre-receive hook (installed by dvi init).
Result<SyncOutcome> ledger_sync(Ledger& ledger, const SyncRequest& req);

// Imports a git bundle (v2, ours or stock `git bundle create`), verified as a fetch is.
Result<ImportOutcome> bundle_import(Ledger& ledger, const std::filesystem::path& bundle, const ProgressFn& progress);

struct BundleExport {
    std::filesystem::path path;
    std::vector<ChainHead> refs;          // the chain heads it carries
    std::vector<std::string> prerequisites;  // commits the other side must hold
    std::size_t objects = 0;
    std::uint64_t bytes = 0;
    bool written = false;  // false when the other side lacks nothing
};

// Writes a git bundle (v2) of every chain; with `since` (a bundle the other side sent us
// or imported from us), only what is new since the heads it lists.
Result<BundleExport> bundle_export(const Ledger& ledger, const std::filesystem::path& out,
                                   const std::optional<std::filesystem::path>& since);

// One ref update pushed to this ledger, as git's pre-receive hook reads them.
struct RefUpdate {
    std::string old_commit;  // 40 zeros when the ref is new
    std::string new_commit;  // 40 zeros for a deletion
    std::string ref;
};

// Verifies pushed updates inside git's quarantine (the ledger opened from the hook's
// environment) without moving any ref; git moves them if this says every one is sound.
Result<ImportOutcome> receive_verify(Ledger& ledger, const std::vector<RefUpdate>& updates);

// Opens the ledger a pre-receive hook runs in (GIT_DIR and git's quarantine objects).
Result<Ledger> ledger_open_for_hook();

// Installs the pre-receive hook that makes a ledger verify what is pushed to it;
// `dvi_path` is the dvi executable the hook runs.
Status install_receive_hook(const Ledger& ledger, const std::filesystem::path& dvi_path);

// Verifies every chain of a freshly fetched ledger (dvi init --join): the same checks
// as a sync, from each chain's root. `source` is a path, URL or bundle file.
Result<ImportOutcome> import_from(Ledger& ledger, const std::string& source, const SyncRequest& options);

}  // namespace dvi
