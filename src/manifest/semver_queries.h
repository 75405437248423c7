#pragma once
// The few semver questions the manifest stage asks (node-semver semantics, loose mode). They
// are passed in rather than hard-wired so that spec parsing and package.json editing can be
// tested with known answers; default_semver_queries() answers them with lade::semver.
#include <functional>
#include <string_view>

namespace lade::manifest {

struct SemverQueries {
  /// `semver.valid(text, {loose: true}) !== null`.
  std::function<bool(std::string_view text)> is_version;
  /// `semver.validRange(text, {loose: true}) !== null`.
  std::function<bool(std::string_view text)> is_range;
  /// `semver.subset(sub, super, {loose: true})`.
  std::function<bool(std::string_view sub, std::string_view super)> is_subset;
  /// `semver.intersects(a, b)`; false when either is not a valid range.
  std::function<bool(std::string_view a, std::string_view b)> intersects;
};

/// The queries answered by lade::semver.
SemverQueries default_semver_queries();

/// A version as the registry lists it and as a package.json may write it ("v1.0.0", "=1.0.0")
/// are the same (semver.clean, loose); a version that is no semver matches anything.
bool same_version(std::string_view a, std::string_view b);

}  // namespace lade::manifest
