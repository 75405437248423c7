#include "registry/url.h"

#include <algorithm>
#include <cctype>

namespace lade::registry {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::optional<Url> parse_url(std::string_view text) {
  // Trim the C0 controls and spaces that the URL standard ignores around a URL.
  while (!text.empty() && static_cast<unsigned char>(text.front()) <= ' ') text.remove_prefix(1);
  while (!text.empty() && static_cast<unsigned char>(text.back()) <= ' ') text.remove_suffix(1);

  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  Url url;
  url.scheme = lower(text.substr(0, colon));
  if (url.scheme != "http" && url.scheme != "https") return std::nullopt;
  std::string_view rest = text.substr(colon + 1);
  if (rest.substr(0, 2) != "//") return std::nullopt;
  rest.remove_prefix(2);

  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);

  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);  // credentials are never part of the host
  }
  std::string_view hostname = authority;
  std::string_view port;
  // The port follows the last ':' unless that ':' is inside an IPv6 literal.
  size_t port_colon = authority.rfind(':');
  if (port_colon != std::string_view::npos &&
      authority.find(']', port_colon) == std::string_view::npos) {
    hostname = authority.substr(0, port_colon);
    port = authority.substr(port_colon + 1);
  }
  if (hostname.empty()) return std::nullopt;
  if (!std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  while (port.size() > 1 && port.front() == '0') port.remove_prefix(1);
  bool default_port = port.empty() || (url.scheme == "http" && port == "80") ||
                      (url.scheme == "https" && port == "443");
  url.host = lower(hostname);
  if (!default_port) url.host += ":" + std::string(port);

  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  size_t query = rest.find('?');
  if (query != std::string_view::npos) {
    url.search = std::string(rest.substr(query));
    rest = rest.substr(0, query);
  }
  url.pathname = rest.empty() ? "/" : std::string(rest);
  return url;
}

std::string nerf_dart(std::string_view text) {
  auto url = parse_url(text);
  if (!url) return {};
  // new URL('.', base): the directory part of the path, i.e. up to and including the last '/'.
  std::string dir = url->pathname.substr(0, url->pathname.rfind('/') + 1);
  return "//" + url->host + dir;
}

bool same_host(std::string_view a, std::string_view b) {
  auto ua = parse_url(a);
  auto ub = parse_url(b);
  return ua && ub && ua->host == ub->host;
}

std::string with_trailing_slash(std::string_view url) {
  std::string out(url);
  while (!out.empty() && out.back() == '/') out.pop_back();
  out += '/';
  return out;
}

}  // namespace lade::registry
