#include "manifest/url.h"

#include <algorithm>
#include <vector>

namespace lade::manifest {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
int hex_value(char c) { return is_digit(c) ? c - '0' : (lower(c) - 'a' + 10); }

std::string_view default_port(std::string_view scheme) {
  if (scheme == "http" || scheme == "ws") return "80";
  if (scheme == "https" || scheme == "wss") return "443";
  if (scheme == "ftp") return "21";
  return {};
}

bool is_special(std::string_view scheme) {
  return scheme == "http" || scheme == "https" || scheme == "ws" || scheme == "wss" ||
         scheme == "ftp" || scheme == "file";
}

enum class EncodeSet { kC0, kFragment, kQuery, kSpecialQuery, kPath, kUserinfo };

bool needs_encoding(unsigned char c, EncodeSet set) {
  if (c < 0x20 || c >= 0x7F) return true;  // C0 controls, DEL and all non-ASCII bytes
  switch (set) {
    case EncodeSet::kC0:
      return false;
    case EncodeSet::kFragment:
      return c == ' ' || c == '"' || c == '<' || c == '>' || c == '`';
    case EncodeSet::kQuery:
      return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>';
    case EncodeSet::kSpecialQuery:
      return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>' || c == '\'';
    case EncodeSet::kPath:
      return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>' || c == '?' || c == '`' ||
             c == '{' || c == '}';
    case EncodeSet::kUserinfo:
      return c == ' ' || c == '"' || c == '#' || c == '<' || c == '>' || c == '?' || c == '`' ||
             c == '{' || c == '}' || c == '/' || c == ':' || c == ';' || c == '=' || c == '@' ||
             c == '[' || c == '\\' || c == ']' || c == '^' || c == '|';
  }
  return false;
}

std::string percent_encode(std::string_view s, EncodeSet set) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (needs_encoding(c, set)) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

/// Bytes-level percent-decoding (the URL standard's, which never fails).
std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_single_dot(std::string_view seg) { return seg == "." || seg == "%2e" || seg == "%2E"; }

bool is_double_dot(std::string_view seg) {
  std::string l;
  for (char c : seg) l += lower(c);
  return l == ".." || l == ".%2e" || l == "%2e." || l == "%2e%2e";
}

/// Parses a hierarchical path (already stripped of query and fragment), removing dot segments.
std::string parse_path(std::string_view path, bool special) {
  std::vector<std::string> segments;
  size_t i = 0;
  // A path-absolute input starts with a separator that is not itself a segment.
  if (!path.empty() && (path[0] == '/' || (special && path[0] == '\\'))) i = 1;
  bool done = path.empty() && !special;
  while (!done) {
    size_t j = i;
    while (j < path.size() && !(path[j] == '/' || (special && path[j] == '\\'))) ++j;
    std::string_view seg = path.substr(i, j - i);
    const bool last = j >= path.size();
    if (is_double_dot(seg)) {
      if (!segments.empty()) segments.pop_back();
      if (last) segments.emplace_back();
    } else if (is_single_dot(seg)) {
      if (last) segments.emplace_back();
    } else {
      segments.push_back(percent_encode(seg, EncodeSet::kPath));
    }
    if (last) done = true;
    i = j + 1;
  }
  std::string out;
  for (const auto& s : segments) {
    out += '/';
    out += s;
  }
  if (special && out.empty()) out = "/";
  return out;
}

bool is_forbidden_host_char(unsigned char c, bool opaque) {
  if (c == 0 || c == '\t' || c == '\n' || c == '\r' || c == ' ' || c == '#' || c == '/' ||
      c == ':' || c == '<' || c == '>' || c == '?' || c == '@' || c == '[' || c == '\\' ||
      c == ']' || c == '^' || c == '|')
    return true;
  if (opaque) return false;
  // Forbidden domain code points add the C0 controls, '%' and DEL.
  return c < 0x20 || c == '%' || c == 0x7F;
}

std::optional<std::string> parse_host(std::string_view input, bool special) {
  if (!special) {
    if (input.size() >= 2 && input.front() == '[' && input.back() == ']') return std::string(input);
    for (char c : input)
      if (is_forbidden_host_char(static_cast<unsigned char>(c), true)) return std::nullopt;
    return percent_encode(input, EncodeSet::kC0);
  }
  if (input.empty()) return std::nullopt;
  if (input.front() == '[') {
    if (input.back() != ']') return std::nullopt;
    return std::string(input);  // IPv6 literal, kept as written
  }
  std::string domain = percent_decode(input);
  std::string out;
  for (char c : domain) {
    if (is_forbidden_host_char(static_cast<unsigned char>(c), false)) return std::nullopt;
    out += lower(c);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace

std::string Url::href() const {
  std::string out = protocol;
  if (has_host) {
    out += "//";
    if (!username.empty() || !password.empty()) {
      out += username;
      if (!password.empty()) out += ":" + password;
      out += '@';
    }
    out += host();
  } else if (pathname.size() >= 2 && pathname[0] == '/' && pathname[1] == '/') {
    out += "/.";  // keeps "//x" from reading as an authority
  }
  out += pathname;
  out += search;
  out += hash;
  return out;
}

std::optional<Url> parse_url(std::string_view raw) {
  // Leading/trailing C0 controls and spaces go; tabs and newlines anywhere go.
  while (!raw.empty() && static_cast<unsigned char>(raw.front()) <= 0x20) raw.remove_prefix(1);
  while (!raw.empty() && static_cast<unsigned char>(raw.back()) <= 0x20) raw.remove_suffix(1);
  std::string input;
  for (char c : raw)
    if (c != '\t' && c != '\n' && c != '\r') input += c;

  if (input.empty() || !is_alpha(input[0])) return std::nullopt;
  size_t colon = 0;
  while (colon < input.size() &&
         (is_alpha(input[colon]) || is_digit(input[colon]) || input[colon] == '+' ||
          input[colon] == '-' || input[colon] == '.'))
    ++colon;
  if (colon >= input.size() || input[colon] != ':') return std::nullopt;

  Url url;
  std::string scheme;
  for (size_t i = 0; i < colon; ++i) scheme += lower(input[i]);
  url.protocol = scheme + ":";
  const bool special = is_special(scheme);
  std::string_view rest = std::string_view(input).substr(colon + 1);

  // Fragment and query come off the end first.
  if (size_t h = rest.find('#'); h != std::string_view::npos) {
    url.hash = "#" + percent_encode(rest.substr(h + 1), EncodeSet::kFragment);
    rest = rest.substr(0, h);
  }
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    url.search = "?" + percent_encode(rest.substr(q + 1),
                                      special ? EncodeSet::kSpecialQuery : EncodeSet::kQuery);
    rest = rest.substr(0, q);
  }
  auto is_sep = [&](char c) { return c == '/' || (special && c == '\\'); };

  bool authority = false;
  if (special && scheme != "file") {
    // Special schemes read an authority after any number of slashes.
    while (!rest.empty() && is_sep(rest.front())) rest.remove_prefix(1);
    authority = true;
  } else if (rest.size() >= 2 && is_sep(rest[0]) && is_sep(rest[1])) {
    rest.remove_prefix(2);
    authority = true;
  }

  if (authority) {
    size_t end = 0;
    while (end < rest.size() && !is_sep(rest[end])) ++end;
    std::string_view auth = rest.substr(0, end);
    rest = rest.substr(end);
    if (size_t at = auth.rfind('@'); at != std::string_view::npos) {
      std::string_view creds = auth.substr(0, at);
      auth = auth.substr(at + 1);
      size_t c = creds.find(':');
      url.username = percent_encode(creds.substr(0, c), EncodeSet::kUserinfo);
      if (c != std::string_view::npos)
        url.password = percent_encode(creds.substr(c + 1), EncodeSet::kUserinfo);
      if (auth.empty()) return std::nullopt;  // credentials without a host
    }
    // host[:port]; a ':' inside [...] belongs to an IPv6 literal.
    size_t port_colon = std::string_view::npos;
    bool in_brackets = false;
    for (size_t i = 0; i < auth.size(); ++i) {
      if (auth[i] == '[') in_brackets = true;
      if (auth[i] == ']') in_brackets = false;
      if (auth[i] == ':' && !in_brackets) {
        port_colon = i;
        break;
      }
    }
    std::string_view host_text = auth.substr(0, port_colon);
    if (port_colon != std::string_view::npos) {
      std::string_view port = auth.substr(port_colon + 1);
      if (!std::all_of(port.begin(), port.end(), is_digit)) return std::nullopt;
      size_t digits_start = port.find_first_not_of('0');
      std::string trimmed = digits_start == std::string_view::npos
                                ? (port.empty() ? "" : "0")
                                : std::string(port.substr(digits_start));
      if (trimmed.size() > 5 || (!trimmed.empty() && std::stoul(trimmed) > 65535))
        return std::nullopt;
      if (trimmed != default_port(scheme)) url.port = trimmed;
      if (host_text.empty()) return std::nullopt;  // a port without a host
    }
    if (special && scheme != "file") {
      auto host = parse_host(host_text, true);
      if (!host) return std::nullopt;
      url.hostname = *host;
    } else if (scheme == "file") {
      auto host = host_text.empty() ? std::optional<std::string>("") : parse_host(host_text, true);
      if (!host) return std::nullopt;
      url.hostname = *host == "localhost" ? "" : *host;
    } else {
      auto host = parse_host(host_text, false);
      if (!host) return std::nullopt;
      url.hostname = *host;
    }
    url.has_host = true;
    url.pathname = parse_path(rest, special);
  } else if (scheme == "file") {
    url.has_host = true;  // file URLs always serialise an (empty) host
    url.pathname = parse_path(rest, true);
  } else if (!rest.empty() && rest.front() == '/') {
    url.pathname = parse_path(rest, false);
  } else {
    // Opaque path ("github:user/repo", "mailto:x"): only controls are encoded.
    url.pathname = percent_encode(rest, EncodeSet::kC0);
  }
  return url;
}

std::optional<std::string> decode_uri_component(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '%') {
      out += text[i++];
      continue;
    }
    auto byte_at = [&](size_t at) -> int {
      if (at + 2 >= text.size()) return -1;
      if (text[at] != '%' || !is_hex(text[at + 1]) || !is_hex(text[at + 2])) return -1;
      return hex_value(text[at + 1]) * 16 + hex_value(text[at + 2]);
    };
    int b = byte_at(i);
    if (b < 0) return std::nullopt;
    if (b < 0x80) {
      out += static_cast<char>(b);
      i += 3;
      continue;
    }
    // A multi-byte character must arrive as a complete, valid UTF-8 sequence of escapes.
    int len = (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0) return std::nullopt;
    char32_t cp = static_cast<char32_t>(len == 2 ? b & 0x1F : len == 3 ? b & 0x0F : b & 0x07);
    std::string bytes(1, static_cast<char>(b));
    for (int k = 1; k < len; ++k) {
      int c = byte_at(i + 3 * static_cast<size_t>(k));
      if (c < 0 || (c >> 6) != 2) return std::nullopt;
      cp = (cp << 6) | static_cast<char32_t>(c & 0x3F);
      bytes += static_cast<char>(c);
    }
    const char32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
    out += bytes;
    i += 3 * static_cast<size_t>(len);
  }
  return out;
}

std::string encode_uri_component(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (is_alpha(ch) || is_digit(ch) || c == '-' || c == '_' || c == '.' || c == '!' || c == '~' ||
        c == '*' || c == '\'' || c == '(' || c == ')') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace lade::manifest
