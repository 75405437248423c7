#pragma once
// Just enough of the WHATWG URL parser (node's `new URL(input)`) for the URLs npm's spec parsing
// meets: git and tarball URLs, git host shortcuts ("github:user/repo"). Absolute URLs only.
#include <optional>
#include <string>
#include <string_view>

namespace lade::manifest {

struct Url {
  std::string protocol;  // scheme, lower-cased, with its ':' ("git+ssh:")
  std::string username;  // percent-encoded as in the input
  std::string password;
  std::string hostname;   // lower-cased for http(s)/ws(s)/ftp; as written otherwise
  std::string port;       // digits; empty when absent or the scheme's default
  std::string pathname;   // "/a/b", or an opaque path ("user/repo" in "github:user/repo")
  std::string search;     // "" or "?..."
  std::string hash;       // "" or "#..."
  bool has_host = false;  // an authority ("//...") was present, even an empty one

  std::string host() const { return port.empty() ? hostname : hostname + ":" + port; }
  /// The serialised URL, as `url.href` / `url.toString()` gives it.
  std::string href() const;
};

/// Parses an absolute URL; nullopt where `new URL(input)` throws. Differences from node: no
/// IDNA/punycode for non-ASCII host names, no IPv4/IPv6 address normalisation.
std::optional<Url> parse_url(std::string_view input);

/// decodeURIComponent; nullopt where it throws (a malformed escape or invalid UTF-8).
std::optional<std::string> decode_uri_component(std::string_view text);

/// encodeURIComponent (everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) is percent-encoded).
std::string encode_uri_component(std::string_view text);

}  // namespace lade::manifest
