#include "manifest/package_json.h"

#include <algorithm>
#include <array>

#include "manifest/js_string.h"
#include "manifest/json_text.h"
#include "util/collate.h"
#include "util/fs.h"

namespace lade::manifest {
namespace {

using Entries = std::vector<std::pair<std::string, Json>>;

// The order in which npm's package.json updater visits (and so appends) dependency objects.
constexpr std::array<DependencyKind, 4> kUpdateOrder = {
    DependencyKind::kProd, DependencyKind::kOptional, DependencyKind::kDev, DependencyKind::kPeer};

bool is_newline_at(std::string_view s, size_t i, size_t* len) {
  if (i < s.size() && s[i] == '\n') {
    *len = 1;
    return true;
  }
  if (i + 1 < s.size() && s[i] == '\r' && s[i + 1] == '\n') {
    *len = 2;
    return true;
  }
  return false;
}

const Json* find_key(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

/// `obj[key] = value` with JavaScript's key order: an existing key keeps its place.
void assign(Json& obj, const std::string& key, Json value) { obj[key] = std::move(value); }

Json to_object(const Entries& entries) {
  Json out = Json::object();
  for (const auto& [k, v] : entries) out[k] = v;
  return out;
}

bool has(const Entries& e, std::string_view name) {
  return std::any_of(e.begin(), e.end(), [&](const auto& p) { return p.first == name; });
}

Json* get(Entries& e, std::string_view name) {
  for (auto& [k, v] : e)
    if (k == name) return &v;
  return nullptr;
}

void put(Entries& e, std::string_view name, const Json& value) {
  if (Json* v = get(e, name)) {
    *v = value;
  } else {
    e.emplace_back(std::string(name), value);
  }
}

void erase(Entries& e, std::string_view name) {
  std::erase_if(e, [&](const auto& p) { return p.first == name; });
}

}  // namespace

std::string_view dependency_field(DependencyKind kind) {
  switch (kind) {
    case DependencyKind::kProd:
      return "dependencies";
    case DependencyKind::kDev:
      return "devDependencies";
    case DependencyKind::kOptional:
      return "optionalDependencies";
    case DependencyKind::kPeer:
    case DependencyKind::kPeerOptional:
      return "peerDependencies";
  }
  return "dependencies";
}

JsonFormat detect_json_format(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  JsonFormat format;
  // "{}" or "[]" alone (with optional line breaks): default indent, that newline.
  if (text.substr(0, 2) == "{}" || text.substr(0, 2) == "[]") {
    size_t i = 2;
    size_t len = 0;
    while (is_newline_at(text, i, &len)) i += len;
    if (i == text.size()) {
      format.newline = i > 2 ? std::string(text.substr(2, i - 2)) : std::string("\n");
      format.indent = "  ";
      return format;
    }
  }
  // /^\s*[{[]((?:\r?\n)+)([\s\t]*)/
  size_t i = 0;
  while (size_t n = js_space_length(text, i)) i += n;
  if (i < text.size() && (text[i] == '{' || text[i] == '[')) {
    ++i;
    const size_t nl_start = i;
    size_t len = 0;
    while (is_newline_at(text, i, &len)) i += len;
    if (i > nl_start) {
      format.newline = std::string(text.substr(nl_start, i - nl_start));
      const size_t indent_start = i;
      while (size_t n = js_space_length(text, i)) i += n;
      format.indent = std::string(text.substr(indent_start, i - indent_start));
      return format;
    }
  }
  format.newline.clear();  // no line break after the brace: written compact
  format.indent.clear();
  return format;
}

std::string format_json_like_npm(const Json& doc, const JsonFormat& format) {
  std::string text = js_stringify(doc, format.indent) + "\n";
  if (format.newline == "\n") return text;
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\n') {
      out += format.newline;
    } else {
      out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

struct PackageJson::Sections {
  Entries prod, dev, optional, peer;
  std::optional<Json> bundle;  // normalised bundleDependencies; nullopt: none
  Entries& of(DependencyKind k) {
    switch (k) {
      case DependencyKind::kProd:
        return prod;
      case DependencyKind::kDev:
        return dev;
      case DependencyKind::kOptional:
        return optional;
      case DependencyKind::kPeer:
      case DependencyKind::kPeerOptional:
        return peer;
    }
    return prod;
  }
};

PackageJson::Sections PackageJson::read_sections() const {
  Sections s;
  for (DependencyKind k : kUpdateOrder) {
    auto it = content_.is_object() ? content_.find(dependency_field(k)) : content_.end();
    if (it == content_.end() || !it->is_object()) continue;
    for (const auto& [name, spec] : it->items()) s.of(k).emplace_back(name, spec);
  }
  // The bundle list as npm normalises it (bundledDependencies is the old spelling).
  const Json* bd = nullptr;
  if (content_.is_object()) {
    if (auto it = content_.find("bundleDependencies"); it != content_.end()) {
      bd = &*it;
    } else if (auto it2 = content_.find("bundledDependencies"); it2 != content_.end()) {
      bd = &*it2;
    }
  }
  if (bd) {
    if (bd->is_boolean() && !bd->get<bool>()) {
      s.bundle = Json::array();
    } else if (bd->is_boolean()) {
      Json names = Json::array();
      for (const auto& [name, spec] : s.prod) names.push_back(name);
      s.bundle = names;
    } else if (bd->is_array()) {
      s.bundle = *bd;
    } else if (bd->is_object()) {
      Json names = Json::array();
      for (const auto& [name, v] : bd->items()) names.push_back(name);
      s.bundle = names;
    }
  }
  // npm never keeps an optional dependency in dependencies too.
  if (content_.is_object() && content_.contains("optionalDependencies") &&
      content_["optionalDependencies"].is_object()) {
    std::erase_if(s.prod, [&](const auto& p) { return has(s.optional, p.first); });
  }
  return s;
}

void PackageJson::write_sections(Sections s) {
  if (!content_.is_object()) content_ = Json::object();
  auto by_locale = [](const auto& a, const auto& b) {
    return util::locale_compare(a.first, b.first) < 0;
  };
  for (DependencyKind k : kUpdateOrder) std::stable_sort(s.of(k).begin(), s.of(k).end(), by_locale);
  std::erase_if(s.prod, [&](const auto& p) { return has(s.optional, p.first); });

  for (DependencyKind k : kUpdateOrder) {
    const std::string field(dependency_field(k));
    auto it = content_.find(field);
    if (it != content_.end() && !it->is_object()) continue;  // not ours to rewrite
    if (s.of(k).empty()) {
      if (it != content_.end()) content_.erase(field);
    } else {
      assign(content_, field, to_object(s.of(k)));
    }
  }

  // A name in both dependencies and peerDependencies of the file as it was keeps both, with
  // the peer spec.
  const Json* orig_prod = find_key(original_, "dependencies");
  const Json* orig_peer = find_key(original_, "peerDependencies");
  const Json* peer_now = find_key(content_, "peerDependencies");
  if (orig_prod && orig_peer && peer_now && orig_peer->is_object() && peer_now->is_object()) {
    const Json new_peer = *peer_now;  // content_ changes below
    for (const auto& [name, v] : orig_peer->items()) {
      if (!orig_prod->is_object() || !orig_prod->contains(name) || !new_peer.contains(name))
        continue;
      if (!content_.contains("dependencies")) content_["dependencies"] = Json::object();
      content_["dependencies"][name] = new_peer[name];
    }
  }

  if (s.bundle) {
    assign(content_, "bundleDependencies", *s.bundle);
  } else if (content_.contains("bundleDependencies")) {
    content_.erase("bundleDependencies");
  }
}

DependencyKind PackageJson::save_kind(Sections& s, std::optional<DependencyKind> kind,
                                     std::string_view name) const {
  if (kind) return *kind;
  // add-rm-pkg-deps' inferSaveType: the first section that has it, in this order.
  if (has(s.dev, name)) return DependencyKind::kDev;
  if (has(s.optional, name)) return DependencyKind::kOptional;
  if (has(s.prod, name)) return DependencyKind::kProd;
  if (has(s.peer, name)) {
    const Json* meta = find_key(content_, "peerDependenciesMeta");
    const Json* entry = meta ? find_key(*meta, name) : nullptr;
    const Json* optional = entry ? find_key(*entry, "optional") : nullptr;
    const bool optional_peer = optional && optional->is_boolean() && optional->get<bool>();
    return optional_peer ? DependencyKind::kPeerOptional : DependencyKind::kPeer;
  }
  return DependencyKind::kProd;
}

std::optional<std::string> PackageJson::saved_spec(std::optional<DependencyKind> kind,
                                                   std::string_view name) const {
  Sections s = read_sections();
  const Json* spec = get(s.of(save_kind(s, kind, name)), name);
  if (!spec || !spec->is_string()) return std::nullopt;
  return spec->get<std::string>();
}

void PackageJson::set_dependency(std::optional<DependencyKind> kind, std::string_view name,
                                 std::string_view spec_text, std::string_view requested_spec,
                                 const SemverQueries* semver) {
  Sections s = read_sections();
  const Json spec = std::string(spec_text);
  const std::string requested(requested_spec.empty() ? spec_text : requested_spec);
  const DependencyKind k = save_kind(s, kind, name);

  // What `npm install` does to the sections before resolving (arborist's add-rm-pkg-deps),
  // with the spec as requested.
  switch (k) {
    case DependencyKind::kProd:
      erase(s.dev, name);
      erase(s.peer, name);
      break;
    case DependencyKind::kDev:
      erase(s.prod, name);
      break;
    case DependencyKind::kOptional:
      erase(s.peer, name);
      break;
    case DependencyKind::kPeer:
    case DependencyKind::kPeerOptional:
      erase(s.prod, name);
      erase(s.optional, name);
      break;
  }
  if (requested != "*" || !has(s.of(k), name)) put(s.of(k), name, Json(requested));
  if (k == DependencyKind::kOptional) put(s.prod, name, *get(s.optional, name));  // dropped later
  if ((k == DependencyKind::kPeer || k == DependencyKind::kPeerOptional) && has(s.dev, name))
    put(s.dev, name, *get(s.peer, name));

  // What it does once the version is known (reify's saveIdealTree).
  if (kind) {
    put(s.of(k), name, spec);
    if (k == DependencyKind::kProd) erase(s.optional, name);
  } else {
    SemverQueries fallback;
    if (!semver) {
      fallback = default_semver_queries();
      semver = &fallback;
    }
    const bool local = spec_text.rfind("file:", 0) == 0;
    auto keeps = [&](Entries& e) {
      const Json* old = get(e, name);
      if (!old) return true;
      if (local) return false;
      return old->is_string() && semver->intersects(spec_text, old->get<std::string>());
    };
    if (has(s.prod, name)) put(s.prod, name, spec);
    if (has(s.dev, name)) {
      put(s.dev, name, spec);
      if (!keeps(s.peer)) put(s.peer, name, spec);
      if (!keeps(s.optional)) put(s.optional, name, spec);
    } else {
      if (has(s.peer, name)) put(s.peer, name, spec);
      if (has(s.optional, name)) put(s.optional, name, spec);
    }
  }
  write_sections(std::move(s));
}

void PackageJson::add_to_bundle(std::string_view name) {
  Sections s = read_sections();
  std::vector<std::string> names;
  if (s.bundle && s.bundle->is_array()) {
    for (const auto& n : *s.bundle) {
      if (n.is_string()) names.push_back(n.get<std::string>());
    }
  }
  names.emplace_back(name);
  std::sort(names.begin(), names.end(),
            [](const std::string& a, const std::string& b) { return util::locale_compare(a, b) < 0; });
  names.erase(std::unique(names.begin(), names.end()), names.end());
  Json list = Json::array();
  for (auto& n : names) list.push_back(std::move(n));
  s.bundle = std::move(list);
  write_sections(std::move(s));
}

void PackageJson::remove_dependency(std::string_view name) {
  Sections s = read_sections();
  for (DependencyKind k : kUpdateOrder) erase(s.of(k), name);
  if (s.bundle && s.bundle->is_array()) {
    Json kept = Json::array();
    for (const auto& n : *s.bundle)
      if (!(n.is_string() && n.get<std::string>() == name)) kept.push_back(n);
    if (kept.empty()) {
      s.bundle.reset();
    } else {
      s.bundle = kept;
    }
  }
  write_sections(std::move(s));
}

std::string PackageJson::serialize() const { return format_json_like_npm(content_, format_); }

bool PackageJson::changed() const {
  const std::string text = serialize();
  return js_trim(text) != js_trim(original_text_);
}

util::Result<bool> PackageJson::save() {
  if (!changed()) return false;
  const std::string text = serialize();
  LADE_TRY(util::write_file_atomic(file_, text));
  original_text_ = text;
  return true;
}

util::Result<PackageJson> PackageJson::from_text(std::string_view text,
                                                 std::filesystem::path file) {
  PackageJson pj;
  pj.content_ = LADE_TRY(parse_json(text, file.string()));
  pj.original_ = pj.content_;
  pj.original_text_ = std::string(text);
  pj.format_ = detect_json_format(text);
  if (!pj.content_.is_object() && !pj.content_.is_array()) pj.format_ = JsonFormat{};
  pj.file_ = std::move(file);
  return pj;
}

util::Result<PackageJson> PackageJson::load(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "package.json";
  std::string text = LADE_TRY(util::read_file(file));
  return from_text(text, file);
}

util::Result<PackageJson> PackageJson::load_or_create(const std::filesystem::path& dir) {
  auto loaded = load(dir);
  if (loaded.ok() || loaded.error().code != "ENOENT") return loaded;
  PackageJson pj;
  pj.file_ = dir / "package.json";
  pj.content_ = Json::object();
  pj.original_ = pj.content_;
  return pj;
}

}  // namespace lade::manifest
