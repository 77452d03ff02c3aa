// dvi key generate|show: Ed25519 signing keys as PKCS#8 PEM (or OpenSSH) files.
#include <cstdio>

#include "common.hpp"
#include "dvi/keyfile.hpp"
#include "dvi/roster.hpp"
#include "dvi/util/fs.hpp"

namespace dvi::cli {

namespace {

struct KeyGenerateOptions {
    std::string out;
    bool passphrase = false;
    bool openssh = false;
};

struct KeyShowOptions {
    std::string file;
};

struct KeyExportOptions {
    std::string file;
    std::string out;
};

int run_key_generate(Context& ctx, const KeyGenerateOptions& o) {
    if (o.openssh && o.passphrase) {
        return report(make_error(Errc::invalid_input, "--openssh writes an unencrypted key; it cannot take --passphrase",
                                 "protect the OpenSSH key afterwards with 'ssh-keygen -p -f <file>'"));
    }
    if (ctx.globals.json && o.out.empty())
        return report(make_error(Errc::invalid_input,
                                 "--json prints a JSON document, and the key would be printed instead",
                                 "give --out <file>; the document then names the files"));
    std::optional<std::string> pass;
    if (o.passphrase) {
        auto p = read_passphrase("New passphrase: ", true);
        if (!p) return report(p.error());
        if (!*p) return report(make_error(Errc::invalid_input, "--passphrase needs DVI_KEY_PASSPHRASE or a terminal"));
        if ((*p)->empty())
            return report(make_error(Errc::invalid_input, "an empty passphrase protects nothing",
                                     "give one, or leave out --passphrase"));
        pass = **p;
    }
    auto key = crypto::PrivateKey::generate();
    if (!key) return report(key.error());
    auto text = o.openssh ? key->to_openssh(o.out.empty() ? "dvi" : o.out) : key->to_pem(pass);
    if (!text) return report(text.error());
    const auto& pub = key->public_key();
    if (o.out.empty()) {
        std::fputs(text->c_str(), stdout);
        if (!ctx.globals.quiet) std::fprintf(stderr, "dvi: public key: %s\n", pub.openssh().c_str());
        return k_exit_ok;
    }
    // Both files or neither: the public key's place is checked first, and a private key
    // whose public half could not be written after all is taken back.
    std::error_code ec;
    if (std::filesystem::is_directory(o.out + ".pub", ec))
        return report(make_error(Errc::invalid_input, "cannot write " + util::quote(o.out + ".pub") + ": it is a folder",
                                 "choose another --out"));
    if (auto st = key_save(o.out, *text); !st) return report(st.error());
    std::string pub_line = pub.openssh() + " " + std::filesystem::path(o.out).filename().string() + "\n";
    if (auto st = util::write_file_atomic(o.out + ".pub", pub_line, util::FileMode::public_0644, util::Overwrite::yes);
        !st) {
        std::filesystem::remove(o.out, ec);
        return report(st.error());
    }
    if (ctx.globals.json) {
        print_json({{"file", o.out},
                    {"public_key_file", o.out + ".pub"},
                    {"format", o.openssh ? "openssh" : "pkcs8"},
                    {"encrypted", pass.has_value()},
                    {"public_key", pub.openssh()},
                    {"fingerprint", pub.fingerprint()}});
    } else if (!ctx.globals.quiet) {
        std::printf("wrote %s (%s%s) and %s.pub\n%s\n%s\n", o.out.c_str(), o.openssh ? "OpenSSH" : "PKCS#8 PEM",
                    pass ? ", encrypted" : "", o.out.c_str(), pub.fingerprint().c_str(), pub.openssh().c_str());
    }
    return k_exit_ok;
}

int run_key_show(Context& ctx, const KeyShowOptions& o) {
    std::optional<Ledger> ledger;
    if (auto l = ctx.ledger()) ledger = std::move(*l);
    Context c = ctx;
    if (!o.file.empty()) c.globals.key = o.file;
    auto key = c.signing_key(ledger ? &*ledger : nullptr);
    if (!key) return report(key.error());
    const auto& pub = key->public_key();
    std::optional<WriterId> who;
    if (ledger) {
        if (auto roster = roster_load(*ledger)) who = roster->writer_by_fingerprint(pub.fingerprint());
    }
    if (ctx.globals.json) {
        print_json({{"public_key", pub.openssh()},
                    {"fingerprint", pub.fingerprint()},
                    {"writer", who ? Json(who->str()) : Json(nullptr)}});
    } else {
        std::printf("%s\n%s\n", pub.openssh().c_str(), pub.fingerprint().c_str());
        if (who && !ctx.globals.quiet) std::printf("roster: %s\n", who->str().c_str());
    }
    return k_exit_ok;
}

int run_key_export(Context& ctx, const KeyExportOptions& o) {
    Context c = ctx;
    if (!o.file.empty()) c.globals.key = o.file;
    std::optional<Ledger> ledger;
    if (o.file.empty())
        if (auto l = ctx.ledger()) ledger = std::move(*l);
    auto key = c.signing_key(ledger ? &*ledger : nullptr);
    if (!key) return report(key.error());
    auto text = key->to_openssh(std::filesystem::path(o.out).filename().string());
    if (!text) return report(text.error());
    if (auto st = key_save(o.out, *text); !st) return report(st.error());
    if (ctx.globals.json)
        print_json({{"file", o.out}, {"format", "openssh"}, {"fingerprint", key->public_key().fingerprint()}});
    else if (!ctx.globals.quiet)
        std::printf("wrote %s (OpenSSH, unencrypted) for %s\n", o.out.c_str(), key->public_key().fingerprint().c_str());
    return k_exit_ok;
}

}  // namespace

void register_key(CLI::App& root, Registry& reg) {
    auto* key = root.add_subcommand("key", "Create and inspect Ed25519 signing keys");
    key->require_subcommand(1);

    auto gen_opts = std::make_shared<KeyGenerateOptions>();
    auto* gen = key->add_subcommand("generate", "Create a new Ed25519 key (PKCS#8 PEM, mode 0600) and <file>.pub");
    gen->add_option("--out", gen_opts->out, "Write the key here (never overwritten); else to stdout")
        ->type_name("<file>");
    gen->add_flag("--passphrase", gen_opts->passphrase,
                  "Encrypt the key (DVI_KEY_PASSPHRASE, else asked on the terminal)");
    gen->add_flag("--openssh", gen_opts->openssh, "Write OpenSSH's own format, for ssh-keygen and git commit -S");
    gen->footer("Example:\n  dvi key generate --out ~/.dvi/acme-desk.pem");
    reg.add(gen, [gen_opts](Context& ctx) { return run_key_generate(ctx, *gen_opts); });

    auto show_opts = std::make_shared<KeyShowOptions>();
    auto* show = key->add_subcommand("show", "Print a key's public line and SHA256 fingerprint");
    show->add_option("file", show_opts->file, "Private key file (default: the signing key)")->type_name("<file>");
    reg.add(show, [show_opts](Context& ctx) { return run_key_show(ctx, *show_opts); });

    auto export_opts = std::make_shared<KeyExportOptions>();
    auto* exp = key->add_subcommand("export", "Write a key in OpenSSH's format, for ssh-keygen -Y and git commit -S");
    exp->add_option("file", export_opts->file, "Private key file (default: the signing key)")->type_name("<file>");
    exp->add_option("--out", export_opts->out, "The OpenSSH key file to write (mode 0600, never overwritten)")
        ->type_name("<file>")
        ->required();
    exp->footer("Example:\n  dvi key export acme.pem --out acme.ssh\n"
                "  git -c gpg.format=ssh -c user.signingkey=$PWD/acme.ssh commit -S ...");
    reg.add(exp, [export_opts](Context& ctx) { return run_key_export(ctx, *export_opts); });
}

}  // namespace dvi::cli
