// Encrypted artifacts (dvi-records(5), "Encrypted artifacts"): a dossier's model and
// recipe files may be stored as AES-256-GCM ciphertext under one random content key, which
// travels wrapped for each recipient's roster key (X25519 agreement with the Montgomery
// form of its Ed25519 key, HKDF-SHA256, AES-256-GCM) in the dossier, licence and
// allocation records. Everyone can check the ciphertext's SHA-256; only a recipient can
// read the plaintext. Part of the OpenSSL seam, as crypto.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dvi/canonical.hpp"
#include "dvi/crypto.hpp"
#include "dvi/result.hpp"

namespace dvi::crypto {

using Nonce = std::array<std::uint8_t, 12>;
using GcmTag = std::array<std::uint8_t, 16>;
constexpr std::size_t k_gcm_tag_size = 16;

// A 256-bit AES key; wiped when destroyed.
class ContentKey {
public:
    ContentKey() = default;
    ContentKey(const ContentKey&) = default;
    ContentKey& operator=(const ContentKey&) = default;
    ~ContentKey();
    static Result<ContentKey> generate();
    std::array<std::uint8_t, 32> bytes{};
};

// AES-256-GCM of one artifact, streamed in bounded memory: update() for each piece of
// plaintext (the ciphertext has the same length), then finish() for the 16-byte tag,
// which the stored blob carries after the ciphertext.
class GcmEncryptor {
public:
    GcmEncryptor(const ContentKey& key, const Nonce& nonce);
    ~GcmEncryptor();
    GcmEncryptor(const GcmEncryptor&) = delete;
    GcmEncryptor& operator=(const GcmEncryptor&) = delete;
    Status update(const void* plaintext, std::size_t size, std::uint8_t* ciphertext);
    Result<GcmTag> finish();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// Overwrites a string that held a secret (a decrypted file) before it is freed.
void wipe(std::string& secret);

// Bytes that must not outlive their use (a decrypted file): wiped when destroyed.
struct Secret {
    std::string bytes;
    Secret() = default;
    explicit Secret(std::string b) : bytes(std::move(b)) {}
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    ~Secret() { wipe(bytes); }
};

// The keyed digest an encrypted artifact carries instead of its plaintext's SHA-256 (which
// would let anyone confirm a guessed file): HMAC-SHA256 under HKDF-SHA256(key, info
// "dvi/plaintext-mac@1"), streamed.
class PlainMac {
public:
    explicit PlainMac(const ContentKey& key);
    ~PlainMac();
    PlainMac(const PlainMac&) = delete;
    PlainMac& operator=(const PlainMac&) = delete;
    void update(const void* data, std::size_t size);
    Result<std::string> finish();  // lower-case hex

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};
Result<std::string> plain_mac_hex(const ContentKey& key, std::string_view data);

// Decrypts ciphertext||tag; Errc::bad_signature when the tag does not verify (a wrong key
// or altered bytes), and nothing of the plaintext is returned then (what was decrypted
// is wiped).
Result<std::string> gcm_open(const ContentKey& key, const Nonce& nonce, std::string_view sealed);

// A content key wrapped for one recipient: who (partner/writer), its key's fingerprint,
// the ephemeral X25519 public key and the 48 bytes of AES-256-GCM(key-encryption key).
struct WrappedKey {
    std::string to;
    std::string fingerprint;
    std::array<std::uint8_t, 32> ephemeral{};
    std::array<std::uint8_t, 48> wrapped{};

    Json json() const;
    static Result<WrappedKey> from_json(const Json& j);
};

// Wraps `key` for `recipient` (the Ed25519 key of the writer `to` in the roster).
Result<WrappedKey> wrap_content_key(const ContentKey& key, const PublicKey& recipient, const std::string& to);
// Unwraps with the recipient's private key; Errc::bad_signature when it does not open.
Result<ContentKey> unwrap_content_key(const WrappedKey& wrapped, const PrivateKey& key);

// The content key from a record's list of wrapped keys (`keys` of a licence, or
// `encryption.design_keys` / `recipe_keys` of a dossier): the entry for this private
// key's fingerprint. Errc::not_found when the list has none for it, Errc::bad_signature
// when that entry is malformed or does not open; `where` names the record in messages.
Result<ContentKey> open_content_key(const Json& keys, const PrivateKey& key, const std::string& where);

}  // namespace dvi::crypto
