#include "installer/package_fetcher.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "../store/tarball_builder.h"
#include "util/fs.h"

namespace lade::installer {
namespace {

using store::testing::file;
using store::testing::make_tarball;
using store::testing::sha512_sri;

/// Tarballs served by hand: fetch() only records the request; the test completes it.
class ManualTarballs final : public TarballSource {
 public:
  void fetch(const TarballRef& ref, std::function<void(util::Result<std::string>)> done) override {
    std::lock_guard lock(mu_);
    started_.push_back(ref.package_name);
    pending_[ref.package_name] = std::move(done);
    cv_.notify_all();
  }
  /// Waits (a little) until `n` fetches have started in all.
  bool wait_started(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return started_.size() >= n; });
  }
  size_t started() {
    std::lock_guard lock(mu_);
    return started_.size();
  }
  void complete(const std::string& name, util::Result<std::string> body) {
    std::function<void(util::Result<std::string>)> done;
    {
      std::lock_guard lock(mu_);
      done = std::move(pending_.at(name));
      pending_.erase(name);
    }
    done(std::move(body));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> started_;
  std::map<std::string, std::function<void(util::Result<std::string>)>> pending_;
};

/// Tarballs served at once, from within fetch(); checks what the store holds at that moment.
class InstantTarballs final : public TarballSource {
 public:
  explicit InstantTarballs(std::map<std::string, std::string> bodies)
      : bodies_(std::move(bodies)) {}
  std::function<void(const std::string& name)> on_fetch;
  void fetch(const TarballRef& ref, std::function<void(util::Result<std::string>)> done) override {
    if (on_fetch) on_fetch(ref.package_name);
    done(bodies_.at(ref.package_name));
  }

 private:
  std::map<std::string, std::string> bodies_;
};

/// Collects ensure() results.
struct Results {
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, util::Result<StoredRef>> by_name;
  PackageFetcher::Done for_name(const std::string& name) {
    return [this, name](const util::Result<StoredRef>& r) {
      std::lock_guard lock(mu);
      by_name.emplace(name, r);
      cv.notify_all();
    };
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return by_name.size() >= n; });
  }
};

/// The same bytes every time (gzip headers carry the time they were written).
std::string tarball_of(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::string> made;
  std::lock_guard lock(mu);
  auto& t = made[name];
  if (t.empty()) {
    t = make_tarball({file("package/package.json", R"({"name":")" + name + R"("})"),
                      file("package/index.js", std::string(2000, 'x') + name)});
  }
  return t;
}

TarballRef ref_of(const std::string& name) {
  return TarballRef{"http://127.0.0.1:9/" + name + ".tgz", name, "1.0.0"};
}

struct Fixture {
  util::TempDir dir = util::TempDir::create({}, "lade-fetcher-test-").value();
  store::Store store{dir.path()};
  util::ThreadPool pool{2};
};

}  // namespace

TEST_CASE("PackageFetcher keeps at most max_downloads downloads in flight", "[installer]") {
  Fixture f;
  ManualTarballs source;
  FetchLimits limits;
  limits.max_downloads = 2;
  PackageFetcher fetcher(f.store, source, f.pool, limits);
  Results results;
  const std::vector<std::string> names = {"a", "b", "c", "d", "e"};
  for (const auto& n : names) {
    fetcher.ensure(ref_of(n), sha512_sri(tarball_of(n)), "", results.for_name(n));
  }
  REQUIRE(source.wait_started(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(source.started() == 2);
  source.complete("a", tarball_of("a"));
  REQUIRE(source.wait_started(3));
  source.complete("b", util::make_error("E404", "not found"));
  REQUIRE(source.wait_started(4));
  source.complete("c", tarball_of("c"));
  REQUIRE(source.wait_started(5));
  source.complete("d", tarball_of("d"));
  source.complete("e", tarball_of("e"));
  REQUIRE(results.wait_for(5));
  f.pool.wait_idle();
  CHECK(results.by_name.at("a").ok());
  REQUIRE_FALSE(results.by_name.at("b").ok());
  CHECK(results.by_name.at("b").error().code == "E404");
  for (const char* n : {"c", "d", "e"}) {
    const auto& r = results.by_name.at(n);
    INFO(n << ": " << (r.ok() ? std::string() : r.error().code + " " + r.error().message));
    REQUIRE(r.ok());
    CHECK(results.by_name.at(n)->downloaded);
  }
  CHECK(fetcher.downloads() == 5);
}

TEST_CASE("PackageFetcher waits for the store before downloading more than the byte limit",
          "[installer]") {
  Fixture f;
  std::map<std::string, std::string> bodies;
  const std::vector<std::string> names = {"p1", "p2", "p3", "p4"};
  for (const auto& n : names) bodies[n] = tarball_of(n);
  InstantTarballs source(bodies);
  FetchLimits limits;
  limits.max_unstored_bytes = 1;  // one downloaded tarball at a time waits for the store
  PackageFetcher fetcher(f.store, source, f.pool, limits);
  std::mutex mu;
  std::vector<std::string> not_yet_stored;
  size_t fetched = 0;
  source.on_fetch = [&](const std::string&) {
    std::lock_guard lock(mu);
    // Every tarball fetched before this one is in the store already.
    for (size_t i = 0; i < fetched; ++i) {
      if (!f.store.find(sha512_sri(bodies[names[i]]))) not_yet_stored.push_back(names[i]);
    }
    ++fetched;
  };
  Results results;
  for (const auto& n : names)
    fetcher.ensure(ref_of(n), sha512_sri(bodies[n]), "", results.for_name(n));
  REQUIRE(results.wait_for(names.size()));
  f.pool.wait_idle();
  CHECK(not_yet_stored.empty());
  for (const auto& n : names) CHECK(results.by_name.at(n).ok());
}

TEST_CASE("PackageFetcher::stop cancels what has not started and refuses new work", "[installer]") {
  Fixture f;
  ManualTarballs source;
  FetchLimits limits;
  limits.max_downloads = 1;
  PackageFetcher fetcher(f.store, source, f.pool, limits);
  Results results;
  fetcher.ensure(ref_of("first"), sha512_sri(tarball_of("first")), "", results.for_name("first"));
  fetcher.ensure(ref_of("second"), sha512_sri(tarball_of("second")), "",
                 results.for_name("second"));
  REQUIRE(source.wait_started(1));
  fetcher.stop();
  fetcher.ensure(ref_of("third"), sha512_sri(tarball_of("third")), "", results.for_name("third"));
  REQUIRE(results.wait_for(2));
  CHECK(results.by_name.at("second").error().code == "ECANCELED");
  CHECK(results.by_name.at("third").error().code == "ECANCELED");
  // The download in flight still lands, and nothing else starts.
  source.complete("first", tarball_of("first"));
  REQUIRE(results.wait_for(3));
  f.pool.wait_idle();
  CHECK(results.by_name.at("first").ok());
  CHECK(source.started() == 1);
}

}  // namespace lade::installer
