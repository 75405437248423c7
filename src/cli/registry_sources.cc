#include "cli/registry_sources.h"

#include <algorithm>
#include <cstdlib>
#include <future>
#include <optional>
#include <thread>

#include "cli/sourced_packages.h"
#include "lockfile/reader.h"
#include "registry/packument_cache.h"
#include "registry/registry_client.h"
#include "registry/transfer_queue.h"
#include "util/fs.h"
#include "util/memory.h"

namespace lade::cli {

namespace fs = std::filesystem;

fs::path default_cache_dir(const InstallRequest& req) {
  if (!req.cache_dir.empty()) return req.cache_dir;
  if (const char* d = std::getenv("LADE_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "lade";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "lade";
  return fs::temp_directory_path() / "lade-cache";
}

namespace {

/// Packuments for the resolver, from the registry client (deduplicated, parsed off the network
/// thread).
class RegistryPackuments final : public resolver::PackumentSource {
 public:
  RegistryPackuments(registry::RegistryClient& client, const registry::Config& config,
                     installer::PackageFetcher& packages, SourcedPackages& sourced)
      : client_(client), config_(config), packages_(packages), sourced_(sourced) {}

  util::Result<resolver::SourcedPackage> fetch_package(const manifest::PackageSpec& spec) override {
    return sourced_.fetch(spec);
  }

  util::Result<manifest::Manifest> read_folder(const fs::path& dir) override {
    return sourced_.read_folder(dir);
  }

  util::Result<std::vector<BundledPackage>> bundled_packages(const tree::Node& node) override {
    fs::path dir = LADE_TRY(package_dir(node));
    std::vector<BundledPackage> out;
    collect_bundled(dir, "", out);
    return out;
  }

  util::Status load_shrinkwrap(tree::Tree& tree, tree::Node& node) override {
    fs::path dir = LADE_TRY(package_dir(node));
    fs::path file = dir / "npm-shrinkwrap.json";
    auto text = util::read_file(file);
    if (!text) return {};  // the registry said it has one; npm goes on without it too
    std::string name = node.package_name() + "@" + node.version() + "/npm-shrinkwrap.json";
    auto loaded = lockfile::read_subtree_lock(*text, name, tree, node);
    if (!loaded) return loaded.take_error();
    return {};
  }

  void prefetch(const std::string& name, std::function<void()> on_ready) override {
    if (on_ready) {
      client_.packument(name, std::move(on_ready));
    } else {
      (void)client_.packument(name);  // started; nobody waits for it yet
    }
  }

  util::Result<std::shared_ptr<const manifest::Packument>> packument(const std::string& name) override {
    return client_.wait_for_packument(name);
  }

  std::string registry_for(const std::string& name) const override {
    auto r = config_.registry_for(name);
    return r ? *r : std::string();
  }

 private:
  /// Every package folder under `dir`/node_modules, parents before children, in name order.
  static void collect_bundled(const fs::path& dir, const std::string& prefix, std::vector<BundledPackage>& out) {
    std::error_code ec;
    fs::path nm = dir / "node_modules";
    if (!fs::is_directory(nm, ec)) return;
    std::vector<std::pair<std::string, fs::path>> entries;
    for (auto& e : fs::directory_iterator(nm, ec)) {
      std::string name = e.path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      if (name[0] == '@') {
        for (auto& s : fs::directory_iterator(e.path(), ec)) {
          entries.emplace_back(name + "/" + s.path().filename().string(), s.path());
        }
      } else {
        entries.emplace_back(name, e.path());
      }
    }
    std::sort(entries.begin(), entries.end());
    for (auto& [name, path] : entries) {
      auto text = util::read_file(path / "package.json");
      if (!text) continue;
      auto json = manifest::parse_json(*text, (path / "package.json").string());
      if (!json || !json->is_object()) continue;
      manifest::expand_directories_bin(*json, path);
      std::string rel = (prefix.empty() ? "" : prefix + "/") + "node_modules/" + name;
      out.push_back(BundledPackage{rel, std::move(*json)});
      collect_bundled(path, rel, out);
    }
  }

  /// The extracted package in the store, downloading it first if needed.
  /// The package's folder in the store. Through the fetcher that installs it: the download
  /// started for the install (as soon as the version was picked) is the one waited for here,
  /// not a second one (nyc 10, which bundles 4,400 files, was extracted twice, once in vain).
  util::Result<fs::path> package_dir(const tree::Node& node) {
    std::promise<util::Result<installer::StoredRef>> stored;
    auto future = stored.get_future();
    packages_.ensure(installer::TarballRef{node.resolved, node.package_name(), node.version()}, node.integrity,
                     node.package.dist.shasum,
                     [&stored](const util::Result<installer::StoredRef>& r) { stored.set_value(r); });
    return LADE_TRY(future.get()).dir;
  }

  registry::RegistryClient& client_;
  const registry::Config& config_;
  installer::PackageFetcher& packages_;
  SourcedPackages& sourced_;
};

/// Tarballs for the installer. Completions are called back on the network thread; the
/// installer's callbacks only hand the bytes to its pool.
class RegistryTarballs final : public installer::TarballSource {
 public:
  RegistryTarballs(registry::RegistryClient& client, const registry::Config& config,
                   SourcedPackages& sourced)
      : client_(client), config_(config), sourced_(sourced) {}

  void fetch(const installer::TarballRef& ref,
             std::function<void(util::Result<std::string>)> done) override {
    using Kind = installer::TarballRef::Kind;
    // Files and git checkouts are read here and now; downloads go through the client.
    if (ref.kind == Kind::kFile) {
      done(sourced_.file_tarball(ref.url));
      return;
    }
    if (ref.kind == Kind::kGit) {
      done(sourced_.git_tarball(ref.url));
      return;
    }
    std::string url = ref.url;
    if (url.empty()) {
      auto reg = config_.registry_for(ref.package_name);
      if (!reg) {
        done(reg.take_error());
        return;
      }
      auto slash = ref.package_name.find('/');
      std::string unscoped = slash == std::string::npos ? ref.package_name : ref.package_name.substr(slash + 1);
      url = *reg + ref.package_name + "/-/" + unscoped + "-" + ref.version + ".tgz";
    }
    auto body = std::make_shared<std::string>();
    registry::RegistryClient::TarballRequest r;
    r.url = url;
    // A tarball URL that no registry dependency names gets no registry's credentials.
    if (ref.kind == Kind::kRegistry) r.package_name = ref.package_name;
    r.on_chunk = [body](std::string_view chunk) {
      body->append(chunk);
      return true;
    };
    r.on_restart = [body] { body->clear(); };
    // Sized once: grown by doubling, the buffers of the downloads in flight held up to twice
    // their bytes (34 MB at the peak of a clean install of the medium fixture, heaptrack).
    r.on_size = [body](uint64_t size) {
      body->reserve(size);
      util::prefer_huge_pages(body->data(), size);
    };
    client_.tarball(std::move(r), [body, done = std::move(done)](
                                      util::Result<registry::RegistryClient::TarballResult> result) {
      if (!result) {
        done(result.take_error());
      } else {
        done(std::move(*body));
      }
    });
  }

 private:
  registry::RegistryClient& client_;
  const registry::Config& config_;
  SourcedPackages& sourced_;
};

}  // namespace

struct Wiring::Impl {
  std::optional<registry::Config> config;
  std::string registry;
  /// Registry documents are read, parsed and cached on their own threads: resolution waits on
  /// them, and in a shared FIFO they queued behind tarball extractions (which the resolver
  /// starts as it places versions, and which spend their time in the kernel creating files).
  std::unique_ptr<util::ThreadPool> metadata_pool;
  /// Tarballs: hashing, extraction into the store, linking into node_modules.
  std::unique_ptr<util::ThreadPool> pool;
  std::unique_ptr<registry::TransferQueue> transport;
  std::unique_ptr<registry::PackumentCache> cache;
  std::unique_ptr<registry::RegistryClient> client;
  /// Abbreviated packuments, made on first use (see Wiring::abbreviated_client).
  std::unique_ptr<registry::RegistryClient> abbreviated_client;
  registry::RegistryClientOptions client_options;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<SourcedPackages> sourced;
  std::unique_ptr<RegistryPackuments> packuments;
  std::unique_ptr<RegistryTarballs> tarballs;
  std::unique_ptr<installer::PackageFetcher> packages;

  void finish_background_work() {
    // Order matters: nothing may call back into a destroyed object. No queued download may
    // start from here on; transfers still in flight (an install that failed half-way) are
    // cancelled; their callbacks run now, while everything they use is alive, and may post
    // work to the pools, which are drained next (metadata first: it hands cache writes to the
    // file pool).
    if (packages) packages->stop();
    if (transport) transport->shutdown();
    if (metadata_pool) metadata_pool->wait_idle();
    if (pool) pool->wait_idle();
  }

  ~Impl() {
    finish_background_work();
    packages.reset();
    packuments.reset();
    tarballs.reset();
    sourced.reset();
    abbreviated_client.reset();
    client.reset();
    transport.reset();
    pool.reset();
    metadata_pool.reset();
  }

};

util::Result<registry::Config> load_config(const InstallRequest& req, const Project& project) {
  registry::ConfigInputs in;
  in.cli = req.cli_settings;
  if (!req.registry.empty()) in.cli.emplace_back("registry", req.registry);
  for (const auto& o : req.omit) in.cli.emplace_back("omit", o);
  if (req.legacy_peer_deps) in.cli.emplace_back("legacy-peer-deps", "true");
  if (req.strict_peer_deps) in.cli.emplace_back("strict-peer-deps", "true");
  if (!req.install_strategy.empty()) in.cli.emplace_back("install-strategy", req.install_strategy);
  if (req.force) in.cli.emplace_back("force", "true");
  if (req.prefer_offline) in.cli.emplace_back("prefer-offline", "true");
  if (req.prefer_online) in.cli.emplace_back("prefer-online", "true");
  if (!req.bin_links) in.cli.emplace_back("bin-links", "false");
  if (!req.package_lock.empty()) in.cli.emplace_back("package-lock", req.package_lock);
  // npm: package-lock-only turns package-lock back on (--package-lock-only --no-package-lock
  // writes the lockfile). --dry-run's own package-lock-only is lade's, not the user's.
  if (req.package_lock_only && !req.dry_run) in.cli.emplace_back("package-lock-only", "true");
  if (req.offline) in.cli.emplace_back("offline", "true");
  if (req.save_exact) in.cli.emplace_back("save-exact", "true");
  if (!req.lockfile_version.empty()) in.cli.emplace_back("lockfile-version", req.lockfile_version);
  if (req.omit_lockfile_registry_resolved) {
    in.cli.emplace_back("omit-lockfile-registry-resolved",
                        *req.omit_lockfile_registry_resolved ? "true" : "false");
  }
  in.env = registry::process_environment();
  in.project_dir = project.dir;
  in.node = registry::discover_node_install(in.env);
  in.run_command = registry::run_command;
  in.lade_version = LADE_VERSION;
  return registry::Config::load(std::move(in));
}

util::Result<std::unique_ptr<Wiring>> Wiring::create(
    const InstallRequest& req, const Project& project, registry::Config config,
    std::function<void(const registry::TransferRecord&)> on_transfer_done) {
  std::unique_ptr<Wiring> w(new Wiring());
  w->impl_ = std::make_unique<Impl>();
  Impl& impl = *w->impl_;
  impl.config.emplace(std::move(config));
  impl.registry = LADE_TRY(impl.config->default_registry());
  const unsigned cores = std::max(2u, std::thread::hardware_concurrency());
  // Half the cores for metadata: enough to keep up with the network (parsing is fast), and
  // fewer documents held in memory at once than one parse per core.
  impl.metadata_pool = std::make_unique<util::ThreadPool>(std::max(1u, cores / 2));
  impl.pool = std::make_unique<util::ThreadPool>(cores);
  auto transfer_options = registry::TransferOptions::from_settings(impl.config->settings());
  transfer_options.on_transfer_done = std::move(on_transfer_done);
  impl.transport = std::make_unique<registry::TransferQueue>(std::move(transfer_options));
  fs::path cache_dir = default_cache_dir(req);
  impl.cache = std::make_unique<registry::PackumentCache>(cache_dir);
  // npm 11 resolves with full packuments (license, funding... reach the lockfile from them).
  auto client_options = registry::RegistryClientOptions::from_settings(impl.config->settings());
  client_options.full_metadata = true;
  // A registry that says nothing about caching gets the five minutes the public registry grants
  // with max-age=300: back-to-back installs then skip the network instead of downloading every
  // document again (without validators there is nothing to revalidate with).
  client_options.default_max_age = std::chrono::seconds(300);
  impl.client = std::make_unique<registry::RegistryClient>(*impl.config, *impl.transport,
                                                           *impl.metadata_pool, impl.cache.get(),
                                                           client_options, impl.pool.get());
  impl.client_options = client_options;
  impl.store = std::make_unique<store::Store>(cache_dir);
  SourcedOptions sourced_options;
  sourced_options.project_dir = project.dir;
  sourced_options.cache_dir = cache_dir;
  sourced_options.ignore_scripts = req.ignore_scripts || impl.config->settings().ignore_scripts;
  sourced_options.registry = impl.registry;
  std::error_code ec;
  sourced_options.lade_binary = fs::read_symlink("/proc/self/exe", ec);
  if (ec) sourced_options.lade_binary = req.argv0;
  impl.sourced = std::make_unique<SourcedPackages>(*impl.client, *impl.store, std::move(sourced_options));
  impl.tarballs = std::make_unique<RegistryTarballs>(*impl.client, *impl.config, *impl.sourced);
  impl.packages = std::make_unique<installer::PackageFetcher>(*impl.store, *impl.tarballs, *impl.pool);
  impl.packuments = std::make_unique<RegistryPackuments>(*impl.client, *impl.config, *impl.packages, *impl.sourced);
  return w;
}

Wiring::~Wiring() = default;

void Wiring::finish_background_work() { impl_->finish_background_work(); }

const registry::Settings& Wiring::settings() const { return impl_->config->settings(); }
std::string Wiring::default_registry() const { return impl_->registry; }
resolver::PackumentSource& Wiring::packuments() { return *impl_->packuments; }
void Wiring::forget_packuments() { impl_->client->forget_packuments(); }
installer::TarballSource& Wiring::tarballs() { return *impl_->tarballs; }
registry::RegistryClient& Wiring::abbreviated_client() {
  if (!impl_->abbreviated_client) {
    registry::RegistryClientOptions options = impl_->client_options;
    options.full_metadata = false;
    impl_->abbreviated_client = std::make_unique<registry::RegistryClient>(
        *impl_->config, *impl_->transport, *impl_->metadata_pool, impl_->cache.get(), options,
        impl_->pool.get());
  }
  return *impl_->abbreviated_client;
}
installer::PackageFetcher& Wiring::packages() { return *impl_->packages; }
const store::Store& Wiring::store() const { return *impl_->store; }
SourcedPackages& Wiring::sourced() { return *impl_->sourced; }
util::ThreadPool& Wiring::pool() { return *impl_->pool; }

std::vector<std::pair<std::string, size_t>> Wiring::counters() const {
  auto s = impl_->client->stats();
  return {{"packument_requests", s.packument_requests},
          {"packument_cache_hits", s.packument_cache_hits},
          {"packument_revalidated", s.packument_revalidated},
          {"tarball_requests", s.tarball_requests},
          {"requests_hedged", impl_->transport->stats().hedged},
          {"tls_ca_bundle_fallbacks", impl_->transport->stats().ca_dir_fallbacks},
          {"bytes_received", s.bytes_received}};
}

}  // namespace lade::cli
