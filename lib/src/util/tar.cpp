#include "dvi/util/tar.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

namespace dvi::util {

namespace {

constexpr std::size_t k_block = 512;
constexpr std::size_t k_record = 10240;  // tar's default blocking factor of 20

// The ustar header fields we write and read (offset, length).
struct Field {
    std::size_t off, len;
};
constexpr Field k_name{0, 100}, k_mode{100, 8}, k_uid{108, 8}, k_gid{116, 8}, k_size{124, 12}, k_mtime{136, 12},
    k_chksum{148, 8}, k_type{156, 1}, k_magic{257, 6}, k_version{263, 2}, k_devmajor{329, 8}, k_devminor{337, 8},
    k_prefix{345, 155};

void put(std::string& block, Field f, std::string_view s) {
    std::memcpy(&block[f.off], s.data(), std::min(s.size(), f.len));
}

// Octal, zero-padded to the field's width minus its terminating NUL.
std::string octal(std::uint64_t v, std::size_t width) {
    std::string out(width, '0');
    for (std::size_t i = width; i-- > 0 && v;) {
        out[i] = static_cast<char>('0' + (v & 7));
        v >>= 3;
    }
    return out;
}

unsigned checksum(std::string_view block) {
    unsigned sum = 0;
    for (std::size_t i = 0; i < k_block; ++i)
        sum += (i >= k_chksum.off && i < k_chksum.off + k_chksum.len) ? ' ' : static_cast<unsigned char>(block[i]);
    return sum;
}

// A numeric field: octal digits, optionally led by spaces and ended by NUL or space.
// Base-256 (GNU's large-number form) and anything else are refused.
std::optional<std::uint64_t> parse_octal(std::string_view field) {
    std::size_t i = 0;
    while (i < field.size() && field[i] == ' ') ++i;
    std::uint64_t v = 0;
    std::size_t digits = 0;
    for (; i < field.size() && field[i] >= '0' && field[i] <= '7'; ++i, ++digits) {
        if (v >> 60) return std::nullopt;
        v = (v << 3) | static_cast<std::uint64_t>(field[i] - '0');
    }
    for (; i < field.size(); ++i)
        if (field[i] != '\0' && field[i] != ' ') return std::nullopt;
    if (digits == 0) return std::nullopt;
    return v;
}

std::string c_string(std::string_view field) {
    return std::string(field.substr(0, std::min(field.find('\0'), field.size())));
}

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-' || c == '+' || c == '@' || c == '=';
}

Error bad(const std::string& what) {
    return make_error(Errc::invalid_input, what);
}

}  // namespace

bool tar_name_ok(std::string_view name) {
    if (name.empty() || name.size() > k_name.len || name.front() == '/') return false;
    std::size_t start = 0;
    while (start <= name.size()) {
        auto end = name.find('/', start);
        if (end == std::string_view::npos) end = name.size();
        auto part = name.substr(start, end - start);
        if (part.empty() || part == "." || part == "..") return false;
        for (char c : part)
            if (!name_char(c)) return false;
        start = end + 1;
    }
    return true;
}

Result<std::string> tar_write(const std::vector<TarEntry>& entries, std::int64_t mtime) {
    std::string out;
    std::set<std::string> seen;
    for (auto& e : entries) {
        if (!tar_name_ok(e.name))
            return bad("cannot archive '" + e.name + "': not a plain relative name of 1-100 bytes");
        if (!seen.insert(e.name).second) return bad("cannot archive '" + e.name + "' twice");
        std::string h(k_block, '\0');
        put(h, k_name, e.name);
        put(h, k_mode, octal(0644, 7));
        put(h, k_uid, octal(0, 7));
        put(h, k_gid, octal(0, 7));
        put(h, k_size, octal(e.data.size(), 11));
        put(h, k_mtime, octal(static_cast<std::uint64_t>(std::max<std::int64_t>(mtime, 0)), 11));
        put(h, k_type, "0");
        put(h, k_magic, std::string_view("ustar\0", 6));
        put(h, k_version, "00");
        put(h, k_devmajor, octal(0, 7));
        put(h, k_devminor, octal(0, 7));
        std::string sum = octal(checksum(h), 6);
        sum.push_back('\0');
        sum.push_back(' ');
        put(h, k_chksum, sum);
        out += h;
        out += e.data;
        out.append((k_block - e.data.size() % k_block) % k_block, '\0');
    }
    out.append(2 * k_block, '\0');
    out.append((k_record - out.size() % k_record) % k_record, '\0');
    return out;
}

Result<std::vector<TarEntry>> tar_read(std::string_view archive, const TarLimits& limits) {
    std::vector<TarEntry> out;
    std::set<std::string> names;
    std::uint64_t total = 0;
    std::size_t pos = 0;
    if (archive.size() < k_block) return bad("not a tar archive (shorter than one header)");
    while (true) {
        if (pos + k_block > archive.size()) return bad("truncated archive: it ends without its two zero blocks");
        std::string_view h = archive.substr(pos, k_block);
        if (h.find_first_not_of('\0') == std::string_view::npos) break;  // end of archive
        std::string where = "entry " + std::to_string(out.size() + 1);
        auto sum = parse_octal(h.substr(k_chksum.off, k_chksum.len));
        if (!sum || *sum != checksum(h))
            return bad(pos == 0 ? "not a tar archive (bad header checksum)" : where + ": bad header checksum");
        std::string magic(h.substr(k_magic.off, 8));
        if (magic != std::string("ustar\0"
                                 "00",
                                 8) &&
            magic != std::string("ustar  \0", 8))
            return bad(where + ": not a ustar header");
        std::string name = c_string(h.substr(k_name.off, k_name.len));
        std::string prefix = c_string(h.substr(k_prefix.off, k_prefix.len));
        if (!prefix.empty()) name = prefix + "/" + name;
        char type = h[k_type.off];
        std::string shown = name.substr(0, 120);
        auto size = parse_octal(h.substr(k_size.off, k_size.len));
        if (!size) return bad("'" + shown + "': bad size field");
        if (type == 'x' || type == 'g' || type == 'L' || type == 'K')
            return bad("'" + shown + "': extension headers (pax or GNU) are not allowed");
        if (type != '0' && type != '\0' && type != '5')
            return bad("'" + shown + "': only regular files are allowed (type '" + std::string(1, type) + "')");
        if (name.rfind("./", 0) == 0) name.erase(0, 2);
        if (type == '5') {
            if (*size != 0) return bad("'" + shown + "': a directory with data");
            while (!name.empty() && name.back() == '/') name.pop_back();
            if (!name.empty() && name != "." && !tar_name_ok(name)) return bad("'" + shown + "': unsafe path");
            pos += k_block;
            continue;
        }
        if (!tar_name_ok(name))
            return bad("'" + shown + "': unsafe path (absolute, '..', empty or unusual characters)");
        if (!names.insert(name).second) return bad("'" + shown + "': appears twice");
        if (out.size() >= limits.max_entries)
            return bad("more than " + std::to_string(limits.max_entries) + " entries");
        if (*size > limits.max_entry_size)
            return bad("'" + shown + "': " + std::to_string(*size) + " bytes, over the limit of " +
                       std::to_string(limits.max_entry_size));
        total += *size;
        if (total > limits.max_total_size)
            return bad("more than " + std::to_string(limits.max_total_size) + " bytes of entries");
        pos += k_block;
        if (*size > archive.size() - pos) return bad("truncated archive: '" + shown + "' is cut short");
        out.push_back({name, std::string(archive.substr(pos, static_cast<std::size_t>(*size)))});
        pos += static_cast<std::size_t>((*size + k_block - 1) / k_block * k_block);
        if (pos > archive.size()) return bad("truncated archive: '" + shown + "' is cut short");
    }
    return out;
}

}  // namespace dvi::util
