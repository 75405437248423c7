#include "lockfile/resolution.h"

#include <catch2/catch.hpp>

#include "lockfile/v1_lock.h"
#include "lockfile/workspaces.h"

using namespace lade::lockfile;

TEST_CASE("lockfile: registry specs as npm-package-arg sees them", "[lockfile]") {
  for (const char* spec : {"^1.2.3", "1.2.3", "latest", "*", "", ">=2.2.7 <3", "1.x || 2.x",
                           "npm:lodash@4.17.21", "npm:@scope/x@^2"}) {
    INFO(spec);
    CHECK(is_registry_spec(spec));
  }
  for (const char* spec :
       {"file:./local-dir", "file:vendor/x-1.0.0.tgz", "../sibling", "github:user/repo#semver:^1",
        "user/repo", "git+ssh://git@host.example/repo.git#abc",
        "http://127.0.0.1:4873/x/-/x-1.0.0.tgz"}) {
    INFO(spec);
    CHECK_FALSE(is_registry_spec(spec));
  }
}

TEST_CASE("lockfile: consistent_resolved normalises file: and hosted git", "[lockfile]") {
  CHECK(consistent_resolved("file:./a/../vendor/x.tgz") == "file:vendor/x.tgz");
  CHECK(consistent_resolved("file:../up/x.tgz") == "file:../up/x.tgz");
  CHECK(consistent_resolved("http://127.0.0.1:4873/x/-/x-1.0.0.tgz") ==
        "http://127.0.0.1:4873/x/-/x-1.0.0.tgz");
  const std::string sha = "0123456789abcdef0123456789abcdef01234567";
  const std::string canonical = "git+ssh://git@github.com/u/r.git#" + sha;
  CHECK(consistent_resolved(canonical) == canonical);
  CHECK(consistent_resolved("github:u/r#" + sha) == canonical);
  CHECK(consistent_resolved("u/r#" + sha) == canonical);
  CHECK(consistent_resolved("git+https://github.com/u/r.git#" + sha) == canonical);
  CHECK(consistent_resolved("git://github.com/u/r#" + sha) == canonical);
  CHECK(consistent_resolved("gitlab:g/p#" + sha) == "git+ssh://git@gitlab.com/g/p.git#" + sha);
  // Credentials keep the https form; unknown hosts stay as written.
  CHECK(consistent_resolved("git+https://tok@github.com/u/r.git#" + sha) ==
        "git+https://tok@github.com/u/r.git#" + sha);
  CHECK(consistent_resolved("git+ssh://git@host.example/r.git#" + sha) ==
        "git+ssh://git@host.example/r.git#" + sha);
}

TEST_CASE("lockfile: path helpers", "[lockfile]") {
  CHECK(normalize_relative_path("./packages//a/") == "packages/a");
  CHECK(normalize_relative_path("a/./b/../c") == "a/c");
  CHECK(normalize_relative_path("../x/../../y") == "../../y");
  CHECK(normalize_relative_path(".") == "");
  CHECK(normalize_relative_path("/abs/../x") == "/x");
  CHECK(name_from_folder("node_modules/@scope/pkg") == "@scope/pkg");
  CHECK(name_from_folder("packages/b") == "b");
  CHECK(name_from_folder("b") == "b");
  CHECK(name_from_folder("../@s/x/") == "@s/x");
}

TEST_CASE("lockfile: version_from_tgz", "[lockfile]") {
  auto v = version_from_tgz("x", "http://127.0.0.1:4873/@s/x/-/x-1.2.3-beta.1.tgz");
  REQUIRE(v);
  CHECK(v->name == "@s/x");
  CHECK(v->version == "1.2.3-beta.1");
  v = version_from_tgz("vendored", "vendor/vendored-1.0.0.tgz");
  REQUIRE(v);
  CHECK(v->name == "vendored");
  CHECK(v->version == "1.0.0");
  v = version_from_tgz("@s/x", "http://127.0.0.1:4873/tarballs/x-2.0.0.tgz");
  REQUIRE(v);
  CHECK(v->name == "@s/x");
  CHECK_FALSE(version_from_tgz("x", "x-1.0.0.tar.gz"));
  CHECK_FALSE(version_from_tgz("x", "y-1.0.0.tgz"));
  CHECK_FALSE(version_from_tgz("x", "x-latest.tgz"));
}

TEST_CASE("lockfile: workspace globs", "[lockfile]") {
  CHECK(glob_match("packages/*", "packages/a"));
  CHECK_FALSE(glob_match("packages/*", "packages/a/b"));
  CHECK_FALSE(glob_match("packages/*", "packages/.hidden"));
  CHECK(glob_match("**/node_modules/**", "node_modules/a"));
  CHECK(glob_match("**/node_modules/**", "packages/a/node_modules/x"));
  CHECK_FALSE(glob_match("**/node_modules/**", "packages/a"));
  CHECK(glob_match("packages/**", "packages/a/b"));
  CHECK(glob_match("pkg-?", "pkg-1"));
  CHECK(glob_match("pkg-[ab]", "pkg-b"));
  CHECK_FALSE(glob_match("pkg-[!ab]", "pkg-b"));

  Json packages = Json::parse(R"({
    "": {"workspaces": ["./packages/*", "!packages/skip", "tools/one"]},
    "node_modules/a": {"resolved": "packages/a", "link": true},
    "packages/a": {"version": "1.0.0"},
    "packages/b": {"name": "@s/b", "version": "1.0.0"},
    "packages/skip": {"version": "1.0.0"},
    "packages/a/node_modules/x": {"version": "1.0.0"},
    "tools/one": {}
  })");
  auto ws = workspaces_from_lock(packages);
  std::vector<std::pair<std::string, std::string>> expected = {
      {"a", "packages/a"}, {"@s/b", "packages/b"}, {"one", "tools/one"}};
  CHECK(ws == expected);
  CHECK(match_workspaces(packages, {"tools/*"}) ==
        std::vector<std::pair<std::string, std::string>>{{"one", "tools/one"}});
}
