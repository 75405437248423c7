#include "store/linker.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"
#include "tarball_builder.h"
#include "util/fs.h"
#include "util/thread_pool.h"

namespace lade::store {
namespace {

using testing::file;
using testing::make_tarball;
using testing::mode_of;

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  ::lstat(p.c_str(), &st);
  return st;
}

/// Whether FICLONE works inside `dir` (it does on btrfs/xfs, not on ext4 or tmpfs).
bool reflink_supported(const fs::path& dir) {
  fs::path a = dir / "probe-a", b = dir / "probe-b";
  (void)util::write_file_atomic(a, "probe");
  int src = ::open(a.c_str(), O_RDONLY);
  int dst = ::open(b.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  bool ok = src >= 0 && dst >= 0 && ::ioctl(dst, FICLONE, src) == 0;
  if (src >= 0) ::close(src);
  if (dst >= 0) ::close(dst);
  fs::remove(a);
  fs::remove(b);
  return ok;
}

/// A store with one package: 3 files (one executable) in nested folders, plus a symlink
/// added by hand (tarballs never bring links, other sources of store entries might).
struct LinkFixture {
  util::TempDir dir = util::TempDir::create({}, "lade-linker-test-").value();
  Store store{dir.path() / "cache"};
  fs::path package;
  fs::path node_modules = dir.path() / "project" / "node_modules";

  LinkFixture() {
    std::string tgz = make_tarball({
        file("package/package.json", R"({"name":"p","version":"1.0.0"})"),
        file("package/bin/run", "#!/bin/sh\necho hi\n", 0755),
        file("package/lib/deep/a.js", std::string(10000, 'a')),
    });
    auto r = store.add_tarball(tgz, "", "", "p@1.0.0");
    REQUIRE(r.ok());
    package = r->dir;
    REQUIRE(::symlink("lib/deep/a.js", (package / "alias.js").c_str()) == 0);
  }

  void check_tree(const fs::path& dest) {
    CHECK(util::read_file(dest / "package.json").value() == R"({"name":"p","version":"1.0.0"})");
    CHECK(util::read_file(dest / "lib/deep/a.js").value() == std::string(10000, 'a'));
    CHECK(mode_of(dest / "bin/run") == mode_of(package / "bin/run"));
    CHECK(mode_of(dest / "package.json") == mode_of(package / "package.json"));
    CHECK(fs::is_symlink(dest / "alias.js"));
    CHECK(fs::read_symlink(dest / "alias.js") == "lib/deep/a.js");
  }
};

/// Links `package` to node_modules/place(i) for i in [0, count), from 4 threads; the errors.
std::vector<std::string> link_in_parallel(Linker& linker, const fs::path& package, const fs::path& node_modules,
                                          int count, const std::function<fs::path(int)>& place) {
  util::ThreadPool pool(4);
  std::mutex mu;
  std::vector<std::string> errors;
  for (int i = 0; i < count; ++i) {
    pool.post([&, i] {
      auto r = linker.link(package, node_modules / place(i));
      if (!r.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        errors.push_back(r.error().message);
      }
    });
  }
  pool.wait_idle();
  return errors;
}

}  // namespace

TEST_CASE("parse_link_mode", "[store]") {
  CHECK(parse_link_mode("auto") == LinkMode::Auto);
  CHECK(parse_link_mode("clone") == LinkMode::Reflink);
  CHECK(parse_link_mode("reflink") == LinkMode::Reflink);
  CHECK(parse_link_mode("hardlink") == LinkMode::Hardlink);
  CHECK(parse_link_mode("copy") == LinkMode::Copy);
  CHECK_FALSE(parse_link_mode("symlink"));
  CHECK(std::string(link_mode_name(LinkMode::Hardlink)) == "hardlink");
}

TEST_CASE("Linker copy mode makes independent copies", "[store]") {
  LinkFixture f;
  Linker linker(LinkMode::Copy);
  fs::path dest = f.node_modules / "p";
  auto r = linker.link(f.package, dest);
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  f.check_tree(dest);
  CHECK(r->files_copied == 3);
  CHECK(r->files() == 3);
  CHECK(r->symlinks == 1);
  CHECK(r->directories == 3);  // bin, lib, lib/deep
  CHECK(r->bytes_copied == 10000 + 18 + 30);
  CHECK(stat_of(dest / "lib/deep/a.js").st_ino != stat_of(f.package / "lib/deep/a.js").st_ino);
  CHECK(linker.totals().files_copied == 3);
}

TEST_CASE("Linker tells whether the package's top folder has a binding.gyp", "[store]") {
  // The installer's node-gyp check (npm's isNodeGypPackage) takes this instead of a stat.
  util::TempDir dir = util::TempDir::create({}, "lade-linker-gyp-").value();
  Store store{dir.path() / "cache"};
  auto with = store.add_tarball(make_tarball({file("package/package.json", R"({"name":"g","version":"1.0.0"})"),
                                               file("package/binding.gyp", "{}")}),
                                "", "", "g@1.0.0");
  auto deep = store.add_tarball(make_tarball({file("package/package.json", R"({"name":"d","version":"1.0.0"})"),
                                               file("package/src/binding.gyp", "{}")}),
                                "", "", "d@1.0.0");
  REQUIRE(with.ok());
  REQUIRE(deep.ok());
  Linker linker;
  auto a = linker.link(with->dir, dir.path() / "node_modules" / "g");
  auto b = linker.link(deep->dir, dir.path() / "node_modules" / "d");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->root_binding_gyp);
  CHECK_FALSE(b->root_binding_gyp);  // only the top folder counts
}

TEST_CASE("Linker hardlink mode shares inodes with the store", "[store]") {
  LinkFixture f;
  Linker linker(LinkMode::Hardlink);
  fs::path dest = f.node_modules / "p";
  auto r = linker.link(f.package, dest);
  REQUIRE(r.ok());
  f.check_tree(dest);
  CHECK(r->files_hardlinked == 3);
  CHECK(r->bytes_copied == 0);
  CHECK(stat_of(dest / "lib/deep/a.js").st_ino == stat_of(f.package / "lib/deep/a.js").st_ino);
}

namespace {

/// The inode flags of a directory (FS_IOC_GETFLAGS); nullopt where the file system has none.
std::optional<int> inode_flags(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return std::nullopt;
  int flags = 0;
  bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  ::close(fd);
  return ok ? std::optional<int>(flags) : std::nullopt;
}

}  // namespace

TEST_CASE("node_modules folders and the store's build folder hold unrelated trees", "[store]") {
  LinkFixture f;
  Linker linker(LinkMode::Hardlink);
  const fs::path nested = f.node_modules / "p" / "node_modules";
  REQUIRE(linker.link(f.package, f.node_modules / "p").ok());
  REQUIRE(linker.link(f.package, nested / "q").ok());
  f.check_tree(nested / "q");
  const bool has_flags = inode_flags(f.node_modules).has_value();
  CHECK(util::mark_subdirectories_unrelated(f.dir.path() / "project") == has_flags);
  if (!has_flags) return;  // tmpfs and friends: nothing to check, and nothing failed
  CHECK((*inode_flags(f.node_modules) & FS_TOPDIR_FL) != 0);
  CHECK((*inode_flags(nested) & FS_TOPDIR_FL) != 0);
  CHECK((*inode_flags(f.dir.path() / "project") & FS_TOPDIR_FL) != 0);
  // Package folders themselves are ordinary: their subfolders belong together.
  CHECK((*inode_flags(f.node_modules / "p") & FS_TOPDIR_FL) == 0);
  CHECK((*inode_flags(f.node_modules / "p" / "lib") & FS_TOPDIR_FL) == 0);
  // The store builds each entry in tmp/ before renaming it into place.
  CHECK((*inode_flags(f.dir.path() / "cache" / "tmp") & FS_TOPDIR_FL) != 0);
  // Marking twice is fine, and a file is no folder.
  CHECK(util::mark_subdirectories_unrelated(f.node_modules));
  CHECK_FALSE(util::mark_subdirectories_unrelated(f.node_modules / "p" / "package.json"));
}

TEST_CASE("Linker reflink mode clones or says the file system cannot", "[store]") {
  LinkFixture f;
  Linker linker(LinkMode::Reflink);
  fs::path dest = f.node_modules / "p";
  auto r = linker.link(f.package, dest);
  if (reflink_supported(f.dir.path())) {
    REQUIRE(r.ok());
    f.check_tree(dest);
    CHECK(r->files_reflinked == 3);
    CHECK(stat_of(dest / "lib/deep/a.js").st_ino != stat_of(f.package / "lib/deep/a.js").st_ino);
  } else {
    REQUIRE_FALSE(r.ok());
    CHECK((r.error().code == "EOPNOTSUPP" || r.error().code == "ENOTSUP" ||
           r.error().code == "EXDEV" || r.error().code == "EINVAL"));
    CHECK(r.error().message.find("cannot reflink") != std::string::npos);
  }
}

TEST_CASE("Linker auto mode falls back and remembers per device", "[store]") {
  LinkFixture f;
  Linker linker(LinkMode::Auto);
  const dev_t src_dev = stat_of(f.package).st_dev;
  fs::path first = f.node_modules / "p";
  auto r = linker.link(f.package, first);
  REQUIRE(r.ok());
  f.check_tree(first);
  CHECK(r->files() == 3);
  const dev_t dst_dev = stat_of(first).st_dev;
  auto learned = linker.learned_mode(src_dev, dst_dev);
  REQUIRE(learned);
  if (reflink_supported(f.dir.path())) {
    CHECK(*learned == LinkMode::Reflink);
    CHECK(r->files_reflinked == 3);
  } else {
    CHECK(*learned == LinkMode::Hardlink);
    CHECK(r->files_hardlinked == 3);
  }
  auto second = linker.link(f.package, f.node_modules / "q" / "node_modules" / "p");
  REQUIRE(second.ok());
  CHECK(second->files() == 3);
  CHECK(linker.totals().files() == 6);
}

TEST_CASE("Linker auto mode copies across devices", "[store]") {
  LinkFixture f;
  const fs::path shm = "/dev/shm";
  if (::access(shm.c_str(), W_OK) != 0 || stat_of(shm).st_dev == stat_of(f.package).st_dev) {
    WARN("no writable second file system here; cross-device fallback not exercised");
    return;
  }
  auto other = util::TempDir::create(shm, "lade-linker-test-");
  REQUIRE(other.ok());
  Linker linker(LinkMode::Auto);
  fs::path dest = other->path() / "node_modules" / "p";
  auto r = linker.link(f.package, dest);
  REQUIRE(r.ok());
  f.check_tree(dest);
  CHECK(r->files_copied == 3);
  CHECK(linker.learned_mode(stat_of(f.package).st_dev, stat_of(dest).st_dev) == LinkMode::Copy);

  Linker hard(LinkMode::Hardlink);
  auto refused = hard.link(f.package, other->path() / "node_modules" / "h");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == "EXDEV");
}

TEST_CASE("Linker auto mode: a method learnt on one device pair is only a first guess on another",
          "[store]") {
  LinkFixture f;
  Linker linker(LinkMode::Auto);
  auto first = linker.link(f.package, f.node_modules / "p");
  REQUIRE(first.ok());
  const LinkMode same_device = *linker.learned_mode(stat_of(f.package).st_dev,
                                                    stat_of(f.node_modules / "p").st_dev);
  // Same pair again: the guess holds, every file goes the learnt way.
  auto second = linker.link(f.package, f.node_modules / "q");
  REQUIRE(second.ok());
  f.check_tree(f.node_modules / "q");
  CHECK(second->files() == 3);
  CHECK((same_device == LinkMode::Reflink ? second->files_reflinked : second->files_hardlinked) ==
        3);

  const fs::path shm = "/dev/shm";
  if (::access(shm.c_str(), W_OK) != 0 || stat_of(shm).st_dev == stat_of(f.package).st_dev) {
    WARN("no writable second file system here; the failed guess is not exercised");
    return;
  }
  auto other = util::TempDir::create(shm, "lade-linker-test-");
  REQUIRE(other.ok());
  fs::path dest = other->path() / "node_modules" / "p";
  auto across = linker.link(f.package, dest);
  INFO((across.ok() ? "" : across.error().message));
  REQUIRE(across.ok());
  f.check_tree(dest);
  CHECK(across->files_copied == 3);
  CHECK(linker.learned_mode(stat_of(f.package).st_dev, stat_of(dest).st_dev) == LinkMode::Copy);
  // Two pairs known now: each package looks at its devices again, and gets its own pair's way.
  auto back = linker.link(f.package, f.node_modules / "r");
  REQUIRE(back.ok());
  CHECK(back->files_copied == 0);
  auto again = linker.link(f.package, other->path() / "node_modules" / "q");
  REQUIRE(again.ok());
  CHECK(again->files_copied == 3);
}

TEST_CASE("Linker replaces files already at the destination", "[store]") {
  LinkFixture f;
  fs::path dest = f.node_modules / "p";
  fs::create_directories(dest / "lib");
  REQUIRE(util::write_file_atomic(dest / "package.json", "old").ok());
  REQUIRE(util::write_file_atomic(dest / "extra.js", "kept").ok());
  REQUIRE(::symlink("elsewhere", (dest / "alias.js").c_str()) == 0);
  for (LinkMode mode : {LinkMode::Copy, LinkMode::Hardlink, LinkMode::Auto}) {
    Linker linker(mode);
    auto r = linker.link(f.package, dest);
    REQUIRE(r.ok());
    f.check_tree(dest);
    CHECK(util::read_file(dest / "extra.js").value() == "kept");
  }
}

TEST_CASE("Linker links many packages in parallel from a thread pool", "[store]") {
  LinkFixture f;
  Linker linker(LinkMode::Auto);
  constexpr int kPackages = 40;
  CHECK(link_in_parallel(linker, f.package, f.node_modules, kPackages, [](int i) { return "p" + std::to_string(i); })
            .empty());
  CHECK(linker.totals().files() == 3 * kPackages);
  CHECK(linker.totals().symlinks == kPackages);
  f.check_tree(f.node_modules / "p17");
}

TEST_CASE("Linker creates the destination's missing parents", "[store]") {
  LinkFixture f;
  Linker linker(LinkMode::Hardlink);
  fs::path dest = f.node_modules / "a" / "node_modules" / "@scope" / "p";
  auto r = linker.link(f.package, dest);
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  f.check_tree(dest);
  CHECK(r->directories == 3);  // made below dest, not counting dest or its parents
}

TEST_CASE("Linker never writes through a symlink standing where a folder goes", "[store]") {
  LinkFixture f;
  fs::path dest = f.node_modules / "p";
  fs::path outside = f.dir.path() / "outside";
  fs::create_directories(dest);
  fs::create_directories(outside);
  REQUIRE(::symlink(outside.c_str(), (dest / "lib").c_str()) == 0);
  for (LinkMode mode : {LinkMode::Copy, LinkMode::Hardlink, LinkMode::Auto}) {
    Linker linker(mode);
    auto r = linker.link(f.package, dest);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "ENOTDIR");
    CHECK(r.error().message.find(dest.string() + "/lib") != std::string::npos);
    CHECK(fs::is_empty(outside));
  }
}

TEST_CASE("Linker refuses a file standing where a folder goes", "[store]") {
  LinkFixture f;
  fs::path dest = f.node_modules / "p";
  fs::create_directories(dest);
  REQUIRE(util::write_file_atomic(dest / "lib", "a file").ok());
  Linker linker(LinkMode::Hardlink);
  auto r = linker.link(f.package, dest);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "ENOTDIR");
}

TEST_CASE("Linker walks deep and wide trees", "[store]") {
  util::TempDir dir = util::TempDir::create({}, "lade-linker-test-").value();
  // Deeper than any fd budget per level would allow comfortably, and a folder with more
  // entries than one getdents buffer holds.
  fs::path src = dir.path() / "src";
  fs::path deep = src;
  for (int i = 0; i < 200; ++i) deep /= "d";
  fs::create_directories(deep);
  REQUIRE(util::write_file_atomic(deep / "leaf.js", "leaf").ok());
  fs::create_directories(src / "wide");
  constexpr int kWide = 2000;
  for (int i = 0; i < kWide; ++i) {
    std::string name = "file-with-a-fairly-long-name-" + std::to_string(i) + ".js";
    REQUIRE(util::write_file_atomic(src / "wide" / name, std::to_string(i)).ok());
  }
  Linker linker(LinkMode::Auto);
  fs::path dest = dir.path() / "node_modules" / "p";
  auto r = linker.link(src, dest);
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  CHECK(r->files() == kWide + 1);
  CHECK(r->directories == 201);
  fs::path deep_dest = dest;
  for (int i = 0; i < 200; ++i) deep_dest /= "d";
  CHECK(util::read_file(deep_dest / "leaf.js").value() == "leaf");
  CHECK(util::read_file(dest / "wide" / "file-with-a-fairly-long-name-1999.js").value() == "1999");
  size_t listed = 0;
  for (auto it = fs::directory_iterator(dest / "wide"); it != fs::directory_iterator(); ++it) ++listed;
  CHECK(listed == kWide);
}

TEST_CASE("Linker reports a missing source", "[store]") {
  util::TempDir dir = util::TempDir::create({}, "lade-linker-test-").value();
  Linker linker;
  auto r = linker.link(dir.path() / "nope", dir.path() / "dest");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "ENOENT");
}

namespace {

/// The names in `dir` that start with the staging prefix.
std::vector<std::string> staging_folders_in(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.starts_with(kStagingPrefix)) names.push_back(name);
  }
  return names;
}

}  // namespace

TEST_CASE("Linker builds new package folders in staging folders and renames them into place", "[store]") {
  LinkFixture f;
  fs::create_directories(f.node_modules);
  Linker linker(LinkMode::Auto);
  linker.stage_in(f.node_modules);
  constexpr int kPackages = 40;
  auto place = [](int i) {
    // Top-level, scoped and nested places, all of them under node_modules. A nested package
    // may make its parent's folder before the parent is renamed there.
    if (i % 3 == 1) return fs::path("@scope") / ("p" + std::to_string(i));
    if (i % 3 == 2) return fs::path("p" + std::to_string(i - 2)) / "node_modules" / ("q" + std::to_string(i));
    return fs::path("p" + std::to_string(i));
  };
  CHECK(link_in_parallel(linker, f.package, f.node_modules, kPackages, place).empty());
  CHECK(linker.totals().files() == 3 * kPackages);
  for (int i = 0; i < kPackages; ++i) f.check_tree(f.node_modules / place(i));
  // One staging folder for 16 new package folders at most, each empty once they moved out.
  const auto staging = staging_folders_in(f.node_modules);
  CHECK(!staging.empty());
  CHECK(staging.size() <= (kPackages + Linker::kPackagesPerStagingFolder - 1) / Linker::kPackagesPerStagingFolder);
  for (const auto& name : staging) CHECK(fs::is_empty(f.node_modules / name));
  linker.remove_staging();
  CHECK(staging_folders_in(f.node_modules).empty());
}

TEST_CASE("Linker staging: a folder already in place is linked into, and what is in it stays", "[store]") {
  LinkFixture f;
  const fs::path dest = f.node_modules / "p";
  fs::create_directories(dest / "node_modules" / "q");
  REQUIRE(util::write_file_atomic(dest / "extra.js", "kept").ok());
  {
    Linker linker(LinkMode::Auto);
    linker.stage_in(f.node_modules);
    REQUIRE(linker.link(f.package, dest).ok());
    f.check_tree(dest);
    CHECK(util::read_file(dest / "extra.js").value() == "kept");
    CHECK(fs::is_directory(dest / "node_modules" / "q"));
  }  // the destructor removes what staging made
  CHECK(staging_folders_in(f.node_modules).empty());
}

TEST_CASE("Linker staging: folders left by installs no longer running are removed", "[store]") {
  LinkFixture f;
  // A pid above any pid_max (2^22) is no process; this one is.
  const fs::path abandoned = f.node_modules / (std::string(kStagingPrefix) + "99999999-0-0");
  const fs::path running = f.node_modules / (std::string(kStagingPrefix) + std::to_string(::getpid()) + "-9-0");
  fs::create_directories(abandoned / "3" / "lib");
  fs::create_directories(running / "5");
  REQUIRE(util::write_file_atomic(abandoned / "3" / "lib" / "a.js", "half").ok());
  Linker linker;
  linker.stage_in(f.node_modules);
  CHECK_FALSE(fs::exists(abandoned));
  CHECK(fs::exists(running / "5"));
  // Outside node_modules nothing is staged: the folder is made in place.
  const fs::path outside = f.dir.path() / "project" / "packages" / "w" / "node_modules" / "p";
  REQUIRE(linker.link(f.package, outside).ok());
  f.check_tree(outside);
  CHECK(staging_folders_in(f.node_modules) == std::vector<std::string>{running.filename().string()});
}

TEST_CASE("merge_folder moves a built package into a folder that appeared in its place", "[store]") {
  util::TempDir dir = util::TempDir::create({}, "lade-merge-test-").value();
  const fs::path built = dir.path() / "built", place = dir.path() / "place";
  fs::create_directories(built / "lib");
  fs::create_directories(built / "node_modules" / "bundled");
  fs::create_directories(place / "lib");
  fs::create_directories(place / "node_modules" / "nested");
  REQUIRE(util::write_file_atomic(built / "index.js", "new").ok());
  REQUIRE(util::write_file_atomic(built / "lib" / "a.js", "a").ok());
  REQUIRE(util::write_file_atomic(built / "node_modules" / "bundled" / "b.js", "b").ok());
  REQUIRE(::symlink("lib/a.js", (built / "alias.js").c_str()) == 0);
  REQUIRE(util::write_file_atomic(place / "index.js", "old").ok());
  REQUIRE(util::write_file_atomic(place / "lib" / "kept.js", "kept").ok());

  int from = ::open(built.c_str(), O_RDONLY | O_DIRECTORY);
  int to = ::open(place.c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE((from >= 0 && to >= 0));
  CHECK(merge_folder(from, to) == 0);
  ::close(from);
  ::close(to);

  CHECK(fs::is_empty(built));
  CHECK(util::read_file(place / "index.js").value() == "new");
  CHECK(util::read_file(place / "lib" / "a.js").value() == "a");
  CHECK(util::read_file(place / "lib" / "kept.js").value() == "kept");
  CHECK(util::read_file(place / "node_modules" / "bundled" / "b.js").value() == "b");
  CHECK(fs::is_directory(place / "node_modules" / "nested"));
  CHECK(fs::read_symlink(place / "alias.js") == "lib/a.js");
}

TEST_CASE("merge_folder refuses a folder where a file stands", "[store]") {
  util::TempDir dir = util::TempDir::create({}, "lade-merge-test-").value();
  const fs::path built = dir.path() / "built", place = dir.path() / "place";
  fs::create_directories(built / "lib");
  fs::create_directories(place);
  REQUIRE(util::write_file_atomic(place / "lib", "a file").ok());
  int from = ::open(built.c_str(), O_RDONLY | O_DIRECTORY);
  int to = ::open(place.c_str(), O_RDONLY | O_DIRECTORY);
  REQUIRE((from >= 0 && to >= 0));
  CHECK(merge_folder(from, to) == ENOTDIR);
  ::close(from);
  ::close(to);
  CHECK(util::read_file(place / "lib").value() == "a file");
}

}  // namespace lade::store
