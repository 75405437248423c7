#pragma once
// Linking while resolution goes on. Only the finished tree is final (npm's placement may still
// replace or drop a package placed earlier), but nearly every placement stands: in a
// node_modules that did not exist when the install began, a package can be linked where it was
// placed as soon as its files are in the store, by threads of its own while the resolver works
// on. The reifier then sees what was linked early as installed
// (InstalledPackage::early): it keeps what the finished tree has at the same place, and removes
// or replaces the rest, as for any node_modules.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "installer/package_fetcher.h"
#include "installer/reify.h"

namespace lade::installer {

class EarlyLinker {
 public:
  /// `project_dir`/node_modules must not exist: it is made here, and removed again by
  /// abandon() (and by the destructor when finish() was never called). `threads` threads
  /// link.
  EarlyLinker(PackageFetcher& packages, fs::path project_dir, size_t threads);
  ~EarlyLinker();
  EarlyLinker(const EarlyLinker&) = delete;
  EarlyLinker& operator=(const EarlyLinker&) = delete;

  /// A registry package was placed at `location` ("node_modules/a/node_modules/b"): it is
  /// linked there once it is in the store. Only the first placement at a location is linked,
  /// and a nested one only when the package that holds it was placed here too (whatever
  /// replaces that package clears its folder, but not its node_modules). A package whose
  /// tarball has a node_modules folder (a bundle) is left to the reifier.
  void placed(const std::string& location, const TarballRef& ref, const std::string& integrity,
              const std::string& shasum, const std::string& version, const std::string& resolved);

  /// Ends early linking once resolution is done. Links not begun yet are made now, by the
  /// linking threads and the caller's, when `wanted` says the finished tree has that package at
  /// that location (the reifier would make the same link anyway); the rest are dropped. Links
  /// under way are waited for. Returns the locations linked (or begun: `complete` false when
  /// that failed half way).
  using Wanted = std::function<bool(const std::string& location, const InstalledPackage& package)>;
  InstalledTree finish(const Wanted& wanted = {});

  /// The install stops before reifying: waits for links under way, then removes node_modules.
  void abandon();

  /// Locations linked to completion so far.
  size_t linked() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with store callbacks, which may come late
  std::vector<std::thread> threads_;
  bool finished_ = false;
};

}  // namespace lade::installer
