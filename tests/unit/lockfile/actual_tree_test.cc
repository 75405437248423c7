#include "lockfile/actual_tree.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <fstream>

#include "lockfile/lock_json.h"
#include "manifest/manifest.h"
#include "util/fs.h"

namespace lade::lockfile {
namespace {

namespace fs = std::filesystem;

void put(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

TEST_CASE("hidden_lockfile_from_disk: package folders as a hidden lockfile's entries", "[lockfile][actual]") {
  util::TempDir dir = util::TempDir::create({}, "lade-actual-tree-test-").value();
  const fs::path p = dir.path();
  CHECK_FALSE(hidden_lockfile_from_disk(p, {}).has_value());  // no node_modules
  put(p / "node_modules/a/package.json",
      R"({"name": "a", "version": "1.0.0", "dependencies": {"b": "^2"}, "dev": true,
          "_resolved": "http://127.0.0.1:9/a/-/a-1.0.0.tgz", "_integrity": "sha512-AAAA", "_from": "a@^1"})");
  put(p / "node_modules/a/node_modules/b/package.json", R"({"name": "b", "version": "2.0.0"})");
  put(p / "node_modules/@s/c/package.json", R"({"name": "@s/c", "version": "3.0.0"})");
  put(p / "node_modules/junk/readme.txt", "no package here");
  put(p / "node_modules/.cache/x/package.json", R"({"name": "x", "version": "1.0.0"})");
  put(p / "packages/w/package.json", R"({"name": "w", "version": "0.1.0"})");
  put(p / "packages/w/node_modules/d/package.json", R"({"name": "d", "version": "4.0.0"})");
  put(p / "packages/v/package.json", R"({"name": "v", "version": "0.2.0"})");
  fs::create_directory_symlink("../packages/w", p / "node_modules/w");

  auto text = hidden_lockfile_from_disk(p, {"packages/w", "packages/v"});
  REQUIRE(text.has_value());
  const Json doc = manifest::parse_json(*text, "test").value();
  CHECK(doc.at("lockfileVersion") == 3);
  const Json& packages = doc.at("packages");
  std::vector<std::string> keys;
  for (const auto& [k, _] : packages.items()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  CHECK(keys == std::vector<std::string>{"node_modules/@s/c", "node_modules/a", "node_modules/a/node_modules/b",
                                         "node_modules/w", "packages/v", "packages/w",
                                         "packages/w/node_modules/d"});
  const Json& a = packages.at("node_modules/a");
  CHECK(a.at("version") == "1.0.0");
  CHECK(a.at("resolved") == "http://127.0.0.1:9/a/-/a-1.0.0.tgz");
  CHECK(a.at("integrity") == "sha512-AAAA");
  CHECK_FALSE(a.contains("dev"));  // where a package sits is computed, never taken from its package.json
  CHECK_FALSE(a.contains("_from"));
  CHECK(packages.at("node_modules/w") == Json{{"resolved", "packages/w"}, {"link", true}});
  CHECK_FALSE(packages.at("node_modules/a/node_modules/b").contains("resolved"));
}

}  // namespace
}  // namespace lade::lockfile
