// Private key files: PKCS#8 PEM, mode 0600, never inside a ledger.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "dvi/crypto.hpp"
#include "dvi/result.hpp"

namespace dvi {

// Loads an Ed25519 key. Refused like ssh refuses: a file that others may read or write
// ("permissions 0644 for 'k.pem' are too open").
Result<crypto::PrivateKey> key_load(const std::filesystem::path& path, const std::optional<std::string>& passphrase);

// Whether the key file is passphrase-protected (so the CLI knows to ask).
Result<bool> key_file_is_encrypted(const std::filesystem::path& path);

// Writes `text` as a new private file (0600); refuses to overwrite.
Status key_save(const std::filesystem::path& path, const std::string& text);

}  // namespace dvi
