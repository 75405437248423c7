// JSON text as node sees it: JSON.stringify output and JSON.parse's (V8's) error messages, with
// npm's rewording. The error rows were produced by node 20 (JSON.parse) and npm 11's
// json-parse-even-better-errors on the same input.
#include "manifest/json_text.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace lade::manifest {
namespace {

// [text, V8 message or null when valid, npm's message]
const char* const kParseErrors = R"JSON([
["{\"a\":}", "Unexpected token '}', \"{\"a\":}\" is not valid JSON", "Unexpected token \"}\" (0x7D), \"{\"a\":}\" is not valid JSON while parsing '{\"a\":}'"],
["{\"a\":1,}", "Expected double-quoted property name in JSON at position 7", "Expected double-quoted property name in JSON at position 7 while parsing \"{\\\"a\\\":1,}\""],
["[1,]", "Unexpected token ']', \"[1,]\" is not valid JSON", "Unexpected token \"]\" (0x5D), \"[1,]\" is not valid JSON while parsing '[1,]'"],
["[1 2]", "Expected ',' or ']' after array element in JSON at position 3", "Expected ',' or ']' after array element in JSON at position 3 while parsing \"[1 2]\""],
["{\"a\" 1}", "Expected ':' after property name in JSON at position 5", "Expected ':' after property name in JSON at position 5 while parsing \"{\\\"a\\\" 1}\""],
["tru", "Unexpected end of JSON input", "Unexpected end of JSON input while parsing \"tru\""],
["{\"a\":tx}", "Unexpected token 'x', \"{\"a\":tx}\" is not valid JSON", "Unexpected token \"x\" (0x78), \"{\"a\":tx}\" is not valid JSON while parsing '{\"a\":tx}'"],
["\"abc", "Unterminated string in JSON at position 4", "Unterminated string in JSON at position 4 while parsing \"\\\"abc\""],
["{\"a\":\"\u0001\"}", "Bad control character in string literal in JSON at position 6", "Bad control character in string literal in JSON at position 6 while parsing \"{\\\"a\\\":\\\"\\u0001\\\"}\""],
["{\"a\":01}", "Unexpected number in JSON at position 6", "Unexpected number in JSON at position 6 while parsing \"{\\\"a\\\":01}\""],
["{\"a\":-}", "No number after minus sign in JSON at position 6", "No number after minus sign in JSON at position 6 while parsing \"{\\\"a\\\":-}\""],
["{\"a\":1.}", "Unterminated fractional number in JSON at position 7", "Unterminated fractional number in JSON at position 7 while parsing \"{\\\"a\\\":1.}\""],
["{\"a\":1e}", "Exponent part is missing a number in JSON at position 7", "Exponent part is missing a number in JSON at position 7 while parsing \"{\\\"a\\\":1e}\""],
["{\"a\":\"\\x\"}", "Bad escaped character in JSON at position 7", "Bad escaped character in JSON at position 7 while parsing \"{\\\"a\\\":\\\"\\\\x\\\"}\""],
["{\"a\":\"\\u12\"}", "Bad Unicode escape in JSON at position 10", "Bad Unicode escape in JSON at position 10 while parsing \"{\\\"a\\\":\\\"\\\\u12\\\"}\""],
["{} x", "Unexpected non-whitespace character after JSON at position 3", "Unexpected non-whitespace character after JSON at position 3 while parsing \"{} x\""],
["", "Unexpected end of JSON input", "Unexpected end of JSON input while parsing empty string"],
["   ", "Unexpected end of JSON input", "Unexpected end of JSON input while parsing \"   \""],
["{", "Expected property name or '}' in JSON at position 1", "Expected property name or '}' in JSON at position 1 while parsing \"{\""],
["[", "Unexpected end of JSON input", "Unexpected end of JSON input while parsing \"[\""],
["{\"a\"", "Expected ':' after property name in JSON at position 4", "Expected ':' after property name in JSON at position 4 while parsing \"{\\\"a\\\"\""],
["{\"a\":", "Unexpected end of JSON input", "Unexpected end of JSON input while parsing \"{\\\"a\\\":\""],
["{\"a\":1", "Expected ',' or '}' after property value in JSON at position 6", "Expected ',' or '}' after property value in JSON at position 6 while parsing \"{\\\"a\\\":1\""],
["}", "Unexpected token '}', \"}\" is not valid JSON", "Unexpected token \"}\" (0x7D), \"}\" is not valid JSON while parsing '}'"],
["{'a':1}", "Expected property name or '}' in JSON at position 1", "Expected property name or '}' in JSON at position 1 while parsing \"{'a':1}\""],
["{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":}", "Unexpected token '}', ...\"aaaaaaaa\":}\" is not valid JSON", "Unexpected token \"}\" (0x7D), ...\"aaaaaaaa\":}\" is not valid JSON while parsing '{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"],
["{\"a\":é}", "Unexpected token 'é', \"{\"a\":é}\" is not valid JSON", "Unexpected token \"é\" (0xE9), \"{\"a\":é}\" is not valid JSON while parsing '{\"a\":é}'"],
["{\"a\":1}\n\n\nx", "Unexpected non-whitespace character after JSON at position 10", "Unexpected non-whitespace character after JSON at position 10 while parsing \"{\\\"a\\\":1}\\n\\n\\nx\""],
["{\n  \"name\": \"x\",\n  \"version\": \"1.0.0\",\n}\n", "Expected double-quoted property name in JSON at position 39", "Expected double-quoted property name in JSON at position 39 while parsing near \"...\\\"version\\\": \\\"1.0.0\\\",\\n}\\n\""],
["{\n  \"name\": \"x\",\n  \"version\": 1.0.0\n}\n", "Expected ',' or '}' after property value in JSON at position 33", "Expected ',' or '}' after property value in JSON at position 33 while parsing near \"...x\\\",\\n  \\\"version\\\": 1.0.0\\n}\\n\""],
["{\"abcdefghij\":}xxxxxxxxxxxxxxxxxxxxxxxxxxxx", "Unexpected token '}', ...\"cdefghij\":}xxxxxxxxx\"... is not valid JSON", "Unexpected token \"}\" (0x7D), ...\"cdefghij\":}xxxxxxxxx\"... is not valid JSON while parsing '{\"abcdefghij\":}xxxxxxxxxxxxxxxxxxxxxxxxx'"],
["}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "Unexpected token '}', \"}xxxxxxxxx\"... is not valid JSON", "Unexpected token \"}\" (0x7D), \"}xxxxxxxxx\"... is not valid JSON while parsing '}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"],
["{\"é\":1,}", "Expected double-quoted property name in JSON at position 7", "Expected double-quoted property name in JSON at position 7 while parsing \"{\\\"é\\\":1,}\""],
["[\"\\\"\"  x]", "Expected ',' or ']' after array element in JSON at position 7", "Expected ',' or ']' after array element in JSON at position 7 while parsing \"[\\\"\\\\\\\"\\\"  x]\""]
])JSON";

TEST_CASE("find_json_syntax_error reproduces node's messages", "[manifest][json]") {
  const auto rows = nlohmann::json::parse(kParseErrors);
  REQUIRE(rows.size() > 30);
  for (const auto& row : rows) {
    const std::string text = row[0];
    INFO("input: " << row[0].dump());
    auto err = find_json_syntax_error(text);
    if (row[1].is_null()) {
      CHECK_FALSE(err);
      continue;
    }
    REQUIRE(err);
    CHECK(err->v8_message == row[1].get<std::string>());
    CHECK(err->npm_message == row[2].get<std::string>());
  }
}

TEST_CASE("find_json_syntax_error reports line and column", "[manifest][json]") {
  auto err = find_json_syntax_error("{\n  \"name\": \"x\",\n  \"version\": 1.0.0\n}\n");
  REQUIRE(err);
  CHECK(err->line == 3);
  CHECK(err->column == 17);
  CHECK(err->offset == 33);
  // Columns count characters, not bytes.
  auto wide = find_json_syntax_error("{\"\xC3\xA9\xC3\xA9\": x}");
  REQUIRE(wide);
  CHECK(wide->column == 8);
  CHECK_FALSE(find_json_syntax_error(" {\"a\": [1, 2.5e-3, true, null, \"\\u00e9\"]} \n"));
}

TEST_CASE("find_json_syntax_error survives deep nesting", "[manifest][json]") {
  std::string deep(100000, '[');
  auto err = find_json_syntax_error(deep);
  REQUIRE(err);
  CHECK(err->v8_message == "Unexpected end of JSON input");
}

TEST_CASE("js_stringify matches JSON.stringify", "[manifest][json]") {
  auto doc = Json::parse(
      R"({"b":1,"a":[1.0,2.5,1e21,1e-7,0.000001,-0.0,12345678901234],"s":"\u0001\"\\\n/é","e":{},"l":[]})");
  CHECK(
      js_stringify(doc) ==
      R"({"b":1,"a":[1,2.5,1e+21,1e-7,0.000001,0,12345678901234],"s":"\u0001\"\\\n/é","e":{},"l":[]})");
  CHECK(js_stringify(doc["a"], "  ") ==
        "[\n  1,\n  2.5,\n  1e+21,\n  1e-7,\n  0.000001,\n  0,\n  12345678901234\n]");
  CHECK(js_stringify(Json::parse(R"({"a":{"b":[]}})"), "\t") ==
        "{\n\t\"a\": {\n\t\t\"b\": []\n\t}\n}");
  // JSON.stringify uses at most 10 characters of a string indent.
  CHECK(js_stringify(Json::parse("[1]"), "123456789012") == "[\n12345678901\n]");
  CHECK(js_stringify(Json::parse("[0.1, 100, 1.5e300, 123e-20]")) == "[0.1,100,1.5e+300,1.23e-18]");
}

}  // namespace
}  // namespace lade::manifest
