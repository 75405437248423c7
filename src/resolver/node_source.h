#pragma once
// Turns a dependency (name + spec) into a tree node: fetches the packument, picks the version as
// npm-pick-manifest does, and fills the node's manifest, resolved URL and integrity. Tarball
// files, tarball URLs and git repositories come from PackumentSource::fetch_package; folders
// (`file:` directories, workspaces) become links, as arborist's #nodeFromSpec makes them.
// Manifests are remembered per spec, as arborist's #manifests map does.
#include <filesystem>
#include <functional>
#include <optional>
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

/// Classifies a dependency spec. Returns the error EUNSUPPORTEDSPEC for spec kinds that are not
/// served by a registry (git, file, link, remote tarballs).
util::Result<RegistryRequest> registry_request(const std::string& name, const std::string& spec);

/// The folder, relative to the project root, against which `node`'s relative `file:` specs
/// resolve (arborist's fromPath): a tarball's own folder for `file:` tarballs, the real folder
/// for links and tops, else the node's location in node_modules. Virtual roots answer for the
/// node they stand in for.
std::string spec_folder(const tree::Node& node);

/// `path` relative to `project_dir`, '/'-separated ("" for the project itself, "../x" outside).
std::string project_relative(const std::filesystem::path& project_dir,
                             const std::filesystem::path& path);

/// What to resolve instead of a dependency's own spec, and the integrity the package it
/// resolves to must have (empty: any). See ResolveOptions::pinned_spec.
struct SpecPin {
  std::string spec;
  std::string integrity;
};
using SpecPins = std::function<std::optional<SpecPin>(const std::string& name, const std::string& spec)>;

/// The integrity a registry node records: the manifest's, else its sha1 shasum as SRI.
std::string registry_integrity(const manifest::Dist& dist);

class NodeSource {
 public:
  /// `project_dir` is the absolute project root; relative specs resolve from it.
  /// `on_picked_ahead` is told of the versions the prefetcher picks (see Prefetcher).
  /// `engines` holds the node and npm versions picks are checked against (see PickOptions).
  NodeSource(tree::Tree& tree, PackumentSource& source, PickOptions engines,
             std::filesystem::path project_dir, PickedAhead on_picked_ahead = {});
  /// Stops the prefetcher (see Prefetcher::stop): what this source read may be freed next.
  ~NodeSource();
  /// A detached node for `name`@`spec` as `requested_by` declares it, with edges loaded; on
  /// failure the node carries the error in `errors`. A directory spec gives a link whose target
  /// is the folder's node (shared by every link to that folder, not attached here).
  tree::Node* create(const std::string& name, const std::string& spec, tree::Node* requested_by);
  /// Specs to resolve instead of the ones dependencies declare (see SpecPin); none by default.
  void set_pins(SpecPins pins) { pins_ = std::move(pins); }
  /// See Prefetcher::want.
  void prefetch(const std::string& name, const std::string& spec, Reach reach = Reach::Installed);
  size_t manifests_fetched() const { return cache_.size(); }
  const std::filesystem::path& project_dir() const { return project_dir_; }

 private:
  struct Resolved {
    manifest::Manifest manifest;
    std::string resolved;
    std::string integrity;
  };
  util::Result<Resolved> resolve_registry(const std::string& name, const std::string& spec);
  util::Result<Resolved> resolve_sourced(const manifest::PackageSpec& spec);
  tree::Node* create_link(const std::string& name, const manifest::PackageSpec& spec);
  tree::Node* failed(const std::string& name, util::Error error);
  tree::Node* create_unpinned(const std::string& name, const std::string& spec, tree::Node* requested_by);
  /// The pin for name@spec, asked for once per spec.
  const std::optional<SpecPin>& pin_for(const std::string& name, const std::string& spec);
  /// A new node from a cached resolution (or its error).
  tree::Node* node_for(const std::string& name,
                       const util::Result<std::shared_ptr<const Resolved>>* resolved);

  tree::Tree& tree_;
  PackumentSource& source_;
  PickOptions engines_;
  /// Version keys parsed once per packument, however many specs pick from it (shared with the
  /// prefetcher, declared first: the prefetcher is made with it).
  std::shared_ptr<PickIndexCache> pick_indexes_;
  std::shared_ptr<Prefetcher> prefetcher_;
  std::filesystem::path project_dir_;
  std::unordered_map<std::string, util::Result<std::shared_ptr<const Resolved>>> cache_;
  /// name@spec of the registry specs resolved so far -> their entry in cache_ (whose
  /// elements stay where they are).
  std::unordered_map<std::string, const util::Result<std::shared_ptr<const Resolved>>*> registry_specs_;
  SpecPins pins_;
  std::unordered_map<std::string, std::optional<SpecPin>> pin_memo_;
  /// Folder nodes made for links, by realpath, so that links to one folder share it.
  std::unordered_map<std::string, tree::Node*> folders_;
};

}  // namespace lade::resolver
