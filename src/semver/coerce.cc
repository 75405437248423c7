#include <string>

#include "semver/patterns.h"
#include "semver/version.h"

namespace lade::semver {

namespace {

// The ends at which one strict PRERELEASEIDENTIFIER starting at s[i] can match, in the order a
// backtracking engine tries them.
template <class K>
bool each_prerelease_identifier_end(std::string_view s, size_t i, K&& k) {
  size_t d = pattern::count_digits(s, i, pattern::kMaxDigits);
  if (pattern::is_letter_or_hyphen(s, i + d)) {
    size_t j = i + d + 1;
    for (size_t l = pattern::count_id_chars(s, j, pattern::kMaxIdChars) + 1; l-- > 0;) {
      if (k(j + l)) return true;
    }
  }
  return pattern::numeric_identifier(s, i, /*loose=*/false, k);
}

template <class K>
bool each_build_identifier_end(std::string_view s, size_t i, K&& k) {
  for (size_t l = pattern::count_id_chars(s, i, pattern::kMaxIdChars); l > 0; --l) {
    if (k(i + l)) return true;
  }
  return false;
}

// `(?:PREFIX(id(?:\.id)*))?` followed by `k`, where `k` accepts any '.': after the greedy list
// fails, a backtracking engine retries the last identifier's shorter forms and then drops the
// last `.id`, which always succeeds, so earlier identifiers are never revisited. That keeps
// this iterative however many identifiers there are.
template <class EachEnd, class ListEnd, class K>
bool optional_list_then(std::string_view s, size_t i, char prefix, pattern::Span& cap,
                        EachEnd each_end, ListEnd list_end, K&& k) {
  if (pattern::is_char(s, i, prefix)) {
    size_t first = i + 1;
    size_t last_start = first;
    size_t end = list_end(s, first);
    if (end != pattern::kNoMatch) {
      // Find where the last identifier of the greedy list starts.
      for (size_t p = first; p < end; ++p) {
        if (s[p] == '.') last_start = p + 1;
      }
      if (each_end(s, last_start, [&](size_t e) {
            cap = {first, e};
            return k(e);
          })) {
        return true;
      }
      if (last_start != first) {
        cap = {first, last_start - 1};
        if (k(last_start - 1)) return true;
      }
    }
  }
  cap = {};
  return k(i);
}

}  // namespace

std::optional<Version> coerce(std::string_view text, Options options) {
  // COERCE: `(^|[^\d])(\d{1,16})(?:\.(\d{1,16}))?(?:\.(\d{1,16}))?` then, with
  // include_prerelease, `(?:PRERELEASE)?(?:BUILD)?`, then `(?:$|[^\d])`; the leftmost match wins.
  using pattern::Span;
  std::string_view s = text;
  Span major, minor, patch, prerelease, build;
  auto digits = [&](size_t at, Span& cap, auto&& k) {
    return pattern::digits(s, at, 1, kMaxSafeComponentLength, [&](size_t e) {
      cap = {at, e};
      return k(e);
    });
  };
  auto optional_part = [&](size_t at, Span& cap, auto&& k) {
    if (pattern::is_char(s, at, '.') && digits(at + 1, cap, k)) return true;
    cap = {};
    return k(at);
  };
  auto end_ok = [&](size_t e) { return e == s.size() || !pattern::is_digit(s, e); };
  auto tail = [&](size_t at) {
    if (!options.include_prerelease) return end_ok(at);
    auto prerelease_list_end = [](std::string_view t, size_t i) {
      return pattern::prerelease_list_end(t, i, /*loose=*/false);
    };
    auto build_list_end = [](std::string_view t, size_t i) {
      return pattern::build_list_end(t, i);
    };
    auto each_pre = [](std::string_view t, size_t i, auto&& k) {
      return each_prerelease_identifier_end(t, i, k);
    };
    auto each_build = [](std::string_view t, size_t i, auto&& k) {
      return each_build_identifier_end(t, i, k);
    };
    return optional_list_then(
        s, at, '-', prerelease, each_pre, prerelease_list_end, [&](size_t e1) {
          return optional_list_then(s, e1, '+', build, each_build, build_list_end, end_ok);
        });
  };
  auto from = [&](size_t at) {
    return digits(at, major, [&](size_t e1) {
      return optional_part(e1, minor, [&](size_t e2) { return optional_part(e2, patch, tail); });
    });
  };
  bool found = false;
  for (size_t pos = 0; pos <= s.size() && !found; ++pos) {
    found =
        (pos == 0 && from(0)) || (pos < s.size() && !pattern::is_digit(s, pos) && from(pos + 1));
  }
  if (!found) return std::nullopt;
  std::string version(major.of(s));
  version += ".";
  version += minor.matched() ? minor.of(s) : "0";
  version += ".";
  version += patch.matched() ? patch.of(s) : "0";
  if (options.include_prerelease && prerelease.matched()) {
    version += "-";
    version += prerelease.of(s);
  }
  if (options.include_prerelease && build.matched()) {
    version += "+";
    version += build.of(s);
  }
  return Version::parse(version, options);
}

}  // namespace lade::semver
