#include "dvi/version.hpp"

#include <git2.h>
#include <openssl/crypto.h>

namespace dvi {

std::string version() { return DVI_VERSION; }

std::string libgit2_version() {
    int major = 0, minor = 0, rev = 0;
    git_libgit2_version(&major, &minor, &rev);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(rev);
}

std::string openssl_version() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace dvi
