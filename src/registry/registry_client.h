#pragma once
#include <chrono>
// RegistryClient: packuments and tarballs from npm registries, as npm's pacote and
// npm-registry-fetch ask for them (same URLs, Accept header, auth scoping, cache modes).
//
// Threads: the Transport's thread only moves bytes; cache reads, cache writes and packument
// parsing run on the ThreadPool passed in. Construct the collaborators before the client and
// destroy them after it, transport before pool (its last callbacks still post to the pool).
#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "manifest/packument.h"
#include "registry/npmrc.h"
#include "registry/packument_cache.h"
#include "registry/transfer_queue.h"
#include "util/result.h"
#include "util/thread_pool.h"

namespace lade::registry {

/// npm's cache modes (npm-registry-fetch getCacheMode).
enum class CacheMode {
  Default,        // use a fresh entry (max-age); otherwise revalidate with ETag/Last-Modified
  PreferOffline,  // any cached entry, without asking the server; fetch only when missing
  PreferOnline,   // always revalidate
  Offline,        // cache only; ENOTCACHED when missing, no network at all
};

struct RegistryClientOptions {
  CacheMode cache_mode = CacheMode::Default;
  /// Sent as the `npm-command` header, as npm does.
  std::string npm_command = "install";
  /// Ask for full packuments instead of abbreviated ("corgi") ones.
  bool full_metadata = false;
  /// How long a packument stays fresh when the registry sends no Cache-Control at all.
  /// npm's HTTP cache treats such a response as stale at once (0 here).
  std::chrono::seconds default_max_age{0};

  /// offline > prefer-offline > prefer-online > default, like npm.
  static RegistryClientOptions from_settings(const Settings& settings);
};

/// Counters that tests and `--timing` read (a snapshot).
struct RegistryStats {
  uint64_t packument_calls = 0;         // packument() calls
  uint64_t packument_deduplicated = 0;  // calls answered by an earlier call for the same name
  uint64_t packument_requests = 0;      // HTTP requests for packuments (conditional ones too)
  uint64_t packument_cache_hits = 0;    // answered from the cache without any request
  uint64_t packument_revalidated = 0;   // 304 Not Modified answers
  uint64_t packument_stale = 0;         // served stale from the cache after a network error
  uint64_t tarball_requests = 0;
  uint64_t bytes_received = 0;  // bodies of packuments and tarballs (decoded)
};

/// The escaped name used in registry URLs: "@scope/name" -> "@scope%2fname".
std::string escape_package_name(std::string_view name);

class RegistryClient {
 public:
  using PackumentPtr = std::shared_ptr<const manifest::Packument>;
  using PackumentFuture = std::shared_future<util::Result<PackumentPtr>>;

  /// `cache` may be null (no disk cache; Offline mode then fails every packument).
  /// `cache_writer`, when given, writes fetched documents to the cache after they are handed
  /// out, so that the file system is not on the resolver's critical path; without it the entry
  /// is written before the document is handed out. It must outlive the client's last callback.
  RegistryClient(const Config& config, Transport& transport, util::ThreadPool& pool,
                 PackumentCache* cache, RegistryClientOptions options = {},
                 util::ThreadPool* cache_writer = nullptr);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  /// The packument of `name`, fetched once per client however often it is asked for.
  /// URL: registry_for(name) + escape_package_name(name). Errors: E404 ("'<name>' is not in this
  /// registry (GET <url> -> 404)"), E<status> for other failing statuses, network codes
  /// (ECONNREFUSED, ETIMEDOUT, ...), ENOTCACHED in offline mode, ENOREGISTRY, EJSONPARSE.
  PackumentFuture packument(const std::string& name);
  /// The packument of `name`, waiting for it. A fetch still queued behind others (fetching
  /// ahead queues hundreds) is started on the calling thread instead of waiting its turn:
  /// from a warm cache, that is the whole read.
  util::Result<PackumentPtr> wait_for_packument(const std::string& name);
  /// The same fetch, without anyone waiting: `on_ready` runs once the packument (or its error)
  /// is available — on the thread that completes it, or at once if it already is; then
  /// packument(name) returns a ready future.
  void packument(const std::string& name, std::function<void()> on_ready);

  struct TarballRequest {
    std::string url;
    /// The package the tarball belongs to, to pick its registry's credentials when the tarball
    /// lives on the registry's host but outside its path. May be empty.
    std::string package_name;
    /// Receives the body as it arrives, on the network thread (hash it, buffer it, or post it).
    /// Return false to stop (the result is then ECANCELED).
    std::function<bool(std::string_view chunk)> on_chunk;
    /// Called when a retry starts over after some chunks were delivered. Without it, a transfer
    /// that fails mid-body is not retried.
    std::function<void()> on_restart;
    /// The body's size, when the response gives it, before the first chunk (see
    /// Request::on_size).
    std::function<void(uint64_t size)> on_size;
  };
  struct TarballResult {
    uint64_t bytes = 0;
    int attempts = 1;
    std::string effective_url;
  };
  /// Streams a tarball to request.on_chunk. Errors: E<status>, network codes, ENOTCACHED when
  /// offline (lade's store is the tarball cache; the client never serves tarballs from disk).
  std::future<util::Result<TarballResult>> tarball(TarballRequest request);
  using TarballDone = std::function<void(util::Result<TarballResult>)>;
  /// The same, calling `done` when the transfer ends, on the network thread: keep it short
  /// (hand heavy work to a pool).
  void tarball(TarballRequest request, TarballDone done);

  /// Lets go of every packument handed out so far: they are freed once their other holders
  /// are done with them. A later request for one reads the cache (or the network) again.
  /// For an install whose resolution is over: what it read is most of its memory.
  void forget_packuments();

  /// The URL packument(name) fetches.
  util::Result<std::string> packument_url(std::string_view name) const;

  RegistryStats stats() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace lade::registry
