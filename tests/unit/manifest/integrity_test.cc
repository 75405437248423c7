// Subresource Integrity with npm's ssri semantics; expected strings come from ssri itself.
#include "manifest/integrity.h"

#include <catch2/catch.hpp>

namespace lade::manifest {
namespace {

constexpr std::string_view kData = "hello world\n";
constexpr const char* kSha512 =
    "sha512-2zl0qX8kB7fK4a5jfAAwaHoRkTJ01XhJJVjjnBbAF96E6s3Ixi/jTuThK0sUKIF/Cbaidgw/"
    "imZM6ulNJDSlkw==";
constexpr const char* kSha1 = "sha1-IlljY7PeQLBvmB+4XYIxLowO1RE=";

TEST_CASE("Integrity::parse groups hashes by algorithm like ssri", "[manifest][integrity]") {
  auto sri = Integrity::parse("sha1-AAA sha512-BBB?opt1?opt2 md5-CCC sha1-DDD bogus x-y sha3-EEE");
  CHECK(sri.to_string() == "sha1-AAA sha1-DDD sha512-BBB?opt1?opt2 md5-CCC");
  REQUIRE(sri.hashes("sha512"));
  CHECK(sri.hashes("sha512")->at(0).options == std::vector<std::string>{"opt1", "opt2"});
  CHECK(sri.pick_algorithm() == "sha512");
  CHECK(Integrity::parse("sha1-AAA sha256-BBB md5-CCC").pick_algorithm() == "sha256");
  CHECK(Integrity::parse("  \n").empty());
  CHECK(Integrity::parse("Sha512-abc").empty());  // algorithm names are lower case
  CHECK_FALSE(Integrity::parse("").pick_algorithm());
}

TEST_CASE("Integrity from data and from a hex shasum", "[manifest][integrity]") {
  CHECK(Integrity::from_data(kData).to_string() == kSha512);
  auto sha1 = Integrity::from_data(kData, util::HashAlgorithm::Sha1);
  CHECK(sha1.to_string() == kSha1);
  CHECK(sha1.hashes("sha1")->at(0).hex_digest() == "22596363b3de40b06f981fb85d82312e8c0ed511");
  CHECK(Integrity::from_hex("22596363b3de40b06f981fb85d82312e8c0ed511").to_string() == kSha1);
  CHECK(Integrity::from_hex("deadbeef", "sha1").to_string() == "sha1-3q2+7w==");
  CHECK(Integrity::from_hex("not hex").empty());
}

TEST_CASE("Integrity::match and merge", "[manifest][integrity]") {
  auto both = Integrity::parse(std::string(kSha512) + " " + kSha1);
  auto only1 = Integrity::parse(kSha1);
  auto m = both.match(only1);  // the strongest algorithm they share is sha1
  REQUIRE(m);
  CHECK(m->algorithm == "sha1");
  CHECK_FALSE(Integrity::parse("sha256-x").match(only1));

  auto merged = only1;
  REQUIRE(merged.merge(Integrity::parse(kSha512)).ok());
  CHECK(merged.to_string() == std::string(kSha1) + " " + kSha512);
  auto conflict = merged.merge(Integrity::parse("sha1-different"));
  REQUIRE_FALSE(conflict.ok());
  CHECK(conflict.error().code == "EINTEGRITY");
}

TEST_CASE("IntegrityChecker verifies streamed bytes", "[manifest][integrity]") {
  IntegrityChecker ok(Integrity::parse(kSha512));
  ok.update("hello ");
  ok.update("world\n");
  REQUIRE(ok.finish().ok());
  CHECK(ok.size() == 12);
  CHECK(ok.computed().to_string() == kSha512);

  // A sha1-only expectation is checked with sha1 (sha512 is computed as well, for the lockfile).
  IntegrityChecker legacy(Integrity::parse(kSha1));
  legacy.update(kData);
  REQUIRE(legacy.finish().ok());
  CHECK(legacy.computed().to_string() == std::string(kSha512) + " " + kSha1);

  // No expectation: nothing to fail, the integrity is only computed.
  IntegrityChecker none;
  none.update(kData);
  REQUIRE(none.finish().ok());
  CHECK(none.computed().to_string() == kSha512);
}

TEST_CASE("IntegrityChecker fails with npm's EINTEGRITY message", "[manifest][integrity]") {
  const std::string wrong =
      "sha512-"
      "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ==";
  IntegrityChecker bad(Integrity::parse(wrong));
  bad.update(kData);
  auto status = bad.finish();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == "EINTEGRITY");
  CHECK(status.error().message == wrong + " integrity checksum failed when using sha512: wanted " +
                                      wrong + " but got " + kSha512 + ". (12 bytes)");

  // The strongest expected algorithm decides, and "got" lists sha512 then that algorithm.
  IntegrityChecker mixed(Integrity::parse("sha1-AgICAgICAgICAgICAgICAgICAgI= sha256-bogus"));
  mixed.update(kData);
  auto s2 = mixed.finish();
  REQUIRE_FALSE(s2.ok());
  CHECK(s2.error().message ==
        "sha1-AgICAgICAgICAgICAgICAgICAgI= sha256-bogus integrity checksum failed when using "
        "sha256: wanted sha256-bogus but got " +
            std::string(kSha512) +
            " sha256-qUiQTy8PR5uPgZdpSzAYSw0u0cHNKh7A+4XSmaGSpEc=. (12 bytes)");

  // One matching digest among several for the algorithm is enough.
  IntegrityChecker any(Integrity::parse(wrong + " " + kSha512));
  any.update(kData);
  CHECK(any.finish().ok());

  // md5 alone cannot be checked by lade: refuse rather than pass.
  IntegrityChecker md5(Integrity::parse("md5-XrY7u+Ae7tCTyyK7j1rNww=="));
  md5.update(kData);
  auto s3 = md5.finish();
  REQUIRE_FALSE(s3.ok());
  CHECK(s3.error().code == "EINTEGRITY");
}

}  // namespace
}  // namespace lade::manifest
