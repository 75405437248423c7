#include "semver/range.h"

#include <utility>

#include "semver/js_text.h"
#include "semver/patterns.h"

namespace lade::semver {
namespace {

using pattern::Span;

// node-semver rewrites range text with a chain of regex replacements before it builds
// comparators (Range#parseRange and its helpers). The steps below reproduce that chain step by
// step, on strings, because its quirks (which spaces get removed, what loose mode drops, how
// "~> 1" reads) are part of the behaviour npm users rely on.

/// Calls `fn` with each piece of JavaScript's `s.split(/\s+/)`, in order.
template <class Fn>
void for_each_split_on_space_runs(std::string_view s, Fn fn) {
  size_t start = 0;
  for (size_t i = 0; i < s.size();) {
    if (js::space_length(s, i)) {
      size_t end = i;
      while (size_t m = js::space_length(s, i)) i += m;
      fn(s.substr(start, end - start));
      start = i;
    } else {
      ++i;
    }
  }
  fn(s.substr(start));
}

/// JavaScript `s.split(sep)` for a literal separator.
std::vector<std::string_view> split_on(std::string_view s, std::string_view sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, at - start));
    start = at + sep.size();
  }
}

bool is_x(Span span, std::string_view s) {
  std::string_view id = span.of(s);
  return id.empty() || id == "x" || id == "X" || id == "*";
}

std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

/// `range.replace(new RegExp(src[t.BUILD], 'g'), '')`: strips every `+build` (unbounded).
std::string strip_builds(std::string_view s) {
  std::string out;
  size_t last = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '+') continue;
    size_t end = pattern::build_list_end(s, i + 1, pattern::kUnbounded);
    if (end == pattern::kNoMatch) continue;
    out.append(s.substr(last, i - last));
    last = end;
    i = end - 1;
  }
  out.append(s.substr(last));
  return out;
}

/// `comp.replace(re[t.BUILD], '')`: strips the first `+build` only (bounded identifiers).
std::string strip_first_build(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '+') continue;
    size_t end = pattern::build_list_end(s, i + 1);
    if (end == pattern::kNoMatch) continue;
    return cat({s.substr(0, i), s.substr(end)});
  }
  return std::string(s);
}

/// hyphenReplace: `1.2 - 3.4` => `>=1.2.0 <3.5.0-0`.
std::string replace_hyphen(std::string_view s, Options o) {
  pattern::HyphenMatch m;
  if (!pattern::match_hyphen(s, o.loose, m)) return std::string(s);
  const auto& f = m.from;
  const auto& t = m.to;
  std::string_view z = o.include_prerelease ? "-0" : "";
  std::string from, to;
  if (is_x(f.major, s)) {
    from = "";
  } else if (is_x(f.minor, s)) {
    from = cat({">=", f.major.of(s), ".0.0", z});
  } else if (is_x(f.patch, s)) {
    from = cat({">=", f.major.of(s), ".", f.minor.of(s), ".0", z});
  } else if (f.prerelease.matched()) {
    from = cat({">=", f.whole.of(s)});
  } else {
    from = cat({">=", f.whole.of(s), z});
  }
  if (is_x(t.major, s)) {
    to = "";
  } else if (is_x(t.minor, s)) {
    to = cat({"<", js::plus_one(t.major.of(s)), ".0.0-0"});
  } else if (is_x(t.patch, s)) {
    to = cat({"<", t.major.of(s), ".", js::plus_one(t.minor.of(s)), ".0-0"});
  } else if (t.prerelease.matched()) {
    to =
        cat({"<=", t.major.of(s), ".", t.minor.of(s), ".", t.patch.of(s), "-", t.prerelease.of(s)});
  } else if (o.include_prerelease) {
    to = cat({"<", t.major.of(s), ".", t.minor.of(s), ".", js::plus_one(t.patch.of(s)), "-0"});
  } else {
    to = cat({"<=", t.whole.of(s)});
  }
  return std::string(js::trim(cat({from, " ", to})));
}

/// COMPARATORTRIM, global: removes the white space between an operator and its version
/// (`> 1.2.3` => `>1.2.3`), matching `(\s*)GTLT\s*(LOOSEPLAIN|XRANGEPLAIN)` anywhere.
std::string trim_comparators(std::string_view s) {
  std::string out;
  size_t last = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t gap_begin = 0, gap_end = 0, end = 0;
    Span op;
    pattern::VersionCaptures vc;
    pattern::XRangeCaptures xc;
    bool found = pattern::optional_space(s, pos, [&](size_t a) {
      return pattern::gtlt(s, a, op, [&](size_t b) {
        return pattern::optional_space(s, b, [&](size_t c) {
          auto accept = [&](size_t e) {
            gap_begin = b;
            gap_end = c;
            end = e;
            return true;
          };
          return pattern::plain_version(s, c, /*loose=*/true, vc, accept) ||
                 pattern::xrange_plain(s, c, /*loose=*/false, xc, accept);
        });
      });
    });
    if (!found) {
      ++pos;
      continue;
    }
    out.append(s.substr(last, gap_begin - last));
    last = gap_end;
    pos = end;
  }
  out.append(s.substr(last));
  return out;
}

/// TILDETRIM (`(\s*)~>?\s+` => `$1~`) and CARETTRIM (`(\s*)\^\s+` => `$1^`), global.
std::string trim_lone_sigil(std::string_view s, char sigil) {
  std::string out;
  size_t last = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t sigil_at = pattern::kNoMatch, end = 0;
    pattern::optional_space(s, pos, [&](size_t a) {
      if (!pattern::is_char(s, a, sigil)) return false;
      size_t b = a + 1;
      if (sigil == '~' && pattern::is_char(s, b, '>') && js::space_length(s, b + 1)) ++b;
      size_t n = js::space_length(s, b);
      if (n == 0) return false;
      sigil_at = a;
      end = b + n;
      return true;
    });
    if (sigil_at == pattern::kNoMatch) {
      ++pos;
      continue;
    }
    out.append(s.substr(last, sigil_at - last));
    out.push_back(sigil);
    last = end;
    pos = end;
  }
  out.append(s.substr(last));
  return out;
}

/// replaceTilde: `~1.2.3` => `>=1.2.3 <1.3.0-0`.
std::string replace_tilde(std::string_view comp, Options o) {
  pattern::XRangeCaptures c;
  if (!pattern::match_tilde(comp, o.loose, c)) return std::string(comp);
  std::string_view z = o.include_prerelease ? "-0" : "";
  std::string_view M = c.major.of(comp), m = c.minor.of(comp), p = c.patch.of(comp);
  if (is_x(c.major, comp)) return "";
  if (is_x(c.minor, comp)) return cat({">=", M, ".0.0", z, " <", js::plus_one(M), ".0.0-0"});
  if (is_x(c.patch, comp)) {
    return cat({">=", M, ".", m, ".0", z, " <", M, ".", js::plus_one(m), ".0-0"});
  }
  if (c.prerelease.matched()) {
    return cat({">=", M, ".", m, ".", p, "-", c.prerelease.of(comp), " <", M, ".", js::plus_one(m),
                ".0-0"});
  }
  return cat({">=", M, ".", m, ".", p, " <", M, ".", js::plus_one(m), ".0-0"});
}

/// replaceCaret: `^1.2.3` => `>=1.2.3 <2.0.0-0`, `^0.2.3` => `>=0.2.3 <0.3.0-0`, ...
std::string replace_caret(std::string_view comp, Options o) {
  pattern::XRangeCaptures c;
  if (!pattern::match_caret(comp, o.loose, c)) return std::string(comp);
  std::string_view z = o.include_prerelease ? "-0" : "";
  std::string_view M = c.major.of(comp), m = c.minor.of(comp), p = c.patch.of(comp);
  if (is_x(c.major, comp)) return "";
  if (is_x(c.minor, comp)) return cat({">=", M, ".0.0", z, " <", js::plus_one(M), ".0.0-0"});
  if (is_x(c.patch, comp)) {
    if (M == "0") return cat({">=", M, ".", m, ".0", z, " <", M, ".", js::plus_one(m), ".0-0"});
    return cat({">=", M, ".", m, ".0", z, " <", js::plus_one(M), ".0.0-0"});
  }
  std::string low = cat({">=", M, ".", m, ".", p});
  if (c.prerelease.matched()) low = cat({low, "-", c.prerelease.of(comp)});
  if (M == "0") {
    if (m == "0") return cat({low, " <", M, ".", m, ".", js::plus_one(p), "-0"});
    return cat({low, " <", M, ".", js::plus_one(m), ".0-0"});
  }
  return cat({low, " <", js::plus_one(M), ".0.0-0"});
}

/// replaceXRange: `1.2.x` => `>=1.2.0 <1.3.0-0`, `>1.2` => `>=1.3.0`, `<=1.x` => `<2.0.0-0`.
std::string replace_xrange(std::string_view comp_in, Options o) {
  std::string_view comp = js::trim(comp_in);
  pattern::XRangeMatch xm_;
  if (!pattern::match_xrange(comp, o.loose, xm_)) return std::string(comp);
  const auto& c = xm_.x;
  std::string_view gtlt = xm_.gtlt.of(comp);
  std::string_view M = c.major.of(comp), m = c.minor.of(comp), p = c.patch.of(comp);
  bool invalid_order = (is_x(c.major, comp) && !is_x(c.minor, comp)) ||
                       (is_x(c.minor, comp) && !p.empty() && !is_x(c.patch, comp));
  if (invalid_order) return std::string(comp);
  bool xM = is_x(c.major, comp);
  bool xm = xM || is_x(c.minor, comp);
  bool xp = xm || is_x(c.patch, comp);
  bool any_x = xp;
  if (gtlt == "=" && any_x) gtlt = "";
  std::string_view pr = o.include_prerelease ? "-0" : "";
  if (xM) return (gtlt == ">" || gtlt == "<") ? "<0.0.0-0" : "*";
  if (!gtlt.empty() && any_x) {
    std::string major(M), minor(xm ? std::string_view("0") : m), patch("0");
    std::string op(gtlt);
    if (op == ">") {
      op = ">=";
      if (xm) {
        major = js::plus_one(major);
        minor = "0";
      } else {
        minor = js::plus_one(minor);
      }
    } else if (op == "<=") {
      op = "<";
      if (xm) {
        major = js::plus_one(major);
      } else {
        minor = js::plus_one(minor);
      }
    }
    if (op == "<") pr = "-0";
    return cat({op, major, ".", minor, ".", patch, pr});
  }
  if (xm) return cat({">=", M, ".0.0", pr, " <", js::plus_one(M), ".0.0-0"});
  if (xp) return cat({">=", M, ".", m, ".0", pr, " <", M, ".", js::plus_one(m), ".0-0"});
  return std::string(comp);
}

/// replaceStars: drops the first `(<|>)?=?\s*\*`.
std::string replace_stars(std::string_view comp_in) {
  std::string_view s = js::trim(comp_in);
  for (size_t pos = 0; pos < s.size(); ++pos) {
    size_t end = pattern::kNoMatch;
    Span unused;
    pattern::gtlt(s, pos, unused, [&](size_t a) {
      return pattern::optional_space(s, a, [&](size_t b) {
        if (!pattern::is_char(s, b, '*')) return false;
        end = b + 1;
        return true;
      });
    });
    if (end != pattern::kNoMatch) return cat({s.substr(0, pos), s.substr(end)});
  }
  return std::string(s);
}

/// `s.split(/\s+/).map(fn).join(' ')`.
template <class Fn>
std::string map_words(std::string_view s, Fn fn) {
  std::string out;
  bool first = true;
  for_each_split_on_space_runs(s, [&](std::string_view w) {
    if (!first) out.push_back(' ');
    first = false;
    out += fn(w);
  });
  return out;
}

/// parseComparator: one space-free word of the range => its desugared comparators.
std::string desugar_word(std::string_view word, Options o) {
  std::string s = strip_first_build(word);
  s = map_words(js::trim(s), [&](std::string_view w) { return replace_caret(w, o); });
  s = map_words(js::trim(s), [&](std::string_view w) { return replace_tilde(w, o); });
  s = map_words(s, [&](std::string_view w) { return replace_xrange(w, o); });
  return replace_stars(s);
}

/// replaceGTE0: `>=0.0.0` (`>=0.0.0-0` with include_prerelease) means any version.
std::string replace_gte0(std::string_view comp, Options o) {
  std::string_view s = js::trim(comp);
  std::string_view zero = o.include_prerelease ? "0.0.0-0" : "0.0.0";
  bool matched = pattern::optional_space(s, 0, [&](size_t a) {
    if (s.substr(a, 2) != ">=") return false;
    return pattern::optional_space(s, a + 2, [&](size_t b) {
      if (s.substr(b, zero.size()) != zero) return false;
      return pattern::optional_space(s, b + zero.size(), pattern::at_end(s));
    });
  });
  return matched ? std::string() : std::string(s);
}

struct Alternative {
  Range::ComparatorSet set;
  std::string memo_key;  // see Range::memo_key()
};

/// Range#parseRange for one `||` alternative. nullopt when a comparator is invalid (node-semver
/// throws); an empty set when loose mode dropped everything.
std::optional<Alternative> parse_alternative(std::string_view text, Options o) {
  std::string s = strip_builds(text);
  std::string memo_key =
      std::string(o.include_prerelease ? "1" : "0") + (o.loose ? "1" : "0") + ":" + s;
  s = replace_hyphen(s, o);
  s = trim_comparators(s);
  s = trim_lone_sigil(s, '~');
  s = trim_lone_sigil(s, '^');

  std::string joined;
  bool first = true;
  for (std::string_view word : split_on(s, " ")) {
    if (!first) joined.push_back(' ');
    first = false;
    joined += desugar_word(word, o);
  }

  std::vector<Comparator> comparators;
  comparators.reserve(2);
  bool invalid = false;
  for_each_split_on_space_runs(joined, [&](std::string_view word) {
    if (invalid) return;
    std::string comp = replace_gte0(word, o);
    if (o.loose) {
      // Loose mode silently drops words that are not comparators.
      Span op, version;
      if (!pattern::match_comparator(comp, /*loose=*/true, op, version)) return;
    }
    auto parsed = Comparator::parse(comp, o);
    if (!parsed) {
      invalid = true;
      return;
    }
    comparators.push_back(std::move(*parsed));
  });
  if (invalid) return std::nullopt;

  // Any null set makes the whole set null; duplicates go; "any" goes when there is more.
  Range::ComparatorSet set;
  std::vector<std::string> values;
  for (Comparator& c : comparators) {
    if (c.is_null_set()) return Alternative{Range::ComparatorSet{std::move(c)}, std::string()};
    std::string value = c.value();
    bool seen = false;
    for (const std::string& v : values) seen = seen || v == value;
    if (seen) continue;
    values.push_back(std::move(value));
    set.push_back(std::move(c));
  }
  if (set.size() > 1) {
    for (size_t i = 0; i < set.size(); ++i) {
      if (set[i].is_any()) {
        set.erase(set.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }
  return Alternative{std::move(set), std::move(memo_key)};
}

bool is_null_set(const Range::ComparatorSet& set) { return set.front().is_null_set(); }
bool is_any(const Range::ComparatorSet& set) { return set.size() == 1 && set.front().is_any(); }

}  // namespace

std::optional<Range> Range::parse(std::string_view text, Options options) {
  Range r;
  r.options_ = options;
  r.raw_ = js::collapse_spaces(text);
  std::vector<Alternative> alternatives;
  for (std::string_view alternative : split_on(r.raw_, "||")) {
    auto parsed = parse_alternative(js::trim(alternative), options);
    if (!parsed) return std::nullopt;
    if (!parsed->set.empty()) alternatives.push_back(std::move(*parsed));
  }
  if (alternatives.empty()) return std::nullopt;

  if (alternatives.size() > 1) {
    // Null sets only matter when nothing else is left; "any" swallows everything else.
    std::vector<Alternative> kept;
    for (Alternative& a : alternatives) {
      if (!is_null_set(a.set)) kept.push_back(std::move(a));
    }
    if (kept.empty()) {
      kept.push_back(std::move(alternatives.front()));
    } else if (kept.size() > 1) {
      for (Alternative& a : kept) {
        if (is_any(a.set)) {
          Alternative only = std::move(a);
          kept.clear();
          kept.push_back(std::move(only));
          break;
        }
      }
    }
    alternatives = std::move(kept);
  }
  for (Alternative& a : alternatives) {
    r.set_.push_back(std::move(a.set));
    r.memo_keys_.push_back(std::move(a.memo_key));
  }

  for (size_t i = 0; i < r.set_.size(); ++i) {
    if (i > 0) r.range_ += "||";
    for (size_t k = 0; k < r.set_[i].size(); ++k) {
      if (k > 0) r.range_ += ' ';
      r.range_ += r.set_[i][k].value();
    }
  }
  return r;
}

bool Range::test(std::string_view version) const {
  auto v = Version::parse(version, options_);
  return v && test(*v);
}

namespace {

// isSatisfiable: can one version pass every comparator of the set?
bool is_satisfiable(const Range::ComparatorSet& set, Options options) {
  if (set.empty()) return true;
  std::vector<const Comparator*> remaining;
  for (const Comparator& c : set) remaining.push_back(&c);
  const Comparator* test = remaining.back();
  remaining.pop_back();
  bool result = true;
  while (result && !remaining.empty()) {
    for (const Comparator* other : remaining) {
      if (!test->intersects(*other, options)) {
        result = false;
        break;
      }
    }
    test = remaining.back();
    remaining.pop_back();
  }
  return result;
}

}  // namespace

bool Range::intersects(const Range& other, Options options) const {
  for (const ComparatorSet& mine : set_) {
    if (!is_satisfiable(mine, options)) continue;
    for (const ComparatorSet& theirs : other.set_) {
      if (!is_satisfiable(theirs, options)) continue;
      bool all = true;
      for (const Comparator& a : mine) {
        for (const Comparator& b : theirs) {
          if (!a.intersects(b, options)) {
            all = false;
            break;
          }
        }
        if (!all) break;
      }
      if (all) return true;
    }
  }
  return false;
}

}  // namespace lade::semver
