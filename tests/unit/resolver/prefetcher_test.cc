// Prefetcher: fetching ahead follows the dependencies of the versions it expects to be picked,
// and once stopped it reads no packument and asks for none, even when a fetch it started
// completes afterwards (the packuments may be freed by then).
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "resolver/pick_manifest.h"
#include "resolver/prefetcher.h"

using lade::manifest::Packument;
using lade::resolver::PickIndexCache;
using lade::resolver::Prefetcher;
using lade::resolver::Reach;

namespace {

lade::resolver::PickOptions node20() {
  lade::resolver::PickOptions engines;
  engines.node_version = "v20.0.0";
  return engines;
}

/// Keeps each fetch's callback for the test to complete by hand; counts packument reads.
class HeldSource : public lade::resolver::PackumentSource {
 public:
  void prefetch(const std::string& name, std::function<void()> on_ready) override {
    requested.push_back(name);
    if (on_ready) callbacks[name].push_back(std::move(on_ready));
  }
  lade::util::Result<std::vector<BundledPackage>> bundled_packages(const lade::tree::Node&) override {
    return std::vector<BundledPackage>{};
  }
  lade::util::Result<std::shared_ptr<const Packument>> packument(const std::string& name) override {
    ++reads;
    std::string deps = name == "a" ? R"(,"dependencies":{"b":"^1.0.0"})" : "";
    return Packument::parse(R"({"name":")" + name + R"(","dist-tags":{"latest":"1.0.0"},)" +
                                R"("versions":{"1.0.0":{"name":")" + name +
                                R"(","version":"1.0.0")" + deps + "}}}",
                            name);
  }
  std::string registry_for(const std::string&) const override { return "http://127.0.0.1:9/"; }

  void complete(const std::string& name) {
    auto pending = std::move(callbacks[name]);
    callbacks.erase(name);
    for (auto& cb : pending) cb();
  }

  std::vector<std::string> requested;
  std::map<std::string, std::vector<std::function<void()>>> callbacks;
  int reads = 0;
};

/// Every package at 1.0.0 with the dependency fields given here (JSON members); answers each
/// fetch at once.
class GraphSource : public lade::resolver::PackumentSource {
 public:
  explicit GraphSource(std::map<std::string, std::string> fields) : fields_(std::move(fields)) {}
  void prefetch(const std::string& name, std::function<void()> on_ready) override {
    {
      std::lock_guard lock(mu_);
      requested_.insert(name);
    }
    if (on_ready) on_ready();
  }
  std::set<std::string> requested() const {
    std::lock_guard lock(mu_);
    return requested_;
  }
  lade::util::Result<std::vector<BundledPackage>> bundled_packages(const lade::tree::Node&) override {
    return std::vector<BundledPackage>{};
  }
  lade::util::Result<std::shared_ptr<const Packument>> packument(const std::string& name) override {
    auto it = fields_.find(name);
    const std::string extra = it == fields_.end() ? "" : "," + it->second;
    return Packument::parse(R"({"name":")" + name + R"(","dist-tags":{"latest":"1.0.0"},)" +
                                R"("versions":{"1.0.0":{"name":")" + name + R"(","version":"1.0.0",)" +
                                R"("dist":{"tarball":"http://127.0.0.1:9/)" + name + R"(.tgz"})" +
                                extra + "}}}",
                            name);
  }
  std::string registry_for(const std::string&) const override { return "http://127.0.0.1:9/"; }

 private:
  std::map<std::string, std::string> fields_;
  mutable std::mutex mu_;
  std::set<std::string> requested_;
};

}  // namespace

TEST_CASE("prefetcher: follows the picked version's dependencies", "[resolver][prefetch]") {
  HeldSource source;
  auto prefetcher = std::make_shared<Prefetcher>(source, node20(), std::make_shared<PickIndexCache>());
  prefetcher->want("a", "^1.0.0");
  REQUIRE(source.requested == std::vector<std::string>{"a"});
  source.complete("a");
  CHECK(source.reads == 1);
  CHECK(source.requested == std::vector<std::string>{"a", "b"});
}

TEST_CASE("prefetcher: once stopped, a late packument is not read and nothing more is asked for",
          "[resolver][prefetch]") {
  HeldSource source;
  auto prefetcher = std::make_shared<Prefetcher>(source, node20(), std::make_shared<PickIndexCache>());
  prefetcher->want("a", "^1.0.0");
  REQUIRE(source.requested.size() == 1);

  prefetcher->stop();
  source.complete("a");  // arrives after the stop
  CHECK(source.reads == 0);
  prefetcher->want("c", "^1.0.0");
  CHECK(source.requested == std::vector<std::string>{"a"});
}

TEST_CASE("prefetcher: tells of the versions picked for what will be installed, not for peers or "
          "bundled dependencies",
          "[resolver][prefetch]") {
  GraphSource source({
      {"app", R"("dependencies":{"dep":"^1.0.0","inside":"^1.0.0"},"peerDependencies":{"host":"^1.0.0"},)"
              R"("bundleDependencies":["inside"])"},
      {"dep", R"("optionalDependencies":{"opt":"^1.0.0"})"},
      {"host", R"("dependencies":{"host-dep":"^1.0.0"})"},
      {"inside", R"("dependencies":{"inside-dep":"^1.0.0"})"},
  });
  std::mutex mu;
  std::set<std::string> picked;
  auto prefetcher = std::make_shared<Prefetcher>(
      source, node20(), std::make_shared<PickIndexCache>(), [&](const lade::manifest::Manifest& m) {
        std::lock_guard lock(mu);
        picked.insert(m.name + "@" + m.version);
      });
  prefetcher->want("app", "^1.0.0");
  CHECK(picked == std::set<std::string>{"app@1.0.0", "dep@1.0.0", "opt@1.0.0"});

  // The peer turns out to be installed through a dependency after all: it and what it depends
  // on are told of then.
  prefetcher->want("host", "^1.0.0", Reach::Installed);
  CHECK(picked == std::set<std::string>{"app@1.0.0", "dep@1.0.0", "opt@1.0.0", "host@1.0.0", "host-dep@1.0.0"});
  // Wanted as a peer again: nothing new.
  prefetcher->want("inside", "^1.0.0", Reach::Peer);
  CHECK(picked.count("inside@1.0.0") == 0);
  prefetcher->stop();
}

TEST_CASE("prefetcher: follows a required peer's dependencies, only an optional peer's peers",
          "[resolver][prefetch]") {
  GraphSource source({
      {"tool", R"("peerDependencies":{"host":"^1.0.0","runner":"^1.0.0"},)"
               R"("peerDependenciesMeta":{"runner":{"optional":true}})"},
      {"host", R"("dependencies":{"host-dep":"^1.0.0"})"},
      {"runner", R"("dependencies":{"runner-dep":"^1.0.0"},"peerDependencies":{"runner-peer":"^1.0.0"})"},
  });
  auto prefetcher = std::make_shared<Prefetcher>(source, node20(), std::make_shared<PickIndexCache>());
  prefetcher->want("tool", "^1.0.0");
  // npm reads an optional peer's manifest into the peer set, and its peers, but installs it
  // only when something else depends on it.
  CHECK(source.requested() == std::set<std::string>{"tool", "host", "host-dep", "runner", "runner-peer"});
  // Something else depends on it: then what it needs is fetched too.
  prefetcher->want("runner", "^1.0.0", Reach::Installed);
  CHECK(source.requested() == std::set<std::string>{"tool", "host", "host-dep", "runner", "runner-peer", "runner-dep"});
  prefetcher->stop();
}
