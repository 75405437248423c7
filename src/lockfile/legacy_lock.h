#pragma once
// The "dependencies" section of lockfile v2 (npm 6's nested format, kept for old clients): npm
// keeps writing it for projects whose lockfile is already v2 (Shrinkwrap's
// #buildLegacyLockfile).
#include "lockfile/lock_json.h"
#include "tree/tree.h"

namespace lade::lockfile {

/// The legacy "dependencies" object of the root's children (null when the root has none).
/// Each entry: "version" (a version, "npm:<name>@<version>" for aliases, "file:<path>" for
/// links and tarballs, the URL for remote tarballs and git), "from" for git, "resolved" for
/// registry packages (dropped with `omit_registry_resolved`), "integrity", "bundled", the dep
/// flags, "requires" (the specs of its non-peer dependencies) and nested "dependencies".
/// Edge validity (Tree's DepValidFn) decides which edge in names the request a package came
/// from.
Json legacy_dependencies(tree::Tree& tree, bool omit_registry_resolved);

}  // namespace lade::lockfile
