#pragma once
// JSON text the way node and npm see it: JSON.stringify's exact output (npm writes package.json
// with it) and JSON.parse's error messages (npm shows them for a broken package.json).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "manifest/manifest.h"

namespace lade::manifest {

/// The bytes of JavaScript's `JSON.stringify(value, null, indent)`: keys in the Json's order,
/// numbers as JavaScript prints them (1.0 -> 1, 1e21 -> 1e+21), non-ASCII text unescaped,
/// control characters as \u00xx. `indent` is cut to 10 characters like JSON.stringify does;
/// empty means the compact form.
std::string js_stringify(const Json& value, std::string_view indent = {});

/// Appends `text` (UTF-8) quoted and escaped as JSON.stringify quotes a string.
void append_js_string(std::string& out, std::string_view text);

/// Where and why JSON.parse (V8, as in node 20) rejects a text.
struct JsonSyntaxError {
  /// V8's message, e.g. "Expected ',' or '}' after property value in JSON at position 6".
  std::string v8_message;
  /// npm's (json-parse-even-better-errors) rewording of it, with the "while parsing ..."
  /// context, e.g. `Unexpected token "}" (0x7D), "{"a":}" is not valid JSON while parsing
  /// '{"a":}'`.
  std::string npm_message;
  size_t offset = 0;  // byte offset of the offending character (text size at end of input)
  size_t line = 1;    // 1-based
  size_t column = 1;  // 1-based, in characters
};

/// Checks `text` with JSON.parse's grammar; nullopt when it is valid JSON.
std::optional<JsonSyntaxError> find_json_syntax_error(std::string_view text);

}  // namespace lade::manifest
