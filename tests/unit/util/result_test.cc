// npm's exit statuses: 256 + errno for system errors, a script's own code, else 1.
#include "util/result.h"

#include <catch2/catch.hpp>
#include <cerrno>

using lade::util::Error;
using lade::util::errno_code;
using lade::util::exit_status_for;

TEST_CASE("exit status follows npm's", "[util][exit]") {
  CHECK(exit_status_for(Error{"ENOENT", "x"}) == 254);
  CHECK(exit_status_for(Error{"EACCES", "x"}) == 243);
  CHECK(exit_status_for(Error{"ENOSPC", "x"}) == 228);
  CHECK(exit_status_for(Error{"E404", "x"}) == 1);
  CHECK(exit_status_for(Error{"ERESOLVE", "x"}) == 1);
  CHECK(exit_status_for(Error{"ELIFECYCLE", "x", 7}) == 7);
  CHECK(errno_code(ENOENT) == "ENOENT");
  CHECK(errno_code(EROFS) == "EROFS");
}
