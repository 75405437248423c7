#pragma once
// The small part of WHATWG URL parsing that registry configuration needs: scheme, host (with
// port, default ports dropped, lower-cased) and path, so that auth keys ("nerf darts") and
// same-host checks match the way npm's `new URL(...)` does.
#include <optional>
#include <string>
#include <string_view>

namespace lade::registry {

struct Url {
  std::string scheme;    // lower-case, without ':' ("https")
  std::string host;      // hostname[:port]; port omitted when it is the scheme's default
  std::string pathname;  // starts with '/', never empty
  std::string search;    // "?..." or empty
};

/// Parses an absolute http(s) URL. Returns nullopt for anything else (relative, other schemes,
/// missing host), which callers treat as "not a registry URL".
std::optional<Url> parse_url(std::string_view text);

/// npm's nerf dart: "//host[:port]/path/" of the URL's directory (the last path segment is dropped
/// unless the path ends in '/'). Empty when `url` does not parse.
/// Example: "https://registry.example/npm/" -> "//registry.example/npm/".
std::string nerf_dart(std::string_view url);

/// True when both URLs parse and have the same host (including port).
bool same_host(std::string_view a, std::string_view b);

/// Ensures exactly one trailing '/', as npm does for registry URLs.
std::string with_trailing_slash(std::string_view url);

}  // namespace lade::registry
