// IdealTreeBuilder with "overrides": the trees npm 11 builds for the same package.json files
// (the packages are the fixture registry's: leaf 1.0.0/1.1.0/2.0.0/3.0.0, uses-leaf-1 -> leaf
// ^1, uses-leaf-2 -> leaf ^2, chain-a -> ... -> chain-d -> leaf ^1, dep-p -> shared ^1).
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "resolver/ideal_tree.h"

using lade::manifest::Json;
using lade::manifest::Manifest;
using lade::manifest::Packument;
using lade::tree::Node;
using lade::tree::Tree;

namespace {

class MemoryRegistry : public lade::resolver::PackumentSource {
 public:
  /// name -> version -> dependencies
  void add(const std::string& name, const std::string& version,
           std::map<std::string, std::string> deps = {}) {
    versions_[name][version] = std::move(deps);
  }
  void prefetch(const std::string&, std::function<void()> on_ready) override {
    if (on_ready) on_ready();
  }
  lade::util::Result<std::vector<BundledPackage>> bundled_packages(const Node&) override {
    return std::vector<BundledPackage>{};
  }
  lade::util::Result<std::shared_ptr<const Packument>> packument(const std::string& name) override {
    auto it = versions_.find(name);
    if (it == versions_.end()) return lade::util::make_error("E404", "no " + name);
    Json doc = {{"name", name}, {"dist-tags", Json::object()}, {"versions", Json::object()}};
    std::string latest;
    for (const auto& [version, deps] : it->second) {
      Json v = {{"name", name},
                {"version", version},
                {"dist", {{"tarball", "http://127.0.0.1:9/" + name + "-" + version + ".tgz"},
                          {"integrity", "sha512-" + name + version}}}};
      if (!deps.empty()) v["dependencies"] = deps;
      doc["versions"][version] = v;
      latest = version;  // versions are added in ascending order
    }
    doc["dist-tags"]["latest"] = latest;
    return Packument::parse(doc.dump(), name);
  }
  std::string registry_for(const std::string&) const override { return "http://127.0.0.1:9/"; }

 private:
  std::map<std::string, std::map<std::string, std::map<std::string, std::string>>> versions_;
};

MemoryRegistry fixture_registry() {
  MemoryRegistry r;
  for (const char* v : {"1.0.0", "1.1.0", "2.0.0", "3.0.0"}) r.add("leaf", v);
  r.add("uses-leaf-1", "1.0.0", {{"leaf", "^1.0.0"}});
  r.add("uses-leaf-2", "1.0.0", {{"leaf", "^2.0.0"}});
  r.add("chain-a", "1.0.0", {{"chain-b", "^1.0.0"}});
  r.add("chain-b", "1.0.0", {{"chain-c", "^1.0.0"}});
  r.add("chain-c", "1.0.0", {{"chain-d", "^1.0.0"}});
  r.add("chain-d", "1.0.0", {{"leaf", "^1.0.0"}});
  r.add("dep-p", "1.0.0", {{"shared", "^1.0.0"}});
  r.add("shared", "1.0.0");
  r.add("shared", "1.1.0");
  return r;
}

/// location -> version (with "npm:<name>@" for aliases) of the tree built for package.json.
std::map<std::string, std::string> resolve(const char* package_json, std::string* error = nullptr) {
  MemoryRegistry registry = fixture_registry();
  Tree tree(lade::resolver::dep_valid);
  tree.version_gt = lade::resolver::version_gt;
  tree.create_root(lade::manifest::manifest_from_json(Json::parse(package_json)));
  lade::resolver::IdealTreeBuilder builder(tree, registry, {});
  auto st = builder.build();
  if (!st.ok()) {
    if (error) *error = st.error().code + " " + st.error().message;
    return {};
  }
  std::map<std::string, std::string> out;
  for (Node* n : tree.inventory()) {
    if (n->is_project_root) continue;
    std::string v = n->version();
    if (n->package_name() != n->name) v = "npm:" + n->package_name() + "@" + v;
    out[n->location()] = v;
  }
  return out;
}

using Layout = std::map<std::string, std::string>;

}  // namespace

TEST_CASE("resolver overrides: one rule for every copy", "[resolver][overrides]") {
  CHECK(resolve(R"({"name": "x", "version": "1.0.0",
    "dependencies": {"uses-leaf-1": "^1.0.0", "chain-a": "^1.0.0"},
    "overrides": {"leaf": "1.0.0"}})") ==
        Layout{{"node_modules/chain-a", "1.0.0"},
               {"node_modules/chain-b", "1.0.0"},
               {"node_modules/chain-c", "1.0.0"},
               {"node_modules/chain-d", "1.0.0"},
               {"node_modules/leaf", "1.0.0"},
               {"node_modules/uses-leaf-1", "1.0.0"}});
}

TEST_CASE("resolver overrides: scoped to a parent", "[resolver][overrides]") {
  CHECK(resolve(R"({"name": "x", "version": "1.0.0",
    "dependencies": {"uses-leaf-1": "^1.0.0", "chain-a": "^1.0.0"},
    "overrides": {"uses-leaf-1": {"leaf": "1.0.0"}}})") ==
        Layout{{"node_modules/chain-a", "1.0.0"},
               {"node_modules/chain-b", "1.0.0"},
               {"node_modules/chain-c", "1.0.0"},
               {"node_modules/chain-d", "1.0.0"},
               {"node_modules/leaf", "1.1.0"},
               {"node_modules/uses-leaf-1", "1.0.0"},
               {"node_modules/uses-leaf-1/node_modules/leaf", "1.0.0"}});
}

TEST_CASE("resolver overrides: two levels deep", "[resolver][overrides]") {
  CHECK(resolve(R"({"name": "x", "version": "1.0.0",
    "dependencies": {"chain-a": "^1.0.0"},
    "overrides": {"chain-c": {"chain-d": {"leaf": "2.0.0"}}}})") ==
        Layout{{"node_modules/chain-a", "1.0.0"},
               {"node_modules/chain-b", "1.0.0"},
               {"node_modules/chain-c", "1.0.0"},
               {"node_modules/chain-d", "1.0.0"},
               {"node_modules/leaf", "2.0.0"}});
}

TEST_CASE("resolver overrides: keyed by name@range", "[resolver][overrides]") {
  CHECK(resolve(R"({"name": "x", "version": "1.0.0",
    "dependencies": {"uses-leaf-1": "^1.0.0", "uses-leaf-2": "^1.0.0"},
    "overrides": {"leaf@^2.0.0": "3.0.0"}})") ==
        Layout{{"node_modules/leaf", "1.1.0"},
               {"node_modules/uses-leaf-1", "1.0.0"},
               {"node_modules/uses-leaf-2", "1.0.0"},
               {"node_modules/uses-leaf-2/node_modules/leaf", "3.0.0"}});
}

TEST_CASE("resolver overrides: an alias as the replacement", "[resolver][overrides]") {
  CHECK(resolve(R"({"name": "x", "version": "1.0.0",
    "dependencies": {"dep-p": "^1.0.0"},
    "overrides": {"shared": "npm:leaf@1.0.0"}})") ==
        Layout{{"node_modules/dep-p", "1.0.0"}, {"node_modules/shared", "npm:leaf@1.0.0"}});
}

TEST_CASE("resolver overrides: what npm refuses", "[resolver][overrides]") {
  std::string error;
  CHECK(resolve(R"({"name": "x", "version": "1.0.0",
    "dependencies": {"leaf": "^1.0.0", "uses-leaf-1": "^1.0.0"},
    "overrides": {"leaf": "1.0.0"}})",
                &error)
            .empty());
  CHECK(error == "EOVERRIDE Override for leaf@^1.0.0 conflicts with direct dependency");
  CHECK(resolve(R"({"name": "x", "version": "1.0.0",
    "dependencies": {"uses-leaf-1": "^1.0.0"}, "overrides": {"leaf": "$nope"}})",
                &error)
            .empty());
  CHECK(error == " Unable to resolve reference $nope");  // npm gives it no code
  CHECK(resolve(R"({"name": "x", "version": "1.0.0",
    "dependencies": {"uses-leaf-1": "^1.0.0"}, "overrides": {"./foo": "1.0.0"}})",
                &error)
            .empty());
  CHECK(error == " Override without name: ./foo");  // nor this one
}
