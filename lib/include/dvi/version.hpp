// Versions of dvi and of the libraries it runs with, for `dvi --version` and bug reports.
#pragma once

#include <string>

namespace dvi {

std::string version();          // "0.1.0"
std::string libgit2_version();  // as the loaded library reports it
std::string openssl_version();

}  // namespace dvi
