#include "semver/version.h"

#include <charconv>
#include <utility>

#include "semver/js_text.h"
#include "semver/patterns.h"

namespace lade::semver {
namespace {

// Splits "a.b.c" one identifier at a time without allocating.
class IdentifierCursor {
 public:
  explicit IdentifierCursor(std::string_view text) : rest_(text), done_(text.empty()) {}
  bool next(std::string_view& out) {
    if (done_) return false;
    size_t dot = rest_.find('.');
    if (dot == std::string_view::npos) {
      out = rest_;
      done_ = true;
    } else {
      out = rest_.substr(0, dot);
      rest_.remove_prefix(dot + 1);
    }
    return true;
  }

 private:
  std::string_view rest_;
  bool done_;
};

std::string_view strip_leading_zeros(std::string_view digits) {
  size_t i = 0;
  while (i + 1 < digits.size() && digits[i] == '0') ++i;
  return digits.substr(i);
}

uint64_t parse_decimal(std::string_view digits) {
  uint64_t v = 0;
  for (char c : digits) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

// `+digits` for a major/minor/patch, rejected above MAX_SAFE_INTEGER as node-semver does.
bool parse_component(std::string_view digits, uint64_t& out) {
  std::string_view d = strip_leading_zeros(digits);
  if (d.size() > 16) return false;
  out = parse_decimal(d);
  return out <= kMaxSafeInteger;
}

// node-semver turns an all-digit prerelease identifier into a number when `+id` is below
// MAX_SAFE_INTEGER; the number prints without leading zeros.
bool numeric_prerelease_value(std::string_view id, std::string_view& canonical) {
  if (!js::is_all_digits(id)) return false;
  std::string_view d = strip_leading_zeros(id);
  if (d.size() > 16 || parse_decimal(d) >= kMaxSafeInteger) return false;
  canonical = d;
  return true;
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

}  // namespace

bool Identifier::is_number() const {
  std::string_view canonical;
  return numeric_prerelease_value(text, canonical) && canonical.size() == text.size();
}

uint64_t Identifier::number() const { return parse_decimal(strip_leading_zeros(text)); }

int compare_identifiers(std::string_view a, std::string_view b) {
  bool a_digits = js::is_all_digits(a);
  bool b_digits = js::is_all_digits(b);
  if (a_digits && b_digits) return js::compare_as_numbers(a, b);
  if (a_digits) return -1;
  if (b_digits) return 1;
  int c = a.compare(b);
  return c == 0 ? 0 : c < 0 ? -1 : 1;
}

std::optional<Version> Version::parse(std::string_view text, Options options) {
  if (text.size() > kMaxLength && js::utf16_length(text) > kMaxLength) return std::nullopt;
  std::string_view t = js::trim(text);
  pattern::VersionCaptures c;
  if (!pattern::match_version_fast(t, c) && !pattern::match_version(t, options.loose, c)) {
    return std::nullopt;
  }

  Version v;
  if (!parse_component(c.major.of(t), v.major_) || !parse_component(c.minor.of(t), v.minor_) ||
      !parse_component(c.patch.of(t), v.patch_)) {
    return std::nullopt;
  }

  // Is the matched text already canonical ("1.2.3-beta.1+b")? Then it is stored as it is.
  auto plain_number = [&](pattern::Span span) {
    return span.end - span.begin == 1 || t[span.begin] != '0';
  };
  bool canonical =
      c.major.begin == 0 && plain_number(c.major) && plain_number(c.minor) && plain_number(c.patch);
  if (canonical && c.prerelease.matched()) {
    canonical = t[c.prerelease.begin - 1] == '-';
    IdentifierCursor ids(c.prerelease.of(t));
    std::string_view id, number;
    while (canonical && ids.next(id)) {
      canonical = !numeric_prerelease_value(id, number) || number.size() == id.size();
    }
  }

  if (canonical) {
    v.text_.assign(t);
    v.version_length_ = static_cast<uint32_t>(c.build.matched() ? c.build.begin - 1 : t.size());
    if (c.prerelease.matched()) v.pre_begin_ = static_cast<uint32_t>(c.prerelease.begin);
  } else {
    std::string& out = v.text_;
    out.reserve(t.size() + 1);
    append_number(out, v.major_);
    out.push_back('.');
    append_number(out, v.minor_);
    out.push_back('.');
    append_number(out, v.patch_);
    if (c.prerelease.matched()) {
      out.push_back('-');
      v.pre_begin_ = static_cast<uint32_t>(out.size());
      IdentifierCursor ids(c.prerelease.of(t));
      std::string_view id;
      bool first = true;
      while (ids.next(id)) {
        if (!first) out.push_back('.');
        first = false;
        std::string_view number;
        out.append(numeric_prerelease_value(id, number) ? number : id);
      }
    }
    v.version_length_ = static_cast<uint32_t>(out.size());
    if (c.build.matched()) {
      out.push_back('+');
      out.append(c.build.of(t));
    }
  }
  if (text != v.text_) v.raw_.assign(text);
  return v;
}

std::vector<Identifier> Version::prerelease() const {
  std::vector<Identifier> out;
  IdentifierCursor ids(prerelease_text());
  std::string_view id;
  while (ids.next(id)) out.push_back(Identifier{id});
  return out;
}

std::string_view Version::prerelease_text() const {
  if (!has_prerelease()) return {};
  return str().substr(pre_begin_);
}

std::vector<std::string_view> Version::build() const {
  std::vector<std::string_view> out;
  IdentifierCursor ids(build_text());
  std::string_view id;
  while (ids.next(id)) out.push_back(id);
  return out;
}

int Version::compare_pre(const Version& other) const {
  bool mine = has_prerelease(), theirs = other.has_prerelease();
  if (mine != theirs) return mine ? -1 : 1;
  if (!mine) return 0;
  IdentifierCursor a(prerelease_text()), b(other.prerelease_text());
  for (;;) {
    std::string_view x, y;
    bool has_x = a.next(x), has_y = b.next(y);
    if (!has_x && !has_y) return 0;
    if (!has_y) return 1;
    if (!has_x) return -1;
    if (x == y) continue;
    // Not `continue` on 0: two long digit strings that round to the same double end the
    // comparison as equal in node-semver.
    return compare_identifiers(x, y);
  }
}

int Version::compare_build(const Version& other) const {
  if (int c = compare(other)) return c;
  IdentifierCursor a(build_text()), b(other.build_text());
  for (;;) {
    std::string_view x, y;
    bool has_x = a.next(x), has_y = b.next(y);
    if (!has_x && !has_y) return 0;
    if (!has_y) return 1;
    if (!has_x) return -1;
    if (x == y) continue;
    return compare_identifiers(x, y);
  }
}

std::optional<std::string> valid(std::string_view text, Options options) {
  auto v = Version::parse(text, options);
  if (!v) return std::nullopt;
  return std::string(v->str());
}

std::optional<std::string> clean(std::string_view text, Options options) {
  std::string_view t = js::trim(text);
  while (!t.empty() && (t.front() == '=' || t.front() == 'v')) t.remove_prefix(1);
  return valid(t, options);
}

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

// ---------------------------------------------------------------------------------------------
// inc() and truncate(), on a mutable copy shaped like node-semver's SemVer object.
namespace {

struct PrereleaseItem {
  bool is_number = false;
  uint64_t number = 0;
  std::string text;  // when !is_number; inc() may store a dotted identifier as one item
  std::string str() const { return is_number ? std::to_string(number) : text; }
};

// isNaN(string) for prerelease identifiers ([0-9A-Za-z-]): JavaScript's StringToNumber accepts
// decimal integers with an optional '-' and exponent, 0x/0o/0b literals and Infinity.
bool js_is_nan(std::string_view s) {
  auto all_of = [](std::string_view t, auto pred) {
    if (t.empty()) return false;
    for (char c : t) {
      if (!pred(c)) return false;
    }
    return true;
  };
  auto dec = [](char c) { return c >= '0' && c <= '9'; };
  if (s.size() > 2 && s[0] == '0') {
    char p = s[1];
    std::string_view body = s.substr(2);
    if (p == 'x' || p == 'X') {
      return !all_of(
          body, [&](char c) { return dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); });
    }
    if (p == 'o' || p == 'O') return !all_of(body, [](char c) { return c >= '0' && c <= '7'; });
    if (p == 'b' || p == 'B') return !all_of(body, [](char c) { return c == '0' || c == '1'; });
  }
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  if (s == "Infinity") return false;
  size_t e = s.find_first_of("eE");
  std::string_view mantissa = s.substr(0, e);
  if (!all_of(mantissa, dec)) return true;
  if (e == std::string_view::npos) return false;
  std::string_view exponent = s.substr(e + 1);
  if (!exponent.empty() && exponent[0] == '-') exponent.remove_prefix(1);
  return !all_of(exponent, dec);
}

struct MutableVersion {
  uint64_t major = 0, minor = 0, patch = 0;
  std::vector<PrereleaseItem> prerelease;
  bool loose = false;

  std::string joined_prerelease() const {
    std::string out;
    for (size_t i = 0; i < prerelease.size(); ++i) {
      if (i) out.push_back('.');
      out += prerelease[i].str();
    }
    return out;
  }
  std::string format() const {
    std::string out =
        std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    if (!prerelease.empty()) out += "-" + joined_prerelease();
    return out;
  }
};

MutableVersion to_mutable(const Version& v, bool loose) {
  MutableVersion m;
  m.major = v.major();
  m.minor = v.minor();
  m.patch = v.patch();
  m.loose = loose;
  for (const Identifier& id : v.prerelease()) {
    PrereleaseItem item;
    if (id.is_number()) {
      item.is_number = true;
      item.number = id.number();
    } else {
      item.text = std::string(id.text);
    }
    m.prerelease.push_back(std::move(item));
  }
  return m;
}

std::vector<std::string_view> split_dots(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

bool is_prerelease_identifier(const std::vector<PrereleaseItem>& prerelease,
                              std::string_view identifier) {
  std::vector<std::string_view> ids = split_dots(identifier);
  if (ids.size() > prerelease.size()) return false;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (compare_identifiers(prerelease[i].str(), ids[i]) != 0) return false;
  }
  return true;
}

// SemVer.prototype.inc; false where it throws.
bool increment(MutableVersion& v, std::string_view release, std::string_view identifier,
               IdentifierBase base) {
  if (release.substr(0, 3) == "pre") {
    if (identifier.empty() && base == IdentifierBase::kNone) return false;
    if (!identifier.empty()) {
      std::string probe = "-" + std::string(identifier);
      if (pattern::prerelease_list_end(probe, 1, v.loose) != probe.size()) return false;
    }
  }
  if (release == "premajor") {
    v.prerelease.clear();
    v.patch = 0;
    v.minor = 0;
    ++v.major;
    return increment(v, "pre", identifier, base);
  }
  if (release == "preminor") {
    v.prerelease.clear();
    v.patch = 0;
    ++v.minor;
    return increment(v, "pre", identifier, base);
  }
  if (release == "prepatch") {
    v.prerelease.clear();
    return increment(v, "patch", identifier, base) && increment(v, "pre", identifier, base);
  }
  if (release == "prerelease") {
    if (v.prerelease.empty() && !increment(v, "patch", identifier, base)) return false;
    return increment(v, "pre", identifier, base);
  }
  if (release == "release") {
    if (v.prerelease.empty()) return false;
    v.prerelease.clear();
    return true;
  }
  if (release == "major") {
    if (v.minor != 0 || v.patch != 0 || v.prerelease.empty()) ++v.major;
    v.minor = 0;
    v.patch = 0;
    v.prerelease.clear();
    return true;
  }
  if (release == "minor") {
    if (v.patch != 0 || v.prerelease.empty()) ++v.minor;
    v.patch = 0;
    v.prerelease.clear();
    return true;
  }
  if (release == "patch") {
    if (v.prerelease.empty()) ++v.patch;
    v.prerelease.clear();
    return true;
  }
  if (release == "pre") {
    uint64_t start = base == IdentifierBase::kOne ? 1 : 0;
    auto number_item = [](uint64_t n) {
      PrereleaseItem item;
      item.is_number = true;
      item.number = n;
      return item;
    };
    if (v.prerelease.empty()) {
      v.prerelease.push_back(number_item(start));
    } else {
      bool bumped = false;
      for (size_t i = v.prerelease.size(); i-- > 0;) {
        if (v.prerelease[i].is_number) {
          ++v.prerelease[i].number;
          bumped = true;
          break;
        }
      }
      if (!bumped) {
        if (identifier == v.joined_prerelease() && base == IdentifierBase::kNone) return false;
        v.prerelease.push_back(number_item(start));
      }
    }
    if (!identifier.empty()) {
      std::vector<PrereleaseItem> fresh;
      PrereleaseItem named;
      named.text = std::string(identifier);
      fresh.push_back(std::move(named));
      if (base != IdentifierBase::kNone) fresh.push_back(number_item(start));
      if (is_prerelease_identifier(v.prerelease, identifier)) {
        size_t next = split_dots(identifier).size();
        bool next_is_nan = next >= v.prerelease.size() ||
                           (!v.prerelease[next].is_number && js_is_nan(v.prerelease[next].text));
        if (next_is_nan) v.prerelease = std::move(fresh);
      } else {
        v.prerelease = std::move(fresh);
      }
    }
    return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> inc(std::string_view version, std::string_view release, Options options,
                               std::string_view identifier, IdentifierBase base) {
  auto parsed = Version::parse(version, options);
  if (!parsed) return std::nullopt;
  MutableVersion m = to_mutable(*parsed, options.loose);
  if (!increment(m, release, identifier, base)) return std::nullopt;
  return m.format();
}

std::optional<std::string> truncate(std::string_view version, std::string_view release_type,
                                    Options options) {
  static constexpr std::string_view kReleaseTypes[] = {"major", "premajor", "minor",     "preminor",
                                                       "patch", "prepatch", "prerelease"};
  bool known = false;
  for (std::string_view t : kReleaseTypes) known = known || t == release_type;
  if (!known) return std::nullopt;
  auto v = Version::parse(version, options);
  if (!v) return std::nullopt;
  if (release_type.substr(0, 3) == "pre") return std::string(v->str());
  uint64_t minor = release_type == "major" ? 0 : v->minor();
  uint64_t patch = release_type == "patch" ? v->patch() : 0;
  return std::to_string(v->major()) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

}  // namespace lade::semver
