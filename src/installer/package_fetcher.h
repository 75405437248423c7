#pragma once
// Getting packages into the store, each at most once per run: a download verified and extracted
// on the pool, shared by everyone who asks for the same package. The resolver's caller asks as
// soon as a version is placed, so tarballs stream in while resolution goes on; the reifier asks
// again and simply waits for what is already under way.
#include <cstdint>
#include <deque>
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

/// How far downloads may run ahead of the store. Extraction is bound by the disk and often
/// slower than the network; without a bound every downloaded tarball would wait in memory.
struct FetchLimits {
  /// Downloads in flight at once (registry and URL tarballs; files and git are local work).
  /// Below the 100 streams HTTP/2 servers commonly allow on a connection: more would open more
  /// connections, each a TLS handshake and a parse of the CA bundle for curl.
  size_t max_downloads = 64;
  /// Bytes downloaded but not yet in the store above which no download starts.
  uint64_t max_unstored_bytes = uint64_t{16} << 20;
};

/// A package in the store: where its files are and the integrity computed for its tarball.
struct StoredRef {
  std::filesystem::path dir;
  std::string integrity;
  bool downloaded = false;
};

class PackageFetcher {
 public:
  using Done = std::function<void(const util::Result<StoredRef>&)>;

  PackageFetcher(const store::Store& store, TarballSource& tarballs, util::ThreadPool& pool,
                 FetchLimits limits = {});
  /// Calls `done` (from any thread, possibly at once) when the package whose tarball is `ref`
  /// and whose expected integrity is `integrity` (SRI, may be empty) / `shasum` is in the store.
  void ensure(const TarballRef& ref, const std::string& integrity, const std::string& shasum,
              Done done);
  /// Starts getting a package without waiting for it.
  void prefetch(const TarballRef& ref, const std::string& integrity, const std::string& shasum);

  /// Starts no more downloads: those still waiting for their turn finish with ECANCELED, and
  /// so does any later request. Call before the TarballSource goes away.
  void stop();

  size_t downloads() const;
  size_t store_hits() const;

 private:
  struct Entry {
    bool finished = false;
    std::optional<util::Result<StoredRef>> result;
    std::vector<Done> waiters;
  };
  /// A download waiting for its turn.
  struct Download {
    TarballRef ref;
    std::string key, integrity, shasum;
  };
  /// Starts waiting downloads while the limits allow; safe to call from any thread, also from
  /// within a fetch callback (a nested call leaves the work to the running one).
  void pump();
  void begin_download(Download download);
  void finish(const std::string& key, util::Result<StoredRef> result);

  const store::Store& store_;
  TarballSource& tarballs_;
  util::ThreadPool& pool_;
  const FetchLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
  size_t downloads_ = 0;
  size_t store_hits_ = 0;
  std::deque<Download> waiting_;
  size_t downloading_ = 0;
  uint64_t unstored_bytes_ = 0;
  bool pumping_ = false;
  bool pump_again_ = false;
  bool stopped_ = false;
};

}  // namespace lade::installer
