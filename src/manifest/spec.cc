#include "manifest/spec.h"

#include <cstdlib>
#include <vector>

#include "manifest/js_string.h"
#include "manifest/package_name.h"
#include "manifest/url.h"

namespace lade::manifest {
namespace {

using util::make_error;

// ---------------------------------------------------------------------------------------------
// Text tests npm-package-arg makes with regular expressions.

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (lower(s[i]) != prefix[i]) return false;
  return true;
}

bool ends_with_icase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && starts_with_icase(s.substr(s.size() - suffix.size()), suffix);
}

/// /^(?:git[+])?[a-z]+:/i
bool is_url(std::string_view s) {
  if (starts_with_icase(s, "git+")) {
    // "git+" is optional: "git+x:" and "git:" (via backtracking, "git" itself) both match.
    std::string_view rest = s.substr(4);
    size_t i = 0;
    while (i < rest.size() && lower(rest[i]) >= 'a' && lower(rest[i]) <= 'z') ++i;
    if (i > 0 && i < rest.size() && rest[i] == ':') return true;
  }
  size_t i = 0;
  while (i < s.size() && lower(s[i]) >= 'a' && lower(s[i]) <= 'z') ++i;
  return i > 0 && i < s.size() && s[i] == ':';
}

bool is_line_terminator_free(std::string_view s) {
  return s.find_first_of("\n\r") == std::string_view::npos &&
         s.find("\xE2\x80\xA8") == std::string_view::npos &&
         s.find("\xE2\x80\xA9") == std::string_view::npos;
}

/// /^[^@]+@[^:.]+\.[^:]+:.+$/i — scp-style "user@host.tld:path".
bool is_scp_git(std::string_view s) {
  const size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0) return false;
  const size_t dot = s.find_first_of(":.", at + 1);
  if (dot == std::string_view::npos || s[dot] != '.' || dot == at + 1) return false;
  const size_t colon = s.find(':', dot + 1);
  if (colon == std::string_view::npos || colon == dot + 1 || colon + 1 >= s.size()) return false;
  return is_line_terminator_free(s.substr(colon + 1));
}

/// /[.](?:tgz|tar\.gz|tar)$/i
bool is_file_type(std::string_view s) {
  return ends_with_icase(s, ".tgz") || ends_with_icase(s, ".tar.gz") || ends_with_icase(s, ".tar");
}

bool has_slashes(std::string_view s) { return s.find('/') != std::string_view::npos; }

/// /:[0-9]+(\/|$)/
bool has_port_number(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != ':') continue;
    size_t j = i + 1;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j > i + 1 && (j == s.size() || s[j] == '/')) return true;
  }
  return false;
}

bool is_alias_spec(std::string_view s) { return starts_with_icase(s, "npm:"); }

// ---------------------------------------------------------------------------------------------
// POSIX path arithmetic as node's path module does it (lexical, no file system).

std::vector<std::string> split_segments(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

/// path.posix.resolve(base, path) with `base` absolute; no trailing slash.
std::string path_resolve(const std::string& base, std::string_view path) {
  std::string joined =
      (!path.empty() && path[0] == '/') ? std::string(path) : base + "/" + std::string(path);
  std::vector<std::string> parts;
  for (auto& seg : split_segments(joined)) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
    } else {
      parts.push_back(seg);
    }
  }
  std::string out;
  for (auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

/// path.posix.relative(from, to) for absolute, resolved paths.
std::string path_relative(const std::string& from, const std::string& to) {
  if (from == to) return "";
  auto a = split_segments(from == "/" ? "" : std::string_view(from).substr(1));
  auto b = split_segments(to == "/" ? "" : std::string_view(to).substr(1));
  if (from == "/") a.clear();
  if (to == "/") b.clear();
  size_t common = 0;
  while (common < a.size() && common < b.size() && a[common] == b[common]) ++common;
  std::string out;
  for (size_t i = common; i < a.size(); ++i) out += out.empty() ? ".." : "/..";
  for (size_t i = common; i < b.size(); ++i) {
    if (!out.empty()) out += '/';
    out += b[i];
  }
  return out;
}

/// WHATWG URL path resolution ("dot segments") of `path` against a directory `base_dir`
/// ("/a/b/"); empty segments survive, as they do in URLs.
std::string url_resolve_path(const std::string& base_dir, std::string_view path) {
  std::vector<std::string> segments;
  std::string_view input = path;
  if (input.empty() || input[0] != '/') {
    for (auto& seg : split_segments(std::string_view(base_dir).substr(1))) segments.push_back(seg);
    segments.pop_back();  // base_dir ends with '/': the last segment is the (empty) file name
  } else {
    input.remove_prefix(1);
  }
  auto parts = split_segments(input);
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    if (parts[i] == "..") {
      if (!segments.empty()) segments.pop_back();
      if (last) segments.emplace_back();
    } else if (parts[i] == ".") {
      if (last) segments.emplace_back();
    } else {
      segments.push_back(parts[i]);
    }
  }
  std::string out;
  for (auto& s : segments) out += "/" + s;
  return out.empty() ? "/" : out;
}

std::string current_dir() {
  std::error_code ec;
  auto p = std::filesystem::current_path(ec);
  return ec ? std::string("/") : p.string();
}

std::string home_dir(const SpecOptions& options) {
  if (!options.home.empty()) return options.home.string();
  const char* home = std::getenv("HOME");
  return home ? home : "/";
}

// ---------------------------------------------------------------------------------------------

std::string absolute_where(const std::filesystem::path& where);

struct Context {
  const SpecOptions& options;
  const SemverQueries& semver;
  /// options.where made absolute, worked out when first needed: only file and directory specs
  /// need it, and it can cost a getcwd.
  const std::string& where() const {
    if (!where_) where_ = absolute_where(options.where);
    return *where_;
  }
  mutable std::optional<std::string> where_ = {};
};

util::Error invalid_spec(std::string message) {
  return make_error("EINVALIDSPEC", std::move(message));
}

util::Result<PackageSpec> parse_arg(std::string_view arg, const Context& ctx);

/// npa's Result constructor: raw, name (validated), raw_spec.
util::Result<PackageSpec> make_result(std::optional<std::string_view> name, std::string_view spec,
                                      std::optional<std::string_view> arg) {
  PackageSpec res;
  if (arg) {
    res.raw = std::string(*arg);
  } else {
    res.raw =
        (name && !name->empty()) ? std::string(*name) + "@" + std::string(spec) : std::string(spec);
  }
  res.raw_spec = std::string(spec);
  if (name && !name->empty()) {
    NameValidation valid = validate_package_name(*name);
    if (!valid.valid_for_old_packages) {
      std::string reasons;
      for (const auto& e : valid.errors) reasons += (reasons.empty() ? "" : "; ") + e;
      return make_error("EINVALIDPACKAGENAME", "Invalid package name \"" + std::string(*name) +
                                                   "\" of package \"" + res.raw + "\": " + reasons +
                                                   ".");
    }
    res.name = std::string(*name);
    if (res.name[0] == '@') res.scope = res.name.substr(0, res.name.find('/'));
    res.escaped_name = res.name;
    if (size_t slash = res.escaped_name.find('/'); slash != std::string::npos)
      res.escaped_name.replace(slash, 1, "%2f");
  }
  return res;
}

/// npa's setGitAttrs: "#ref", "#semver:<range>", "#path:<dir>", joined with "::".
util::Status set_git_attrs(PackageSpec& res, std::string_view committish) {
  if (committish.empty()) return {};
  auto nonempty = [](const std::optional<std::string>& v) { return v && !v->empty(); };
  size_t start = 0;
  for (;;) {
    size_t end = committish.find("::", start);
    std::string_view part = committish.substr(
        start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.find(':') == std::string_view::npos) {
      if (nonempty(res.git_range))
        return invalid_spec("cannot override existing semver range with a committish");
      if (nonempty(res.git_committish))
        return invalid_spec("cannot override existing committish with a second committish");
      res.git_committish = std::string(part);
    } else {
      const size_t c1 = part.find(':');
      const size_t c2 = part.find(':', c1 + 1);
      std::string_view key = part.substr(0, c1);
      std::string_view value =
          part.substr(c1 + 1, c2 == std::string_view::npos ? std::string_view::npos : c2 - c1 - 1);
      if (key == "semver") {
        if (nonempty(res.git_committish))
          return invalid_spec("cannot override existing committish with a semver range");
        if (nonempty(res.git_range))
          return invalid_spec("cannot override existing semver range with a second semver range");
        auto range = decode_uri_component(value);
        if (!range) return invalid_spec("URI malformed");
        res.git_range = *range;
      } else if (key == "path") {
        if (nonempty(res.git_subdir))
          return invalid_spec("cannot override existing path with a second path");
        res.git_subdir = "/" + std::string(value);
      }
      // Unknown keys are ignored (npm logs a warning).
    }
    if (end == std::string_view::npos) break;
    start = end + 2;
  }
  return {};
}

/// npa's pathToFileURL: the few characters a file URL cannot hold as they are.
std::string path_to_file_url(std::string_view path) {
  std::string out;
  for (char c : path) {
    switch (c) {
      case '\0':
        out += "%00";
        break;
      case '\t':
        out += "%09";
        break;
      case '\n':
        out += "%0A";
        break;
      case '\r':
        out += "%0D";
        break;
      case ' ':
        out += "%20";
        break;
      case '"':
        out += "%22";
        break;
      case '#':
        out += "%23";
        break;
      case '%':
        out += "%25";
        break;
      case '?':
        out += "%3F";
        break;
      case '[':
        out += "%5B";
        break;
      case '\\':
        out += "%5C";
        break;
      case ']':
        out += "%5D";
        break;
      case '^':
        out += "%5E";
        break;
      case '|':
        out += "%7C";
        break;
      case '~':
        out += "%7E";
        break;
      default:
        out += c;
    }
  }
  return out.rfind("file:", 0) == 0 ? out : "file:" + out;
}

/// The path of an encoded file URL after "file:", decoded, as `new URL(...).pathname` would be
/// relative to `base_dir` ("/where/"); empty base means no base (relative to the root).
std::string file_url_path(std::string_view after_scheme, const std::string& base_dir) {
  std::string_view p = after_scheme;
  if (p.size() >= 2 && p[0] == '/' && p[1] == '/') {
    // "file:///x": an empty authority, then the path. (npa already turned "file://host/x"
    // into "file:/host/x".)
    p.remove_prefix(2);
    size_t slash = p.find('/');
    p = slash == std::string_view::npos ? std::string_view("/") : p.substr(slash);
  }
  // Every '%' in the text came from path_to_file_url, so decoding is exact; dot segments are
  // resolved on the encoded text first, as the URL parser does.
  std::string resolved = url_resolve_path(base_dir.empty() ? "/" : base_dir, p);
  auto decoded = decode_uri_component(resolved);
  return decoded ? *decoded : resolved;
}

util::Result<PackageSpec> from_file(PackageSpec res, const Context& ctx) {
  res.type = is_file_type(res.raw_spec) ? SpecType::kFile : SpecType::kDirectory;
  res.where = ctx.where();

  std::string raw = path_to_file_url(res.raw_spec);
  if (raw.rfind("file:/", 0) == 0) {
    // npm's backwards-compatible readings: "file://path" is "file:/path", and
    // "file:/../x" / "file:///./x" are relative.
    if (raw.size() > 7 && raw.compare(5, 2, "//") == 0 && raw[7] != '/')
      raw = "file:/" + raw.substr(5);
    std::string_view after = std::string_view(raw).substr(5);
    size_t slashes = 0;
    while (slashes < after.size() && slashes < 4 && after[slashes] == '/') ++slashes;
    if (slashes >= 1 && slashes <= 3) {
      std::string_view rest = after.substr(slashes);
      bool dots = (rest.rfind("..", 0) == 0 && (rest.size() == 2 || rest[2] == '/')) ||
                  (rest.rfind(".", 0) == 0 && (rest.size() == 1 || rest[1] == '/'));
      if (dots) raw = "file:" + std::string(rest);
    }
  }
  const std::string after_scheme = raw.substr(5);
  const std::string base_dir = ctx.where() == "/" ? "/" : ctx.where() + "/";
  const std::string spec_path = file_url_path(after_scheme, "");
  std::string resolved_path = file_url_path(after_scheme, base_dir);

  const bool tilde =
      spec_path.rfind("/~", 0) == 0 && (spec_path.size() == 2 || spec_path[2] == '/');
  if (tilde) {
    res.save_spec = "file:" + spec_path.substr(1);
    resolved_path = path_resolve(home_dir(ctx.options),
                                 spec_path.size() > 3 ? std::string_view(spec_path).substr(3) : "");
  } else if (after_scheme.empty() || after_scheme[0] != '/') {
    res.save_spec = "file:" + path_relative(ctx.where(), path_resolve(ctx.where(), resolved_path));
  } else {
    res.save_spec = "file:" + path_resolve(ctx.where(), resolved_path);
  }
  res.fetch_spec = path_resolve(ctx.where(), resolved_path);
  // npa normalises separators in what it saves (and never saves "file://").
  for (char& c : *res.save_spec)
    if (c == '\\') c = '/';
  if (res.save_spec->rfind("file://", 0) == 0) res.save_spec = "file:/" + res.save_spec->substr(7);
  return res;
}

util::Result<PackageSpec> from_hosted_git(PackageSpec res, HostedGit hosted) {
  res.type = SpecType::kGit;
  res.save_spec = hosted.to_string({});
  if (hosted.representation != GitRepresentation::kShortcut)
    res.fetch_spec = hosted.to_string({.no_git_plus = true, .no_committish = true});
  std::string committish = hosted.committish;
  res.hosted = std::move(hosted);
  LADE_TRY(set_git_attrs(res, committish));
  return res;
}

util::Result<PackageSpec> from_url(PackageSpec res) {
  std::string raw = res.raw_spec;
  res.save_spec = raw;
  if (raw.rfind("git+ssh:", 0) == 0) {
    // scp-style "git+ssh://git@host:path.git#ref" is not a real URL: read it by hand.
    std::string_view rest = std::string_view(raw).substr(std::string_view("git+ssh://").size());
    if (starts_with_icase(raw, "git+ssh://")) {
      size_t hash = rest.find('#');
      std::string_view body = rest.substr(0, hash);
      size_t colon = body.find(':');
      bool matched =
          colon != std::string_view::npos && colon > 0 && colon + 1 < body.size() &&
          (hash == std::string_view::npos || is_line_terminator_free(rest.substr(hash + 1)));
      if (matched && !has_port_number(body)) {
        res.type = SpecType::kGit;
        LADE_TRY(set_git_attrs(res, hash == std::string_view::npos ? "" : rest.substr(hash + 1)));
        res.fetch_spec = std::string(body);
        return res;
      }
    }
  } else if (raw.rfind("git+file://", 0) == 0) {
    for (char& c : raw)
      if (c == '\\') c = '/';
  }
  auto url = parse_url(raw);
  if (!url) return make_error("ERR_INVALID_URL", "Invalid URL");
  const std::string& protocol = url->protocol;
  if (protocol == "git:" || protocol == "git+http:" || protocol == "git+https:" ||
      protocol == "git+rsync:" || protocol == "git+ftp:" || protocol == "git+file:" ||
      protocol == "git+ssh:") {
    res.type = SpecType::kGit;
    LADE_TRY(set_git_attrs(res, url->hash.empty() ? "" : url->hash.substr(1)));
    url->hash.clear();
    std::string fetch = url->href();
    if (fetch.rfind("git+", 0) == 0) fetch.erase(0, 4);
    res.fetch_spec = fetch;
  } else if (protocol == "http:" || protocol == "https:") {
    res.type = SpecType::kRemote;
    res.fetch_spec = res.save_spec;
  } else {
    return make_error("EUNSUPPORTEDPROTOCOL", "Unsupported URL Type \"" + protocol + "\": " + raw);
  }
  return res;
}

util::Result<PackageSpec> from_alias(PackageSpec res, const Context& ctx) {
  PackageSpec sub = LADE_TRY(parse_arg(std::string_view(res.raw_spec).substr(4), ctx));
  if (sub.type == SpecType::kAlias) return invalid_spec("nested aliases not supported");
  if (!sub.registry) return invalid_spec("aliases only work for registry deps");
  if (sub.name.empty()) return invalid_spec("aliases must have a name");
  res.sub_spec = std::make_shared<const PackageSpec>(std::move(sub));
  res.registry = true;
  res.type = SpecType::kAlias;
  return res;
}

util::Result<PackageSpec> from_registry(PackageSpec res, const Context& ctx) {
  res.registry = true;
  const std::string spec(js_trim(res.raw_spec));
  res.fetch_spec = spec;
  if (ctx.semver.is_version(spec)) {
    res.type = SpecType::kVersion;
  } else if (ctx.semver.is_range(spec)) {
    res.type = SpecType::kRange;
  } else {
    if (encode_uri_component(spec) != spec) {
      return make_error(
          "EINVALIDTAGNAME",
          "Invalid tag name \"" + spec + "\" of package \"" + res.raw +
              "\": Tags may not have any characters that encodeURIComponent encodes.");
    }
    res.type = SpecType::kTag;
  }
  return res;
}

/// npa's resolve(): the type follows from the spec's shape.
util::Result<PackageSpec> resolve(std::optional<std::string_view> name, std::string_view spec,
                                  std::optional<std::string_view> arg, const Context& ctx) {
  PackageSpec res = LADE_TRY(make_result(name, spec, arg));
  if (is_file_spec(spec)) return from_file(std::move(res), ctx);
  if (is_alias_spec(spec)) return from_alias(std::move(res), ctx);
  if (auto hosted = hosted_git_from_url(spec))
    return from_hosted_git(std::move(res), std::move(*hosted));
  if (!spec.empty() && is_url(spec)) return from_url(std::move(res));
  if (!spec.empty() && (has_slashes(spec) || is_file_type(spec)))
    return from_file(std::move(res), ctx);
  return from_registry(std::move(res), ctx);
}

/// npa(arg): split "name@spec", recognising URLs, scp-style git and paths first.
util::Result<PackageSpec> parse_arg(std::string_view arg, const Context& ctx) {
  const size_t name_ends = arg.size() > 1 ? arg.find('@', 1) : std::string_view::npos;
  const std::string_view name_part =
      name_ends != std::string_view::npos ? arg.substr(0, name_ends) : arg;
  if (is_url(arg)) return resolve(std::nullopt, arg, arg, ctx);
  if (is_scp_git(arg)) {
    std::string spec = "git+ssh://" + std::string(arg);
    return resolve(std::nullopt, spec, arg, ctx);
  }
  if ((name_part.empty() || name_part[0] != '@') &&
      (has_slashes(name_part) || is_file_type(name_part)))
    return resolve(std::nullopt, arg, arg, ctx);
  if (name_ends != std::string_view::npos) {
    std::string_view spec = arg.substr(name_ends + 1);
    return resolve(name_part, spec.empty() ? std::string_view("*") : spec, arg, ctx);
  }
  if (validate_package_name(arg).valid_for_old_packages) return resolve(arg, "*", arg, ctx);
  return resolve(std::nullopt, arg, arg, ctx);
}

std::string absolute_where(const std::filesystem::path& where) {
  // The resolver parses thousands of specs with an absolute `where`: no getcwd for those.
  if (where.is_absolute()) return path_resolve("/", where.string());
  std::string cwd = current_dir();
  return where.empty() ? path_resolve(cwd, "") : path_resolve(cwd, where.string());
}

}  // namespace

bool is_file_spec(std::string_view s) {
  if (s.empty()) return false;
  if (starts_with_icase(s, "file:")) return true;
  if (s[0] == '.' || s[0] == '/') return true;
  if (s.size() >= 2 && s[0] == '~' && s[1] == '/') return true;
  return s.size() >= 2 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) &&
         s[1] == ':';
}

std::string_view spec_type_name(SpecType type) {
  switch (type) {
    case SpecType::kVersion:
      return "version";
    case SpecType::kRange:
      return "range";
    case SpecType::kTag:
      return "tag";
    case SpecType::kAlias:
      return "alias";
    case SpecType::kGit:
      return "git";
    case SpecType::kRemote:
      return "remote";
    case SpecType::kFile:
      return "file";
    case SpecType::kDirectory:
      return "directory";
  }
  return "range";
}

std::string PackageSpec::to_string() const {
  std::string spec = save_spec && !save_spec->empty()     ? *save_spec
                     : fetch_spec && !fetch_spec->empty() ? *fetch_spec
                                                          : raw_spec;
  if (name.empty() && spec.empty()) return raw;
  if (name.empty()) return spec;
  if (spec.empty()) return name;
  return name + "@" + spec;
}

util::Result<PackageSpec> parse_spec(std::string_view arg) {
  return parse_spec(arg, SpecOptions{});
}

util::Result<PackageSpec> parse_spec(std::string_view arg, const SpecOptions& options) {
  SemverQueries fallback;
  if (!options.semver) fallback = default_semver_queries();
  const Context ctx{options, options.semver ? *options.semver : fallback};
  return parse_arg(arg, ctx);
}

util::Result<PackageSpec> resolve_spec(std::string_view name, std::string_view spec,
                                       const std::filesystem::path& where) {
  SpecOptions options;
  options.where = where;
  return resolve_spec(name, spec, options);
}

util::Result<PackageSpec> resolve_spec(std::string_view name, std::string_view spec,
                                       const SpecOptions& options) {
  SemverQueries fallback;
  if (!options.semver) fallback = default_semver_queries();
  const Context ctx{options, options.semver ? *options.semver : fallback};
  return resolve(name.empty() ? std::nullopt : std::optional<std::string_view>(name), spec,
                 std::nullopt, ctx);
}

std::string save_spec_for(const PackageSpec& spec, const std::string& resolved_version,
                          const SaveOptions& options) {
  if (spec.registry) {
    SemverQueries fallback;
    if (!options.semver) fallback = default_semver_queries();
    const SemverQueries& semver = options.semver ? *options.semver : fallback;
    const PackageSpec& target = spec.sub_spec ? *spec.sub_spec : spec;
    const std::string prefix = options.save_exact ? "" : options.save_prefix;
    const std::string prefix_range = resolved_version.empty() ? "*" : prefix + resolved_version;
    std::string range = target.raw_spec;
    if (target.type != SpecType::kRange || range == "*" || semver.is_subset(prefix_range, range))
      range = prefix_range;
    // An alias of a package to its own name is no alias (npm compares the names).
    if (spec.sub_spec && spec.sub_spec->name != spec.name) return "npm:" + spec.sub_spec->name + "@" + range;
    return range;
  }
  if (spec.hosted) {
    if (!spec.hosted->auth.empty())
      return "git+" + spec.hosted->https({.no_git_plus = true, .no_committish = false});
    return spec.hosted->shortcut({.no_git_plus = true, .no_committish = false});
  }
  if (spec.type == SpecType::kFile || spec.type == SpecType::kDirectory) {
    std::string fetch = spec.fetch_spec.value_or("");
    if (fetch.rfind("file:", 0) == 0) fetch.erase(0, 5);
    const bool absolute = options.project_dir.is_absolute() && !fetch.empty() && fetch[0] == '/';
    const std::string cwd = absolute ? std::string("/") : current_dir();
    const std::string project = path_resolve(cwd, options.project_dir.string());
    return "file:" + path_relative(project, path_resolve(cwd, fetch));
  }
  return spec.save_spec.value_or(spec.raw_spec);
}

}  // namespace lade::manifest
