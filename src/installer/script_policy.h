#pragma once
// npm's allowScripts policy (npm 11.19 and later): which dependencies may run their install
// scripts. Entries come from the root package.json's "allowScripts" object, else from the
// `allow-scripts` list of a config file; each key is a package spec (a bare name, exact
// versions joined by "||", a file/URL/git spec) and each value says allow (true) or deny
// (false). A denied package's preinstall/install/postinstall are skipped (its bins are still
// linked); a package the policy does not name is "unreviewed": its scripts run and the install
// ends with a warning listing it, or fails before anything is installed with
// strict-allow-scripts. --ignore-scripts and --dangerously-allow-all-scripts override it all.
//
// Identity is what the consumer wrote, never what a tarball says about itself: a registry
// package is named by its resolved URL (`<registry>/<name>/-/<name>-<version>.tgz`), else by
// the specs that depend on it; file, remote and git packages by their resolved spec.
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tree/tree.h"
#include "util/result.h"

namespace lade::installer {

struct ScriptPolicy {
  /// Spec key -> allowed, in the order written. Keys that can never match (semver ranges,
  /// dist-tags, aliases, unparseable ones) are already dropped.
  std::vector<std::pair<std::string, bool>> entries;
  bool empty() const { return entries.empty(); }
};

/// The layers npm reads the policy from, highest first.
struct ScriptPolicyInputs {
  /// `allow-scripts` given on the command line or in the environment (npm_config_allow_scripts):
  /// npm refuses that in a project (EALLOWSCRIPTS).
  std::optional<std::string> command_line;
  /// The root package.json's "allowScripts" member, when it has one (any JSON type; only a
  /// non-empty object counts).
  const manifest::Json* package_json = nullptr;
  /// `allow-scripts` from the first config file that sets it (project, user, global, builtin).
  std::optional<std::string> npmrc;
};

/// npm's resolveAllowScripts for a project install: package.json's object wins over .npmrc's
/// list (which then only warns). `warnings` gets npm's lines for dropped entries, without the
/// "install-scripts" prefix. Error EALLOWSCRIPTS for a command-line list.
util::Result<ScriptPolicy> resolve_script_policy(const ScriptPolicyInputs& inputs,
                                                 std::vector<std::string>& warnings);

enum class ScriptVerdict { kUnreviewed, kAllowed, kDenied };

/// npm's isScriptAllowed: denied when any matching entry says false, allowed when one says
/// true, else unreviewed. A package inside another's bundle is always unreviewed.
ScriptVerdict script_verdict(const tree::Node& node, const ScriptPolicy& policy);

/// A package whose install scripts the policy does not cover.
struct UnreviewedPackage {
  std::string name;
  std::string version;
  std::string location;  // "node_modules/a"
  /// event -> command, in npm's order (preinstall, install, postinstall, prepare).
  std::vector<std::pair<std::string, std::string>> scripts;
};

/// npm's collectUnreviewedScripts over the installed tree: every package with install scripts
/// (read from its package.json in `project_dir` when the metadata only says it has some) that
/// the policy neither allows nor denies. The root, workspaces, links, bundled packages and
/// `left_out` (omitted, other platforms, failed optional) are not listed. In location order.
std::vector<UnreviewedPackage> unreviewed_scripts(const tree::Tree& tree, const ScriptPolicy& policy,
                                                  const std::filesystem::path& project_dir,
                                                  const std::unordered_set<const tree::Node*>& left_out);

/// The warning npm prints after an install, one line per package ("" when none).
std::string unreviewed_scripts_warning(const std::vector<UnreviewedPackage>& unreviewed);
/// strict-allow-scripts: the error that stops the install before anything is installed.
util::Error strict_allow_scripts_error(const std::vector<UnreviewedPackage>& unreviewed);

}  // namespace lade::installer
