// The OpenSSL seam, shared by crypto.cpp (digests, Ed25519) and tsp.cpp (RFC 3161,
// X.509, HTTP): one way to turn OpenSSL's error queue into an Error, and owning handles.
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>

#include <memory>
#include <string>

#include "dvi/result.hpp"

namespace dvi::ossl {

// Turns OpenSSL's error queue into one Error of `code`; the queue is emptied.
inline Error error(std::string what, Errc code = Errc::crypto) {
    const char* data = nullptr;
    int flags = 0;
    unsigned long e = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
    std::string detail;
    if (e != 0) {
        const char* reason = ERR_reason_error_string(e);
        detail = reason ? reason : "error " + std::to_string(e);
        // The data OpenSSL attaches says more, e.g. "Verify error:certificate has expired".
        if (data && *data && (flags & ERR_TXT_STRING)) detail += " (" + std::string(data) + ")";
    }
    ERR_clear_error();
    return make_error(code, what + (detail.empty() ? "" : ": " + detail));
}

// unique_ptr for an OpenSSL type with its free function: Ptr<BIO, BIO_free_all>.
template <class T, auto Free>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};
template <class T, auto Free>
using Ptr = std::unique_ptr<T, Deleter<T, Free>>;

// All that a memory BIO holds.
inline std::string bio_contents(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace dvi::ossl
