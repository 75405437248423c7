#pragma once
// The one place where real network, cache and store objects are built and handed to the
// resolver and the installer through their small interfaces.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/install_command.h"
#include "cli/project.h"
#include "installer/package_fetcher.h"
#include "installer/reify.h"
#include "registry/npmrc.h"
#include "registry/registry_client.h"
#include "registry/transfer_queue.h"
#include "resolver/packument_source.h"
#include "store/store.h"
#include "util/result.h"
#include "util/thread_pool.h"

namespace lade::cli {

class SourcedPackages;

/// lade's cache folder (packuments, the store): --cache, else $LADE_CACHE_DIR, else
/// $XDG_CACHE_HOME/lade, else ~/.cache/lade.
std::filesystem::path default_cache_dir(const InstallRequest& req);

/// npm's layered config for this install: the command line's settings over the environment and
/// the .npmrc files. Cheap (a few small files): the up-to-date check reads it too.
util::Result<registry::Config> load_config(const InstallRequest& req, const Project& project);

class Wiring {
 public:
  /// `on_transfer_done` is told of every HTTP request as it completes (for `--loglevel http`).
  static util::Result<std::unique_ptr<Wiring>> create(
      const InstallRequest& req, const Project& project, registry::Config config,
      std::function<void(const registry::TransferRecord&)> on_transfer_done = {});
  ~Wiring();

  const registry::Settings& settings() const;
  std::string default_registry() const;
  resolver::PackumentSource& packuments();
  installer::TarballSource& tarballs();
  /// A client asking for abbreviated ("corgi") packuments, as pacote does by default: what npm
  /// reads when it fills in an old lockfile's entries. Made on first use.
  registry::RegistryClient& abbreviated_client();
  /// Store-backed package downloads, shared by the resolver's early start and the reifier.
  installer::PackageFetcher& packages();
  const store::Store& store() const;
  /// Tarball files, tarball URLs, git repositories and folders.
  SourcedPackages& sourced();
  util::ThreadPool& pool();
  /// Frees the packuments read so far (see RegistryClient::forget_packuments).
  void forget_packuments();
  /// Network and cache counters for --timing.
  std::vector<std::pair<std::string, size_t>> counters() const;
  /// Lets background work end: no new download starts, transfers still running are cancelled,
  /// and queued work (packument cache writes among it) is done when this returns. The
  /// destructor does the same; calling it first lets the caller skip the destructor.
  void finish_background_work();

 private:
  Wiring() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lade::cli
