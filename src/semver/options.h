#pragma once
// Parsing options and limits shared by lade::semver, with node-semver's meaning.
#include <cstddef>
#include <cstdint>

namespace lade::semver {

/// node-semver's options object, reduced to the two flags it reads.
/// `loose` accepts the sloppy forms the registry is full of ("v1.2.3", "=1.2.3", "1.2.3beta",
/// leading zeros); `include_prerelease` lets ranges match prereleases of any version tuple.
struct Options {
  bool loose = false;
  bool include_prerelease = false;
};

/// A version string longer than this (in UTF-16 code units, as JavaScript counts) is invalid.
inline constexpr size_t kMaxLength = 256;
/// Number.MAX_SAFE_INTEGER: the largest major/minor/patch node-semver accepts.
inline constexpr uint64_t kMaxSafeInteger = 9007199254740991ULL;
/// Longest digit run coerce() looks at.
inline constexpr size_t kMaxSafeComponentLength = 16;

}  // namespace lade::semver
