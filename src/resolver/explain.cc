#include "resolver/explain.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace lade::resolver {
namespace {

using tree::Edge;
using tree::Node;

struct EdgeWhy;

/// Node#explain's result: what is printed of a node.
struct NodeWhy {
  bool project_root = false;  // printed as "the root project"
  std::string name, version;
  bool has_location = false;  // not when the node was met already on the way here
  std::string location;
  bool has_while = false;
  std::string while_name, while_version;
  std::vector<std::shared_ptr<const EdgeWhy>> dependents;
  std::vector<std::shared_ptr<const NodeWhy>> links_in;
};

/// Edge#explain's result.
struct EdgeWhy {
  std::string type, name, spec, raw_spec;
  bool overridden = false;
  bool bundled = false;
  std::shared_ptr<const NodeWhy> from;
};

using NodeWhyPtr = std::shared_ptr<const NodeWhy>;
using EdgeWhyPtr = std::shared_ptr<const EdgeWhy>;

std::string_view type_name(tree::EdgeType type) {
  switch (type) {
    case tree::EdgeType::Prod: return "prod";
    case tree::EdgeType::Dev: return "dev";
    case tree::EdgeType::Optional: return "optional";
    case tree::EdgeType::Peer: return "peer";
    case tree::EdgeType::PeerOptional: return "peerOptional";
    case tree::EdgeType::Workspace: return "workspace";
  }
  return "prod";
}

/// arborist's Node#isProjectRoot: the root of its tree (a virtual root made for placing a peer
/// set is one) or what the root links to.
bool heads_its_tree(const Node* n) {
  const Node* root = const_cast<Node*>(n)->root();
  return n == root || (root && root->is_link && root->target == n);
}

/// Explains as arborist does: whole chains of dependents, each node and edge once. The first
/// explanation of each is kept in the tree and returned from then on, whatever edge it is asked
/// through and however the tree changed (an edge's is dropped when the edge is reloaded).
class Explainer {
 public:
  explicit Explainer(const tree::Tree* tree) : tree_(tree) {}

  NodeWhyPtr node(const Node* n, const Edge* via = nullptr, const std::vector<const Node*>& seen = {}) {
    if (n->explanation.value) return std::static_pointer_cast<const NodeWhy>(n->explanation.value);
    NodeWhyPtr why = explain_node(n, via, seen);
    n->explanation.value = why;
    return why;
  }

  EdgeWhyPtr edge(const Edge* e, const std::vector<const Node*>& seen = {}) {
    if (e->explanation.value) return std::static_pointer_cast<const EdgeWhy>(e->explanation.value);
    auto why = std::make_shared<EdgeWhy>();
    why->type = type_name(e->type());
    why->name = e->name();
    why->spec = e->spec();
    why->raw_spec = e->raw_spec();
    why->overridden = e->raw_spec() != e->spec();
    if (const Node* from = e->from()) {
      const auto& bundled = from->package.bundle_dependencies;
      why->bundled = std::find(bundled.begin(), bundled.end(), e->name()) != bundled.end();
      why->from = node(from, nullptr, seen);
    }
    e->explanation.value = why;
    return why;
  }

 private:
  /// Node#_explain. A node met again on the way (a cycle) is explained without its place and
  /// dependents, and that short form is what it keeps if this is its first explanation.
  NodeWhyPtr explain_node(const Node* n, const Edge* via, std::vector<const Node*> seen) {
    Node* m = const_cast<Node*>(n);
    auto why = std::make_shared<NodeWhy>();
    if (n->is_project_root && !n->source_reference) {
      why->project_root = true;
      return why;
    }
    why->name = n->is_project_root || n->is_top() ? n->package_name() : n->name;
    why->version = n->version();
    if (const Node* r = m->root(); r && r->source_reference) {
      why->has_while = true;
      why->while_name = r->package.name;
      why->while_version = r->package.version;
    }
    if (n->source_reference) return node(n->source_reference, via, seen);
    if (std::find(seen.begin(), seen.end(), n) != seen.end()) return why;
    why->has_location = true;
    why->location = n->location();
    seen.push_back(n);
    if (via) {
      why->dependents.push_back(edge(via, seen));
    } else {
      for (const Edge* in : n->edges_in()) {
        // An invalid edge does not hold the node where it is, but the project's own are shown.
        if (!in->valid() && !(in->from() && heads_its_tree(in->from()))) continue;
        why->dependents.push_back(edge(in, seen));
      }
    }
    // A link is explained afresh each time (arborist calls its _explain, not explain).
    for (const Node* l : links_to(n)) why->links_in.push_back(explain_node(l, via, seen));
    return why;
  }

  const std::vector<const Node*>& links_to(const Node* n) {
    if (!links_by_target_) {
      links_by_target_.emplace();
      if (tree_) {
        for (const Node* l : tree_->inventory()) {
          if (l->is_link && l->target) (*links_by_target_)[l->target].push_back(l);
        }
      }
    }
    static const std::vector<const Node*> kNone;
    auto it = links_by_target_->find(n);
    return it == links_by_target_->end() ? kNone : it->second;
  }

  const tree::Tree* tree_;
  std::optional<std::unordered_map<const Node*, std::vector<const Node*>>> links_by_target_;
};

// ---- printing (explain-dep) ----

std::string indent(const std::string& lines) {
  std::string out;
  for (char c : lines) {
    out += c;
    if (c == '\n') out += "  ";
  }
  return out;
}

std::string print_node(const NodeWhy& n) {
  // npm prints a package.json without a version (a workspace's, the project's) as it is:
  // "@acme/expo@undefined".
  return n.name + "@" + (n.version.empty() ? "undefined" : n.version) + (n.has_location ? "\n" + n.location : "");
}

std::string print_edge(const EdgeWhy& e, int depth, std::vector<std::string>& seen);

std::string print_dependents(const NodeWhy& n, int depth, std::vector<std::string>& seen) {
  if (n.dependents.empty() || depth <= 0) return "";
  const size_t max = static_cast<size_t>((depth + 1) / 2);
  std::vector<std::string> messages;
  for (size_t i = 0; i < n.dependents.size() && i < max; ++i) messages.push_back(print_edge(*n.dependents[i], depth, seen));
  if (n.dependents.size() > max) {
    // The names of the first few that did not fit.
    size_t len = 0;
    std::vector<std::string> names;
    for (size_t i = max; i < n.dependents.size(); ++i) {
      const auto& from = n.dependents[i]->from;
      const std::string name = from && !from->project_root ? from->name : "the root project";
      len += name.size();
      if (len >= 50 && i < n.dependents.size() - 1) {
        names.push_back("...");
        break;
      }
      names.push_back(name);
    }
    std::string show;
    for (size_t i = 0; i < names.size(); ++i) show += (i ? ", " : "") + names[i];
    messages.push_back(std::to_string(n.dependents.size() - max) + " more (" + show + ")");
  }
  std::string all;
  for (const auto& m : messages) all += "\n" + m;
  return indent(all);
}

std::string print_node_whole(const NodeWhy& n, int depth, std::vector<std::string>& seen);

std::string print_links_in(const NodeWhy& n, int depth, std::vector<std::string>& seen) {
  if (n.links_in.empty() || depth <= 0) return "";
  std::string all;
  for (const auto& l : n.links_in) all += "\n" + print_node_whole(*l, depth - 1, seen);
  return indent(all);
}

std::string print_node_whole(const NodeWhy& n, int depth, std::vector<std::string>& seen) {
  return print_node(n) + print_dependents(n, depth, seen) + print_links_in(n, depth, seen);
}

std::string print_from(const NodeWhy& from, int depth, std::vector<std::string>& seen) {
  if (from.project_root) return "the root project";
  // A cycle is printed once: the second time only the package's name.
  const std::string id = from.name + "@" + from.version + ":" + from.location;
  if (std::find(seen.begin(), seen.end(), id) != seen.end()) return print_node(from);
  seen.push_back(id);
  std::string out = print_node(from) + print_dependents(from, depth - 1, seen) + print_links_in(from, depth - 1, seen);
  seen.erase(std::find(seen.begin(), seen.end(), id));
  return out;
}

std::string print_edge(const EdgeWhy& e, int depth, std::vector<std::string>& seen) {
  std::string dep = e.type == "workspace" ? e.spec.substr(e.spec.rfind("file:", 0) == 0 ? 5 : 0)
                                          : e.name + "@\"" + e.spec + "\"";
  if (e.overridden) dep = "overridden " + dep + " (was \"" + e.raw_spec + "\")";
  std::string from = e.from ? print_from(*e.from, depth, seen) : "the root project";
  return (e.type == "prod" ? "" : e.type + " ") + (e.bundled ? "bundled " : "") + dep + " from " + from;
}

}  // namespace

std::optional<std::string> explain_peer_conflict(const PeerConflict& c, int depth) {
  Explainer explainer(c.tree);
  // Explained in arborist's order: each node keeps the first explanation it gets.
  EdgeWhyPtr edge, current_edge;
  NodeWhyPtr dep, current, conflicting_current, conflicting_peer;
  if (c.source == PeerConflict::Source::kBuildIdealTree) {
    if (c.current) current = explainer.node(c.current, c.current_via);
    if (c.current_edge) current_edge = explainer.edge(c.current_edge);
    if (c.edge) edge = explainer.edge(c.edge);
  } else {
    if (c.edge) edge = explainer.edge(c.edge);
    if (c.dep) dep = explainer.node(c.dep, c.edge);
    if (c.current) current = explainer.node(c.current, c.current_via);
    if (c.unprintable_current) {
      explainer.node(c.unprintable_current, c.unprintable_via);
      return std::nullopt;
    }
  }
  if (c.conflicting_current) conflicting_current = explainer.node(c.conflicting_current);
  if (c.conflicting_peer) conflicting_peer = explainer.node(c.conflicting_peer, c.conflicting_peer_via);

  std::vector<std::string> out;
  std::vector<std::string> seen;
  const NodeWhy* edge_from = edge && edge->from ? edge->from.get() : nullptr;
  const NodeWhy* while_from = dep && dep->has_while ? dep.get()
                              : current && current->has_while ? current.get()
                              : edge_from && edge_from->has_while ? edge_from
                                                                  : nullptr;
  // npm prints the project's fields as they are: a package.json without a version reads
  // "app@undefined".
  if (while_from) {
    out.push_back("While resolving: " + while_from->while_name + "@" +
                  (while_from->while_version.empty() ? "undefined" : while_from->while_version));
  }
  if (current) {
    out.push_back("Found: " + print_node_whole(*current, depth, seen));
  } else if (conflicting_current) {
    out.push_back("Found: " + print_node_whole(*conflicting_current, depth, seen));
  } else if (current_edge) {
    out.push_back("Found: " + print_edge(*current_edge, depth, seen));
  } else if (edge) {
    out.push_back("Found: " + print_edge(*edge, depth, seen));
  }
  if (edge) out.push_back("\nCould not resolve dependency:\n" + print_edge(*edge, depth, seen));
  if (conflicting_peer) {
    out.push_back("\nConflicting peer dependency: " + print_node_whole(*conflicting_peer, depth, seen));
  }
  std::string text;
  for (size_t i = 0; i < out.size(); ++i) text += (i ? "\n" : "") + out[i];
  return text;
}

std::string eresolve_fix(bool strict_peer_deps) {
  const std::string flags = strict_peer_deps ? "--no-strict-peer-deps, --force, or --legacy-peer-deps"
                                             : "--force or --legacy-peer-deps";
  return "Fix the upstream dependency conflict, or retry this command with " + flags +
         " to accept an incorrect (and potentially broken) dependency resolution.";
}

}  // namespace lade::resolver
