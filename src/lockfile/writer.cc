#include "lockfile/writer.h"

#include <optional>
#include <vector>

#include "lockfile/legacy_lock.h"

namespace lade::lockfile {
namespace {

using tree::Node;

bool inside_node_modules(const std::string& loc) {
  return loc == "node_modules" || loc.starts_with("node_modules/") ||
         loc.find("/node_modules/") != std::string::npos;
}

/// commit() leaves out stale folders: an extraneous workspace or file: target that the root
/// no longer depends on (but keeps extraneous folders nested under another package).
bool is_stale_top_folder(const Node& node, const std::string& loc) {
  if (!node.flags.extraneous || inside_node_modules(loc)) return false;
  const Node* fs_parent = node.fs_parent();
  return !fs_parent || fs_parent->is_project_root;
}

}  // namespace

std::string write_lockfile(tree::Tree& tree, const WriteOptions& options) {
  Node* root = tree.root();
  static const EntryExtras kNoExtras;
  auto extras_of = [&](const Node* n) -> const EntryExtras& {
    if (!options.extras) return kNoExtras;
    auto it = options.extras->entries.find(n);
    return it == options.extras->entries.end() ? kNoExtras : it->second;
  };
  EntryOptions entry_options;
  entry_options.omit_registry_resolved = options.omit_registry_resolved;
  entry_options.left_out = options.exclude;

  Json doc = Json::object();
  std::string name = root->package.name;
  if (name.empty()) name = options.project_folder_name;
  if (name.empty()) name = root->name;
  if (!name.empty() && !options.without_name) doc["name"] = name;
  if (!root->package.version.empty() && !options.without_name) doc["version"] = root->package.version;
  // A version above 3 (a lockfile from a newer npm) is written back as it was, in v3's form.
  const int version = options.hidden ? 3 : options.lockfile_version >= 1 ? options.lockfile_version : 3;
  doc["lockfileVersion"] = version;
  doc["requires"] = true;
  if (options.extras && options.extras->top_level.is_object()) {
    for (const auto& [key, value] : options.extras->top_level.items()) {
      if (!doc.contains(key)) doc[key] = value;
    }
  }
  if (version == 1) {
    // npm 6's format, as npm still writes it when asked: the nested "dependencies" alone.
    Json legacy = legacy_dependencies(tree, options.omit_registry_resolved);
    if (!legacy.is_null()) doc["dependencies"] = std::move(legacy);
    return stringify_lockfile(doc, options.format);
  }

  // "packages" is written entry by entry as its turn comes: as one document, the entries
  // of a large tree were a few megabytes at the end of an install (the medium benchmark
  // fixture's two lockfiles: 3.8 MB of heap).
  std::vector<std::string> locations;
  std::vector<Node*> located;
  std::optional<Json> root_entry;
  if (!options.hidden) {
    Json entry = entry_from_node(*root, extras_of(root), entry_options);
    if (!entry.empty()) {
      root_entry = std::move(entry);
      locations.emplace_back();
      located.push_back(root);
    }
  }
  std::vector<Node*> stack;
  for (const auto& [_, child] : root->children()) stack.push_back(child);
  for (Node* child : root->fs_children()) stack.push_back(child);
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    if (options.exclude && options.exclude(*node)) continue;
    for (const auto& [_, child] : node->children()) stack.push_back(child);
    for (Node* child : node->fs_children()) stack.push_back(child);
    std::string loc = node->location();
    if (loc.empty() || is_stale_top_folder(*node, loc)) continue;
    // Optional packages that failed to load have nothing worth recording.
    if (node->inert && node->package.version.empty()) continue;
    locations.push_back(std::move(loc));
    located.push_back(node);
  }
  doc["packages"] = Json::object();
  if (version == 2) {
    Json legacy = legacy_dependencies(tree, options.omit_registry_resolved);
    if (!legacy.is_null()) doc["dependencies"] = std::move(legacy);
  }
  StreamedObject packages;
  packages.placeholder = &doc["packages"];
  packages.keys = std::move(locations);
  packages.value = [&](size_t i) -> Json {
    if (located[i] == root && root_entry) return std::move(*root_entry);
    return entry_from_node(*located[i], extras_of(located[i]), entry_options);
  };
  return stringify_lockfile(doc, options.format, packages);
}

}  // namespace lade::lockfile
