#pragma once
// Getting packages into the store, each at most once per run: a download verified and extracted
// on the pool, shared by everyone who asks for the same package. The resolver's caller asks as
// soon as a version is placed, so tarballs stream in while resolution goes on; the reifier asks
// again and simply waits for what is already under way.
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "installer/reify.h"
#include "store/store.h"
#include "util/result.h"
#include "util/thread_pool.h"

namespace lade::installer {

/// A package in the store: where its files are and the integrity computed for its tarball.
struct StoredRef {
  std::filesystem::path dir;
  std::string integrity;
  bool downloaded = false;
};

class PackageFetcher {
 public:
  using Done = std::function<void(const util::Result<StoredRef>&)>;

  PackageFetcher(const store::Store& store, TarballSource& tarballs, util::ThreadPool& pool);
  /// Calls `done` (from any thread, possibly at once) when the package whose tarball is `ref`
  /// and whose expected integrity is `integrity` (SRI, may be empty) / `shasum` is in the store.
  void ensure(const TarballRef& ref, const std::string& integrity, const std::string& shasum,
              Done done);
  /// Starts getting a package without waiting for it.
  void prefetch(const TarballRef& ref, const std::string& integrity, const std::string& shasum);

  size_t downloads() const;
  size_t store_hits() const;

 private:
  struct Entry {
    bool finished = false;
    std::optional<util::Result<StoredRef>> result;
    std::vector<Done> waiters;
  };
  void finish(const std::string& key, util::Result<StoredRef> result);

  const store::Store& store_;
  TarballSource& tarballs_;
  util::ThreadPool& pool_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
  size_t downloads_ = 0;
  size_t store_hits_ = 0;
};

}  // namespace lade::installer
