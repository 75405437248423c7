#pragma once
// Manifest: the fields of one package version that lade needs, read from a package.json or from
// one entry of a packument's "versions". Plain data; parsing lives in manifest.cc.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace lade::manifest {

using util::Error;
using util::Result;
using util::Status;

using Json = nlohmann::ordered_json;

/// name -> spec, in the order the document lists them (npm keeps that order when writing).
using DependencyList = std::vector<std::pair<std::string, std::string>>;

struct Dist {
  std::string tarball;    // URL
  std::string integrity;  // SRI string, may be empty
  std::string shasum;     // hex sha1, may be empty

  friend bool operator==(const Dist&, const Dist&) = default;
};

struct Manifest {
  std::string name;
  std::string version;

  DependencyList dependencies;
  DependencyList dev_dependencies;
  DependencyList optional_dependencies;
  DependencyList peer_dependencies;
  /// peerDependenciesMeta entries whose "optional" is true.
  std::vector<std::string> optional_peers;
  /// bundleDependencies / bundledDependencies; `true` is expanded to every dependency name.
  std::vector<std::string> bundle_dependencies;

  /// bin normalised as npm does (a string becomes {<unscoped name>: path}); name -> path.
  std::vector<std::pair<std::string, std::string>> bin;
  /// scripts: name -> command (only string values).
  std::vector<std::pair<std::string, std::string>> scripts;
  /// true when the package has a preinstall/install/postinstall script (or a binding.gyp
  /// where known, set by whoever reads the tarball).
  bool has_install_script = false;
  /// deprecated message; empty when not deprecated.
  std::string deprecated;
  /// workspaces globs (array form, or the "packages" key of the object form).
  std::vector<std::string> workspaces;

  // Fields the lockfile copies through verbatim, kept as the JSON the document had
  // (null when absent): license, engines, os, cpu, libc, funding, overrides.
  Json license;
  Json engines;
  Json os;
  Json cpu;
  Json libc;
  Json funding;
  Json overrides;

  Dist dist;
  /// True when the manifest declares "hasShrinkwrap" / contains npm-shrinkwrap.json.
  bool has_shrinkwrap = false;

  /// peerDependenciesMeta as written (null when absent), for the lockfile.
  Json peer_dependencies_meta;
  /// acceptDependencies (name -> extra accepted range) in document order.
  DependencyList accept_dependencies;

  friend bool operator==(const Manifest&, const Manifest&) = default;
};

/// Builds a Manifest from parsed JSON (a package.json or a packument version entry).
/// Tolerant the way npm's read-package-json-fast is: wrong types are ignored, not fatal.
/// Normalises as npm does when it reads a manifest: a name listed in optionalDependencies is
/// dropped from dependencies, a string "funding" becomes {"url": ...}, bin paths are made
/// relative and safe (entries that escape are dropped), non-string scripts are dropped.
/// An abbreviated packument's "hasInstallScript"/"hasShrinkwrap" flags are honoured.
Manifest manifest_from_json(const Json& doc);

/// npm's "binDir" normalization of a package.json read from disk (a bundled package, a folder):
/// without "bin", every file and folder under "directories.bin" (dot names left out) becomes a
/// bin named by its base name. The registry did this at publish time for registry manifests.
void expand_directories_bin(Json& doc, const std::filesystem::path& package_dir);

/// Parses JSON text; the error (code EJSONPARSE) names `source_name` and the line/column.
util::Result<Json> parse_json(std::string_view text, std::string_view source_name);

/// The string at `key` at the top of the JSON object `text` (a package.json), read without
/// building a tree; nullopt when the text is no object or the value no string.
std::optional<std::string> top_level_string(std::string_view text, std::string_view key);

}  // namespace lade::manifest
