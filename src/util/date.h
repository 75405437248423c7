#pragma once
// Dates as JavaScript's Date.parse reads the ISO forms: what npm's `before` setting and a
// packument's "time" entries hold.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lade::util {

/// Milliseconds since the epoch for "YYYY", "YYYY-MM", "YYYY-MM-DD" (UTC, as JavaScript reads
/// date-only forms) and "YYYY-MM-DDTHH:mm[:ss[.sss]]" with "Z" or "+HH:mm" (without a zone:
/// local time, as JavaScript reads it; ' ' may stand for 'T'). nullopt for anything else.
std::optional<int64_t> parse_iso_date(std::string_view text);

/// JavaScript's toLocaleString() in the en-US locale, in local time: "1/2/2020, 3:04:05 PM".
std::string locale_date_string(int64_t epoch_ms);

}  // namespace lade::util
