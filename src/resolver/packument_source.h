#pragma once
// What the resolver needs from a registry: packuments by name. The CLI wires a RegistryClient
// behind this; tests use an in-memory map.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "manifest/packument.h"
#include "tree/tree.h"
#include "util/result.h"

namespace lade::resolver {

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
};

}  // namespace lade::resolver
