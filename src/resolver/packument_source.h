#pragma once
// What the resolver needs from the outside world: packuments by name, the packages that do not
// come from a registry (tarball files, tarball URLs, git repositories, folders), and what a
// tarball bundles. The CLI wires a RegistryClient, the store and git behind this; tests use
// in-memory maps.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "manifest/manifest.h"
#include "manifest/packument.h"
#include "manifest/spec.h"
#include "tree/tree.h"
#include "util/result.h"

namespace lade::resolver {

/// A package named by a spec that no registry serves, as the resolver records it.
struct SourcedPackage {
  /// Its package.json.
  manifest::Manifest manifest;
  /// Where it came from, in lockfile form: the tarball URL (kRemote), "git+<url>#<sha>" (kGit).
  /// For tarball files (kFile) the resolver writes "file:<path>" itself; leave it empty.
  std::string resolved;
  /// SRI of the tarball; empty for git dependencies (npm never records one for them).
  std::string integrity;
};

class PackumentSource {
 public:
  virtual ~PackumentSource() = default;
  /// Starts fetching `name` if it is not already known or in flight; never blocks. `on_ready`
  /// (may be empty) is called once the packument (or its error) is available, from any thread;
  /// packument(name) then answers without waiting.
  virtual void prefetch(const std::string& name, std::function<void()> on_ready = {}) = 0;
  /// The packument for `name`, waiting for it if needed. E404 when the registry has no such name.
  virtual util::Result<std::shared_ptr<const manifest::Packument>> packument(const std::string& name) = 0;
  /// The registry base URL (ending in '/') used for `name`, for messages and lockfiles.
  virtual std::string registry_for(const std::string& name) const = 0;

  /// A package that another package's tarball carries in its node_modules (bundleDependencies).
  struct BundledPackage {
    /// Where, relative to the bundling package: "node_modules/a", "node_modules/a/node_modules/b".
    std::string path;
    manifest::Json package_json;
  };
  /// The packages bundled in `node`'s tarball, parents before children. npm opens the tarball
  /// while resolving (for a complete lockfile), so lade does too.
  virtual util::Result<std::vector<BundledPackage>> bundled_packages(const tree::Node& node) = 0;
  /// Loads what `node`'s tarball locks in its own npm-shrinkwrap.json into `tree`, below
  /// `node`. npm opens the tarball of a package with "hasShrinkwrap" while resolving (for a
  /// complete lockfile), so lade does too. May block (a download). The default loads nothing.
  virtual util::Status load_shrinkwrap(tree::Tree& /*tree*/, tree::Node& /*node*/) { return {}; }
  /// The package of a tarball file (SpecType::kFile), a tarball URL (kRemote) or a git
  /// repository (kGit): `spec` comes from manifest::resolve_spec, so paths are absolute. May
  /// block (a download, a clone). The default knows none: EUNSUPPORTEDSPEC.
  virtual util::Result<SourcedPackage> fetch_package(const manifest::PackageSpec& spec) {
    return util::make_error("EUNSUPPORTEDSPEC", "cannot fetch " + spec.raw);
  }
  /// The package.json of a folder (directory dependencies, workspaces), given as an absolute
  /// path. ENOENT when it has none (npm then links an empty package). The default reads nothing.
  virtual util::Result<manifest::Manifest> read_folder(const std::filesystem::path& dir) {
    return util::make_error("ENOENT", "no package.json in " + dir.string());
  }
};

}  // namespace lade::resolver
