#pragma once
// Version picking as npm does it (npm-pick-manifest 11, called by pacote for every registry
// dependency arborist resolves), and the classification of registry specs it relies on
// (npm-package-arg's fromRegistry).
//
// How npm reads a registry dependency spec from package.json
// -----------------------------------------------------------
// The spec string is taken as written ("dependencies": {"a": " ^1.2.3 "}) and goes through
// npm-package-arg, which trims it with JavaScript's String#trim (Unicode white space included)
// into `fetchSpec`; that trimmed text is what pacote hands to npm-pick-manifest, and what error
// messages quote. The trimmed spec is then classified, always in semver's loose mode:
//   1. a version  when semver.valid(spec, loose) succeeds: "1.2.3", "v1.2.3", "=1.2.3",
//      "=v1.2.3", "1.2.3beta" (loose), "1.2.3+build". The packument entry looked up is
//      semver.clean(spec, loose): the canonical "1.2.3" (build metadata dropped), matched
//      exactly against the packument's version keys.
//   2. a range    when semver.validRange(spec, loose) succeeds: "^1.2.3", ">= 1.2" (white space
//      after an operator is allowed), "1.2.3 - 2", "1.x", "*", "" (empty means any, as "*"), and
//      loose leftovers such as "~1.2.3 foo" (loose mode drops the word "foo").
//   3. otherwise  a dist-tag ("latest", "next"), which must consist only of characters that
//      encodeURIComponent leaves alone (A-Z a-z 0-9 - _ . ! ~ * ' ( )), else npm fails with
//      EINVALIDTAGNAME.
// Ranges are matched in loose mode without includePrerelease: a prerelease is only picked when
// the range names a prerelease of the same major.minor.patch, or when it is the default tag.
// (Specs that npm-package-arg sends elsewhere first, such as "file:", git, URLs, "npm:" aliases
// and paths with a '/', are not registry specs and must not be passed here.)
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "manifest/packument.h"
#include "semver/version.h"
#include "util/result.h"

namespace lade::resolver {

enum class SpecKind { kVersion, kRange, kTag, kInvalidTag };

/// A registry spec after npm-package-arg: its kind and its trimmed text (`fetchSpec`).
struct RegistrySpec {
  SpecKind kind = SpecKind::kTag;
  std::string normalized;
};

/// Classifies a registry dependency spec as written in package.json (see the file comment).
RegistrySpec classify_registry_spec(std::string_view raw_spec);

/// The EINVALIDTAGNAME error npm-package-arg raises for a spec classified kInvalidTag;
/// `raw_spec` is the spec as written.
util::Error invalid_tag_error(std::string_view package_name, std::string_view raw_spec);

struct PickOptions {
  /// The dist-tag preferred when it satisfies the wanted range (npm's --tag, "latest").
  std::string default_tag = "latest";
  /// The running node's version ("v20.11.0"); versions whose engines.node it does not satisfy
  /// are avoided. Empty: engines.node is not checked.
  std::string node_version;
  /// npm passes its own version and avoids versions whose engines.npm it does not satisfy.
  /// Empty: engines.npm is not checked. (Checked from the version's raw JSON, lazily.)
  std::string npm_version;
  /// npm's `before` (also what min-release-age sets): versions published after this moment, in
  /// milliseconds since the epoch, are not picked; a tag naming one falls back to the highest
  /// version up to it. Versions the packument gives no time for pass. nullopt: no limit.
  std::optional<int64_t> before_ms;
  /// min-release-age-exclude: package names (exact, or globs such as "@myorg/*") exempt from
  /// `before_ms`.
  std::vector<std::string> before_exempt;
};

/// One packument's version keys parsed once (loose mode), for picking from it repeatedly: a
/// packument with thousands of versions is then parsed once, not once per dependency spec.
/// Holds a reference: the packument must outlive the index.
class PickIndex {
 public:
  explicit PickIndex(const manifest::Packument& packument);
  const manifest::Packument& packument() const { return packument_; }
  /// versions()[i] of the packument as a loose semver version; nullopt when it is not one.
  const std::optional<semver::Version>& version(size_t i) const { return versions_[i]; }

 private:
  const manifest::Packument& packument_;
  std::vector<std::optional<semver::Version>> versions_;
};

/// The PickIndex of each packument, shared by the threads that pick from the same packuments
/// (the prefetcher's and the resolver's), so that each is built once and held once. Keeps the
/// packuments alive, as the indexes refer to them. Thread-safe.
class PickIndexCache {
 public:
  const PickIndex& get(const std::shared_ptr<const manifest::Packument>& packument);

 private:
  struct Entry {
    std::shared_ptr<const manifest::Packument> packument;
    std::unique_ptr<PickIndex> index;
  };
  std::mutex mu_;
  std::unordered_map<const manifest::Packument*, Entry> entries_;
};

/// Picks the version npm would install for `wanted` (a registry spec as written in package.json;
/// it is trimmed and classified as described above):
///  - a tag: the version the dist-tag points to (deprecation and engines do not matter);
///  - a version: that exact version;
///  - a range (or "" / the default tag): the default tag's version when it satisfies the range
///    (always, for "*" and ""), is not deprecated and its engines accept the running node/npm;
///    otherwise, of the versions that satisfy the range, the highest one that is not deprecated
///    and engine-compatible, then the highest engine-compatible one, then the highest that is
///    not deprecated, then the highest (the first in document order among equal versions).
/// Errors, worded as npm words them: ETARGET "No matching version found for <name>@<wanted>.",
/// ENOVERSIONS "No versions available for <name>" (a range against a packument without
/// versions), EINVALIDTAGNAME, and EINVALIDSPEC "Only tag, version, and range are supported"
/// (npm's code-less error) when npm-package-arg reads the trimmed spec, an empty spec's default
/// tag, or the "<=version" a late tag falls back to as a path (" .x", "x.tgz ", ".next").
util::Result<const manifest::PackumentVersion*> pick_version(const manifest::Packument& packument,
                                                             std::string_view wanted,
                                                             const PickOptions& options);
/// The same, using versions parsed once in `index`.
util::Result<const manifest::PackumentVersion*> pick_version(const PickIndex& index,
                                                             std::string_view wanted,
                                                             const PickOptions& options);

}  // namespace lade::resolver
