#pragma once
// How an install runs dependencies' scripts, read from npm's config: the allowScripts policy
// and its switches, the npm_config_* variables scripts inherit, and the unreviewed-scripts list
// the up-to-date state keeps.
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "installer/script_policy.h"
#include "manifest/manifest.h"
#include "registry/npmrc.h"
#include "util/result.h"

namespace lade::cli {

/// A boolean setting as npm reads it from any layer: set, and not "false", "0", "null" or "no".
bool config_flag(const registry::Config& config, const char* key);

/// npm's install-script rules for this install: the allowScripts policy and the two switches
/// over it.
struct ScriptRules {
  installer::ScriptPolicy policy;
  bool allow_all = false;  // --dangerously-allow-all-scripts
  bool strict = false;     // --strict-allow-scripts
  /// What the up-to-date fingerprint needs of the settings (package.json's part is in it).
  std::string fingerprint;
};

/// The rules from the config layers and the root package.json's "allowScripts". `warnings`
/// gets npm's lines for entries it drops. Error EALLOWSCRIPTS for --allow-scripts on the
/// command line (or in the environment).
util::Result<ScriptRules> script_rules(const registry::Config& config, const manifest::Json& package_json,
                                       std::vector<std::string>& warnings);

/// npm's setEnvs: the settings scripts inherit as npm_config_<key> (npm_config_nodedir tells
/// node-gyp where node's headers are), the highest layer's value of each; the environment's
/// own are inherited as they are. Credentials (`_auth`, `//host/:_authToken`) and scoped
/// registries stay out.
std::vector<std::pair<std::string, std::string>> npm_config_env(const registry::Config& config,
                                                                const std::filesystem::path& project_dir);

/// The unreviewed-scripts list as one line of the up-to-date state, and back (an empty list
/// for text it cannot read), so that a run with nothing to do warns as npm does without
/// reading every package.
std::string unreviewed_to_state(const std::vector<installer::UnreviewedPackage>& list);
std::vector<installer::UnreviewedPackage> unreviewed_from_state(std::string_view text);

}  // namespace lade::cli
