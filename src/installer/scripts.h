#pragma once
// Lifecycle scripts (preinstall, install, postinstall, ...), run as npm runs them: `sh -c` in the
// package folder, with every enclosing node_modules/.bin on PATH and npm_* variables set.
#include <filesystem>
#include <functional>
#include <optional>
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
  /// Dependencies' scripts run quietly, as under npm: their output is kept and shown only when
  /// the script fails. npm's foreground-scripts turns it off (output goes to stderr as it comes).
  bool quiet = true;
  /// npm's node-gyp (Settings::node_gyp, node_gyp_bin): scripts get npm_config_node_gyp and
  /// find a `node-gyp` on PATH after the node_modules/.bin folders, as under npm.
  std::filesystem::path node_gyp;
  std::filesystem::path node_gyp_bin;
  /// npm's settings as scripts see them (npm_config_nodedir=/usr, ...): set over the inherited
  /// environment.
  std::vector<std::pair<std::string, std::string>> env;
  /// The package's npm_package_* variables when already known (see package_envs); else
  /// run_script reads them from the package.json in the script's folder.
  std::optional<std::vector<std::pair<std::string, std::string>>> package_env;
};

/// npm's npm_package_* variables for a package.json: name, version, config, engines and bin,
/// objects and arrays flattened with '_' (npm_package_engines_node, npm_package_bin_x).
std::vector<std::pair<std::string, std::string>> package_envs(const manifest::Json& package_json);

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
/// The scripts npm runs in a linked folder (a workspace, a `file:` folder) when it links it, and
/// on every install for the links it manages from the project; in this order.
inline constexpr const char* kLinkEvents[] = {"preinstall", "prepare", "install", "postinstall"};
bool has_link_scripts(const manifest::Manifest& package);
/// Runs them in `project_dir`; `on_start(event, command)` is told before each one that exists
/// (npm prints "> name@version event" and the command). Stops at the first that fails.
util::Status run_root_install_scripts(const manifest::Manifest& root, const std::filesystem::path& project_dir,
                                      ScriptRun how,
                                      const std::function<void(const std::string&, const std::string&)>& on_start);

/// An installed dependency's scripts, read once from its package.json (abbreviated registry
/// metadata says only *that* there are scripts) for the events run one by one.
struct InstalledScripts {
  manifest::Manifest package;
  ScriptRun run;
};

/// The scripts of the dependency `node` installed in `dir`. A package with a binding.gyp and
/// neither an install nor a preinstall script gets npm's default install script,
/// `node-gyp rebuild` (unless its package.json says "gypfile": false).
InstalledScripts read_installed_scripts(const tree::Node& node, const std::filesystem::path& dir,
                                        const ScriptRun& how = {});

/// preinstall, install, postinstall of an installed dependency, one after the other.
util::Status run_install_scripts(const tree::Node& node, const std::filesystem::path& project_dir,
                                 const std::filesystem::path& dir, const ScriptRun& how = {});

/// npm's implicit install script: `dir` has a binding.gyp, `scripts` (the package's) no install
/// or preinstall, and its package.json (`package_json` when already read, else the file in
/// `dir`, read only when there is a binding.gyp) does not say "gypfile": false. One stat when
/// it has neither script.
bool needs_default_gyp_install(const std::vector<std::pair<std::string, std::string>>& scripts,
                               const std::filesystem::path& dir, const manifest::Json* package_json = nullptr);
inline constexpr const char* kDefaultGypInstall = "node-gyp rebuild";

}  // namespace lade::installer
