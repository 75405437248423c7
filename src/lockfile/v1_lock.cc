#include "lockfile/v1_lock.h"

#include <filesystem>

#include "lockfile/package_entry.h"
#include "lockfile/resolution.h"
#include "manifest/spec.h"
#include "semver/version.h"

namespace lade::lockfile {
namespace {

const std::string* string_at(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return nullptr;
  const std::string& s = it->get_ref<const std::string&>();
  return s.empty() ? nullptr : &s;
}

bool flag_at(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && !it->is_null() && !(it->is_boolean() && !it->get<bool>()) &&
         !(it->is_string() && it->get_ref<const std::string&>().empty());
}

/// npa.resolve against the project root; nullopt where npa throws.
std::optional<manifest::PackageSpec> resolve(std::string_view name, std::string_view spec) {
  auto parsed = manifest::resolve_spec(name, spec, std::filesystem::path("/"));
  if (!parsed.ok()) return std::nullopt;
  return std::move(parsed).value();
}

/// npm's spec-from-lock: which of version/from/resolved describes the entry. nullopt is
/// npm's `{}` (nothing usable).
std::optional<manifest::PackageSpec> spec_from_lock(std::string_view name, const Json& lock) {
  const std::string* version = string_at(lock, "version");
  const std::string* from = string_at(lock, "from");
  const std::string* resolved = string_at(lock, "resolved");
  const bool integrity = flag_at(lock, "integrity");
  // npm tries the fields in this order inside one try block; a spec npa rejects ends the
  // attempt and falls back to the version alone.
  auto attempt = [&]() -> std::optional<std::optional<manifest::PackageSpec>> {
    if (version) {
      auto spec = resolve(name, *version);
      if (!spec) return std::nullopt;
      if (integrity || spec->type == manifest::SpecType::kGit) return spec;
    }
    if (from) {
      auto spec = resolve(name, *from);
      if (!spec) return std::nullopt;
      if (spec->registry && version) {
        auto by_version = resolve(name, *version);
        if (!by_version) return std::nullopt;
        return by_version;
      }
      if (!resolved) return spec;
    }
    if (resolved) {
      auto spec = resolve(name, *resolved);
      if (!spec) return std::nullopt;
      return spec;
    }
    return std::nullopt;
  };
  if (auto found = attempt()) return *found;
  if (version) return resolve(name, *version);
  return std::nullopt;
}

class V1Converter {
 public:
  explicit V1Converter(Json& packages) : packages_(packages) {}

  /// False when the nesting is deeper than kMaxV1Depth.
  bool load_all(std::string location, std::string_view name, const Json& lock, int depth = 0) {
    if (depth > kMaxV1Depth) return false;
    if (!lock.is_object()) return true;
    const Json& meta = meta_from_lock(location, name, lock);
    // Dependencies nested under a link are really under the link's target.
    if (flag_at(meta, "link")) {
      if (const std::string* target = string_at(meta, "resolved")) location = *target;
    }
    auto deps = lock.find("dependencies");
    if (deps == lock.end() || !deps->is_object()) return true;
    for (const auto& [child, child_lock] : deps->items()) {
      std::string loc = location + (location.empty() ? "" : "/") + "node_modules/" + child;
      if (!load_all(std::move(loc), child, child_lock, depth + 1)) return false;
    }
    return true;
  }

  void fix_dependencies(const manifest::Manifest& root_package) {
    Json& root = packages_[""];
    Json fields = package_fields(root_package);
    for (auto& [key, value] : fields.items()) root[key] = value;

    for (auto& [loc, meta] : packages_.items()) {
      if (loc.empty()) continue;
      auto req = meta.find("requires");
      if (req == meta.end()) continue;
      Json required = std::move(*req);
      meta.erase("requires");
      if (!required.is_object()) continue;
      for (const auto& [dep_name, spec] : required.items()) {
        const Json* dep = resolve_meta_node(loc, dep_name);
        const char* type = "dependencies";
        if (dep && flag_at(*dep, "optional") && !flag_at(meta, "optional")) {
          type = "optionalDependencies";
        } else if (dep && flag_at(*dep, "dev") && !flag_at(meta, "dev")) {
          type = "devDependencies";
        }
        meta[type][dep_name] = spec;
      }
    }
  }

 private:
  const Json& meta_from_lock(const std::string& location, std::string_view name, const Json& lock) {
    using manifest::SpecType;
    const std::optional<manifest::PackageSpec> spec = spec_from_lock(name, lock);

    if (spec && spec->type == SpecType::kDirectory) {
      // A symlink: only the target is recorded; the target's own entry gets the rest.
      std::string target = normalize_relative_path(file_spec_path(spec->raw_spec));
      Json link = Json::object();
      link["link"] = true;
      link["resolved"] = target;
      packages_[location] = std::move(link);
      if (!packages_.contains(target)) {
        Json unversioned = lock;
        unversioned["version"] = nullptr;
        meta_from_lock(target, name, unversioned);
      }
      return packages_[location];
    }

    Json meta = Json::object();
    if (auto req = lock.find("requires"); req != lock.end() && req->is_object()) {
      meta["requires"] = *req;
    }
    if (flag_at(lock, "optional")) meta["optional"] = true;
    if (flag_at(lock, "dev")) meta["dev"] = true;
    if (location.empty()) {
      if (const std::string* n = string_at(lock, "name")) meta["name"] = *n;
    }
    const std::string* integrity = string_at(lock, "integrity");
    if (integrity) meta["integrity"] = *integrity;
    const std::string* version = string_at(lock, "version");
    const std::string* resolved = string_at(lock, "resolved");
    const bool registry = spec && spec->registry;

    if (version && !integrity) {
      // Usually git (npm keeps the full URL, for private repositories), or a registry
      // package saved without integrity.
      if (spec && spec->type == SpecType::kGit) {
        meta["resolved"] = consistent_resolved(spec->raw_spec);
        return packages_[location] = std::move(meta);
      }
      if (registry) meta["version"] = *version;
    }

    if (resolved || (spec && !registry)) {
      if (registry) {
        if (resolved) meta["resolved"] = *resolved;
      } else if (spec && spec->type == SpecType::kFile) {
        meta["resolved"] = "file:" + normalize_relative_path(file_spec_path(spec->raw_spec));
      } else if (spec && spec->fetch_spec) {
        meta["resolved"] = *spec->fetch_spec;
      }
    }

    if (!meta.contains("version") && spec) {
      if (spec->type == SpecType::kFile || spec->type == SpecType::kRemote) {
        std::optional<NameVersion> tgz;
        if (spec->fetch_spec) tgz = version_from_tgz(name, *spec->fetch_spec);
        if (!tgz && meta.contains("resolved")) {
          tgz = version_from_tgz(name, meta["resolved"].get_ref<const std::string&>());
        }
        if (tgz) {
          meta["version"] = tgz->version;
          if (tgz->name != name) meta["name"] = tgz->name;
        }
      } else if (spec->type == SpecType::kAlias && spec->sub_spec) {
        meta["name"] = spec->sub_spec->name;
        if (spec->sub_spec->fetch_spec) meta["version"] = *spec->sub_spec->fetch_spec;
      } else if (spec->type == SpecType::kVersion && spec->fetch_spec) {
        meta["version"] = *spec->fetch_spec;
      }
    }

    if (flag_at(lock, "bundled")) meta["inBundle"] = true;
    return packages_[location] = std::move(meta);
  }

  const Json* resolve_meta_node(const std::string& loc, const std::string& name) const {
    std::string path = loc;
    for (;;) {
      std::string check = path + (path.empty() ? "" : "/") + "node_modules/" + name;
      auto it = packages_.find(check);
      if (it != packages_.end()) return &*it;
      if (path.empty()) return nullptr;
      size_t slash = path.rfind('/');
      path.resize(slash == std::string::npos ? 0 : slash);
    }
  }

  Json& packages_;
};

std::optional<NameVersion> from_base_scope_name(std::string_view base, std::string_view scope,
                                                std::string_view name) {
  std::string prefix = std::string(name) + "-";
  if (base.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view ver = base.substr(prefix.size(), base.size() - prefix.size() - 4);
  auto parsed = semver::Version::parse(ver);
  if (!parsed) return std::nullopt;
  NameVersion out;
  out.name = !scope.empty() && scope[0] == '@' ? std::string(scope) + "/" + std::string(name)
                                               : std::string(name);
  out.version = parsed->str();
  return out;
}

/// Splits on '/' and on "%2f" (any case), as version-from-tgz does.
std::vector<std::string_view> split_name(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '/') {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    } else if (s[i] == '%' && i + 2 < s.size() && s[i + 1] == '2' &&
               (s[i + 2] == 'f' || s[i + 2] == 'F')) {
      parts.push_back(s.substr(start, i - start));
      start = i + 3;
      i += 2;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

}  // namespace

std::optional<NameVersion> version_from_tgz(std::string_view name, std::string_view tgz) {
  size_t slash = tgz.rfind('/');
  std::string_view base = slash == std::string_view::npos ? tgz : tgz.substr(slash + 1);
  if (base.size() < 4 || base.substr(base.size() - 4) != ".tgz") return std::nullopt;

  if (tgz.substr(0, 6) == "http:/" || tgz.substr(0, 7) == "https:/") {
    // The registry layout: <path>/@scope/name/-/name-1.2.3.tgz
    size_t scheme = tgz.find("://");
    std::string_view path;
    if (scheme != std::string_view::npos) {
      std::string_view rest = tgz.substr(scheme + 3);
      size_t p = rest.find('/');
      path = p == std::string_view::npos ? std::string_view() : rest.substr(p);
      path = path.substr(0, path.find_first_of("?#"));
    }
    if (!path.empty()) path.remove_prefix(1);
    std::vector<std::string_view> tf;
    size_t start = 0;
    for (;;) {
      size_t at = path.find("/-/", start);
      if (at == std::string_view::npos) break;
      tf.push_back(path.substr(start, at - start));
      start = at + 3;
    }
    tf.push_back(path.substr(start));
    if (tf.size() > 1 && tf.back() == base) {
      auto pre = split_name(tf[tf.size() - 2]);
      std::string_view project = pre.back();
      std::string_view scope = pre.size() > 1 ? pre[pre.size() - 2] : std::string_view();
      return from_base_scope_name(base, scope, project);
    }
  }
  auto parts = split_name(name);
  std::string_view project = parts.back();
  std::string_view scope = parts.size() > 1 ? parts[parts.size() - 2] : std::string_view();
  return from_base_scope_name(base, scope, project);
}

util::Result<Json> packages_from_v1(const Json& doc, const manifest::Manifest& root_package) {
  Json packages = Json::object();
  V1Converter converter(packages);
  if (!converter.load_all("", "", doc)) {
    return util::make_error("ELOCKFILE", "the lockfile's dependencies nest more than " +
                                             std::to_string(kMaxV1Depth) + " levels deep");
  }
  if (!packages.contains("")) packages[""] = Json::object();
  converter.fix_dependencies(root_package);
  return packages;
}

}  // namespace lade::lockfile
