// RFC 3161 time-stamps (the Time-Stamp Protocol) and the X.509 certificates of the
// time-stamping authorities a consortium trusts, through OpenSSL's TS API; and the one
// HTTP exchange a TSA needs, through OpenSSL's HTTP client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dvi/crypto.hpp"
#include "dvi/result.hpp"

namespace dvi::tsp {

// A certificate: a TSA's own, or a CA that issues TSA certificates.
struct Certificate {
    std::string der;
    std::string sha256;   // hex of SHA-256 over the DER: how the roster names it
    std::string subject;  // one line, RFC 2253
    std::int64_t not_before = 0;
    std::int64_t not_after = 0;
    bool is_ca = false;          // basicConstraints CA:TRUE
    bool time_stamping = false;  // extendedKeyUsage includes timeStamping
};

// Reads one certificate, PEM or DER; invalid_input when it is neither.
Result<Certificate> read_certificate(std::string_view bytes);

// A TimeStampReq (DER) for the SHA-256 `digest`, asking for the TSA's certificate in the
// reply and carrying `nonce` (hex, at most 16 bytes) so that a reply can be matched.
Result<std::string> make_request(const crypto::Digest256& digest, const std::string& nonce_hex);

// What a reply says, before or after it is verified.
struct TokenInfo {
    std::int64_t time = 0;        // genTime, seconds since the epoch
    std::string imprint_hex;      // the message imprint
    bool imprint_sha256 = false;  // whether its algorithm is SHA-256
    std::optional<std::string> nonce_hex;
    std::string serial_hex;
    std::string policy;           // the TSA policy OID
    std::string signer_sha256;    // the certificate that signed the token, when verified
    std::string signer_subject;
};

// Parses a TimeStampResp (DER): its status must grant a token. invalid_input otherwise.
Result<TokenInfo> read_reply(std::string_view der);

// Verifies a TimeStampResp: granted, for `digest` (SHA-256), with `nonce_hex` when given,
// signed by a certificate with the timeStamping usage that chains to one of `trusted`
// at the token's own time (an expired TSA certificate does not void an older token).
// bad_signature, with a sentence a person understands, when any of that fails.
Result<TokenInfo> verify_reply(std::string_view der, const crypto::Digest256& digest,
                               const std::optional<std::string>& nonce_hex, const std::vector<std::string>& trusted_der);

// POSTs `body` to an http:// or https:// URL and returns the response body (one DER
// object, as RFC 3161 replies are), at most
// `max_bytes`, within `timeout_seconds`. https verifies the server against the system's
// CA store (SSL_CERT_FILE / SSL_CERT_DIR override it). io on failure.
struct HttpPost {
    std::string url;
    std::string body;
    std::string content_type;
    std::string accept;  // the content type the response must have
    int timeout_seconds = 30;
    std::size_t max_bytes = 1 << 20;
};
Result<std::string> http_post(const HttpPost& req);

}  // namespace dvi::tsp
