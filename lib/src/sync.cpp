#include "dvi/sync.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "dvi/crypto.hpp"
#include "dvi/util/encoding.hpp"
#include "dvi/util/fs.hpp"
#include "git.hpp"
#include "import.hpp"

namespace dvi {

namespace fs = std::filesystem;

namespace {

using detail::repo_of;

// ---------------------------------------------------------------------------------
// ssh: host keys from known_hosts files, credentials from the agent or key files.

// Whether `host` (port `port`) is listed in one of `files` with the key whose SHA-256
// is `sha256`. Hashed names (|1|salt|hash) are matched as OpenSSH does; a @revoked
// line for that key refuses it outright.
bool host_key_known(const std::vector<fs::path>& files, const std::string& host, int port, const unsigned char* sha256) {
    std::string name = port == 22 ? host : "[" + host + "]:" + std::to_string(port);
    auto name_matches = [&](std::string_view patterns) {
        std::size_t start = 0;
        while (start <= patterns.size()) {
            auto comma = patterns.find(',', start);
            std::string_view p = patterns.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
            if (p.rfind("|1|", 0) == 0) {
                auto bar = p.find('|', 3);
                if (bar != std::string_view::npos) {
                    auto salt = util::base64_decode(p.substr(3, bar - 3));
                    auto hash = util::base64_decode(p.substr(bar + 1));
                    if (salt && hash && crypto::hmac_sha1(*salt, name) == *hash) return true;
                }
            } else if (p == name) {
                return true;
            }
            if (comma == std::string_view::npos) break;
            start = comma + 1;
        }
        return false;
    };
    bool known = false;
    for (auto& f : files) {
        auto text = util::read_file(f, 16u << 20);
        if (!text) continue;
        std::size_t pos = 0;
        while (pos < text->size()) {
            auto nl = text->find('\n', pos);
            std::string line = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            pos = nl == std::string::npos ? text->size() : nl + 1;
            std::vector<std::string> fields;
            std::size_t i = 0;
            while (i < line.size() && fields.size() < 4) {
                while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
                std::size_t j = i;
                while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
                if (j > i) fields.push_back(line.substr(i, j - i));
                i = j;
            }
            if (fields.empty() || fields[0][0] == '#') continue;
            bool revoked = false;
            if (fields[0][0] == '@') {
                if (fields[0] != "@revoked") continue;  // @cert-authority: not supported
                revoked = true;
                fields.erase(fields.begin());
            }
            if (fields.size() < 3 || !name_matches(fields[0])) continue;
            auto blob = util::base64_decode(fields[2]);
            if (!blob) continue;
            auto d = crypto::sha256(std::string_view(reinterpret_cast<const char*>(blob->data()), blob->size()));
            if (!std::equal(d.begin(), d.end(), sha256)) continue;
            if (revoked) return false;
            known = true;
        }
    }
    return known;
}

// Host and port of an ssh URL ("ssh://[user@]host[:port]/path" or "[user@]host:path").
std::pair<std::string, int> ssh_host_port(const std::string& url) {
    std::string rest = url;
    int port = 22;
    if (rest.rfind("ssh://", 0) == 0) {
        rest = rest.substr(6);
        rest = rest.substr(0, rest.find('/'));
        if (auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(at + 1);
        if (rest.size() > 1 && rest[0] == '[') {
            auto close = rest.find(']');
            std::string host = rest.substr(1, close - 1);
            if (close + 1 < rest.size() && rest[close + 1] == ':') port = std::atoi(rest.c_str() + close + 2);
            return {host, port};
        }
        if (auto colon = rest.find(':'); colon != std::string::npos) {
            port = std::atoi(rest.c_str() + colon + 1);
            rest = rest.substr(0, colon);
        }
        return {rest, port};
    }
    if (auto at = rest.find('@'); at != std::string::npos && at < rest.find(':')) rest = rest.substr(at + 1);
    return {rest.substr(0, rest.find(':')), port};
}

std::string local_user() {
    if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) return pw->pw_name;
    return "git";
}

// What the libgit2 callbacks of one connection share.
struct Connection {
    const SyncRequest* req = nullptr;
    std::string url;
    int key_attempts = 0;
    std::string error;                          // why we refused a host or ran out of keys
    std::map<std::string, std::string> rejected;  // ref -> the remote's reason (push)
    std::string remote_messages;                // what the remote's hook said (push)
};

int on_credentials(git_credential** out, const char*, const char* user_from_url, unsigned int allowed, void* payload) {
    auto* c = static_cast<Connection*>(payload);
    std::string user = user_from_url && *user_from_url ? user_from_url : local_user();
    if (allowed & GIT_CREDENTIAL_USERNAME) return git_credential_username_new(out, user.c_str());
    if (allowed & GIT_CREDENTIAL_SSH_KEY) {
        int agent = c->req && c->req->ssh_agent ? 1 : 0;
        int attempt = c->key_attempts++;
        if (attempt < agent) return git_credential_ssh_key_from_agent(out, user.c_str());
        auto k = static_cast<std::size_t>(attempt - agent);
        if (c->req && k < c->req->ssh_keys.size()) {
            std::string priv = c->req->ssh_keys[k].string();
            std::string pub = priv + ".pub";
            std::error_code ec;
            return git_credential_ssh_key_new(out, user.c_str(), fs::exists(pub, ec) ? pub.c_str() : nullptr,
                                              priv.c_str(), nullptr);
        }
    }
    c->error = "no ssh key was accepted by '" + c->url + "' (tried " +
               std::string(c->req && c->req->ssh_agent ? "the ssh agent and " : "") +
               std::to_string(c->req ? c->req->ssh_keys.size() : 0) + " key file(s))";
    return GIT_EAUTH;
}

int on_certificate(git_cert* cert, int, const char* host, void* payload) {
    auto* c = static_cast<Connection*>(payload);
    if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) return GIT_PASSTHROUGH;  // TLS: the system's CAs
    auto* hk = reinterpret_cast<git_cert_hostkey*>(cert);
    auto [url_host, port] = ssh_host_port(c->url);
    std::string name = host ? host : url_host;
    if ((hk->type & GIT_CERT_SSH_SHA256) && c->req &&
        host_key_known(c->req->known_hosts, name, port, reinterpret_cast<const unsigned char*>(hk->hash_sha256)))
        return 0;
    std::string fp = (hk->type & GIT_CERT_SSH_SHA256)
                         ? util::base64_encode(reinterpret_cast<const std::uint8_t*>(hk->hash_sha256), 32)
                         : std::string("?");
    while (!fp.empty() && fp.back() == '=') fp.pop_back();
    c->error = "the host key of '" + name + "' (SHA256:" + fp + ") is not in known_hosts";
    return GIT_ECERTIFICATE;
}

int on_transfer(const git_indexer_progress* stats, void* payload) {
    auto* c = static_cast<Connection*>(payload);
    if (c->req && c->req->progress) c->req->progress("receiving", stats->received_objects, stats->total_objects);
    return 0;
}

int on_push_status(const char* ref, const char* status, void* payload) {
    if (status) static_cast<Connection*>(payload)->rejected[ref] = status;
    return 0;
}

int on_sideband(const char* text, int len, void* payload) {
    static_cast<Connection*>(payload)->remote_messages.append(text, static_cast<std::size_t>(len));
    return 0;
}

// The certificate authorities, loaded only for a remote over HTTP (http:// may redirect
// to https://): a path, git:// or ssh:// has no use for them, nor for a broken
// SSL_CERT_FILE.
Status prepare_transport(const std::string& url, const SyncRequest& req) {
    std::string scheme = url.substr(0, std::min(url.find("://"), url.size()));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (scheme != "https" && scheme != "http") return {};
    return git::load_tls_authorities(req.tls_ca_file, req.tls_ca_dir);
}

git_remote_callbacks callbacks_for(Connection& c) {
    git_remote_callbacks cb;
    git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
    cb.credentials = on_credentials;
    cb.certificate_check = on_certificate;
    cb.transfer_progress = on_transfer;
    cb.push_update_reference = on_push_status;
    cb.sideband_progress = on_sideband;
    cb.payload = &c;
    return cb;
}

Error transport_error(int rc, const Connection& c, const std::string& what) {
    Error e = git::error(rc, what);
    if (!c.error.empty()) e.message = what + ": " + c.error;
    e.code = Errc::io;
    if (c.error.find("known_hosts") != std::string::npos) {
        e.code = Errc::denied;
        e.hint = "check the key with its owner, then add it to known_hosts (ssh-keyscan prints it)";
    } else if (rc == GIT_ECERTIFICATE) {  // TLS: mbedTLS gives one line per reason
        e.code = Errc::denied;
        for (auto at = e.message.find('\n'); at != std::string::npos; at = e.message.find('\n', at))
            e.message.replace(at, 1, "; ");
        if (e.message.find("not correctly signed by the trusted CA") == std::string::npos)
            e.hint = "check the server's name and certificate with whoever runs it";
        else if (c.req && (c.req->tls_ca_file || c.req->tls_ca_dir))
            e.hint = "SSL_CERT_FILE and SSL_CERT_DIR hold no CA that issued the server's certificate";
        else
            e.hint = "if a private CA issued the server's certificate, name that CA's certificate in SSL_CERT_FILE";
    }
    return e;
}

// A remote named in the ledger's config, else the argument itself as a path or URL.
struct Endpoint {
    std::string url;
    std::optional<fs::path> local;  // set when the other side is a ledger on this machine
};

Result<Endpoint> resolve(const Ledger& ledger, const std::string& given) {
    std::string name = given.empty() ? "origin" : given;
    Endpoint ep;
    git_remote* raw = nullptr;
    if (git_remote_lookup(&raw, repo_of(ledger), name.c_str()) == 0) {
        git::Remote remote(raw);
        ep.url = git_remote_url(remote.get()) ? git_remote_url(remote.get()) : "";
    } else {
        git_error_clear();
        if (given.empty())
            return make_error(Errc::invalid_input, "no remote given, and the ledger has no remote 'origin'",
                              "give a path or URL, or add one with 'git -C <ledger> remote add origin <url>'");
        ep.url = given;
    }
    std::string path = ep.url;
    if (path.rfind("file://", 0) == 0) path = path.substr(7);
    bool url_like = path.find("://") != std::string::npos ||
                    (path.find(':') != std::string::npos && path.find(':') < path.find('/'));
    if (!url_like) {
        std::error_code ec;
        if (!fs::is_directory(path, ec))
            return make_error(Errc::not_found, "no ledger at " + util::quote(path), "give the path or URL of a partner's ledger");
        ep.local = fs::absolute(path, ec);
        ep.url = ep.local->string();
    }
    return ep;
}

// Connects for a fetch and lists the chain heads the other side holds.
Result<std::vector<detail::Offer>> connect_and_list(git_remote* remote, Connection& c, const git_remote_callbacks& cb) {
    git_proxy_options proxy;
    git_proxy_options_init(&proxy, GIT_PROXY_OPTIONS_VERSION);
    if (int rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &cb, &proxy, nullptr); rc != 0)
        return transport_error(rc, c, "cannot reach '" + c.url + "'");
    const git_remote_head** heads = nullptr;
    std::size_t n = 0;
    DVI_CHECK(git::check(git_remote_ls(&heads, &n, remote), "cannot list the refs of '" + c.url + "'"));
    std::vector<detail::Offer> offers;
    for (std::size_t i = 0; i < n; ++i)
        if (auto w = writer_of_chain_ref(heads[i]->name)) offers.push_back({*w, git::oid_hex(heads[i]->oid)});
    return offers;
}

struct Fetched {
    ImportOutcome outcome;
    std::map<WriterId, std::string> remote_heads;  // what the other side holds
};

// Downloads the other side's chains into a quarantine of `dst`, verifies them and moves
// the refs that pass.
Result<Fetched> fetch_into(Ledger& dst, const std::string& url, const SyncRequest& req) {
    DVI_CHECK(prepare_transport(url, req));
    DVI_TRY(lock, detail::lock_imports(dst));
    DVI_TRY(q, detail::Quarantine::create(dst));
    git_remote* raw = nullptr;
    DVI_CHECK(git::check(git_remote_create_anonymous(&raw, repo_of(q.ledger()), url.c_str()),
                         "cannot use remote '" + url + "'"));
    git::Remote remote(raw);
    Connection c{&req, url, 0, {}, {}, {}};
    git_remote_callbacks cb = callbacks_for(c);
    DVI_TRY(offers, connect_and_list(remote.get(), c, cb));
    Fetched out;
    for (auto& o : offers) out.remote_heads[o.writer] = o.commit;
    if (!offers.empty()) {
        git_fetch_options fo;
        git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
        fo.callbacks = cb;
        fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
        char spec[] = "refs/dvi/chains/*:refs/dvi/chains/*";
        char* specs[] = {spec};
        git_strarray refspecs{specs, 1};
        if (int rc = git_remote_download(remote.get(), &refspecs, &fo); rc != 0)
            return transport_error(rc, c, "cannot fetch from '" + url + "'");
    }
    git_remote_disconnect(remote.get());
    DVI_TRY(outcome, detail::import_offers(dst, q.ledger(), offers, detail::ImportMode::apply, req.progress,
                                           [&] { return q.migrate(dst); }));
    out.outcome = std::move(outcome);
    return out;
}

// Offers our chains to a git:// or ssh:// ledger, whose pre-receive hook verifies them.
Result<std::vector<ChainSync>> push_to(Ledger& ledger, const std::string& url, const SyncRequest& req,
                                       const std::map<WriterId, std::string>& remote_heads, std::size_t& refused) {
    DVI_TRY(heads, ledger.chains());
    std::vector<std::string> specs;
    std::vector<ChainSync> out;
    for (auto& h : heads) {
        ChainSync s;
        s.writer = h.writer;
        s.to = h.commit;
        s.to_seq = h.seq;
        auto it = remote_heads.find(h.writer);
        if (it != remote_heads.end()) {
            if (it->second == h.commit) continue;
            git_oid ours, theirs;
            git_oid_fromstr(&ours, h.commit.c_str());
            git_oid_fromstr(&theirs, it->second.c_str());
            // Only what extends their chain; a fork or their being ahead was settled by the fetch.
            if (git_graph_descendant_of(repo_of(ledger), &ours, &theirs) != 1) {
                git_error_clear();
                continue;
            }
            s.from = it->second;
            DVI_TRY(theirs_head, ledger.head_at(h.writer, it->second));
            s.from_seq = theirs_head.seq;
            s.status = ChainStatus::advanced;
        } else {
            s.status = ChainStatus::new_chain;
        }
        s.records = h.seq - s.from_seq;
        specs.push_back(h.writer.ref() + ":" + h.writer.ref());
        out.push_back(std::move(s));
    }
    if (specs.empty()) return out;
    git_remote* raw = nullptr;
    DVI_CHECK(git::check(git_remote_create_anonymous(&raw, repo_of(ledger), url.c_str()), "cannot use remote '" + url + "'"));
    git::Remote remote(raw);
    DVI_CHECK(prepare_transport(url, req));
    Connection c{&req, url, 0, {}, {}, {}};
    git_push_options po;
    git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
    po.callbacks = callbacks_for(c);
    std::vector<char*> ptrs;
    for (auto& s : specs) ptrs.push_back(s.data());
    git_strarray refspecs{ptrs.data(), ptrs.size()};
    if (int rc = git_remote_push(remote.get(), &refspecs, &po); rc != 0) {
        // A hook that declines shows up as a status per ref, not always as an error.
        if (c.rejected.empty()) return transport_error(rc, c, "cannot push to '" + url + "'");
        git_error_clear();
    }
    std::string said;
    for (char ch : c.remote_messages)
        if (ch != '\r') said += ch;
    for (auto& s : out) {
        auto it = c.rejected.find(s.writer.ref());
        if (it == c.rejected.end()) continue;
        s.status = ChainStatus::refused;
        s.records = 0;
        s.reason = it->second + (said.empty() ? "" : " (the remote said: " + said.substr(0, 2000) + ")");
        ++refused;
    }
    return out;
}

// A ledger on this machine must be one of this consortium: chains pushed into any other
// repository would be taken unchecked, and another consortium's would refuse every chain
// without saying why.
Status check_same_consortium(const Ledger& ours, const fs::path& path) {
    auto other = Ledger::open(path);
    if (!other) {
        Error e = other.error();
        if (e.code != Errc::io && e.code != Errc::repository)
            e.hint = "give the path of a partner's ledger (made by 'dvi init')";
        return e;
    }
    DVI_TRY(mine, ours.config_get("dvi.genesis"));
    DVI_TRY(theirs, other->config_get("dvi.genesis"));
    if (!theirs)
        return make_error(Errc::invalid_input, "not a dvi ledger: " + util::quote(path) + " pins no consortium genesis",
                          "give the path of a partner's ledger (made by 'dvi init')");
    if (mine && *mine != *theirs)
        return make_error(Errc::invalid_input,
                          "the ledger at " + util::quote(path) + " is of another consortium (genesis " + *theirs +
                              ", ours " + *mine + ")",
                          "give the path of a partner's ledger of this consortium");
    return {};
}

}  // namespace

Result<SyncOutcome> ledger_sync(Ledger& ledger, const SyncRequest& req) {
    DVI_TRY(ep, resolve(ledger, req.remote));
    if (ep.local) DVI_CHECK(check_same_consortium(ledger, *ep.local));
    SyncOutcome out;
    out.url = ep.url;
    std::map<WriterId, std::string> remote_heads;
    if (req.direction != SyncRequest::Direction::push) {
        DVI_TRY(fetched, fetch_into(ledger, ep.url, req));
        out.fetched = std::move(fetched.outcome);
        remote_heads = std::move(fetched.remote_heads);
    }
    if (req.direction == SyncRequest::Direction::fetch) return out;
    if (ep.local) {
        // A ledger on this machine takes our chains itself, verifying them as we just did.
        DVI_TRY(other, Ledger::open(*ep.local));
        SyncRequest quiet = req;
        quiet.progress = nullptr;
        DVI_TRY(taken, fetch_into(other, ledger.path().string(), quiet));
        for (auto& s : taken.outcome.chains) {
            if (s.records == 0 && s.status != ChainStatus::refused && s.status != ChainStatus::partial &&
                s.status != ChainStatus::fork)
                continue;
            out.pushed.push_back(s);
        }
        out.push_refused = taken.outcome.refused + taken.outcome.forks;
        out.push_notices = taken.outcome.notices;
        return out;
    }
    if (req.direction == SyncRequest::Direction::push) {
        // The remote's heads, to offer only what extends them.
        git_remote* raw = nullptr;
        DVI_CHECK(git::check(git_remote_create_anonymous(&raw, repo_of(ledger), ep.url.c_str()),
                             "cannot use remote '" + ep.url + "'"));
        git::Remote remote(raw);
        DVI_CHECK(prepare_transport(ep.url, req));
        Connection c{&req, ep.url, 0, {}, {}, {}};
        git_remote_callbacks cb = callbacks_for(c);
        DVI_TRY(offers, connect_and_list(remote.get(), c, cb));
        for (auto& o : offers) remote_heads[o.writer] = o.commit;
    }
    DVI_TRY(pushed, push_to(ledger, ep.url, req, remote_heads, out.push_refused));
    out.pushed = std::move(pushed);
    return out;
}

Result<ImportOutcome> receive_verify(Ledger& ledger, const std::vector<RefUpdate>& updates) {
    std::vector<detail::Offer> offers;
    const std::string zeros(GIT_OID_HEXSZ, '0');
    for (auto& u : updates) {
        auto w = writer_of_chain_ref(u.ref);
        if (!w) return make_error(Errc::denied, "only chains may be pushed to a ledger, not '" + u.ref + "'");
        if (u.new_commit == zeros) return make_error(Errc::denied, "chains are never deleted: '" + u.ref + "'");
        offers.push_back({*w, u.new_commit});
    }
    return detail::import_offers(ledger, ledger, offers, detail::ImportMode::verify_only, nullptr, nullptr);
}

Result<Ledger> ledger_open_for_hook() { return Ledger::open_from_git_environment(); }

Status install_receive_hook(const Ledger& ledger, const fs::path& dvi_path) {
    std::string quoted = "'";
    for (char c : dvi_path.string()) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    quoted += "'";
    std::string script =
        "#!/bin/sh\n"
        "# Installed by dvi: chains pushed to this ledger are verified before git moves a ref\n"
        "# (dvi-sync(1)). Without it, git would take any fast-forward.\n"
        "dvi=" + quoted + "\n"
        "[ -x \"$dvi\" ] || dvi=dvi\n"
        "exec \"$dvi\" sync --receive\n";
    fs::path hook = ledger.path() / "hooks" / "pre-receive";
    std::error_code ec;
    fs::create_directories(hook.parent_path(), ec);
    DVI_CHECK(util::write_file_atomic(hook, script, util::FileMode::public_0644, util::Overwrite::yes));
    fs::permissions(hook, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec, fs::perm_options::add, ec);
    if (ec) return make_error(Errc::io, "cannot make " + util::quote(hook) + " executable: " + ec.message());
    return {};
}

Result<ImportOutcome> import_from(Ledger& ledger, const std::string& source, const SyncRequest& options) {
    std::error_code ec;
    if (fs::is_regular_file(source, ec)) {
        if (!detail::is_bundle_file(source))
            return make_error(Errc::invalid_input, util::quote(source) + " is neither a ledger nor a git bundle");
        return bundle_import(ledger, source, options.progress);
    }
    std::string url = source;
    if (url.find("://") == std::string::npos && fs::exists(url, ec)) url = fs::absolute(url, ec).string();
    DVI_TRY(fetched, fetch_into(ledger, url, options));
    return fetched.outcome;
}

}  // namespace dvi
