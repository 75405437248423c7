#include "semver/js_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <system_error>

namespace lade::semver::js {
namespace {

std::string_view strip_leading_zeros(std::string_view digits) {
  size_t i = 0;
  while (i + 1 < digits.size() && digits[i] == '0') ++i;
  return digits.substr(i);
}

// Up to 15 digits fit a double exactly, so such values compare and add without rounding.
constexpr size_t kExactDigits = 15;

uint64_t parse_small(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

double to_double(std::string_view digits) {
  double d = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
  if (ec == std::errc::result_out_of_range) return HUGE_VAL;
  (void)ptr;
  return d;
}

// Number.prototype.toString() for a finite double >= 1 with an integral value.
std::string format_integral_double(double d) {
  if (d == HUGE_VAL) return "Infinity";
  char buf[64];
  // Shortest round-trip digits in the form d.ddde+XX.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  (void)ec;
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  size_t e_pos = sci.find('e');
  std::string mantissa;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') mantissa.push_back(c);
  }
  int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  int n = exponent + 1;  // digits before the decimal point
  if (n <= 21) {
    std::string out = mantissa;
    if (static_cast<int>(out.size()) < n) out.append(static_cast<size_t>(n) - out.size(), '0');
    return out;
  }
  std::string out(1, mantissa[0]);
  if (mantissa.size() > 1) {
    out.push_back('.');
    out.append(mantissa, 1);
  }
  out += "e+" + std::to_string(exponent);
  return out;
}

}  // namespace

size_t space_length_non_ascii(std::string_view s, size_t i) {
  auto b = [&](size_t k) -> unsigned {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u;
  };
  unsigned c0 = b(0);
  switch (c0) {
    case 0xC2:  // U+00A0
      return b(1) == 0xA0 ? 2 : 0;
    case 0xE1:  // U+1680
      return b(1) == 0x9A && b(2) == 0x80 ? 3 : 0;
    case 0xE2: {
      unsigned c1 = b(1), c2 = b(2);
      if (c1 == 0x80 && ((c2 >= 0x80 && c2 <= 0x8A) || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF)) {
        return 3;  // U+2000..U+200A, U+2028, U+2029, U+202F
      }
      return c1 == 0x81 && c2 == 0x9F ? 3 : 0;  // U+205F
    }
    case 0xE3:  // U+3000
      return b(1) == 0x80 && b(2) == 0x80 ? 3 : 0;
    case 0xEF:  // U+FEFF
      return b(1) == 0xBB && b(2) == 0xBF ? 3 : 0;
    default:
      return 0;
  }
}

std::string_view trim_slow(std::string_view s) {
  size_t begin = 0;
  while (size_t n = space_length(s, begin)) begin += n;
  size_t end = begin;  // end of the last non-space character
  for (size_t i = begin; i < s.size();) {
    if (size_t n = space_length(s, i)) {
      i += n;
    } else {
      ++i;
      end = i;
    }
  }
  return s.substr(begin, end - begin);
}

std::string collapse_spaces(std::string_view s) {
  s = trim(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (space_length(s, i)) {
      while (size_t n = space_length(s, i)) i += n;
      out.push_back(' ');
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

size_t utf16_length(std::string_view s) {
  size_t units = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++units;  // a lead byte starts a code point
    if (c >= 0xF0) ++units;           // outside the BMP: a surrogate pair
  }
  return units;
}

std::string plus_one(std::string_view digits) {
  std::string_view d = strip_leading_zeros(digits);
  if (d.size() <= kExactDigits) return std::to_string(parse_small(d) + 1);
  return format_integral_double(to_double(d) + 1.0);
}

int compare_as_numbers(std::string_view a, std::string_view b) {
  a = strip_leading_zeros(a);
  b = strip_leading_zeros(b);
  if (a.size() <= kExactDigits && b.size() <= kExactDigits) {
    uint64_t x = parse_small(a), y = parse_small(b);
    return x == y ? 0 : x < y ? -1 : 1;
  }
  double x = to_double(a), y = to_double(b);
  return x == y ? 0 : x < y ? -1 : 1;
}

bool is_all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace lade::semver::js
