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
  v.text_length_ = static_cast<uint32_t>(v.text_.size());
  if (text != v.text_) v.text_.append(text);
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

}  // namespace lade::semver
