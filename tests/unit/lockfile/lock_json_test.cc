#include "lockfile/lock_json.h"

#include <catch2/catch.hpp>

using namespace lade::lockfile;

TEST_CASE("lockfile: detect_json_format follows json-parse-even-better-errors", "[lockfile]") {
  auto fmt = [](std::string_view text) {
    JsonFormat f = detect_json_format(text);
    return f.indent + "|" + f.newline;
  };
  CHECK(fmt("{\n  \"a\": 1\n}\n") == "  |\n");
  CHECK(fmt("{\n\t\"a\": 1\n}") == "\t|\n");
  CHECK(fmt("{\r\n    \"a\": 1\r\n}") == "    |\r\n");
  CHECK(fmt("\xEF\xBB\xBF{\n   \"a\": 1}") == "   |\n");  // BOM skipped
  CHECK(fmt("  [\n\n  1]") == "  |\n\n");                 // every leading line break counts
  CHECK(fmt("{\"a\":1}") == "|");                         // no line break: nothing to copy
  CHECK(fmt("{ \n  \"a\": 1}") == "|");                   // space before the line break
  CHECK(fmt("{\n\"a\": 1}") == "|\n");
  CHECK(fmt("{}") == "  |\n");
  CHECK(fmt("{}\r\n") == "  |\r\n");
  CHECK(fmt("[]\n\n") == "  |\n\n");
}

TEST_CASE("lockfile: keys sort like json-stringify-nice with npm's key order", "[lockfile]") {
  Json doc = Json::parse(R"({
    "zeta": {"b": 1, "a": 2},
    "packages": {},
    "requires": true,
    "lockfileVersion": 3,
    "extra": "x",
    "name": "n",
    "version": "1.0.0",
    "list": [3, {"y": 1, "x": [true, null]}],
    "Alpha": 1.5
  })");
  std::string out = stringify_lockfile(doc, {"  ", "\n"});
  CHECK(out ==
        "{\n"
        "  \"name\": \"n\",\n"
        "  \"version\": \"1.0.0\",\n"
        "  \"lockfileVersion\": 3,\n"
        "  \"requires\": true,\n"
        "  \"Alpha\": 1.5,\n"
        "  \"extra\": \"x\",\n"
        "  \"list\": [\n"
        "    3,\n"
        "    {\n"
        "      \"x\": [\n"
        "        true,\n"
        "        null\n"
        "      ],\n"
        "      \"y\": 1\n"
        "    }\n"
        "  ],\n"
        "  \"packages\": {},\n"
        "  \"zeta\": {\n"
        "    \"a\": 2,\n"
        "    \"b\": 1\n"
        "  }\n"
        "}\n");
}

TEST_CASE("lockfile: lockfile keys use localeCompare order", "[lockfile]") {
  // Scoped before plain, '_' before '-' before '.' before '/', case after letters.
  std::vector<std::string> keys = {
      "node_modules/b",  "node_modules/a.b", "node_modules/a-b",  "node_modules/a_b",
      "node_modules/A",  "node_modules/a",   "node_modules/@z/y", "node_modules/a/node_modules/c",
      "node_modules/ab", "packages/a"};
  std::sort(keys.begin(), keys.end(), [](const std::string& a, const std::string& b) {
    return lockfile_key_less(a, true, b, true);
  });
  // (as node 20's localeCompare(b, 'en') orders them: '/' sorts after '_', '-' and '.')
  std::vector<std::string> expected = {"node_modules/@z/y",
                                       "node_modules/a",
                                       "node_modules/A",
                                       "node_modules/a_b",
                                       "node_modules/a-b",
                                       "node_modules/a.b",
                                       "node_modules/a/node_modules/c",
                                       "node_modules/ab",
                                       "node_modules/b",
                                       "packages/a"};
  CHECK(keys == expected);
  // Values that are not objects come first, whatever their keys.
  CHECK(lockfile_key_less("zzz", false, "aaa", true));
  CHECK_FALSE(lockfile_key_less("aaa", true, "zzz", false));
  // Preferred keys first within a group, in npm's order.
  CHECK(lockfile_key_less("dependencies", true, "bin", true));
  CHECK(lockfile_key_less("resolved", false, "integrity", false));
  CHECK(lockfile_key_less("integrity", false, "dev", false));
}

TEST_CASE("lockfile: stringify escapes like JSON.stringify and applies the format", "[lockfile]") {
  Json doc = Json::object();
  doc["s"] = "quote \" backslash \\ tab \t nl \n ctl \x01 unicode \xC3\xA9";
  CHECK(stringify_lockfile(doc, {"\t", "\r\n"}) ==
        "{\r\n\t\"s\": \"quote \\\" backslash \\\\ tab \\t nl \\n ctl \\u0001 unicode "
        "\xC3\xA9\"\r\n}\r\n");
  // An empty indent is npm's default of two spaces; indents are cut to ten characters.
  CHECK(stringify_lockfile(Json::parse(R"({"a":[]})"), {"", ""}) == "{\n  \"a\": []\n}\n");
  CHECK(stringify_lockfile(Json::parse(R"({"a":1})"), {std::string(12, ' '), "\n"}) ==
        "{\n" + std::string(10, ' ') + "\"a\": 1\n}\n");
}

TEST_CASE("lockfile: a streamed object is written as the same object in one document",
          "[lockfile]") {
  const Json packages = Json::parse(R"({
    "node_modules/b": {"version": "1.0.0", "dependencies": {"z": "^1", "a": "^2"}},
    "": {"name": "app", "version": "1.0.0"},
    "version": {"version": "2.0.0"},
    "node_modules/a": {},
    "node_modules/@s/x": {"version": "3.0.0", "license": "MIT"}
  })");
  for (const JsonFormat& format : {JsonFormat{}, JsonFormat{"\t", "\r\n"}}) {
    Json whole = Json::parse(R"({"name": "app", "lockfileVersion": 3, "requires": true})");
    whole["packages"] = packages;

    Json doc = Json::parse(R"({"name": "app", "lockfileVersion": 3, "requires": true})");
    doc["packages"] = Json::object();
    StreamedObject streamed;
    streamed.placeholder = &doc["packages"];
    std::vector<std::string> made;
    for (const auto& [key, _] : packages.items()) streamed.keys.push_back(key);
    streamed.value = [&](size_t i) {
      made.push_back(streamed.keys[i]);
      return packages[streamed.keys[i]];
    };
    CHECK(stringify_lockfile(doc, format, streamed) == stringify_lockfile(whole, format));
    CHECK(made.size() == packages.size());  // each entry made once, when written
  }

  // No members: an empty object, as for any empty object.
  Json doc = Json::parse(R"({"packages": {}})");
  StreamedObject none;
  none.placeholder = &doc["packages"];
  none.value = [](size_t) { return Json::object(); };
  CHECK(stringify_lockfile(doc, {}, none) == "{\n  \"packages\": {}\n}\n");
}
