// What every subcommand shares: global options, the ledger and signing key they
// resolve to, the clock, output helpers, and the one mapping of errors to exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dvi/canonical.hpp"
#include "dvi/crypto.hpp"
#include "dvi/ledger.hpp"
#include "dvi/result.hpp"
#include "dvi/sync.hpp"

namespace dvi::cli {

// Exit statuses: the contract of dvi(1).
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_negative = 1;
inline constexpr int k_exit_bad_input = 2;
inline constexpr int k_exit_fatal = 128;
inline constexpr int k_exit_usage = 129;
inline constexpr int k_exit_interrupted = 130;

struct Globals {
    std::string dir;  // -C
    std::string key;  // --key
    bool json = false;
    bool quiet = false;
};

// What a command that appends needs: the ledger, the signing key and the clock.
struct WriteSession {
    Ledger ledger;
    crypto::PrivateKey key;
    std::int64_t now = 0;
};

class Context {
public:
    Globals globals;

    // The ledger: -C, else DVI_DIR, else discovered from the working directory.
    Result<Ledger> ledger() const;
    // The signing key: --key, else DVI_KEY, else dvi.key of `ledger` (if given).
    Result<crypto::PrivateKey> signing_key(const Ledger* ledger) const;
    // Where the signing key comes from, without loading it (empty if nowhere).
    std::string signing_key_path(const Ledger* ledger) const;
    // Seconds since the epoch: DVI_TEST_DATE when set (tests), else the system clock.
    Result<std::int64_t> now() const;
    // ledger(), signing_key() and now() together, for commands that write.
    Result<WriteSession> write_session() const;
    // How to reach partners: ssh keys (DVI_SSH_KEY, else ~/.ssh/id_ed25519, id_ecdsa,
    // id_rsa), known hosts (DVI_SSH_KNOWN_HOSTS, else ~/.ssh/known_hosts and
    // /etc/ssh/ssh_known_hosts), and progress on stderr when it is a terminal.
    SyncRequest transport() const;
};

// The path of the running dvi executable (what a ledger's hook runs).
std::filesystem::path self_executable();

// Prints "dvi: error: …" (and "dvi: hint: …") on stderr; returns the exit status.
int report(const Error& e);

// For integer options: decimal digits only, a '-' first at most, leading zeros dropped, so
// that "010" is ten and "0x10" is refused (CLI11 reads integers in C's bases otherwise).
const CLI::Validator& decimal();
// Every option and argument given on the command line, before a command runs: none may be
// empty (an empty --key or --not-after would read as not given) or hold a control character.
// `passthrough` names the argument handed on untouched (print-verify's command after --).
Status check_values(const CLI::App& app, const std::string& passthrough);
int exit_code(Errc code);
void warn(const std::string& message);

// One JSON document on stdout.
void print_json(const Json& doc);

// Whether `path` is this process's standard output (`--output /dev/stdout`, or the file
// or pipe stdout goes to): what the command would print there goes to stderr instead.
bool is_stdout(const std::string& path);

// A passphrase from DVI_KEY_PASSPHRASE, else asked on the terminal (twice if `confirm`);
// nullopt when neither is available.
Result<std::optional<std::string>> read_passphrase(const std::string& prompt, bool confirm);

// Subcommands register a run function for the CLI11 app they define.
struct Registry {
    std::vector<std::pair<CLI::App*, std::function<int(Context&)>>> commands;
    void add(CLI::App* app, std::function<int(Context&)> run) { commands.emplace_back(app, std::move(run)); }
};

// Each cmd_<name>.cpp defines one of these.
void register_key(CLI::App& root, Registry& reg);
void register_init(CLI::App& root, Registry& reg);
void register_roster(CLI::App& root, Registry& reg);
void register_seal(CLI::App& root, Registry& reg);
void register_log(CLI::App& root, Registry& reg);
void register_show(CLI::App& root, Registry& reg);
void register_passport(CLI::App& root, Registry& reg);
void register_license(CLI::App& root, Registry& reg);
void register_print_verify(CLI::App& root, Registry& reg);
void register_sync(CLI::App& root, Registry& reg);
void register_anchor(CLI::App& root, Registry& reg);
void register_audit(CLI::App& root, Registry& reg);
// `dvi __complete -- <word>...` (completions/): candidates for the last word, one per line.
int complete(CLI::App& root, Context& ctx, std::vector<std::string> words);

std::string human_size(std::uint64_t bytes);

}  // namespace dvi::cli
