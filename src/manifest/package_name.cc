#include "manifest/package_name.h"

#include <algorithm>
#include <array>

#include "manifest/js_string.h"
#include "manifest/url.h"

namespace lade::manifest {
namespace {

// Node's core module names as validate-npm-package-name lists them (it warns, not rejects).
constexpr std::array<std::string_view, 72> kBuiltinModules = {
    "_http_agent",
    "_http_client",
    "_http_common",
    "_http_incoming",
    "_http_outgoing",
    "_http_server",
    "_stream_duplex",
    "_stream_passthrough",
    "_stream_readable",
    "_stream_transform",
    "_stream_wrap",
    "_stream_writable",
    "_tls_common",
    "_tls_wrap",
    "assert",
    "assert/strict",
    "async_hooks",
    "buffer",
    "child_process",
    "cluster",
    "console",
    "constants",
    "crypto",
    "dgram",
    "diagnostics_channel",
    "dns",
    "dns/promises",
    "domain",
    "events",
    "fs",
    "fs/promises",
    "http",
    "http2",
    "https",
    "inspector",
    "inspector/promises",
    "module",
    "net",
    "os",
    "path",
    "path/posix",
    "path/win32",
    "perf_hooks",
    "process",
    "punycode",
    "querystring",
    "readline",
    "readline/promises",
    "repl",
    "stream",
    "stream/consumers",
    "stream/promises",
    "stream/web",
    "string_decoder",
    "sys",
    "timers",
    "timers/promises",
    "tls",
    "trace_events",
    "tty",
    "url",
    "util",
    "util/types",
    "v8",
    "vm",
    "wasi",
    "worker_threads",
    "zlib",
    "node:sea",
    "node:sqlite",
    "node:test",
    "node:test/reporters",
};

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool has_outer_space(std::string_view s) { return js_trim(s).size() != s.size(); }

bool url_friendly(std::string_view s) { return encode_uri_component(s) == s; }

}  // namespace

NameValidation validate_package_name(std::string_view name) {
  NameValidation v;
  auto& errors = v.errors;
  auto& warnings = v.warnings;
  if (name.empty()) errors.push_back("name length must be greater than zero");
  if (!name.empty() && name[0] == '.') errors.push_back("name cannot start with a period");
  if (!name.empty() && name[0] == '-') errors.push_back("name cannot start with a hyphen");
  if (!name.empty() && name[0] == '_') errors.push_back("name cannot start with an underscore");
  if (has_outer_space(name)) errors.push_back("name cannot contain leading or trailing spaces");
  const std::string lower = to_lower(name);
  for (std::string_view excluded : {"node_modules", "favicon.ico"}) {
    if (lower == excluded) errors.push_back(std::string(excluded) + " is not a valid package name");
  }

  if (std::find(kBuiltinModules.begin(), kBuiltinModules.end(), lower) != kBuiltinModules.end())
    warnings.push_back(std::string(name) + " is a core module name");
  if (name.size() > 214) warnings.push_back("name can no longer contain more than 214 characters");
  if (lower != name) warnings.push_back("name can no longer contain capital letters");
  std::string_view last =
      name.substr(name.rfind('/') == std::string_view::npos ? 0 : name.rfind('/') + 1);
  if (last.find_first_of("~'!()*") != std::string_view::npos)
    warnings.push_back("name can no longer contain special characters (\"~'!()*\")");

  if (!url_friendly(name)) {
    // Maybe a scoped name, "@scope/name": each half must be URL-friendly on its own.
    bool scoped_ok = false;
    const size_t slash = name.find('/');
    if (slash == std::string_view::npos) {
      // Matches the pattern without a scope; a missing scope never counts as URL-friendly.
      if (!name.empty() && name[0] == '.') {
        // already reported above; validate-npm-package-name reports it once more here
        errors.push_back("name cannot start with a period");
      }
    } else if (name[0] == '@' && slash > 1 && slash + 1 < name.size() &&
               name.find('/', slash + 1) == std::string_view::npos) {
      std::string_view scope = name.substr(1, slash - 1);
      std::string_view pkg = name.substr(slash + 1);
      if (pkg[0] == '.') errors.push_back("name cannot start with a period");
      scoped_ok = url_friendly(scope) && url_friendly(pkg);
    }
    if (!scoped_ok) errors.push_back("name can only contain URL-friendly characters");
  }
  v.valid_for_old_packages = errors.empty();
  v.valid_for_new_packages = errors.empty() && warnings.empty();
  return v;
}

}  // namespace lade::manifest
