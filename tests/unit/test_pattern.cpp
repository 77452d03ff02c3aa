// SimplePattern against std::regex: every pattern of dvi's schemas is in its subset, and
// on a corpus of valid values, their one-byte mutations and random strings it answers as
// std::regex_search does; patterns outside the subset are left to std::regex.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "dvi/canonical.hpp"
#include "pattern.hpp"

using dvi::SimplePattern;

namespace {

// Every "pattern" value and every patternProperties key of a schema document.
void collect_patterns(const nlohmann::json& j, std::set<std::string>& out) {
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            if (it.key() == "pattern" && it->is_string()) out.insert(it->get<std::string>());
            if (it.key() == "patternProperties" && it->is_object())
                for (auto p = it->begin(); p != it->end(); ++p) out.insert(p.key());
            collect_patterns(*it, out);
        }
    } else if (j.is_array()) {
        for (auto& e : j) collect_patterns(e, out);
    }
}

std::vector<std::string> corpus() {
    std::vector<std::string> valid = {
        "", "a", "acme", "bureau7", "s5", "S5-0412", "PETG-2026-0117", "polyfil/PETG-2026-0117", "bureau7/s5",
        "mini-petg", "Original Prusa MINI", "2026-11-23", "2026-11-23T10:00:00Z", "12", "12.5", "-0.25 mm",
        "210 degC", "3 x", "model/stl", "application/vnd.ms-package.3dmanufacturing-3dmodel+xml", "text/plain",
        "part.stl", "part.STL", "dir/part.stl", "/etc/passwd", "\\\\server\\share", "../up", "a.b_c-d",
        std::string(64, 'a'), std::string(64, 'f') + "0", "sha256:" + std::string(64, '0'),
        "sha256:" + std::string(63, '1'), std::string(40, 'c'), std::string(16, '9'), "0123456789abcdef",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx3", "ssh-ed25519 AAAA==", "SHA256:" + std::string(43, 'Q'),
        std::string(43, 'k') + "=", std::string(64, '+'), "QUJD", "QUJDRA==", "a/b", "a//b", "A1.b+c_d",
        "x y", "tab\there", "line\nbreak", "cr\rhere", std::string("nul\0in", 6), "caf\xc3\xa9", "\xff\xfe",
        "release-candidate", "roster", "print", "in-quarantine", std::string(70, 'z'), "1.0.0", "v1+build",
    };
    std::vector<std::string> out = valid;
    const std::string alphabet = "aZ09-_./:+= \t\n\r\\$^()[]{}|?*xX\xc3";
    for (auto& v : valid) {
        for (std::size_t i = 0; i <= v.size(); ++i) {
            if (i < v.size()) out.push_back(v.substr(0, i) + v.substr(i + 1));  // a byte dropped
            for (char c : {'a', 'Z', '0', '-', '/', ' ', '\n', '.', '='}) {
                out.push_back(v.substr(0, i) + c + v.substr(i));  // a byte inserted
                if (i < v.size()) out.push_back(v.substr(0, i) + c + v.substr(i + 1));  // replaced
            }
        }
    }
    std::mt19937 rng(20261203);
    for (int n = 0; n < 2000; ++n) {
        std::string s(rng() % 80, '\0');
        for (char& c : s) c = alphabet[rng() % alphabet.size()];
        out.push_back(s);
    }
    return out;
}

bool agrees(const std::string& pattern, const std::vector<std::string>& subjects, std::size_t& matches) {
    auto simple = SimplePattern::parse(pattern);
    REQUIRE(simple.has_value());
    std::regex re(pattern, std::regex::ECMAScript);
    for (auto& s : subjects) {
        bool expected = std::regex_search(s, re);
        if (simple->search(s) != expected) {
            FAIL_CHECK("pattern " << pattern << " on '" << s << "': std::regex says " << expected);
            return false;
        }
        matches += expected;
    }
    return true;
}

}  // namespace

TEST_CASE("every schema pattern is matched without std::regex, as std::regex matches it", "[schema]") {
    std::set<std::string> patterns;
    for (auto& f : std::filesystem::directory_iterator(std::filesystem::path(DVI_SOURCE_DIR) / "schemas")) {
        std::ifstream in(f.path());
        collect_patterns(nlohmann::json::parse(in), patterns);
    }
    REQUIRE(patterns.size() >= 20);
    auto subjects = corpus();
    for (auto& p : patterns) {
        std::size_t matches = 0;
        INFO("pattern " << p);
        CHECK(agrees(p, subjects, matches));
        CHECK(matches > 0);  // the corpus reaches each pattern's matches, not only its misses
    }
}

TEST_CASE("the subset: classes, groups, quantifiers and anchors as ECMAScript reads them", "[schema]") {
    auto subjects = corpus();
    for (std::string p : {"b", "^a", "z$", "^$", "a.c", "^.*$", "^[^a-c]+$", "^[\\s]*x", "[^\\s]{2}", "\\d\\d", "\\W",
                          "^(ab)?c", "^a(b(c)?)?d$", "^x{2,}$", "^-?[0-9]+(\\.[0-9]+)?$", "[.]", "\\.", "^[a-]+$",
                          "^[-a]+$", "a{0}b", "^(a|)", "[\\\\/]", "^\\$", "^[+=]{1,3}", "(/[a-z]+)?$"}) {
        auto simple = SimplePattern::parse(p);
        if (!simple) {
            CHECK(p == "^(a|)");  // alternation: std::regex's
            continue;
        }
        std::size_t matches = 0;
        INFO("pattern " << p);
        CHECK(agrees(p, subjects, matches));
    }
}

TEST_CASE("patterns outside the subset are left to std::regex", "[schema]") {
    for (const char* p : {"a|b", "(?:a)", "(?=a)", "a*?", "a+?", "\\bword", "\\1", "(ab)+", "(ab)*", "[[:alpha:]]",
                          "[]a]", "[^]", "(unclosed", "unopened)", "a{2,1}", "a**", "*a", "x^", "a$b", "[z-a]", "\\n",
                          "\\", "[abc", "a{", "a}"})
        CHECK_FALSE(SimplePattern::parse(p).has_value());
}
