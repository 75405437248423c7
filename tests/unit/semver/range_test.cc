// Range desugaring, testing and the range functions. Expected values were taken from
// node-semver 7.8 (the copy npm 11 bundles).
#include <catch2/catch.hpp>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "semver/semver.h"

using namespace lade::semver;

namespace {
const Options kLoose{true, false};
const Options kPre{false, true};
std::string canon(std::string_view range, Options o = {}) {
  return valid_range(range, o).value_or("<invalid>");
}
}  // namespace

TEST_CASE("desugaring: caret, tilde, x-ranges, hyphens, stars", "[semver][range]") {
  CHECK(canon("^0.0.1") == ">=0.0.1 <0.0.2-0");
  CHECK(canon("^0.1.2") == ">=0.1.2 <0.2.0-0");
  CHECK(canon("^0.0") == "<0.1.0-0");
  CHECK(canon("^0") == "<1.0.0-0");
  CHECK(canon("^0.0.1-beta") == ">=0.0.1-beta <0.0.2-0");
  CHECK(canon("^00.0.1", kLoose) == ">=0.0.1 <1.0.0-0");  // "00" is not "0" to the caret rule
  CHECK(canon("~> 1") == ">=1.0.0 <2.0.0-0");
  CHECK(canon("~>1.2") == ">=1.2.0 <1.3.0-0");
  CHECK(canon(">1.2") == ">=1.3.0");
  CHECK(canon("<=1.2") == "<1.3.0-0");
  CHECK(canon(">1") == ">=2.0.0");
  CHECK(canon("<=1") == "<2.0.0-0");
  CHECK(canon(">=1.2.x") == ">=1.2.0");
  CHECK(canon("=1.x") == ">=1.0.0 <2.0.0-0");
  CHECK(canon("<1.x") == "<1.0.0-0");
  CHECK(canon("1.2.3+build - 2.0.0+x") == ">=1.2.3 <=2.0.0");
  CHECK(canon("1.2.3-beta - 2.0.0-rc.1") == ">=1.2.3-beta <=2.0.0-rc.1");
  CHECK(canon("1.2.3 +x - 2.0.0") == "<invalid>");  // stripping "+x" leaves two spaces
  CHECK(canon(">=*") == "*");
  CHECK(canon("<*") == "<0.0.0-0");
  CHECK(canon("") == "*");
  CHECK(canon("x.x.x") == "*");
  CHECK(canon(">=0.0.0") == "*");
  CHECK(canon("1.2.3 || * || 2") == "*");
  CHECK(canon("<0.0.0-0 || 1") == ">=1.0.0 <2.0.0-0");
  CHECK(canon(">1 <1 || <0.0.0-0") == ">=2.0.0 <1.0.0-0");
  CHECK(canon("^1.2.3", kPre) == ">=1.2.3 <2.0.0-0");
  CHECK(canon("1.2 - 1.4", kPre) == ">=1.2.0-0 <1.5.0-0");
  CHECK(canon("1.x", kPre) == ">=1.0.0-0 <2.0.0-0");
  CHECK(canon("^9007199254740990") == ">=9007199254740990.0.0 <9007199254740991.0.0-0");
  CHECK(canon("^9007199254740991") == "<invalid>");  // the upper bound is not a safe integer
  CHECK(canon("~99999999999999999999", kLoose) == "<invalid>");
}

TEST_CASE("loose mode drops words that are not comparators", "[semver][range]") {
  CHECK(canon("> = 1.2.3") == "<invalid>");
  CHECK(canon("> = 1.2.3", kLoose) == "1.2.3");
  CHECK(canon("foo || 1.2.3", kLoose) == "1.2.3");
  CHECK(canon("foo", kLoose) == "<invalid>");
  CHECK(canon("foo || 1.2.3") == "<invalid>");
}

TEST_CASE("Range::test and the prerelease rule", "[semver][range]") {
  auto r = Range::parse("^1.2.3-beta.1");
  REQUIRE(r);
  CHECK(r->test(std::string_view("1.2.3-beta.2")));
  CHECK_FALSE(r->test(std::string_view("1.2.4-beta")));
  CHECK(r->test(std::string_view("1.9.0")));
  CHECK_FALSE(r->test(std::string_view("not a version")));
  CHECK(satisfies("1.2.4-beta", "^1.2.3-beta.1", kPre));
  CHECK(r->str() == ">=1.2.3-beta.1 <2.0.0-0");
  CHECK(Range::parse("*")->str().empty());
}

TEST_CASE("max_satisfying and min_satisfying keep node-semver's tie rules", "[semver][range]") {
  std::vector<std::string> list = {"1.0.0", "1.0.0+b", "0.9.0", "not-a-version", "2.0.0-rc.1"};
  CHECK(max_satisfying(list, "*") == 0u);  // equal precedence: the first one wins
  CHECK(max_satisfying(list, ">=2.0.0-0") == 4u);
  CHECK_FALSE(max_satisfying(list, "^3"));
  CHECK_FALSE(max_satisfying(list, "not a range"));
  std::vector<std::string> reversed = {"1.0.0+b", "1.0.0", "2.0.0"};
  CHECK(min_satisfying(reversed, "*") == 0u);

  std::vector<Version> parsed;
  for (const char* t : {"1.0.0", "1.5.0", "1.5.0+b", "2.0.0"}) parsed.push_back(*Version::parse(t));
  CHECK(max_satisfying(std::span<const Version>(parsed), *Range::parse("^1")) == 1u);
}

TEST_CASE("intersects, gtr/ltr, subset", "[semver][range]") {
  CHECK(intersects("^1.2.3", "~1.3") == true);
  CHECK(intersects("^1.2.3", "2.x") == false);
  CHECK_FALSE(intersects("^1.2.3", "not a range"));
  CHECK(gtr("2.0.0", "^1.2.3") == true);
  CHECK(ltr("1.0.0", "^1.2.3") == true);
  CHECK(gtr("1.5.0", "^1.2.3") == false);
  CHECK_FALSE(gtr("nope", "^1.2.3"));
  CHECK(subset("^1.2.3", "1.x") == true);
  CHECK(subset("1.x", "^1.2.3") == false);
  CHECK(subset(">=1.2.3-pre", ">=1.0.0") == false);
  // node-semver shares the memoized comparator list of equal alternatives between ranges, and
  // subset() takes a shared list as a subset without looking at it.
  CHECK(subset("5.0.0 || >2 <1", "5.0.0 || >2  <1") == true);
  CHECK(subset("5.0.0 || >2 <1", "5.0.0 || >=3.0.0 <1.0.0-0") == false);
  CHECK(subset("5.0.0 || >2 <1", "5.0.0 || >2+b <1") == true);
}

TEST_CASE("hostile input stays linear and does not recurse deeply", "[semver][range]") {
  std::string ids = "1.2.3-a";
  for (int i = 0; i < 100000; ++i) ids += ".a";
  CHECK_FALSE(Version::parse(ids));  // longer than 256
  CHECK(canon(ids) == "<invalid>");
  CHECK(canon(ids, kLoose) == "<invalid>");
  std::string many = "1.2.3";
  for (int i = 0; i < 20000; ++i) many += " || ^1.2.3";
  auto r = Range::parse(many);
  REQUIRE(r);
  CHECK(r->set().size() == 20001);
  CHECK(r->test(std::string_view("1.5.0")));
}

TEST_CASE("Range::shared parses each text once per option set", "[semver][range]") {
  const Range* a = Range::shared("^1.2.3", kLoose);
  REQUIRE(a != nullptr);
  CHECK(a == Range::shared("^1.2.3", kLoose));
  CHECK(a->str() == Range::parse("^1.2.3", kLoose)->str());
  CHECK(a->test(std::string_view("1.9.0")));
  CHECK_FALSE(a->test(std::string_view("2.0.0")));
  // The same text under other options is another object.
  const Range* strict = Range::shared("^1.2.3");
  REQUIRE(strict != nullptr);
  CHECK(strict != a);
  CHECK(strict->options().loose == false);
  // A text parse() refuses gives nullptr, every time.
  CHECK(Range::shared("not a range") == nullptr);
  CHECK(Range::shared("not a range") == nullptr);
  CHECK(Range::shared("1.2.3beta") == nullptr);
  CHECK(Range::shared("1.2.3beta", kLoose) != nullptr);

  // Threads asking for the same texts at once all get the one object.
  std::vector<std::thread> threads;
  std::vector<const Range*> seen(8);
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&seen, t] {
      for (int i = 0; i < 200; ++i) {
        const Range* r = Range::shared(">=" + std::to_string(i) + ".0.0 <" + std::to_string(i + 1));
        if (i == 7) seen[t] = r;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const Range* r : seen) CHECK(r == seen[0]);
  CHECK(seen[0]->test(std::string_view("7.5.0")));
}
