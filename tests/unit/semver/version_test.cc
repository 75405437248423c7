// Version parsing, canonical form and precedence. Expected values were taken from node-semver
// 7.8 (the copy npm 11 bundles).
#include <catch2/catch.hpp>
#include <string>

#include "semver/semver.h"

using lade::semver::clean;
using lade::semver::coerce;
using lade::semver::IdentifierBase;
using lade::semver::inc;
using lade::semver::Options;
using lade::semver::truncate;
using lade::semver::valid;
using lade::semver::Version;

namespace {
const Options kLoose{true, false};
std::string canonical(std::string_view text, Options o = {}) {
  auto v = Version::parse(text, o);
  return v ? std::string(v->str()) : std::string("<invalid>");
}
}  // namespace

TEST_CASE("Version keeps canonical text without copying it twice", "[semver][version]") {
  auto v = Version::parse("1.2.3-beta.10+build.7");
  REQUIRE(v);
  CHECK(v->major() == 1);
  CHECK(v->minor() == 2);
  CHECK(v->patch() == 3);
  CHECK(v->str() == "1.2.3-beta.10");
  CHECK(v->prerelease_text() == "beta.10");
  CHECK(v->build_text() == "build.7");
  CHECK(v->raw() == "1.2.3-beta.10+build.7");
  auto pre = v->prerelease();
  REQUIRE(pre.size() == 2);
  CHECK_FALSE(pre[0].is_number());
  CHECK(pre[1].is_number());
  CHECK(pre[1].number() == 10);

  auto padded = Version::parse("  v1.2.3  ");
  REQUIRE(padded);
  CHECK(padded->str() == "1.2.3");
  CHECK(padded->raw() == "  v1.2.3  ");
}

TEST_CASE("loose mode accepts what the registry is full of, node-semver's way",
          "[semver][version]") {
  CHECK(canonical(" =v1.2.3beta ", kLoose) == "1.2.3-beta");
  CHECK(canonical("01.02.03-04", kLoose) == "1.2.3-4");
  CHECK(canonical("=1.2.3") == "<invalid>");
  // The patch gives its last digit to a hyphen-less prerelease when that is the only match.
  CHECK(canonical("1.2.34.5", kLoose) == "1.2.3-4.5");
  // A lone trailing '-' becomes a prerelease identifier "-" when the hyphen is optional.
  CHECK(canonical("1.2.3-", kLoose) == "1.2.3--");
  CHECK(canonical("1.2.3-") == "<invalid>");
  CHECK(canonical("1.2.3-.a", kLoose) == "1.2.3--.a");
}

TEST_CASE("limits: length, MAX_SAFE_INTEGER, JavaScript white space", "[semver][version]") {
  CHECK(canonical("\xC2\xA0"
                  "1.2.3\xE2\x80\xA8") == "1.2.3");  // U+00A0, U+2028
  CHECK(canonical(std::string(251, ' ') + "1.2.3") == "1.2.3");
  CHECK(canonical(std::string(252, ' ') + "1.2.3") == "<invalid>");
  CHECK(canonical("\xF0\x9F\x98\x80"
                  "1.2.3") == "<invalid>");  // not white space
  CHECK(canonical("9007199254740991.0.0") == "9007199254740991.0.0");
  CHECK(canonical("9007199254740992.0.0") == "<invalid>");
  // Prerelease numbers stop being numbers at MAX_SAFE_INTEGER.
  CHECK(Version::parse("1.0.0-9007199254740990")->prerelease()[0].is_number());
  CHECK_FALSE(Version::parse("1.0.0-9007199254740991")->prerelease()[0].is_number());
}

TEST_CASE("precedence follows semver and node-semver's number rounding", "[semver][version]") {
  auto v = [](std::string_view t) { return *Version::parse(t); };
  CHECK(v("1.2.3-alpha") < v("1.2.3-alpha.1"));
  CHECK(v("1.2.3-alpha.1") < v("1.2.3-alpha.beta"));
  CHECK(v("1.2.3-beta.2") < v("1.2.3-beta.11"));
  CHECK(v("1.2.3-rc.1") < v("1.2.3"));
  CHECK(v("1.2.3+a") == v("1.2.3+b"));
  CHECK(v("1.2.3+a").compare_build(v("1.2.3+b")) < 0);
  CHECK(v("1.2.3").compare_build(v("1.2.3+0")) < 0);
  // Digit strings beyond 2^53 compare as doubles: these two round to the same value, and the
  // comparison stops there.
  CHECK(v("1.0.0-9007199254740993.1").compare(v("1.0.0-9007199254740992.2")) == 0);
}

TEST_CASE("valid, clean, coerce", "[semver][version]") {
  CHECK(valid("v1.2.3") == "1.2.3");
  CHECK_FALSE(valid("1.2"));
  CHECK(clean(" =v1.2.3 ") == "1.2.3");
  CHECK(clean("=v=v1.2.3") == "1.2.3");
  CHECK_FALSE(clean("1.2.3 x"));
  CHECK(coerce("v2")->str() == "2.0.0");
  CHECK(coerce("42.6.7.9.3-alpha")->str() == "42.6.7");
  CHECK_FALSE(coerce("12345678901234567890"));
  auto with_pre = coerce("a9007199254740991-beta.00", Options{false, true});
  REQUIRE(with_pre);
  CHECK(with_pre->str() == "9007199254740991.0.0-beta");
}

TEST_CASE("inc and truncate", "[semver][version]") {
  CHECK(inc("1.2.3", "minor") == "1.3.0");
  CHECK(inc("1.2.3-alpha.1", "prerelease") == "1.2.3-alpha.2");
  CHECK(inc("1.2.3", "prepatch", {}, "rc", IdentifierBase::kOne) == "1.2.4-rc.1");
  CHECK(inc("1.2.3", "prerelease", {}, "rc", IdentifierBase::kNone) == "1.2.4-rc");
  CHECK_FALSE(inc("1.2.3", "prerelease", {}, "", IdentifierBase::kNone));
  CHECK_FALSE(inc("1.2.3", "prerelease", {}, "bad!"));
  CHECK_FALSE(inc("1.2.3", "release"));
  // isNaN("0x1A") is false in JavaScript, so "alpha.0x1A" counts as already numbered.
  CHECK(inc("1.2.3-alpha.0x1A", "prerelease", {}, "alpha") == "1.2.3-alpha.0x1A.0");
  CHECK(inc("1.2.3-alpha.beta", "prerelease", {}, "alpha") == "1.2.3-alpha.0");
  CHECK(truncate("1.2.3-beta+b", "minor") == "1.2.0");
  CHECK(truncate("1.2.3-beta", "prerelease") == "1.2.3-beta");
  CHECK_FALSE(truncate("1.2.3", "release"));
}
