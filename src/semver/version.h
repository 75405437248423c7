#pragma once
// Version: one parsed semantic version with node-semver's (7.x) rules for parsing, canonical
// form and precedence. Parse once, compare many times: comparisons never allocate.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "semver/options.h"

namespace lade::semver {

/// One prerelease (or build) identifier, viewed in its version's text.
struct Identifier {
  std::string_view text;
  /// node-semver stores an all-digit prerelease identifier below MAX_SAFE_INTEGER as a number
  /// (and prints it without leading zeros); anything else stays a string.
  bool is_number() const;
  /// The value when is_number().
  uint64_t number() const;
};

/// node-semver's compareIdentifiers: all-digit identifiers compare as (double) numbers and sort
/// before the others, which compare as ASCII strings.
int compare_identifiers(std::string_view a, std::string_view b);

class Version {
 public:
  /// node-semver's `new SemVer(text, options)`: trims JavaScript white space, matches the strict
  /// or loose grammar, rejects text longer than 256 and components above MAX_SAFE_INTEGER.
  /// nullopt where node-semver throws.
  static std::optional<Version> parse(std::string_view text, Options options = {});

  uint64_t major() const { return major_; }
  uint64_t minor() const { return minor_; }
  uint64_t patch() const { return patch_; }
  bool has_prerelease() const { return pre_begin_ != 0; }
  /// The prerelease identifiers ("alpha.1" gives {"alpha", 1}).
  std::vector<Identifier> prerelease() const;
  /// Prerelease part of str() without the '-', e.g. "alpha.1"; empty when none.
  std::string_view prerelease_text() const;
  /// Build identifiers, always strings ("+build.01" gives {"build", "01"}).
  std::vector<std::string_view> build() const;
  /// Build metadata without the '+'; empty when none.
  std::string_view build_text() const {
    return version_length_ < text_length_
               ? std::string_view(text_).substr(version_length_ + 1, text_length_ - version_length_ - 1)
               : std::string_view();
  }
  /// The text that was parsed, untrimmed (node-semver's `.raw`).
  std::string_view raw() const {
    return text_length_ < text_.size() ? std::string_view(text_).substr(text_length_)
                                       : std::string_view(text_);
  }
  /// Canonical form, node-semver's `.version`: "1.2.3" or "1.2.3-alpha.1", no build, no 'v'.
  std::string_view str() const { return std::string_view(text_).substr(0, version_length_); }

  /// Precedence: -1, 0 or 1. Build metadata is ignored (1.0.0+a == 1.0.0+b).
  int compare(const Version& other) const {
    if (int c = compare_main(other)) return c;
    return compare_pre(other);
  }
  int compare_main(const Version& other) const {
    if (major_ != other.major_) return major_ < other.major_ ? -1 : 1;
    if (minor_ != other.minor_) return minor_ < other.minor_ ? -1 : 1;
    if (patch_ != other.patch_) return patch_ < other.patch_ ? -1 : 1;
    return 0;
  }
  /// A version without prerelease sorts after one with; then identifiers left to right.
  int compare_pre(const Version& other) const;
  /// compare(), then build identifiers (node-semver's compareBuild order).
  int compare_build(const Version& other) const;

  /// Equality and order are semver precedence (compare() == 0), like node-semver's eq/lt.
  friend bool operator==(const Version& a, const Version& b) { return a.compare(b) == 0; }
  friend bool operator<(const Version& a, const Version& b) { return a.compare(b) < 0; }
  friend bool operator>(const Version& a, const Version& b) { return a.compare(b) > 0; }
  friend bool operator<=(const Version& a, const Version& b) { return a.compare(b) <= 0; }
  friend bool operator>=(const Version& a, const Version& b) { return a.compare(b) >= 0; }

 private:
  Version() = default;

  // Registry version strings are nearly always canonical already, so the common parse stores
  // one short string: text_ is str() followed by "+build" when there is build metadata, then
  // the input itself only when it differs from that (one string, not two: the resolver keeps
  // a Version for each of the tens of thousands of versions it reads).
  std::string text_;
  uint64_t major_ = 0;
  uint64_t minor_ = 0;
  uint64_t patch_ = 0;
  uint32_t version_length_ = 0;  // length of str() in text_
  uint32_t text_length_ = 0;     // length of str() and "+build" in text_; the raw text follows
  uint32_t pre_begin_ = 0;       // index of the prerelease text in text_; 0 when none
};

/// `semver.valid(text, options)`: the canonical form, or nullopt.
std::optional<std::string> valid(std::string_view text, Options options = {});

/// `semver.clean(text, options)`: trims, drops leading '=' and 'v', then valid().
std::optional<std::string> clean(std::string_view text, Options options = {});

/// `semver.coerce(text, options)` (left-to-right form; `rtl` is not supported): the first
/// run of up to three dot-separated numbers in `text` as a version ("v2" gives 2.0.0,
/// "42.6.7.9.3-alpha" gives 42.6.7); with include_prerelease the prerelease and build that
/// follow are kept. nullopt when there is none.
std::optional<Version> coerce(std::string_view text, Options options = {});

/// How inc() numbers a new prerelease: node-semver's `identifierBase` of "0" (or omitted),
/// "1", or `false` (no number after the identifier).
enum class IdentifierBase { kZero, kOne, kNone };

/// `semver.inc(version, release, options, identifier, identifierBase)`. `release` is one of
/// major, premajor, minor, preminor, patch, prepatch, prerelease, release, pre. An empty
/// identifier means none. nullopt where node-semver returns null.
std::optional<std::string> inc(std::string_view version, std::string_view release,
                               Options options = {}, std::string_view identifier = {},
                               IdentifierBase base = IdentifierBase::kZero);

/// `semver.truncate(version, releaseType, options)` (node-semver 7.8): drops the parts below
/// `release_type` (major, minor, patch; pre* types keep the version as it is).
std::optional<std::string> truncate(std::string_view version, std::string_view release_type,
                                    Options options = {});

}  // namespace lade::semver
