#include "tree/tree.h"

#include <algorithm>
#include <unordered_set>

#include "util/collate.h"

namespace lade::tree {

std::string_view edge_type_name(EdgeType type) {
  switch (type) {
    case EdgeType::Prod: return "prod";
    case EdgeType::Dev: return "dev";
    case EdgeType::Optional: return "optional";
    case EdgeType::Peer: return "peer";
    case EdgeType::PeerOptional: return "peerOptional";
    case EdgeType::Workspace: return "workspace";
  }
  return "prod";
}

// ---- Edge ----

EdgeError Edge::error() const {
  if (detached_) return EdgeError::Detached;
  if (!to_) return optional() ? EdgeError::None : EdgeError::Missing;
  if (peer() && to_->parent() == from_ && !from_->is_top()) return EdgeError::PeerLocal;
  if (!satisfied_by(*to_)) return EdgeError::Invalid;
  // The target's own dependencies were resolved under rules that contradict this edge's.
  if (overrides_ && to_->overrides && !to_->edges_out_.empty() &&
      OverrideSet::conflict(*overrides_, *to_->overrides)) {
    return EdgeError::Invalid;
  }
  return EdgeError::None;
}

bool Node::in_shrinkwrap() const {
  for (const Node* p = parent(); p; p = p->parent()) {
    if (p->package.has_shrinkwrap) return true;
  }
  return false;
}

bool Edge::satisfied_by(const Node& node) const {
  if (node.name != name_ || !from_) return false;
  const DepValidFn& valid = from_->tree_->dep_valid();
  if (!overrides_) return valid(node, spec_, *from_);
  // Bundled and shrinkwrapped packages are taken as their packer locked them: never overridden.
  if (node.package.has_shrinkwrap || node.in_shrinkwrap() || const_cast<Node&>(node).in_bundle()) {
    return valid(node, spec_, *from_);
  }
  if (overrides_->key_spec().empty()) return valid(node, spec(), *from_);
  if (valid(node, spec(), *from_)) return true;
  if (!valid(node, spec_, *from_)) return false;
  // Satisfying the declared spec is enough only for versions the rule does not replace: with
  // ^8 declared and "x@8.23.0": "9.0.0", 9.0.0 and 8.24.0 do, 8.23.0 does not.
  return !valid(node, overrides_->key_spec(), *from_);
}

// ---- Node ----

Node* Node::root() {
  Node* n = this;
  while (n->resolve_parent()) n = n->resolve_parent();
  return n;
}

Node* Node::child(std::string_view n) const {
  auto it = children_.find(std::string(n));
  return it == children_.end() ? nullptr : it->second;
}

std::string Node::location() const {
  if (parent_) {
    std::string base = parent_->location();
    if (!base.empty()) base += '/';
    return base + "node_modules/" + name;
  }
  if (fs_parent_) return realpath;
  return "";
}

bool Node::overridden() const {
  if (!overrides || overrides->value().empty() || overrides->name() != name) return false;
  for (const Edge* e : edges_in_) {
    const OverrideSet* rule = e->overrides();
    if (rule && rule->name() == name && rule->value() == version() &&
        !rule->is_equal(e->from()->overrides)) {
      return true;
    }
  }
  return false;
}

int Node::depth() const { return parent_ ? parent_->depth() + 1 : 0; }

bool Node::is_external() const {
  return !parent_ && (realpath == ".." || realpath.rfind("../", 0) == 0);
}

Node* Node::resolve(std::string_view n) {
  for (Node* p = this; p; p = p->resolve_parent()) {
    if (Node* c = p->child(n)) return c;
    if (p->is_external()) break;
  }
  return nullptr;
}

bool Node::is_descendant_of(const Node* other) const {
  for (const Node* p = this; p; p = p->resolve_parent()) {
    if (p == other) return true;
  }
  return false;
}

std::vector<Node*> Node::ancestry() {
  std::vector<Node*> out;
  for (Node* p = this; p; p = p->resolve_parent()) out.push_back(p);
  return out;
}

Edge* Node::edge_out(std::string_view n) const {
  for (Edge* e : edges_out_) {
    if (e->name() == n) return e;
  }
  return nullptr;
}

bool Node::matches(const Node& other) const {
  if (&other == this) return true;
  if (other.name != name) return false;
  if (is_link) return other.is_link && target && other.target && target->matches(*other.target);
  if (is_project_root && other.is_project_root) return true;
  if (!integrity.empty() && !other.integrity.empty()) return integrity == other.integrity;
  if (!resolved.empty() && !other.resolved.empty()) return resolved == other.resolved;
  return !package_name().empty() && package_name() == other.package_name() && !version().empty() &&
         version() == other.version();
}

std::vector<Node*> optional_set(Node* node) {
  if (!node->flags.optional) return {};
  // Every path into this area of the graph is optional, but inside it there may be required
  // edges: walk up those to the boundary first.
  std::vector<Node*> boundary{node};
  std::unordered_set<Node*> in_boundary{node};
  for (size_t i = 0; i < boundary.size(); ++i) {
    for (Edge* e : boundary[i]->edges_in()) {
      if (!e->optional() && e->from() && in_boundary.insert(e->from()).second) {
        boundary.push_back(e->from());
      }
    }
  }
  return gather_dep_set(boundary, [&](const Edge& e) {
    return !in_boundary.count(e.to()) && !(e.from() && e.from()->inert);
  });
}

std::vector<Node*> gather_dep_set(const std::vector<Node*>& start,
                                  const std::function<bool(const Edge&)>& filter,
                                  std::vector<Node*>* reached) {
  std::vector<Node*> order(start.begin(), start.end());
  std::unordered_set<Node*> deps(start.begin(), start.end());
  for (size_t i = 0; i < order.size(); ++i) {
    for (Edge* e : order[i]->edges_out()) {
      if (e->to() && filter(*e) && deps.insert(e->to()).second) order.push_back(e->to());
    }
  }
  bool changed = true;
  while (changed && !deps.empty()) {
    changed = false;
    for (auto it = order.begin(); it != order.end(); ++it) {
      Node* dep = *it;
      if (!deps.count(dep)) continue;
      for (Edge* e : dep->edges_in()) {
        if (!deps.count(e->from()) && filter(*e)) {
          changed = true;
          deps.erase(dep);
          break;
        }
      }
    }
  }
  std::vector<Node*> out;
  for (Node* n : order) {
    if (deps.count(n)) out.push_back(n);
  }
  if (reached) *reached = std::move(order);
  return out;
}

bool Node::can_replace(Node& other, const std::vector<std::string>& ignore_peers) {
  // arborist: other.canReplaceWith(this)
  if (name != other.name) return false;
  // arborist's packageName is package.json's name or nothing: a package that failed to load
  // has none, and no package can take its place.
  if (package.name != other.package.name) return false;
  // Dependencies resolved under other rules would be wrong under these.
  if (!other.edges_out_.empty()) {
    bool same = overrides ? overrides->is_equal(other.overrides) : other.overrides == nullptr;
    if (!same) return false;
  }
  auto dep_set = gather_dep_set({&other}, [&](const Edge& e) { return e.to() != &other && e.valid(); });
  std::unordered_set<Node*> dep_lookup(dep_set.begin(), dep_set.end());
  for (Edge* e : other.edges_in()) {
    if (!other.is_top() && e->from()->parent() == other.parent() && e->peer() &&
        std::find(ignore_peers.begin(), ignore_peers.end(), e->from()->name) != ignore_peers.end()) {
      continue;
    }
    if (!dep_lookup.count(e->from()) && !e->satisfied_by(*this)) return false;
  }
  return true;
}

/// The nodes a bundler() walk has met (arborist's getBundler path, shared by the whole walk).
/// Most walks meet a handful, searched in a list; one that meets many (a tree full of cycles
/// and nesting) keeps a set, or every edge check would cost the square of the tree's size.
struct Node::BundlerWalk {
  size_t nodes_made = 0;
  std::vector<const Node*> list;
  std::vector<bool> by_slot;  // once the list is long
  /// False when `n` was met already.
  bool meet(const Node* n) {
    if (by_slot.empty()) {
      if (std::find(list.begin(), list.end(), n) != list.end()) return false;
      list.push_back(n);
      if (list.size() > 32) {
        by_slot.resize(nodes_made);
        for (const Node* m : list) by_slot[m->slot_] = true;
      }
      return true;
    }
    if (by_slot[n->slot_]) return false;
    by_slot[n->slot_] = true;
    return true;
  }
};

Node* Node::bundler(const std::function<bool(const Node&)>& gone) {
  BundlerWalk walk;
  walk.nodes_made = tree_->nodes_.size();
  return find_bundler(walk, gone);
}

Node* Node::find_bundler(BundlerWalk& walk, const std::function<bool(const Node&)>& gone) {
  if (!walk.meet(this)) return nullptr;  // a cycle: not bundled
  Node* parent = parent_;
  if (!parent) return nullptr;
  if (Node* pb = parent->find_bundler(walk, gone)) return pb;
  const auto& bd = parent->package.bundle_dependencies;
  if (std::find(bd.begin(), bd.end(), name) != bd.end()) return parent;
  for (Edge* e : edges_in_) {
    if (gone && gone(*e->from())) continue;
    Node* eb = e->from()->find_bundler(walk, gone);
    if (eb && eb == parent) return eb;
  }
  return nullptr;
}

bool Node::in_dep_bundle() {
  Node* b = bundler();
  return b && b != root();
}

bool Node::can_dedupe(bool prefer_dedupe, bool explicit_request) {
  // Not allowed to change what a bundle or a shrinkwrap put there.
  if (in_dep_bundle() || in_shrinkwrap()) return false;
  if (!resolve_parent() || !resolve_parent()->resolve_parent()) return false;
  if (edges_in_.empty()) return true;
  Node* other = resolve_parent()->resolve_parent()->resolve(name);
  if (!other) return false;
  if (other->matches(*this)) return true;
  if (!other->can_replace(*this)) return false;
  if (prefer_dedupe) return true;
  if (other->version() == version()) return true;
  // An overridden version stays even when a greater one could replace it.
  if (!overridden() && tree_->version_gt && tree_->version_gt(other->version(), version())) {
    return true;
  }
  if (explicit_request) return true;
  return false;
}

// ---- Tree ----

Tree::Tree(DepValidFn dep_valid) : dep_valid_(std::move(dep_valid)) {}

Node* Tree::create_node(std::string name, manifest::Manifest package) {
  nodes_.push_back(std::make_unique<Node>());
  Node* n = nodes_.back().get();
  n->slot_ = nodes_.size() - 1;
  n->tree_ = this;
  n->name = std::move(name);
  n->package = std::move(package);
  return n;
}

Node* Tree::create_root(manifest::Manifest package) {
  std::string name = package.name;
  Node* n = create_node(std::move(name), std::move(package));
  n->is_project_root = true;
  n->flags = DepFlags{false, false, false, false, false};
  root_ = n;
  // npm reads "overrides" from the root package.json only; a dependency's own are ignored.
  const manifest::Json& declared = n->package.overrides;
  if ((declared.is_object() || declared.is_string()) && !declared.empty() &&
      !(declared.is_string() && declared.get_ref<const std::string&>().empty())) {
    auto parsed = OverrideSet::parse(declared);
    if (parsed.ok()) {
      root_overrides_ = std::move(parsed).value();
      n->overrides = root_overrides_.get();
    } else {
      override_rules_error_ = parsed.error();
      override_errors_.push_back(parsed.take_error());
    }
  }
  load_edges(n, true);
  return n;
}

util::Status Tree::assert_root_overrides() const {
  if (!root_ || !root_->overrides) return {};
  for (const Edge* e : root_->edges_out_) {
    if (e->spec() != e->spec_ && !e->spec().starts_with('$')) {
      return util::make_error("EOVERRIDE", "Override for " + e->name_ + "@" + e->spec_ +
                                               " conflicts with direct dependency");
    }
  }
  return {};
}

Edge* Tree::add_edge(Node* from, std::string name, std::string spec, EdgeType type) {
  // A later declaration of the same name replaces the earlier one and moves to the end, as
  // arborist's Map delete + set does.
  for (auto it = from->edges_out_.begin(); it != from->edges_out_.end(); ++it) {
    if ((*it)->name() == name) {
      detach_edge(*it);
      break;
    }
  }
  edges_.push_back(std::make_unique<Edge>());
  Edge* e = edges_.back().get();
  e->slot_ = edges_.size() - 1;
  e->from_ = from;
  e->name_ = std::move(name);
  e->raw_spec_ = spec;
  e->spec_ = std::move(spec);
  e->type_ = type;
  if (from->overrides) e->overrides_ = from->overrides->edge_rule(e->name_, e->spec_);
  from->edges_out_.push_back(e);
  edges_by_name_[e->name_].push_back(e);
  reload_edge(e, /*hard=*/true);
  return e;
}

void Tree::set_package(Node* node, manifest::Manifest package) {
  while (!node->edges_out_.empty()) detach_edge(node->edges_out_.back());
  node->package = std::move(package);
  load_edges(node, node->is_top());
}

void Tree::load_edges(Node* node, bool with_dev) {
  const auto& pkg = node->package;
  std::vector<std::pair<std::string, std::string>> peers, peer_optional;
  for (const auto& [n, spec] : pkg.peer_dependencies) {
    bool opt = std::find(pkg.optional_peers.begin(), pkg.optional_peers.end(), n) != pkg.optional_peers.end();
    (opt ? peer_optional : peers).emplace_back(n, spec);
  }
  if (!legacy_peer_deps) {
    for (auto& [n, s] : peers) add_edge(node, n, s, EdgeType::Peer);
    for (auto& [n, s] : peer_optional) add_edge(node, n, s, EdgeType::PeerOptional);
  }
  for (const auto& [n, s] : pkg.dependencies) add_edge(node, n, s, EdgeType::Prod);
  for (const auto& [n, s] : pkg.optional_dependencies) add_edge(node, n, s, EdgeType::Optional);
  if (with_dev) {
    for (const auto& [n, s] : pkg.dev_dependencies) add_edge(node, n, s, EdgeType::Dev);
  }
}

void Tree::detach_edge(Edge* e) {
  e->explanation.value.reset();
  if (e->to_) delete_edge_in(e->to_, e);
  auto& out = e->from_->edges_out_;
  out.erase(std::remove(out.begin(), out.end(), e), out.end());
  auto& byname = edges_by_name_[e->name_];
  byname.erase(std::remove(byname.begin(), byname.end(), e), byname.end());
  e->to_ = nullptr;
  e->detached_ = true;
}

void Tree::reload_edge(Edge* e, bool hard) {
  e->explanation.value.reset();
  if (e->detached_) return;
  bool overrides_changed = false;
  const OverrideSet* old_overrides = nullptr;
  if (e->from_->overrides) {
    const OverrideSet* fresh = e->from_->overrides->edge_rule(e->name_, e->spec_);
    if (fresh && !fresh->is_equal(e->overrides_)) {
      overrides_changed = true;
      old_overrides = e->overrides_;
      e->overrides_ = fresh;
    }
  } else {
    e->overrides_ = nullptr;
  }
  refresh_override_spec(e);
  Node* to = e->from_->resolve(e->name_);
  if (to != e->to_) {
    if (e->to_) delete_edge_in(e->to_, e);
    e->to_ = to;
    if (to) add_edge_in(to, e);
  } else if (!hard && overrides_changed && e->to_) {
    overrides_edge_in_removed(e->to_, old_overrides);
    overrides_edge_in_added(e->to_, e->overrides_);
  }
}

namespace {

/// What the package declares for `name`, looked up as npm resolves a `$name` override:
/// devDependencies, optionalDependencies, dependencies, peerDependencies; empty specs skipped.
const std::string* referenced_spec(const manifest::Manifest& pkg, std::string_view name) {
  for (const manifest::DependencyList* list :
       {&pkg.dev_dependencies, &pkg.optional_dependencies, &pkg.dependencies,
        &pkg.peer_dependencies}) {
    for (const auto& [n, spec] : *list) {
      if (n == name && !spec.empty()) return &spec;
    }
  }
  return nullptr;
}

}  // namespace

void Tree::refresh_override_spec(Edge* e) {
  e->has_override_spec_ = false;
  const OverrideSet* rule = e->overrides_;
  if (!rule || rule->value().empty() || rule->value() == "*" || rule->name() != e->name_) return;
  const std::string& value = rule->value();
  if (value[0] != '$') {
    e->override_spec_ = value;
    e->has_override_spec_ = true;
    return;
  }
  // `$name` means the root package.json's spec for name (the dependent's own as a fallback).
  std::string_view ref = std::string_view(value).substr(1);
  Node* from = e->from_;
  Node* top = from->source_reference ? from->source_reference->root() : from->root();
  const std::string* found = referenced_spec(top->package, ref);
  if (!found) found = referenced_spec(from->package, ref);
  if (found) {
    e->override_spec_ = *found;
    e->has_override_spec_ = true;
    return;
  }
  // Only a dependency of the real tree is one npm would have to install; scratch copies in
  // virtual roots see another root package and may be wrong here harmlessly.
  if (top != root_ || !root_) return;
  std::string message = "Unable to resolve reference " + value;
  for (const util::Error& known : override_errors_) {
    if (known.message == message) return;
  }
  override_errors_.push_back(util::make_error("", std::move(message)));  // npm's has no code
}

void Tree::add_edge_in(Node* node, Edge* e) {
  if (!node->overrides || !node->overrides->is_equal(e->overrides_)) {
    overrides_edge_in_added(node, e->overrides_);
  }
  node->edges_in_.push_back(e);
}

void Tree::delete_edge_in(Node* node, Edge* e) {
  auto& in = node->edges_in_;
  in.erase(std::remove(in.begin(), in.end(), e), in.end());
  if (e->overrides_) overrides_edge_in_removed(node, e->overrides_);
}

void Tree::overrides_edge_in_removed(Node* node, const OverrideSet* removed) {
  // Only the edge that gave the node its set can take it away.
  if (!node->overrides || !node->overrides->is_equal(removed)) return;
  const OverrideSet* fresh = nullptr;
  for (const Edge* in : std::vector<Edge*>(node->edges_in_)) {
    if (fresh && in->overrides_) {
      fresh = OverrideSet::find_specific(in->overrides_, fresh);
    } else {
      fresh = in->overrides_;
    }
  }
  if (node->overrides->is_equal(fresh)) return;
  node->overrides = fresh;
  // With no set at all the node is on its way out or about to get one: nothing to redo yet.
  if (fresh) recalculate_out_edges_overrides(node);
}

void Tree::overrides_edge_in_added(Node* node, const OverrideSet* added) {
  if (!added) return;
  if (!node->overrides) {
    node->overrides = added;
    recalculate_out_edges_overrides(node);
    return;
  }
  if (node->overrides->is_equal(added)) return;
  // Two ways in under different rules: the more specific set wins (arborist's compromise; a
  // conflicting pair keeps the current one).
  const OverrideSet* fresh = OverrideSet::find_specific(node->overrides, added);
  if (fresh && !node->overrides->is_equal(fresh)) {
    node->overrides = fresh;
    recalculate_out_edges_overrides(node);
  }
}

namespace {

/// A link hands its set to its target only when some rule applies to a dependency reachable
/// from the target (npm's overrideMatchesSubtree).
bool override_matches_subtree(const OverrideSet& overrides, Node* target) {
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack{target};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    Node* real = n->is_link && n->target ? n->target : n;
    if (!seen.insert(real).second) continue;
    for (const Edge* e : real->edges_out()) {
      if (overrides.edge_rule(e->name(), e->raw_spec())->name() == e->name()) return true;
      if (e->to()) stack.push_back(e->to());
    }
  }
  return false;
}

}  // namespace

void Tree::forward_link_overrides(Node* link) {
  if (link->is_link && link->target && link->overrides) {
    overrides_edge_in_added(link->target, link->overrides);
  }
}

void Tree::refresh_link_overrides() {
  for (Node* n : inventory()) {
    if (n->is_link) recalculate_out_edges_overrides(n);
  }
}

void Tree::recalculate_out_edges_overrides(Node* node) {
  if (node->is_link) {
    if (node->target && node->overrides &&
        override_matches_subtree(*node->overrides, node->target)) {
      overrides_edge_in_added(node->target, node->overrides);
    }
    return;
  }
  for (Edge* e : std::vector<Edge*>(node->edges_out_)) {
    reload_edge(e, /*hard=*/true);
    if (e->to_) overrides_edge_in_added(e->to_, e->overrides_);
  }
}

void Tree::reload_named(Node* at, const std::string& name) {
  auto it = edges_by_name_.find(name);
  if (it == edges_by_name_.end()) return;
  std::vector<Edge*> edges = it->second;  // reload may not add edges, but be safe
  for (Edge* e : edges) {
    if (!e->from_->is_descendant_of(at)) continue;
    // As arborist's _reloadNamedEdges: only an edge into `at`'s own folder of that name (never
    // the project root's: npm compares "/node_modules/<name>" with a location that has no
    // leading slash), or one that now resolves elsewhere. The others keep their override
    // sets as they are.
    const bool into_at = at != root_ && e->to_ && e->to_->parent_ == at && e->to_->name == name;
    if (into_at || e->from_->resolve(name) != e->to_) reload_edge(e, /*hard=*/true);
  }
}

void Tree::reload_out_edges_of_subtree(Node* node) {
  std::vector<Node*> stack{node};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (Edge* e : std::vector<Edge*>(n->edges_out_)) reload_edge(e);
    for (auto& [_, c] : n->children_) stack.push_back(c);
    for (Node* c : n->fs_children_) stack.push_back(c);
  }
}

void Tree::attach(Node* node, Node* parent) {
  parent->children_[node->name] = node;
  node->parent_ = parent;
  reload_out_edges_of_subtree(node);
  reload_named(parent, node->name);
}

void Tree::attach_fs(Node* node, Node* fs_parent) {
  fs_parent->fs_children_.push_back(node);
  node->fs_parent_ = fs_parent;
  reload_out_edges_of_subtree(node);
}

Node* Tree::folder_containing(const std::string& realpath) const {
  Node* best = root();
  size_t best_len = 0;
  for (Node* n : inventory()) {
    if (n->is_link || n->parent() || !n->fs_parent() || n->is_external()) continue;
    const std::string& p = n->realpath;
    if (p.size() > best_len && realpath.size() > p.size() && realpath.compare(0, p.size(), p) == 0 &&
        realpath[p.size()] == '/') {
      best = n;
      best_len = p.size();
    }
  }
  return best;
}

void Tree::detach(Node* node) {
  Node* parent = node->parent_;
  if (parent) {
    auto it = parent->children_.find(node->name);
    if (it != parent->children_.end() && it->second == node) parent->children_.erase(it);
    node->parent_ = nullptr;
    reload_named(parent, node->name);
  } else if (Node* fsp = node->fs_parent_) {
    auto& v = fsp->fs_children_;
    v.erase(std::remove(v.begin(), v.end(), node), v.end());
    node->fs_parent_ = nullptr;
  } else {
    return;
  }
  reload_out_edges_of_subtree(node);
}

void Tree::replace(Node* node, Node* old) {
  Node* parent = old->parent_;
  node->name = old->name;
  // As arborist's Node.replace: old's children move into `node` one at a time, while `node` is
  // not in the tree yet. Each child leaves the tree as it goes: the edges that reached it from
  // old's side find the next package of the name further up (which takes their override
  // sets), and it loses those edges' sets. In `node` it takes the sets of the edges that find
  // it there, in the order the children move, the more specific set winning each time.
  const std::vector<std::pair<std::string, Node*>> kids(old->children_.begin(), old->children_.end());
  for (const auto& [n, kid] : kids) {
    old->children_.erase(n);
    kid->parent_ = nullptr;
    reload_named(old, n);
    node->children_[n] = kid;
    kid->parent_ = node;
    reload_out_edges_of_subtree(kid);
    reload_named(node, n);
  }
  // Then old leaves: the edges that reached it find nothing of the name (or a package further
  // up), so old keeps no override set, and its own edges let go of their packages without
  // taking a set away. Only then does `node` take its place.
  if (parent) {
    parent->children_.erase(old->name);
    old->parent_ = nullptr;
    reload_named(parent, old->name);
  }
  reload_out_edges_of_subtree(old);
  if (parent) {
    parent->children_[node->name] = node;
    node->parent_ = parent;
    reload_named(parent, node->name);
  }
  reload_out_edges_of_subtree(node);
}

bool Tree::release_detached(Node* top) {
  if (!top || top == root_ || top->parent_ || top->fs_parent_ || top->tree_ != this) return false;
  std::vector<Node*> subtree{top};
  for (size_t i = 0; i < subtree.size(); ++i) {
    for (auto& [_, c] : subtree[i]->children_) subtree.push_back(c);
    for (Node* c : subtree[i]->fs_children_) subtree.push_back(c);
  }
  std::vector<const Node*> sorted(subtree.begin(), subtree.end());
  std::sort(sorted.begin(), sorted.end());
  auto inside = [&sorted](const Node* n) { return std::binary_search(sorted.begin(), sorted.end(), n); };
  for (Node* n : subtree) {
    for (Edge* e : n->edges_in_) {
      if (!inside(e->from_)) return false;
    }
  }
  for (Node* n : subtree) {
    for (Edge* e : n->edges_out_) {
      if (e->to_ && !inside(e->to_)) {
        auto& in = e->to_->edges_in_;
        in.erase(std::remove(in.begin(), in.end(), e), in.end());
      }
      auto it = edges_by_name_.find(e->name_);
      if (it != edges_by_name_.end()) {
        auto& named = it->second;
        named.erase(std::remove(named.begin(), named.end(), e), named.end());
      }
      edges_[e->slot_].reset();
    }
  }
  for (Node* n : subtree) nodes_[n->slot_].reset();
  return true;
}

std::vector<Node*> Tree::inventory() const {
  std::vector<Node*> out;
  walk_attached([&out](Node* n) { out.push_back(n); });
  return out;
}

std::vector<Node*> Tree::query_name(std::string_view name, Node* top) const {
  // The resolver asks once per placement, about the folder it placed in: walking the whole
  // tree each time made placement quadratic in the tree's size.
  std::vector<Node*> out;
  if (!root_ || top->root() != root_) return out;
  walk_attached(
      [&](Node* n) {
        if (n->name == name) out.push_back(n);
      },
      top);
  return out;
}

void Tree::set_edge_spec(Edge* edge, std::string spec) { edge->spec_ = std::move(spec); }

std::vector<std::pair<Edge*, std::vector<Node*>>> peer_entry_sets(Node* node) {
  std::vector<Node*> union_order{node};
  std::unordered_set<Node*> union_set{node};
  auto add = [&](Node* n) {
    if (union_set.insert(n).second) union_order.push_back(n);
  };
  for (size_t i = 0; i < union_order.size(); ++i) {
    Node* n = union_order[i];
    for (Edge* e : n->edges_out()) {
      if (e->valid() && e->peer() && e->to()) add(e->to());
    }
    for (Edge* e : n->edges_in()) {
      if (e->valid() && e->peer()) add(e->from());
    }
  }
  std::vector<std::pair<Edge*, std::vector<Node*>>> out;
  for (Node* peer : union_order) {
    for (Edge* e : peer->edges_in()) {
      if (!e->valid()) continue;
      if (!e->peer() || e->from()->is_top()) {
        std::vector<Node*> sub{peer};
        std::unordered_set<Node*> sub_set{peer};
        for (size_t i = 0; i < sub.size(); ++i) {
          for (Edge* pe : sub[i]->edges_out()) {
            if (pe->valid() && pe->peer() && pe->to() && sub_set.insert(pe->to()).second) {
              sub.push_back(pe->to());
            }
          }
        }
        if (sub_set.count(node)) {
          bool replaced = false;
          for (auto& [k, v] : out) {
            if (k == e) {
              v = sub;
              replaced = true;
            }
          }
          if (!replaced) out.emplace_back(e, std::move(sub));
        }
      }
    }
  }
  return out;
}

void reset_dep_flags(Tree& tree) {
  for (Node* n : tree.inventory()) n->flags = DepFlags{};
}

// ---- dep flags ----

void calc_dep_flags(Tree& tree) {
  Node* root = tree.root();
  root->flags = DepFlags{false, false, false, false, false};
  calc_dep_flags_from(root);
}

void calc_dep_flags_from(Node* start) {
  std::vector<Node*> queue{start};
  std::unordered_set<Node*> seen;
  while (!queue.empty()) {
    Node* node = queue.back();
    queue.pop_back();
    seen.insert(node);
    if (!node->flags.extraneous) {
      for (Node* n = node->resolve_parent(); n && n->flags.extraneous; n = n->resolve_parent()) {
        n->flags.extraneous = false;
      }
    }
    if (node->is_link) {
      Node* t = node->target;
      if (!t) continue;
      bool changed = false;
      auto clear = [&](bool& tf, bool nf) {
        if (tf && !nf) {
          tf = false;
          changed = true;
        }
      };
      clear(t->flags.dev, node->flags.dev);
      clear(t->flags.optional, node->flags.optional);
      clear(t->flags.dev_optional, node->flags.dev_optional);
      clear(t->flags.peer, node->flags.peer);
      clear(t->flags.extraneous, node->flags.extraneous);
      if (changed || !seen.count(t)) queue.push_back(t);
      continue;
    }
    for (Edge* e : node->edges_out()) {
      Node* to = e->to();
      if (!to) continue;
      bool changed = false;
      bool peer = e->peer(), optional = e->optional(), dev = e->dev();
      auto& f = to->flags;
      const auto& nf = node->flags;
      if (f.extraneous && !nf.extraneous && !(peer && optional)) { f.extraneous = false; changed = true; }
      if (f.dev && !nf.dev && !dev) { f.dev = false; changed = true; }
      if (f.optional && !nf.optional && !optional) { f.optional = false; changed = true; }
      if (f.dev_optional && !nf.dev_optional && !nf.dev && !nf.optional && !dev && !optional) {
        f.dev_optional = false;
        changed = true;
      }
      if (f.peer && !nf.peer && !peer) { f.peer = false; changed = true; }
      if (changed) queue.push_back(to);
    }
  }
  seen.erase(start);
  for (Node* n : seen) {
    if (n->flags.dev_optional && (n->flags.dev || n->flags.optional)) n->flags.dev_optional = false;
  }
}

}  // namespace lade::tree
