#include "dvi/init.hpp"

#include <algorithm>

#include "dvi/record.hpp"
#include "dvi/roster.hpp"
#include "dvi/roster_ops.hpp"
#include "dvi/util/fs.hpp"
#include "git.hpp"

namespace dvi {

namespace fs = std::filesystem;

namespace {

// Removes a directory this operation created, unless disarmed by success.
class CreatedDir {
public:
    explicit CreatedDir(fs::path p) : m_path(std::move(p)) {
        std::error_code ec;
        m_existed = fs::exists(m_path, ec);
    }
    ~CreatedDir() {
        if (m_armed) {
            std::error_code ec;
            if (m_existed) {
                for (auto& e : fs::directory_iterator(m_path, ec)) fs::remove_all(e.path(), ec);
            } else {
                fs::remove_all(m_path, ec);
            }
        }
    }
    void disarm() { m_armed = false; }

private:
    fs::path m_path;
    bool m_existed = false;
    bool m_armed = true;
};

Status check_names(const std::string& partner, const std::string& writer) {
    if (!is_valid_name(partner))
        return make_error(Errc::invalid_input, "invalid partner id '" + partner + "'",
                          "use lower-case letters, digits, '-' and '_' (at most 63)");
    if (!is_valid_name(writer))
        return make_error(Errc::invalid_input, "invalid writer name '" + writer + "'",
                          "use lower-case letters, digits, '-' and '_' (at most 63)");
    return {};
}

Status check_target(const fs::path& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return {};
    if (!fs::is_directory(dir, ec))
        return make_error(Errc::invalid_input,
                          "cannot create ledger " + util::quote(dir) + ": it is a file, not a folder");
    if (!fs::is_empty(dir, ec))
        return make_error(Errc::invalid_input, "cannot create ledger " + util::quote(dir) + ": it exists and is not empty");
    return {};
}

Status remember_identity(Ledger& l, const std::string& genesis, const std::string& genesis_commit,
                         const std::string& consortium, const WriterId& w, const fs::path& key_path) {
    DVI_CHECK(l.config_set("dvi.genesis", genesis));
    DVI_CHECK(l.config_set("dvi.consortium", consortium));
    DVI_CHECK(l.config_set("dvi.partner", w.partner));
    DVI_CHECK(l.config_set("dvi.writer", w.writer));
    if (!key_path.empty()) {
        std::error_code ec;
        DVI_CHECK(l.config_set("dvi.key", fs::absolute(key_path, ec).string()));
    }
    // HEAD is detached at the genesis commit: `git log` starts from the trust root, and
    // git fsck is content (it calls a symbolic HEAD outside refs/heads "strange").
    git_oid oid;
    DVI_CHECK(git::check(git_oid_fromstr(&oid, genesis_commit.c_str()), "bad genesis commit"));
    DVI_CHECK(git::check(git_repository_set_head_detached(static_cast<git_repository*>(l.raw_repository()), &oid),
                         "cannot set HEAD"));
    // Chains are append-only: never accept a non-fast-forward from anyone.
    DVI_CHECK(l.config_set("receive.denyNonFastForwards", "true"));
    DVI_CHECK(l.config_set("receive.denyDeletes", "true"));
    return {};
}

}  // namespace

Result<InitOutcome> ledger_init(const InitRequest& req) {
    if (!req.key) return make_error(Errc::internal, "init without a key");
    if (req.consortium.empty() || req.consortium.size() > 128)
        return make_error(Errc::invalid_input, "the consortium needs a name (at most 128 characters)");
    DVI_CHECK(check_names(req.partner, req.writer));
    for (auto& r : req.roles) {
        auto& all = all_roles();
        if (std::find(all.begin(), all.end(), r) == all.end())
            return make_error(Errc::invalid_input, "unknown role '" + r + "'");
    }
    DVI_CHECK(check_target(req.dir));
    CreatedDir guard(req.dir);
    DVI_TRY(ledger, Ledger::create(req.dir));

    std::vector<std::string> roles = req.roles;
    roles.push_back("authority");
    std::sort(roles.begin(), roles.end());
    roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
    WriterId w{req.partner, req.writer};
    Signer signer{req.key, w};
    Json body{{"action", "genesis"},
              {"consortium", req.consortium},
              {"partner", req.partner},
              {"roles", roles},
              {"writer", {{"name", req.writer}, {"key", req.key->public_key().openssh()}}}};
    DVI_TRY(appended, roster_append(ledger, Roster(), signer, body, req.time, "roster: genesis of " + req.consortium));
    DVI_CHECK(remember_identity(ledger, appended.append.record_id, appended.append.commit, req.consortium, w, req.key_path));
    if (!req.hook_dvi.empty()) DVI_CHECK(install_receive_hook(ledger, req.hook_dvi));
    guard.disarm();
    return InitOutcome{ledger.path(), appended.append.record_id, appended.append.commit, w};
}

Result<JoinOutcome> ledger_join(const JoinRequest& req) {
    if (!req.key) return make_error(Errc::internal, "join without a key");
    DVI_CHECK(check_names(req.partner, req.writer));
    if (req.trust && !is_record_id(*req.trust))
        return make_error(Errc::invalid_input, "--trust needs a full genesis id 'sha256:<64 hex>'");
    DVI_CHECK(check_target(req.dir));
    std::string source = req.source;
    std::error_code ec;
    const bool url_like = source.find("://") != std::string::npos ||
                          (source.find(':') != std::string::npos && source.find(':') < source.find('/'));
    if (!url_like && !fs::exists(source, ec))
        return make_error(Errc::not_found, "no ledger or bundle at " + util::quote(source),
                          "give the path or URL of a partner's ledger, or a bundle file");
    bool bundle = fs::is_regular_file(source, ec);
    if (source.find("://") == std::string::npos && fs::exists(source, ec)) source = fs::absolute(source, ec).string();
    CreatedDir guard(req.dir);
    DVI_TRY(ledger, Ledger::create(req.dir));
    auto imported = import_from(ledger, source, req.transport);
    if (!imported) {
        auto e = imported.error();
        if (e.code == Errc::io && !bundle) {
            e.code = Errc::not_found;
            e.hint = "give the path or URL of a partner's ledger, or a bundle file";
        }
        return e;
    }
    if (imported->chains.empty()) return make_error(Errc::not_found, "'" + req.source + "' holds no dvi ledger");
    for (auto& c : imported->chains)
        if (c.status != ChainStatus::new_chain)
            return make_error(Errc::bad_signature, "chain '" + c.writer.str() + "' of '" + req.source + "' does not verify: " + c.reason,
                              "ask the partner to run 'dvi log' and 'dvi audit' on its ledger");
    if (!bundle) {
        git_remote* raw = nullptr;
        // `dvi sync` reads only the remote's URL. The fetch refspec is for stock git, and
        // keeps what a plain `git fetch` brings apart: into the chains, it would move
        // them past every check (no '+': nothing is ever forced either).
        DVI_CHECK(git::check(
            git_remote_create_with_fetchspec(&raw, static_cast<git_repository*>(ledger.raw_repository()), "origin",
                                             source.c_str(), "refs/dvi/chains/*:refs/remotes/origin/chains/*"),
            "cannot add remote '" + req.source + "'"));
        git_remote_free(raw);
    }
    auto roster = roster_load(ledger);
    if (!roster) {
        auto e = roster.error();
        if (e.code == Errc::not_found) {
            e.message = util::quote(req.source) + " holds no dvi ledger: no chain of it holds a roster";
            e.hint = bundle ? "ask for a bundle of every chain (dvi sync --bundle-out, without --since)"
                            : "give the path or URL of a partner's ledger, or a bundle file";
        }
        return e;
    }
    if (req.trust && *req.trust != roster->genesis())
        return make_error(Errc::bad_signature,
                          "'" + req.source + "' descends from genesis " + roster->genesis() + ", not the trusted " +
                              *req.trust,
                          "check the genesis id with the consortium's authority");
    WriterId w{req.partner, req.writer};
    JoinOutcome out;
    out.consortium = roster->consortium();
    out.genesis = roster->genesis();
    out.trusted_on_first_use = !req.trust;
    DVI_TRY(chains, ledger.chains());
    out.chains = chains.size();
    out.records = imported->records;
    out.writer = w;
    out.public_key = req.key->public_key().openssh();
    out.fingerprint = req.key->public_key().fingerprint();
    if (auto owner = roster->writer_by_fingerprint(out.fingerprint)) {
        if (!(*owner == w))
            return make_error(Errc::invalid_input, "this key is already admitted as '" + owner->str() + "'",
                              "join as --partner " + owner->partner + " --writer " + owner->writer);
        out.already_admitted = true;
    }
    DVI_TRY(genesis_record, ledger.find_record(out.genesis));
    const Json& issuer = genesis_record.json["issuer"];
    DVI_TRY(authority_commits, ledger.chain_commits(WriterId{issuer.value("partner", ""), issuer.value("writer", "")}));
    DVI_CHECK(remember_identity(ledger, out.genesis, authority_commits.back(), out.consortium, w, req.key_path));
    if (!req.hook_dvi.empty()) DVI_CHECK(install_receive_hook(ledger, req.hook_dvi));
    out.path = ledger.path();
    guard.disarm();
    return out;
}

}  // namespace dvi
