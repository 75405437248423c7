#include "manifest/manifest.h"

#include <simdjson.h>

#include <algorithm>
#include <set>
#include <unordered_set>

#include "manifest/json_text.h"

namespace lade::manifest {
namespace {

const Json* member(const Json& doc, const char* key) {
  auto it = doc.find(key);
  return it == doc.end() ? nullptr : &*it;
}

const std::string* string_member(const Json& doc, const char* key) {
  const Json* v = member(doc, key);
  return v && v->is_string() ? &v->get_ref<const std::string&>() : nullptr;
}

bool true_member(const Json& doc, const char* key) {
  const Json* v = member(doc, key);
  return v && v->is_boolean() && v->get<bool>();
}

Json raw_member(const Json& doc, const char* key) {
  const Json* v = member(doc, key);
  return v ? *v : Json();
}

/// name -> spec pairs of a dependency object; non-string specs are skipped as npm does.
DependencyList dependency_list(const Json& doc, const char* key) {
  DependencyList out;
  const Json* deps = member(doc, key);
  if (!deps || !deps->is_object()) return out;
  for (const auto& [name, spec] : deps->items()) {
    if (spec.is_string()) out.emplace_back(name, spec.get<std::string>());
  }
  return out;
}

/// path.posix.normalize of an absolute path, keeping a trailing slash.
std::string normalize_absolute(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(seg);
    }
    i = j + 1;
  }
  std::string out = "/";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out += parts[k];
  }
  if (!parts.empty() && !path.empty() && path.back() == '/') out += '/';
  return out;
}

/// npm's secureAndUnixifyPath: a bin path made relative to the package and unable to leave
/// it ('\' and ':' become '/', leading '/' and '..' are dropped). Empty when nothing remains.
std::string secure_bin_path(std::string_view ref) {
  std::string unix(ref);
  std::replace(unix.begin(), unix.end(), '\\', '/');
  std::replace(unix.begin(), unix.end(), ':', '/');
  std::string abs = normalize_absolute("/" + unix);
  if (abs == "/") return "";  // path.join('.', '/') is './', which npm rejects
  return abs.substr(1);
}

std::string posix_basename(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

using BinList = std::vector<std::pair<std::string, std::string>>;

void set_bin(BinList& bins, const std::string& key, std::string value) {
  for (auto& [k, v] : bins) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  bins.emplace_back(key, std::move(value));
}

/// npm's normalizePackageBin.
BinList normalize_bin(const Json& doc, const std::string* name) {
  BinList entries;  // before the per-entry clean-up
  const Json* bin = member(doc, "bin");
  if (!bin) return {};
  if (bin->is_string()) {
    if (!name || bin->get_ref<const std::string&>().empty()) return {};
    entries.emplace_back(*name, bin->get<std::string>());
  } else if (bin->is_array()) {
    for (const Json& item : *bin) {
      if (!item.is_string()) continue;  // path.basename would throw in npm; skip instead
      const std::string& k = item.get_ref<const std::string&>();
      set_bin(entries, posix_basename(k), k);
    }
  } else if (bin->is_object()) {
    for (const auto& [k, v] : bin->items()) {
      entries.emplace_back(k, v.is_string() ? v.get<std::string>() : std::string("\x01"));
    }
  } else {
    return {};
  }
  BinList out;
  for (auto& [key, target] : entries) {
    if (target == "\x01") continue;  // not a string
    std::string base = posix_basename(secure_bin_path(key));
    std::string path = secure_bin_path(target);
    if (base.empty() || path.empty()) continue;
    set_bin(out, base, std::move(path));
  }
  return out;
}

std::vector<std::string> bundle_list(const Json& doc) {
  const Json* bd = member(doc, "bundleDependencies");
  if (!bd) bd = member(doc, "bundledDependencies");
  std::vector<std::string> out;
  if (!bd) return out;
  if (bd->is_boolean() && bd->get<bool>()) {
    for (auto& [name, spec] : dependency_list(doc, "dependencies")) out.push_back(name);
  } else if (bd->is_array()) {
    for (const Json& item : *bd)
      if (item.is_string()) out.push_back(item.get<std::string>());
  } else if (bd->is_object()) {
    for (const auto& [k, v] : bd->items()) out.push_back(k);
  }
  return out;
}

std::vector<std::string> workspace_globs(const Json& doc) {
  std::vector<std::string> out;
  const Json* ws = member(doc, "workspaces");
  if (ws && ws->is_object()) ws = member(*ws, "packages");
  if (!ws || !ws->is_array()) return out;
  for (const Json& item : *ws)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

}  // namespace

void expand_directories_bin(Json& doc, const std::filesystem::path& package_dir) {
  namespace fs = std::filesystem;
  if (!doc.is_object() || doc.contains("bin")) return;
  auto dirs = doc.find("directories");
  if (dirs == doc.end() || !dirs->is_object()) return;
  auto bin = dirs->find("bin");
  if (bin == dirs->end() || !bin->is_string() || bin->get<std::string>().empty()) return;
  // secureAndUnixifyPath: normalized below the package, never above it.
  const fs::path rel = ("/" / fs::path(bin->get<std::string>())).lexically_normal().relative_path();
  if (rel.empty()) return;
  const std::string bin_path = rel.generic_string();
  std::vector<std::string> entries;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(package_dir / rel, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with('.')) {  // glob leaves dot names out, and what is below them
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    entries.push_back(it->path().lexically_relative(package_dir / rel).generic_string());
  }
  std::sort(entries.begin(), entries.end());
  Json bins = Json::object();
  for (const auto& entry : entries) {
    const std::string base = fs::path(entry).filename().string();
    bins[base] = bin_path + "/" + entry;
  }
  if (!bins.empty()) doc["bin"] = std::move(bins);
}

Manifest manifest_from_json(const Json& doc) {
  Manifest m;
  if (!doc.is_object()) return m;
  const std::string* name = string_member(doc, "name");
  if (name) m.name = *name;
  if (const std::string* v = string_member(doc, "version")) m.version = *v;

  m.dependencies = dependency_list(doc, "dependencies");
  m.dev_dependencies = dependency_list(doc, "devDependencies");
  m.optional_dependencies = dependency_list(doc, "optionalDependencies");
  m.peer_dependencies = dependency_list(doc, "peerDependencies");
  if (const Json* opt = member(doc, "optionalDependencies"); opt && opt->is_object()) {
    // npm's optionalDedupe: an optional dependency is never also a production one.
    std::erase_if(m.dependencies, [&](const auto& d) { return opt->contains(d.first); });
  }
  m.accept_dependencies = dependency_list(doc, "acceptDependencies");

  if (const Json* meta = member(doc, "peerDependenciesMeta"); meta && meta->is_object()) {
    m.peer_dependencies_meta = *meta;
    for (const auto& [peer, info] : meta->items()) {
      if (info.is_object() && true_member(info, "optional")) m.optional_peers.push_back(peer);
    }
  }
  m.bundle_dependencies = bundle_list(doc);
  m.bin = normalize_bin(doc, name);

  if (const Json* scripts = member(doc, "scripts"); scripts && scripts->is_object()) {
    for (const auto& [k, v] : scripts->items()) {
      if (v.is_string()) m.scripts.emplace_back(k, v.get<std::string>());
    }
  }
  m.has_install_script =
      true_member(doc, "hasInstallScript") ||
      std::any_of(m.scripts.begin(), m.scripts.end(), [](const auto& s) {
        return s.first == "preinstall" || s.first == "install" || s.first == "postinstall";
      });

  if (const std::string* d = string_member(doc, "deprecated")) m.deprecated = *d;
  m.workspaces = workspace_globs(doc);

  m.license = raw_member(doc, "license");
  m.engines = raw_member(doc, "engines");
  m.os = raw_member(doc, "os");
  m.cpu = raw_member(doc, "cpu");
  m.libc = raw_member(doc, "libc");
  m.funding = raw_member(doc, "funding");
  if (m.funding.is_string() && !m.funding.get_ref<const std::string&>().empty()) {
    m.funding = Json{{"url", m.funding.get<std::string>()}};  // npm's "funding" step
  }
  m.overrides = raw_member(doc, "overrides");

  if (const Json* dist = member(doc, "dist"); dist && dist->is_object()) {
    if (const std::string* s = string_member(*dist, "tarball")) m.dist.tarball = *s;
    if (const std::string* s = string_member(*dist, "integrity")) m.dist.integrity = *s;
    if (const std::string* s = string_member(*dist, "shasum")) m.dist.shasum = *s;
  }
  m.has_shrinkwrap = true_member(doc, "_hasShrinkwrap") || true_member(doc, "hasShrinkwrap");
  return m;
}

namespace {

Json from_dom(simdjson::dom::element element);

/// Moves the members of `object` into `out` in their order. A key met twice keeps its first
/// place and takes its last value, as JSON.parse (and nlohmann's parser) do.
void add_members(simdjson::dom::object object, Json::object_t& out) {
  auto& members = static_cast<Json::object_t::Container&>(out);
  const size_t count = object.size();
  members.reserve(count);
  // Short objects are searched; long ones (a lockfile's "packages") remember their keys.
  constexpr size_t kSearchUpTo = 16;
  std::unordered_set<std::string_view> seen;
  if (count > kSearchUpTo) seen.reserve(count);
  for (auto field : object) {
    const bool repeated = count > kSearchUpTo ? !seen.insert(field.key).second
                                              : std::any_of(members.begin(), members.end(), [&](const auto& m) {
                                                  return m.first == field.key;
                                                });
    if (repeated) {
      out[std::string(field.key)] = from_dom(field.value);
    } else {
      members.emplace_back(std::string(field.key), from_dom(field.value));
    }
  }
}

Json from_dom(simdjson::dom::element element) {
  using Type = simdjson::dom::element_type;
  switch (element.type()) {
    case Type::OBJECT: {
      Json object = Json::object();
      add_members(element.get_object().value_unsafe(), object.get_ref<Json::object_t&>());
      return object;
    }
    case Type::ARRAY: {
      Json array = Json::array();
      auto& items = array.get_ref<Json::array_t&>();
      simdjson::dom::array source = element.get_array().value_unsafe();
      items.reserve(source.size());
      for (simdjson::dom::element item : source) items.push_back(from_dom(item));
      return array;
    }
    case Type::STRING:
      return Json(std::string(element.get_string().value_unsafe()));
    case Type::INT64: {
      // nlohmann keeps a number without a sign as unsigned: the documents compare and dump
      // alike either way, but code asking is_number_unsigned() sees what it saw before.
      const int64_t n = element.get_int64().value_unsafe();
      return n >= 0 ? Json(static_cast<uint64_t>(n)) : Json(n);
    }
    case Type::UINT64:
      return Json(element.get_uint64().value_unsafe());
    case Type::DOUBLE:
      return Json(element.get_double().value_unsafe());
    case Type::BOOL:
      return Json(element.get_bool().value_unsafe());
    case Type::NULL_VALUE:
      break;
  }
  return Json(nullptr);
}

/// The document through simdjson, which reads JSON text several times faster than nlohmann's
/// parser; nullopt for anything simdjson refuses (syntax errors, numbers beyond 64 bits, lone
/// surrogates), which the caller hands to nlohmann's parser and its messages.
std::optional<Json> parse_with_simdjson(std::string_view text) {
  // A parser keeps buffers of about ten times the largest text it read: one per thread for
  // the many small documents (package.json files, manifests), a passing one for the rare large
  // ones (lockfiles), so that their buffers do not stay.
  constexpr size_t kKeepBuffersUpTo = 256 * 1024;
  thread_local simdjson::dom::parser reused;
  std::optional<simdjson::dom::parser> passing;
  simdjson::dom::parser& parser = text.size() <= kKeepBuffersUpTo ? reused : passing.emplace();
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  return from_dom(root);
}

}  // namespace

Result<Json> parse_json(std::string_view text, std::string_view source_name) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // BOM, as npm strips it
  if (auto fast = parse_with_simdjson(text)) return std::move(*fast);
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_discarded()) return doc;

  std::string where(source_name);
  if (auto err = find_json_syntax_error(text)) {
    return util::make_error("EJSONPARSE", where + ": " + err->npm_message + " (line " +
                                              std::to_string(err->line) + ", column " +
                                              std::to_string(err->column) + ")");
  }
  // JSON.parse accepts it but the strict parser does not (invalid UTF-8, lone surrogates).
  try {
    Json strict = Json::parse(text.begin(), text.end());
    (void)strict;
  } catch (const Json::parse_error& e) {
    const size_t offset = std::min(e.byte > 0 ? e.byte - 1 : 0, text.size());
    size_t line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    const size_t column = offset - line_start + 1;
    return util::make_error("EJSONPARSE", where + ": " + e.what() + " (line " +
                                              std::to_string(line) + ", column " +
                                              std::to_string(column) + ")");
  }
  return util::make_error("EJSONPARSE", where + ": invalid JSON");
}

}  // namespace lade::manifest
