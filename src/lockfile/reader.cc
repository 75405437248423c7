#include "lockfile/reader.h"

#include <algorithm>
#include <map>

#include "lockfile/resolution.h"
#include "lockfile/v1_lock.h"
#include "lockfile/workspaces.h"
#include "util/collate.h"

namespace lade::lockfile {
namespace {

using tree::Node;

const std::string* string_at(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return nullptr;
  const std::string& s = it->get_ref<const std::string&>();
  return s.empty() ? nullptr : &s;
}

bool truthy_at(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) return !it->get_ref<const std::string&>().empty();
  if (it->is_number()) return it->get<double>() != 0;
  return true;
}

/// A location inside some node_modules: the parent's location and the folder name.
struct NmLocation {
  std::string parent;
  std::string name;
};

/// Splits "a/node_modules/@s/x" into {"a", "@s/x"}; nullopt for folders outside node_modules
/// ("packages/a", "../lib").
std::optional<NmLocation> split_nm_location(std::string_view loc) {
  constexpr std::string_view kNm = "node_modules/";
  size_t at = std::string_view::npos;
  for (size_t pos = loc.find(kNm); pos != std::string_view::npos; pos = loc.find(kNm, pos + 1)) {
    if (pos == 0 || loc[pos - 1] == '/') at = pos;
  }
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view name = loc.substr(at + kNm.size());
  // The name is one segment, or two for a scope; anything deeper is not a package folder.
  size_t slash = name.find('/');
  if (name.empty() || (slash != std::string_view::npos &&
                       (name[0] != '@' || name.find('/', slash + 1) != std::string_view::npos))) {
    return std::nullopt;
  }
  std::string_view parent = loc.substr(0, at);
  if (!parent.empty()) parent.remove_suffix(1);  // the '/'
  return NmLocation{std::string(parent), std::string(name)};
}

/// The nearest folder node above `loc` (a path outside node_modules), else the root.
Node* fs_parent_for(const std::string& loc, const std::unordered_map<std::string, Node*>& nodes,
                    Node* root) {
  std::string path = loc;
  for (;;) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return root;
    path.resize(slash);
    if (path == ".." || path.ends_with("/..")) return root;
    auto it = nodes.find(path);
    if (it != nodes.end() && !it->second->is_link) return it->second;
  }
}

void reset_flags(tree::Tree& tree) {
  for (Node* n : tree.inventory()) {
    if (!n->is_project_root) n->flags = tree::DepFlags{};
  }
}

std::string edge_type_key(tree::EdgeType t) { return std::string(tree::edge_type_name(t)); }

/// npm v1 lockfiles mark bundled packages; v2+ list them in the bundler's bundleDependencies.
/// `order` pairs each loaded node with its key in `packages`.
void assign_bundles(const Json& packages, const std::vector<std::pair<std::string, Node*>>& order) {
  std::unordered_map<const Node*, const std::string*> key_of;
  for (const auto& [loc, node] : order) key_of[node] = &loc;
  for (const auto& [loc, node] : order) {
    if (loc.empty() || node->is_link) continue;
    Node* parent = node->parent();
    if (!parent) continue;
    auto entry = packages.find(loc);
    if (entry == packages.end() || !truthy_at(*entry, "inBundle")) continue;
    auto parent_key = key_of.find(parent);
    auto parent_entry =
        parent_key == key_of.end() ? packages.end() : packages.find(*parent_key->second);
    bool parent_bundled = parent_entry != packages.end() && truthy_at(*parent_entry, "inBundle");
    if (!parent_bundled && parent->edge_out(node->name)) {
      parent->package.bundle_dependencies.push_back(node->name);
    }
  }
}

}  // namespace

bool root_edges_match(const Json& lock_root, const tree::Node& root,
                      const WorkspaceList& lock_workspaces) {
  auto deps_of = [&](const char* key) {
    std::map<std::string, std::string> out;
    auto it = lock_root.find(key);
    if (it == lock_root.end() || !it->is_object()) return out;
    for (const auto& [name, spec] : it->items()) {
      out[name] = spec.is_string() ? spec.get<std::string>() : spec.dump();
    }
    return out;
  };
  // Keys keep the lock's order in npm; only membership matters here.
  auto prod = deps_of("dependencies");
  auto dev = deps_of("devDependencies");
  auto optional = deps_of("optionalDependencies");
  auto peer = deps_of("peerDependencies");
  std::map<std::string, std::string> peer_optional;
  if (auto meta = lock_root.find("peerDependenciesMeta");
      meta != lock_root.end() && meta->is_object()) {
    for (const auto& [name, m] : meta->items()) {
      if (m.is_object() && truthy_at(m, "optional") && peer.count(name)) {
        peer_optional[name] = peer[name];
        peer.erase(name);
      }
    }
  }
  for (const auto& [name, _] : optional) prod.erase(name);
  std::map<std::string, std::string> workspace;
  for (const auto& [name, path] : lock_workspaces) workspace[name] = "file:" + path;

  std::vector<std::string> root_names;
  for (const tree::Edge* e : root.edges_out()) root_names.push_back(e->name());

  const std::pair<const char*, const std::map<std::string, std::string>*> by_type[] = {
      {"dev", &dev},   {"optional", &optional},  {"peer", &peer}, {"peerOptional", &peer_optional},
      {"prod", &prod}, {"workspace", &workspace}};
  for (const auto& [type, deps] : by_type) {
    for (const auto& [name, spec] : *deps) {
      const tree::Edge* edge = root.edge_out(name);
      if (!edge || edge_type_key(edge->type()) != type || edge->spec() != spec) return false;
      std::erase(root_names, name);
    }
  }
  return root_names.empty();
}

util::Result<LoadedLock> read_lockfile(std::string_view text, std::string_view file_name,
                                       tree::Tree& tree, const manifest::Manifest& root_package,
                                       const ReadOptions& options) {
  Json doc = LADE_TRY(manifest::parse_json(text, file_name));
  if (!doc.is_object()) {
    return util::make_error("EJSONPARSE",
                            std::string(file_name) + ": the lockfile is not a JSON object");
  }
  LoadedLock out;
  out.format = detect_json_format(text);

  int version = 1;
  if (auto v = doc.find("lockfileVersion"); v != doc.end()) {
    if (!v->is_number_integer() && !v->is_number_unsigned()) {
      return util::make_error("ELOCKFILEVERSION", std::string(file_name) + ": lockfileVersion " +
                                                      v->dump() +
                                                      " is not supported (expected 1, 2 or 3)");
    }
    const int64_t n = v->get<int64_t>();
    // A newer version is read as v3 is (npm does the same, and writes the number back).
    if (n < 1 || n > 1000000) {
      return util::make_error("ELOCKFILEVERSION", std::string(file_name) + ": lockfileVersion " +
                                                      std::to_string(n) + " is not supported");
    }
    version = static_cast<int>(n);
  }
  out.lockfile_version = version;
  out.needs_inflate = version < 2;
  out.ancient = version < 2 && !truthy_at(doc, "requires");

  for (auto& [key, value] : doc.items()) {
    if (key != "name" && key != "version" && key != "lockfileVersion" && key != "requires" &&
        key != "packages" && key != "dependencies") {
      out.extras.top_level[key] = value;
    }
  }

  Json packages = Json::object();
  const bool from_v1 = !doc.contains("packages") && doc.contains("dependencies");
  if (auto p = doc.find("packages"); p != doc.end() && p->is_object()) {
    packages = std::move(*p);
  } else if (from_v1) {
    auto converted = packages_from_v1(doc, root_package);
    if (!converted.ok()) {
      util::Error error = converted.take_error();
      error.message = std::string(file_name) + ": " + error.message;
      return error;
    }
    packages = std::move(converted).value();
  }

  Node* root = tree.create_root(root_package);
  out.nodes[""] = root;
  out.extras.entries[root] = options.root_extras;

  const WorkspaceList lock_workspaces = workspaces_from_lock(packages);
  WorkspaceList workspaces = options.workspaces;
  if (workspaces.empty() && !root_package.workspaces.empty()) {
    workspaces = match_workspaces(packages, root_package.workspaces);
  }
  for (const auto& [name, path] : workspaces) {
    tree.add_edge(root, name, "file:" + path, tree::EdgeType::Workspace);
  }

  // Parents before children: a parent's location is a prefix of its children's.
  struct Entry {
    const std::string* location;
    const Json* entry;
  };
  std::vector<Entry> entries;
  entries.reserve(packages.size());
  for (const auto& [loc, entry] : packages.get_ref<const Json::object_t&>()) {
    if (!loc.empty() && entry.is_object()) entries.push_back({&loc, &entry});
  }
  // With overrides, the order matters: npm's loadVirtual adds the entries in the lockfile's
  // order (localeCompare), each with its edges resolved against the tree so far, and edges
  // move to the packages that come later. Every move can change the override set of the
  // package an edge leaves (the set of one that was not reached yet is none), and npm keeps
  // what those moves leave. Without overrides, the tree is the same whatever the order; its
  // edges are resolved once, when every package is in place.
  const bool in_npm_order = root->overrides != nullptr;
  if (in_npm_order) {
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return util::locale_less(*a.location, *b.location);
    });
  } else {
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.location->size() < b.location->size();
    });
  }

  std::vector<std::pair<std::string, Node*>> order;  // loaded nodes, for the passes below
  std::vector<Entry> links;
  for (const Entry& item : entries) {
    const std::string& loc = *item.location;
    const Json& entry = *item.entry;
    if (truthy_at(entry, "link")) {
      links.push_back(item);
      continue;
    }
    auto nm = split_nm_location(loc);
    std::string name = nm ? nm->name : name_from_folder(loc);
    manifest::Manifest pkg = manifest_from_entry(entry);
    if (pkg.name.empty()) pkg.name = name;
    Node* node = tree.create_node(name, std::move(pkg));
    if (const std::string* r = string_at(entry, "resolved"))
      node->resolved = consistent_resolved(*r);
    if (const std::string* i = string_at(entry, "integrity")) node->integrity = *i;
    node->flags = flags_from_entry(entry);
    node->from_lockfile = true;
    EntryExtras extras = entry_extras_from_json(entry);
    if (extras.declares_dev_dependencies || !extras.workspaces.is_null()) {
      out.extras.entries[node] = std::move(extras);
    }
    Node* parent = nullptr;
    if (nm) {
      auto it = out.nodes.find(nm->parent);
      if (it != out.nodes.end() && !it->second->is_link) parent = it->second;
    }
    if (parent) {
      tree.attach(node, parent);
    } else {
      // A folder outside node_modules (workspace, file: link target), or an entry whose
      // parent is missing from the lock: a top that keeps its location as its path.
      node->realpath = loc;
      tree.attach_fs(node, fs_parent_for(loc, out.nodes, root));
    }
    if (in_npm_order) tree.load_edges(node, /*with_dev=*/node->is_top());
    out.nodes[loc] = node;
    order.emplace_back(loc, node);
  }

  for (const Entry& item : links) {
    const std::string& loc = *item.location;
    const Json& entry = *item.entry;
    const std::string* resolved = string_at(entry, "resolved");
    std::string target_loc = resolved ? normalize_relative_path(*resolved) : std::string();
    auto target_it = out.nodes.find(target_loc);
    if (!resolved || target_it == out.nodes.end() || target_it->second->is_link) {
      return util::make_error("EMISSINGTARGET",
                              "Missing target in lock file: \"" + target_loc +
                                  "\" is referenced by \"" + loc +
                                  "\" but does not exist.\nTo fix:\n1. rm package-lock.json\n2. "
                                  "npm install");
    }
    Node* target = target_it->second;
    if (!target->parent() && options.read_link_target) {
      // npm re-reads link targets outside node_modules: the user may have edited them.
      if (std::optional<Json> pj = options.read_link_target(target_loc)) {
        manifest::Manifest pkg = manifest::manifest_from_json(*pj);
        if (pkg.name.empty()) pkg.name = target->name;
        target->package = std::move(pkg);
        out.extras.entries[target] = entry_extras_from_json(*pj);
      }
    }
    auto nm = split_nm_location(loc);
    Node* link = tree.create_node(nm ? nm->name : name_from_folder(loc), target->package);
    link->is_link = true;
    link->target = target;
    link->realpath = target_loc;
    link->flags = target->flags;
    link->from_lockfile = true;
    Node* parent = nullptr;
    if (nm) {
      auto it = out.nodes.find(nm->parent);
      if (it != out.nodes.end() && !it->second->is_link) parent = it->second;
    }
    if (parent) {
      tree.attach(link, parent);
    } else {
      tree.attach_fs(link, fs_parent_for(loc, out.nodes, root));
    }
    out.nodes[loc] = link;
    order.emplace_back(loc, link);
  }

  for (const auto& [loc, node] : order) {
    if (!node->is_link && !in_npm_order) tree.load_edges(node, /*with_dev=*/node->is_top());
  }

  if (from_v1) assign_bundles(packages, order);
  // Links got their override sets while their targets' edges were still missing.
  tree.refresh_link_overrides();

  for (const tree::Edge* e : root->edges_out()) {
    if (!e->workspace() || !e->to()) continue;
    e->to()->is_workspace = true;
    if (e->to()->is_link && e->to()->target) e->to()->target->is_workspace = true;
  }

  bool recalc = (options.hidden && !options.keep_flags) || options.recompute_flags || out.needs_inflate;
  if (!options.hidden && !out.ancient) {
    auto lock_root = packages.find("");
    static const Json kEmpty = Json::object();
    out.root_mismatch = !root_edges_match(
        lock_root != packages.end() && lock_root->is_object() ? *lock_root : kEmpty, *root,
        lock_workspaces);
    recalc = recalc || out.root_mismatch;
  }
  if (options.hidden && !recalc) {
    // npm reads the hidden lockfile with the project's package.json as its root entry, and
    // takes the recorded flags for suspect when the root's edges differ from what that
    // declares: with legacy-peer-deps, the root's peerDependencies have none.
    Json declared = Json::object();
    const std::pair<const char*, const manifest::DependencyList*> lists[] = {
        {"dependencies", &root_package.dependencies},
        {"devDependencies", &root_package.dev_dependencies},
        {"optionalDependencies", &root_package.optional_dependencies},
        {"peerDependencies", &root_package.peer_dependencies}};
    for (const auto& [key, list] : lists) {
      for (const auto& [name, spec] : *list) declared[key][name] = spec;
    }
    if (root_package.peer_dependencies_meta.is_object()) {
      declared["peerDependenciesMeta"] = root_package.peer_dependencies_meta;
    }
    recalc = !root_edges_match(declared, *root, workspaces);
  }
  if (recalc) {
    reset_flags(tree);
    tree::calc_dep_flags(tree);
  }
  return out;
}

util::Result<std::vector<tree::Node*>> read_subtree_lock(std::string_view text,
                                                         std::string_view file_name,
                                                         tree::Tree& tree, tree::Node& under) {
  Json doc = LADE_TRY(manifest::parse_json(text, file_name));
  if (!doc.is_object()) {
    return util::make_error("EJSONPARSE",
                            std::string(file_name) + ": the lockfile is not a JSON object");
  }
  Json packages = Json::object();
  const bool from_v1 = !doc.contains("packages") && doc.contains("dependencies");
  if (auto p = doc.find("packages"); p != doc.end() && p->is_object()) {
    packages = std::move(*p);
  } else if (from_v1) {
    auto converted = packages_from_v1(doc, under.package);
    if (!converted.ok()) {
      util::Error error = converted.take_error();
      error.message = std::string(file_name) + ": " + error.message;
      return error;
    }
    packages = std::move(converted).value();
  }

  // Parents before children, as in read_lockfile; only folders inside node_modules belong to
  // the subtree (a packed package has no workspaces or links of its own to offer).
  std::vector<std::pair<const std::string*, const Json*>> entries;
  for (const auto& [loc, entry] : packages.get_ref<const Json::object_t&>()) {
    if (loc.empty() || !entry.is_object() || truthy_at(entry, "link")) continue;
    if (!split_nm_location(loc)) continue;
    entries.emplace_back(&loc, &entry);
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first->size() < b.first->size(); });

  std::unordered_map<std::string, Node*> nodes{{"", &under}};
  std::vector<std::pair<std::string, Node*>> order;
  for (const auto& [loc_ptr, entry_ptr] : entries) {
    const std::string& loc = *loc_ptr;
    const Json& entry = *entry_ptr;
    auto nm = split_nm_location(loc);
    auto parent_it = nodes.find(nm->parent);
    if (parent_it == nodes.end()) continue;  // its parent folder is not in the lock
    manifest::Manifest pkg = manifest_from_entry(entry);
    if (pkg.name.empty()) pkg.name = nm->name;
    Node* node = tree.create_node(nm->name, std::move(pkg));
    if (const std::string* r = string_at(entry, "resolved"))
      node->resolved = consistent_resolved(*r);
    if (const std::string* i = string_at(entry, "integrity")) node->integrity = *i;
    node->flags = flags_from_entry(entry);
    node->from_lockfile = true;
    if (Node* old = parent_it->second->child(nm->name)) tree.detach(old);
    tree.attach(node, parent_it->second);
    nodes[loc] = node;
    order.emplace_back(loc, node);
  }
  for (const auto& [_, node] : order) tree.load_edges(node, /*with_dev=*/false);
  if (from_v1) assign_bundles(packages, order);

  std::vector<tree::Node*> out;
  for (const auto& [_, node] : order) out.push_back(node);
  return out;
}

}  // namespace lade::lockfile
