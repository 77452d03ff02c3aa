// The OpenSSL seam: SHA-2 digests and Ed25519 keys. Nothing else in dvi calls OpenSSL
// for these; every OpenSSL failure becomes an Error with Errc::crypto here.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dvi/result.hpp"
#include "dvi/util/encoding.hpp"

namespace dvi::crypto {

using util::Bytes;
using Digest256 = std::array<std::uint8_t, 32>;

// Incremental SHA-256 for streaming large artifacts in bounded memory.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, std::size_t size);
    Digest256 finish();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

Digest256 sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
Bytes sha512(std::string_view data);
// Git's SHA-1 object id of an object of `type` ("commit", "blob") with these bytes:
// SHA-1 of "<type> <size>\0" + content, as hex. Transport identity only, never a claim.
std::string git_object_id(std::string_view type, std::string_view content);
// HMAC-SHA1, for matching the hashed host names of OpenSSH's known_hosts files.
Bytes hmac_sha1(const Bytes& key, std::string_view data);

// An Ed25519 public key: 32 raw bytes, with its OpenSSH forms.
struct PublicKey {
    std::array<std::uint8_t, 32> raw{};

    // The SSH wire blob: string "ssh-ed25519", string key.
    Bytes ssh_blob() const;
    // "ssh-ed25519 AAAA…" (no comment).
    std::string openssh() const;
    // "SHA256:<base64 without padding>" as ssh-keygen -l prints it.
    std::string fingerprint() const;

    // Parses "ssh-ed25519 AAAA… [comment]"; any other key type is refused.
    static Result<PublicKey> from_openssh(std::string_view line);
    static Result<PublicKey> from_ssh_blob(const Bytes& blob);
    bool operator==(const PublicKey&) const = default;

    // The X25519 public key of the same key pair: the Montgomery u = (1 + y) / (1 - y) of
    // the Edwards point, as age and libsodium convert it, so that the roster's signing
    // keys also receive encrypted content keys (dvi-records(5), "Encrypted artifacts").
    Result<std::array<std::uint8_t, 32>> x25519() const;
};

// An Ed25519 private key held by OpenSSL. Move-only; freed once.
class PrivateKey {
public:
    PrivateKey(PrivateKey&&) noexcept;
    PrivateKey& operator=(PrivateKey&&) noexcept;
    ~PrivateKey();

    static Result<PrivateKey> generate();
    // Parses a PKCS#8 PEM key ("PRIVATE KEY" or "ENCRYPTED PRIVATE KEY").
    static Result<PrivateKey> from_pem(std::string_view pem, const std::optional<std::string>& passphrase);

    // PKCS#8 PEM, encrypted with AES-256-CBC under PBKDF2 when a passphrase is given.
    Result<std::string> to_pem(const std::optional<std::string>& passphrase) const;
    // OpenSSH's own format ("openssh-key-v1", unencrypted) for stock ssh-keygen and git.
    Result<std::string> to_openssh(std::string_view comment) const;

    const PublicKey& public_key() const { return m_public; }
    Result<Bytes> sign(std::string_view message) const;
    // X25519 agreement with `peer` under this key's X25519 form (the first half of SHA-512
    // of the Ed25519 seed, clamped); refused when the result is all zero (a low-order peer).
    Result<Bytes> x25519_agree(const std::array<std::uint8_t, 32>& peer) const;

private:
    explicit PrivateKey(void* pkey);
    void* m_pkey = nullptr;  // EVP_PKEY*
    PublicKey m_public;
};

bool is_encrypted_pem(std::string_view pem);

// Verifies an Ed25519 signature; false on any mismatch or malformed input.
bool verify(const PublicKey& key, std::string_view message, const Bytes& signature);

// Random bytes from OpenSSL's DRBG.
Result<Bytes> random_bytes(std::size_t n);

}  // namespace dvi::crypto
