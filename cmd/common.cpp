#include "common.hpp"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <future>
#include <iostream>
#include <system_error>

#include "dvi/keyfile.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"
#include "dvi/util/time.hpp"

namespace dvi::cli {

namespace fs = std::filesystem;

int exit_code(Errc code) {
    switch (code) {
    case Errc::denied:
    case Errc::bad_signature: return k_exit_negative;
    case Errc::invalid_input:
    case Errc::not_found: return k_exit_bad_input;
    case Errc::conflict:
    case Errc::io:
    case Errc::repository:
    case Errc::crypto:
    case Errc::internal: return k_exit_fatal;
    }
    return k_exit_fatal;
}

const CLI::Validator& decimal() {
    static const CLI::Validator v(
        [](std::string& value) -> std::string {
            if (value.empty()) return "needs a decimal number, not an empty value";
            const std::size_t sign = value[0] == '-' ? 1 : 0;
            if (value.size() == sign || !std::all_of(value.begin() + static_cast<std::ptrdiff_t>(sign), value.end(),
                                                     [](char c) { return c >= '0' && c <= '9'; }))
                return value + " is not a decimal number";
            const std::size_t first = value.find_first_not_of('0', sign);
            value = value.substr(0, sign) + (first == std::string::npos ? "0" : value.substr(first));
            return {};
        },
        "", "decimal");
    return v;
}

Status check_values(const CLI::App& app, const std::string& passthrough) {
    for (const CLI::Option* opt : app.get_options()) {
        if (opt->count() == 0 || opt->get_type_size_max() == 0) continue;  // not given, or a flag
        std::string name = opt->get_name(false, false);
        if (opt->get_positional()) {
            if (name == passthrough) continue;
            name = opt->get_type_name();
        }
        for (const std::string& value : opt->results()) {
            if (value.empty())
                return make_error(Errc::invalid_input, name + " is empty", "give a value, or leave the option out");
            if (auto c = util::control_char_in(value, util::LineBreaks::refused))
                return make_error(Errc::invalid_input, name + " holds control character " + c->name());
        }
    }
    for (const CLI::App* sub : app.get_subcommands())
        if (sub->parsed()) DVI_CHECK(check_values(*sub, passthrough));
    return {};
}

int report(const Error& e) {
    std::string msg = e.message;
    std::string prefix = "dvi: error: ";
    std::size_t start = 0;
    while (true) {
        auto nl = msg.find('\n', start);
        std::fprintf(stderr, "%s%s\n", prefix.c_str(), msg.substr(start, nl - start).c_str());
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    if (!e.hint.empty()) std::fprintf(stderr, "dvi: hint: %s\n", e.hint.c_str());
    return exit_code(e.code);
}

void warn(const std::string& message) { std::fprintf(stderr, "dvi: warning: %s\n", message.c_str()); }

bool is_stdout(const std::string& path) {
    const auto target = util::output_target(path);
    return target.kind == util::OutputTarget::Kind::stream && target.fd == STDOUT_FILENO;
}

void print_json(const Json& doc) { std::cout << doc.dump(2, ' ', false, Json::error_handler_t::replace) << "\n"; }

Result<Ledger> Context::ledger() const {
    if (!globals.dir.empty()) return Ledger::open(globals.dir);
    if (const char* env = std::getenv("DVI_DIR"); env && *env) return Ledger::open(env);
    std::error_code ec;
    return Ledger::discover(fs::current_path(ec));
}

std::string Context::signing_key_path(const Ledger* ledger) const {
    if (!globals.key.empty()) return globals.key;
    if (const char* env = std::getenv("DVI_KEY"); env && *env) return env;
    if (ledger) {
        auto v = ledger->config_get("dvi.key");
        if (v && *v) return **v;
    }
    return {};
}

Result<crypto::PrivateKey> Context::signing_key(const Ledger* ledger) const {
    std::string path = signing_key_path(ledger);
    if (path.empty())
        return make_error(Errc::invalid_input, "no signing key",
                          "give --key <file> or set DVI_KEY; create one with 'dvi key generate --out <file>'");
    std::optional<std::string> pass;
    DVI_TRY(encrypted, key_file_is_encrypted(path));
    if (encrypted) {
        DVI_TRY(p, read_passphrase("Passphrase for " + path + ": ", false));
        pass = std::move(p);
    }
    return key_load(path, pass);
}

Result<std::int64_t> Context::now() const {
    if (const char* env = std::getenv("DVI_TEST_DATE"); env && *env) {
        auto t = util::parse_time(env);
        if (!t)
            return make_error(Errc::invalid_input, std::string("DVI_TEST_DATE '") + env + "' is not a date",
                              "use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or @<seconds>");
        return *t;
    }
    return static_cast<std::int64_t>(std::time(nullptr));
}

Result<WriteSession> Context::write_session() const {
    // A key named by --key or DVI_KEY and not behind a passphrase is loaded on another
    // core while the ledger opens (libgit2 takes some 5 ms to start): a printer agent's
    // every command pays for both. Errors are reported in the same order either way.
    std::optional<std::future<Result<crypto::PrivateKey>>> early;
    if (std::string path = signing_key_path(nullptr); !path.empty()) {
        if (auto encrypted = key_file_is_encrypted(path); encrypted && !*encrypted) {
            try {
                early = std::async(std::launch::async, [path] { return key_load(path, std::nullopt); });
            } catch (const std::system_error&) {
                early.reset();  // no thread to be had: one after the other
            }
        }
    }
    auto l = ledger();
    auto k = early ? early->get() : Result<crypto::PrivateKey>(make_error(Errc::internal, "no key yet"));
    if (!l) return l.error();
    if (!early) k = signing_key(&*l);
    if (!k) return k.error();
    DVI_TRY(t, now());
    return WriteSession{std::move(*l), std::move(*k), t};
}

Result<std::optional<std::string>> read_passphrase(const std::string& prompt, bool confirm) {
    if (const char* env = std::getenv("DVI_KEY_PASSPHRASE"); env) return std::optional<std::string>(env);
    FILE* tty = std::fopen("/dev/tty", "r+");
    if (!tty) return std::optional<std::string>();
    auto ask = [&](const std::string& p) -> std::optional<std::string> {
        std::fputs(p.c_str(), tty);
        std::fflush(tty);
        termios old{};
        tcgetattr(fileno(tty), &old);
        termios quiet = old;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
        char buf[1024];
        char* got = std::fgets(buf, sizeof buf, tty);
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
        std::fputs("\n", tty);
        if (!got) return std::nullopt;
        std::string s(buf);
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
        return s;
    };
    auto first = ask(prompt);
    if (first && confirm) {
        auto second = ask("Again: ");
        if (!second || *second != *first) {
            std::fclose(tty);
            return make_error(Errc::invalid_input, "the passphrases differ");
        }
    }
    std::fclose(tty);
    return first;
}

std::string human_size(std::uint64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
    else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

SyncRequest Context::transport() const {
    SyncRequest req;
    std::error_code ec;
    if (const char* sock = std::getenv("SSH_AUTH_SOCK"); sock && *sock) req.ssh_agent = true;
    const char* home = std::getenv("HOME");
    fs::path ssh = home && *home ? fs::path(home) / ".ssh" : fs::path();
    if (const char* k = std::getenv("DVI_SSH_KEY"); k && *k) {
        req.ssh_keys.emplace_back(k);
    } else if (!ssh.empty()) {
        for (auto name : {"id_ed25519", "id_ecdsa", "id_rsa"})
            if (fs::exists(ssh / name, ec)) req.ssh_keys.push_back(ssh / name);
    }
    if (const char* k = std::getenv("DVI_SSH_KNOWN_HOSTS"); k && *k) {
        req.known_hosts.emplace_back(k);
    } else {
        if (!ssh.empty()) req.known_hosts.push_back(ssh / "known_hosts");
        req.known_hosts.emplace_back("/etc/ssh/ssh_known_hosts");
    }
    // What OpenSSL (and so `dvi anchor --tsa`) honours, for https remotes too.
    if (const char* f = std::getenv("SSL_CERT_FILE"); f && *f) req.tls_ca_file = fs::path(f);
    if (const char* d = std::getenv("SSL_CERT_DIR"); d && *d) req.tls_ca_dir = fs::path(d);
    if (!globals.quiet && ::isatty(STDERR_FILENO)) {
        req.progress = [](const std::string& stage, std::uint64_t done, std::uint64_t total) {
            if (total == 0) return;
            std::fprintf(stderr, "\r%s: %llu/%llu (%llu%%)", stage.c_str(), static_cast<unsigned long long>(done),
                         static_cast<unsigned long long>(total), static_cast<unsigned long long>(done * 100 / total));
            if (done >= total) std::fputs("\n", stderr);
        };
    }
    return req;
}

fs::path self_executable() {
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : p;
}

}  // namespace dvi::cli
