#include <string>
#include <utility>
#include <vector>

#include "semver/patterns.h"
#include "semver/version.h"

namespace lade::semver {

// inc() and truncate() work on a mutable copy shaped like node-semver's SemVer object.
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
