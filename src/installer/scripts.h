#pragma once
// Lifecycle scripts (preinstall, install, postinstall, ...), run as npm runs them: `sh -c` in the
// package folder, with every enclosing node_modules/.bin on PATH and npm_* variables set.
#include <filesystem>
#include <string>
#include <vector>

#include "tree/tree.h"
#include "util/result.h"

namespace lade::installer {

/// Runs one script of `package` in `dir` if the package defines it. ELIFECYCLE when it fails.
util::Status run_script(const manifest::Manifest& package, const std::string& event,
                        const std::filesystem::path& project_dir, const std::filesystem::path& dir);

/// preinstall, install, postinstall of an installed dependency.
util::Status run_install_scripts(const tree::Node& node, const std::filesystem::path& project_dir,
                                 const std::filesystem::path& dir);

}  // namespace lade::installer
