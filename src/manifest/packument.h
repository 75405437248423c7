#pragma once
// Packument: a registry's document for one package name ("full" or abbreviated
// "application/vnd.npm.install-v1+json"). Registries may send 10 MB of JSON for one name, so
// parsing indexes only what version picking needs; a version's full Manifest is parsed on demand.
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "manifest/manifest.h"
#include "util/result.h"

namespace lade::manifest {

/// What npm-pick-manifest needs to know about one version without parsing all of it.
struct PackumentVersion {
  std::string version;        // the key in "versions"
  bool deprecated = false;    // has a non-empty string "deprecated"
  std::string engines_node;   // engines.node when it is a string, else empty
  std::string_view raw_json;  // this version's object, a view into the owned document text
};

class Packument {
 public:
  /// Parses a packument document. Takes ownership of the text (views point into it).
  /// Only "name", "dist-tags" and, per version, the key, "deprecated" and "engines.node" are
  /// read now (simdjson on-demand); the rest of each version is left as raw text.
  /// Errors: EJSONPARSE (naming `name_for_errors`).
  static util::Result<std::shared_ptr<const Packument>> parse(std::string text,
                                                              std::string_view name_for_errors);

  const std::string& name() const { return name_; }
  /// dist-tags in document order: tag -> version.
  const std::vector<std::pair<std::string, std::string>>& dist_tags() const { return dist_tags_; }
  /// Versions in document order.
  const std::vector<PackumentVersion>& versions() const { return versions_; }
  const PackumentVersion* find(std::string_view version) const;
  /// The full manifest of one listed version. Error ENOVERSION when absent.
  util::Result<Manifest> manifest(std::string_view version) const;
  /// Document size in bytes (for statistics).
  size_t size_bytes() const { return text_.size(); }

 private:
  // The views in versions_ and the keys of by_version_ point into text_, which is never moved
  // or resized after parse(): a Packument only lives behind the shared_ptr parse() returns.
  Packument() = default;
  Packument(const Packument&) = delete;
  Packument& operator=(const Packument&) = delete;
  Status index_document(std::string_view name_for_errors);

  std::string text_;
  std::string name_;
  std::vector<std::pair<std::string, std::string>> dist_tags_;
  std::vector<PackumentVersion> versions_;
  std::unordered_map<std::string_view, size_t> by_version_;  // version -> index in versions_
};

}  // namespace lade::manifest
