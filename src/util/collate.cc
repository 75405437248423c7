#include "util/collate.h"

#include <array>

namespace lade::util {
namespace {

// Primary weights of ASCII in the ICU root collation: punctuation and symbols first (in this
// order), then digits, then letters with case folded. Controls are ignorable (weight 0).
constexpr std::string_view kPunctuationOrder = "\t\n\v\f\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$";

std::array<unsigned short, 256> build_primary() {
  std::array<unsigned short, 256> w{};
  unsigned short next = 1;
  for (char c : kPunctuationOrder) w[(unsigned char)c] = next++;
  for (char c = '0'; c <= '9'; ++c) w[(unsigned char)c] = next++;
  for (char c = 'a'; c <= 'z'; ++c) {
    w[(unsigned char)c] = next;
    w[(unsigned char)(c - 'a' + 'A')] = next;
    ++next;
  }
  // Non-ASCII bytes sort after ASCII, in byte order.
  for (int c = 128; c < 256; ++c) w[c] = static_cast<unsigned short>(next + (c - 128));
  return w;
}

const std::array<unsigned short, 256>& primary() {
  static const auto table = build_primary();
  return table;
}

}  // namespace

int locale_compare(std::string_view a, std::string_view b) {
  const auto& w = primary();
  size_t i = 0, j = 0;
  for (;;) {
    while (i < a.size() && w[(unsigned char)a[i]] == 0) ++i;
    while (j < b.size() && w[(unsigned char)b[j]] == 0) ++j;
    if (i == a.size() || j == b.size()) break;
    unsigned short wa = w[(unsigned char)a[i]], wb = w[(unsigned char)b[j]];
    if (wa != wb) return wa < wb ? -1 : 1;
    ++i;
    ++j;
  }
  bool a_done = i == a.size(), b_done = j == b.size();
  if (!a_done || !b_done) return a_done ? -1 : 1;
  // Tertiary level: lowercase before uppercase at the first case difference.
  for (size_t k = 0; k < a.size() && k < b.size(); ++k) {
    bool ua = a[k] >= 'A' && a[k] <= 'Z', ub = b[k] >= 'A' && b[k] <= 'Z';
    if (ua != ub) return ua ? 1 : -1;
  }
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

}  // namespace lade::util
