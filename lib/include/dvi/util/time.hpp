// Time as seconds since the Unix epoch in UTC, and its RFC 3339 text form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dvi::util {

// "2026-11-23T10:15:00Z"
std::string format_rfc3339(std::int64_t epoch_seconds);
// Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" and "YYYY-MM-DD HH:MM:SS" (UTC),
// or "@<seconds>"; nullopt for anything else.
std::optional<std::int64_t> parse_time(std::string_view text);

}  // namespace dvi::util
