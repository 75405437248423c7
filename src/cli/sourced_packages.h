#pragma once
// Packages that no registry serves, for the resolver (their manifests) and the installer
// (their tarballs): tarball files, tarball URLs, git repositories and folders, fetched as
// pacote's FileFetcher, RemoteFetcher, GitFetcher and DirFetcher do.
//
// Every tarball met while resolving goes into the store at once, so the installer finds it
// there by integrity. A git dependency has no integrity: its packed checkout is kept in memory
// for this run and under <cache>/git-v1/ for later ones, keyed by its `resolved` (a commit).
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "manifest/manifest.h"
#include "manifest/spec.h"
#include "registry/registry_client.h"
#include "resolver/packument_source.h"
#include "store/store.h"
#include "util/result.h"

namespace lade::cli {

struct SourcedOptions {
  /// The project root: "file:" resolutions of the lockfile are relative to it.
  std::filesystem::path project_dir;
  /// lade's cache folder (for packed git checkouts).
  std::filesystem::path cache_dir;
  /// --ignore-scripts: a git dependency's `prepare` is not run (nor its dependencies installed
  /// for it), as npm does.
  bool ignore_scripts = false;
  /// The lade binary, to install a git dependency's own dependencies before its `prepare`.
  std::filesystem::path lade_binary;
  /// The registry that install uses (passed on, as npm passes its configuration).
  std::string registry;
};

class SourcedPackages {
 public:
  SourcedPackages(registry::RegistryClient& client, const store::Store& store,
                  SourcedOptions options);

  /// The package a tarball file, tarball URL or git spec names (see PackumentSource).
  util::Result<resolver::SourcedPackage> fetch(const manifest::PackageSpec& spec);
  /// The package.json of a folder. ENOENT when there is none.
  util::Result<manifest::Manifest> read_folder(const std::filesystem::path& dir);
  /// From now on read_folder(dir) answers `manifest` (a package.json being edited by add).
  void override_folder(const std::filesystem::path& dir, manifest::Manifest manifest);

  /// Tarball bytes for the installer: a "file:" resolution (relative to the project), or a git
  /// resolution ("git+<url>#<sha>"), cloned and packed unless this run or the cache has it.
  util::Result<std::string> file_tarball(const std::string& resolved);
  util::Result<std::string> git_tarball(const std::string& resolved);
  /// A whole download, waiting for it (tarball URLs met while resolving). No registry
  /// credentials are attached beyond what the URL itself is configured with.
  util::Result<std::string> download(const std::string& url);

 private:
  struct Checkout {
    std::string resolved;
    std::string tarball;
    manifest::Manifest manifest;
  };
  /// Clones `repo` at `committish`, prepares and packs it.
  util::Result<Checkout> checkout(const manifest::PackageSpec& spec, const std::string& repo,
                                  const std::string& committish);
  /// What the lockfile records for `spec` checked out at `sha` (pacote's addGitSha).
  static std::string resolved_for(const manifest::PackageSpec& spec, const std::string& sha);
  util::Result<resolver::SourcedPackage> fetch_git(const manifest::PackageSpec& spec);
  std::filesystem::path git_cache_file(const std::string& resolved) const;
  void remember(const std::string& resolved, const std::string& tarball);
  std::optional<std::string> recall(const std::string& resolved);

  registry::RegistryClient& client_;
  const store::Store& store_;
  SourcedOptions options_;
  std::mutex mu_;
  std::map<std::string, std::string> packed_;  // resolved -> tarball
  std::map<std::filesystem::path, manifest::Manifest> folder_overrides_;
};

}  // namespace lade::cli
