#include "dvi/crypto.hpp"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dvi/util/encoding.hpp"
#include "ossl.hpp"
#include "ssh_wire.hpp"

namespace dvi::crypto {

namespace {

Error ossl_error(std::string what) { return ossl::error(std::move(what)); }
using BioPtr = ossl::Ptr<BIO, BIO_free>;
using PkeyPtr = ossl::Ptr<EVP_PKEY, EVP_PKEY_free>;
using MdCtxPtr = ossl::Ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using ossl::bio_contents;

}  // namespace

struct Sha256::Impl {
    MdCtxPtr ctx{EVP_MD_CTX_new()};
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
    if (!m_impl->ctx || EVP_DigestInit_ex(m_impl->ctx.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("EVP_DigestInit_ex(sha256) failed");
}
Sha256::~Sha256() = default;

void Sha256::update(const void* data, std::size_t size) { EVP_DigestUpdate(m_impl->ctx.get(), data, size); }

Digest256 Sha256::finish() {
    Digest256 out{};
    unsigned int n = 0;
    EVP_DigestFinal_ex(m_impl->ctx.get(), out.data(), &n);
    return out;
}

Digest256 sha256(std::string_view data) {
    Digest256 out{};
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha256(), nullptr);
    return out;
}

std::string sha256_hex(std::string_view data) {
    auto d = sha256(data);
    return util::hex_encode(d.data(), d.size());
}

Bytes sha512(std::string_view data) {
    Bytes out(64);
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &n, EVP_sha512(), nullptr);
    return out;
}

std::string git_object_id(std::string_view type, std::string_view content) {
    std::string header = std::string(type) + " " + std::to_string(content.size());
    header.push_back('\0');
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::array<std::uint8_t, 20> out{};
    unsigned int n = 0;
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1 &&
              EVP_DigestUpdate(ctx, header.data(), header.size()) == 1 &&
              EVP_DigestUpdate(ctx, content.data(), content.size()) == 1 && EVP_DigestFinal_ex(ctx, out.data(), &n) == 1;
    EVP_MD_CTX_free(ctx);
    return ok ? util::hex_encode(out.data(), out.size()) : std::string();
}

Bytes hmac_sha1(const Bytes& key, std::string_view data) {
    Bytes out(20);
    std::size_t n = 0;
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA1", nullptr, key.data(), key.size(),
                   reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), out.size(), &n))
        out.clear();
    return out;
}

// ---- public keys ----

Bytes PublicKey::ssh_blob() const {
    ssh::Writer w;
    w.string("ssh-ed25519");
    w.string(raw.data(), raw.size());
    return w.take();
}

std::string PublicKey::openssh() const { return "ssh-ed25519 " + util::base64_encode(ssh_blob()); }

std::string PublicKey::fingerprint() const {
    auto blob = ssh_blob();
    auto d = sha256(std::string_view(reinterpret_cast<const char*>(blob.data()), blob.size()));
    std::string b64 = util::base64_encode(d.data(), d.size());
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
    return "SHA256:" + b64;
}

Result<PublicKey> PublicKey::from_ssh_blob(const Bytes& blob) {
    ssh::Reader r(blob);
    auto type = r.string();
    auto key = r.string();
    if (!type || !key || !r.at_end())
        return make_error(Errc::invalid_input, "malformed SSH public key blob");
    if (*type != "ssh-ed25519")
        return make_error(Errc::invalid_input, "unsupported key type '" + *type + "'", "dvi uses ssh-ed25519 keys");
    if (key->size() != 32) return make_error(Errc::invalid_input, "malformed ssh-ed25519 public key");
    PublicKey pk;
    std::memcpy(pk.raw.data(), key->data(), 32);
    return pk;
}

Result<PublicKey> PublicKey::from_openssh(std::string_view line) {
    auto sp = line.find(' ');
    if (sp == std::string_view::npos)
        return make_error(Errc::invalid_input, "malformed public key: expected 'ssh-ed25519 AAAA…'");
    auto type = line.substr(0, sp);
    if (type != "ssh-ed25519")
        return make_error(Errc::invalid_input, "unsupported key type '" + std::string(type) + "'",
                          "dvi uses ssh-ed25519 keys");
    auto rest = line.substr(sp + 1);
    auto sp2 = rest.find(' ');
    auto b64 = rest.substr(0, sp2);
    auto blob = util::base64_decode(b64);
    if (!blob) return make_error(Errc::invalid_input, "malformed public key: bad base64");
    return from_ssh_blob(*blob);
}

// ---- private keys ----

PrivateKey::PrivateKey(void* pkey) : m_pkey(pkey) {
    std::size_t n = 32;
    EVP_PKEY_get_raw_public_key(static_cast<EVP_PKEY*>(m_pkey), m_public.raw.data(), &n);
}
PrivateKey::PrivateKey(PrivateKey&& o) noexcept : m_pkey(o.m_pkey), m_public(o.m_public) { o.m_pkey = nullptr; }
PrivateKey& PrivateKey::operator=(PrivateKey&& o) noexcept {
    if (this != &o) {
        EVP_PKEY_free(static_cast<EVP_PKEY*>(m_pkey));
        m_pkey = o.m_pkey;
        m_public = o.m_public;
        o.m_pkey = nullptr;
    }
    return *this;
}
PrivateKey::~PrivateKey() { EVP_PKEY_free(static_cast<EVP_PKEY*>(m_pkey)); }

Result<PrivateKey> PrivateKey::generate() {
    EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!pkey) return ossl_error("cannot generate an Ed25519 key");
    return PrivateKey(pkey);
}

bool is_encrypted_pem(std::string_view pem) {
    return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos;
}

namespace {
int passphrase_cb(char* buf, int size, int, void* u) {
    auto* pass = static_cast<const std::optional<std::string>*>(u);
    if (!pass || !pass->has_value()) return -1;
    const std::string& p = **pass;
    if (p.size() > static_cast<std::size_t>(size)) return -1;
    std::memcpy(buf, p.data(), p.size());
    return static_cast<int>(p.size());
}
}  // namespace

namespace {
// The key 'dvi key generate' writes: an unencrypted PKCS#8 PrivateKeyInfo (RFC 8410)
// holding only the Ed25519 seed, 48 bytes of DER behind this fixed prefix. OpenSSL's
// generic decoder (which tries every provider's decoders) costs about a millisecond per
// process; this reads exactly that form and leaves anything else to the decoder.
EVP_PKEY* ed25519_from_plain_pkcs8(std::string_view pem) {
    static constexpr unsigned char k_prefix[] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
                                                 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* der = nullptr;
    long len = 0;
    EVP_PKEY* pkey = nullptr;
    if (PEM_read_bio(bio.get(), &name, &header, &der, &len) == 1 && std::strcmp(name, "PRIVATE KEY") == 0 &&
        header[0] == '\0' && len == 48 && std::memcmp(der, k_prefix, sizeof k_prefix) == 0)
        pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, der + sizeof k_prefix, 32);
    if (der) OPENSSL_cleanse(der, static_cast<std::size_t>(len));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    ERR_clear_error();
    return pkey;
}
}  // namespace

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem, const std::optional<std::string>& passphrase) {
    if (pem.find("-----BEGIN OPENSSH PRIVATE KEY-----") != std::string_view::npos)
        return make_error(Errc::invalid_input, "key is in OpenSSH format",
                          "dvi reads PKCS#8 PEM keys; create one with 'dvi key generate'");
    // A file of two keys would sign with whichever came first, silently.
    if (const auto first = pem.find("-----BEGIN ");
        first != std::string_view::npos && pem.find("-----BEGIN ", first + 1) != std::string_view::npos)
        return make_error(Errc::invalid_input, "it holds more than one PEM block",
                          "keep one private key in each key file");
    bool encrypted = is_encrypted_pem(pem);
    if (encrypted && !passphrase)
        return make_error(Errc::invalid_input, "key is protected by a passphrase",
                          "set DVI_KEY_PASSPHRASE or run on a terminal to be asked");
    if (!encrypted)
        if (EVP_PKEY* fast = ed25519_from_plain_pkcs8(pem)) return PrivateKey(fast);
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb,
                                             const_cast<std::optional<std::string>*>(&passphrase));
    if (!pkey) {
        ERR_clear_error();
        if (encrypted) return make_error(Errc::invalid_input, "cannot decrypt key: wrong passphrase");
        return make_error(Errc::invalid_input, "not a PKCS#8 PEM private key");
    }
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        return make_error(Errc::invalid_input, "not an Ed25519 key", "dvi signs with Ed25519 keys");
    }
    return PrivateKey(pkey);
}

Result<std::string> PrivateKey::to_pem(const std::optional<std::string>& passphrase) const {
    BioPtr bio(BIO_new(BIO_s_mem()));
    auto* key = static_cast<EVP_PKEY*>(m_pkey);
    int ok = 0;
    if (passphrase) {
        ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), passphrase->data(),
                                           static_cast<int>(passphrase->size()), nullptr, nullptr);
    } else {
        ok = PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    }
    if (ok != 1) return ossl_error("cannot encode the private key");
    return bio_contents(bio.get());
}

Result<std::string> PrivateKey::to_openssh(std::string_view comment) const {
    std::array<std::uint8_t, 32> seed{};
    std::size_t n = seed.size();
    if (EVP_PKEY_get_raw_private_key(static_cast<EVP_PKEY*>(m_pkey), seed.data(), &n) != 1)
        return ossl_error("cannot read the private key");
    auto check = random_bytes(4);
    if (!check) return check.error();
    ssh::Writer priv;
    priv.raw(check->data(), 4);
    priv.raw(check->data(), 4);
    priv.string("ssh-ed25519");
    priv.string(m_public.raw.data(), 32);
    Bytes secret(seed.begin(), seed.end());
    secret.insert(secret.end(), m_public.raw.begin(), m_public.raw.end());
    priv.string(secret.data(), secret.size());
    priv.string(comment);
    Bytes body = priv.take();
    for (std::uint8_t pad = 1; body.size() % 8 != 0; ++pad) body.push_back(pad);

    ssh::Writer w;
    static constexpr char k_magic[] = "openssh-key-v1";
    w.raw(reinterpret_cast<const std::uint8_t*>(k_magic), sizeof k_magic);  // with its NUL
    w.string("none");
    w.string("none");
    w.string("");
    w.u32(1);
    auto blob = m_public.ssh_blob();
    w.string(blob.data(), blob.size());
    w.string(body.data(), body.size());
    Bytes all = w.take();
    std::string out = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + util::base64_encode(all, 70) +
                      "\n-----END OPENSSH PRIVATE KEY-----\n";
    OPENSSL_cleanse(seed.data(), seed.size());
    OPENSSL_cleanse(secret.data(), secret.size());
    OPENSSL_cleanse(body.data(), body.size());
    OPENSSL_cleanse(all.data(), all.size());
    return out;
}

Result<Bytes> PrivateKey::sign(std::string_view message) const {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(m_pkey)) != 1)
        return ossl_error("cannot start an Ed25519 signature");
    Bytes sig(64);
    std::size_t n = sig.size();
    if (EVP_DigestSign(ctx.get(), sig.data(), &n, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1)
        return ossl_error("cannot sign");
    sig.resize(n);
    return sig;
}

Result<std::array<std::uint8_t, 32>> PublicKey::x25519() const {
    using BnPtr = ossl::Ptr<BIGNUM, BN_free>;
    using BnCtxPtr = ossl::Ptr<BN_CTX, BN_CTX_free>;
    std::array<std::uint8_t, 32> y_le = raw;
    y_le[31] &= 0x7f;  // the top bit is the sign of x, not part of y
    BnCtxPtr ctx(BN_CTX_new());
    BnPtr p(BN_new()), y(BN_lebin2bn(y_le.data(), 32, nullptr)), one(BN_new()), num(BN_new()), den(BN_new()),
        u(BN_new());
    if (!ctx || !p || !y || !one || !num || !den || !u) return ossl_error("cannot convert an Ed25519 key");
    // p = 2^255 - 19
    if (BN_set_word(p.get(), 1) != 1 || BN_lshift(p.get(), p.get(), 255) != 1 || BN_sub_word(p.get(), 19) != 1 ||
        BN_set_word(one.get(), 1) != 1)
        return ossl_error("cannot convert an Ed25519 key");
    if (BN_cmp(y.get(), p.get()) >= 0) return make_error(Errc::crypto, "not an Ed25519 public key (y >= p)");
    if (BN_mod_add(num.get(), one.get(), y.get(), p.get(), ctx.get()) != 1 ||
        BN_mod_sub(den.get(), one.get(), y.get(), p.get(), ctx.get()) != 1)
        return ossl_error("cannot convert an Ed25519 key");
    if (BN_is_zero(den.get())) return make_error(Errc::crypto, "the Ed25519 key is the neutral point, it has no X25519 form");
    if (!BN_mod_inverse(den.get(), den.get(), p.get(), ctx.get()) ||
        BN_mod_mul(u.get(), num.get(), den.get(), p.get(), ctx.get()) != 1)
        return ossl_error("cannot convert an Ed25519 key");
    std::array<std::uint8_t, 32> out{};
    if (BN_bn2lebinpad(u.get(), out.data(), 32) != 32) return ossl_error("cannot convert an Ed25519 key");
    return out;
}

Result<Bytes> PrivateKey::x25519_agree(const std::array<std::uint8_t, 32>& peer) const {
    std::array<std::uint8_t, 32> seed{};
    std::size_t n = seed.size();
    if (EVP_PKEY_get_raw_private_key(static_cast<EVP_PKEY*>(m_pkey), seed.data(), &n) != 1 || n != 32)
        return ossl_error("cannot read the private key");
    Bytes h = sha512(std::string_view(reinterpret_cast<const char*>(seed.data()), seed.size()));
    OPENSSL_cleanse(seed.data(), seed.size());
    PkeyPtr mine(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, h.data(), 32));
    OPENSSL_cleanse(h.data(), h.size());
    PkeyPtr theirs(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, peer.data(), peer.size()));
    if (!mine || !theirs) return ossl_error("cannot make X25519 keys");
    ossl::Ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new(mine.get(), nullptr));
    Bytes shared(32);
    std::size_t len = shared.size();
    // OpenSSL refuses an all-zero shared secret (a low-order peer point) in derive.
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != 32)
        return ossl_error("X25519 agreement failed");
    return shared;
}

namespace {
// A verification context per key, kept by each thread: OpenSSL 3 fetches the algorithm
// and builds the key on every EVP_DigestVerifyInit, which costs about a third of an
// Ed25519 verification. Each verification runs on a copy of the initialised context:
// from OpenSSL 3.2 on, a context that has verified once refuses to verify again. A
// handful of keys sign a ledger; the oldest context makes room for a new one.
struct VerifyContext {
    std::array<std::uint8_t, 32> raw{};
    PkeyPtr pkey;
    MdCtxPtr ctx;
};

const EVP_MD_CTX* verify_template(const PublicKey& key) {
    constexpr std::size_t k_keep = 16;
    thread_local std::vector<VerifyContext> contexts;
    for (auto it = contexts.begin(); it != contexts.end(); ++it)
        if (it->raw == key.raw) {
            if (it != contexts.begin()) std::rotate(contexts.begin(), it, it + 1);  // most recent first
            return contexts.front().ctx.get();
        }
    VerifyContext c{key.raw, PkeyPtr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.raw.data(), key.raw.size())),
                    MdCtxPtr(EVP_MD_CTX_new())};
    if (!c.pkey || !c.ctx || EVP_DigestVerifyInit(c.ctx.get(), nullptr, nullptr, nullptr, c.pkey.get()) != 1) {
        ERR_clear_error();
        return nullptr;
    }
    if (contexts.size() == k_keep) contexts.pop_back();
    contexts.insert(contexts.begin(), std::move(c));
    return contexts.front().ctx.get();
}
}  // namespace

bool verify(const PublicKey& key, std::string_view message, const Bytes& signature) {
    if (signature.size() != 64) return false;
    const EVP_MD_CTX* initialised = verify_template(key);
    thread_local MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!initialised || !ctx || EVP_MD_CTX_copy_ex(ctx.get(), initialised) != 1) {
        ERR_clear_error();
        return false;
    }
    int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                              message.size());
    ERR_clear_error();
    return rc == 1;
}

Result<Bytes> random_bytes(std::size_t n) {
    Bytes out(n);
    if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) return ossl_error("cannot get random bytes");
    return out;
}

}  // namespace dvi::crypto
