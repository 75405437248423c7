// manifest/git_revs.h against what @npmcli/git's lines-to-revs and GitFetcher make of the same
// `git ls-remote` output.
#include "manifest/git_revs.h"

#include <catch2/catch.hpp>

using lade::manifest::find_commit;
using lade::manifest::find_semver_commit;
using lade::manifest::parse_ls_remote;

namespace {

const char* kRemote =
    "cf2310e5e8bf3cc3612a66313dd5e4b51857d5ab\tHEAD\n"
    "cf2310e5e8bf3cc3612a66313dd5e4b51857d5ab\trefs/heads/main\n"
    "1111111111111111111111111111111111111111\trefs/heads/feature\n"
    "70cc6432a32ce95ad7944bce04c4ce743bc05b05\trefs/tags/v1.0.0\n"
    "c271dad9b7080c094e06283f9f458998fb01b67f\trefs/tags/v1.1.0\n"
    "4420e2f2dbeb6a75856ca22a2ed1e002291de0b1\trefs/tags/v1.1.0^{}\n"
    "2222222222222222222222222222222222222222\trefs/tags/release-2.0.0\n"
    "3333333333333333333333333333333333333333\trefs/pull/7/head\n";

}  // namespace

TEST_CASE("parse_ls_remote names refs the way lines-to-revs does", "[git]") {
  auto revs = parse_ls_remote(kRemote);
  REQUIRE(revs.refs.count("HEAD"));
  CHECK(revs.refs.at("main").sha == "cf2310e5e8bf3cc3612a66313dd5e4b51857d5ab");
  CHECK(revs.refs.at("refs/heads/main").type == "branch");
  CHECK(revs.refs.at("pull/7").sha == "3333333333333333333333333333333333333333");
  // An annotated tag points at its commit, by either name, and its "^{}" entry is gone.
  CHECK(revs.refs.at("v1.1.0").sha == "4420e2f2dbeb6a75856ca22a2ed1e002291de0b1");
  CHECK(revs.refs.at("refs/tags/v1.1.0").sha == "4420e2f2dbeb6a75856ca22a2ed1e002291de0b1");
  CHECK(revs.refs.count("v1.1.0^{}") == 0);
  // Versions come from tags, with or without a prefix.
  CHECK(revs.versions.count("1.0.0"));
  CHECK(revs.versions.at("1.1.0").sha == "4420e2f2dbeb6a75856ca22a2ed1e002291de0b1");
  CHECK(revs.versions.count("2.0.0"));
}

TEST_CASE("find_commit resolves refs and advertised shas", "[git]") {
  auto revs = parse_ls_remote(kRemote);
  CHECK(find_commit(revs, "") ==
        std::optional<std::string>("cf2310e5e8bf3cc3612a66313dd5e4b51857d5ab"));
  CHECK(find_commit(revs, "feature") ==
        std::optional<std::string>("1111111111111111111111111111111111111111"));
  CHECK(find_commit(revs, "v1.0.0") ==
        std::optional<std::string>("70cc6432a32ce95ad7944bce04c4ce743bc05b05"));
  CHECK(find_commit(revs, "70cc6432a32ce95ad7944bce04c4ce743bc05b05") ==
        std::optional<std::string>("70cc6432a32ce95ad7944bce04c4ce743bc05b05"));
  // A short sha or an expression is not advertised: only a clone can tell.
  CHECK_FALSE(find_commit(revs, "70cc643"));
  CHECK_FALSE(find_commit(revs, "HEAD~1"));
}

TEST_CASE("find_semver_commit picks the highest tagged version in range", "[git]") {
  auto revs = parse_ls_remote(kRemote);
  CHECK(find_semver_commit(revs, "^1.0.0") ==
        std::optional<std::string>("4420e2f2dbeb6a75856ca22a2ed1e002291de0b1"));
  CHECK(find_semver_commit(revs, "~1.0.0") ==
        std::optional<std::string>("70cc6432a32ce95ad7944bce04c4ce743bc05b05"));
  CHECK(find_semver_commit(revs, "*") ==
        std::optional<std::string>("2222222222222222222222222222222222222222"));
  CHECK_FALSE(find_semver_commit(revs, "^3"));
}

TEST_CASE("find_semver_commit prefers the version HEAD is tagged with", "[git]") {
  // lines-to-revs makes the version on HEAD the "latest" dist-tag; npm-pick-manifest takes it
  // whenever it satisfies the range.
  auto revs = parse_ls_remote(
      "aaaa000000000000000000000000000000000000\tHEAD\n"
      "aaaa000000000000000000000000000000000000\trefs/heads/main\n"
      "aaaa000000000000000000000000000000000000\trefs/tags/v1.0.0\n"
      "bbbb000000000000000000000000000000000000\trefs/tags/v1.5.0\n");
  CHECK(find_semver_commit(revs, "^1.0.0") ==
        std::optional<std::string>("aaaa000000000000000000000000000000000000"));
  CHECK(find_semver_commit(revs, ">1.0.0") ==
        std::optional<std::string>("bbbb000000000000000000000000000000000000"));
}
