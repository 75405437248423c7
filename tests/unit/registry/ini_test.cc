#include "registry/ini.h"

#include <catch2/catch.hpp>

#include "registry/url.h"

namespace lade::registry {
namespace {

const IniEntry* entry(const std::vector<IniEntry>& entries, const std::string& key) {
  for (const auto& e : entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

std::string value(const std::vector<IniEntry>& entries, const std::string& key) {
  const IniEntry* e = entry(entries, key);
  return e && !e->values.empty() ? e->values.back() : "<unset>";
}

TEST_CASE("ini: comments, blanks and trimming", "[registry][ini]") {
  auto entries = parse_ini(
      "; a comment\n"
      "   # another comment\n"
      "\n"
      "registry = http://127.0.0.1:4873/  \n"
      "save-exact=true\r\n"
      "  fund =   false ; trailing comment\n"
      "ignore-scripts\n");
  CHECK(value(entries, "registry") == "http://127.0.0.1:4873/");
  CHECK(value(entries, "save-exact") == "true");
  CHECK(value(entries, "fund") == "false");
  CHECK(value(entries, "ignore-scripts") == "true");  // a bare key means true
  CHECK(entries.size() == 4);
}

TEST_CASE("ini: quoted values and escapes", "[registry][ini]") {
  auto entries = parse_ini(
      "a = \"quoted ; not a comment\"\n"
      "b = 'single # quoted'\n"
      "c = \"line\\nbreak \\u00e9\"\n"
      "d = semi\\;colon \\# hash\n"
      "e = back\\slash\n"
      "f = \"unterminated\n");
  CHECK(value(entries, "a") == "quoted ; not a comment");
  CHECK(value(entries, "b") == "single # quoted");
  CHECK(value(entries, "c") == "line\nbreak \xc3\xa9");
  CHECK(value(entries, "d") == "semi;colon # hash");
  CHECK(value(entries, "e") == "back\\slash");
  CHECK(value(entries, "f") == "\"unterminated");
}

TEST_CASE("ini: arrays and repeated keys", "[registry][ini]") {
  auto entries = parse_ini(
      "ca[] = first\n"
      "ca[] = second\n"
      "omit = dev\n"
      "omit = optional\n"
      "include = dev\n"
      "include[] = peer\n");
  const IniEntry* ca = entry(entries, "ca");
  REQUIRE(ca);
  CHECK(ca->is_array);
  CHECK(ca->values == std::vector<std::string>{"first", "second"});
  const IniEntry* omit = entry(entries, "omit");
  REQUIRE(omit);
  CHECK_FALSE(omit->is_array);
  CHECK(omit->values == std::vector<std::string>{"optional"});  // last plain value wins
  const IniEntry* include = entry(entries, "include");
  REQUIRE(include);
  CHECK(include->values == std::vector<std::string>{"dev", "peer"});
}

TEST_CASE("ini: section contents are ignored, keys may contain colons and slashes",
          "[registry][ini]") {
  auto entries = parse_ini(
      "//127.0.0.1:4873/:_authToken=abc\n"
      "@scope:registry=http://127.0.0.1:4874/\n"
      "[section]\n"
      "hidden=1\n");
  CHECK(value(entries, "//127.0.0.1:4873/:_authToken") == "abc");
  CHECK(value(entries, "@scope:registry") == "http://127.0.0.1:4874/");
  CHECK(entry(entries, "hidden") == nullptr);
}

TEST_CASE("replace_env: npm's ${VAR} rules", "[registry][ini]") {
  Environment env{{"TOKEN", "s3cret"}, {"EMPTY", ""}};
  CHECK(replace_env("${TOKEN}", env) == "s3cret");
  CHECK(replace_env("a-${TOKEN}-b", env) == "a-s3cret-b");
  CHECK(replace_env("${MISSING}", env) == "${MISSING}");
  CHECK(replace_env("${MISSING?}", env) == "");
  CHECK(replace_env("${EMPTY}x", env) == "x");
  CHECK(replace_env("\\${TOKEN}", env) == "${TOKEN}");
  CHECK(replace_env("\\\\${TOKEN}", env) == "\\s3cret");
  CHECK(replace_env("$TOKEN and ${", env) == "$TOKEN and ${");
}

TEST_CASE("nerf_dart and URL parsing", "[registry][url]") {
  CHECK(nerf_dart("https://registry.example/") == "//registry.example/");
  CHECK(nerf_dart("https://registry.example/npm/") == "//registry.example/npm/");
  CHECK(nerf_dart("https://registry.example/npm") == "//registry.example/");
  CHECK(nerf_dart("https://REGISTRY.example:443/a/b/c.tgz?x=1#frag") == "//registry.example/a/b/");
  CHECK(nerf_dart("http://127.0.0.1:4873/") == "//127.0.0.1:4873/");
  CHECK(nerf_dart("http://user:pw@127.0.0.1:80/x/") == "//127.0.0.1/x/");
  CHECK(nerf_dart("not a url").empty());
  CHECK(same_host("http://127.0.0.1:4873/a", "http://127.0.0.1:4873/b/c"));
  CHECK_FALSE(same_host("http://127.0.0.1:4873/a", "http://127.0.0.1:4874/a"));
  CHECK(with_trailing_slash("http://127.0.0.1:4873") == "http://127.0.0.1:4873/");
  CHECK(with_trailing_slash("http://127.0.0.1:4873//") == "http://127.0.0.1:4873/");
  auto u = parse_url("https://[::1]:8443/p?q");
  REQUIRE(u);
  CHECK(u->host == "[::1]:8443");
  CHECK(u->pathname == "/p");
  CHECK(u->search == "?q");
}

}  // namespace
}  // namespace lade::registry
