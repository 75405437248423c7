#include "store/extract.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "reader_check.h"
#include "tarball_builder.h"
#include "util/fs.h"

namespace lade::store {
namespace {

using testing::Compression;
using testing::file;
using testing::make_tarball;
using testing::mode_of;
using testing::TarEntry;

bool present(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

std::string slurp(const fs::path& p) {
  auto r = util::read_file(p);
  return r.ok() ? *r : std::string("<missing>");
}

bool has_warning(const ExtractedTarball& x, std::string_view needle) {
  for (const auto& w : x.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

/// A sandbox: the tarball is extracted into <sandbox>/pkg, so anything escaping would land in
/// <sandbox> (or above) where the test can look for it.
struct Sandbox {
  util::TempDir dir = util::TempDir::create({}, "lade-extract-test-").value();
  fs::path pkg = dir.path() / "a" / "b" / "pkg";
  Sandbox() { fs::create_directories(pkg); }

  /// Extracts into `pkg`, checking on the way that libarchive alone gives the same result.
  ExtractedTarball extract(const std::string& tarball, ExtractOptions options = {}) {
    auto r = testing::extract_checked(tarball, pkg, options);
    INFO((r.ok() ? std::string() : r.error().code + " " + r.error().message));
    REQUIRE(r.ok());
    return std::move(r).value();
  }
};

}  // namespace

TEST_CASE("package_relative_path strips the first component like node-tar strip:1", "[store]") {
  std::string w;
  CHECK(package_relative_path("package/index.js", &w) == "index.js");
  CHECK(package_relative_path("package/lib/a.js", &w) == "lib/a.js");
  CHECK(package_relative_path("anything-else/lib/a.js", &w) == "lib/a.js");
  CHECK(package_relative_path("package/./lib//a.js", &w) == "lib/a.js");
  CHECK(w.empty());
  CHECK(package_relative_path("rootfile", &w).empty());
  CHECK(package_relative_path("package/", &w).empty());
  CHECK(package_relative_path("package", &w).empty());
  CHECK(w.empty());
}

TEST_CASE("package_relative_path refuses '..' and strips roots", "[store]") {
  std::string w;
  CHECK(package_relative_path("package/../evil", &w).empty());
  CHECK(w.find("TAR_ENTRY_ERROR path contains '..'") != std::string::npos);
  w.clear();
  CHECK(package_relative_path("package/a/../b", &w).empty());
  CHECK(!w.empty());
  w.clear();
  CHECK(package_relative_path("package/back\\..\\slash", &w).empty());  // split at '\' too
  CHECK(!w.empty());
  w.clear();
  CHECK(package_relative_path("../evil", &w) == "evil");  // '..' is the stripped component
  w.clear();
  // "/abs/file": the empty first component is the one strip:1 removes.
  CHECK(package_relative_path("/abs/file", &w) == "abs/file");
  CHECK(w.empty());
  CHECK(package_relative_path("package//etc/passwd", &w) == "etc/passwd");
  CHECK(w.find("TAR_ENTRY_INFO stripping / from absolute path") != std::string::npos);
  w.clear();
  CHECK(package_relative_path("package/C:x", &w) == "x");
  w.clear();
  CHECK(package_relative_path("package/ok..name/..x", &w) == "ok..name/..x");
  CHECK(w.empty());
}

TEST_CASE("extract writes files, implied directories and the package.json text", "[store]") {
  Sandbox sb;
  const std::string manifest = R"({"name":"good","version":"1.0.0"})";
  auto x = sb.extract(make_tarball({
      file("package/package.json", manifest),
      file("package/index.js", "module.exports = 1\n"),
      file("package/lib/deep/er/x.js", "x"),
      file("package/empty.txt", ""),
  }));
  CHECK(x.files == 4);
  CHECK(x.bytes == manifest.size() + 19 + 1);
  CHECK(x.package_json == manifest);
  CHECK(x.warnings.empty());
  CHECK(slurp(sb.pkg / "index.js") == "module.exports = 1\n");
  CHECK(slurp(sb.pkg / "lib/deep/er/x.js") == "x");
  CHECK(slurp(sb.pkg / "empty.txt").empty());
  const mode_t um = testing::current_umask();
  CHECK(mode_of(sb.pkg / "index.js") == (0666u & ~um));
  CHECK(mode_of(sb.pkg / "lib/deep") == (0777u & ~um));
}

TEST_CASE("extract accepts an uncompressed tar", "[store]") {
  Sandbox sb;
  auto x = sb.extract(make_tarball({file("package/a.txt", "plain")}, Compression::None));
  CHECK(x.files == 1);
  CHECK(slurp(sb.pkg / "a.txt") == "plain");
}

TEST_CASE("extract strips a top folder whatever its name and drops root-level files", "[store]") {
  Sandbox sb;
  auto x = sb.extract(make_tarball({
      file("node-v1.2.3/package.json", "{}"), file("node-v1.2.3/src/a.js", "a"),
      file("rootfile", "dropped"),
      file("other/b.js", "b"),  // a second top folder is stripped as well, like npm
  }));
  CHECK(x.package_json == "{}");
  CHECK(slurp(sb.pkg / "src/a.js") == "a");
  CHECK(slurp(sb.pkg / "b.js") == "b");
  CHECK_FALSE(present(sb.pkg / "rootfile"));
  CHECK_FALSE(present(sb.pkg / "node-v1.2.3"));
}

TEST_CASE("extract never writes outside the package for '..' entries", "[store]") {
  Sandbox sb;
  auto x = sb.extract(make_tarball({
      file("package/../evil", "evil1"),
      file("package/a/../../evil2", "evil2"),
      file("package/../../../../evil3", "evil3"),
      file("package/ok.js", "ok"),
  }));
  CHECK(x.files == 1);
  CHECK(has_warning(x, "path contains '..'"));
  for (const auto& p : fs::recursive_directory_iterator(sb.dir.path())) {
    CHECK(p.path().filename().string().rfind("evil", 0) != 0);
  }
  CHECK(slurp(sb.pkg / "ok.js") == "ok");
}

TEST_CASE("extract keeps absolute entries inside the package, as npm does", "[store]") {
  Sandbox sb;
  auto x = sb.extract(make_tarball({
      file("/abs/file", "abs"),
      file("/absone", "abs1"),
      file("package//etc/passwd", "not really"),
  }));
  CHECK(x.files == 3);
  CHECK(slurp(sb.pkg / "abs/file") == "abs");
  CHECK(slurp(sb.pkg / "absone") == "abs1");
  CHECK(slurp(sb.pkg / "etc/passwd") == "not really");
  CHECK(has_warning(x, "stripping / from absolute path"));
  CHECK_FALSE(present("/absone"));
}

TEST_CASE("extract skips symlinks and hard links, escaping or not", "[store]") {
  Sandbox sb;
  auto x = sb.extract(make_tarball({
      file("package/target.js", "t"),
      {"package/inside", "", 0777, TarEntry::Symlink, "target.js"},
      {"package/escape", "", 0777, TarEntry::Symlink, "../../../../etc/passwd"},
      {"package/abs", "", 0777, TarEntry::Symlink, "/etc/passwd"},
      {"package/hard-inside", "", 0644, TarEntry::Hardlink, "package/target.js"},
      {"package/hard-escape", "", 0644, TarEntry::Hardlink, "../../etc/passwd"},
      // Writing through a link created earlier must be impossible: no link exists.
      file("package/escape/owned", "x"),
  }));
  CHECK(x.files == 2);
  CHECK(x.skipped == 5);
  CHECK_FALSE(present(sb.pkg / "inside"));
  CHECK_FALSE(present(sb.pkg / "abs"));
  CHECK_FALSE(present(sb.pkg / "hard-inside"));
  CHECK_FALSE(present(sb.pkg / "hard-escape"));
  CHECK(slurp(sb.pkg / "escape/owned") == "x");  // "escape" is a plain directory here
  struct stat st {};
  REQUIRE(::lstat((sb.pkg / "escape").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
}

TEST_CASE("extract skips device and fifo entries and does not create empty directories",
          "[store]") {
  Sandbox sb;
  auto x = sb.extract(make_tarball({
      {"package/null", "", 0666, TarEntry::CharDevice, ""},
      {"package/pipe", "", 0644, TarEntry::Fifo, ""},
      {"package/emptydir", "", 0700, TarEntry::Dir, ""},
      {"package/dir", "", 0700, TarEntry::Dir, ""},
      file("package/dir/f", "f"),
  }));
  CHECK(x.files == 1);
  CHECK_FALSE(present(sb.pkg / "null"));
  CHECK_FALSE(present(sb.pkg / "pipe"));
  CHECK_FALSE(present(sb.pkg / "emptydir"));
  // The directory entry's 0700 is ignored: directories are 0777 minus the umask.
  CHECK(mode_of(sb.pkg / "dir") == (0777u & ~testing::current_umask()));
}

TEST_CASE("extract normalises modes like pacote: (mode | 0666) minus the umask", "[store]") {
  Sandbox sb;
  sb.extract(make_tarball({
      file("package/plain", "x", 0644),
      file("package/exec", "x", 0755),
      file("package/owner-exec", "x", 0700),
      file("package/group-exec", "x", 0610),
      file("package/none", "x", 0000),
      file("package/setuid", "x", 04755),
      file("package/world-writable", "x", 0666),
  }));
  const mode_t um = testing::current_umask();
  CHECK(mode_of(sb.pkg / "plain") == (0666u & ~um));
  CHECK(mode_of(sb.pkg / "exec") == (0777u & ~um));
  CHECK(mode_of(sb.pkg / "owner-exec") == (0766u & ~um));
  CHECK(mode_of(sb.pkg / "group-exec") == (0676u & ~um));
  CHECK(mode_of(sb.pkg / "none") == (0666u & ~um));
  CHECK(mode_of(sb.pkg / "setuid") == (0777u & ~um));  // never setuid
  CHECK(mode_of(sb.pkg / "world-writable") == (0666u & ~um));
}

TEST_CASE("extract makes package.json bins executable", "[store]") {
  Sandbox sb;
  sb.extract(make_tarball({
      file("package/bin/cli.js", "#!/usr/bin/env node\n", 0644),
      file("package/other.js", "x", 0644),
      file("package/package.json",
           R"({"name":"x","version":"1.0.0","bin":{"x":"./bin/cli.js","y":"../escape"}})"),
  }));
  const mode_t um = testing::current_umask();
  CHECK(mode_of(sb.pkg / "bin/cli.js") == (0777u & ~um));
  CHECK(mode_of(sb.pkg / "other.js") == (0666u & ~um));

  Sandbox sb2;
  sb2.extract(make_tarball({
      file("package/package.json", R"({"name":"x","bin":"cli.js"})"),
      file("package/cli.js", "x", 0600),
  }));
  CHECK(mode_of(sb2.pkg / "cli.js") == (0777u & ~um));
}

TEST_CASE("extract renames .gitignore to .npmignore unless one came first", "[store]") {
  Sandbox sb;
  sb.extract(make_tarball({
      file("package/.gitignore", "root-gi"),
      file("package/sub/.npmignore", "sub-ni"),
      file("package/sub/.gitignore", "sub-gi"),
  }));
  CHECK(slurp(sb.pkg / ".npmignore") == "root-gi");
  CHECK_FALSE(present(sb.pkg / ".gitignore"));
  CHECK(slurp(sb.pkg / "sub/.npmignore") == "sub-ni");
  CHECK_FALSE(present(sb.pkg / "sub/.gitignore"));

  Sandbox kept;
  ExtractOptions options;
  options.rename_gitignore = false;
  kept.extract(make_tarball({file("package/.gitignore", "gi")}), options);
  CHECK(slurp(kept.pkg / ".gitignore") == "gi");
}

TEST_CASE("extract: a duplicate entry overwrites the contents, the first mode stays", "[store]") {
  Sandbox sb;
  auto x = sb.extract(make_tarball({
      file("package/dup", "first, and longer", 0644),
      file("package/dup", "second", 0755),
      file("package/package.json", R"({"v":1})"),
      file("package/package.json", R"({"v":2})"),
  }));
  CHECK(slurp(sb.pkg / "dup") == "second");
  CHECK(mode_of(sb.pkg / "dup") == (0666u & ~testing::current_umask()));
  CHECK(x.package_json == R"({"v":2})");
}

TEST_CASE("extract skips entries that clash with a file or a non-empty directory", "[store]") {
  Sandbox sb;
  auto x = sb.extract(make_tarball({
      file("package/f", "file"),
      file("package/f/g", "under a file"),
      file("package/d/x", "x"),
      file("package/d", "file over a directory"),
      file("package/e/y", "y"),
  }));
  CHECK(slurp(sb.pkg / "f") == "file");
  CHECK(slurp(sb.pkg / "d/x") == "x");
  CHECK(x.files == 3);
  CHECK(has_warning(x, "EEXIST"));
  CHECK(has_warning(x, "ENOTEMPTY"));
}

TEST_CASE("extract handles long and unicode names", "[store]") {
  Sandbox sb;
  std::string long_dir(120, 'd');
  std::string long_name(200, 'n');
  auto x = sb.extract(make_tarball({
      file("package/" + long_dir + "/" + long_name, "long"),
      file("package/\xc3\xbcn\xc3\xaf.txt", "u"),
  }));
  CHECK(x.files == 2);
  CHECK(slurp(sb.pkg / long_dir / long_name) == "long");
  CHECK(slurp(sb.pkg / "\xc3\xbcn\xc3\xaf.txt") == "u");
}

TEST_CASE("extract rejects bytes that are not a tarball", "[store]") {
  Sandbox sb;
  auto garbage =
      extract_tarball(std::string_view("this is not a tarball at all, not even close"), sb.pkg);
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().code == "TAR_BAD_ARCHIVE");

  std::string tgz = make_tarball({file("package/big", std::string(100000, 'z') + "end")});
  auto truncated = extract_tarball(std::string_view(tgz).substr(0, tgz.size() / 2), sb.pkg);
  REQUIRE_FALSE(truncated.ok());
  CHECK(truncated.error().code == "TAR_BAD_ARCHIVE");
}

TEST_CASE("extract skips an entry whose header is damaged", "[store]") {
  Sandbox sb;
  // Plain ustar: each short file is one 512-byte header and one 512-byte data block.
  std::string tar = make_tarball(
      {file("package/a", "a"), file("package/b", "b"), file("package/c", "c")}, Compression::None);
  REQUIRE(tar.size() >= 3 * 1024);
  tar[1024 + 100] ^= 0x7f;  // the mode field of b's header: its checksum no longer matches
  auto r = extract_tarball(tar, sb.pkg);
  REQUIRE(r.ok());
  CHECK(slurp(sb.pkg / "a") == "a");
  CHECK_FALSE(present(sb.pkg / "b"));
  CHECK(slurp(sb.pkg / "c") == "c");
  CHECK(has_warning(*r, "TAR_ENTRY_INVALID"));
}

TEST_CASE("extract handles thousands of small files", "[store]") {
  Sandbox sb;
  std::vector<TarEntry> entries;
  for (int i = 0; i < 3000; ++i) {
    entries.push_back(file("package/d" + std::to_string(i % 50) + "/f" + std::to_string(i) + ".js",
                           "module.exports = " + std::to_string(i) + ";\n"));
  }
  auto x = sb.extract(make_tarball(entries));
  CHECK(x.files == 3000);
  CHECK(slurp(sb.pkg / "d7/f2957.js") == "module.exports = 2957;\n");
}

}  // namespace lade::store
