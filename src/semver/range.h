#pragma once
// Range: a parsed semver range (node-semver's Range class): a union (`||`) of comparator sets.
// Parsing desugars ^ ~ x-ranges, hyphen ranges and stars exactly as node-semver does, including
// its loose-mode leniencies; testing a version allocates nothing.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "semver/comparator.h"
#include "semver/options.h"
#include "semver/version.h"

namespace lade::semver {

class Range {
 public:
  using ComparatorSet = std::vector<Comparator>;

  /// node-semver's `new Range(text, options)`; nullopt where it throws a TypeError.
  static std::optional<Range> parse(std::string_view text, Options options = {});
  /// parse() memoized for the life of the process: the same text and options give the same
  /// object, nullptr where parse() gives nullopt. Thread-safe. A dependency tree repeats a few
  /// thousand range strings tens of thousands of times (every edge check, every pick), and
  /// parsing node-semver's way is the resolver's single biggest cost when metadata is cached.
  static const Range* shared(std::string_view text, Options options = {});

  /// True when some set's comparators all pass `v`, and, for a prerelease `v` without
  /// include_prerelease, that set names a prerelease on v's [major, minor, patch].
  bool test(const Version& v) const {
    for (const ComparatorSet& set : set_) {
      if (test_set(set, v)) return true;
    }
    return false;
  }
  /// Parses `version` with this range's options first; false when it is not a version.
  bool test(std::string_view version) const;

  /// node-semver's `.range`: the canonical comparator form ("" for any version; see
  /// valid_range() for the "*" spelling).
  const std::string& str() const { return range_; }
  /// The input after trimming and collapsing white space (node-semver's `.raw`).
  const std::string& raw() const { return raw_; }
  Options options() const { return options_; }
  const std::vector<ComparatorSet>& set() const { return set_; }
  /// node-semver memoizes each `||` alternative's comparator list by its text, so two ranges
  /// (with equal options) share the very same list object for equal alternatives; subset()
  /// treats shared lists as subsets of each other without looking inside. This key ("" when
  /// node-semver would not share the list) reproduces that identity.
  const std::string& memo_key(size_t set_index) const { return memo_keys_[set_index]; }

  /// node-semver's Range#intersects(other, options): is there a version both ranges accept?
  bool intersects(const Range& other, Options options = {}) const;

 private:
  Range() = default;
  bool test_set(const ComparatorSet& set, const Version& v) const {
    for (const Comparator& c : set) {
      if (!c.test(v)) return false;
    }
    if (!v.has_prerelease() || options_.include_prerelease) return true;
    // A prerelease only matches when a comparator of the same set names a prerelease of the
    // same version tuple: ^1.2.3-beta.1 accepts 1.2.3-beta.2 but not 1.2.4-beta.
    for (const Comparator& c : set) {
      if (c.is_any() || !c.version().has_prerelease()) continue;
      if (c.version().compare_main(v) == 0) return true;
    }
    return false;
  }

  std::vector<ComparatorSet> set_;
  std::vector<std::string> memo_keys_;
  std::string range_;
  std::string raw_;
  Options options_;
};

}  // namespace lade::semver
