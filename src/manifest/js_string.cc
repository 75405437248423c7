#include "manifest/js_string.h"

namespace lade::manifest {

size_t js_space_length(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  const unsigned char c = static_cast<unsigned char>(s[i]);
  if (c == ' ' || (c >= '\t' && c <= '\r')) return 1;
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (c == 0xC2 && at(1) == 0xA0) return 2;                   // U+00A0
  if (c == 0xE1 && at(1) == 0x9A && at(2) == 0x80) return 3;  // U+1680
  if (c == 0xE2 && at(1) == 0x80 &&
      ((at(2) >= 0x80 && at(2) <= 0x8A) || at(2) == 0xA8 || at(2) == 0xA9 || at(2) == 0xAF))
    return 3;                                                 // U+2000..200A, 2028, 2029, 202F
  if (c == 0xE2 && at(1) == 0x81 && at(2) == 0x9F) return 3;  // U+205F
  if (c == 0xE3 && at(1) == 0x80 && at(2) == 0x80) return 3;  // U+3000
  if (c == 0xEF && at(1) == 0xBB && at(2) == 0xBF) return 3;  // U+FEFF
  return 0;
}

std::string_view js_trim(std::string_view s) {
  size_t start = 0;
  while (size_t n = js_space_length(s, start)) start += n;
  s.remove_prefix(start);
  // Scan forward so multi-byte characters are recognised; remember where trailing space begins.
  size_t end = 0;
  for (size_t i = 0; i < s.size();) {
    if (size_t n = js_space_length(s, i)) {
      i += n;
    } else {
      ++i;
      end = i;
    }
  }
  return s.substr(0, end);
}

}  // namespace lade::manifest
