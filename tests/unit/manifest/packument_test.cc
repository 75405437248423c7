// Packument indexing (simdjson on-demand) and on-demand manifests.
#include "manifest/packument.h"

#include <catch2/catch.hpp>

namespace lade::manifest {
namespace {

// A full packument in the shape registries send (fields the index skips included).
const char* const kFull = R"({
  "_id": "demo", "_rev": "3-abc", "name": "demo",
  "description": "a \"demo\" package {with braces}",
  "dist-tags": {"latest": "1.1.0", "next": "2.0.0-rc.1", "bad": 5},
  "versions": {
    "1.0.0": {"name": "demo", "version": "1.0.0", "deprecated": "use 1.1",
              "engines": {"npm": ">=6", "node": ">=10"},
              "dependencies": {"dep": "^1.0.0"},
              "dist": {"tarball": "http://127.0.0.1:9/demo/-/demo-1.0.0.tgz",
                       "integrity": "sha512-AAAA", "shasum": "00ff"}},
    "1.1.0": {"name": "demo", "version": "1.1.0", "deprecated": "",
              "engines": ["node >= 10"], "scripts": {"install": "node-gyp rebuild"},
              "nested": {"deprecated": "not this one", "engines": {"node": "no"}}},
    "2.0.0-rc.1": {"version": "2.0.0-rc.1", "deprecated": false, "engines": {"node": 18},
                   "weird \"key\"": "}{"},
    "3.0.0": "not an object"
  },
  "time": {"created": "2020-01-01T00:00:00.000Z", "1.0.0": "2020-01-01T00:00:00.000Z"},
  "readme": "# demo\n\n```json\n{\"versions\": {}}\n```\n",
  "maintainers": [{"name": "someone"}]
})";

TEST_CASE("Packument indexes name, dist-tags and versions", "[manifest][packument]") {
  auto parsed = Packument::parse(kFull, "demo");
  REQUIRE(parsed.ok());
  const Packument& p = **parsed;
  CHECK(p.name() == "demo");
  CHECK(p.size_bytes() == std::string_view(kFull).size());
  using Tags = std::vector<std::pair<std::string, std::string>>;
  CHECK(p.dist_tags() == Tags{{"latest", "1.1.0"}, {"next", "2.0.0-rc.1"}});

  REQUIRE(p.versions().size() == 3);  // "3.0.0" is not an object
  const auto& v1 = p.versions()[0];
  CHECK(v1.version == "1.0.0");
  CHECK(v1.deprecated);
  CHECK(v1.engines_node == ">=10");
  CHECK(p.version_json(v1).value().front() == '{');
  CHECK(p.version_json(v1).value().back() == '}');
  CHECK(Json::parse(p.version_json(v1).value())["dist"]["shasum"] == "00ff");

  const auto& v2 = p.versions()[1];
  CHECK(v2.version == "1.1.0");
  CHECK_FALSE(v2.deprecated);      // an empty message is not a deprecation
  CHECK(v2.engines_node.empty());  // engines is not an object; nested ones do not count

  const auto& v3 = p.versions()[2];
  CHECK_FALSE(v3.deprecated);
  // A truthy non-string is no range to npm: no node version satisfies it.
  CHECK(v3.engines_node == lade::manifest::kUnsatisfiableEngine);
  CHECK_FALSE(Json::parse(p.version_json(v3).value()).contains("weird \"key\""));  // not a field lade reads

  CHECK(p.find("1.1.0") == &p.versions()[1]);
  CHECK(p.find("9.9.9") == nullptr);
}

TEST_CASE("Packument::manifest parses one version on demand", "[manifest][packument]") {
  auto parsed = Packument::parse(kFull, "demo");
  REQUIRE(parsed.ok());
  auto m = (*parsed)->manifest("1.0.0");
  REQUIRE(m.ok());
  CHECK(m->name == "demo");
  CHECK(m->deprecated == "use 1.1");
  CHECK(m->dependencies.at(0).first == "dep");
  CHECK(m->dist.integrity == "sha512-AAAA");

  auto rc = (*parsed)->manifest("2.0.0-rc.1");
  REQUIRE(rc.ok());
  CHECK(rc->name == "demo");  // filled in from the packument
  CHECK(rc->version == "2.0.0-rc.1");

  auto with_script = (*parsed)->manifest("1.1.0");
  REQUIRE(with_script.ok());
  CHECK(with_script->has_install_script);

  auto missing = (*parsed)->manifest("3.0.0");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "ENOVERSION");
}

TEST_CASE("Packument accepts abbreviated documents", "[manifest][packument]") {
  const std::string abbreviated =
      R"({"name":"@s/x","modified":"2024-01-01T00:00:00.000Z","dist-tags":{"latest":"1.0.0"},)"
      R"("versions":{"1.0.0":{"name":"@s/x","version":"1.0.0","hasInstallScript":true,)"
      R"("dist":{"tarball":"http://127.0.0.1:9/@s/x/-/x-1.0.0.tgz","integrity":"sha512-B"},)"
      R"("engines":{"node":"^18 || >=20"},"deprecated":"gone"}}})";
  auto parsed = Packument::parse(abbreviated, "@s/x");
  REQUIRE(parsed.ok());
  const Packument& p = **parsed;
  CHECK(p.name() == "@s/x");
  REQUIRE(p.versions().size() == 1);
  CHECK(p.versions()[0].engines_node == "^18 || >=20");
  CHECK(p.versions()[0].deprecated);
  auto m = p.manifest("1.0.0");
  REQUIRE(m.ok());
  CHECK(m->has_install_script);
  CHECK(m->dist.tarball == "http://127.0.0.1:9/@s/x/-/x-1.0.0.tgz");
}

TEST_CASE("Packument views survive the caller's string going away", "[manifest][packument]") {
  std::shared_ptr<const Packument> kept;
  {
    std::string text = kFull;
    auto parsed = Packument::parse(std::move(text), "demo");
    REQUIRE(parsed.ok());
    kept = *parsed;
    text.assign(20000, 'x');  // the moved-from string is reused
  }
  CHECK(Json::parse(kept->version_json(kept->versions()[0]).value())["version"] == "1.0.0");
  // Tiny documents (short-string storage) too.
  auto tiny = Packument::parse("{}", "t");
  REQUIRE(tiny.ok());
  CHECK((*tiny)->versions().empty());
}

TEST_CASE("Packument errors", "[manifest][packument]") {
  auto broken = Packument::parse(R"({"name": "x", "versions": {"1.0.0": {"a": }}})", "x");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == "EJSONPARSE");
  CHECK(broken.error().message.rfind("x: ", 0) == 0);
  CHECK(broken.error().message.find("line 1") != std::string::npos);

  auto truncated = Packument::parse(R"({"name": "x", "versions": {"1.0.0": {"a": 1})", "x");
  REQUIRE_FALSE(truncated.ok());
  CHECK(truncated.error().code == "EJSONPARSE");

  auto not_object = Packument::parse("[1, 2]", "arr");
  REQUIRE_FALSE(not_object.ok());
  CHECK(not_object.error().code == "EJSONPARSE");
}

}  // namespace
}  // namespace lade::manifest
