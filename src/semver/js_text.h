#pragma once
// The few JavaScript string and number rules that node-semver's behaviour depends on, for UTF-8
// text: what `\s` and String.prototype.trim() treat as white space, String.length (UTF-16 code
// units), and how `+digits + 1` prints. Internal to lade::semver.
#include <cstddef>
#include <string>
#include <string_view>

namespace lade::semver::js {

/// space_length() for a byte >= 0x80 (the multi-byte white-space characters).
size_t space_length_non_ascii(std::string_view s, size_t i);

/// Byte length of the JavaScript white-space character (`\s`: ASCII tab/newline/vt/ff/cr/space,
/// U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF) that starts at
/// `s[i]`, or 0 when there is none (also when i is past the end).
inline size_t space_length(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return c == ' ' || (c >= '\t' && c <= '\r') ? 1 : 0;
  return space_length_non_ascii(s, i);
}

/// trim() for text that starts or ends with white space or a non-ASCII byte.
std::string_view trim_slow(std::string_view s);

/// String.prototype.trim().
inline std::string_view trim(std::string_view s) {
  // Fast path: printable ASCII at both ends (almost every input) needs no trimming.
  auto plain = [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c > ' ' && c < 0x80;
  };
  if (!s.empty() && plain(s.front()) && plain(s.back())) return s;
  return trim_slow(s);
}

/// `s.trim().replace(/\s+/g, ' ')`: every run of white space becomes one ASCII space.
std::string collapse_spaces(std::string_view s);

/// String.prototype.length of UTF-8 text: UTF-16 code units (4-byte sequences count 2).
size_t utf16_length(std::string_view s);

/// `String(+digits + 1)` for a non-empty string of ASCII digits (leading zeros allowed), with
/// JavaScript's double arithmetic and Number-to-String formatting (1e+21 and above print in
/// exponent form). node-semver builds range bounds this way.
std::string plus_one(std::string_view digits);

/// `+a` compared with `+b` for two all-digit strings as JavaScript doubles: -1, 0 or 1. Large
/// values lose precision exactly as they do in node-semver.
int compare_as_numbers(std::string_view a, std::string_view b);

/// True when `s` is a non-empty run of ASCII digits (`/^[0-9]+$/`).
bool is_all_digits(std::string_view s);

}  // namespace lade::semver::js
