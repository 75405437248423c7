#pragma once
// String ordering as JavaScript's `a.localeCompare(b, 'en')` (ICU root collation) orders ASCII
// text. npm sorts lockfile keys, dependency names and queues this way, and byte order differs
// (`_` sorts before `-`, case is compared after letters).
#include <string_view>

namespace lade::util {

/// <0, 0, >0 like localeCompare.
int locale_compare(std::string_view a, std::string_view b);
inline bool locale_less(std::string_view a, std::string_view b) { return locale_compare(a, b) < 0; }

struct LocaleLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return locale_less(a, b); }
};

}  // namespace lade::util
