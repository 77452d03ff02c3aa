#include "dvi/keyfile.hpp"

#include <sys/stat.h>

#include <cstdio>

#include "dvi/util/fs.hpp"

namespace dvi {

namespace {
constexpr std::uintmax_t k_max_key_file = 64 * 1024;

// When `path` holds a public key (an "ssh-ed25519 ..." line): the error that says so.
std::optional<Error> public_key_error(const std::filesystem::path& path) {
    auto text = util::read_file(path, k_max_key_file);
    if (!text || text->rfind("ssh-", 0) != 0) return std::nullopt;
    const std::string name = path.string();
    const bool pub = name.size() > 4 && name.compare(name.size() - 4, 4, ".pub") == 0;
    return make_error(Errc::invalid_input, util::quote(path) + " is a public key, not a signing key",
                      pub ? "give its private key, " + util::quote(name.substr(0, name.size() - 4))
                          : "give the private key file (PKCS#8 PEM, from 'dvi key generate')");
}

Status check_permissions(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};  // read_file reports it
    if (st.st_mode & 077) {
        if (auto e = public_key_error(path)) return *e;
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return make_error(Errc::invalid_input,
                          std::string("permissions ") + mode + " for key " + util::quote(path) + " are too open",
                          "a private key must be readable by its owner only: chmod 600 " + util::quote(path));
    }
    return {};
}
}  // namespace

Result<bool> key_file_is_encrypted(const std::filesystem::path& path) {
    DVI_TRY(text, util::read_file(path, k_max_key_file));
    return crypto::is_encrypted_pem(text);
}

Result<crypto::PrivateKey> key_load(const std::filesystem::path& path, const std::optional<std::string>& passphrase) {
    DVI_CHECK(check_permissions(path));
    auto text = util::read_file(path, k_max_key_file);
    if (!text) {
        auto e = text.error();
        if (e.code == Errc::not_found) e.hint = "create a key with 'dvi key generate --out " + path.string() + "'";
        return e;
    }
    auto key = crypto::PrivateKey::from_pem(*text, passphrase);
    std::fill(text->begin(), text->end(), '\0');
    if (!key) {
        if (auto e = public_key_error(path)) return *e;  // a public key kept private
        auto e = key.error();
        e.message = "cannot load key " + util::quote(path) + ": " + e.message;
        return e;
    }
    return key;
}

Status key_save(const std::filesystem::path& path, const std::string& text) {
    return util::write_file_atomic(path, text, util::FileMode::private_0600, util::Overwrite::no);
}

}  // namespace dvi
