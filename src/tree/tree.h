#pragma once
// The dependency graph as npm's arborist models it: Nodes (a package at a location in
// node_modules) and Edges (one dependency declaration of a node, resolved to the node that
// `require()` would find from there). A Tree owns every node it creates; nodes leave the tree
// only through explicit operations (attach, detach, replace), and every operation reloads exactly
// the edges whose resolution it can change.
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "manifest/manifest.h"
#include "tree/override_set.h"
#include "util/result.h"

namespace lade::tree {

class Node;
class Tree;

enum class EdgeType { Prod, Dev, Optional, Peer, PeerOptional, Workspace };
std::string_view edge_type_name(EdgeType type);

enum class EdgeError { None, Missing, PeerLocal, Invalid, Detached };

/// What arborist remembers of a node's or an edge's first explanation (Node#explain,
/// Edge#explain): every later report prints that one, however the tree changed since. The
/// tree only holds it (resolver/explain makes it) and empties it where arborist does; a copy of
/// a node or edge starts without one.
class ExplanationSlot {
 public:
  ExplanationSlot() = default;
  ExplanationSlot(const ExplanationSlot&) {}
  ExplanationSlot& operator=(const ExplanationSlot&) {
    value.reset();
    return *this;
  }
  std::shared_ptr<const void> value;
};

class Edge {
 public:
  Node* from() const { return from_; }
  Node* to() const { return to_; }
  const std::string& name() const { return name_; }
  /// The spec in effect: the value of the override rule for this dependency when one applies
  /// (a `$name` value resolved against the root package.json's dependencies), else the spec.
  const std::string& spec() const { return has_override_spec_ ? override_spec_ : spec_; }
  /// The spec as the package declared it.
  const std::string& raw_spec() const { return raw_spec_; }
  EdgeType type() const { return type_; }
  /// The override set in effect for this dependency: the rule that matched it, else its
  /// dependent's set; null when the project has no overrides.
  const OverrideSet* overrides() const { return overrides_; }
  bool peer() const { return type_ == EdgeType::Peer || type_ == EdgeType::PeerOptional; }
  bool optional() const { return type_ == EdgeType::Optional || type_ == EdgeType::PeerOptional; }
  bool dev() const { return type_ == EdgeType::Dev; }
  bool workspace() const { return type_ == EdgeType::Workspace; }
  EdgeError error() const;
  bool valid() const { return error() == EdgeError::None; }
  bool missing() const { return error() == EdgeError::Missing; }
  /// Would `node` satisfy this edge (name and spec)? An overridden edge takes a node that
  /// satisfies the override, or the declared spec without matching the rule's key spec;
  /// bundled and shrinkwrapped nodes are judged by the declared spec alone.
  bool satisfied_by(const Node& node) const;

  /// Set when a peer conflict was overridden (npm's peerConflicted).
  bool peer_conflicted = false;
  /// Emptied when the edge is reloaded or detached.
  mutable ExplanationSlot explanation;

 private:
  friend class Tree;
  friend class Node;
  Node* from_ = nullptr;
  Node* to_ = nullptr;
  std::string name_;
  std::string spec_;
  std::string raw_spec_;
  EdgeType type_ = EdgeType::Prod;
  bool detached_ = false;
  const OverrideSet* overrides_ = nullptr;
  std::string override_spec_;
  bool has_override_spec_ = false;
  size_t slot_ = 0;  // index in Tree::edges_
};

/// Dependency flags, as arborist computes them (calc-dep-flags): true until proven otherwise.
struct DepFlags {
  bool dev = true;
  bool optional = true;
  bool dev_optional = true;
  bool peer = true;
  bool extraneous = true;
  bool operator==(const DepFlags&) const = default;
};

class Node {
 public:
  /// The folder name in node_modules (the alias for `npm:` deps).
  std::string name;
  /// package.json / manifest data; package.name is the real package name.
  manifest::Manifest package;
  /// Where it came from: tarball URL, `file:...`, `git+...#<sha>`; empty for the root.
  std::string resolved;
  std::string integrity;
  DepFlags flags;
  /// Load failure (manifest could not be fetched); the node is a placeholder.
  std::vector<util::Error> errors;
  /// Excluded from reification (an optional dependency that failed).
  bool inert = false;
  bool is_project_root = false;
  bool is_workspace = false;
  /// A symlink (workspaces, `file:` directories): `target` is the node of the real folder.
  bool is_link = false;
  Node* target = nullptr;
  /// For links and workspace folders: the folder, relative to the project root ("packages/a").
  std::string realpath;
  /// For virtual roots: the node whose dependencies this root stands in for.
  Node* source_reference = nullptr;
  /// True for nodes read from a lockfile or node_modules (not freshly resolved).
  bool from_lockfile = false;
  /// The override set in effect for this package and its dependencies. The project root's
  /// comes from its package.json; other nodes take the one of the edges into them (the most
  /// specific one). Set it by hand only before the node's edges are loaded (a copy of a node
  /// that carries its set along); afterwards the Tree keeps it current.
  const OverrideSet* overrides = nullptr;
  mutable ExplanationSlot explanation;

  const std::string& package_name() const {
    return package.name.empty() ? name : package.name;
  }
  const std::string& version() const { return package.version; }
  /// This version is the result of an override rule for this package (arborist's overridden):
  /// some edge into it matched a rule whose value is exactly this version.
  bool overridden() const;

  /// A folder outside the project (the target of a `file:../x` link): npm gives it no fs
  /// parent, so `require()` from inside it sees only its own node_modules.
  bool is_external() const;

  Node* parent() const { return parent_; }
  Node* fs_parent() const { return fs_parent_; }
  Node* resolve_parent() const { return parent_ ? parent_ : fs_parent_; }
  bool is_top() const { return parent_ == nullptr; }
  Node* root();
  const std::map<std::string, Node*>& children() const { return children_; }
  const std::vector<Node*>& fs_children() const { return fs_children_; }
  Node* child(std::string_view n) const;
  /// The lockfile key: "" for the root, "node_modules/a/node_modules/b", "packages/x".
  std::string location() const;
  int depth() const;
  /// The order the tree made its nodes in. For nodes placed by resolution (not loaded from a
  /// lockfile) it is npm's inventory order, which npm lists some things in.
  size_t created_order() const { return slot_; }
  /// What `require(name)` would find from here: own child, else up the resolve parents.
  Node* resolve(std::string_view name);
  bool is_descendant_of(const Node* other) const;
  /// This node and each resolve parent up to the top.
  std::vector<Node*> ancestry();

  /// Outgoing edges in arborist's insertion order (peer, peerOptional, prod, optional, dev).
  const std::vector<Edge*>& edges_out() const { return edges_out_; }
  Edge* edge_out(std::string_view name) const;
  const std::vector<Edge*>& edges_in() const { return edges_in_; }

  /// Same package content (integrity, else resolved, else name+version).
  bool matches(const Node& other) const;
  /// Every edge into `other` (from outside other's own dep set) would be satisfied by this.
  bool can_replace(Node& other, const std::vector<std::string>& ignore_peers = {});
  bool satisfies(const Edge& edge) const { return edge.name() == name && edge.satisfied_by(*this); }
  /// The package bundling this node, if any. Edges from packages `gone` accepts (a tree
  /// without them) do not count.
  Node* bundler(const std::function<bool(const Node&)>& gone = nullptr);
  bool in_bundle(const std::function<bool(const Node&)>& gone = nullptr) { return bundler(gone) != nullptr; }
  /// Below a package that ships its own lockfile (npm-shrinkwrap.json): placed as it says.
  bool in_shrinkwrap() const;
  bool in_dep_bundle();
  bool can_dedupe(bool prefer_dedupe, bool explicit_request);

 private:
  friend class Tree;
  friend class Edge;
  Tree* tree_ = nullptr;
  Node* parent_ = nullptr;
  Node* fs_parent_ = nullptr;
  std::map<std::string, Node*> children_;
  std::vector<Node*> fs_children_;
  std::vector<Edge*> edges_out_;
  std::vector<Edge*> edges_in_;
  size_t slot_ = 0;  // index in Tree::nodes_
  struct BundlerWalk;
  Node* find_bundler(BundlerWalk& walk, const std::function<bool(const Node&)>& gone);
};

/// Decides whether a node satisfies a spec (npm's dep-valid). Injected so that tree/ does not
/// need to know every spec kind; resolver/ provides the full one.
using DepValidFn = std::function<bool(const Node& child, const std::string& spec, const Node& from)>;

/// Owns nodes and edges and performs every structural change.
class Tree {
 public:
  explicit Tree(DepValidFn dep_valid);
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;

  /// Creates a detached node. Its edges are created when it is attached (or by load_edges).
  Node* create_node(std::string name, manifest::Manifest package);
  /// Creates the project root (with dev dependencies) and remembers it. The root's
  /// package.json "overrides" (and only the root's) become the tree's override rules; a
  /// malformed rule is reported by override_errors().
  Node* create_root(manifest::Manifest package);
  Node* root() const { return root_; }

  /// Creates the node's outgoing edges from its package (arborist's _loadDeps). `with_dev` loads
  /// devDependencies (only for tops: the project root and virtual roots standing in for it).
  void load_edges(Node* node, bool with_dev);
  /// Gives `node` a new package (arborist's `node.package = ...`): its outgoing edges are made
  /// again from it (devDependencies for tops).
  void set_package(Node* node, manifest::Manifest package);
  /// Adds one edge by hand (workspace edges, edges from lockfile entries).
  Edge* add_edge(Node* from, std::string name, std::string spec, EdgeType type);

  /// Puts `node` into parent's node_modules (replacing nothing: the name must be free).
  void attach(Node* node, Node* parent);
  /// Puts `node` (a workspace folder) under `fs_parent` without node_modules.
  void attach_fs(Node* node, Node* fs_parent);
  /// The deepest folder node in the project (the root, a workspace, a link target) that
  /// contains the folder `realpath` (relative to the project): the fs parent arborist's root
  /// setter finds for a node at that path.
  Node* folder_containing(const std::string& realpath) const;
  /// Removes the node and its subtree from the tree.
  void detach(Node* node);
  /// Frees `top` and every node below it (children and fs children), with their edges: for
  /// scratch trees such as the resolver's virtual roots, once nothing refers to them any
  /// more. Pointers to those nodes and edges dangle afterwards; the caller forgets them first.
  /// Refused (false, nothing freed) when `top` is the root or attached somewhere, or when an
  /// edge from outside the subtree resolves into it.
  bool release_detached(Node* top);
  /// `node` takes `old`'s place; old's children move under node; old is detached.
  void replace(Node* node, Node* old);

  /// Every node attached under the root (including the root), in no particular order.
  std::vector<Node*> inventory() const;
  /// Nodes with this name at or below `top` (through parent and fs-parent links), in the
  /// order inventory() walks them; none when `top` is not attached under the root.
  std::vector<Node*> query_name(std::string_view name, Node* top) const;

  /// Sets the declared spec of an existing edge (override rules still apply on top of it).
  void set_edge_spec(Edge* edge, std::string spec);

  /// The rules parsed from the root's "overrides"; null when it has none.
  const OverrideSet* root_overrides() const { return root_overrides_.get(); }
  /// Problems found while applying overrides, each once: a rule that does not parse (EOVERRIDE,
  /// or the spec parser's code), a `$name` reference that nothing declares (EOVERRIDE; npm
  /// gives no code). npm fails the install on either.
  const std::vector<util::Error>& override_errors() const { return override_errors_; }
  /// The first of those met when the root was made, as npm's loadVirtual meets it: the root's
  /// "overrides" do not parse. (npm resolves a `$name` reference only when an edge's spec is
  /// read, later.)
  const std::optional<util::Error>& override_rules_error() const { return override_rules_error_; }
  /// npm's assertRootOverrides: an override may not change the spec of one of the root's own
  /// dependencies (a `$name` reference to it is how to override those). EOVERRIDE.
  util::Status assert_root_overrides() const;
  const DepValidFn& dep_valid() const { return dep_valid_; }

  /// semver `a > b` for two valid versions (injected with dep_valid).
  std::function<bool(const std::string& a, const std::string& b)> version_gt;
  /// npm's legacy-peer-deps: peer dependencies are not loaded as edges.
  bool legacy_peer_deps = false;

  /// A link's override set reaches its target (a workspace folder) before the target's
  /// dependencies are resolved, so that a root rule applies across the link (arborist's
  /// #resolveLinks, npm/cli#9659).
  void forward_link_overrides(Node* link);
  /// Every link passes its set on to its target where a rule names something in the target's
  /// subtree (Link.recalculateOutEdgesOverrides): for a tree read whole, once its edges are in.
  void refresh_link_overrides();

 private:
  friend class Node;  // Node::bundler() sizes its walk by the nodes made
  /// Re-resolves the edge and recomputes its override set (arborist's edge.reload). A `hard`
  /// reload (a new edge, or its dependent's set changed) leaves telling the old target about a
  /// changed set to the caller.
  void reload_edge(Edge* edge, bool hard = false);
  void refresh_override_spec(Edge* edge);
  // Override propagation along edges (node.js: addEdgeIn, deleteEdgeIn,
  // updateOverridesEdgeInAdded/Removed, recalculateOutEdgesOverrides).
  void add_edge_in(Node* node, Edge* edge);
  void delete_edge_in(Node* node, Edge* edge);
  void overrides_edge_in_added(Node* node, const OverrideSet* added);
  void overrides_edge_in_removed(Node* node, const OverrideSet* removed);
  void recalculate_out_edges_overrides(Node* node);
  void reload_named(Node* at, const std::string& name);
  /// Calls visit(node) for `top` and every node below it (`top` first), in inventory()'s
  /// order: a subtree is walked as the walk from the root meets it. A template: query_name
  /// walks a subtree once per placement.
  template <class Visit>
  void walk_attached(Visit&& visit, Node* top = nullptr) const {
    if (!top) top = root_;
    if (!top) return;
    std::vector<Node*> stack{top};
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      visit(n);
      for (auto& [_, c] : n->children_) stack.push_back(c);
      for (Node* c : n->fs_children_) stack.push_back(c);
    }
  }
  void reload_out_edges_of_subtree(Node* node);
  void detach_edge(Edge* edge);

  DepValidFn dep_valid_;
  Node* root_ = nullptr;
  // Released slots hold null.
  std::deque<std::unique_ptr<Node>> nodes_;
  std::deque<std::unique_ptr<Edge>> edges_;
  std::unordered_map<std::string, std::vector<Edge*>> edges_by_name_;
  std::unique_ptr<OverrideSet> root_overrides_;
  std::vector<util::Error> override_errors_;
  std::optional<util::Error> override_rules_error_;
};

/// The nodes reachable from `start` through edges passing `filter`, minus any also depended on
/// from outside the set (arborist's gather-dep-set). Order: discovery order. `reached`, when
/// given, receives every node the walk met, kept or not, in the same order.
std::vector<Node*> gather_dep_set(const std::vector<Node*>& start,
                                  const std::function<bool(const Edge&)>& filter,
                                  std::vector<Node*>* reached = nullptr);

/// arborist's optional-set: when optional `node` cannot be installed, what goes with it — the
/// node, its dependents up to the optional edges that lead into the area, and whatever only
/// they need (edges from inert nodes do not count). Empty when `node` is not optional.
std::vector<Node*> optional_set(Node* node);

/// arborist's peer-entry-sets: for each edge that brings `node`'s peer group into the tree (a
/// non-peer edge, or any edge from a top), the peer group it brings. Insertion ordered.
std::vector<std::pair<Edge*, std::vector<Node*>>> peer_entry_sets(Node* node);

/// Resets every node's dep flags to "unproven" (true), as arborist's reset-dep-flags.
void reset_dep_flags(Tree& tree);

/// arborist's calc-dep-flags: recomputes dev/optional/devOptional/peer/extraneous from the root.
void calc_dep_flags(Tree& tree);

/// arborist's calc-dep-flags from `start` without resetting it (calcDepFlags(node, false), as
/// npm's reify runs it on each package whose bundle it unpacked): flags only go on being
/// cleared, from what `start`, and what it reaches, have already.
void calc_dep_flags_from(Node* start);

}  // namespace lade::tree
