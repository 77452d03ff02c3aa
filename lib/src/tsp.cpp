#include "dvi/tsp.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/http.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>

#include "dvi/util/encoding.hpp"
#include "ossl.hpp"

namespace dvi::tsp {

namespace {

using X509Ptr = ossl::Ptr<X509, X509_free>;
using BioPtr = ossl::Ptr<BIO, BIO_free_all>;
using RespPtr = ossl::Ptr<TS_RESP, TS_RESP_free>;
using ReqPtr = ossl::Ptr<TS_REQ, TS_REQ_free>;
using VerifyCtxPtr = ossl::Ptr<TS_VERIFY_CTX, TS_VERIFY_CTX_free>;
using StorePtr = ossl::Ptr<X509_STORE, X509_STORE_free>;
using IntPtr = ossl::Ptr<ASN1_INTEGER, ASN1_INTEGER_free>;
using BnPtr = ossl::Ptr<BIGNUM, BN_free>;
using SslCtxPtr = ossl::Ptr<SSL_CTX, SSL_CTX_free>;

std::string integer_hex(const ASN1_INTEGER* i) {
    if (!i) return {};
    BnPtr bn(ASN1_INTEGER_to_BN(i, nullptr));
    if (!bn) return {};
    char* hex = BN_bn2hex(bn.get());
    std::string out = hex ? hex : "";
    OPENSSL_free(hex);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<std::int64_t> epoch_of(const ASN1_TIME* t) {
    struct tm tm{};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    return static_cast<std::int64_t>(timegm(&tm));
}

std::string subject_of(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    return ossl::bio_contents(bio.get());
}

std::string der_of(X509* cert) {
    unsigned char* buf = nullptr;
    int n = i2d_X509(cert, &buf);
    if (n <= 0) return {};
    std::string out(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
    return out;
}

// Exactly one certificate: a bundle of several, or one followed by anything, is refused
// rather than read as its first (trusting a TSA must say which one).
Result<X509Ptr> parse_x509(std::string_view bytes) {
    BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    bool rest = false;
    if (cert) {
        char c;
        while (BIO_read(bio.get(), &c, 1) == 1)
            if (!std::isspace(static_cast<unsigned char>(c))) rest = true;
    } else {
        ERR_clear_error();
        const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
        cert = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
        rest = cert && p != reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size();
    }
    if (!cert) {
        ERR_clear_error();
        return make_error(Errc::invalid_input, "not an X.509 certificate (PEM or DER)");
    }
    X509Ptr out(cert);
    if (rest) return make_error(Errc::invalid_input, "more than one certificate, or something after it: give one");
    return out;
}

Result<RespPtr> parse_reply(std::string_view der) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    TS_RESP* resp = d2i_TS_RESP(nullptr, &p, static_cast<long>(der.size()));
    if (!resp || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
        TS_RESP_free(resp);
        ERR_clear_error();
        return make_error(Errc::invalid_input, "not an RFC 3161 time-stamp reply (DER TimeStampResp)");
    }
    RespPtr out(resp);
    const ASN1_INTEGER* status = TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp));
    long s = ASN1_INTEGER_get(status);
    if (s != 0 && s != 1) {  // granted, grantedWithMods
        static const char* names[] = {"granted", "grantedWithMods", "rejection", "waiting", "revocationWarning",
                                      "revocationNotification"};
        std::string name = s >= 0 && s <= 5 ? names[s] : std::to_string(s);
        return make_error(Errc::invalid_input, "the time-stamping authority did not grant a token (status " + name + ")");
    }
    if (!TS_RESP_get_token(resp) || !TS_RESP_get_tst_info(resp))
        return make_error(Errc::invalid_input, "the time-stamp reply holds no token");
    return out;
}

TokenInfo info_of(TS_RESP* resp) {
    TokenInfo info;
    TS_TST_INFO* tst = TS_RESP_get_tst_info(resp);
    info.time = epoch_of(TS_TST_INFO_get_time(tst)).value_or(0);
    TS_MSG_IMPRINT* mi = TS_TST_INFO_get_msg_imprint(tst);
    const ASN1_OBJECT* alg = nullptr;
    X509_ALGOR_get0(&alg, nullptr, nullptr, TS_MSG_IMPRINT_get_algo(mi));
    info.imprint_sha256 = alg && OBJ_obj2nid(alg) == NID_sha256;
    const ASN1_OCTET_STRING* msg = TS_MSG_IMPRINT_get_msg(mi);
    info.imprint_hex = util::hex_encode(ASN1_STRING_get0_data(msg), static_cast<std::size_t>(ASN1_STRING_length(msg)));
    if (const ASN1_INTEGER* n = TS_TST_INFO_get_nonce(tst)) info.nonce_hex = integer_hex(n);
    info.serial_hex = integer_hex(TS_TST_INFO_get_serial(tst));
    if (const ASN1_OBJECT* pol = TS_TST_INFO_get_policy_id(tst)) {
        char buf[128];
        OBJ_obj2txt(buf, sizeof buf, pol, 1);
        info.policy = buf;
    }
    return info;
}

// Nonces as hex without leading zeros, as BN_bn2hex prints them.
std::string normal_hex(std::string hex) {
    std::size_t i = 0;
    while (i + 1 < hex.size() && hex[i] == '0') ++i;
    return hex.substr(i);
}

}  // namespace

Result<Certificate> read_certificate(std::string_view bytes) {
    DVI_TRY(cert, parse_x509(bytes));
    Certificate c;
    c.der = der_of(cert.get());
    c.sha256 = crypto::sha256_hex(c.der);
    c.subject = subject_of(cert.get());
    c.not_before = epoch_of(X509_get0_notBefore(cert.get())).value_or(0);
    c.not_after = epoch_of(X509_get0_notAfter(cert.get())).value_or(0);
    c.is_ca = X509_check_ca(cert.get()) != 0 && (X509_get_extension_flags(cert.get()) & EXFLAG_CA);
    c.time_stamping = (X509_get_extension_flags(cert.get()) & EXFLAG_XKUSAGE) &&
                      (X509_get_extended_key_usage(cert.get()) & XKU_TIMESTAMP);
    return c;
}

Result<std::string> make_request(const crypto::Digest256& digest, const std::string& nonce_hex) {
    ReqPtr req(TS_REQ_new());
    ossl::Ptr<TS_MSG_IMPRINT, TS_MSG_IMPRINT_free> mi(TS_MSG_IMPRINT_new());
    ossl::Ptr<X509_ALGOR, X509_ALGOR_free> alg(X509_ALGOR_new());
    if (!req || !mi || !alg) return ossl::error("cannot build a time-stamp request");
    X509_ALGOR_set0(alg.get(), OBJ_nid2obj(NID_sha256), V_ASN1_NULL, nullptr);
    BIGNUM* bn = nullptr;
    if (nonce_hex.empty() || nonce_hex.size() > 32 || !BN_hex2bn(&bn, nonce_hex.c_str()))
        return make_error(Errc::internal, "bad nonce '" + nonce_hex + "'");
    BnPtr nonce_bn(bn);
    IntPtr nonce(BN_to_ASN1_INTEGER(nonce_bn.get(), nullptr));
    if (!nonce || TS_REQ_set_version(req.get(), 1) != 1 || TS_MSG_IMPRINT_set_algo(mi.get(), alg.get()) != 1 ||
        TS_MSG_IMPRINT_set_msg(mi.get(), const_cast<unsigned char*>(digest.data()), static_cast<int>(digest.size())) != 1 ||
        TS_REQ_set_msg_imprint(req.get(), mi.get()) != 1 || TS_REQ_set_nonce(req.get(), nonce.get()) != 1 ||
        TS_REQ_set_cert_req(req.get(), 1) != 1)
        return ossl::error("cannot build a time-stamp request");
    unsigned char* buf = nullptr;
    int n = i2d_TS_REQ(req.get(), &buf);
    if (n <= 0) return ossl::error("cannot encode a time-stamp request");
    std::string out(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
    OPENSSL_free(buf);
    return out;
}

Result<TokenInfo> read_reply(std::string_view der) {
    DVI_TRY(resp, parse_reply(der));
    return info_of(resp.get());
}

Result<TokenInfo> verify_reply(std::string_view der, const crypto::Digest256& digest,
                               const std::optional<std::string>& nonce_hex, const std::vector<std::string>& trusted_der) {
    DVI_TRY(resp, parse_reply(der));
    TokenInfo info = info_of(resp.get());
    auto bad = [](std::string msg, std::string hint = {}) {
        return make_error(Errc::bad_signature, std::move(msg), std::move(hint));
    };
    // What the token is about and which request it answers, before whose it is.
    std::string want = util::hex_encode(digest.data(), digest.size());
    if (!info.imprint_sha256) return bad("the time-stamp is not over a SHA-256 digest");
    if (info.imprint_hex != want)
        return bad("the time-stamp is for other data (imprint " + info.imprint_hex + ", expected " + want + ")");
    if (nonce_hex) {
        if (!info.nonce_hex) return bad("the time-stamp carries no nonce, so it cannot answer this request");
        if (normal_hex(*info.nonce_hex) != normal_hex(*nonce_hex))
            return bad("the time-stamp answers another request (nonce " + *info.nonce_hex + ", expected " + *nonce_hex + ")");
    }

    // Who signed it: the first signer of the token's SignedData.
    PKCS7* token = TS_RESP_get_token(resp.get());
    STACK_OF(X509)* signers = PKCS7_get0_signers(token, nullptr, 0);
    if (!signers || sk_X509_num(signers) < 1) {
        sk_X509_free(signers);
        ERR_clear_error();
        return bad("the time-stamp does not include its signer's certificate",
                   "ask the time-stamping authority for its certificate in the reply (certReq)");
    }
    X509* signer = sk_X509_value(signers, 0);
    info.signer_sha256 = crypto::sha256_hex(der_of(signer));
    info.signer_subject = subject_of(signer);
    sk_X509_free(signers);

    StorePtr store(X509_STORE_new());
    if (!store) return ossl::error("cannot build a certificate store");
    for (auto& d : trusted_der) {
        DVI_TRY(cert, parse_x509(d));
        if (X509_STORE_add_cert(store.get(), cert.get()) != 1) return ossl::error("cannot trust a certificate");
    }
    // At the token's time, not today's; and a trusted TSA certificate need not chain further.
    X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(info.time));
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);

    VerifyCtxPtr ctx(TS_VERIFY_CTX_new());
    if (!ctx) return ossl::error("cannot verify a time-stamp");
    TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE);
    TS_VERIFY_CTX_set_store(ctx.get(), store.release());  // the context owns it now
    if (TS_RESP_verify_response(ctx.get(), resp.get()) != 1) {
        Error e = ossl::error("the time-stamp signed by '" + info.signer_subject + "' does not verify",
                              Errc::bad_signature);
        e.hint = "the consortium trusts the time-stamping authorities listed by 'dvi roster list'; an authority adds "
                 "one with 'dvi roster trust-tsa <cert.pem>'";
        return e;
    }
    return info;
}

namespace {

void free_string(char* p) { OPENSSL_free(p); }

struct TlsTarget {
    SSL_CTX* ctx = nullptr;
    std::string host;
};

// OpenSSL's HTTP client calls this around connecting: wrap the socket in TLS for https.
BIO* tls_update(BIO* bio, void* arg, int connect, int detail) {
    auto* t = static_cast<TlsTarget*>(arg);
    if (connect && detail) {
        BIO* sbio = BIO_new_ssl(t->ctx, 1);
        SSL* ssl = nullptr;
        if (!sbio || BIO_get_ssl(sbio, &ssl) != 1 || SSL_set_tlsext_host_name(ssl, t->host.c_str()) != 1 ||
            SSL_set1_host(ssl, t->host.c_str()) != 1) {
            BIO_free(sbio);
            return nullptr;
        }
        return BIO_push(sbio, bio);
    }
    if (!connect && detail) {  // done: shut TLS down and hand back the socket BIO
        BIO_ssl_shutdown(bio);
        BIO* next = BIO_pop(bio);
        BIO_free(bio);
        return next;
    }
    return bio;
}

}  // namespace

// OpenSSL's HTTP client retries a refused connection until its timeout (for a server
// still starting); a TSA that refuses, or a host that cannot be reached, is said at
// once, and one that does not answer within the timeout is not waited for twice.
// Probed only when no proxy is in the way, which would be the one connected to.
Status probe_connect(const char* host, const char* port, bool use_ssl, int timeout_seconds) {
    if (OSSL_HTTP_adapt_proxy(nullptr, nullptr, host, use_ssl) != nullptr) return {};
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host, port, &hints, &found) != 0 || !found) return {};  // OpenSSL says why
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> owned(found, ::freeaddrinfo);
    int last = 0;
    for (addrinfo* a = found; a; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        int err = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
        if (err == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            const int n = ::poll(&p, 1, timeout_seconds * 1000);
            socklen_t len = sizeof err;
            err = n == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? err : ETIMEDOUT;
        }
        ::close(fd);
        if (err == 0) return {};  // reachable: OpenSSL connects again and goes on
        last = err;
    }
    if (last == ECONNREFUSED || last == EHOSTUNREACH || last == ENETUNREACH || last == ETIMEDOUT)
        return make_error(Errc::io, std::string("cannot connect to ") + host + ":" + port + ": " + std::strerror(last));
    return {};
}

Result<std::string> http_post(const HttpPost& req) {
    int use_ssl = 0;
    char *host = nullptr, *port = nullptr, *path = nullptr, *query = nullptr;
    if (OSSL_HTTP_parse_url(req.url.c_str(), &use_ssl, nullptr, &host, &port, nullptr, &path, &query, nullptr) != 1) {
        ERR_clear_error();
        return make_error(Errc::invalid_input, "not an http:// or https:// URL: '" + req.url + "'");
    }
    using StrPtr = ossl::Ptr<char, free_string>;
    StrPtr h(host), po(port), pa(path), q(query);
    std::string full_path = std::string(path ? path : "/") + (query && *query ? std::string("?") + query : "");

    if (host && port) DVI_CHECK(probe_connect(host, port, use_ssl != 0, req.timeout_seconds));
    TlsTarget tls{nullptr, host ? host : ""};
    SslCtxPtr ssl_ctx;
    if (use_ssl) {
        ssl_ctx.reset(SSL_CTX_new(TLS_client_method()));
        if (!ssl_ctx || SSL_CTX_set_default_verify_paths(ssl_ctx.get()) != 1)
            return ossl::error("cannot set up TLS", Errc::io);
        SSL_CTX_set_verify(ssl_ctx.get(), SSL_VERIFY_PEER, nullptr);
        tls.ctx = ssl_ctx.get();
    }
    BioPtr body(BIO_new_mem_buf(req.body.data(), static_cast<int>(req.body.size())));
    BIO* resp = OSSL_HTTP_transfer(nullptr, host, port, full_path.c_str(), use_ssl, nullptr, nullptr, nullptr, nullptr,
                                   use_ssl ? tls_update : nullptr, use_ssl ? &tls : nullptr, 0, nullptr,
                                   req.content_type.c_str(), body.get(), req.accept.c_str(), 1, req.max_bytes,
                                   req.timeout_seconds, 0);
    // expect_asn1 (1 above) makes the client read the whole DER reply into memory; else it
    // would hand back the socket to stream from.
    if (!resp) return ossl::error("no reply from " + req.url, Errc::io);
    BioPtr owned(resp);
    std::string out;
    char buf[4096];
    int n;
    while ((n = BIO_read(resp, buf, sizeof buf)) > 0) {
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > req.max_bytes) return make_error(Errc::io, "the reply from " + req.url + " is too large");
    }
    return out;
}

}  // namespace dvi::tsp
