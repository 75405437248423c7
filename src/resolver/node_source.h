#pragma once
// Turns a dependency (name + spec) into a tree node: fetches the packument, picks the version as
// npm-pick-manifest does, and fills the node's manifest, resolved URL and integrity. Manifests
// are remembered per spec, as arborist's #manifests map does.
#include <memory>
#include <string>
#include <unordered_map>

#include "resolver/packument_source.h"
#include "resolver/pick_manifest.h"
#include "resolver/prefetcher.h"
#include "tree/tree.h"

namespace lade::resolver {

/// What a registry spec in a package.json names: the package to fetch and what to ask for.
struct RegistryRequest {
  std::string package_name;  // real name (differs from the dependency name for aliases)
  std::string wanted;        // range, version or tag; "" means latest
};

/// Classifies a dependency spec. Returns nullopt-like error EUNSUPPORTEDSPEC for spec kinds that
/// are not served by a registry (git, file, link, remote tarballs).
util::Result<RegistryRequest> registry_request(const std::string& name, const std::string& spec);

class NodeSource {
 public:
  NodeSource(tree::Tree& tree, PackumentSource& source, std::string node_version);
  /// A detached node with edges loaded; on failure the node carries the error in `errors`.
  tree::Node* create(const std::string& name, const std::string& spec, tree::Node* requested_by);
  void prefetch(const std::string& name, const std::string& spec);
  size_t manifests_fetched() const { return cache_.size(); }

 private:
  struct Resolved {
    manifest::Manifest manifest;
    std::string resolved;
    std::string integrity;
  };
  util::Result<Resolved> resolve(const std::string& name, const std::string& spec);

  tree::Tree& tree_;
  PackumentSource& source_;
  std::string node_version_;
  Prefetcher prefetcher_;
  std::unordered_map<std::string, util::Result<std::shared_ptr<const Resolved>>> cache_;
  /// Version keys parsed once per packument, however many specs pick from it.
  std::unordered_map<const manifest::Packument*, std::unique_ptr<PickIndex>> pick_indexes_;
  std::vector<std::shared_ptr<const manifest::Packument>> packuments_in_use_;
};

}  // namespace lade::resolver
