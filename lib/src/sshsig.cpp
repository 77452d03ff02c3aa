#include "dvi/sshsig.hpp"

#include "ssh_wire.hpp"

namespace dvi::sshsig {

namespace {
constexpr std::string_view k_begin = "-----BEGIN SSH SIGNATURE-----";
constexpr std::string_view k_end = "-----END SSH SIGNATURE-----";
constexpr std::string_view k_magic = "SSHSIG";

// The blob that is actually signed (PROTOCOL.sshsig, "Signed Data").
std::string signed_data(std::string_view ns, std::string_view hash_alg, const util::Bytes& digest) {
    ssh::Writer w;
    w.raw(reinterpret_cast<const std::uint8_t*>(k_magic.data()), k_magic.size());
    w.string(ns);
    w.string("");
    w.string(hash_alg);
    w.string(digest.data(), digest.size());
    return util::to_string(w.take());
}

Error bad(std::string why) { return make_error(Errc::bad_signature, "malformed SSH signature: " + why); }
}  // namespace

Result<std::string> sign(const crypto::PrivateKey& key, std::string_view message, std::string_view ns) {
    auto digest = crypto::sha512(message);
    auto sig = key.sign(signed_data(ns, "sha512", digest));
    if (!sig) return sig.error();
    ssh::Writer inner;
    inner.string("ssh-ed25519");
    inner.string(sig->data(), sig->size());
    auto inner_blob = inner.take();

    ssh::Writer w;
    w.raw(reinterpret_cast<const std::uint8_t*>(k_magic.data()), k_magic.size());
    w.u32(1);
    auto pub = key.public_key().ssh_blob();
    w.string(pub.data(), pub.size());
    w.string(ns);
    w.string("");
    w.string("sha512");
    w.string(inner_blob.data(), inner_blob.size());
    return std::string(k_begin) + "\n" + util::base64_encode(w.take(), 70) + "\n" + std::string(k_end);
}

Result<crypto::PublicKey> verify(std::string_view armored, std::string_view message, std::string_view ns) {
    auto b = armored.find(k_begin);
    auto e = armored.find(k_end);
    if (b == std::string_view::npos || e == std::string_view::npos || e < b) return bad("no armor");
    auto body = armored.substr(b + k_begin.size(), e - b - k_begin.size());
    auto blob = util::base64_decode(body);
    if (!blob) return bad("bad base64");
    ssh::Reader r(*blob);
    if (!r.raw_equals(k_magic)) return bad("bad magic");
    auto version = r.u32();
    auto pub = r.string();
    auto sig_ns = r.string();
    auto reserved = r.string();
    auto hash_alg = r.string();
    auto inner = r.string();
    if (!version || !pub || !sig_ns || !reserved || !hash_alg || !inner || !r.at_end()) return bad("truncated");
    if (*version != 1) return bad("unsupported version");
    if (*sig_ns != ns)
        return make_error(Errc::bad_signature, "signature namespace '" + *sig_ns + "' is not '" + std::string(ns) + "'");
    auto key = crypto::PublicKey::from_ssh_blob(util::to_bytes(*pub));
    if (!key) return make_error(Errc::bad_signature, key.error().message);
    util::Bytes digest;
    if (*hash_alg == "sha512")
        digest = crypto::sha512(message);
    else if (*hash_alg == "sha256") {
        auto d = crypto::sha256(message);
        digest.assign(d.begin(), d.end());
    } else
        return bad("unsupported hash '" + *hash_alg + "'");
    auto inner_bytes = util::to_bytes(*inner);
    ssh::Reader ir(inner_bytes);
    auto sig_type = ir.string();
    auto sig = ir.string();
    if (!sig_type || !sig || !ir.at_end()) return bad("truncated signature");
    if (*sig_type != "ssh-ed25519") return bad("unsupported signature type '" + *sig_type + "'");
    if (!crypto::verify(*key, signed_data(ns, *hash_alg, digest), util::to_bytes(*sig)))
        return make_error(Errc::bad_signature, "signature does not verify");
    return *key;
}

}  // namespace dvi::sshsig
