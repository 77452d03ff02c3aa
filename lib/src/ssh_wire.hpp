// SSH wire encoding (RFC 4251 §5): uint32 big-endian and length-prefixed strings.
// Private to the library: used by keys and SSHSIG.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dvi/util/encoding.hpp"

namespace dvi::ssh {

using util::Bytes;

class Writer {
public:
    void u32(std::uint32_t v) {
        for (int s = 24; s >= 0; s -= 8) m_out.push_back(static_cast<std::uint8_t>(v >> s));
    }
    void raw(const std::uint8_t* p, std::size_t n) { m_out.insert(m_out.end(), p, p + n); }
    void string(const std::uint8_t* p, std::size_t n) {
        u32(static_cast<std::uint32_t>(n));
        raw(p, n);
    }
    void string(std::string_view s) { string(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()); }
    Bytes take() { return std::move(m_out); }

private:
    Bytes m_out;
};

// Bounds-checked reader: every accessor returns nullopt past the end.
class Reader {
public:
    explicit Reader(const Bytes& b) : m_p(b.data()), m_end(b.data() + b.size()) {}
    std::optional<std::uint32_t> u32() {
        if (m_end - m_p < 4) return std::nullopt;
        std::uint32_t v = std::uint32_t(m_p[0]) << 24 | std::uint32_t(m_p[1]) << 16 | std::uint32_t(m_p[2]) << 8 | m_p[3];
        m_p += 4;
        return v;
    }
    std::optional<std::string> string() {
        auto n = u32();
        if (!n || static_cast<std::size_t>(m_end - m_p) < *n) return std::nullopt;
        std::string s(reinterpret_cast<const char*>(m_p), *n);
        m_p += *n;
        return s;
    }
    bool raw_equals(std::string_view s) {
        if (static_cast<std::size_t>(m_end - m_p) < s.size()) return false;
        if (std::string_view(reinterpret_cast<const char*>(m_p), s.size()) != s) return false;
        m_p += s.size();
        return true;
    }
    bool at_end() const { return m_p == m_end; }

private:
    const std::uint8_t* m_p;
    const std::uint8_t* m_end;
};

}  // namespace dvi::ssh
