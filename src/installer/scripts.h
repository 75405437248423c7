#pragma once
// Lifecycle scripts (preinstall, install, postinstall, ...), run as npm runs them: `sh -c` in the
// package folder, with every enclosing node_modules/.bin on PATH and npm_* variables set.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "tree/tree.h"
#include "util/result.h"

namespace lade::installer {

/// How a script runs besides its package: npm's `npm_command`, and whether its standard output
/// is the user's (the root project's scripts, as npm runs them with stdio inherited) or goes to
/// stderr (dependencies' scripts: lade's stdout stays its own report).
struct ScriptRun {
  std::string npm_command = "install";
  bool own_stdout = false;
};

/// Runs one script of `package` in `dir` if the package defines it. ELIFECYCLE when it fails.
util::Status run_script(const manifest::Manifest& package, const std::string& event,
                        const std::filesystem::path& project_dir, const std::filesystem::path& dir,
                        const ScriptRun& how = {});

/// The root project's scripts npm runs after `npm install` without packages named and after
/// `npm ci`, in this order (even when nothing changed): install's three, then prepublish and
/// prepare's three.
inline constexpr const char* kRootInstallEvents[] = {"preinstall", "install",    "postinstall", "prepublish",
                                                     "preprepare", "prepare",    "postprepare"};
bool has_root_install_scripts(const manifest::Manifest& root);
/// Runs them in `project_dir`; `on_start(event, command)` is told before each one that exists
/// (npm prints "> name@version event" and the command). Stops at the first that fails.
util::Status run_root_install_scripts(const manifest::Manifest& root, const std::filesystem::path& project_dir,
                                      const std::string& npm_command,
                                      const std::function<void(const std::string&, const std::string&)>& on_start);

/// preinstall, install, postinstall of an installed dependency.
util::Status run_install_scripts(const tree::Node& node, const std::filesystem::path& project_dir,
                                 const std::filesystem::path& dir);

}  // namespace lade::installer
