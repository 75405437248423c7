#include "lockfile/legacy_lock.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lockfile/resolution.h"
#include "manifest/spec.h"
#include "util/collate.h"

namespace lade::lockfile {
namespace {

using manifest::PackageSpec;
using manifest::SpecType;
using tree::Edge;
using tree::Node;

/// Relative paths in specs are resolved against a folder; only their text matters here, so
/// any absolute folder will do.
const std::filesystem::path kWhere = "/";

/// JavaScript's location.split('node_modules'): the number of pieces and the last one.
std::pair<size_t, std::string_view> split_node_modules(std::string_view loc) {
  constexpr std::string_view kNm = "node_modules";
  size_t pieces = 1;
  size_t last = 0;
  for (size_t pos = loc.find(kNm); pos != std::string_view::npos;
       pos = loc.find(kNm, pos + kNm.size())) {
    ++pieces;
    last = pos + kNm.size();
  }
  return {pieces, loc.substr(last)};
}

bool is_type(const std::optional<PackageSpec>& spec, SpecType type) {
  return spec && spec->type == type;
}

/// npa's saveSpec of a file: or directory spec, relative to the folder that declares it.
std::string file_save_spec(std::string_view raw_spec) {
  std::string_view path = file_spec_path(raw_spec);
  if (path == "~" || path.starts_with("~/")) return "file:" + std::string(path);
  return "file:" + normalize_relative_path(path);
}

class LegacyBuilder {
 public:
  LegacyBuilder(Node* root, bool omit) : root_(root), omit_(omit) {}

  /// The "dependencies" of `node` (null when it has no children to list).
  Json dependencies_of(Node& node, std::vector<std::string>& path) {
    Node& depender = node.is_link && node.target ? *node.target : node;
    if (depender.children().empty()) return nullptr;
    path.push_back(realpath(node));
    Json deps = Json::object();
    for (const auto& [name, kid] : depender.children()) {
      if (std::find(path.begin(), path.end(), realpath(*kid)) != path.end()) continue;
      deps[name] = entry(*kid, path);
    }
    path.pop_back();
    return deps.empty() ? Json(nullptr) : deps;
  }

 private:
  static std::string realpath(const Node& node) {
    return node.is_link ? node.realpath : node.location();
  }

  /// The request that led to this package: the valid edge in from the shallowest requester,
  /// ties broken by the requester's location.
  static const Edge* requesting_edge(const Node& node) {
    struct Candidate {
      const Edge* edge;
      std::string from_location;
      size_t pieces;
      std::string last;  // not a view: candidates move while sorting
    };
    std::vector<Candidate> candidates;
    for (const Edge* e : node.edges_in()) {
      if (e->valid()) candidates.push_back({e, e->from()->location(), 0, {}});
    }
    for (Candidate& c : candidates) {
      auto [pieces, last] = split_node_modules(c.from_location);
      c.pieces = pieces;
      c.last = std::string(last);
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) {
                       if (a.pieces != b.pieces) return a.pieces < b.pieces;
                       return util::locale_compare(a.last, b.last) < 0;
                     });
    return candidates.empty() ? nullptr : candidates.front().edge;
  }

  Json entry(Node& node, std::vector<std::string>& path) {
    Json lock = Json::object();
    std::optional<PackageSpec> resolved_spec;
    if (!node.resolved.empty()) {
      auto parsed = manifest::parse_spec(consistent_resolved(node.resolved));
      if (parsed.ok()) resolved_spec = std::move(parsed).value();
    }
    std::optional<PackageSpec> spec = resolved_spec;
    if (const Edge* edge = requesting_edge(node)) {
      auto parsed = manifest::resolve_spec(node.name, edge->spec(), kWhere);
      spec = parsed.ok() ? std::optional<PackageSpec>(std::move(parsed).value()) : std::nullopt;
    }

    const std::string& pname = node.package.name;
    if (node.is_link) {
      lock["version"] = "file:" + node.realpath;
    } else if (is_type(spec, SpecType::kFile)) {
      lock["version"] = file_save_spec(spec->raw_spec);
    } else if (is_type(spec, SpecType::kRemote)) {
      lock["version"] = spec->save_spec.value_or(spec->raw_spec);
    } else if (is_type(spec, SpecType::kGit) || is_type(resolved_spec, SpecType::kGit)) {
      lock["version"] = node.resolved;
      if (spec && !spec->raw.empty()) lock["from"] = spec->raw;
    } else if (&node != root_ && !pname.empty() && pname != node.name) {
      lock["version"] = "npm:" + pname + "@" + node.version();
    } else if (!node.version().empty()) {
      lock["version"] = node.version();
    }

    if (node.in_dep_bundle()) lock["bundled"] = true;

    const bool resolved_kept =
        !is_type(resolved_spec, SpecType::kGit) && !is_type(resolved_spec, SpecType::kFile) &&
        !is_type(resolved_spec, SpecType::kDirectory) && !is_type(spec, SpecType::kDirectory) &&
        !is_type(spec, SpecType::kGit) && !is_type(spec, SpecType::kFile) &&
        !is_type(spec, SpecType::kRemote);
    if (!node.resolved.empty() && !node.is_link && resolved_kept && !omit_) {
      lock["resolved"] = node.resolved;
    }
    if (!node.integrity.empty()) lock["integrity"] = node.integrity;

    const tree::DepFlags& f = node.flags;
    if (f.extraneous) {
      lock["extraneous"] = true;
    } else if (!node.is_link) {
      if (f.peer) lock["peer"] = true;
      if (f.dev_optional && !f.dev && !f.optional) lock["devOptional"] = true;
      if (f.dev) lock["dev"] = true;
      if (f.optional) lock["optional"] = true;
    }

    Node& depender = node.is_link && node.target ? *node.target : node;
    if (!depender.edges_out().empty()) {
      // npm 6 did not know peer dependencies; listing them confuses it.
      Json requires_ = Json::object();
      for (const Edge* e : depender.edges_out()) {
        if (e->peer()) continue;
        const std::string& s = e->spec();
        requires_[e->name()] = s.starts_with("file:") ? file_save_spec(s) : s;
      }
      lock["requires"] = std::move(requires_);
    }

    Json deps = dependencies_of(node, path);
    if (!deps.is_null()) lock["dependencies"] = std::move(deps);
    return lock;
  }

  Node* root_;
  bool omit_;
};

}  // namespace

Json legacy_dependencies(tree::Tree& tree, bool omit_registry_resolved) {
  LegacyBuilder builder(tree.root(), omit_registry_resolved);
  std::vector<std::string> path;
  return builder.dependencies_of(*tree.root(), path);
}

}  // namespace lade::lockfile
