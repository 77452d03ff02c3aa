#include "dvi/util/time.hpp"

#include <cstdio>
#include <ctime>

namespace dvi::util {

std::string format_rfc3339(std::int64_t epoch_seconds) {
    std::time_t t = static_cast<std::time_t>(epoch_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::optional<std::int64_t> parse_time(std::string_view text) {
    if (!text.empty() && text[0] == '@') {
        std::int64_t v = 0;
        if (text.size() < 2 || text.size() > 19) return std::nullopt;
        for (char c : text.substr(1)) {
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + (c - '0');
        }
        return v;
    }
    // sscanf's %d would also take signs and leading blanks ("2026-+1- 1"): check the
    // shape first, digit by digit.
    auto shaped = [&](std::string_view pattern) {
        if (text.size() != pattern.size()) return false;
        for (std::size_t i = 0; i < pattern.size(); ++i)
            if (pattern[i] == '9' ? (text[i] < '0' || text[i] > '9') : text[i] != pattern[i]) return false;
        return true;
    };
    if (!shaped("9999-99-99") && !shaped("9999-99-99T99:99:99Z") && !shaped("9999-99-99 99:99:99"))
        return std::nullopt;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    std::string str(text);
    int n = 0;
    bool matched = false;
    if (str.size() == 10 && std::sscanf(str.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10) {
        matched = true;
    } else if (str.size() == 20 &&
               std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &s, &n) == 6 &&
               n == 20) {
        matched = true;
    } else if (str.size() == 19 &&
               std::sscanf(str.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) == 6 &&
               n == 19) {
        matched = true;
    }
    if (!matched) return std::nullopt;
    // No leap second: dvi counts time as POSIX does, and 23:59:60 would read as the next day.
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59)
        return std::nullopt;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    std::time_t t = timegm(&tm);
    std::tm back{};
    gmtime_r(&t, &back);
    if (back.tm_mday != d) return std::nullopt;  // 2026-02-31 and the like
    return static_cast<std::int64_t>(t);
}

}  // namespace dvi::util
