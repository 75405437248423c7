#include "resolver/ideal_tree.h"

#include <algorithm>
#include <functional>

#include "resolver/explain.h"
#include "resolver/node_source.h"
#include "util/collate.h"

namespace lade::resolver {

using tree::Edge;
using tree::EdgeType;
using tree::Node;
using tree::Tree;

namespace {

enum class Place { None, Ok, Replace, Keep, Conflict };

bool contains(const std::vector<Node*>& v, const Node* n) {
  return std::find(v.begin(), v.end(), n) != v.end();
}

/// arborist's deepest-nesting-target: the deepest place from `start` up where `name` may go
/// without landing under a node that has a peer dependency on it.
Node* deepest_nesting_target(Node* start, const std::string* name) {
  for (Node* target : start->ancestry()) {
    if (target->is_project_root || !target->resolve_parent()) return target;
    Edge* te = name ? target->edge_out(*name) : nullptr;
    if (!te || !te->peer()) return target;
  }
  return start;
}

// ---- CanPlaceDep (can-place-dep.js) ----

struct CanPlaceDep {
  Node* dep;
  Node* target;
  Edge* edge;
  CanPlaceDep* parent;
  std::vector<Node*> peer_path;
  bool prefer_dedupe;
  bool explicit_request;
  Node* current;
  Edge* target_edge;
  bool edge_override;
  Place can_place = Place::None;
  Place can_place_self = Place::None;
  Place peers_result = Place::None;
  std::vector<std::unique_ptr<CanPlaceDep>> children;
  const std::string& name;

  CanPlaceDep(Node* dep_, Node* target_, Edge* edge_, CanPlaceDep* parent_,
              std::vector<Node*> peer_path_, bool prefer_dedupe_, bool explicit_request_)
      : dep(dep_),
        target(target_),
        edge(edge_),
        parent(parent_),
        peer_path(std::move(peer_path_)),
        prefer_dedupe(prefer_dedupe_ || edge_->peer()),
        explicit_request(explicit_request_),
        current(target_->child(edge_->name())),
        target_edge(target_->edge_out(edge_->name())),
        edge_override(!dep_->satisfies(*edge_)),
        name(edge_->name()) {
    can_place = check_can_place();
    if (can_place_self == Place::None) can_place_self = can_place;
  }

  const CanPlaceDep* top() const { return parent ? parent->top() : this; }
  Edge* peer_entry_edge() const { return top()->edge; }

  Node* my_deepest_nesting_target() const {
    Node* start = parent ? parent->my_deepest_nesting_target() : edge->from();
    return deepest_nesting_target(start, &name);
  }

  Place check_can_place() {
    if (!dep->errors.empty()) return current ? Place::Replace : Place::Ok;
    if (target_edge && target_edge->peer() && !target->is_top()) return Place::Conflict;
    if (!current && target_edge && !dep->satisfies(*target_edge) && target_edge != edge) {
      return Place::Conflict;
    }
    return current ? check_current() : check_no_current();
  }

  Place check_current() {
    if (dep->matches(*current)) {
      if (current->satisfies(*edge) || edge_override) {
        return explicit_request ? Place::Replace : Place::Keep;
      }
    }
    const std::string& cur_ver = current->version();
    const std::string& new_ver = dep->version();
    bool try_replace = !cur_ver.empty() && !new_ver.empty() &&
                       (new_ver == cur_ver || version_gt(new_ver, cur_ver));
    if (try_replace && dep->can_replace(*current)) {
      Place cpp = can_place_peers(Place::Replace);
      if (cpp != Place::Conflict) return cpp;
    }
    if (current->satisfies(*edge) && (!explicit_request || prefer_dedupe)) return Place::Keep;
    if (prefer_dedupe && !try_replace && dep->can_replace(*current)) {
      Place cpp = can_place_peers(Place::Replace);
      if (cpp != Place::Conflict) return cpp;
    }
    if (target != my_deepest_nesting_target()) return Place::Conflict;
    if (!edge->peer() && target == edge->from()) return can_place_peers(Place::Replace);
    if (!parent && !edge->peer()) return Place::Conflict;

    bool can_replace = true;
    for (auto& [entry_edge, current_peers] : tree::peer_entry_sets(current)) {
      if (entry_edge == edge || entry_edge == peer_entry_edge()) continue;
      Node* entry_node = entry_edge->to();
      Node* vroot = dep->parent();
      Node* entry_rep = vroot ? vroot->child(entry_node->name) : nullptr;
      if (entry_rep) {
        std::vector<std::string> keys;
        for (auto& [k, _] : vroot->children()) keys.push_back(k);
        if (entry_rep->can_replace(*entry_node, keys)) continue;
      }
      bool can_clobber = !entry_rep;
      if (!entry_rep) {
        std::vector<Node*> walk{entry_node};
        for (size_t i = 0; i < walk.size() && can_clobber; ++i) {
          for (Edge* pe : walk[i]->edges_out()) {
            if (!pe->peer() || !pe->valid()) continue;
            Node* rep = vroot ? vroot->child(pe->name()) : nullptr;
            if (!rep) {
              if (pe->to() && !contains(walk, pe->to())) walk.push_back(pe->to());
              continue;
            }
            if (!rep->satisfies(*pe)) {
              can_clobber = false;
              break;
            }
          }
        }
      }
      if (can_clobber) continue;
      for (Node* current_peer : current_peers) {
        Node* cur_deep = deepest_nesting_target(entry_edge->from(), &current_peer->name);
        if (cur_deep == target || target->is_descendant_of(cur_deep)) {
          can_replace = false;
          break;
        }
      }
    }
    if (can_replace) return can_place_peers(Place::Replace);
    return Place::Conflict;
  }

  Place check_no_current() {
    Node* cur = target != peer_entry_edge()->from() ? target->resolve(name) : nullptr;
    if (cur) {
      for (Edge* e : cur->edges_in()) {
        if (e->from()->is_descendant_of(target) && e->valid() && !dep->satisfies(*e)) {
          return Place::Conflict;
        }
      }
    }
    return can_place_peers(Place::Ok);
  }

  Place can_place_peers(Place state) {
    can_place_self = state;
    if (peers_result != Place::None) return peers_result;
    std::vector<Node*> path = peer_path;
    path.push_back(dep);
    bool saw_conflict = false;
    for (Edge* pe : dep->edges_out()) {
      if (!pe->peer() || !pe->to() || contains(path, pe->to())) continue;
      Node* peer = pe->to();
      Node* t = deepest_nesting_target(target, &peer->name);
      children.push_back(std::make_unique<CanPlaceDep>(peer, t, pe, this, path, true, false));
      if (children.back()->can_place == Place::Conflict) saw_conflict = true;
    }
    peers_result = saw_conflict ? Place::Conflict : state;
    return peers_result;
  }
};

}  // namespace

namespace {

/// How placement reaches what `e` leads to (see Reach): installed from a tarball of its own, or
/// not (a peer, which a version already placed may meet; what the dependent bundles).
Reach reach_of(const Edge& e) {
  if (e.type() == tree::EdgeType::PeerOptional) return Reach::OptionalPeer;
  if (e.peer()) return Reach::Peer;
  const auto& bundled = e.from()->package.bundle_dependencies;
  return std::find(bundled.begin(), bundled.end(), e.name()) == bundled.end() ? Reach::Installed : Reach::Peer;
}

/// The node and npm versions that picks are checked against, as npm-pick-manifest takes them.
PickOptions pick_engines(const ResolveOptions& options) {
  PickOptions engines;
  if (!options.node_version.empty()) {
    engines.node_version = options.node_version[0] == 'v' ? options.node_version : "v" + options.node_version;
  }
  engines.npm_version = options.npm_version;
  engines.before_ms = options.before_ms;
  engines.before_exempt = options.before_exempt;
  return engines;
}

}  // namespace

// ---- the builder ----

struct IdealTreeBuilder::Impl {
  Tree& tree;
  PackumentSource& source;
  ResolveOptions options;
  NodeSource nodes;
  ResolveStats& stats;
  bool& mutate_tree;

  /// arborist's #depsQueue, kept in the order it sorts it in before each pop: by depth, then
  /// by location (localeCompare). A queued node keeps its depth and location while it waits
  /// (nodes are replaced or detached, never moved; a detached one is skipped when popped), so
  /// both are computed once, at push.
  struct Queued {
    int depth;
    std::string location;
    Node* node;
  };
  std::vector<Queued> queue;
  std::unordered_set<Node*> seen;
  std::unordered_map<Node*, Node*> virtual_roots;
  /// Virtual roots replaced in virtual_roots during the current build step; released at its
  /// end. arborist leaves them to the garbage collector: kept, they were a third of a warm
  /// cache resolution's memory (thousands of nodes, each a copy of its dependent's manifest
  /// with every edge loaded).
  std::vector<Node*> superseded_roots;
  std::unordered_map<Node*, Node*> peer_set_source;
  std::vector<Node*> load_failures;
  std::unordered_set<Edge*> explicit_requests;
  std::optional<util::Error> fatal;

  /// Replacements made so far, by folder and package@version put there.
  std::unordered_map<std::string, size_t> replacements;
  /// Some trees make npm replace packages back and forth for ever (two peer sets that each
  /// replace a package the other needs): npm never ends. Rather than spin with it, the build
  /// fails once one package has replaced another at the same place with the same version
  /// more often than any tree that settles needs. True when it does.
  bool replacing_in_circles(Node* target, const Node& placed) {
    constexpr size_t kMostReplacementsOfOne = 64;
    const std::string key = target->location() + '\0' + placed.name + '@' + placed.version();
    if (++replacements[key] <= kMostReplacementsOfOne) return false;
    if (fatal) return true;
    const std::string where = target->is_project_root ? "the root" : target->location();
    fatal = util::make_error(
        "ERESOLVE", "unable to resolve dependency tree: placing " + placed.name + "@" + placed.version() +
                        " in " + where + " replaced another version " + std::to_string(kMostReplacementsOfOne) +
                        " times, and the tree never settles (npm loops on it without end)\n\n"
                        "Fix the conflict between the peer dependencies that need " + placed.name +
                        ", for example with an override of " + placed.name + " in package.json.");
    return true;
  }
  /// Links seen as the target of a processed node's edge, in the order met (arborist's
  /// #linkNodes): their folders are resolved once the queue runs dry.
  std::vector<Node*> link_nodes;

  Impl(Tree& t, PackumentSource& s, ResolveOptions o, ResolveStats& st, bool& mt)
      : tree(t), source(s), options(std::move(o)),
        nodes(t, s, pick_engines(options), options.project_dir, options.on_picked_ahead),
        stats(st),
        mutate_tree(mt) {
    if (options.pinned_spec) nodes.set_pins(options.pinned_spec);
  }

  Node* real_root() const { return tree.root(); }

  void push(Node* n) {
    for (const Queued& q : queue) {
      if (q.node == n) return;
    }
    Queued entry{n->depth(), n->location(), n};
    // After every entry that sorts equal: what a stable sort of the appended queue gives.
    auto at = std::upper_bound(queue.begin(), queue.end(), entry, [](const Queued& a, const Queued& b) {
      if (a.depth != b.depth) return a.depth < b.depth;
      return util::locale_less(a.location, b.location);
    });
    queue.insert(at, std::move(entry));
  }

  Node* pop() {
    Node* n = queue.front().node;
    queue.erase(queue.begin());
    return n;
  }

  /// Frees the virtual roots superseded during a build step with everything under them, and
  /// forgets every reference to their nodes (which are scratch copies: placing copies a node
  /// into the real tree, and the real tree never resolves into a virtual root).
  void release_superseded_roots() {
    std::vector<Node*> pending;
    pending.swap(superseded_roots);
    std::unordered_set<Node*> released;
    while (!pending.empty()) {
      Node* vr = pending.back();
      pending.pop_back();
      if (!released.insert(vr).second) continue;
      std::vector<Node*> subtree{vr};
      for (size_t i = 0; i < subtree.size(); ++i) {
        for (auto& [_, c] : subtree[i]->children()) subtree.push_back(c);
      }
      for (Node* n : subtree) {
        peer_set_source.erase(n);
        // A virtual root made for a scratch node goes with it.
        if (auto it = virtual_roots.find(n); it != virtual_roots.end()) {
          pending.push_back(it->second);
          virtual_roots.erase(it);
        }
      }
      std::erase_if(load_failures, [&](Node* n) { return contains(subtree, n); });
      tree.release_detached(vr);
    }
  }

  bool is_explicit(Edge* e) const { return explicit_requests.count(e) > 0; }
  /// False for npm ci (and --no-save): an unmet optional peer in the lockfile stays as it is.
  bool trusts_nothing_locked() const { return options.save || options.requested_tree_mutation; }
  bool is_update(const std::string& name) const {
    return std::find(options.update_names.begin(), options.update_names.end(), name) != options.update_names.end();
  }
  bool is_load_failure(Node* n) const { return contains(load_failures, n); }

  std::vector<Edge*> problem_edges(Node* node) {
    std::vector<std::string> bundled;
    if (!node->is_project_root && !node->is_workspace) bundled = node->package.bundle_dependencies;
    std::vector<Edge*> problems;
    for (Edge* e : node->edges_out()) {
      if (std::find(bundled.begin(), bundled.end(), e->name()) != bundled.end()) continue;
      if (e->to() && is_load_failure(e->to())) continue;
      // What a shrinkwrap locked stays as it is.
      if (e->to() && e->to()->in_shrinkwrap()) continue;
      if (!e->to()) {
        if (e->type() != EdgeType::PeerOptional || is_explicit(e)) problems.push_back(e);
        continue;
      }
      if (!e->valid()) {
        if (e->type() != EdgeType::PeerOptional || trusts_nothing_locked()) problems.push_back(e);
        continue;
      }
      if (e->to()->is_workspace) continue;
      if (is_update(e->name()) || is_explicit(e)) problems.push_back(e);
    }
    return problems;
  }

  Node* virtual_root(Node* node, bool reuse) {
    auto it = virtual_roots.find(node);
    if (it != virtual_roots.end()) {
      if (reuse) return it->second;
      // Nothing finds the one it replaces again once the step that made it is over.
      superseded_roots.push_back(it->second);
    }
    Node* vr = tree.create_node(node->name, node->package);
    vr->source_reference = node;
    vr->realpath = node->realpath;
    // Deps loaded here resolve under the rules in effect for the node they stand in for.
    vr->overrides = node->overrides;
    // devDependencies only stand in for a top (the project root or a workspace folder).
    tree.load_edges(vr, node->is_top());
    virtual_roots[node] = vr;
    return vr;
  }

  Node* find_hoistable_node(Node* root, Edge* edge) {
    std::vector<Node*> q;
    for (auto& [_, c] : root->children()) q.push_back(c);
    for (size_t i = 0; i < q.size(); ++i) {
      Node* n = q[i];
      if (n->name == edge->name() && !n->in_dep_bundle() && n->satisfies(*edge)) return n;
      for (auto& [_, c] : n->children()) q.push_back(c);
    }
    return nullptr;
  }

  /// Creates a node for `spec` under `parent` (attached, replacing a same-named child).
  Node* node_from_spec(const std::string& name, const std::string& spec, Node* parent, Edge* edge) {
    Node* n = nodes.create(name, spec, edge ? edge->from() : nullptr);
    if (!n->errors.empty()) load_failures.push_back(n);
    if (Node* old = parent->child(name)) tree.detach(old);
    tree.attach(n, parent);
    return n;
  }

  Node* node_from_edge(Edge* edge, Node* parent_in, Edge* second_edge,
                       std::unordered_set<Node*>& required) {
    Node* parent = parent_in ? parent_in : virtual_root(edge->from(), false);
    Node* first = node_from_spec(edge->name(), edge->spec(), parent, edge);
    Node* second = nullptr;
    if (second_edge && !second_edge->valid()) {
      second = node_from_spec(edge->name(), second_edge->spec(), parent, second_edge);
    }
    Node* node = second && edge->valid() ? second : first;
    if (node->parent() != parent || parent->child(node->name) != node) {
      if (Node* old = parent->child(node->name)) tree.detach(old);
      tree.attach(node, parent);
    }
    if ((required.count(edge->from()) && edge->type() != EdgeType::PeerOptional) ||
        (second_edge && required.count(second_edge->from()) &&
         second_edge->type() != EdgeType::PeerOptional)) {
      required.insert(node);
    }
    peer_set_source[node] = parent->source_reference;
    return load_peer_set(node, required);
  }

  Node* load_peer_set(Node* node, std::unordered_set<Node*>& required) {
    std::vector<Edge*> peer_edges;
    for (Edge* e : node->edges_out()) {
      if (e->peer() && !(e->valid() && e->to())) peer_edges.push_back(e);
    }
    std::stable_sort(peer_edges.begin(), peer_edges.end(),
                     [](Edge* a, Edge* b) { return util::locale_less(a->name(), b->name()); });
    for (Edge* edge : peer_edges) {
      if (fatal) return node;
      if (!node->parent()) break;
      if (edge->valid() && edge->to()) continue;
      Node* vparent = node->parent();
      Edge* parent_edge = vparent->edge_out(edge->name());
      Node* src = vparent->source_reference;
      bool is_mine = src && (src->is_project_root || src->is_workspace);
      bool conflict_ok = options.force || (!is_mine && !options.strict_peer_deps);
      if (!edge->to()) {
        if (!parent_edge) {
          node_from_edge(edge, vparent, nullptr, required);
          continue;
        }
        Node* dep = node_from_edge(parent_edge, vparent, edge, required);
        if (edge->valid()) continue;
        if (conflict_ok || !required.count(dep)) {
          edge->peer_conflicted = true;
          continue;
        }
        if (!node->parent()) break;
        fail_peer_conflict(edge, parent_edge);
        return node;
      }
      Node* current = edge->to();
      Node* dep = node_from_edge(edge, nullptr, nullptr, required);
      if (dep->can_replace(*current)) {
        node_from_edge(edge, node->parent(), nullptr, required);
        continue;
      }
      if (conflict_ok || !required.count(edge->from())) continue;
      fail_peer_conflict(edge, parent_edge);
      return node;
    }
    return node;
  }

  static std::string describe(Node* n) {
    if (!n) return "(missing)";
    if (n->is_project_root) return "the root project";
    return n->package_name() + "@" + n->version();
  }

  /// The error of a package that could not be had, with who wants it (npm says neither).
  static util::Error with_wanted_by(util::Error error, Node* failed) {
    size_t shown = 0;
    for (Edge* in : failed->edges_in()) {
      if (!in->from()) continue;
      if (++shown > 3) {
        error.message += "\n  ... and " + std::to_string(failed->edges_in().size() - 3) + " more";
        break;
      }
      error.message += "\n  wanted by " + describe(in->from()) + ": \"" + in->name() + "\": \"" +
                       in->spec() + "\"";
    }
    if (error.code == "ETARGET") {
      error.message += "\n  In most cases you or one of your dependencies are requesting a "
                       "package version that doesn't exist.";
    }
    return error;
  }

  /// arborist's #failPeerConflict: a peer set that cannot be loaded for a package of ours.
  void fail_peer_conflict(Edge* edge, Edge* current_edge) {
    if (fatal) return;
    PeerConflict c;
    c.source = PeerConflict::Source::kBuildIdealTree;
    c.tree = &tree;
    c.edge = edge;
    c.current = edge->from()->resolve(edge->name());
    c.current_edge = current_edge;
    fail_with(explain_peer_conflict(c, 4).value_or(""), "unable to resolve dependency tree");
  }

  /// npm's ERESOLVE error: its summary, then the explanation and the advice.
  void fail_with(const std::string& explanation, const std::string& summary) {
    if (fatal) return;
    fatal = util::make_error("ERESOLVE", summary + "\n\n" + explanation + "\n\n" +
                                             eresolve_fix(options.strict_peer_deps));
  }

  // ---- links and workspaces ----

  /// A placed link brings its folder into the tree (arborist's Link root setter): the folder
  /// becomes an fs child of the folder that contains it. A folder outside the project hangs
  /// off the root only to be listed; it resolves nothing through it (Node::is_external).
  void adopt_link_target(Node* link) {
    Node* t = link->target;
    if (!t || t == tree.root() || t->parent() || t->fs_parent()) {
      mark_workspaces();
      return;
    }
    tree.attach_fs(t, t->is_external() ? tree.root() : tree.folder_containing(t->realpath));
    mark_workspaces();
  }

  /// arborist's isWorkspace: what the root's workspace edges reach (the link and its folder).
  void mark_workspaces() {
    for (Edge* e : tree.root()->edges_out()) {
      if (!e->workspace() || !e->to()) continue;
      e->to()->is_workspace = true;
      if (e->to()->is_link && e->to()->target) e->to()->target->is_workspace = true;
    }
  }

  /// arborist's #resolveLinks: the folders of placed links that lie inside the project and
  /// have not been looked at yet go into the queue. True when something was queued.
  bool resolve_links() {
    std::vector<Node*> links;
    links.swap(link_nodes);
    Node* root = real_root();
    for (Node* link : links) {
      if (link->root() != root || !link->target) continue;
      Node* t = link->target;
      if (t->is_external()) continue;  // outside the project: somebody else's problem
      if ((t->parent() || t->fs_parent()) && !seen.count(t)) {
        tree.forward_link_overrides(link);
        push(t);
      }
    }
    return !queue.empty();
  }

  void note_links_of(Node* node) {
    for (Edge* e : node->edges_out()) {
      Node* to = e->to();
      if (to && to->is_link && to->target && !contains(link_nodes, to)) link_nodes.push_back(to);
    }
  }

  // ---- PlaceDep (place-dep.js) ----

  struct PlaceDep {
    Impl& b;
    Node* dep;
    Edge* edge;
    PlaceDep* parent;
    bool explicit_request;
    std::vector<std::unique_ptr<CanPlaceDep>> checks;
    CanPlaceDep* can_place = nullptr;
    CanPlaceDep* can_place_self = nullptr;
    Node* placed = nullptr;
    Node* old_dep = nullptr;
    std::vector<std::unique_ptr<PlaceDep>> children;
    std::vector<Node*> need_evaluation;
    std::string name;
    Node* current;  // what the edge resolved to when placement began

    PlaceDep(Impl& builder, Node* dep_, Edge* edge_, PlaceDep* parent_, bool explicit_)
        : b(builder), dep(dep_), edge(edge_), parent(parent_), explicit_request(explicit_),
          name(edge_->name()), current(edge_->to()) {
      run();
    }

    PlaceDep* top() { return parent ? parent->top() : this; }

    Node* start_node() {
      Node* from = parent ? parent->start_node() : edge->from();
      return deepest_nesting_target(from, &name);
    }

    bool is_mine() {
      Edge* e = top()->edge;
      Node* node = e->from();
      if (node->is_workspace || node->is_project_root) return true;
      if (!e->peer()) return false;
      bool has_peer_edges = false;
      for (Edge* in : node->edges_in()) {
        if (in->peer()) {
          has_peer_edges = true;
          continue;
        }
        if (in->from()->is_workspace || in->from()->is_project_root) return true;
      }
      if (has_peer_edges) {
        for (auto& [entry, _] : tree::peer_entry_sets(node)) {
          if (entry->from()->is_workspace || entry->from()->is_project_root) return true;
        }
      }
      return false;
    }

    /// arborist's explainPeerConflict(e, d). For a peer placed over a node its edge already
    /// had, arborist's explanation names no conflicting peer, and npm's printing of it fails
    /// after the warning's heading line (see PeerConflict::unprintable_current).
    PeerConflict peer_conflict(Edge* e, Node* d) {
      PeerConflict c;
      c.tree = &b.tree;
      c.edge = e;
      c.dep = d;
      c.current = e->from()->resolve(e->name());
      if (parent) {
        c.current_via = e;
        c.unprintable_current = current;
        c.unprintable_via = edge;
        return c;
      }
      if (can_place_self && can_place_self->can_place_self != Place::Conflict) {
        // It failed on one of the peers it brings: the first of them that met a node.
        for (CanPlaceDep* child : conflict_children(can_place_self)) {
          if (!child->current) continue;
          c.conflicting_current = child->current;
          c.conflicting_peer = child->dep;
          c.conflicting_peer_via = child->edge;
          break;
        }
      } else {
        c.conflicting_current = current;
        c.conflicting_peer = dep;
        c.conflicting_peer_via = edge;
      }
      return c;
    }

    /// CanPlaceDep's conflictChildren: every check below `check` (breadth first) that conflicts.
    static std::vector<CanPlaceDep*> conflict_children(CanPlaceDep* check) {
      std::vector<CanPlaceDep*> all;
      for (auto& c : check->children) all.push_back(c.get());
      for (size_t i = 0; i < all.size(); ++i) {
        for (auto& c : all[i]->children) all.push_back(c.get());
      }
      std::erase_if(all, [](CanPlaceDep* c) { return c->can_place != Place::Conflict; });
      return all;
    }

    /// npm's #warnPeerConflict: the peer edge stays unmet (or met by another version), and npm
    /// says so with the tree as it is.
    void warn_peer_conflict(Edge* e) {
      e->peer_conflicted = true;
      std::string warning = "ERESOLVE overriding peer dependency";
      if (auto text = explain_peer_conflict(peer_conflict(e, dep), 2)) warning += "\n" + *text;
      b.stats.warnings.push_back(std::move(warning));
    }

    /// arborist's failPeerConflict: the top of this peer group's placement fails.
    void fail_peer_conflict() {
      PlaceDep* t = top();
      std::optional<std::string> text = explain_peer_conflict(peer_conflict(t->edge, t->dep), 4);
      if (!text) {
        PeerConflict c;
        c.tree = &b.tree;
        c.edge = t->edge;
        c.dep = t->dep;
        c.current = t->edge->from()->resolve(t->edge->name());
        c.current_via = t->edge;
        text = explain_peer_conflict(c, 4);
      }
      b.fail_with(text.value_or(""), "could not resolve");
    }

    void run() {
      if (b.fatal) return;
      if (edge->to() && edge->valid() && !explicit_request && !b.is_update(name)) return;
      Node* start = start_node();
      CanPlaceDep* parent_check = parent ? parent->can_place : nullptr;
      for (Node* target : start->ancestry()) {
        Edge* target_edge = target->edge_out(name);
        if (!target->is_top() && target_edge && target_edge->peer()) continue;
        checks.push_back(std::make_unique<CanPlaceDep>(dep, target, edge, parent_check,
                                                       std::vector<Node*>{}, b.options.prefer_dedupe,
                                                       explicit_request));
        CanPlaceDep* cpd = checks.back().get();
        if (cpd->can_place_self != Place::Conflict) can_place_self = cpd;
        if (cpd->can_place != Place::Conflict) {
          can_place = cpd;
        } else {
          break;
        }
        if (!dep->errors.empty()) break;
        if (b.options.install_strategy == InstallStrategy::kNested) break;
        if (b.options.install_strategy == InstallStrategy::kShallow) {
          Node* rp = target->resolve_parent();
          if (rp && rp->is_project_root) break;
        }
      }
      if (!can_place) {
        if (!b.options.force && (is_mine() || b.options.strict_peer_deps)) {
          fail_peer_conflict();
          return;
        }
        if (!can_place_self) {
          warn_peer_conflict(edge);
          return;
        }
        can_place = can_place_self;
      }
      Node* target = can_place->target;
      Place placement =
          can_place->can_place == Place::Conflict ? can_place->can_place_self : can_place->can_place;
      if (placement == Place::Keep) {
        if (edge->peer() && !edge->valid()) warn_peer_conflict(edge);
        prune_dedupable(target, true);
        return;
      }
      // A dependency loop (a1 -> b1 -> a2 -> b2 -> a1 ...): instead of nesting forever, the copy
      // an ancestor already is gets linked here, as arborist does (its ancestor copy is shadowed
      // from here, or placement would have kept it).
      for (Node* p = target; p; p = p->resolve_parent()) {
        if (p->matches(*dep) && !p->is_top()) {
          placed = b.tree.create_node(dep->name, p->package);
          placed->is_link = true;
          placed->target = p;
          placed->realpath = p->location();
          b.stats.nodes_placed++;
          b.tree.attach(placed, target);
          return;
        }
      }
      Node* virtual_root = dep->parent();
      placed = b.tree.create_node(dep->name, dep->package);
      placed->resolved = dep->resolved;
      placed->integrity = dep->integrity;
      placed->errors = dep->errors;
      placed->overrides = dep->overrides;
      if (dep->is_link) {
        // A link shares its folder's node; it has no edges of its own.
        placed->is_link = true;
        placed->target = dep->target;
        placed->realpath = dep->realpath;
      } else {
        b.tree.load_edges(placed, false);
      }
      b.stats.nodes_placed++;
      old_dep = target->child(name);
      if (old_dep) {
        if (b.replacing_in_circles(target, *placed)) {
          placed = nullptr;
          return;
        }
        replace_old_dep();
      } else {
        b.tree.attach(placed, target);
      }
      if (placed->is_link) b.adopt_link_target(placed);
      if (edge->peer() && !placed->satisfies(*edge)) warn_peer_conflict(edge);
      if (edge->valid() && edge->to() && edge->to() != placed) prune_dedupable(edge->to(), false);
      Node* root = target->root();
      for (Node* node : b.tree.query_name(name, target)) {
        if (node->root() != root) continue;
        if (node->is_descendant_of(target) && !node->is_top()) {
          prune_dedupable(node, false);
          if (node->root() == root) {
            std::vector<Node*> kids;
            for (auto& [_, k] : node->children()) kids.push_back(k);
            for (Node* k : kids) prune_dedupable(k, false);
          }
        }
      }
      if (!virtual_root) return;
      for (Edge* pe : std::vector<Edge*>(placed->edges_out())) {
        if (pe->valid() || !pe->peer() || pe->peer_conflicted) continue;
        Node* peer = virtual_root->child(pe->name());
        if (!peer) continue;
        if (!peer->satisfies(*pe)) continue;
        children.push_back(std::make_unique<PlaceDep>(b, peer, pe, this, explicit_request));
      }
    }

    void replace_old_dep() {
      Node* target = old_dep->parent();
      std::vector<Node*> old_deps;
      for (Edge* e : old_dep->edges_out()) {
        if (!placed->edge_out(e->name()) && e->to()) {
          Node* to = e->to();
          auto set = tree::gather_dep_set({to}, [to](const Edge& x) { return x.to() != to; });
          old_deps.insert(old_deps.end(), set.begin(), set.end());
        }
      }
      std::vector<Node*> prune_peer_sets;
      for (Edge* e : std::vector<Edge*>(old_dep->edges_in())) {
        if (placed->satisfies(*e) || !e->peer() || e->from()->parent() != target ||
            e->peer_conflicted) {
          continue;
        }
        for (auto& [entry_edge, _] : tree::peer_entry_sets(e->from())) {
          Node* entry_node = entry_edge->to();
          Node* deepest = deepest_nesting_target(entry_node, nullptr);
          if (deepest != target &&
              !(entry_edge->from()->is_project_root || entry_edge->from()->is_workspace)) {
            auto set = tree::gather_dep_set({entry_node}, [entry_node](const Edge& x) {
              return x.to() != entry_node && !x.peer_conflicted;
            });
            prune_peer_sets.insert(prune_peer_sets.end(), set.begin(), set.end());
          } else {
            warn_peer_conflict(e);
          }
        }
      }
      b.tree.replace(placed, old_dep);
      prune_for_replacement(placed, old_deps);
      for (Node* d : prune_peer_sets) {
        for (Edge* e : d->edges_in()) need_evaluation.push_back(e->from());
        b.tree.detach(d);
      }
    }

    void prune_for_replacement(Node* node, const std::vector<Node*>& old_deps) {
      std::vector<Node*> invalid;
      auto add = [&](Node* n) {
        if (!contains(invalid, n)) invalid.push_back(n);
      };
      for (Edge* e : node->edges_out()) {
        if (e->to() && !e->valid()) add(e->to());
      }
      for (Node* d : old_deps) {
        for (Node* n : tree::gather_dep_set({d}, [d](const Edge& e) { return e.to() != d && e.valid(); })) {
          add(n);
        }
      }
      auto deps = tree::gather_dep_set(invalid, [node](const Edge& e) {
        return e.from() != node && e.to() != node && e.valid();
      });
      for (Node* d : deps) b.tree.detach(d);
    }

    void prune_dedupable(Node* node, bool descend) {
      if (node->can_dedupe(b.options.prefer_dedupe, explicit_request)) {
        auto deps = tree::gather_dep_set({node}, [node](const Edge& e) { return e.to() != node && e.valid(); });
        for (Node* n : deps) b.tree.detach(n);
        return;
      }
      if (!descend) return;
      auto sorted = [](std::vector<Node*> v) {
        std::vector<std::pair<std::string, Node*>> k;
        for (Node* n : v) k.push_back({n->location(), n});
        std::stable_sort(k.begin(), k.end(), [](auto& a, auto& c) { return util::locale_less(a.first, c.first); });
        std::vector<Node*> out;
        for (auto& [_, n] : k) out.push_back(n);
        return out;
      };
      std::vector<Node*> kids;
      for (auto& [_, c] : node->children()) kids.push_back(c);
      for (Node* c : sorted(kids)) prune_dedupable(c, true);
      for (Node* top_node : sorted(node->fs_children())) {
        std::vector<Node*> tk;
        for (auto& [_, c] : top_node->children()) tk.push_back(c);
        for (Node* c : sorted(tk)) prune_dedupable(c, true);
      }
    }
  };

  void visit(PlaceDep& pd) {
    if (pd.placed) {
      Node* placed = pd.placed;
      if (!placed->errors.empty()) load_failures.push_back(placed);
      mutate_tree = true;
      Place self = pd.can_place ? pd.can_place->can_place_self : Place::None;
      if (self == Place::Ok) {
        for (Edge* in : placed->edges_in()) {
          if (in == pd.edge) continue;
          if (!in->peer_conflicted && !in->valid()) {
            if (!seen.count(in->from())) {
              push(in->from());
            } else if (trusts_nothing_locked()) {
              seen.erase(in->from());
              push(in->from());
            }
          }
        }
      } else if (self == Place::Replace) {
        for (Edge* in : placed->edges_in()) {
          if (in == pd.edge) continue;
          if (!in->valid() && !in->peer_conflicted) {
            seen.erase(in->from());
            push(in->from());
          }
        }
      }
      push(placed);
      if (options.on_placed && placed->errors.empty()) options.on_placed(*placed);
      for (Node* n : pd.need_evaluation) {
        seen.erase(n);
        push(n);
      }
      // Fetch what the new node will need next while we carry on placing.
      for (Edge* e : placed->edges_out()) {
        if (!e->to() || !e->valid()) nodes.prefetch(e->name(), e->spec(), reach_of(*e));
      }
    }
    for (auto& child : pd.children) visit(*child);
  }

  /// npm's install computes the flags on the tree it resolved, where bundles are not opened
  /// yet (see unpacked_from_bundle; run() has done that). Then it unpacks each bundler
  /// (shallowest first), loads what the bundle holds (new nodes, every flag set) and walks
  /// again from that bundler, clearing flags further but resetting none. (A package the
  /// bundler's edge reached before its bundled copy was there is not a peer's, for one; and
  /// one the walks make neither dev nor optional stays devOptional where a walk of the whole
  /// tree would find it dev.)
  void calc_flags_as_npm_installs() {
    Node* root = real_root();
    if (!options.complete) {
      for (Node* n : unpacked_from_bundle) {
        Node* parent = n->parent();
        if (parent && !unpacked_from_bundle.count(parent) && n->root() == root) opened_bundles.emplace_back(n, parent);
      }
    }
    if (opened_bundles.empty()) return;
    // The flags of the tree as placed were computed before the bundles were opened (run()).
    std::unordered_map<Node*, tree::DepFlags>& unopened = flags_before_bundles;
    for (Node* n : tree.inventory()) {
      if (n->root() == root && !unpacked_from_bundle.count(n)) unopened[n] = n->flags;
    }
    std::sort(opened_bundles.begin(), opened_bundles.end(), [](const auto& a, const auto& b) {
      return a.first->location() < b.first->location();
    });
    std::vector<Node*> bundlers;
    for (auto& [n, parent] : opened_bundles) {
      if (std::find(bundlers.begin(), bundlers.end(), parent) == bundlers.end()) bundlers.push_back(parent);
    }
    for (Node* n : unpacked_from_bundle) {
      if (n->root() == root) n->flags = tree::DepFlags{};
    }
    std::stable_sort(bundlers.begin(), bundlers.end(), [](Node* a, Node* b) {
      return a->depth() != b->depth() ? a->depth() < b->depth() : a->location() < b->location();
    });
    for (Node* bundler : bundlers) tree::calc_dep_flags_from(bundler);
    prune_bundled_metadeps();
    std::erase_if(opened_bundles, [&](const auto& top) { return top.first->root() != root; });
    std::vector<std::pair<Node*, tree::DepFlags>> after_bundles;
    for (Node* n : tree.inventory()) after_bundles.emplace_back(n, n->flags);
    tree::reset_dep_flags(tree);
    tree::calc_dep_flags(tree);
    for (auto& [n, flags] : after_bundles) {
      if (n->root() == root && n->flags != flags) stats.flags_change_on_reinstall = true;
      n->flags = flags;
    }
  }

  /// The tops of the bundles opened in this build, with their bundlers (see
  /// calc_flags_as_npm_installs).
  std::vector<std::pair<Node*, Node*>> opened_bundles;

  /// What optional_set(failed) is in the tree npm's install resolved, bundles unopened: where it
  /// prunes a failed optional package, before it opens them.
  std::vector<Node*> optional_set_before_bundles(Node* failed) {
    std::vector<Node*> set;
    as_npm_resolved([&] { set = tree::optional_set(failed); });
    return set;
  }

  /// See IdealTreeBuilder::as_npm_resolved.
  void as_npm_resolved(const std::function<void()>& fn) {
    if (opened_bundles.empty()) {
      fn();
      return;
    }
    std::unordered_map<Node*, tree::DepFlags> now;
    for (auto& [n, flags] : flags_before_bundles) {
      now[n] = n->flags;
      n->flags = flags;
    }
    for (auto& [n, parent] : opened_bundles) tree.detach(n);
    for (auto& [n, parent] : displaced_by_bundles) tree.attach(n, parent);
    for (auto& [n, parent] : pruned_as_bundle_shadows) tree.attach(n, parent);
    fn();
    for (auto& [n, parent] : pruned_as_bundle_shadows) tree.detach(n);
    for (auto& [n, parent] : displaced_by_bundles) tree.detach(n);
    for (auto& [n, parent] : opened_bundles) tree.attach(n, parent);
    for (auto& [n, flags] : now) n->flags = flags;
  }

  /// The flags of the tree as npm's install first computes them, bundles unopened (see
  /// calc_flags_as_npm_installs); empty when no bundle was opened.
  std::unordered_map<Node*, tree::DepFlags> flags_before_bundles;

  /// What load_bundle took out of the tree to put a bundled package in its place, with where
  /// it was: npm's buildIdealTree ends with it there (see as_npm_resolved).
  std::vector<std::pair<Node*, Node*>> displaced_by_bundles;

  /// What load_bundle took from tarballs during this build. Outside complete mode they come
  /// once placing is over: what these need is not resolved. (Bundled packages a lockfile lists
  /// were there before the build, and are.)
  std::unordered_set<Node*> unpacked_from_bundle;

  /// Adds the packages a node's tarball bundles as its children (arborist's crackOpen).
  void load_bundle(Node* node) {
    auto bundled = source.bundled_packages(*node);
    if (!bundled) {
      node->errors.push_back(bundled.take_error());
      load_failures.push_back(node);
      return;
    }
    std::unordered_map<std::string, Node*> by_path{{"", node}};
    for (auto& b : *bundled) {
      auto slash = b.path.rfind("/node_modules/");
      std::string parent_path = slash == std::string::npos ? "" : b.path.substr(0, slash);
      std::string name = b.path.substr(slash == std::string::npos ? std::string("node_modules/").size()
                                                                  : slash + std::string("/node_modules/").size());
      auto pit = by_path.find(parent_path);
      if (pit == by_path.end()) continue;
      manifest::Manifest m = manifest::manifest_from_json(b.package_json);
      if (m.name.empty() || m.version.empty()) continue;
      Node* child = tree.create_node(name, std::move(m));
      child->from_lockfile = true;
      unpacked_from_bundle.insert(child);
      tree.load_edges(child, false);
      if (Node* old = pit->second->child(name)) {
        tree.detach(old);
        if (!unpacked_from_bundle.count(pit->second)) displaced_by_bundles.emplace_back(old, pit->second);
      }
      tree.attach(child, pit->second);
      by_path[b.path] = child;
    }
  }

  /// Bundlers placed in this build whose bundles are opened once resolution is over.
  std::vector<Node*> bundlers_to_open;
  /// Those of them whose bundles were opened.
  std::unordered_set<const Node*> bundles_opened;

  /// npm's install (not `complete`) opens bundles when reify unpacks their packages, after the
  /// tree is resolved: until then a bundler's edges to what it bundles reach whatever the tree
  /// around it has, and placement sees them so. Shallowest first. npm unpacks every bundler
  /// its diff adds, to read the bundle: not one in a bundle already when resolution ended (the
  /// diff passes over it), nor one that a shallower bundle replaced, but one that a shallower
  /// bundle only made bundled (a bundled package needs it, the tarball does not hold it). (A
  /// bundler looked at again while placing is listed once.)
  void open_bundles_after_resolving() {
    Node* root = real_root();
    add_lockfile_bundlers_with_new_packages();
    std::unordered_set<Node*> listed;
    std::erase_if(bundlers_to_open, [&](Node* n) { return !listed.insert(n).second; });
    if (bundlers_to_open.empty()) return;
    const std::unordered_set<Node*> left_out = left_out_when_installed();
    std::erase_if(bundlers_to_open, [&](Node* n) {
      for (Node* at = n; at; at = at->parent()) {
        if (left_out.count(at)) return true;
      }
      return false;
    });
    std::erase_if(bundlers_to_open, [](Node* n) { return n->in_dep_bundle(); });
    std::stable_sort(bundlers_to_open.begin(), bundlers_to_open.end(),
                     [](Node* a, Node* b) { return a->depth() < b->depth(); });
    for (Node* node : bundlers_to_open) {
      if (node->root() != root || !node->errors.empty()) continue;
      load_bundle(node);
      bundles_opened.insert(node);
    }
  }

  /// A bundler the lockfile placed is opened too when reify unpacks it and this build placed
  /// a package below it, or the lockfile lacks a package it bundles (nothing unpacked it
  /// before: --omit left it out): npm opens every bundler its diff adds or changes, and the
  /// tarball's copy of a package replaces the one resolved (with no integrity of its own).
  /// Otherwise the bundle would give back what the lockfile says: left closed.
  void add_lockfile_bundlers_with_new_packages() {
    if (!options.unpacked_when_installed) return;
    Node* root = real_root();
    std::unordered_set<Node*> looked_at;  // the question may read the bundler's package.json
    auto consider = [&](Node* at) {
      if (!at->from_lockfile || at->package.bundle_dependencies.empty() || !looked_at.insert(at).second) return;
      if (!at->in_dep_bundle() && options.unpacked_when_installed(*at)) bundlers_to_open.push_back(at);
    };
    for (Node* n : tree.inventory()) {
      if (n->root() != root || n->is_project_root || n->is_link) continue;
      if (!n->from_lockfile) {
        for (Node* at = n->parent(); at && !at->is_project_root; at = at->parent()) consider(at);
        continue;
      }
      if (n->is_top() || n->in_shrinkwrap()) continue;
      const auto& bundled = n->package.bundle_dependencies;
      if (std::any_of(bundled.begin(), bundled.end(), [&](const std::string& name) { return !n->child(name); })) {
        consider(n);
      }
    }
  }

  /// What npm's reify does not install (it takes those packages for absent, and unpacks
  /// nothing of them): each package options.left_out_here names in the tree as placed, bundles
  /// unopened and flags as buildIdealTree leaves them, with its optional set when optional.
  std::unordered_set<Node*> left_out_when_installed() {
    std::unordered_set<Node*> out;
    if (!options.left_out_here) return out;
    Node* root = real_root();
    for (Node* n : tree.inventory()) {
      if (n->root() != root || n->is_project_root || n->is_link || !options.left_out_here(*n)) continue;
      if (!n->flags.optional) {
        out.insert(n);
        continue;
      }
      for (Node* m : tree::optional_set(n)) out.insert(m);
    }
    return out;
  }

  /// What the packages around a bundler resolved for the names it now holds itself, which
  /// arborist's reify prunes when nothing outside depends on it (#pruneBundledMetadeps).
  /// Like npm, this marks every such package and what it reaches extraneous, then takes back
  /// (and leaves not extraneous) each one that a package outside the set depends on.
  std::vector<std::pair<Node*, Node*>> pruned_as_bundle_shadows;
  void prune_bundled_metadeps() {
    Node* root = real_root();
    std::vector<Node*> shadows;
    for (Node* bundler : bundlers_to_open) {
      if (bundler->root() != root || !bundler->parent()) continue;
      for (const auto& [name, child] : bundler->children()) {
        Node* shadow = bundler->parent()->resolve(name);
        if (shadow && !shadow->is_project_root &&
            std::find(shadows.begin(), shadows.end(), shadow) == shadows.end()) {
          shadows.push_back(shadow);
        }
      }
    }
    std::vector<Node*> reached;
    auto pruned = tree::gather_dep_set(
        shadows, [](const Edge& e) { return !e.to()->is_project_root; }, &reached);
    std::unordered_set<Node*> pruned_lookup(pruned.begin(), pruned.end());
    for (Node* n : reached) n->flags.extraneous = pruned_lookup.count(n) > 0;
    for (Node* shadow : pruned) {
      if (shadow->root() != root) continue;
      if (Node* parent = shadow->parent()) {
        pruned_as_bundle_shadows.emplace_back(shadow, parent);
        tree.detach(shadow);
      }
    }
  }

  /// Adds what a node's own npm-shrinkwrap.json locks as its subtree (arborist's crackOpen).
  void load_shrinkwrap(Node* node) {
    if (auto st = source.load_shrinkwrap(tree, *node); !st) {
      node->errors.push_back(st.take_error());
      load_failures.push_back(node);
    }
  }

  void build_dep_step(Node* node) {
    const bool opens_tarball = !node->is_project_root && !node->is_workspace &&
                               !node->from_lockfile && node->errors.empty();
    if (opens_tarball && node->package.has_shrinkwrap && !node->resolved.empty()) {
      load_shrinkwrap(node);
    }
    // Outside complete mode npm opens a bundle only when it unpacks the package, once the tree
    // is placed (open_bundles_after_resolving).
    if (opens_tarball && !node->package.bundle_dependencies.empty() && node->errors.empty()) {
      if (options.complete) {
        load_bundle(node);
      } else {
        bundlers_to_open.push_back(node);
      }
    }
    std::vector<std::pair<Edge*, Node*>> tasks;
    Node* peer_source = node;
    if (auto it = peer_set_source.find(node); it != peer_set_source.end() && it->second) {
      peer_source = it->second;
    }
    auto problems = problem_edges(node);
    for (Edge* e : problems) nodes.prefetch(e->name(), e->spec(), reach_of(*e));
    for (Edge* edge : problems) {
      if (fatal) return;
      if (edge->peer_conflicted) continue;
      Node* src = edge->peer() ? peer_source : node;
      Node* vr = virtual_root(src, true);
      Edge* vr_edge = vr->edge_out(edge->name());
      Node* vr_dep = vr_edge && vr_edge->valid() ? vr_edge->to() : nullptr;
      std::unordered_set<Node*> required{edge->from()};
      Node* parent = edge->peer() ? vr : nullptr;
      Node* dep = vr_dep && vr_dep->satisfies(*edge) ? vr_dep : nullptr;
      // The shortcut is not taken when the user asked for this package to be fetched again.
      if (!dep && edge->type() == EdgeType::PeerOptional && !is_update(edge->name()) && !is_explicit(edge)) {
        Node* from = edge->from();
        dep = find_hoistable_node(from->resolve_parent() ? from->resolve_parent() : from, edge);
      }
      if (!dep) dep = node_from_edge(edge, parent, nullptr, required);
      tasks.emplace_back(edge, dep);
    }
    if (fatal) return;
    std::stable_sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& c) {
      return util::locale_less(a.first->name(), c.first->name());
    });
    for (auto& [edge, dep] : tasks) {
      PlaceDep pd(*this, dep, edge, nullptr, is_explicit(edge));
      if (fatal) return;
      visit(pd);
    }
    note_links_of(node);
  }

  /// npm fails as soon as an override cannot be applied.
  std::optional<util::Error> override_error() const {
    const auto& errors = tree.override_errors();
    if (errors.empty()) return std::nullopt;
    return errors.front();
  }

  util::Status run() {
    Node* root = real_root();
    if (auto e = override_error()) return *e;
    if (auto st = tree.assert_root_overrides(); !st) return st;
    for (const auto& name : options.explicit_requests) {
      if (Edge* e = root->edge_out(name)) explicit_requests.insert(e);
    }
    for (const auto& [folder, name] : options.explicit_folder_requests) {
      for (Node* n : tree.inventory()) {
        if (n->is_link || n->parent() || !n->fs_parent() || n->realpath != folder) continue;
        if (Edge* e = n->edge_out(name)) explicit_requests.insert(e);
      }
    }
    mark_workspaces();
    // npm's #queueNamedUpdates: what depends on a package to update is looked at again.
    if (!options.update_names.empty()) {
      for (Node* n : tree.inventory()) {
        if (!is_update(n->name) || n->is_top() || n->in_dep_bundle() || n->in_shrinkwrap()) continue;
        for (Edge* e : n->edges_in()) push(e->from());
      }
    }
    if (options.loaded_from_lockfile) {
      for (Node* n : options.lockfile_problem_nodes ? *options.lockfile_problem_nodes
                                                    : lockfile_problem_nodes(tree, options)) {
        push(n);
      }
    }
    for (const std::string& folder : options.workspace_requests) {
      for (Node* n : tree.inventory()) {
        if (!n->is_link && !n->parent() && n->fs_parent() && n->realpath == folder) push(n);
      }
    }
    push(root);
    for (;;) {
      while (!queue.empty()) {
        Node* node = pop();
        if (seen.count(node) || node->root() != root || node->is_external()) continue;
        seen.insert(node);
        build_dep_step(node);
        if (fatal) return *fatal;
        release_superseded_roots();
        if (auto e = override_error()) return *e;
      }
      if (!resolve_links()) break;
    }
    // arborist's #fixDepFlags, at the end of npm's buildIdealTree (before its reify opens any
    // bundle): the flags of a tree built from scratch or changed are computed anew, and a tree
    // from a lockfile that changed, or whose flags are suspect, loses what is extraneous. The
    // flags are not computed again after that pruning: what depended on a pruned package
    // still counts, as in npm.
    const bool flags_anew = !options.loaded_from_lockfile || mutate_tree;
    if (flags_anew) {
      tree::reset_dep_flags(tree);
      tree::calc_dep_flags(tree);
    } else {
      root->flags = tree::DepFlags{false, false, false, false, false};
    }
    if (options.loaded_from_lockfile && (mutate_tree || options.flags_suspect)) {
      for (Node* n : tree.inventory()) {
        if (n->flags.extraneous && !n->is_project_root && n->root() == root) tree.detach(n);
      }
    }
    // npm gives up on a package that failed to load at the end of buildIdealTree, before its
    // reify opens any bundle: one that goes with a bundled package a bundle replaces counts.
    std::unordered_set<const Node*> failed_in_tree;
    for (Node* failed : load_failures) {
      if (failed->root() == root) failed_in_tree.insert(failed);
    }
    open_bundles_after_resolving();
    // What a bundle brings gets its flags from its bundler (npm's loadActual of the unpacked
    // bundler), also in a tree the lockfile gave unchanged.
    if (flags_anew || !bundles_opened.empty()) calc_flags_as_npm_installs();

    for (Node* failed : load_failures) {
      if (!failed_in_tree.count(failed)) continue;
      // npm prunes failed optional packages before it opens bundles: an edge from a bundled
      // package does not make one required.
      auto unopened = flags_before_bundles.find(failed);
      const bool optional = unopened != flags_before_bundles.end() ? unopened->second.optional : failed->flags.optional;
      if (!optional) return with_wanted_by(failed->errors.front(), failed);
      // An optional dependency that failed takes with it whatever only it needed, in the tree
      // before bundles were opened: a package a bundled one also needs goes too.
      const std::vector<Node*> gone = optional_set_before_bundles(failed);
      for (Node* n : gone) n->inert = true;
    }
    stats.bundle_needs_left_unresolved = bundle_needs_left_unresolved();
    stats.manifests_fetched = nodes.manifests_fetched();
    return {};
  }

  /// A package opened from a bundle in this build whose own dependency is missing or invalid:
  /// npm's next install reads it from the lockfile as any other and resolves that edge
  /// (#problemEdges), edges to what the package bundles itself and optional peers aside.
  bool bundle_needs_left_unresolved() {
    Node* root = real_root();
    for (Node* n : unpacked_from_bundle) {
      if (n->root() != root || n->inert) continue;
      const auto& bundles = n->package.bundle_dependencies;
      for (const tree::Edge* e : n->edges_out()) {
        if (e->type() == tree::EdgeType::PeerOptional) continue;
        if (std::find(bundles.begin(), bundles.end(), e->name()) != bundles.end()) continue;
        if (!e->to() || !e->valid()) return true;
      }
    }
    return false;
  }
};

std::vector<Node*> lockfile_problem_nodes(Tree& tree, const ResolveOptions& options) {
  // Anything the lockfile left missing or invalid gets a second look: the nodes reachable from
  // the root through edges (not through links: their folders come with the links).
  const bool trusts_nothing_locked = options.save || options.requested_tree_mutation;
  std::vector<Node*> out;
  Node* root = tree.root();
  std::vector<Node*> stack{root};
  std::unordered_set<Node*> visited{root};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (Edge* e : n->edges_out()) {
      if (e->type() == EdgeType::PeerOptional && !trusts_nothing_locked) continue;
      if (!e->to() || !e->valid()) {
        out.push_back(n);
        break;
      }
    }
    for (Edge* e : n->edges_out()) {
      if (e->to() && visited.insert(e->to()).second) stack.push_back(e->to());
    }
  }
  return out;
}

IdealTreeBuilder::IdealTreeBuilder(Tree& tree, PackumentSource& source, ResolveOptions options)
    : impl_(std::make_unique<Impl>(tree, source, std::move(options), stats_, mutate_tree_)) {}

IdealTreeBuilder::~IdealTreeBuilder() = default;

util::Status IdealTreeBuilder::build() { return impl_->run(); }

void IdealTreeBuilder::as_npm_resolved(const std::function<void()>& fn) { impl_->as_npm_resolved(fn); }

std::unordered_set<const tree::Node*> IdealTreeBuilder::opened_from_bundles() const {
  return {impl_->unpacked_from_bundle.begin(), impl_->unpacked_from_bundle.end()};
}

std::unordered_set<const tree::Node*> IdealTreeBuilder::bundles_opened() const { return impl_->bundles_opened; }

}  // namespace lade::resolver
