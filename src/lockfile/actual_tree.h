#pragma once
// npm's loadActual, for a node_modules without a hidden lockfile: made by another tool or an npm
// older than 7, or left without one by an install that was cut short. npm then reads the package
// folders themselves, and keeps what they hold where it still fits; lade reads them into the
// form of a hidden lockfile, which the lockfile reader takes like any other.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lade::lockfile {

/// The packages in `project`'s node_modules (nested ones, scoped ones, the folders links point to
/// and the `workspace_folders` with their own node_modules included) as the text of a hidden lockfile: each entry is the folder's package.json, with
/// the "_resolved" and "_integrity" that npm 6 wrote there as resolved and integrity. A folder
/// without a readable package.json is left out (the install removes it as unknown). nullopt when
/// node_modules holds no package.
std::optional<std::string> hidden_lockfile_from_disk(const std::filesystem::path& project,
                                                     const std::vector<std::string>& workspace_folders);

}  // namespace lade::lockfile
