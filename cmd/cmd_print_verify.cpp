// dvi print-verify: the agent beside each printer. Checks, records the print (allowed or
// refused), then hands the sealed G-code from the ledger to --output or a command.
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "common.hpp"
#include "dvi/content.hpp"
#include "dvi/print.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"

namespace dvi::cli {

namespace {

struct PrintOptions {
    std::string license, device, material_lot, recipe, file, output, operator_name;
    std::vector<std::string> serials;
    bool dry_run = false;
    bool operator_given = false;
    bool batch = false;
    std::vector<std::string> command;
};

// Runs argv without a shell, {} replaced by `path` (or `path` appended); its exit status.
// With `stdout_to_stderr` (for --json) its output cannot mix with the JSON document;
// with `stdin_null` (for --batch) it cannot read the jobs that follow.
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

// What run_command returns for a command a signal ended: this plus the signal (an exit
// status is at most 255, so the two cannot be confused).
constexpr int k_killed_by = 1000;

int run_command(std::vector<std::string> argv, const std::string& path, bool stdout_to_stderr, bool stdin_null) {
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
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);  // a batch holds them back during a job
        if (stdout_to_stderr) ::dup2(2, 1);
        if (int null = stdin_null ? ::open("/dev/null", O_RDONLY) : -1; null >= 0) ::dup2(null, 0);
        ::execvp(args[0], args.data());
        std::fprintf(stderr, "dvi: error: cannot run '%s': %s\n", args[0], std::strerror(errno));
        std::_Exit(127);
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : k_killed_by + WTERMSIG(st);
}

// A decrypted G-code for the command, in memory only: a sealed memfd (nobody can change
// it) that the command inherits and reads at /dev/fd/<n>, from its start; nothing of the
// plaintext reaches a file system.
int run_command_in_memory(const std::vector<std::string>& argv, const std::string& name, const std::string& bytes,
                          bool stdout_to_stderr, bool stdin_null, Status& error) {
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
    int rc = run_command(argv, "/dev/fd/" + std::to_string(fd), stdout_to_stderr, stdin_null);
    ::close(fd);
    return rc;
}

// Writes the sealed bytes where they go, or hands them to the command; only after the
// print was recorded as allowed. A decrypted G-code goes to --output readable by its
// owner only. Says what failed (the caller adds that the print is recorded).
Status hand_over_once(const Context& ctx, const PrintOptions& o, const PrintOutcome& out, Ledger& ledger) {
    if (o.output.empty() && o.command.empty()) return {};
    auto not_handed = [](const Error& e) { return make_error(e.code, "the G-code was not handed over: " + e.message); };
    std::string clear;
    if (!out.encrypted) {
        auto read = ledger.read_artifact(out.gcode_blob);  // re-hashed on read
        if (!read) return not_handed(read.error());
        clear = std::move(*read);
    }
    const std::string& bytes = out.encrypted ? out.plaintext->bytes : clear;
    if (!o.output.empty()) {
        auto mode = out.encrypted ? util::FileMode::private_0600 : util::FileMode::public_0644;
        if (auto st = util::write_file_atomic(o.output, bytes, mode, util::Overwrite::no); !st)
            return not_handed(st.error());
        if (!ctx.globals.quiet && !ctx.globals.json)
            std::printf("sealed G-code %swritten to %s\n", out.encrypted ? "decrypted and " : "", o.output.c_str());
    }
    if (!o.command.empty()) {
        int rc = -1;
        Status st;
        if (out.encrypted) {
            rc = run_command_in_memory(o.command, out.recipe + ".gcode", bytes, ctx.globals.json, o.batch, st);
        } else {
            const char* tmp = std::getenv("TMPDIR");
            const std::string folder = tmp && *tmp ? tmp : "/tmp";
            std::string tmpl = folder + "/dvi-print.XXXXXX";
            char* dir = ::mkdtemp(tmpl.data());  // 0700: the file is readable by this user only
            if (!dir)
                return make_error(Errc::io, "the G-code was not handed over: cannot create a private folder in '" +
                                                folder + "': " + std::strerror(errno));
            std::string path = std::string(dir) + "/" + out.recipe + ".gcode";
            st = util::write_file_atomic(path, bytes, util::FileMode::private_0600, util::Overwrite::no);
            if (st) rc = run_command(o.command, path, ctx.globals.json, o.batch);
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
        if (!st) return not_handed(st.error());
        if (rc < 0) return make_error(Errc::io, "'" + o.command[0] + "' could not be started");
        if (rc >= k_killed_by)
            return make_error(Errc::io, "'" + o.command[0] + "' was killed by signal " +
                                            std::to_string(rc - k_killed_by) + " (" + ::strsignal(rc - k_killed_by) +
                                            ")");
        if (rc != 0) return make_error(Errc::io, "'" + o.command[0] + "' exited with status " + std::to_string(rc));
    }
    return {};
}

// Any failure of the hand-over comes after the print was recorded: it is fatal (128), and
// says so, lest the operator run the job again and spend another unit.
Status hand_over(const Context& ctx, const PrintOptions& o, const PrintOutcome& out, Ledger& ledger) {
    auto st = hand_over_once(ctx, o, out, ledger);
    if (st) return st;
    return make_error(Errc::io, "the print is recorded as allowed, but " + st.error().message,
                      "record the outcome with an inspection; do not print again without a new check");
}

// The checks of a job's options that need no ledger (exit status 2, nothing recorded):
// everything that could stop the hand-over is checked before the print is recorded.
Status check_job(const PrintOptions& o) {
    if (o.dry_run && (!o.output.empty() || !o.command.empty()))
        return make_error(Errc::invalid_input, "--dry-run hands nothing over: drop --output and the command");
    if (!o.output.empty() && !o.command.empty())
        return make_error(Errc::invalid_input, "give --output or a command, not both");
    std::error_code ec;
    if (!o.output.empty()) {
        const auto status = std::filesystem::symlink_status(o.output, ec);
        if (status.type() == std::filesystem::file_type::directory)
            return make_error(Errc::invalid_input, "--output '" + o.output + "' is a folder", "give a file name");
        if (ec && status.type() != std::filesystem::file_type::not_found)
            return make_error(Errc::invalid_input, "cannot use --output '" + o.output + "': " + ec.message());
        if (status.type() != std::filesystem::file_type::not_found)
            return make_error(Errc::invalid_input, "refusing to overwrite '" + o.output + "'", "choose another path");
        auto parent = std::filesystem::path(o.output).parent_path();
        if (parent.empty()) parent = ".";
        if (!std::filesystem::is_directory(parent, ec) || ::access(parent.c_str(), W_OK) != 0)
            return make_error(Errc::invalid_input, "cannot write --output '" + o.output + "': '" + parent.string() +
                                                       "' is not a writable folder");
    }
    if (!o.command.empty()) {
        // A clear G-code reaches the command through a private folder there.
        const char* tmp = std::getenv("TMPDIR");
        const std::string dir = tmp && *tmp ? tmp : "/tmp";
        if (!std::filesystem::is_directory(dir, ec) || ::access(dir.c_str(), W_OK | X_OK) != 0)
            return make_error(Errc::invalid_input, "cannot hand the G-code to '" + o.command[0] + "': '" + dir +
                                                       "' (TMPDIR) is not a writable folder");
    }
    if (o.operator_given && o.operator_name.empty()) return make_error(Errc::invalid_input, "--operator needs a name");
    return {};
}

// A job's error: on standard error after `where` (its line, in a batch), and in its
// answer `line`; the exit status.
int report_job(const Error& e, const std::string& where, Json& line) {
    line["error"] = e.message;
    if (!e.hint.empty()) line["hint"] = e.hint;
    return report(make_error(e.code, where + e.message, e.hint));
}

// How a job's outcome is shown: lines for people, the --json document, or one line of
// --batch output (written by the caller once the hand-over is done).
enum class Render { human, json, batch };

// One job in an open session: the checks and the record (print_verify), the outcome
// rendered, then the G-code handed over when allowed. Returns the exit status; with
// Render::batch, `line` gets the outcome and any error, and `where` (the job's line)
// starts the messages on standard error.
int run_job(const Context& ctx, const PrintOptions& o, WriteSession& session, Render render, Json& line,
            const std::string& where = "") {
    auto fail = [&](const Error& e) { return report_job(e, where, line); };
    PrintRequest req;
    req.license = o.license;
    req.device = o.device;
    req.material_lot = o.material_lot;
    if (!o.recipe.empty()) req.recipe = o.recipe;
    if (!o.file.empty()) req.file = o.file;
    req.serials = o.serials;
    if (!o.operator_name.empty()) req.operator_name = o.operator_name;
    req.time = session.now;
    req.mode = o.dry_run ? PrintMode::dry_run : PrintMode::record;
    auto out = print_verify(session.ledger, session.key, req);
    if (!out) return fail(out.error());
    for (auto& n : out->notices) warn(where + n);
    std::string code = out->refusal ? refusal_code(*out->refusal) : "";
    Json doc{{"decision", out->allowed ? "allowed" : "refused"},
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
             {"quota", out->quota}};
    if (render == Render::json) {
        print_json(doc);
    } else if (render == Render::batch) {
        line.update(doc);
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
        std::fprintf(stderr, "dvi: error: %sprint refused [%s]: %s\n", where.c_str(), code.c_str(),
                     out->message.c_str());
        return k_exit_negative;
    }
    if (o.dry_run) return k_exit_ok;
    Context quiet = ctx;  // a batch's stdout holds its result lines only
    if (render == Render::batch) quiet.globals.json = true;
    if (auto st = hand_over(quiet, o, *out, session.ledger); !st) return fail(st.error());
    return k_exit_ok;
}

// The packing a job's append left due, once the job is answered and its G-code handed
// over: a print does not wait for a merge of packs (hundreds of megabytes rewritten at a
// million records).
void pack_after_job(Ledger& ledger) {
    std::vector<std::string> notices;
    ledger.pack_if_due(notices);
    for (auto& n : notices) warn(n);
}

// No core file while a decrypted G-code may be in memory (a command gets the limit back).
void forbid_core_files() {
    struct rlimit no_core = core_limit_at_start();
    no_core.rlim_cur = 0;
    ::setrlimit(RLIMIT_CORE, &no_core);
}

// What every job names: the option, or the field of a --batch line.
struct Required {
    std::string PrintOptions::*field;
    const char* key;
    const char* option;
};
constexpr Required k_required[] = {{&PrintOptions::license, "license", "--license"},
                                   {&PrintOptions::device, "device", "--device"},
                                   {&PrintOptions::material_lot, "material_lot", "--material-lot"}};

// --batch: one job a line of standard input, a JSON object whose fields override the
// options given; a job's line longer than this is refused, unread.
constexpr std::size_t k_max_job_line = 64 * 1024;

// The next line of `in` into `line` (without its newline); false at the end. A longer
// line than k_max_job_line is skipped to its end and reported by `too_long`.
bool read_job_line(std::FILE* in, std::string& line, bool& too_long) {
    line.clear();
    too_long = false;
    int c = 0;
    bool any = false;
    while ((c = std::getc(in)) != EOF) {
        any = true;
        if (c == '\n') return true;
        if (line.size() < k_max_job_line)
            line.push_back(static_cast<char>(c));
        else
            too_long = true;
    }
    return any;
}

// A job's fields over the options given: strings, "serials" a list of strings,
// "dry_run" a boolean; an unknown or repeated field is bad input, so that a typo is not
// silently a different job.
Status parse_job(const std::string& text, PrintOptions& o) {
    std::vector<std::set<std::string>> seen;
    std::string repeated;
    Json job = Json::parse(
        text,
        [&](int depth, Json::parse_event_t event, Json& value) {
            if (event == Json::parse_event_t::object_start) seen.emplace_back();
            if (event == Json::parse_event_t::object_end) seen.pop_back();
            if (event == Json::parse_event_t::key && depth == 1 && !seen.back().insert(value.get<std::string>()).second)
                repeated = value.get<std::string>();
            return true;
        },
        false);
    if (job.is_discarded() || !job.is_object())
        return make_error(
            Errc::invalid_input, "a job must be one JSON object on one line",
            R"(e.g. {"license": "3f2a9c", "material_lot": "polyfil/PETG-2026-0117", "serials": ["BRK-1"]})");
    if (!repeated.empty()) return make_error(Errc::invalid_input, "the job gives \"" + repeated + "\" twice");
    const std::map<std::string, std::string*> strings{
        {"license", &o.license}, {"device", &o.device}, {"material_lot", &o.material_lot}, {"recipe", &o.recipe},
        {"file", &o.file},       {"output", &o.output}, {"operator", &o.operator_name}};
    // What the command line cannot carry either: a NUL, or another control character.
    auto text_field = [](const Json& v) {
        return !util::control_char_in(v.get_ref<const std::string&>(), util::LineBreaks::refused);
    };
    for (auto& [key, value] : job.items()) {
        if (auto it = strings.find(key); it != strings.end()) {
            if (!value.is_string())
                return make_error(Errc::invalid_input, "the job's \"" + key + "\" must be a string");
            if (!text_field(value))
                return make_error(Errc::invalid_input, "the job's \"" + key + "\" holds a control character");
            // Empty is not "not given" (the command line refuses an empty value too): an
            // empty "file" would skip the comparison, an empty "output" hand over nothing.
            if (value.get_ref<const std::string&>().empty())
                return make_error(Errc::invalid_input, "the job's \"" + key + "\" is empty",
                                  "leave the field out to use the option's value or its default");
            *it->second = value.get<std::string>();
            if (key == "operator") o.operator_given = true;
        } else if (key == "serials") {
            o.serials.clear();
            if (!value.is_array())
                return make_error(Errc::invalid_input, "the job's \"serials\" must be a list of strings");
            for (auto& v : value) {
                if (!v.is_string())
                    return make_error(Errc::invalid_input, "the job's \"serials\" must be a list of strings");
                if (!text_field(v))
                    return make_error(Errc::invalid_input, "the job's \"serials\" hold a control character");
                o.serials.push_back(v.get<std::string>());
            }
        } else if (key == "dry_run") {
            if (!value.is_boolean())
                return make_error(Errc::invalid_input, "the job's \"dry_run\" must be true or false");
            if (o.dry_run && !value.get<bool>())
                return make_error(Errc::invalid_input, "the batch is a dry run (--dry-run): no job of it is recorded");
            o.dry_run = value.get<bool>();
        } else {
            return make_error(
                Errc::invalid_input, "the job has an unknown field \"" + key + "\"",
                "fields: license, device, material_lot, recipe, file, serials, operator, output, dry_run");
        }
    }
    for (auto& r : k_required)
        if ((o.*r.field).empty())
            return make_error(Errc::invalid_input, std::string("the job has no \"") + r.key + "\"",
                              std::string("give it on the line or as ") + r.option);
    return {};
}

// --batch: the key loaded and the ledger opened once, then one job a line of standard
// input, each answered by one line of JSON on standard output as soon as it is done (the
// refs are read afresh for every job: other writers and syncs move them meanwhile; and
// packs merged away since the last job are let go).
// SIGINT and SIGTERM wait while a job runs, so that a job recorded is a job answered.
// The exit status is the worst of the jobs'.
int run_batch(Context& ctx, const PrintOptions& defaults) {
    if (auto st = check_job(defaults); !st) return report(st.error());
    forbid_core_files();
    ::prctl(PR_SET_DUMPABLE, 0);  // a long-lived holder of the key: no debugger attaches, as ssh-agent
    auto session = ctx.write_session();
    if (!session) return report(session.error());
    session->ledger.set_auto_pack(Ledger::AutoPack::when_asked);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    int worst = k_exit_ok;
    std::string text;
    bool too_long = false;
    for (std::int64_t n = 1; read_job_line(stdin, text, too_long); ++n) {
        if (!too_long && text.find_first_not_of(" \t\r") == std::string::npos) continue;
        ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
        std::string where = "line " + std::to_string(n) + ": ";
        Json line{{"line", n}};
        PrintOptions o = defaults;
        int rc = k_exit_ok;
        auto fail = [&](const Error& e) { rc = report_job(e, where, line); };
        // The batch's command is for the jobs it records: a dry-run job hands nothing over.
        auto as_checked = [](PrintOptions job) {
            if (job.dry_run) job.command.clear();
            return job;
        };
        try {
            if (too_long) {
                fail(make_error(Errc::invalid_input,
                                "the job is longer than " + std::to_string(k_max_job_line) + " bytes"));
            } else if (auto st = parse_job(text, o); !st) {
                fail(st.error());
            } else if (auto ok = check_job(as_checked(o)); !ok) {
                fail(ok.error());
            } else if (auto now = ctx.now(); !now) {
                fail(now.error());
            } else {
                session->now = *now;
                // After a pack run (ours or another agent's), the heap it grew goes back too.
                if (session->ledger.refresh()) ::malloc_trim(0);
                rc = run_job(ctx, o, *session, Render::batch, line, where);
            }
        } catch (const std::exception& e) {
            fail(make_error(Errc::internal, std::string("internal error: ") + e.what(),
                            "please report this with the job's line"));
        }
        line["exit"] = rc;
        worst = std::max(worst, rc);
        std::string out = line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
        bool written = std::fwrite(out.data(), 1, out.size(), stdout) == out.size() && std::fflush(stdout) == 0;
        ::sigprocmask(SIG_UNBLOCK, &stop_signals, nullptr);  // a signal that came meanwhile acts now
        if (!written)
            return report(make_error(Errc::io,
                                     std::string("cannot write the answer to ") + where + std::strerror(errno),
                                     "the job's outcome is in the ledger: dvi log"));
        pack_after_job(session->ledger);
    }
    return worst;
}

int run_print_verify(Context& ctx, const PrintOptions& o) {
    if (o.batch) return run_batch(ctx, o);
    for (auto& r : k_required)
        if ((o.*r.field).empty()) {
            std::fprintf(stderr, "dvi: error: %s is required\ndvi: hint: see 'dvi print-verify -h'\n", r.option);
            return k_exit_usage;
        }
    if (auto st = check_job(o); !st) return report(st.error());
    forbid_core_files();
    auto session = ctx.write_session();
    if (!session) return report(session.error());
    session->ledger.set_auto_pack(Ledger::AutoPack::when_asked);
    Json unused;
    int rc = run_job(ctx, o, *session, ctx.globals.json ? Render::json : Render::human, unused);
    pack_after_job(session->ledger);
    return rc;
}

}  // namespace

void register_print_verify(CLI::App& root, Registry& reg) {
    auto o = std::make_shared<PrintOptions>();
    auto* app = root.add_subcommand("print-verify",
                                    "Check a print against its licence, device, lot and dossier; record it; hand over "
                                    "the sealed G-code");
    app->add_option("--license", o->license,
                    "The licence (allocation) addressed to this printer agent (required without --batch)")
        ->type_name("<id>");
    app->add_option("--device", o->device, "The printer's serial, as in the roster (required without --batch)")
        ->type_name("<serial>");
    app->add_option("--material-lot", o->material_lot,
                    "The lot loaded: id, id prefix or supplier/lot (required without --batch)")
        ->type_name("<id>");
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
    app->add_flag("--batch", o->batch,
                  "Jobs from standard input, a JSON object a line over the options given; a JSON line out for each")
        ->excludes("--file")
        ->excludes("--output")
        ->excludes("--serial");
    app->add_option("command", o->command,
                    "After --: a command given the sealed G-code's path ({} or appended); an encrypted one is "
                    "decrypted to a memory file, /dev/fd/<n>")
        ->type_name("<command>");
    app->footer(
        "Exit status: 0 allowed and recorded; 1 refused (recorded, with its reason code); 2 bad input;\n"
        "128 fatal. With --batch, the worst of the jobs'.\n\nExamples:\n  dvi print-verify --license 3f2a9c "
        "--device S5-0412 --material-lot polyfil/PETG-2026-0117 \\\n      --serial BRK-2026-00017 -- "
        "octoprint-upload {}\n  echo '{\"license\": \"3f2a9c\", \"serials\": [\"BRK-2026-00018\"]}' |\n"
        "      dvi print-verify --batch --device S5-0412 --material-lot polyfil/PETG-2026-0117");
    reg.add(app, [o](Context& ctx) { return run_print_verify(ctx, *o); });
}

}  // namespace dvi::cli
