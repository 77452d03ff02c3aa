#include "pattern.hpp"

#include <cctype>
#include <limits>

namespace dvi {

namespace {

constexpr std::size_t k_unbounded = std::numeric_limits<std::size_t>::max();
constexpr int k_max_nesting = 8;

using Set = std::bitset<256>;

Set byte_set(unsigned char c) {
    Set s;
    s.set(c);
    return s;
}

Set range_set(unsigned char lo, unsigned char hi) {
    Set s;
    for (unsigned c = lo; c <= hi; ++c) s.set(c);
    return s;
}

// \d, \s and \w as libstdc++ reads them on bytes in the "C" locale.
std::optional<Set> class_escape(char c) {
    Set s;
    switch (c) {
        case 'd': return range_set('0', '9');
        case 's':
            for (char x : {' ', '\t', '\n', '\v', '\f', '\r'}) s.set(static_cast<unsigned char>(x));
            return s;
        case 'w': return range_set('a', 'z') | range_set('A', 'Z') | range_set('0', '9') | byte_set('_');
        case 'D': return ~*class_escape('d');
        case 'S': return ~*class_escape('s');
        case 'W': return ~*class_escape('w');
        default: return std::nullopt;
    }
}

bool is_special(char c) { return std::string_view("^$\\.*+?()[]{}|").find(c) != std::string_view::npos; }

// "[...]" from just after the '['; nullopt outside the subset.
std::optional<Set> parse_class(std::string_view p, std::size_t& pos) {
    bool negate = pos < p.size() && p[pos] == '^';
    if (negate) ++pos;
    if (pos < p.size() && p[pos] == ']') return std::nullopt;  // "[]" and "[^]": left to std::regex
    Set set;
    // One member: a byte into `byte`, or a class escape (\d, \s, \w) into `cls`.
    auto member = [&](std::optional<unsigned char>& byte, Set& cls) -> bool {
        if (pos >= p.size()) return false;
        char c = p[pos++];
        if (c == '[') return false;  // [:alpha:] and the like
        if (c != '\\') {
            byte = static_cast<unsigned char>(c);
            return true;
        }
        if (pos >= p.size()) return false;
        char e = p[pos++];
        if (auto s = class_escape(e); s && (e == 'd' || e == 's' || e == 'w')) {
            cls = *s;
            return true;
        }
        if (std::isalnum(static_cast<unsigned char>(e))) return false;  // \b, \n, \u… : not here
        byte = static_cast<unsigned char>(e);
        return true;
    };
    while (true) {
        if (pos >= p.size()) return std::nullopt;
        if (p[pos] == ']') {
            ++pos;
            break;
        }
        std::optional<unsigned char> lo;
        Set cls;
        if (!member(lo, cls)) return std::nullopt;
        if (!lo) {
            set |= cls;
            continue;
        }
        if (pos + 1 < p.size() && p[pos] == '-' && p[pos + 1] != ']') {
            ++pos;
            std::optional<unsigned char> hi;
            Set hi_cls;
            if (!member(hi, hi_cls) || !hi || *hi < *lo) return std::nullopt;
            set |= range_set(*lo, *hi);
        } else {
            set.set(*lo);
        }
    }
    return negate ? ~set : set;
}

// A quantifier at `pos`, if any: {min, max}; false when malformed or lazy.
bool parse_quantifier(std::string_view p, std::size_t& pos, std::size_t& min, std::size_t& max) {
    min = max = 1;
    if (pos >= p.size()) return true;
    char c = p[pos];
    if (c == '*' || c == '+' || c == '?') {
        ++pos;
        min = c == '+' ? 1 : 0;
        max = c == '?' ? 1 : k_unbounded;
    } else if (c == '{') {
        auto number = [&](std::size_t& v) {
            std::size_t start = pos;
            v = 0;
            while (pos < p.size() && std::isdigit(static_cast<unsigned char>(p[pos])) && pos - start < 6)
                v = v * 10 + static_cast<std::size_t>(p[pos++] - '0');
            return pos > start;
        };
        ++pos;
        if (!number(min)) return false;
        max = min;
        if (pos < p.size() && p[pos] == ',') {
            ++pos;
            if (pos < p.size() && p[pos] == '}') max = k_unbounded;
            else if (!number(max) || max < min) return false;
        }
        if (pos >= p.size() || p[pos] != '}') return false;
        ++pos;
    } else {
        return true;
    }
    // A lazy or a second quantifier: left to std::regex.
    return !(pos < p.size() && (p[pos] == '?' || p[pos] == '*' || p[pos] == '+' || p[pos] == '{'));
}

}  // namespace

bool SimplePattern::parse_sequence(std::string_view p, std::size_t& pos, bool in_group, std::vector<Node>& out,
                                   bool& anchored_end, int depth) {
    if (depth > k_max_nesting) return false;
    while (pos < p.size()) {
        char c = p[pos];
        Node node;
        if (c == ')') {
            if (!in_group) return false;
            ++pos;
            return true;
        }
        if (c == '$') {
            if (in_group || pos + 1 != p.size()) return false;
            anchored_end = true;
            ++pos;
            return true;
        }
        if (c == '(') {
            ++pos;
            if (pos < p.size() && p[pos] == '?') return false;  // (?:…), lookarounds
            node.is_group = true;
            bool inner_end = false;
            if (!parse_sequence(p, pos, true, node.group, inner_end, depth + 1) || inner_end) return false;
        } else if (c == '[') {
            ++pos;
            auto set = parse_class(p, pos);
            if (!set) return false;
            node.accepts = *set;
        } else if (c == '.') {
            ++pos;
            node.accepts = ~(byte_set('\n') | byte_set('\r'));
        } else if (c == '\\') {
            if (pos + 1 >= p.size()) return false;
            char e = p[pos + 1];
            pos += 2;
            if (auto s = class_escape(e)) node.accepts = *s;
            else if (std::isalnum(static_cast<unsigned char>(e))) return false;  // \b, \1, \n, \u…
            else node.accepts = byte_set(static_cast<unsigned char>(e));
        } else if (is_special(c)) {
            return false;  // '|', a quantifier with nothing before it, a stray ']' or '}', '^' inside
        } else {
            ++pos;
            node.accepts = byte_set(static_cast<unsigned char>(c));
        }
        if (!parse_quantifier(p, pos, node.min, node.max)) return false;
        // A group: at most once (all the schemas need); anything else is std::regex's.
        if (node.is_group && node.max != 1) return false;
        out.push_back(std::move(node));
    }
    return !in_group;  // an unclosed group
}

std::optional<SimplePattern> SimplePattern::parse(std::string_view pattern) {
    SimplePattern sp;
    std::size_t pos = 0;
    if (!pattern.empty() && pattern[0] == '^') {
        sp.m_anchored_start = true;
        pos = 1;
    }
    if (!parse_sequence(pattern, pos, false, sp.m_nodes, sp.m_anchored_end, 0) || pos != pattern.size())
        return std::nullopt;
    return sp;
}

bool SimplePattern::match(const std::vector<Node>& seq, std::size_t i, std::string_view s, std::size_t pos,
                          const Continuation* cont) const {
    if (i == seq.size()) {
        if (cont) return match(*cont->seq, cont->i, s, pos, cont->next);
        return !m_anchored_end || pos == s.size();
    }
    const Node& n = seq[i];
    if (n.is_group) {
        Continuation after{&seq, i + 1, cont};
        if (match(n.group, 0, s, pos, &after)) return true;  // greedy: once, then not at all
        return n.min == 0 && match(seq, i + 1, s, pos, cont);
    }
    std::size_t run = 0;
    while (run < n.max && pos + run < s.size() && n.accepts.test(static_cast<unsigned char>(s[pos + run]))) ++run;
    if (run < n.min) return false;
    for (std::size_t k = run + 1; k-- > n.min;)  // greedy: the longest run first
        if (match(seq, i + 1, s, pos + k, cont)) return true;
    return false;
}

bool SimplePattern::search(std::string_view subject) const {
    for (std::size_t start = 0; start <= subject.size(); ++start) {
        if (match(m_nodes, 0, subject, start, nullptr)) return true;
        if (m_anchored_start) break;
    }
    return false;
}

}  // namespace dvi
