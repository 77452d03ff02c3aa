#include "delta.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace dvi::delta {

namespace {

constexpr std::size_t k_block = 8;           // bytes a match must share to be worth a copy
constexpr std::size_t k_max_copy = 0x10000;  // the largest copy one instruction holds

void put_varint(std::string& out, std::size_t v) {
    do {
        auto b = static_cast<unsigned char>(v & 0x7f);
        v >>= 7;
        if (v) b |= 0x80;
        out.push_back(static_cast<char>(b));
    } while (v);
}

void put_copy(std::string& out, std::size_t offset, std::size_t size) {
    while (size > 0) {
        std::size_t n = std::min(size, k_max_copy);
        unsigned char op = 0x80;
        std::string args;
        for (int i = 0; i < 4; ++i)
            if (auto b = static_cast<unsigned char>((offset >> (8 * i)) & 0xff)) {
                op |= static_cast<unsigned char>(1u << i);
                args.push_back(static_cast<char>(b));
            }
        if (n != k_max_copy)  // 0x10000 is written as no size bytes at all
            for (int i = 0; i < 3; ++i)
                if (auto b = static_cast<unsigned char>((n >> (8 * i)) & 0xff)) {
                    op |= static_cast<unsigned char>(0x10u << i);
                    args.push_back(static_cast<char>(b));
                }
        out.push_back(static_cast<char>(op));
        out += args;
        offset += n;
        size -= n;
    }
}

void put_insert(std::string& out, std::string_view bytes) {
    while (!bytes.empty()) {
        std::size_t n = std::min<std::size_t>(bytes.size(), 0x7f);
        out.push_back(static_cast<char>(n));
        out.append(bytes.substr(0, n));
        bytes.remove_prefix(n);
    }
}

std::uint64_t load64(const char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

std::size_t slot_of(std::uint64_t v, std::size_t mask) {
    return static_cast<std::size_t>((v * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

bool get_varint(std::string_view& in, std::size_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (in.empty()) return false;
        auto b = static_cast<unsigned char>(in.front());
        in.remove_prefix(1);
        v |= static_cast<std::size_t>(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

}  // namespace

std::optional<std::string> encode(std::string_view base, std::string_view target, std::size_t limit) {
    std::string out;
    put_varint(out, base.size());
    put_varint(out, target.size());

    std::size_t prefix = 0;
    std::size_t max_common = std::min(base.size(), target.size());
    while (prefix < max_common && base[prefix] == target[prefix]) ++prefix;
    std::size_t suffix = 0;
    while (suffix < max_common - prefix && base[base.size() - 1 - suffix] == target[target.size() - 1 - suffix]) ++suffix;

    std::size_t t = 0;
    std::string_view pending;  // literal bytes not yet written
    auto flush = [&] {
        put_insert(out, pending);
        pending = {};
    };
    if (prefix >= k_block) {
        put_copy(out, 0, prefix);
        t = prefix;
    }
    const std::size_t t_end = target.size() - (suffix >= k_block ? suffix : 0);

    // An index of the 8-byte blocks of the changed part of the base: the slot of each
    // block's hash holds its last position (plus one; zero is empty).
    const std::size_t b_begin = prefix, b_end = base.size() - suffix;
    std::vector<std::uint32_t> slots;
    std::size_t mask = 0;
    if (b_end - b_begin >= k_block && t_end - t >= k_block) {
        std::size_t n = 1;
        while (n < 2 * (b_end - b_begin)) n <<= 1;
        slots.assign(n, 0);
        mask = n - 1;
        for (std::size_t p = b_begin; p + k_block <= b_end; ++p)
            slots[slot_of(load64(base.data() + p), mask)] = static_cast<std::uint32_t>(p + 1);
    }
    while (t < t_end) {
        if (!slots.empty() && t + k_block <= t_end) {
            std::uint32_t s = slots[slot_of(load64(target.data() + t), mask)];
            if (s != 0 && std::memcmp(base.data() + s - 1, target.data() + t, k_block) == 0) {
                std::size_t b = s - 1, len = k_block;
                while (b + len < base.size() && t + len < t_end && base[b + len] == target[t + len]) ++len;
                // Take back the literal bytes that the match also covers.
                while (!pending.empty() && b > 0 && base[b - 1] == pending.back()) {
                    pending.remove_suffix(1);
                    --b;
                    --t;
                    ++len;
                }
                flush();
                put_copy(out, b, len);
                t += len;
                if (out.size() > limit) return std::nullopt;
                continue;
            }
        }
        pending = pending.empty() ? target.substr(t, 1) : std::string_view(pending.data(), pending.size() + 1);
        ++t;
    }
    flush();
    if (t_end < target.size()) put_copy(out, base.size() - suffix, suffix);
    if (out.size() > limit) return std::nullopt;
    return out;
}

Result<std::string> apply(std::string_view base, std::string_view delta) {
    std::size_t base_size = 0, target_size = 0;
    if (!get_varint(delta, base_size) || !get_varint(delta, target_size))
        return make_error(Errc::invalid_input, "delta: truncated header");
    if (base_size != base.size()) return make_error(Errc::invalid_input, "delta: base size does not match");
    std::string out;
    out.reserve(std::min<std::size_t>(target_size, std::size_t{1} << 20));  // a size from untrusted bytes
    while (!delta.empty()) {
        auto op = static_cast<unsigned char>(delta.front());
        delta.remove_prefix(1);
        if (op & 0x80) {
            std::size_t offset = 0, size = 0;
            for (int i = 0; i < 7; ++i) {
                if (!(op & (1u << i))) continue;
                if (delta.empty()) return make_error(Errc::invalid_input, "delta: truncated copy");
                auto b = static_cast<std::size_t>(static_cast<unsigned char>(delta.front()));
                delta.remove_prefix(1);
                if (i < 4) offset |= b << (8 * i);
                else size |= b << (8 * (i - 4));
            }
            if (size == 0) size = k_max_copy;
            if (offset > base.size() || size > base.size() - offset)
                return make_error(Errc::invalid_input, "delta: copy outside the base");
            out.append(base.substr(offset, size));
        } else if (op != 0) {
            if (op > delta.size()) return make_error(Errc::invalid_input, "delta: truncated insert");
            out.append(delta.substr(0, op));
            delta.remove_prefix(op);
        } else {
            return make_error(Errc::invalid_input, "delta: reserved instruction 0");
        }
        if (out.size() > target_size) return make_error(Errc::invalid_input, "delta: longer than its target size");
    }
    if (out.size() != target_size) return make_error(Errc::invalid_input, "delta: shorter than its target size");
    return out;
}

}  // namespace dvi::delta
