#include "dvi/content.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "dvi/util/encoding.hpp"
#include "ossl.hpp"

namespace dvi::crypto {

namespace {

using CipherCtxPtr = ossl::Ptr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using PkeyPtr = ossl::Ptr<EVP_PKEY, EVP_PKEY_free>;

// The HKDF info string of a key wrap: changing it changes the format's version.
constexpr std::string_view k_wrap_info = "dvi/content-key@1";
// Update calls take an int: large buffers go through in pieces.
constexpr std::size_t k_piece = std::size_t{1} << 30;

Result<std::array<std::uint8_t, 32>> hkdf_sha256(const Bytes& ikm, const Bytes& salt, std::string_view info) {
    ossl::Ptr<EVP_KDF, EVP_KDF_free> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
    if (!kdf) return ossl::error("HKDF is not available");
    ossl::Ptr<EVP_KDF_CTX, EVP_KDF_CTX_free> ctx(EVP_KDF_CTX_new(kdf.get()));
    if (!ctx) return ossl::error("HKDF is not available");
    char digest[] = "SHA256";
    // Without a salt HKDF uses a string of zeros (RFC 5869), as other implementations do.
    OSSL_PARAM params[5];
    std::size_t i = 0;
    params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.data()), ikm.size());
    if (!salt.empty())
        params[i++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()), salt.size());
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
    params[i] = OSSL_PARAM_construct_end();
    std::array<std::uint8_t, 32> out{};
    if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) return ossl::error("HKDF failed");
    return out;
}

// The key-encryption key of one wrap: HKDF-SHA256(X25519 secret, salt = ephemeral || recipient).
Result<ContentKey> wrap_key_for(const Bytes& shared, const std::array<std::uint8_t, 32>& ephemeral,
                                const std::array<std::uint8_t, 32>& recipient) {
    Bytes salt(ephemeral.begin(), ephemeral.end());
    salt.insert(salt.end(), recipient.begin(), recipient.end());
    DVI_TRY(k, hkdf_sha256(shared, salt, k_wrap_info));
    ContentKey kek;
    kek.bytes = k;
    OPENSSL_cleanse(k.data(), k.size());
    return kek;
}

template <std::size_t N>
Result<std::array<std::uint8_t, N>> fixed_base64(const Json& j, const char* field) {
    if (!j.contains(field) || !j[field].is_string())
        return make_error(Errc::invalid_input, std::string("a wrapped key has no '") + field + "'");
    auto b = util::base64_decode(j[field].get<std::string>());
    if (!b || b->size() != N)
        return make_error(Errc::invalid_input, std::string("a wrapped key's '") + field + "' is not " +
                                                   std::to_string(N) + " bytes of base64");
    std::array<std::uint8_t, N> out{};
    std::copy(b->begin(), b->end(), out.begin());
    return out;
}

}  // namespace

ContentKey::~ContentKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }

Result<ContentKey> ContentKey::generate() {
    DVI_TRY(r, random_bytes(32));
    ContentKey k;
    std::copy(r.begin(), r.end(), k.bytes.begin());
    OPENSSL_cleanse(r.data(), r.size());
    return k;
}

struct GcmEncryptor::Impl {
    CipherCtxPtr ctx{EVP_CIPHER_CTX_new()};
    bool failed = false;
};

GcmEncryptor::GcmEncryptor(const ContentKey& key, const Nonce& nonce) : m_impl(std::make_unique<Impl>()) {
    // The default GCM IV length is 12 bytes, the nonce's.
    if (!m_impl->ctx ||
        EVP_EncryptInit_ex(m_impl->ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(), nonce.data()) != 1)
        m_impl->failed = true;
}
GcmEncryptor::~GcmEncryptor() = default;

Status GcmEncryptor::update(const void* plaintext, std::size_t size, std::uint8_t* ciphertext) {
    if (m_impl->failed) return ossl::error("cannot start AES-256-GCM");
    const auto* in = static_cast<const std::uint8_t*>(plaintext);
    for (std::size_t done = 0; done < size;) {
        int piece = static_cast<int>(std::min(size - done, k_piece));
        int n = 0;
        if (EVP_EncryptUpdate(m_impl->ctx.get(), ciphertext + done, &n, in + done, piece) != 1 || n != piece)
            return ossl::error("AES-256-GCM encryption failed");
        done += static_cast<std::size_t>(piece);
    }
    return {};
}

Result<GcmTag> GcmEncryptor::finish() {
    if (m_impl->failed) return ossl::error("cannot start AES-256-GCM");
    std::uint8_t rest[16];
    int n = 0;
    GcmTag tag{};
    if (EVP_EncryptFinal_ex(m_impl->ctx.get(), rest, &n) != 1 || n != 0 ||
        EVP_CIPHER_CTX_ctrl(m_impl->ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag.size()), tag.data()) != 1)
        return ossl::error("AES-256-GCM encryption failed");
    return tag;
}

void wipe(std::string& secret) {
    if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
    secret.clear();
}

Result<std::string> gcm_open(const ContentKey& key, const Nonce& nonce, std::string_view sealed) {
    if (sealed.size() < k_gcm_tag_size)
        return make_error(Errc::bad_signature, "the ciphertext is shorter than its AES-256-GCM tag");
    std::size_t size = sealed.size() - k_gcm_tag_size;
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.bytes.data(), nonce.data()) != 1)
        return ossl::error("cannot start AES-256-GCM");
    std::string plain(size, '\0');
    const auto* in = reinterpret_cast<const std::uint8_t*>(sealed.data());
    auto* out = reinterpret_cast<std::uint8_t*>(plain.data());
    for (std::size_t done = 0; done < size;) {
        int piece = static_cast<int>(std::min(size - done, k_piece));
        int n = 0;
        if (EVP_DecryptUpdate(ctx.get(), out + done, &n, in + done, piece) != 1 || n != piece) {
            OPENSSL_cleanse(plain.data(), plain.size());
            return ossl::error("AES-256-GCM decryption failed");
        }
        done += static_cast<std::size_t>(piece);
    }
    GcmTag tag{};
    std::memcpy(tag.data(), in + size, tag.size());
    std::uint8_t rest[16];
    int n = 0;
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()), tag.data()) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), rest, &n) != 1) {
        ERR_clear_error();
        OPENSSL_cleanse(plain.data(), plain.size());
        return make_error(Errc::bad_signature, "the ciphertext does not open: a wrong key or altered bytes");
    }
    return plain;
}

struct PlainMac::Impl {
    ossl::Ptr<EVP_MAC, EVP_MAC_free> mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
    ossl::Ptr<EVP_MAC_CTX, EVP_MAC_CTX_free> ctx;
    bool failed = false;
};

PlainMac::PlainMac(const ContentKey& key) : m_impl(std::make_unique<Impl>()) {
    Bytes ikm(key.bytes.begin(), key.bytes.end());
    auto mac_key = hkdf_sha256(ikm, Bytes{}, "dvi/plaintext-mac@1");
    OPENSSL_cleanse(ikm.data(), ikm.size());
    if (m_impl->mac) m_impl->ctx.reset(EVP_MAC_CTX_new(m_impl->mac.get()));
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
    if (!mac_key || !m_impl->ctx || EVP_MAC_init(m_impl->ctx.get(), mac_key->data(), mac_key->size(), params) != 1)
        m_impl->failed = true;
    if (mac_key) OPENSSL_cleanse(mac_key->data(), mac_key->size());
}
PlainMac::~PlainMac() = default;

void PlainMac::update(const void* data, std::size_t size) {
    if (!m_impl->failed && EVP_MAC_update(m_impl->ctx.get(), static_cast<const unsigned char*>(data), size) != 1)
        m_impl->failed = true;
}

Result<std::string> PlainMac::finish() {
    std::uint8_t out[32];
    std::size_t n = 0;
    if (m_impl->failed || EVP_MAC_final(m_impl->ctx.get(), out, &n, sizeof out) != 1 || n != sizeof out)
        return ossl::error("HMAC-SHA256 failed");
    return util::hex_encode(out, n);
}

Result<std::string> plain_mac_hex(const ContentKey& key, std::string_view data) {
    PlainMac mac(key);
    mac.update(data.data(), data.size());
    return mac.finish();
}

Json WrappedKey::json() const {
    return Json{{"to", to},
                {"key", fingerprint},
                {"ephemeral", util::base64_encode(ephemeral.data(), ephemeral.size())},
                {"wrapped", util::base64_encode(wrapped.data(), wrapped.size())}};
}

Result<WrappedKey> WrappedKey::from_json(const Json& j) {
    if (!j.is_object() || !j.contains("to") || !j["to"].is_string() || !j.contains("key") || !j["key"].is_string())
        return make_error(Errc::invalid_input, "a wrapped key needs 'to' and 'key'");
    WrappedKey w;
    w.to = j["to"];
    w.fingerprint = j["key"];
    DVI_TRY(e, fixed_base64<32>(j, "ephemeral"));
    DVI_TRY(k, fixed_base64<48>(j, "wrapped"));
    w.ephemeral = e;
    w.wrapped = k;
    return w;
}

Result<WrappedKey> wrap_content_key(const ContentKey& key, const PublicKey& recipient, const std::string& to) {
    DVI_TRY(r, recipient.x25519());
    PkeyPtr eph(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    PkeyPtr peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, r.data(), r.size()));
    if (!eph || !peer) return ossl::error("cannot make an X25519 key");
    WrappedKey w;
    w.to = to;
    w.fingerprint = recipient.fingerprint();
    std::size_t n = w.ephemeral.size();
    if (EVP_PKEY_get_raw_public_key(eph.get(), w.ephemeral.data(), &n) != 1) return ossl::error("cannot make an X25519 key");
    ossl::Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new(eph.get(), nullptr));
    Bytes shared(32);
    std::size_t len = shared.size();
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != 32)
        return ossl::error("X25519 agreement with the key of '" + to + "' failed");
    auto kek = wrap_key_for(shared, w.ephemeral, r);
    OPENSSL_cleanse(shared.data(), shared.size());
    if (!kek) return kek.error();
    // A fresh key-encryption key for every wrap, so a zero nonce is never reused.
    GcmEncryptor enc(*kek, Nonce{});
    DVI_CHECK(enc.update(key.bytes.data(), key.bytes.size(), w.wrapped.data()));
    DVI_TRY(tag, enc.finish());
    std::copy(tag.begin(), tag.end(), w.wrapped.begin() + 32);
    return w;
}

Result<ContentKey> unwrap_content_key(const WrappedKey& w, const PrivateKey& key) {
    DVI_TRY(mine, key.public_key().x25519());
    DVI_TRY(shared, key.x25519_agree(w.ephemeral));
    auto kek = wrap_key_for(shared, w.ephemeral, mine);
    OPENSSL_cleanse(shared.data(), shared.size());
    if (!kek) return kek.error();
    auto opened = gcm_open(*kek, Nonce{}, std::string_view(reinterpret_cast<const char*>(w.wrapped.data()), w.wrapped.size()));
    if (!opened) return make_error(Errc::bad_signature, "the content key wrapped for '" + w.to + "' does not open with this key");
    ContentKey out;
    std::copy(opened->begin(), opened->end(), out.bytes.begin());
    OPENSSL_cleanse(opened->data(), opened->size());
    return out;
}

Result<ContentKey> open_content_key(const Json& keys, const PrivateKey& key, const std::string& where) {
    const std::string fp = key.public_key().fingerprint();
    if (keys.is_array())
        for (auto& entry : keys) {
            if (!entry.is_object() || entry.value("key", "") != fp) continue;
            // Whatever is wrong with the entry (malformed, a low-order ephemeral key, a wrap
            // that does not open), the answer is the same: this key cannot read the content.
            auto w = WrappedKey::from_json(entry);
            auto opened = w ? unwrap_content_key(*w, key) : Result<ContentKey>(w.error());
            if (opened || opened.error().code == Errc::internal || opened.error().code == Errc::io) return opened;
            return make_error(Errc::bad_signature, where + " carries a content key for the key " + fp +
                                                       " that does not open: " + opened.error().message);
        }
    return make_error(Errc::not_found, where + " carries no content key for the key " + fp);
}

}  // namespace dvi::crypto
