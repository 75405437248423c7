#pragma once
// What lade learns from the machine it runs on before reading any config file: the process
// environment, where node and npm are installed, and a way to run npm for its own defaults.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "registry/ini.h"
#include "util/result.h"

namespace lade::registry {

namespace fs = std::filesystem;

/// Runs argv (argv[0] looked up on PATH) in `cwd` and returns its standard output.
using CommandRunner = std::function<util::Result<std::string>(const std::vector<std::string>& argv,
                                                              const fs::path& cwd)>;

/// The real CommandRunner: posix_spawnp with stdout captured, stderr discarded.
/// Error ECOMMAND when the program cannot start or exits non-zero.
util::Result<std::string> run_command(const std::vector<std::string>& argv, const fs::path& cwd);

/// Where node and npm live, found on PATH the way npm finds itself.
struct NodeInstall {
  /// npm's default global prefix: dirname(dirname(realpath(node))); empty when node is not found.
  fs::path global_prefix;
  /// npm's builtin config file, `<npm package dir>/npmrc`; empty when npm is not found.
  fs::path npm_builtin_rc;
  /// The version of that npm ("11.6.2"), from its package.json; empty when npm is not found.
  std::string npm_version;
};
NodeInstall discover_node_install(const Environment& env);

/// The current process environment as an Environment.
Environment process_environment();

}  // namespace lade::registry
