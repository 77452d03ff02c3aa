// dvi print-verify: the agent beside each printer. Checks, records the print (allowed or
// refused), then hands the sealed G-code from the ledger to --output or a command.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common.hpp"
#include "dvi/content.hpp"
#include "dvi/print.hpp"
#include "dvi/util/fs.hpp"

namespace dvi::cli {

namespace {

struct PrintOptions {
    std::string license, device, material_lot, recipe, file, output, operator_name;
    std::vector<std::string> serials;
    bool dry_run = false;
    bool operator_given = false;
    std::vector<std::string> command;
};

// Runs argv without a shell, {} replaced by `path` (or `path` appended); its exit status.
// With `stdout_to_stderr` (for --json) its output cannot mix with the JSON document.
// The core-file limit dvi started with (read once, before print-verify lowers it to 0
// while a decrypted G-code may be in memory), given back to the command.
const struct rlimit& core_limit_at_start() {
    static const struct rlimit k = [] {
        struct rlimit r {};
        ::getrlimit(RLIMIT_CORE, &r);
        return r;
    }();
    return k;
}

int run_command(std::vector<std::string> argv, const std::string& path, bool stdout_to_stderr) {
    bool substituted = false;
    for (auto& a : argv)
        for (auto pos = a.find("{}"); pos != std::string::npos; pos = a.find("{}", pos + path.size())) {
            a.replace(pos, 2, path);
            substituted = true;
        }
    if (!substituted) argv.push_back(path);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::fflush(stdout);
    pid_t pid = ::fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        ::setrlimit(RLIMIT_CORE, &core_limit_at_start());
        if (stdout_to_stderr) ::dup2(2, 1);
        ::execvp(args[0], args.data());
        std::fprintf(stderr, "dvi: error: cannot run '%s': %s\n", args[0], std::strerror(errno));
        std::_Exit(127);
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// A decrypted G-code for the command, in memory only: a sealed memfd (nobody can change
// it) that the command inherits and reads at /dev/fd/<n>, from its start; nothing of the
// plaintext reaches a file system.
int run_command_in_memory(const std::vector<std::string>& argv, const std::string& name, const std::string& bytes,
                          bool stdout_to_stderr, Status& error) {
    int fd = ::memfd_create(name.c_str(), MFD_ALLOW_SEALING);  // no close-on-exec: the command inherits it
    if (fd < 0) {
        error = make_error(Errc::io, std::string("cannot create a memory file: ") + std::strerror(errno));
        return -1;
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            error = make_error(Errc::io, std::string("cannot write a memory file: ") + std::strerror(errno));
            ::close(fd);
            return -1;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0 ||
        ::lseek(fd, 0, SEEK_SET) != 0) {
        error = make_error(Errc::io, std::string("cannot seal a memory file: ") + std::strerror(errno));
        ::close(fd);
        return -1;
    }
    int rc = run_command(argv, "/dev/fd/" + std::to_string(fd), stdout_to_stderr);
    ::close(fd);
    return rc;
}

// Writes the sealed bytes where they go; only after the print was recorded as allowed.
// A decrypted G-code goes to --output readable by its owner only.
int hand_over(Context& ctx, const PrintOptions& o, const PrintOutcome& out, Ledger& ledger) {
    if (o.output.empty() && o.command.empty()) return k_exit_ok;
    std::string clear;
    if (!out.encrypted) {
        auto read = ledger.read_artifact(out.gcode_blob);  // re-hashed on read
        if (!read) return report(read.error());
        clear = std::move(*read);
    }
    const std::string& bytes = out.encrypted ? out.plaintext->bytes : clear;
    if (!o.output.empty()) {
        auto mode = out.encrypted ? util::FileMode::private_0600 : util::FileMode::public_0644;
        if (auto st = util::write_file_atomic(o.output, bytes, mode, util::Overwrite::no); !st) return report(st.error());
        if (!ctx.globals.quiet && !ctx.globals.json)
            std::printf("sealed G-code %swritten to %s\n", out.encrypted ? "decrypted and " : "", o.output.c_str());
    }
    if (!o.command.empty()) {
        int rc = -1;
        Status st;
        if (out.encrypted) {
            rc = run_command_in_memory(o.command, out.recipe + ".gcode", bytes, ctx.globals.json, st);
        } else {
            const char* tmp = std::getenv("TMPDIR");
            std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/dvi-print.XXXXXX";
            char* dir = ::mkdtemp(tmpl.data());  // 0700: the file is readable by this user only
            if (!dir) return report(make_error(Errc::io, "cannot create a private temporary folder"));
            std::string path = std::string(dir) + "/" + out.recipe + ".gcode";
            st = util::write_file_atomic(path, bytes, util::FileMode::private_0600, util::Overwrite::no);
            if (st) rc = run_command(o.command, path, ctx.globals.json);
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
        if (!st) return report(st.error());
        if (rc != 0)
            return report(make_error(Errc::io, "the print is recorded as allowed, but '" + o.command[0] +
                                                   "' exited with status " + std::to_string(rc),
                                     "record the outcome with an inspection; do not print again without a new check"));
    }
    return k_exit_ok;
}

int run_print_verify(Context& ctx, const PrintOptions& o) {
    if (o.dry_run && (!o.output.empty() || !o.command.empty()))
        return report(make_error(Errc::invalid_input, "--dry-run hands nothing over: drop --output and the command"));
    if (!o.output.empty() && !o.command.empty())
        return report(make_error(Errc::invalid_input, "give --output or a command, not both"));
    std::error_code ec;
    if (!o.output.empty()) {
        // Everything that could stop the hand-over is checked before the print is recorded.
        if (std::filesystem::symlink_status(o.output, ec).type() != std::filesystem::file_type::not_found)
            return report(make_error(Errc::invalid_input, "refusing to overwrite '" + o.output + "'", "choose another path"));
        auto parent = std::filesystem::path(o.output).parent_path();
        if (parent.empty()) parent = ".";
        if (!std::filesystem::is_directory(parent, ec) || ::access(parent.c_str(), W_OK) != 0)
            return report(make_error(Errc::invalid_input, "cannot write --output '" + o.output + "': '" +
                                                              parent.string() + "' is not a writable folder"));
    }
    if (o.operator_given && o.operator_name.empty())
        return report(make_error(Errc::invalid_input, "--operator needs a name"));
    // No core file while a decrypted G-code may be in memory (the command gets the limit back).
    struct rlimit no_core = core_limit_at_start();
    no_core.rlim_cur = 0;
    ::setrlimit(RLIMIT_CORE, &no_core);
    auto session = ctx.write_session();
    if (!session) return report(session.error());
    PrintRequest req;
    req.license = o.license;
    req.device = o.device;
    req.material_lot = o.material_lot;
    if (!o.recipe.empty()) req.recipe = o.recipe;
    if (!o.file.empty()) req.file = o.file;
    req.serials = o.serials;
    if (!o.operator_name.empty()) req.operator_name = o.operator_name;
    req.time = session->now;
    req.mode = o.dry_run ? PrintMode::dry_run : PrintMode::record;
    auto out = print_verify(session->ledger, session->key, req);
    if (!out) return report(out.error());
    for (auto& n : out->notices) warn(n);
    std::string code = out->refusal ? refusal_code(*out->refusal) : "";
    if (ctx.globals.json) {
        print_json({{"decision", out->allowed ? "allowed" : "refused"},
                    {"code", out->allowed ? Json(nullptr) : Json(code)},
                    {"message", out->message},
                    {"dry_run", o.dry_run},
                    {"record", out->record_id.empty() ? Json(nullptr) : Json(out->record_id)},
                    {"commit", out->commit.empty() ? Json(nullptr) : Json(out->commit)},
                    {"chain", out->writer.str()},
                    {"seq", out->seq},
                    {"dossier", out->dossier},
                    {"recipe", out->recipe},
                    {"gcode_sha256", out->gcode_sha256},
                    {"encrypted", out->encrypted},
                    {"units", out->allowed ? out->units : 0},
                    {"used", out->used},
                    {"quota", out->quota}});
    } else if (!ctx.globals.quiet) {
        if (out->allowed)
            std::printf("%s: %s recipe %s on %s, %lld/%lld used\n", o.dry_run ? "would be allowed" : "allowed",
                        out->dossier.c_str(), out->recipe.c_str(), o.device.c_str(),
                        static_cast<long long>(out->used), static_cast<long long>(out->quota));
        if (!out->record_id.empty())
            std::printf("%s as %s (%s #%lld)\n", out->allowed ? "recorded" : "refusal recorded",
                        out->record_id.c_str(), out->writer.str().c_str(), static_cast<long long>(out->seq));
    }
    if (!out->allowed) {
        std::fprintf(stderr, "dvi: error: print refused [%s]: %s\n", code.c_str(), out->message.c_str());
        return k_exit_negative;
    }
    if (o.dry_run) return k_exit_ok;
    return hand_over(ctx, o, *out, session->ledger);
}

}  // namespace

void register_print_verify(CLI::App& root, Registry& reg) {
    auto o = std::make_shared<PrintOptions>();
    auto* app = root.add_subcommand("print-verify",
                                    "Check a print against its licence, device, lot and dossier; record it; hand over "
                                    "the sealed G-code");
    app->add_option("--license", o->license, "The licence (allocation) addressed to this printer agent")
        ->type_name("<id>")->required();
    app->add_option("--device", o->device, "The printer's serial, as in the roster")->type_name("<serial>")->required();
    app->add_option("--material-lot", o->material_lot, "The lot loaded: id, id prefix or supplier/lot")
        ->type_name("<id>")->required();
    app->add_option("--recipe", o->recipe, "The dossier's recipe to use (default: the one for the printer's model)")
        ->type_name("<name>");
    app->add_option("--file", o->file, "A G-code file to compare with the sealed one")->type_name("<path>");
    app->add_option("--output", o->output, "Write the sealed G-code here when allowed (never overwritten)")
        ->type_name("<path>");
    app->add_option("--serial", o->serials, "Serial number of a part of this job (repeatable)")
        ->type_name("<s>")->allow_extra_args(false);
    app->add_option("--operator", o->operator_name, "Who runs the printer (recorded)")
        ->type_name("<name>")
        ->each([o](const std::string&) { o->operator_given = true; });
    app->add_flag("--dry-run", o->dry_run, "Check only; record and hand over nothing");
    app->add_option("command", o->command,
                    "After --: a command given the sealed G-code's path ({} or appended); an encrypted one is "
                    "decrypted to a memory file, /dev/fd/<n>")
        ->type_name("<command>");
    app->footer("Exit status: 0 allowed and recorded; 1 refused (recorded, with its reason code); 2 bad input;\n"
                "128 fatal.\n\nExample:\n  dvi print-verify --license 3f2a9c --device S5-0412 --material-lot "
                "polyfil/PETG-2026-0117 \\\n      --serial BRK-2026-00017 -- octoprint-upload {}");
    reg.add(app, [o](Context& ctx) { return run_print_verify(ctx, *o); });
}

}  // namespace dvi::cli
