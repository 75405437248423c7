// npm-packlist's choices, checked against `npm pack --dry-run` on the same folders, and the
// tarballs pack_directory() writes read back through the store's extraction.
#include "store/pack.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <initializer_list>

#include "store/extract.h"
#include "store/packlist.h"
#include "util/fs.h"

namespace lade::store {
namespace {

namespace fs = std::filesystem;

void put(const fs::path& root, std::initializer_list<std::pair<std::string, std::string>> files) {
  for (const auto& [path, body] : files) {
    fs::create_directories((root / path).parent_path());
    REQUIRE(util::write_file_atomic(root / path, body).ok());
  }
}

std::vector<std::string> sorted_list(const fs::path& dir) {
  auto r = pack_list(dir);
  REQUIRE(r.ok());
  std::vector<std::string> out = *r;
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("package.json files, main, bin and the always-included files", "[pack]") {
  auto tmp = util::TempDir::create();
  REQUIRE(tmp.ok());
  const fs::path d = tmp->path();
  put(d, {{"package.json",
           R"({"name":"a","version":"1.0.0","main":"lib/main.js","bin":{"x":"bin/x.js"},)"
           R"("files":["dist/","index.js","types/*.d.ts"]})"},
          {"dist/a.js", ""},
          {"dist/sub/b.js", ""},
          {"dist/.hidden", ""},
          {"dist/x.orig", ""},
          {"lib/main.js", ""},
          {"lib/other.js", ""},
          {"bin/x.js", ""},
          {"types/a.d.ts", ""},
          {"types/b.ts", ""},
          {"src/s.js", ""},
          {"index.js", ""},
          {"README.md", ""},
          {"LICENSE", ""},
          {"CHANGELOG.md", ""},
          {".npmrc", ""},
          {"package-lock.json", ""},
          {"node_modules/dep/i.js", ""},
          {".git/config", ""}});
  CHECK(sorted_list(d) == std::vector<std::string>{"LICENSE", "README.md", "bin/x.js",
                                                   "dist/.hidden", "dist/a.js", "dist/sub/b.js",
                                                   "index.js", "lib/main.js", "package.json",
                                                   "types/a.d.ts"});
}

TEST_CASE(".npmignore rules, nested ones, and .gitignore left aside", "[pack]") {
  auto tmp = util::TempDir::create();
  REQUIRE(tmp.ok());
  const fs::path d = tmp->path();
  put(d, {{"package.json", R"({"name":"b","version":"1.0.0"})"},
          {".npmignore", "build/\n*.log\n!keep.log\n/top.txt\n"},
          {".gitignore", "ignored-by-git.js\n"},
          {"build/o.js", ""},
          {"sub/build/p.js", ""},
          {"a.log", ""},
          {"keep.log", ""},
          {"top.txt", ""},
          {"sub/top.txt", ""},
          {"ignored-by-git.js", ""},
          {"docs/d.md", ""},
          {"docs/.npmignore", "d.md\n"},
          {"docs/e.md", ""},
          {".DS_Store", ""},
          {"x.js~", ""}});
  CHECK(sorted_list(d) == std::vector<std::string>{"docs/e.md", "ignored-by-git.js", "keep.log",
                                                   "package.json", "sub/top.txt", "x.js~"});
}

TEST_CASE(".gitignore applies when there is no .npmignore", "[pack]") {
  auto tmp = util::TempDir::create();
  REQUIRE(tmp.ok());
  const fs::path d = tmp->path();
  put(d, {{"package.json", R"({"name":"c","version":"1.0.0"})"},
          {".gitignore", "gen/\n"},
          {"gen/g.js", ""},
          {"lib/l.js", ""},
          {"Readme.markdown", ""}});
  CHECK(sorted_list(d) == std::vector<std::string>{"Readme.markdown", "lib/l.js", "package.json"});
}

TEST_CASE("ignore patterns follow minimatch as ignore-walk sets it up", "[pack]") {
  CHECK(ignore_pattern_match("*.log", "a/b/c.log"));  // matchBase
  CHECK(ignore_pattern_match("/top.txt", "/top.txt"));
  CHECK_FALSE(ignore_pattern_match("/top.txt", "/sub/top.txt"));
  CHECK(ignore_pattern_match("README{,.*[^~$]}", "readme.md"));  // nocase, braces
  CHECK_FALSE(ignore_pattern_match("README{,.*[^~$]}", "readme.md~"));
  CHECK(ignore_pattern_match("dist/**", "dist/a/b.js"));
  CHECK(ignore_pattern_match("dist//**", "dist/a.js"));
  CHECK(ignore_pattern_match("lib/x.js", "lib", /*partial=*/true));
  CHECK_FALSE(ignore_pattern_match("lib/x.js", "lib"));
  CHECK(ignore_pattern_match("build/", "build/"));
  CHECK_FALSE(ignore_pattern_match("build/", "build"));
  CHECK(ignore_pattern_match("*", ".hidden"));  // dot files match
}

TEST_CASE("pack_directory writes a tarball the store unpacks, bins executable", "[pack]") {
  auto tmp = util::TempDir::create();
  REQUIRE(tmp.ok());
  const fs::path d = tmp->path() / "src";
  put(d, {{"package.json", R"({"name":"p","version":"1.0.0","bin":"cli.js"})"},
          {"cli.js", "#!/bin/sh\n"},
          {"lib/x.js", "x"}});
  auto tarball = pack_directory(d);
  REQUIRE(tarball.ok());
  const fs::path out = tmp->path() / "out";
  fs::create_directories(out);
  auto extracted = extract_tarball(*tarball, out);
  REQUIRE(extracted.ok());
  CHECK(extracted->files == 3);
  CHECK(util::read_file(out / "lib/x.js").value() == "x");
  CHECK((fs::status(out / "cli.js").permissions() & fs::perms::owner_exec) != fs::perms::none);
}

}  // namespace
}  // namespace lade::store
