// Prefetcher: fetching ahead follows the dependencies of the versions it expects to be picked,
// and once stopped it reads no packument and asks for none, even when a fetch it started
// completes afterwards (the packuments may be freed by then).
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "resolver/pick_manifest.h"
#include "resolver/prefetcher.h"

using lade::manifest::Packument;
using lade::resolver::PickIndexCache;
using lade::resolver::Prefetcher;

namespace {

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

}  // namespace

TEST_CASE("prefetcher: follows the picked version's dependencies", "[resolver][prefetch]") {
  HeldSource source;
  auto prefetcher = std::make_shared<Prefetcher>(source, "20.0.0", std::make_shared<PickIndexCache>());
  prefetcher->want("a", "^1.0.0");
  REQUIRE(source.requested == std::vector<std::string>{"a"});
  source.complete("a");
  CHECK(source.reads == 1);
  CHECK(source.requested == std::vector<std::string>{"a", "b"});
}

TEST_CASE("prefetcher: once stopped, a late packument is not read and nothing more is asked for",
          "[resolver][prefetch]") {
  HeldSource source;
  auto prefetcher = std::make_shared<Prefetcher>(source, "20.0.0", std::make_shared<PickIndexCache>());
  prefetcher->want("a", "^1.0.0");
  REQUIRE(source.requested.size() == 1);

  prefetcher->stop();
  source.complete("a");  // arrives after the stop
  CHECK(source.reads == 0);
  prefetcher->want("c", "^1.0.0");
  CHECK(source.requested == std::vector<std::string>{"a"});
}
