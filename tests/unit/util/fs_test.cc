#include "util/fs.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

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

}  // namespace
}  // namespace lade::util
