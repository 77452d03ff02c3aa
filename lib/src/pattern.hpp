// The patterns of dvi's schemas, matched without std::regex. libstdc++ takes tens of
// microseconds to compile each regex (a print-verify compiles a dozen) and matches by
// backtracking through std::function calls per character (3% of an audit). The schemas
// use a small subset of ECMAScript: literals, '.', classes, groups, quantifiers and the
// anchors. A pattern in that subset is matched here with the same result as
// std::regex_search; any other is left to std::regex (parse() says which).
// Private to the library.
#pragma once

#include <bitset>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

namespace dvi {

class SimplePattern {
public:
    // nullopt when the pattern uses anything outside the subset (alternation, back
    // references, lookarounds, lazy quantifiers, ...) or is malformed.
    static std::optional<SimplePattern> parse(std::string_view pattern);
    // As std::regex_search(subject, std::regex(pattern, ECMAScript)) on bytes.
    bool search(std::string_view subject) const;

private:
    struct Node {
        std::bitset<256> accepts;  // a single-byte atom: the bytes it matches
        std::vector<Node> group;   // a group: its sequence (accepts unused)
        bool is_group = false;
        std::size_t min = 1, max = 1;
    };
    // Where matching goes on once a group's sequence is matched: `seq` from `i`, then `next`.
    struct Continuation {
        const std::vector<Node>* seq;
        std::size_t i;
        const Continuation* next;
    };
    static bool parse_sequence(std::string_view p, std::size_t& pos, bool in_group, std::vector<Node>& out,
                               bool& anchored_end, int depth);
    bool match(const std::vector<Node>& seq, std::size_t i, std::string_view s, std::size_t pos,
               const Continuation* cont) const;

    std::vector<Node> m_nodes;
    bool m_anchored_start = false;
    bool m_anchored_end = false;
};

}  // namespace dvi
