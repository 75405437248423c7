#pragma once
// Workspace globs against lockfile keys: map-workspaces' "virtual" mode, which finds the
// workspaces of a project in its lockfile instead of on disk.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lockfile/lock_json.h"

namespace lade::lockfile {

/// minimatch's default matching of a '/'-separated path: `*` and `?` within one segment,
/// `[...]` classes, `**` for any number of segments; wildcards do not match a leading '.'.
bool glob_match(std::string_view pattern, std::string_view path);

/// The keys of a lockfile's `packages` matched by workspace `globs` (leading "!" negates,
/// "**/node_modules/**" is always excluded), as (package name, location), the name from the
/// entry or else from the folder.
std::vector<std::pair<std::string, std::string>> match_workspaces(
    const Json& packages, const std::vector<std::string>& globs);

/// The workspaces a lockfile records: match_workspaces with the root entry's "workspaces".
std::vector<std::pair<std::string, std::string>> workspaces_from_lock(const Json& packages);

}  // namespace lade::lockfile
