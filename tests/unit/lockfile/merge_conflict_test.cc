#include "lockfile/merge_conflict.h"

#include <catch2/catch.hpp>

#include "manifest/manifest.h"

namespace lade::lockfile {
namespace {

manifest::Json parsed(const std::string& text) { return manifest::parse_json(text, "test").value(); }

TEST_CASE("merge conflict: our changes from the ancestor land on their side", "[lockfile][conflict]") {
  const std::string text =
      "{\n"
      "  \"a\": 1,\n"
      "<<<<<<< ours\n"
      "  \"b\": 2,\n"
      "  \"d\": 5,\n"
      "||||||| base\n"
      "  \"b\": 0,\n"
      "=======\n"
      "  \"b\": 3,\n"
      "  \"e\": 6,\n"
      ">>>>>>> theirs\n"
      "  \"c\": 4\n"
      "}\n";
  REQUIRE(has_merge_conflict(text));
  auto merged = resolve_merge_conflict(text, "package-lock.json");
  REQUIRE(merged.ok());
  CHECK(parsed(*merged) == parsed(R"({"a": 1, "b": 2, "e": 6, "c": 4, "d": 5})"));
}

TEST_CASE("merge conflict: without the ancestor's section, what is outside the markers is it",
          "[lockfile][conflict]") {
  const std::string text =
      "{\n  \"x\": {\n<<<<<<< HEAD\n    \"v\": \"1.0.0\"\n=======\n    \"v\": \"1.1.0\"\n>>>>>>> branch\n  }\n}\n";
  auto merged = resolve_merge_conflict(text, "package-lock.json");
  REQUIRE(merged.ok());
  CHECK(parsed(*merged) == parsed(R"({"x": {"v": "1.0.0"}})"));
  CHECK_FALSE(has_merge_conflict("{\"a\": \"=======\"}"));
}

TEST_CASE("merge conflict: a side that is not JSON is an error", "[lockfile][conflict]") {
  const std::string text = "{\n<<<<<<< a\n  \"b\": 1,\n=======\n  \"b\": 2\n>>>>>>> b\n}\n";
  auto merged = resolve_merge_conflict(text, "package-lock.json");
  REQUIRE_FALSE(merged.ok());
  CHECK(merged.error().code == "EJSONPARSE");
}

}  // namespace
}  // namespace lade::lockfile
