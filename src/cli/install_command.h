#pragma once
// `lade install`, `lade add` and `lade ci`: the whole pipeline from package.json to
// node_modules, wired from the stages (see ARCHITECTURE.md).
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lade::cli {

enum class Command { Install, Ci };

/// The command line, parsed into plain values.
struct InstallRequest {
  Command command = Command::Install;
  std::string argv0;
  std::vector<std::string> specs;
  /// `lade uninstall <names>`: an install with these names taken out of package.json first
  /// (every dependency section and bundleDependencies, as npm's `rm`).
  std::vector<std::string> remove;
  /// `lade update [names]`: an install that resolves these packages again wherever they are
  /// (with no names: the whole tree, the lockfile set aside). package.json is left alone.
  bool update = false;
  std::vector<std::string> update_names;
  /// `lade update --save`: the direct dependencies updated also get their new ranges in
  /// package.json (npm's update --save: save-prefix + the version, exact specs left alone).
  bool update_save = false;
  bool save_dev = false;
  bool save_optional = false;
  bool save_prod = false;
  bool save_peer = false;
  bool save_exact = false;
  /// -B/--save-bundle: added packages also join bundleDependencies.
  bool save_bundle = false;
  bool save = true;
  std::string registry;
  std::string prefix;
  std::vector<std::string> omit;
  std::vector<std::string> include;
  bool production = false;
  bool ignore_scripts = false;
  bool package_lock_only = false;
  bool legacy_peer_deps = false;
  bool strict_peer_deps = false;
  /// --lockfile-version, as its .npmrc key (empty: not given).
  std::string lockfile_version;
  /// npm settings given on the command line (--save-prefix, --fetch-retries, --userconfig...),
  /// as {key, value} for the config layers, in the order given.
  std::vector<std::pair<std::string, std::string>> cli_settings;
  /// --prefer-dedupe: a version already in the tree is reused where it satisfies the range.
  bool prefer_dedupe = false;
  /// --install-strategy (hoisted, nested, shallow); --global-style and --legacy-bundling
  /// give shallow and nested.
  std::string install_strategy;
  bool force = false;
  bool engine_strict = false;
  bool prefer_offline = false;
  bool offline = false;
  bool timing = false;
  bool json = false;
  bool silent = false;
  std::string loglevel;
  std::string cache_dir;
  std::string link_mode;
  /// --omit-lockfile-registry-resolved[=true|false]; unset leaves it to the npmrc layers.
  std::optional<bool> omit_lockfile_registry_resolved;
  /// -w/--workspace: the workspaces (names or folders) an install or add applies to.
  std::vector<std::string> workspaces;
  /// Flags npm has that change nothing here (--no-audit, --no-fund, --no-progress...).
  bool npm_compat_ignored = false;
  /// What npm says about deprecated command-line spellings (--production, --only, --also,
  /// --no-optional), printed with the config's warnings.
  std::vector<std::string> flag_warnings;
  std::string color;
  /// --prefer-online: revalidate every cached packument.
  bool prefer_online = false;
  /// --dry-run: resolve and report; no package.json, lockfile or node_modules written.
  bool dry_run = false;
  /// --long: list what was added, changed and removed, as --dry-run does.
  bool long_listing = false;
  /// --no-bin-links: no node_modules/.bin links.
  bool bin_links = true;
  /// --package-lock[=bool] / --no-package-lock: "false" means package-lock.json is neither
  /// read nor written; empty leaves it to the npmrc layers.
  std::string package_lock;
  /// --workspaces: every workspace is selected (as -w for each); --include-workspace-root adds
  /// the root's own dependencies to a selection.
  bool all_workspaces = false;
  bool include_workspace_root = false;
};

/// Runs the request; returns the process exit code.
int run_install(InstallRequest request);

}  // namespace lade::cli
