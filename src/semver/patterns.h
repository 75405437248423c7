#pragma once
// Hand-written matchers for node-semver's regular expressions (internal/re.js, the "safe"
// variants whose `\d*`, `\s*` and `[a-zA-Z0-9-]*` are bounded), with the same backtracking
// order as a JavaScript regex engine, so that every string matches, fails and captures exactly
// as it does in node-semver.
//
// The matchers are written in continuation-passing style: `m(s, i, ..., k)` tries each way the
// pattern can match at `s[i]`, in the order a backtracking engine would, and calls `k(end)` for
// each; it returns true as soon as one `k` accepts. Captures are written just before `k` is
// called, so after a successful match they describe the accepted path.
//
// Two sub-patterns are matched greedily without backtracking, because no shorter match can be
// followed by anything the surrounding patterns accept: identifier lists (`id(?:\.id)*` leaves a
// '.' or an identifier character) and build metadata (leaves '.', or an identifier character).
// That also keeps recursion depth constant on hostile input.
#include <cstddef>
#include <string_view>

#include "semver/js_text.h"

namespace lade::semver::pattern {

inline constexpr size_t kNoMatch = std::string_view::npos;
/// `\d*` / `\d+` become `\d{0,256}` / `\d{1,256}` in node-semver's safe regexes.
inline constexpr size_t kMaxDigits = 256;
/// `[a-zA-Z0-9-]*` / `+` become `{0,250}` / `{1,250}`.
inline constexpr size_t kMaxIdChars = 250;
/// For the one unbounded regex node-semver still uses (build stripping in Range).
inline constexpr size_t kUnbounded = static_cast<size_t>(-1);

/// A capture group: [begin, end) into the matched text; unset when the group did not take part.
struct Span {
  size_t begin = kNoMatch;
  size_t end = kNoMatch;
  bool matched() const { return begin != kNoMatch; }
  std::string_view of(std::string_view s) const {
    return matched() ? s.substr(begin, end - begin) : std::string_view();
  }
};

inline bool is_char(std::string_view s, size_t i, char c) { return i < s.size() && s[i] == c; }
inline bool is_digit(std::string_view s, size_t i) {
  return i < s.size() && s[i] >= '0' && s[i] <= '9';
}
inline bool is_letter_or_hyphen(std::string_view s, size_t i) {
  if (i >= s.size()) return false;
  char c = s[i];
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}
inline bool is_id_char(std::string_view s, size_t i) {
  return is_letter_or_hyphen(s, i) || is_digit(s, i);
}

inline size_t count_digits(std::string_view s, size_t i, size_t max) {
  size_t n = 0;
  while (n < max && is_digit(s, i + n)) ++n;
  return n;
}
inline size_t count_id_chars(std::string_view s, size_t i, size_t max) {
  size_t n = 0;
  while (n < max && is_id_char(s, i + n)) ++n;
  return n;
}

/// `\d{min,max}`, greedy.
template <class K>
bool digits(std::string_view s, size_t i, size_t min, size_t max, K&& k) {
  size_t n = count_digits(s, i, max);
  for (size_t len = n + 1; len-- > min;) {
    if (k(i + len)) return true;
  }
  return false;
}

/// NUMERICIDENTIFIER `0|[1-9]\d*` (strict) or NUMERICIDENTIFIERLOOSE `\d+`.
template <class K>
bool numeric_identifier(std::string_view s, size_t i, bool loose, K&& k) {
  if (loose) return digits(s, i, 1, kMaxDigits, k);
  if (!is_digit(s, i)) return false;
  if (s[i] == '0') return k(i + 1);
  return digits(s, i + 1, 0, kMaxDigits, k);
}

/// End of one PRERELEASEIDENTIFIER(LOOSE) at s[i]: `\d*[a-zA-Z-][a-zA-Z0-9-]*` or a numeric
/// identifier; kNoMatch when there is none.
inline size_t prerelease_identifier_end(std::string_view s, size_t i, bool loose) {
  size_t d = count_digits(s, i, kMaxDigits);
  if (is_letter_or_hyphen(s, i + d)) return i + d + 1 + count_id_chars(s, i + d + 1, kMaxIdChars);
  if (!is_digit(s, i)) return kNoMatch;
  if (loose) return i + d;
  if (s[i] == '0') return i + 1;
  return i + 1 + count_digits(s, i + 1, kMaxDigits);
}

/// End of `id(?:\.id)*` (prerelease identifiers), greedy; kNoMatch when the first id fails.
inline size_t prerelease_list_end(std::string_view s, size_t i, bool loose) {
  size_t end = prerelease_identifier_end(s, i, loose);
  if (end == kNoMatch) return kNoMatch;
  while (is_char(s, end, '.')) {
    size_t next = prerelease_identifier_end(s, end + 1, loose);
    if (next == kNoMatch) break;
    end = next;
  }
  return end;
}

/// End of BUILDIDENTIFIER list `[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*`, greedy, each identifier at
/// most `max_id` characters; kNoMatch when there is no first identifier.
inline size_t build_list_end(std::string_view s, size_t i, size_t max_id = kMaxIdChars) {
  size_t n = count_id_chars(s, i, max_id);
  if (n == 0) return kNoMatch;
  size_t end = i + n;
  while (is_char(s, end, '.')) {
    size_t m = count_id_chars(s, end + 1, max_id);
    if (m == 0) break;
    end = end + 1 + m;
  }
  return end;
}

/// `(?:PRERELEASE)?` — strict `-(list)`, loose `-?(list)`; `cap` is the list.
template <class K>
bool optional_prerelease(std::string_view s, size_t i, bool loose, Span& cap, K&& k) {
  if (is_char(s, i, '-')) {
    size_t e = prerelease_list_end(s, i + 1, loose);
    if (e != kNoMatch) {
      cap = {i + 1, e};
      if (k(e)) return true;
    }
  }
  if (loose) {
    size_t e = prerelease_list_end(s, i, loose);
    if (e != kNoMatch) {
      cap = {i, e};
      if (k(e)) return true;
    }
  }
  cap = {};
  return k(i);
}

/// `(?:BUILD)?` — `\+(list)`; `cap` is the list.
template <class K>
bool optional_build(std::string_view s, size_t i, Span& cap, K&& k) {
  if (is_char(s, i, '+')) {
    size_t e = build_list_end(s, i + 1);
    if (e != kNoMatch) {
      cap = {i + 1, e};
      if (k(e)) return true;
    }
  }
  cap = {};
  return k(i);
}

/// `\s{0,1}` (`\s*` in the safe regexes).
template <class K>
bool optional_space(std::string_view s, size_t i, K&& k) {
  size_t n = js::space_length(s, i);
  if (n && k(i + n)) return true;
  return k(i);
}

/// `[v=\s]*`, greedy. Shorter matches are never useful: every pattern that follows it starts
/// with a digit, 'x', 'X' or '*'.
inline size_t skip_v_eq_space(std::string_view s, size_t i) {
  for (;;) {
    if (is_char(s, i, 'v') || is_char(s, i, '=')) {
      ++i;
    } else if (size_t n = js::space_length(s, i)) {
      i += n;
    } else {
      return i;
    }
  }
}

/// GTLT `((?:<|>)?=?)`.
template <class K>
bool gtlt(std::string_view s, size_t i, Span& cap, K&& k) {
  if (is_char(s, i, '<') || is_char(s, i, '>')) {
    if (is_char(s, i + 1, '=')) {
      cap = {i, i + 2};
      if (k(i + 2)) return true;
    }
    cap = {i, i + 1};
    if (k(i + 1)) return true;
  } else if (is_char(s, i, '=')) {
    cap = {i, i + 1};
    if (k(i + 1)) return true;
  }
  cap = {i, i};
  return k(i);
}

struct VersionCaptures {
  Span major, minor, patch, prerelease, build;
};

/// FULLPLAIN `v?MAINVERSION PRERELEASE? BUILD?` (strict) or
/// LOOSEPLAIN `[v=\s]*MAINVERSIONLOOSE PRERELEASELOOSE? BUILD?` (loose).
template <class K>
bool plain_version(std::string_view s, size_t i, bool loose, VersionCaptures& c, K&& k) {
  size_t start = loose ? skip_v_eq_space(s, i) : (is_char(s, i, 'v') ? i + 1 : i);
  return numeric_identifier(s, start, loose, [&](size_t e1) {
    if (!is_char(s, e1, '.')) return false;
    return numeric_identifier(s, e1 + 1, loose, [&](size_t e2) {
      if (!is_char(s, e2, '.')) return false;
      return numeric_identifier(s, e2 + 1, loose, [&](size_t e3) {
        return optional_prerelease(s, e3, loose, c.prerelease, [&](size_t e4) {
          return optional_build(s, e4, c.build, [&](size_t e5) {
            c.major = {start, e1};
            c.minor = {e1 + 1, e2};
            c.patch = {e2 + 1, e3};
            return k(e5);
          });
        });
      });
    });
  });
}

struct XRangeCaptures {
  Span whole;  // the XRANGEPLAIN text, with its [v=\s]* prefix
  Span major, minor, patch, prerelease, build;
};

/// XRANGEIDENTIFIER(LOOSE): a numeric identifier, 'x', 'X' or '*'.
template <class K>
bool xrange_identifier(std::string_view s, size_t i, bool loose, K&& k) {
  if (is_char(s, i, 'x') || is_char(s, i, 'X') || is_char(s, i, '*')) return k(i + 1);
  return numeric_identifier(s, i, loose, k);
}

/// XRANGEPLAIN(LOOSE)
/// `[v=\s]*(xid)(?:\.(xid)(?:\.(xid)(?:PRERELEASE)?BUILD?)?)?`.
template <class K>
bool xrange_plain(std::string_view s, size_t i, bool loose, XRangeCaptures& c, K&& k) {
  size_t start = skip_v_eq_space(s, i);
  return xrange_identifier(s, start, loose, [&](size_t e1) {
    if (is_char(s, e1, '.') && xrange_identifier(s, e1 + 1, loose, [&](size_t e2) {
          if (is_char(s, e2, '.') && xrange_identifier(s, e2 + 1, loose, [&](size_t e3) {
                return optional_prerelease(s, e3, loose, c.prerelease, [&](size_t e4) {
                  return optional_build(s, e4, c.build, [&](size_t e5) {
                    c.whole = {i, e5};
                    c.major = {start, e1};
                    c.minor = {e1 + 1, e2};
                    c.patch = {e2 + 1, e3};
                    return k(e5);
                  });
                });
              })) {
            return true;
          }
          c.whole = {i, e2};
          c.major = {start, e1};
          c.minor = {e1 + 1, e2};
          c.patch = c.prerelease = c.build = {};
          return k(e2);
        })) {
      return true;
    }
    c.whole = {i, e1};
    c.major = {start, e1};
    c.minor = c.patch = c.prerelease = c.build = {};
    return k(e1);
  });
}

inline auto at_end(std::string_view s) {
  return [s](size_t e) { return e == s.size(); };
}

/// FULL / LOOSE: `^PLAIN$` on already-trimmed text.
inline bool match_version(std::string_view s, bool loose, VersionCaptures& c) {
  return plain_version(s, 0, loose, c, at_end(s));
}

/// FULL (`^v?MAINVERSION PRERELEASE? BUILD?$`) as one linear scan, for the common case. The
/// strict grammar never needs to backtrack, so this accepts exactly what match_version(s, false)
/// accepts, with the same captures; and a strictly valid version matches LOOSE the same way.
inline bool match_version_fast(std::string_view s, VersionCaptures& c) {
  size_t i = is_char(s, 0, 'v') ? 1 : 0;
  auto number = [&](Span& out) {
    if (!is_digit(s, i)) return false;
    size_t begin = i;
    i += s[i] == '0' ? 1 : 1 + count_digits(s, i + 1, kMaxDigits);
    out = {begin, i};
    return true;
  };
  if (!number(c.major) || !is_char(s, i++, '.') || !number(c.minor) || !is_char(s, i++, '.') ||
      !number(c.patch)) {
    return false;
  }
  c.prerelease = c.build = {};
  if (is_char(s, i, '-')) {
    size_t e = prerelease_list_end(s, i + 1, /*loose=*/false);
    if (e == kNoMatch) return false;
    c.prerelease = {i + 1, e};
    i = e;
  }
  if (is_char(s, i, '+')) {
    size_t e = build_list_end(s, i + 1);
    if (e == kNoMatch) return false;
    c.build = {i + 1, e};
    i = e;
  }
  return i == s.size();
}

/// COMPARATOR(LOOSE): `^GTLT\s*(PLAIN)$|^$`. `op` is the GTLT text, `version` the PLAIN text
/// (unset for the empty comparator).
inline bool match_comparator(std::string_view s, bool loose, Span& op, Span& version) {
  VersionCaptures unused;
  bool ok = gtlt(s, 0, op, [&](size_t a) {
    return optional_space(s, a, [&](size_t b) {
      return plain_version(s, b, loose, unused, [&](size_t e) {
        if (e != s.size()) return false;
        version = {b, e};
        return true;
      });
    });
  });
  if (ok) return true;
  if (s.empty()) {
    op = {};
    version = {};
    return true;
  }
  return false;
}

struct XRangeMatch {
  Span gtlt;
  XRangeCaptures x;
};

/// XRANGE(LOOSE): `^GTLT\s*XRANGEPLAIN$`.
inline bool match_xrange(std::string_view s, bool loose, XRangeMatch& m) {
  return gtlt(s, 0, m.gtlt, [&](size_t a) {
    return optional_space(s, a,
                          [&](size_t b) { return xrange_plain(s, b, loose, m.x, at_end(s)); });
  });
}

/// TILDE(LOOSE): `^~>?XRANGEPLAIN$`.
inline bool match_tilde(std::string_view s, bool loose, XRangeCaptures& c) {
  if (!is_char(s, 0, '~')) return false;
  if (is_char(s, 1, '>') && xrange_plain(s, 2, loose, c, at_end(s))) return true;
  return xrange_plain(s, 1, loose, c, at_end(s));
}

/// CARET(LOOSE): `^\^XRANGEPLAIN$`.
inline bool match_caret(std::string_view s, bool loose, XRangeCaptures& c) {
  if (!is_char(s, 0, '^')) return false;
  return xrange_plain(s, 1, loose, c, at_end(s));
}

struct HyphenMatch {
  XRangeCaptures from, to;
};

/// HYPHENRANGE(LOOSE): `^\s*(XRANGEPLAIN)\s+-\s+(XRANGEPLAIN)\s*$`.
inline bool match_hyphen(std::string_view s, bool loose, HyphenMatch& m) {
  return optional_space(s, 0, [&](size_t a) {
    return xrange_plain(s, a, loose, m.from, [&](size_t e1) {
      size_t n1 = js::space_length(s, e1);
      if (n1 == 0 || !is_char(s, e1 + n1, '-')) return false;
      size_t p = e1 + n1 + 1;
      size_t n2 = js::space_length(s, p);
      if (n2 == 0) return false;
      return xrange_plain(s, p + n2, loose, m.to,
                          [&](size_t e2) { return optional_space(s, e2, at_end(s)); });
    });
  });
}

}  // namespace lade::semver::pattern
