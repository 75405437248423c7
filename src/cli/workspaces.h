#pragma once
// The workspaces of a project on disk, as npm's @npmcli/map-workspaces finds them: the root
// package.json's "workspaces" globs matched against folders, each folder with a package.json
// being one workspace named after its package (or its folder).
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "manifest/manifest.h"
#include "util/result.h"

namespace lade::cli {

/// (name, folder relative to the project, '/'-separated), in map-workspaces' order: pattern by
/// pattern, the folders of each pattern sorted with localeCompare.
using WorkspaceFolders = std::vector<std::pair<std::string, std::string>>;

/// Maps the "workspaces" of `package_json` (an array of globs, or {"packages": [...]}) in
/// `project_dir`. Globs: '*', '?', '[...]' within a segment, '**' for any depth; a leading
/// '!' excludes; "./" and "/" prefixes are ignored; node_modules and dot folders are never
/// entered. Errors: EWORKSPACESCONFIG (not an array), EDUPLICATEWORKSPACE (two folders with one
/// name), EJSONPARSE (a workspace's package.json).
util::Result<WorkspaceFolders> map_workspaces(const std::filesystem::path& project_dir,
                                              const manifest::Json& package_json);

/// The workspaces `-w` selects: each argument is a workspace name or folder (relative to
/// `cwd`, or the project). ENOWORKSPACE names an argument that is neither.
util::Result<WorkspaceFolders> select_workspaces(const WorkspaceFolders& all,
                                                 const std::vector<std::string>& args,
                                                 const std::filesystem::path& project_dir,
                                                 const std::filesystem::path& cwd);

}  // namespace lade::cli
