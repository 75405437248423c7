#pragma once
// Lockfile v1 (npm 5 and 6): a nested "dependencies" tree whose "version" field holds a version,
// a tarball, a git URL or a link. npm converts it into the v2 "packages" form on load
// (Shrinkwrap's #loadAll, #metaFromLock and #fixDependencies); so does this.
#include <optional>
#include <string>
#include <string_view>

#include "lockfile/lock_json.h"
#include "manifest/manifest.h"
#include "util/result.h"

namespace lade::lockfile {

/// The "packages" map npm derives from a v1 lockfile document. The root entry takes its
/// package fields from `root_package` (v1 records only `requires: true` for the root); other
/// entries get dependencies from their "requires", typed optional/dev where the required
/// entry is optional/dev and the requirer is not. Entries keep an "inBundle" marker for
/// bundled packages. Link targets get no version (npm reads their package.json instead).
/// Error ELOCKFILE when "dependencies" nest deeper than any real tree (kMaxV1Depth).
util::Result<Json> packages_from_v1(const Json& doc, const manifest::Manifest& root_package);

/// Deeper nesting is refused rather than walked (the walk is recursive).
inline constexpr int kMaxV1Depth = 1000;

/// npm's version-from-tgz: the package name and version a tarball file name or registry
/// tarball URL spells ("/@s/x/-/x-1.2.3.tgz" -> {"@s/x", "1.2.3"}), given the expected name.
struct NameVersion {
  std::string name;
  std::string version;
};
std::optional<NameVersion> version_from_tgz(std::string_view name, std::string_view tgz);

}  // namespace lade::lockfile
