#include "registry/registry_client.h"

#include <exception>
#include <optional>

#include "registry/url.h"

namespace lade::registry {

using util::make_error;
using util::Result;

namespace {

constexpr std::string_view kCorgiAccept =
    "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
constexpr std::string_view kFullAccept = "application/json";

using PackumentPtr = RegistryClient::PackumentPtr;
using PackumentPromise = std::promise<Result<PackumentPtr>>;

/// One packument's outcome: a future for those who wait, callbacks for those who do not.
struct PackumentSlot {
  PackumentPromise promise;
  RegistryClient::PackumentFuture future = promise.get_future().share();
  std::mutex mu;
  bool done = false;                          // guarded by mu
  std::vector<std::function<void()>> waiters;  // guarded by mu
  /// Set by whoever starts the fetch: the pool's job, or a caller that could not wait for it.
  std::atomic<bool> claimed{false};

  void set(Result<PackumentPtr> result) {
    promise.set_value(std::move(result));
    std::vector<std::function<void()>> ready;
    {
      std::lock_guard lock(mu);
      done = true;
      ready.swap(waiters);
    }
    for (auto& f : ready) f();
  }

  /// Runs `f` once the outcome is set: now (on this thread) if it already is.
  void notify(std::function<void()> f) {
    {
      std::lock_guard lock(mu);
      if (!done) {
        waiters.push_back(std::move(f));
        return;
      }
    }
    f();
  }
};

Result<PackumentPtr> parse_packument(std::string body, const std::string& name) {
  try {
    return manifest::Packument::parse(std::move(body), name);
  } catch (const std::exception& e) {
    return make_error("EJSONPARSE", "invalid packument for '" + name + "': " + e.what());
  }
}

util::Error status_error(long status, const std::string& name, const std::string& url) {
  if (status == 404) {
    return make_error("E404", "'" + name + "' is not in this registry (GET " + url + " -> 404)");
  }
  return make_error("E" + std::to_string(status),
                    "GET " + url + " -> " + std::to_string(status) +
                        (name.empty() ? std::string{} : " (fetching '" + name + "')"));
}

void add_credentials(Request& req, const Credentials& credentials) {
  if (std::string auth = credentials.authorization(); !auth.empty()) {
    req.headers.emplace_back("Authorization", std::move(auth));
  }
  req.client_cert_file = credentials.certfile.string();
  req.client_key_file = credentials.keyfile.string();
}

}  // namespace

std::string escape_package_name(std::string_view name) {
  std::string out(name);
  if (!out.empty() && out.front() == '@') {
    if (size_t slash = out.find('/'); slash != std::string::npos) out.replace(slash, 1, "%2f");
  }
  return out;
}

RegistryClientOptions RegistryClientOptions::from_settings(const Settings& s) {
  RegistryClientOptions o;
  o.cache_mode = s.offline          ? CacheMode::Offline
                 : s.prefer_offline ? CacheMode::PreferOffline
                 : s.prefer_online  ? CacheMode::PreferOnline
                                    : CacheMode::Default;
  return o;
}

/// Everything a request in flight needs; shared so that late callbacks never outlive it.
struct RegistryClient::State : std::enable_shared_from_this<RegistryClient::State> {
  State(const Config& c, Transport& t, util::ThreadPool& p, PackumentCache* pc,
        RegistryClientOptions o, util::ThreadPool* w)
      : config(c), transport(t), pool(p), cache(pc), options(std::move(o)), cache_writer(w) {}

  struct Job {
    std::string name;
    std::string url;
    std::string registry;
    std::string key;
    std::optional<CacheEntryMeta> cached;  // validators for a conditional request
    std::shared_ptr<PackumentSlot> promise;
  };

  /// The slot of `name`, created (and its fetch queued) by the first call.
  std::shared_ptr<PackumentSlot> slot_for(const std::string& name);
  /// Starts the fetch of `name` unless it has been started already.
  void begin_fetch(const std::string& name, const std::shared_ptr<PackumentSlot>& slot);
  void start(Job job);
  void request(Job job);
  void on_response(Job job, Result<Response> response);
  /// The cache entry of `job.key`; nullopt when absent or damaged (a damaged one is removed).
  std::optional<CachedPackument> open_cached(const Job& job);
  /// Serves the cached entry of `job.key`; false when the entry vanished or did not parse.
  bool serve_cached(Job& job, std::atomic<uint64_t>& counter);

  const Config& config;
  Transport& transport;
  util::ThreadPool& pool;
  PackumentCache* cache;
  RegistryClientOptions options;
  util::ThreadPool* cache_writer;  // may be null: cache writes then happen inline

  std::mutex mu;
  std::map<std::string, std::shared_ptr<PackumentSlot>, std::less<>> packuments;  // guarded

  std::atomic<uint64_t> packument_calls{0}, packument_deduplicated{0}, packument_requests{0},
      packument_cache_hits{0}, packument_revalidated{0}, packument_stale{0}, tarball_requests{0},
      bytes_received{0};
};

std::optional<CachedPackument> RegistryClient::State::open_cached(const Job& job) {
  if (!cache) return std::nullopt;
  Result<CachedPackument> opened = make_error("ENOENT", "not cached");
  try {
    opened = cache->open_packument(job.key, job.name);
  } catch (const std::exception& e) {
    opened = make_error("ECACHEDAMAGED", "invalid cached packument for '" + job.name + "': " + e.what());
  }
  if (opened) return std::move(*opened);
  // A damaged entry is a miss, and must not be served again.
  if (opened.error().code != "ENOENT") cache->remove(job.key);
  return std::nullopt;
}

bool RegistryClient::State::serve_cached(Job& job, std::atomic<uint64_t>& counter) {
  auto cached = open_cached(job);
  if (!cached) return false;
  counter++;
  job.promise->set(std::move(cached->packument));
  return true;
}

void RegistryClient::State::start(Job job) {
  // One open of the entry gives both its freshness and its packument.
  std::optional<CachedPackument> cached = open_cached(job);
  auto serve = [&] {
    packument_cache_hits++;
    job.promise->set(std::move(cached->packument));
  };
  switch (options.cache_mode) {
    case CacheMode::Offline:
      if (cached) return serve();
      job.promise->set(make_error(
          "ENOTCACHED", "request to " + job.url +
                            " failed: cache mode is 'only-if-cached' but no cached response is "
                            "available."));
      return;
    case CacheMode::PreferOffline:
      if (cached) return serve();
      break;
    case CacheMode::Default:
      if (cached && cache->is_fresh(cached->meta)) return serve();
      break;
    case CacheMode::PreferOnline:
      break;
  }
  if (cached) job.cached = std::move(cached->meta);
  request(std::move(job));
}

void RegistryClient::State::request(Job job) {
  Request req;
  req.url = job.url;
  req.headers.emplace_back("Accept", options.full_metadata ? kFullAccept : kCorgiAccept);
  // The resolver waits for packuments: one answered late is asked for again (see
  // TransferOptions::hedge_min).
  req.hedge = true;
  if (!options.npm_command.empty()) req.headers.emplace_back("npm-command", options.npm_command);
  add_credentials(req, config.auth_for(job.url, job.registry));
  if (job.cached) {
    if (!job.cached->etag.empty()) req.headers.emplace_back("If-None-Match", job.cached->etag);
    if (!job.cached->last_modified.empty()) {
      req.headers.emplace_back("If-Modified-Since", job.cached->last_modified);
    }
  }
  packument_requests++;
  auto self = shared_from_this();
  transport.submit(std::move(req), [self, job = std::move(job)](Result<Response> r) mutable {
    // Off the network thread before touching the disk or parsing.
    auto shared_job = std::make_shared<Job>(std::move(job));
    auto shared_r = std::make_shared<Result<Response>>(std::move(r));
    self->pool.post([self, shared_job, shared_r] {
      self->on_response(std::move(*shared_job), std::move(*shared_r));
    });
  });
}

void RegistryClient::State::on_response(Job job, Result<Response> result) {
  if (!result.ok()) {
    // make-fetch-happen answers from a stale entry when revalidation cannot reach the server.
    if (job.cached && !job.cached->must_revalidate && serve_cached(job, packument_stale)) return;
    job.promise->set(result.take_error());
    return;
  }
  Response& response = *result;
  bytes_received += response.body_bytes;
  CacheControl cc = parse_cache_control(response.header("cache-control"), response.header("age"));

  if (response.status == 304 && job.cached) {
    packument_revalidated++;
    CacheEntryMeta updated = *job.cached;
    updated.etag = response.header("etag");
    updated.last_modified = response.header("last-modified");
    updated.max_age = cc.max_age;
    updated.must_revalidate = cc.must_revalidate;
    (void)cache->refresh(updated);
    std::atomic<uint64_t> unused{0};
    if (serve_cached(job, unused)) return;
    // The entry vanished between lookup and now (another process pruned it): ask again in full.
    job.cached.reset();
    request(std::move(job));
    return;
  }
  if (response.status < 200 || response.status >= 300) {
    job.promise->set(status_error(response.status, job.name, job.url));
    return;
  }

  // Parsed first: the cache keeps the compact document, and the registry's body (several times
  // larger) is released as soon as it is compacted.
  auto parsed =
      parse_packument(std::move(response.body), job.name);
  if (!parsed.ok()) {
    if (cache) cache->remove(job.key);  // the old entry is outdated, and the new one unusable
    job.promise->set(std::move(parsed));
    return;
  }
  if (cache && !cc.no_store) {
    CacheEntryMeta meta;
    meta.key = job.key;
    meta.etag = response.header("etag");
    meta.last_modified = response.header("last-modified");
    meta.max_age = cc.max_age;
    if (!meta.max_age && response.header("cache-control").empty() && options.default_max_age.count() > 0) {
      meta.max_age = options.default_max_age;
    }
    meta.must_revalidate = cc.must_revalidate;
    if (cache_writer) {
      // Resolution goes on while the document is written: creating a file is the slowest step
      // here. Once written, the packument reads its versions from the file and frees its
      // document (a clean install held every compact document to the end: 27 MB of its heap
      // peak for the medium fixture).
      cache_writer->post([self = shared_from_this(), meta = std::move(meta), doc = *parsed] {
        // A read-only cache only costs speed (and the document stays in memory).
        auto written = self->cache->store_packument(meta, *doc);
        if (written && *written) doc->adopt_document(std::move(*written));
      });
    } else {
      auto written = cache->store_packument(meta, **parsed);
      if (written && *written) (*parsed)->adopt_document(std::move(*written));
    }
  }
  job.promise->set(std::move(parsed));
}

RegistryClient::RegistryClient(const Config& config, Transport& transport, util::ThreadPool& pool,
                               PackumentCache* cache, RegistryClientOptions options,
                               util::ThreadPool* cache_writer)
    : state_(std::make_shared<State>(config, transport, pool, cache, std::move(options),
                                     cache_writer)) {}

RegistryClient::~RegistryClient() = default;

Result<std::string> RegistryClient::packument_url(std::string_view name) const {
  auto registry = state_->config.registry_for(name);
  if (!registry.ok()) return registry.take_error();
  return *registry + escape_package_name(name);
}

std::shared_ptr<PackumentSlot> RegistryClient::State::slot_for(const std::string& name) {
  packument_calls++;
  auto slot = std::make_shared<PackumentSlot>();
  {
    std::lock_guard lock(mu);
    auto [it, inserted] = packuments.emplace(name, slot);
    if (!inserted) {
      packument_deduplicated++;
      return it->second;
    }
  }
  pool.post([self = shared_from_this(), name, slot] { self->begin_fetch(name, slot); });
  return slot;
}

void RegistryClient::State::begin_fetch(const std::string& name,
                                        const std::shared_ptr<PackumentSlot>& slot) {
  if (slot->claimed.exchange(true)) return;
  State::Job job;
  job.name = name;
  job.promise = slot;
  auto registry = config.registry_for(name);
  if (!registry.ok()) {
    slot->set(registry.take_error());
    return;
  }
  job.registry = *registry;
  job.url = *registry + escape_package_name(name);
  job.key = PackumentCache::key_for(job.url, options.full_metadata);
  start(std::move(job));
}

void RegistryClient::forget_packuments() {
  decltype(state_->packuments) forgotten;
  {
    std::lock_guard lock(state_->mu);
    forgotten.swap(state_->packuments);
  }
  // Freed here, outside the lock.
}

RegistryClient::PackumentFuture RegistryClient::packument(const std::string& name) {
  return state_->slot_for(name)->future;
}

Result<RegistryClient::PackumentPtr> RegistryClient::wait_for_packument(const std::string& name) {
  auto slot = state_->slot_for(name);
  state_->begin_fetch(name, slot);
  return slot->future.get();
}

void RegistryClient::packument(const std::string& name, std::function<void()> on_ready) {
  state_->slot_for(name)->notify(std::move(on_ready));
}

std::future<Result<RegistryClient::TarballResult>> RegistryClient::tarball(TarballRequest request) {
  auto promise = std::make_shared<std::promise<Result<TarballResult>>>();
  auto future = promise->get_future();
  tarball(std::move(request),
          [promise](Result<TarballResult> r) { promise->set_value(std::move(r)); });
  return future;
}

void RegistryClient::tarball(TarballRequest request, TarballDone done) {
  State& s = *state_;
  if (s.options.cache_mode == CacheMode::Offline) {
    done(make_error("ENOTCACHED", "request to " + request.url +
                                      " failed: cache mode is 'only-if-cached' but no cached "
                                      "response is available."));
    return;
  }
  std::string registry;
  if (!request.package_name.empty()) {
    if (auto r = s.config.registry_for(request.package_name); r.ok()) registry = *r;
  }
  Request req;
  req.url = request.url;
  req.on_data = std::move(request.on_chunk);
  req.on_size = std::move(request.on_size);
  req.on_restart = std::move(request.on_restart);
  if (!s.options.npm_command.empty())
    req.headers.emplace_back("npm-command", s.options.npm_command);
  add_credentials(req, s.config.auth_for(request.url, registry));
  s.tarball_requests++;
  auto self = state_;
  std::string name = request.package_name;
  std::string url = request.url;
  s.transport.submit(std::move(req), [self, done = std::move(done), name, url](Result<Response> r) {
    if (!r.ok()) {
      done(r.take_error());
      return;
    }
    self->bytes_received += r->body_bytes;
    if (r->status < 200 || r->status >= 300) {
      done(status_error(r->status, name, url));
      return;
    }
    done(TarballResult{r->body_bytes, r->attempts, r->effective_url});
  });
}

RegistryStats RegistryClient::stats() const {
  const State& s = *state_;
  RegistryStats out;
  out.packument_calls = s.packument_calls;
  out.packument_deduplicated = s.packument_deduplicated;
  out.packument_requests = s.packument_requests;
  out.packument_cache_hits = s.packument_cache_hits;
  out.packument_revalidated = s.packument_revalidated;
  out.packument_stale = s.packument_stale;
  out.tarball_requests = s.tarball_requests;
  out.bytes_received = s.bytes_received;
  return out;
}

}  // namespace lade::registry
