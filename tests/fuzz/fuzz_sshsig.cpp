// Fuzz target: SSH signatures (PROTOCOL.sshsig) as dvi checks every ledger commit. The
// input is "<armored signature>\0<signed message>" (no NUL: all armor, empty message).
// A signature that verifies must bind its message and its namespace.
#include <string>

#include "dvi/sshsig.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = dvi_fuzz::as_text(data, size);
    const auto nul = input.find('\0');
    const std::string_view armored = input.substr(0, nul);
    const std::string_view message = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);

    auto key = dvi::sshsig::verify(armored, message, dvi::sshsig::k_git_namespace);
    if (!key) {
        DVI_FUZZ_CHECK(key.error().code == dvi::Errc::bad_signature, "a refused signature is bad_signature");
        return 0;
    }
    DVI_FUZZ_CHECK(!key->fingerprint().empty(), "a verified signature names its key");
    const std::string other = std::string(message) + "x";
    DVI_FUZZ_CHECK(!dvi::sshsig::verify(armored, other, dvi::sshsig::k_git_namespace),
                   "a signature does not verify another message");
    DVI_FUZZ_CHECK(!dvi::sshsig::verify(armored, message, "file"), "a signature does not verify in another namespace");
    return 0;
}
