#include "util/fs.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lade::util {
namespace {

TEST_CASE("remove_abandoned deletes what processes that are gone left, and only that", "[util][fs]") {
  TempDir dir = TempDir::create({}, "lade-fs-test-").value();
  // A process that has ended: its pid names nothing now.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  int status = 0;
  ::waitpid(child, &status, 0);
  const fs::path gone = dir.path() / (".aside-" + std::to_string(child));
  const fs::path running = dir.path() / (".aside-" + std::to_string(::getpid()));
  const fs::path other = dir.path() / ".other-1";
  for (const fs::path& p : {gone, running, other}) fs::create_directories(p / "inside");
  remove_abandoned(dir.path(), ".aside-");
  CHECK_FALSE(fs::exists(gone));
  CHECK(fs::exists(running / "inside"));
  CHECK(fs::exists(other));
}

TEST_CASE("remove_all_parallel deletes a whole tree and follows no link", "[util][fs]") {
  TempDir dir = TempDir::create({}, "lade-fs-test-").value();
  const fs::path tree = dir.path() / "node_modules";
  const fs::path outside = dir.path() / "outside";
  fs::create_directories(outside);
  REQUIRE(write_file_atomic(outside / "keep.txt", "kept").ok());
  for (int p = 0; p < 40; ++p) {
    const fs::path pkg = tree / ("pkg" + std::to_string(p)) / "lib" / "deep" / "er";
    fs::create_directories(pkg);
    for (int f = 0; f < 5; ++f) REQUIRE(write_file_atomic(pkg / ("f" + std::to_string(f) + ".js"), "x").ok());
  }
  fs::create_directories(tree / "@scope" / "a" / "node_modules" / "b");
  fs::create_directory_symlink(outside, tree / "@scope" / "link-out");
  fs::create_symlink("missing-target", tree / "dangling");
  remove_all_parallel(tree, 8);
  CHECK_FALSE(fs::exists(fs::symlink_status(tree)));
  CHECK(read_file(outside / "keep.txt").value() == "kept");
  remove_all_parallel(dir.path() / "never-was", 4);  // nothing there: nothing happens
}

TEST_CASE("MappedFile gives a file's bytes, mapped or read, and the errors read_file gives", "[util][fs]") {
  TempDir dir = TempDir::create({}, "lade-fs-test-").value();
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  REQUIRE(write_file_atomic(dir.path() / "big.json", big).ok());
  REQUIRE(write_file_atomic(dir.path() / "empty.json", "").ok());
  auto mapped = MappedFile::open(dir.path() / "big.json");
  REQUIRE(mapped.ok());
  CHECK(mapped->view() == big);
  MappedFile moved = std::move(*mapped);
  CHECK(moved.view() == big);
  auto empty = MappedFile::open(dir.path() / "empty.json");
  REQUIRE(empty.ok());
  CHECK(empty->view().empty());
  auto missing = MappedFile::open(dir.path() / "missing.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "ENOENT");
  // A folder opens but cannot be read: an error, as from read_file.
  CHECK_FALSE(MappedFile::open(dir.path()).ok());
}

TEST_CASE("write_file_atomic_and_open writes its pieces in order, however many", "[util][fs]") {
  TempDir dir = TempDir::create({}, "lade-fs-test-").value();
  // More pieces than one writev takes (IOV_MAX, 1024 here), empty ones among them, and one big
  // enough that a write may stop part-way through it.
  std::vector<std::string> owned;
  for (int i = 0; i < 2500; ++i) owned.push_back(i % 7 == 0 ? std::string() : std::to_string(i) + ",");
  owned.push_back(std::string(5 << 20, 'z'));
  owned.push_back("end");
  std::vector<std::string_view> pieces(owned.begin(), owned.end());
  std::string joined;
  for (const auto& piece : owned) joined += piece;
  auto fd = write_file_atomic_and_open(dir.path() / "joined.txt", pieces);
  REQUIRE(fd.ok());
  CHECK(read_file(dir.path() / "joined.txt").value() == joined);
  std::string through_fd(joined.size() + 1, '\0');
  const ssize_t got = ::pread(*fd, through_fd.data(), through_fd.size(), 0);
  ::close(*fd);
  REQUIRE(got == static_cast<ssize_t>(joined.size()));
  through_fd.resize(joined.size());
  CHECK(through_fd == joined);
  // No pieces at all: an empty file.
  auto empty = write_file_atomic_and_open(dir.path() / "empty.txt", std::span<const std::string_view>());
  REQUIRE(empty.ok());
  ::close(*empty);
  CHECK(read_file(dir.path() / "empty.txt").value().empty());
}

}  // namespace
}  // namespace lade::util
