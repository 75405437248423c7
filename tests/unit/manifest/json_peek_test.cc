#include "manifest/json_peek.h"

#include <catch2/catch.hpp>

namespace lade::manifest {
namespace {

TEST_CASE("peek_top_level_strings reads only top-level strings", "[manifest][json_peek]") {
  const auto fields = peek_top_level_strings(
      R"({"name":"npm","nested":{"version":"0.0.1"},"files":["version"],"version":"11.19.1","x":1})",
      {"name", "version", "x"});
  REQUIRE(fields);
  CHECK(fields->size() == 2);
  CHECK(fields->at("name") == "npm");
  CHECK(fields->at("version") == "11.19.1");
}

TEST_CASE("peek_top_level_strings: escapes, duplicates and what is not an object", "[manifest][json_peek]") {
  auto escaped = peek_top_level_strings(R"({"n\u0061me":"a\"b","name":"c"})", {"name"});
  REQUIRE(escaped);
  CHECK(escaped->at("name") == "c");  // the last of duplicate keys, as JSON.parse
  auto first = peek_top_level_strings(R"({"name":"a\"b"})", {"name"});
  REQUIRE(first);
  CHECK(first->at("name") == "a\"b");
  auto replaced = peek_top_level_strings(R"({"version":"1.0.0","version":2})", {"version"});
  REQUIRE(replaced);
  CHECK(replaced->empty());
  CHECK_FALSE(peek_top_level_strings("[1,2]", {"name"}));
  CHECK_FALSE(peek_top_level_strings("not json", {"name"}));
}

}  // namespace
}  // namespace lade::manifest
