// Fuzz target: part passports, as `dvi passport verify` reads a file someone hands over.
// The whole input goes to the ustar reader and then to the verifier. Properties:
//  1. the reader returns only safe relative names, never twice, within its limits;
//  2. what it returns, written again by tar_write, reads back to the same entries;
//  3. the verifier refuses only as bad input (a failed proof is a problem, not an error),
//     and accepts an archive only if the reader does.
#include <set>
#include <string>

#include "dvi/passport.hpp"
#include "dvi/util/tar.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto text = dvi_fuzz::as_text(data, size);
    dvi::util::TarLimits limits;
    auto entries = dvi::util::tar_read(text, limits);
    if (entries) {
        std::set<std::string> names;
        DVI_FUZZ_CHECK(entries->size() <= limits.max_entries, "at most max_entries");
        for (auto& e : *entries) {
            DVI_FUZZ_CHECK(dvi::util::tar_name_ok(e.name), "tar_read returns only safe names");
            DVI_FUZZ_CHECK(names.insert(e.name).second, "tar_read returns each name once");
            DVI_FUZZ_CHECK(e.data.size() <= limits.max_entry_size, "entries within the size limit");
        }
        auto again = dvi::util::tar_write(*entries, 0);
        DVI_FUZZ_CHECK(again.ok(), "what tar_read returns can be written");
        auto back = dvi::util::tar_read(*again, limits);
        DVI_FUZZ_CHECK(back.ok() && back->size() == entries->size(), "a rewritten archive reads back");
        for (std::size_t i = 0; back.ok() && i < back->size(); ++i)
            DVI_FUZZ_CHECK((*back)[i].name == (*entries)[i].name && (*back)[i].data == (*entries)[i].data,
                           "a rewritten archive reads back the same entries");
    }
    auto out = dvi::passport_verify_bytes(text, "fuzz.tar", std::nullopt);
    if (!out) DVI_FUZZ_CHECK(out.error().code == dvi::Errc::invalid_input, "the verifier refuses only as bad input");
    else DVI_FUZZ_CHECK(entries.ok(), "the verifier accepts only what the reader reads");
    return 0;
}
