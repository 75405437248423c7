#pragma once
// The project an install works on: its folder, its package.json (text, manifest, formatting),
// and the facts about the running node that resolution and installation need.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cli/install_command.h"
#include "manifest/manifest.h"
#include "manifest/package_json.h"
#include "manifest/spec.h"
#include "registry/npmrc.h"
#include "tree/tree.h"
#include "util/result.h"

namespace lade::cli {

struct Project {
  std::filesystem::path dir;
  /// package.json as read ("" when the file does not exist yet).
  std::string package_json_text;
  /// The file, edited as npm edits it; manifest is what it declares.
  std::optional<manifest::PackageJson> package_json;
  manifest::Manifest manifest;
  std::string node_version;  // "20.20.2"; filled by detect_node()
  /// lade ran inside a workspace of an enclosing project (and without --prefix): `dir` is that
  /// project and this the workspace's folder, which then acts as `-w <folder>` (npm's config
  /// finds the workspace root the same way).
  std::string implied_workspace;
  std::string arch = "x64";

  /// Finds the project (--prefix, else the nearest folder up from the cwd with a package.json)
  /// and reads its package.json. EJSONPARSE names the file and position.
  static util::Result<Project> open(const InstallRequest& req);
  /// Asks the node on PATH for its version (for engines checks). Costs a process spawn, so only
  /// called when something must be resolved; the answer is kept in `cache_dir` for as long as
  /// `node` resolves to the same executable file, unchanged (shims and scripts are always
  /// asked).
  void detect_node(const std::filesystem::path& cache_dir);
  /// Writes package.json back with its own indentation and newline style.
  util::Status save_package_json();
};

/// One `lade add` argument, with where it goes in package.json.
struct AddedSpec {
  manifest::PackageSpec spec;
  /// --save-dev / --save-optional / --save-prod; nullopt lets npm's inference decide.
  std::optional<manifest::DependencyKind> kind;
  /// What goes into package.json before resolving ("*" for a bare name).
  std::string requested;
  /// npm's warnings for the sections the package leaves ("Removing devDependencies.x in favor
  /// of dependencies.x").
  std::vector<std::string> moved;
};

/// Finds the package name of a spec that does not say it (a folder, a tarball, a repository),
/// as npm does by reading its manifest.
using SpecNameLookup = std::function<util::Result<std::string>(const manifest::PackageSpec&)>;
/// The version a registry tag spec (`typescript@latest`) names now, as npm picks it.
using TagVersionLookup = std::function<util::Result<std::string>(const manifest::PackageSpec&)>;

/// Parses the specs of `lade add` and writes them into the root manifest (as npm's
/// add-rm-pkg-deps does before resolving). Without `name_of`, a spec must name its package.
util::Result<std::vector<AddedSpec>> parse_added_specs(const InstallRequest& req,
                                                       manifest::Manifest& root,
                                                       const Project& project,
                                                       const SpecNameLookup& name_of = nullptr,
                                                       const TagVersionLookup& version_of_tag = nullptr);

/// The same for the package.json `base` of the folder `dir` (a workspace with -w): `target`
/// receives the dependency sections as they will be. Paths in specs are saved relative to `dir`.
util::Result<std::vector<AddedSpec>> parse_added_specs_for(const InstallRequest& req,
                                                           manifest::Manifest& target,
                                                           const manifest::PackageJson& base,
                                                           const std::filesystem::path& dir,
                                                           const std::filesystem::path& cwd,
                                                           const SpecNameLookup& name_of,
                                                           const TagVersionLookup& version_of_tag = nullptr);

/// After resolution: the spec npm would save (`^<version>`, exact with -E, ...) goes into
/// package.json and into the root node's manifest, so the lockfile's root entry agrees.
util::Status settle_added_specs(const std::vector<AddedSpec>& added, tree::Node& root,
                                Project& project, const InstallRequest& req,
                                const registry::Settings& settings);

/// The same for `node` (the root or a workspace folder) and its package.json `pj` in `dir`.
util::Status settle_added_specs_for(const std::vector<AddedSpec>& added, tree::Node& node,
                                    manifest::PackageJson& pj, const std::filesystem::path& dir,
                                    const InstallRequest& req, const registry::Settings& settings);

}  // namespace lade::cli
