// SSH signatures (OpenSSH's PROTOCOL.sshsig), the format git uses for gpg.format=ssh:
// what dvi signs every ledger commit with, and what `ssh-keygen -Y verify` checks.
#pragma once

#include <string>
#include <string_view>

#include "dvi/crypto.hpp"
#include "dvi/result.hpp"

namespace dvi::sshsig {

// The namespace git signs commits under.
inline constexpr std::string_view k_git_namespace = "git";

// Signs `message` (hash sha512) and returns the armored signature
// ("-----BEGIN SSH SIGNATURE-----" … "-----END SSH SIGNATURE-----", no final newline).
Result<std::string> sign(const crypto::PrivateKey& key, std::string_view message, std::string_view ns);

// Checks an armored signature over `message` in namespace `ns`. On success returns the
// signer's public key; the caller decides whether that key is allowed. A signature that
// does not verify is Errc::bad_signature; one that cannot be parsed is too.
Result<crypto::PublicKey> verify(std::string_view armored, std::string_view message, std::string_view ns);

}  // namespace dvi::sshsig
