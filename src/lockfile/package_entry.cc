#include "lockfile/package_entry.h"

#include <algorithm>

#include "lockfile/resolution.h"

namespace lade::lockfile {
namespace {

bool truthy(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      return false;
    case Json::value_t::boolean:
      return v.get<bool>();
    case Json::value_t::number_integer:
      return v.get<int64_t>() != 0;
    case Json::value_t::number_unsigned:
      return v.get<uint64_t>() != 0;
    case Json::value_t::number_float: {
      double d = v.get<double>();
      return d == d && d != 0;  // NaN is falsy
    }
    case Json::value_t::string:
      return !v.get_ref<const std::string&>().empty();
    default:
      return true;
  }
}

Json object_from_list(const manifest::DependencyList& list) {
  Json out = Json::object();
  for (const auto& [name, spec] : list) out[name] = spec;
  return out;
}

void put_list(Json& meta, const char* key, const manifest::DependencyList& list) {
  if (!list.empty()) meta[key] = object_from_list(list);
}

void put_field(Json& meta, const char* key, const Json& value, bool is_license = false) {
  Json v = meta_field(value, is_license);
  if (!v.is_null()) meta[key] = std::move(v);
}

bool has_install_script(const manifest::Manifest& pkg) {
  if (pkg.has_install_script) return true;
  return std::any_of(pkg.scripts.begin(), pkg.scripts.end(), [](const auto& s) {
    return (s.first == "install" || s.first == "preinstall" || s.first == "postinstall") &&
           !s.second.empty();
  });
}

void put_package_fields(Json& meta, const manifest::Manifest& pkg) {
  if (!pkg.version.empty()) meta["version"] = pkg.version;
  put_list(meta, "dependencies", pkg.dependencies);
  put_list(meta, "peerDependencies", pkg.peer_dependencies);
  put_field(meta, "peerDependenciesMeta", pkg.peer_dependencies_meta);
  put_list(meta, "optionalDependencies", pkg.optional_dependencies);
  if (!pkg.bundle_dependencies.empty()) meta["bundleDependencies"] = pkg.bundle_dependencies;
  put_list(meta, "acceptDependencies", pkg.accept_dependencies);
  put_field(meta, "funding", pkg.funding);
  put_field(meta, "engines", pkg.engines);
  put_field(meta, "os", pkg.os);
  put_field(meta, "cpu", pkg.cpu);
  put_field(meta, "libc", pkg.libc);
  put_field(meta, "license", pkg.license, /*is_license=*/true);
  if (pkg.has_shrinkwrap) meta["hasShrinkwrap"] = true;
  if (has_install_script(pkg)) meta["hasInstallScript"] = true;
  if (!pkg.bin.empty()) put_list(meta, "bin", pkg.bin);
  if (!pkg.deprecated.empty()) meta["deprecated"] = pkg.deprecated;
  if (!pkg.workspaces.empty()) meta["workspaces"] = pkg.workspaces;
}

void put_extras(Json& meta, const EntryExtras& extras) {
  if (!extras.workspaces.is_null()) {
    meta.erase("workspaces");
    put_field(meta, "workspaces", extras.workspaces);
  }
}

/// Is `node` one of the packages `left_out`, or inside one?
bool inside_left_out(const tree::Node& node, const std::function<bool(const tree::Node&)>& left_out) {
  for (const tree::Node* n = &node; left_out && n; n = n->parent()) {
    if (left_out(*n)) return true;
  }
  return false;
}

}  // namespace

Json package_fields(const manifest::Manifest& pkg) {
  Json meta = Json::object();
  put_package_fields(meta, pkg);
  return meta;
}

Json meta_field(const Json& value, bool is_license) {
  if (!truthy(value)) return nullptr;
  if (is_license && value.is_object()) {
    auto it = value.find("type");
    if (it != value.end() && truthy(*it)) return *it;
  }
  if ((value.is_object() || value.is_array()) && value.empty()) return nullptr;
  return value;
}

bool is_registry_dependency(const tree::Node& node, const std::function<bool(const tree::Node&)>& left_out) {
  bool any = false;
  for (const tree::Edge* e : node.edges_in()) {
    if (inside_left_out(*e->from(), left_out)) continue;
    if (!is_registry_spec(e->spec())) return false;
    any = true;
  }
  return any;
}

Json entry_from_node(tree::Node& node, const EntryExtras& extras, const EntryOptions& options) {
  Json meta = Json::object();
  if (node.is_link) {
    std::string target = node.realpath;
    if (target.empty() && node.target) target = node.target->location();
    meta["resolved"] = target;
    meta["link"] = true;
    return meta;
  }
  const manifest::Manifest& pkg = node.package;
  put_package_fields(meta, pkg);
  put_extras(meta, extras);

  // The name is only recorded where the folder does not tell it: the root (so that the
  // project folder's name does not matter), aliases, and folders named otherwise.
  const std::string& pname = pkg.name;
  if (!pname.empty() &&
      (node.is_project_root || pname != node.name || name_from_folder(node.location()) != pname)) {
    meta["name"] = pname;
  }
  if (node.is_top() && (!pkg.dev_dependencies.empty() || extras.declares_dev_dependencies)) {
    meta["devDependencies"] = object_from_list(pkg.dev_dependencies);
  }
  if (!node.integrity.empty()) meta["integrity"] = node.integrity;
  // A package reached only from the packages left out may be bundled no longer.
  std::function<bool(const tree::Node&)> gone;
  if (options.left_out) gone = [&](const tree::Node& n) { return inside_left_out(n, options.left_out); };
  if (!node.is_project_root && node.in_bundle(gone)) meta["inBundle"] = true;

  if (!node.resolved.empty() && !(options.omit_registry_resolved && is_registry_dependency(node, options.left_out))) {
    meta["resolved"] = node.resolved;
  }

  const tree::DepFlags& f = node.flags;
  if (f.extraneous) {
    meta["extraneous"] = true;
  } else {
    if (f.peer) meta["peer"] = true;
    if (f.dev) meta["dev"] = true;
    if (f.optional) meta["optional"] = true;
    if (f.dev_optional && !f.dev && !f.optional) meta["devOptional"] = true;
  }
  return meta;
}

EntryExtras entry_extras_from_json(const Json& package) {
  EntryExtras extras;
  if (!package.is_object()) return extras;
  auto dev = package.find("devDependencies");
  extras.declares_dev_dependencies = dev != package.end() && dev->is_object();
  auto ws = package.find("workspaces");
  if (ws != package.end() && !ws->is_array()) extras.workspaces = *ws;
  return extras;
}

manifest::Manifest manifest_from_entry(const Json& entry) {
  return manifest::manifest_from_json(entry);
}

tree::DepFlags flags_from_entry(const Json& entry) {
  auto flag = [&](const char* key) {
    auto it = entry.find(key);
    return it != entry.end() && truthy(*it);
  };
  tree::DepFlags f;
  f.extraneous = flag("extraneous");
  f.dev = flag("dev");
  f.optional = flag("optional");
  f.peer = flag("peer");
  f.dev_optional = flag("devOptional") || f.dev || f.optional;
  return f;
}

}  // namespace lade::lockfile
