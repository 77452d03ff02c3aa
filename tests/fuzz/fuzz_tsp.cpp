// Fuzz target: RFC 3161 time-stamp replies and X.509 certificates, as `dvi anchor` reads
// a TSA's answer and `dvi roster trust-tsa` a certificate. The whole input goes to
// read_certificate, read_reply and verify_reply (for the digest the seeds were made for,
// trusting nobody); a reply that parses is verified once more trusting its own signer's
// certificate, so the signature and ESS checks behind the chain check run too.
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include <optional>
#include <string>
#include <vector>

#include "dvi/tsp.hpp"
#include "fuzz.hpp"

namespace {

// The digest tests/fuzz/make-seeds.sh time-stamps: SHA-256 of "dvi fuzz".
const dvi::crypto::Digest256& seed_digest() {
    static const dvi::crypto::Digest256 d = dvi::crypto::sha256("dvi fuzz");
    return d;
}

// The DER of the first signer certificate a reply carries, read with OpenSSL directly
// (the library does not hand it out); empty when there is none.
std::string signer_der(std::string_view der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    TS_RESP* resp = d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size()));
    std::string out;
    if (resp && TS_RESP_get_token(resp)) {
        STACK_OF(X509)* signers = PKCS7_get0_signers(TS_RESP_get_token(resp), nullptr, 0);
        if (signers && sk_X509_num(signers) > 0) {
            unsigned char* buf = nullptr;
            int n = i2d_X509(sk_X509_value(signers, 0), &buf);
            if (n > 0) out.assign(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
            OPENSSL_free(buf);
        }
        sk_X509_free(signers);
    }
    TS_RESP_free(resp);
    ERR_clear_error();
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view der = dvi_fuzz::as_text(data, size);

    if (auto cert = dvi::tsp::read_certificate(der)) {
        DVI_FUZZ_CHECK(cert->sha256.size() == 64, "a certificate is named by its SHA-256");
        auto again = dvi::tsp::read_certificate(cert->der);
        DVI_FUZZ_CHECK(again.ok() && again->sha256 == cert->sha256, "a certificate's DER reads back as itself");
    }

    auto info = dvi::tsp::read_reply(der);
    auto untrusted = dvi::tsp::verify_reply(der, seed_digest(), std::nullopt, {});
    DVI_FUZZ_CHECK(!untrusted, "nothing verifies against an empty trust set");
    if (!info) {
        DVI_FUZZ_CHECK(untrusted.error().code == dvi::Errc::invalid_input,
                       "a reply read_reply refuses is refused by verify_reply for the same reason");
        return 0;
    }
    std::string signer = signer_der(der);
    if (signer.empty()) return 0;
    auto trusted = dvi::tsp::verify_reply(der, seed_digest(), info->nonce_hex, {signer});
    if (trusted) {
        DVI_FUZZ_CHECK(trusted->imprint_sha256, "a verified token is over SHA-256");
        DVI_FUZZ_CHECK(trusted->time == info->time, "verifying does not change what the reply says");
        DVI_FUZZ_CHECK(!trusted->signer_sha256.empty(), "a verified token names its signer");
    }
    return 0;
}
