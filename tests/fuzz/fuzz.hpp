// Shared by the fuzz targets: the entry point libFuzzer (or replay_main.cpp) calls, and a
// check that reports a broken property and aborts, so that the fuzzer saves the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace dvi_fuzz {

// The input as the byte string the library takes.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// A property every input must keep; when it fails the input is a finding.
#define DVI_FUZZ_CHECK(cond, what)                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "%s:%d: property violated: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

}  // namespace dvi_fuzz
