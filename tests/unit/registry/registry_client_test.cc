#include "registry/registry_client.h"

#include <catch2/catch.hpp>
#include <future>

#include "loopback_server.h"
#include "util/fs.h"

namespace lade::registry {
namespace {

using namespace std::chrono_literals;
using testing::CannedResponse;
using testing::LoopbackServer;

std::string packument_json(const std::string& name, const std::string& version = "1.0.0") {
  return R"({"name":")" + name + R"(","dist-tags":{"latest":")" + version + R"("},"versions":{")" +
         version + R"(":{"name":")" + name + R"(","version":")" + version +
         R"(","dist":{"tarball":"http://127.0.0.1/x.tgz"}}}})";
}

/// A project whose .npmrc points at loopback registries, plus the collaborators a client needs.
struct World {
  util::TempDir root = util::TempDir::create().value();
  std::string npmrc;
  std::optional<Config> config;
  util::ThreadPool pool{2};
  std::unique_ptr<TransferQueue> queue;
  std::unique_ptr<PackumentCache> cache;

  explicit World(std::string rc) : npmrc(std::move(rc)) {
    fs::create_directories(root.path() / "home");
    fs::create_directories(root.path() / "project");
    REQUIRE(util::write_file_atomic(root.path() / "project" / ".npmrc", npmrc).ok());
    ConfigInputs in;
    in.env = {{"HOME", (root.path() / "home").string()}};
    in.project_dir = root.path() / "project";
    in.node.global_prefix = root.path() / "prefix";
    auto loaded = Config::load(in);
    REQUIRE(loaded.ok());
    config.emplace(std::move(loaded).value());

    TransferOptions options = TransferOptions::from_settings(config->settings());
    options.retries = 1;
    options.retry_min_timeout = 10ms;
    options.retry_max_timeout = 20ms;
    queue = std::make_unique<TransferQueue>(options);
    cache = std::make_unique<PackumentCache>(config->settings().lade_cache);
  }

  ~World() {
    queue->shutdown();  // the transport goes before the pool
    pool.wait_idle();
  }

  std::unique_ptr<RegistryClient> client(CacheMode mode = CacheMode::Default,
                                         bool with_cache = true) {
    RegistryClientOptions options;
    options.cache_mode = mode;
    return std::make_unique<RegistryClient>(*config, *queue, pool,
                                            with_cache ? cache.get() : nullptr, options);
  }
};

util::Result<RegistryClient::PackumentPtr> wait(RegistryClient::PackumentFuture f) {
  REQUIRE(f.wait_for(15s) == std::future_status::ready);
  return f.get();
}

TEST_CASE("registry client: fetches and parses a packument", "[registry][client]") {
  LoopbackServer server;
  server.on("/left-pad", {CannedResponse{200, {}, packument_json("left-pad", "1.3.0")}});
  World w("registry=" + server.url("/") + "\n");
  auto client = w.client();

  auto p = wait(client->packument("left-pad"));
  REQUIRE(p.ok());
  CHECK((*p)->name() == "left-pad");
  REQUIRE((*p)->versions().size() == 1);
  CHECK((*p)->versions()[0].version == "1.3.0");

  auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].header("accept") ==
        "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*");
  CHECK(seen[0].header("npm-command") == "install");
  CHECK(seen[0].header("user-agent").rfind("lade/", 0) == 0);
  CHECK(seen[0].header("authorization").empty());
  CHECK(client->stats().packument_requests == 1);
  CHECK(client->stats().bytes_received == packument_json("left-pad", "1.3.0").size());
}

TEST_CASE("registry client: the same name twice is one request", "[registry][client]") {
  LoopbackServer server;
  server.on("/dup", {CannedResponse{200, {}, packument_json("dup"), 100ms}});
  World w("registry=" + server.url("/") + "\n");
  auto client = w.client();
  auto a = client->packument("dup");
  auto b = client->packument("dup");
  REQUIRE(wait(a).ok());
  REQUIRE(wait(b).ok());
  CHECK(a.get().value().get() == b.get().value().get());
  CHECK(server.request_count("/dup") == 1);
  CHECK(client->stats().packument_calls == 2);
  CHECK(client->stats().packument_deduplicated == 1);
}

TEST_CASE("registry client: forgotten packuments are freed and read again when asked for",
          "[registry][client]") {
  LoopbackServer server;
  server.on("/gone", {CannedResponse{200, {}, packument_json("gone", "2.0.0")}});
  World w("registry=" + server.url("/") + "\n");
  auto client = w.client();
  std::weak_ptr<const manifest::Packument> held;
  {
    auto first = wait(client->packument("gone"));
    REQUIRE(first.ok());
    held = *first;
  }
  REQUIRE_FALSE(held.expired());
  w.pool.wait_idle();  // the job that fetched it has let go of it too

  client->forget_packuments();
  CHECK(held.expired());  // the client held the only other reference

  // Asked again, the name is read anew (from the cache or the registry), not deduplicated.
  auto again = wait(client->packument("gone"));
  REQUIRE(again.ok());
  CHECK((*again)->versions()[0].version == "2.0.0");
  CHECK(client->stats().packument_calls == 2);
  CHECK(client->stats().packument_deduplicated == 0);
  CHECK(client->stats().packument_cache_hits + server.request_count("/gone") == 2);
}

TEST_CASE("registry client: a waiter reads a cached packument itself when the pool is busy",
          "[registry][client][cache]") {
  LoopbackServer server;
  server.on("/queued", {CannedResponse{200, {{"Cache-Control", "max-age=300"}}, packument_json("queued")}});
  World w("registry=" + server.url("/") + "\n");
  REQUIRE(wait(w.client()->packument("queued")).ok());  // now in the cache
  w.pool.wait_idle();

  // Both pool threads busy (as behind hundreds of fetches queued ahead): the fetch queued for
  // "queued" cannot start there, so the waiting caller runs it.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  for (int i = 0; i < 2; ++i) w.pool.post([released] { released.wait(); });
  auto client = w.client();
  auto read = std::async(std::launch::async, [&] { return client->wait_for_packument("queued"); });
  const bool answered = read.wait_for(10s) == std::future_status::ready;
  release.set_value();
  REQUIRE(answered);
  auto p = read.get();
  REQUIRE(p.ok());
  CHECK((*p)->name() == "queued");
  CHECK(client->stats().packument_cache_hits == 1);
  CHECK(server.request_count("/queued") == 1);
}

TEST_CASE("registry client: callback forms tell when a packument or tarball is ready",
          "[registry][client]") {
  LoopbackServer server;
  server.on("/cb", {CannedResponse{200, {}, packument_json("cb", "2.0.0")}});
  server.on("/cb.tgz", {CannedResponse{200, {}, "tarball bytes"}});
  World w("registry=" + server.url("/") + "\n");
  util::ThreadPool writer(1);
  RegistryClientOptions options;
  auto client = std::make_unique<RegistryClient>(*w.config, *w.queue, w.pool, w.cache.get(),
                                                 options, &writer);

  std::promise<void> first, second;
  client->packument("cb", [&first] { first.set_value(); });
  REQUIRE(first.get_future().wait_for(15s) == std::future_status::ready);
  // Once ready, the future is ready too, and a late callback runs at once.
  auto f = client->packument("cb");
  REQUIRE(f.wait_for(0s) == std::future_status::ready);
  CHECK((*f.get())->find("2.0.0") != nullptr);
  client->packument("cb", [&second] { second.set_value(); });
  CHECK(second.get_future().wait_for(0s) == std::future_status::ready);
  CHECK(server.request_count("/cb") == 1);

  // The cache entry is written on the writer pool, after the document was handed out; the
  // packument then reads versions from it.
  writer.wait_idle();
  auto key = PackumentCache::key_for(server.url("/cb"), false);
  CHECK(w.cache->lookup(key).has_value());
  CHECK((*f.get())->compact_text().empty());
  CHECK((*f.get())->manifest("2.0.0").value().version == "2.0.0");

  std::string body;
  std::promise<util::Result<RegistryClient::TarballResult>> done;
  client->tarball({server.url("/cb.tgz"), "", [&body](std::string_view c) {
                     body.append(c);
                     return true;
                   }, {}, {}},
                  [&done](util::Result<RegistryClient::TarballResult> r) {
                    done.set_value(std::move(r));
                  });
  auto result = done.get_future();
  REQUIRE(result.wait_for(15s) == std::future_status::ready);
  auto r = result.get();
  REQUIRE(r.ok());
  CHECK(r->bytes == body.size());
  CHECK(body == "tarball bytes");
}

TEST_CASE("registry client: scoped names are escaped and use their scope's registry and token",
          "[registry][client][auth]") {
  LoopbackServer main_registry;
  LoopbackServer scoped_registry;
  scoped_registry.on("/@corp%2fwidget", {CannedResponse{200, {}, packument_json("@corp/widget")}});
  main_registry.on("/plain", {CannedResponse{200, {}, packument_json("plain")}});
  std::string scoped_host = "//127.0.0.1:" + std::to_string(scoped_registry.port()) + "/";
  World w("registry=" + main_registry.url("/") + "\n" + "@corp:registry=" +
          scoped_registry.url("/") + "\n" + scoped_host + ":_authToken=corp-secret\n");
  auto client = w.client();

  CHECK(client->packument_url("@corp/widget").value() == scoped_registry.url("/@corp%2fwidget"));
  auto scoped = wait(client->packument("@corp/widget"));
  REQUIRE(scoped.ok());
  CHECK((*scoped)->name() == "@corp/widget");
  auto plain = wait(client->packument("plain"));
  REQUIRE(plain.ok());

  REQUIRE(scoped_registry.request_count() == 1);
  CHECK(scoped_registry.requests()[0].header("authorization") == "Bearer corp-secret");
  REQUIRE(main_registry.request_count() == 1);
  CHECK(main_registry.requests()[0].header("authorization").empty());  // never to another port
}

TEST_CASE("registry client: failing statuses become npm error codes", "[registry][client]") {
  LoopbackServer server;
  server.on("/broken", {CannedResponse{500, {}, "oops"}});
  server.on("/secret", {CannedResponse{403, {}, "{}"}});
  server.on("/garbage", {CannedResponse{200, {}, "{not json"}});
  World w("registry=" + server.url("/") + "\n");
  auto client = w.client();

  auto missing = wait(client->packument("no-such-pkg"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "E404");
  CHECK(missing.error().message ==
        "'no-such-pkg' is not in this registry (GET " + server.url("/no-such-pkg") + " -> 404)");

  auto broken = wait(client->packument("broken"));
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == "E500");
  CHECK(server.request_count("/broken") == 2);  // retried once (retries=1 in this world)

  auto secret = wait(client->packument("secret"));
  REQUIRE_FALSE(secret.ok());
  CHECK(secret.error().code == "E403");

  auto garbage = wait(client->packument("garbage"));
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().code == "EJSONPARSE");
  CHECK_FALSE(w.cache->lookup(PackumentCache::key_for(server.url("/garbage"), false)));
}

TEST_CASE("registry client: ETag revalidation answers from the cache on 304",
          "[registry][client][cache]") {
  LoopbackServer server;
  const std::string body = packument_json("etagged", "2.0.0");
  server.on("/etagged", [&](const testing::RecordedRequest& req) {
    if (req.header("if-none-match") == "\"abc\"")
      return CannedResponse{304, {{"ETag", "\"abc\""}}, ""};
    return CannedResponse{
        200, {{"ETag", "\"abc\""}, {"Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"}}, body};
  });
  World w("registry=" + server.url("/") + "\n");

  auto first = w.client();
  REQUIRE(wait(first->packument("etagged")).ok());
  CHECK(first->stats().packument_revalidated == 0);
  auto key = PackumentCache::key_for(server.url("/etagged"), false);
  auto meta = w.cache->lookup(key);
  REQUIRE(meta);
  CHECK(meta->etag == "\"abc\"");
  CHECK(fs::exists(w.config->settings().lade_cache / "packuments-v4"));

  auto second = w.client();
  auto p = wait(second->packument("etagged"));
  REQUIRE(p.ok());
  CHECK((*p)->versions()[0].version == "2.0.0");
  CHECK(second->stats().packument_requests == 1);
  CHECK(second->stats().packument_revalidated == 1);
  CHECK(second->stats().bytes_received == 0);
  auto seen = server.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].header("if-none-match") == "\"abc\"");
  CHECK(seen[1].header("if-modified-since") == "Mon, 01 Jan 2024 00:00:00 GMT");
}

TEST_CASE("registry client: cache modes", "[registry][client][cache]") {
  LoopbackServer server;
  server.on(
      "/fresh",
      {CannedResponse{200, {{"Cache-Control", "public, max-age=300"}}, packument_json("fresh")}});
  server.on("/stale", {CannedResponse{200, {{"ETag", "\"s\""}}, packument_json("stale")}});
  World w("registry=" + server.url("/") + "\n");
  {
    auto warm = w.client();
    REQUIRE(wait(warm->packument("fresh")).ok());
    REQUIRE(wait(warm->packument("stale")).ok());
  }
  REQUIRE(server.request_count() == 2);

  SECTION("default: a fresh entry needs no request, a stale one is revalidated") {
    auto c = w.client(CacheMode::Default);
    REQUIRE(wait(c->packument("fresh")).ok());
    REQUIRE(wait(c->packument("stale")).ok());
    CHECK(c->stats().packument_cache_hits == 1);
    CHECK(c->stats().packument_requests == 1);
    CHECK(server.request_count() == 3);
  }
  SECTION("prefer-online revalidates even fresh entries") {
    auto c = w.client(CacheMode::PreferOnline);
    REQUIRE(wait(c->packument("fresh")).ok());
    CHECK(c->stats().packument_requests == 1);
  }
  SECTION("prefer-offline uses any cached entry without asking") {
    auto c = w.client(CacheMode::PreferOffline);
    REQUIRE(wait(c->packument("stale")).ok());
    CHECK(c->stats().packument_cache_hits == 1);
    CHECK(server.request_count() == 2);
    // ...and still fetches what is missing.
    server.on("/new", {CannedResponse{200, {}, packument_json("new")}});
    REQUIRE(wait(c->packument("new")).ok());
    CHECK(server.request_count() == 3);
  }
  SECTION("offline: cache only, ENOTCACHED otherwise, never the network") {
    auto c = w.client(CacheMode::Offline);
    REQUIRE(wait(c->packument("stale")).ok());
    auto missing = wait(c->packument("never-fetched"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == "ENOTCACHED");
    auto tgz =
        c->tarball({server.url("/x.tgz"), "", [](std::string_view) { return true; }, {}, {}});
    REQUIRE(tgz.wait_for(5s) == std::future_status::ready);
    auto tgz_result = tgz.get();
    REQUIRE_FALSE(tgz_result.ok());
    CHECK(tgz_result.error().code == "ENOTCACHED");
    CHECK(server.request_count() == 2);
  }
}

TEST_CASE("registry client: the cache keeps the compact document, served as it is",
          "[registry][client][cache][compact]") {
  LoopbackServer server;
  const std::string full =
      R"({"name":"big","readme":"a very long readme","time":{"1.0.0":"2020"},)"
      R"("dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"big","version":"1.0.0",)"
      R"("description":"dropped","devDependencies":{"t":"1"},"dependencies":{"d":"^1"},)"
      R"("dist":{"tarball":"http://127.0.0.1/big.tgz","integrity":"sha512-B","fileCount":1}}}})";
  server.on("/big", {CannedResponse{200, {{"ETag", "\"b\""}}, full}});
  World w("registry=" + server.url("/") + "\n");

  auto first = wait(w.client()->packument("big"));
  REQUIRE(first.ok());
  auto entry = w.cache->load(PackumentCache::key_for(server.url("/big"), false));
  REQUIRE(entry);
  CHECK(entry->meta.compact);
  CHECK(entry->meta.etag == "\"b\"");
  // Once cached, the packument reads its versions from the file: no document in memory.
  CHECK((*first)->compact_text().empty());
  const auto expected = manifest::Packument::parse(full, "big");
  REQUIRE(expected.ok());
  CHECK(entry->body == (*expected)->index_bytes() + std::string((*expected)->compact_text()));
  CHECK((*first)->manifest("1.0.0").value() == (*expected)->manifest("1.0.0").value());
  CHECK(entry->body.find("readme") == std::string::npos);
  CHECK(entry->body.find("description") == std::string::npos);
  CHECK(entry->body.find("fileCount") == std::string::npos);

  auto c = w.client(CacheMode::Offline);
  auto cached = wait(c->packument("big"));
  REQUIRE(cached.ok());
  CHECK(c->stats().packument_cache_hits == 1);
  CHECK((*cached)->index_bytes() == (*first)->index_bytes());
  CHECK((*cached)->manifest("1.0.0").value() == (*first)->manifest("1.0.0").value());
  CHECK((*cached)->manifest("1.0.0").value().dist.integrity == "sha512-B");
  CHECK(server.request_count() == 1);
}

TEST_CASE("registry client: a damaged cache entry is dropped and fetched again",
          "[registry][client][cache]") {
  LoopbackServer server;
  server.on("/mended", {CannedResponse{200, {{"Cache-Control", "max-age=300"}},
                                       packument_json("mended", "3.1.4")}});
  World w("registry=" + server.url("/") + "\n");
  auto first = wait(w.client()->packument("mended"));
  REQUIRE(first.ok());
  const std::string key = PackumentCache::key_for(server.url("/mended"), false);
  const fs::path file = w.cache->path_for(key);
  const std::string good = util::read_file(file).value();

  // Cut inside the version's object: the header is intact and the entry fresh, but the span
  // of 3.1.4 no longer fits the file.
  const size_t version_at = good.rfind(R"("3.1.4":{)");
  REQUIRE(version_at != std::string::npos);
  REQUIRE(util::write_file_atomic(file, good.substr(0, version_at + 20)).ok());
  auto c = w.client(CacheMode::PreferOffline);
  auto again = wait(c->packument("mended"));
  REQUIRE(again.ok());
  CHECK(c->stats().packument_cache_hits == 0);
  CHECK(c->stats().packument_requests == 1);
  CHECK((*again)->manifest("3.1.4").value().version == "3.1.4");
  CHECK(server.request_count() == 2);
  w.pool.wait_idle();
  CHECK(util::read_file(file).value() == good);  // written anew, whole
}

TEST_CASE("registry client: a stale entry is served when the registry is unreachable",
          "[registry][client][cache]") {
  auto server = std::make_unique<LoopbackServer>();
  std::string registry = server->url("/");
  server->on("/offline-soon",
             {CannedResponse{200, {{"ETag", "\"1\""}}, packument_json("offline-soon")}});
  World w("registry=" + registry + "\n");
  REQUIRE(wait(w.client()->packument("offline-soon")).ok());
  server.reset();  // the port now refuses connections

  auto c = w.client();
  auto p = wait(c->packument("offline-soon"));
  REQUIRE(p.ok());
  CHECK(c->stats().packument_stale == 1);

  auto never = wait(c->packument("never-cached"));
  REQUIRE_FALSE(never.ok());
  CHECK(never.error().code == "ECONNREFUSED");
}

TEST_CASE("registry client: tarballs stream to the caller with the registry's credentials",
          "[registry][client][auth]") {
  LoopbackServer server;
  std::string tgz(100 * 1024, 't');
  server.on("/files/pkg-1.0.0.tgz", {CannedResponse{200, {}, tgz}});
  server.on("/files/gone.tgz", {CannedResponse{404, {}, ""}});
  std::string host = "//127.0.0.1:" + std::to_string(server.port());
  // The registry lives under /npm/; tarballs are served from /files/ on the same host.
  World w("registry=" + server.url("/npm/") + "\n" + host + "/npm/:_authToken=reg-token\n");
  auto client = w.client();

  std::string received;
  std::optional<uint64_t> announced;
  auto f = client->tarball({server.url("/files/pkg-1.0.0.tgz"),
                            "pkg",
                            [&](std::string_view chunk) {
                              CHECK(announced.has_value());  // the size comes first
                              received.append(chunk);
                              return true;
                            },
                            {},
                            [&](uint64_t size) { announced = size; }});
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  auto r = f.get();
  REQUIRE(r.ok());
  CHECK(r->bytes == tgz.size());
  CHECK(received == tgz);
  CHECK(announced == tgz.size());
  CHECK(server.requests()[0].header("authorization") == "Bearer reg-token");
  CHECK(client->stats().tarball_requests == 1);

  auto gone = client->tarball(
      {server.url("/files/gone.tgz"), "gone", [](std::string_view) { return true; }, {}, {}});
  REQUIRE(gone.wait_for(10s) == std::future_status::ready);
  auto gone_result = gone.get();
  REQUIRE_FALSE(gone_result.ok());
  CHECK(gone_result.error().code == "E404");
}

/// A Transport that keeps the completion so the test decides when and where it runs.
struct DeferredTransport : Transport {
  std::mutex mu;
  Completion pending;
  void submit(Request, Completion done) override {
    std::lock_guard lock(mu);
    pending = std::move(done);
  }
  Completion take() {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mu);
        if (pending) return std::exchange(pending, nullptr);
      }
      std::this_thread::sleep_for(10ms);
    }
    return nullptr;
  }
};

TEST_CASE("registry client: parsing happens on the pool, not on the transport's thread",
          "[registry][client]") {
  util::TempDir root = util::TempDir::create().value();
  REQUIRE(util::write_file_atomic(root.path() / ".npmrc", "registry=http://127.0.0.1:9/\n").ok());
  ConfigInputs in;
  in.env = {{"HOME", root.path().string()}};
  in.project_dir = root.path();
  auto config = Config::load(in);
  REQUIRE(config.ok());
  DeferredTransport transport;
  util::ThreadPool pool(1);
  RegistryClient client(*config, transport, pool, nullptr);

  auto f = client.packument("pooled");
  Completion complete = transport.take();
  REQUIRE(complete);

  // Block the only worker, then complete the transfer from this thread (standing in for the
  // network thread): the completion must hand the parsing off instead of doing it inline.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  pool.post([released] { released.wait(); });
  Response response;
  response.status = 200;
  response.body = packument_json("pooled");
  complete(std::move(response));
  CHECK(f.wait_for(100ms) == std::future_status::timeout);

  release.set_value();
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto p = f.get();
  REQUIRE(p.ok());
  CHECK((*p)->name() == "pooled");
  pool.wait_idle();
}

}  // namespace
}  // namespace lade::registry
