// Manifest reading: npm's normalisation of package.json / packument version entries.
#include "manifest/manifest.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "util/fs.h"

namespace lade::manifest {
namespace {

Manifest from(const char* text) {
  auto doc = parse_json(text, "package.json");
  REQUIRE(doc.ok());
  return manifest_from_json(*doc);
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("manifest_from_json reads dependencies in document order", "[manifest]") {
  Manifest m = from(R"({
    "name": "app", "version": "1.0.0",
    "dependencies": {"z": "^1", "a": "2", "opt": "^3", "bad": 5},
    "devDependencies": {"d": "*"},
    "optionalDependencies": {"opt": "^3"},
    "peerDependencies": {"p": ">=1", "q": "2"},
    "peerDependenciesMeta": {"q": {"optional": true}, "p": {"optional": false}},
    "acceptDependencies": {"z": "^2"}
  })");
  CHECK(m.name == "app");
  CHECK(m.version == "1.0.0");
  // "opt" is optional, so npm drops it from dependencies; a non-string spec is ignored.
  CHECK(m.dependencies == Pairs{{"z", "^1"}, {"a", "2"}});
  CHECK(m.dev_dependencies == Pairs{{"d", "*"}});
  CHECK(m.optional_dependencies == Pairs{{"opt", "^3"}});
  CHECK(m.peer_dependencies == Pairs{{"p", ">=1"}, {"q", "2"}});
  CHECK(m.optional_peers == std::vector<std::string>{"q"});
  CHECK(m.accept_dependencies == Pairs{{"z", "^2"}});
  CHECK(m.peer_dependencies_meta.is_object());
}

TEST_CASE("manifest_from_json normalises bin like npm", "[manifest]") {
  CHECK(from(R"({"name": "@scope/tool", "bin": "./cli.js"})").bin == Pairs{{"tool", "cli.js"}});
  CHECK(from(R"({"bin": "./cli.js"})").bin.empty());  // a string bin needs a name
  CHECK(from(R"({"name": "x", "bin": ["bin/a.js", "./b"]})").bin ==
        Pairs{{"a.js", "bin/a.js"}, {"b", "b"}});
  CHECK(from(R"({"name": "x", "bin": {"x": "../../etc/passwd", "dir/y": "/abs/y.js",
                 "z": 1, "w": "", "v": "a\\b:c"}})")
            .bin == Pairs{{"x", "etc/passwd"}, {"y", "abs/y.js"}, {"v", "a/b/c"}});
  CHECK(from(R"({"name": "x", "directories": {"bin": "./bin"}})").bin.empty());
}

TEST_CASE("manifest_from_json expands bundleDependencies", "[manifest]") {
  using Names = std::vector<std::string>;
  CHECK(from(R"({"dependencies": {"a": "1", "b": "2"}, "bundleDependencies": true})")
            .bundle_dependencies == Names{"a", "b"});
  CHECK(from(R"({"bundledDependencies": ["x"]})").bundle_dependencies == Names{"x"});
  CHECK(
      from(R"({"bundleDependencies": ["y"], "bundledDependencies": ["x"]})").bundle_dependencies ==
      Names{"y"});
  CHECK(from(R"({"bundleDependencies": false})").bundle_dependencies.empty());
}

TEST_CASE("manifest_from_json reads scripts, flags and raw fields", "[manifest]") {
  Manifest m = from(R"({
    "name": "x", "version": "1.2.3",
    "scripts": {"test": "jest", "postinstall": "node build.js", "bad": ["x"]},
    "deprecated": "use y instead",
    "workspaces": {"packages": ["packages/*", 7]},
    "license": "MIT", "engines": {"node": ">=18"}, "os": ["linux"], "cpu": ["x64"],
    "libc": ["glibc"], "funding": "https://example.com/fund", "overrides": {"a": "1"},
    "dist": {"tarball": "http://127.0.0.1:9/x/-/x-1.2.3.tgz", "integrity": "sha512-abc",
             "shasum": "0123"},
    "_hasShrinkwrap": true
  })");
  CHECK(m.scripts == Pairs{{"test", "jest"}, {"postinstall", "node build.js"}});
  CHECK(m.has_install_script);
  CHECK(m.deprecated == "use y instead");
  CHECK(m.workspaces == std::vector<std::string>{"packages/*"});
  CHECK(m.license == "MIT");
  CHECK(m.engines["node"] == ">=18");
  CHECK(m.os == Json::array({"linux"}));
  CHECK(m.cpu == Json::array({"x64"}));
  CHECK(m.libc == Json::array({"glibc"}));
  CHECK(m.funding == Json{{"url", "https://example.com/fund"}});
  CHECK(m.overrides["a"] == "1");
  CHECK(m.dist.tarball == "http://127.0.0.1:9/x/-/x-1.2.3.tgz");
  CHECK(m.dist.integrity == "sha512-abc");
  CHECK(m.dist.shasum == "0123");
  CHECK(m.has_shrinkwrap);

  Manifest plain = from(R"({"name": "y", "scripts": {"prepare": "tsc"}, "workspaces": ["a"]})");
  CHECK_FALSE(plain.has_install_script);
  CHECK_FALSE(plain.has_shrinkwrap);
  CHECK(plain.license.is_null());
  CHECK(plain.workspaces == std::vector<std::string>{"a"});

  // Abbreviated packuments carry flags instead of scripts.
  Manifest abbreviated = from(R"({"name": "z", "hasInstallScript": true, "hasShrinkwrap": true})");
  CHECK(abbreviated.has_install_script);
  CHECK(abbreviated.has_shrinkwrap);
}

TEST_CASE("manifest_from_json tolerates wrong types", "[manifest]") {
  Manifest m = from(R"({"name": 5, "dependencies": "a b", "bin": 3, "scripts": [],
                        "deprecated": true, "workspaces": "x", "dist": "y"})");
  CHECK(m.name.empty());
  CHECK(m.dependencies.empty());
  CHECK(m.bin.empty());
  CHECK(m.scripts.empty());
  CHECK(m.deprecated.empty());
  CHECK(m.workspaces.empty());
  CHECK(m.dist.tarball.empty());
  CHECK(manifest_from_json(Json::array()).name.empty());
}

TEST_CASE("parse_json errors name the source, line and column", "[manifest]") {
  auto bad =
      parse_json("{\n  \"name\": \"x\",\n  \"version\": \"1.0.0\",\n}\n", "/app/package.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "EJSONPARSE");
  CHECK(bad.error().message ==
        "/app/package.json: Expected double-quoted property name in JSON at position 39 while "
        "parsing near \"...\\\"version\\\": \\\"1.0.0\\\",\\n}\\n\" (line 4, column 1)");

  auto token = parse_json(R"({"a":})", "x.json");
  REQUIRE_FALSE(token.ok());
  CHECK(token.error().message ==
        "x.json: Unexpected token \"}\" (0x7D), \"{\"a\":}\" is not valid JSON while parsing "
        "'{\"a\":}' (line 1, column 6)");

  auto empty = parse_json("", "e.json");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().message ==
        "e.json: Unexpected end of JSON input while parsing empty string (line 1, column 1)");

  // Invalid UTF-8 passes JSON.parse's grammar but not the strict parser: still EJSONPARSE.
  auto bytes = parse_json("{\"a\": \"\xFF\"}", "b.json");
  REQUIRE_FALSE(bytes.ok());
  CHECK(bytes.error().code == "EJSONPARSE");
  CHECK(bytes.error().message.rfind("b.json: ", 0) == 0);

  auto bom = parse_json("\xEF\xBB\xBF{\"a\": 1}", "bom.json");
  REQUIRE(bom.ok());
  CHECK((*bom)["a"] == 1);
}

TEST_CASE("parse_json keeps key order and the last duplicate", "[manifest]") {
  auto doc = parse_json(R"({"z": 1, "a": 2, "z": 3})", "d.json");
  REQUIRE(doc.ok());
  auto it = doc->begin();
  CHECK(it.key() == "z");
  CHECK(it.value() == 3);
  ++it;
  CHECK(it.key() == "a");
}

/// Same values, same types (signed, unsigned, float), same key order, all the way down.
bool same_document(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
      if (i.key() != j.key() || !same_document(*i, *j)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t k = 0; k < a.size(); ++k) {
      if (!same_document(a[k], b[k])) return false;
    }
    return true;
  }
  return a.dump() == b.dump();
}

TEST_CASE("parse_json builds the document nlohmann's parser builds", "[manifest]") {
  std::string long_object = "{";
  for (int i = 0; i < 40; ++i) long_object += "\"k" + std::to_string(i % 30) + "\": " + std::to_string(i) + ",";
  long_object += "\"k3\": {\"x\": 1, \"x\": [2]}}";
  const std::vector<std::string> texts = {
      R"({"name": "a", "version": "1.0.0", "dependencies": {"b": "^1"}, "private": true, "x": null})",
      R"([0, 1, -1, 18446744073709551615, -9223372036854775808, 9223372036854775808])",
      R"([0.5, -0.0, 1e5, 1E-5, 1.7976931348623157e308, 5e-324, 123456789012345678901234567890])",
      R"(["\u00e9\ud83d\ude00", "tab\there", "\"\\\/\b\f\n\r", "\u0000", "plain é"])",
      R"({"a": {}, "b": [], "c": [[[{}]]], "": ""})",
      R"({"dup": 1, "other": 2, "dup": {"inner": 1, "inner": 2}})",
      long_object,
      "  \n\t{\"spaces\" :  [ 1 , 2 ] }  \n",
      "\"just a string\"",
      "42",
  };
  for (const std::string& text : texts) {
    INFO(text);
    auto doc = parse_json(text, "t.json");
    REQUIRE(doc.ok());
    CHECK(same_document(*doc, Json::parse(text)));
  }
  // "-0" is the integer 0 (nlohmann keeps it signed, which nothing here asks about).
  auto zero = parse_json("[-0]", "z.json");
  REQUIRE(zero.ok());
  CHECK((*zero)[0] == 0);
  CHECK(zero->dump() == "[0]");
  // Deeper than simdjson goes: read all the same.
  const std::string deep = std::string(3000, '[') + std::string(3000, ']');
  auto doc = parse_json(deep, "deep.json");
  REQUIRE(doc.ok());
  CHECK(same_document(*doc, Json::parse(deep)));
}

TEST_CASE("parse_json refuses what JSON.parse refuses", "[manifest]") {
  for (const char* text : {"[\"\\ud800\"]", "[1] x", "{\"a\" 1}", "[01]", "[1.]", "{\"a\":1,}", "[\"\x01\"]"}) {
    INFO(text);
    auto doc = parse_json(text, "t.json");
    REQUIRE_FALSE(doc.ok());
    CHECK(doc.error().code == "EJSONPARSE");
  }
}

}  // namespace
}  // namespace lade::manifest

TEST_CASE("directories.bin becomes bin for a package read from disk", "[manifest][bin]") {
  auto dir = lade::util::TempDir::create();
  REQUIRE(dir.ok());
  const auto root = dir->path();
  std::filesystem::create_directories(root / "bin" / "sub");
  std::filesystem::create_directories(root / "bin" / ".hidden");
  for (const char* f : {"bin/sshpk-sign", "bin/sshpk-conv", "bin/sub/inner", "bin/.dot", "bin/.hidden/x"}) {
    REQUIRE(lade::util::write_file_atomic(root / f, "#!/usr/bin/env node\n").ok());
  }
  auto doc = lade::manifest::Json::parse(R"({"name":"sshpk","version":"1.16.1","directories":{"bin":"./bin"}})");
  lade::manifest::expand_directories_bin(doc, root);
  CHECK(doc["bin"] == lade::manifest::Json::parse(
                          R"({"sshpk-conv":"bin/sshpk-conv","sshpk-sign":"bin/sshpk-sign","sub":"bin/sub","inner":"bin/sub/inner"})"));
  // A "bin" of its own wins; a directory outside the package is read below it.
  auto own = lade::manifest::Json::parse(R"({"bin":{"x":"x.js"},"directories":{"bin":"bin"}})");
  lade::manifest::expand_directories_bin(own, root);
  CHECK(own["bin"] == lade::manifest::Json::parse(R"({"x":"x.js"})"));
  auto escaping = lade::manifest::Json::parse(R"({"directories":{"bin":"../../bin"}})");
  lade::manifest::expand_directories_bin(escaping, root);
  CHECK(escaping["bin"].size() == 4);
}
