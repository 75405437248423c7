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
  return EdgeError::None;
}

bool Edge::satisfied_by(const Node& node) const {
  if (node.name != name_ || !from_) return false;
  return from_->tree_->dep_valid()(node, spec_, *from_);
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

std::vector<Node*> gather_dep_set(const std::vector<Node*>& start,
                                  const std::function<bool(const Edge&)>& filter) {
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
  return out;
}

bool Node::can_replace(Node& other, const std::vector<std::string>& ignore_peers) {
  // arborist: other.canReplaceWith(this)
  if (name != other.name) return false;
  if (package_name() != other.package_name()) return false;
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

Node* Node::bundler() {
  std::vector<Node*> path;
  std::function<Node*(Node*)> get = [&](Node* n) -> Node* {
    if (std::find(path.begin(), path.end(), n) != path.end()) return nullptr;
    path.push_back(n);
    Node* parent = n->parent_;
    if (!parent) return nullptr;
    if (Node* pb = get(parent)) return pb;
    const auto& bd = parent->package.bundle_dependencies;
    if (std::find(bd.begin(), bd.end(), n->name) != bd.end()) return parent;
    for (Edge* e : n->edges_in_) {
      Node* eb = get(e->from());
      if (eb && eb == parent) return eb;
    }
    return nullptr;
  };
  return get(this);
}

bool Node::in_dep_bundle() {
  Node* b = bundler();
  return b && b != root();
}

bool Node::can_dedupe(bool prefer_dedupe, bool explicit_request) {
  if (in_dep_bundle()) return false;
  if (!resolve_parent() || !resolve_parent()->resolve_parent()) return false;
  if (edges_in_.empty()) return true;
  Node* other = resolve_parent()->resolve_parent()->resolve(name);
  if (!other) return false;
  if (other->matches(*this)) return true;
  if (!other->can_replace(*this)) return false;
  if (prefer_dedupe) return true;
  if (other->version() == version()) return true;
  if (tree_->version_gt && tree_->version_gt(other->version(), version())) return true;
  if (explicit_request) return true;
  return false;
}

// ---- Tree ----

Tree::Tree(DepValidFn dep_valid) : dep_valid_(std::move(dep_valid)) {}

Node* Tree::create_node(std::string name, manifest::Manifest package) {
  nodes_.push_back(std::make_unique<Node>());
  Node* n = nodes_.back().get();
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
  load_edges(n, true);
  return n;
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
  e->from_ = from;
  e->name_ = std::move(name);
  e->raw_spec_ = spec;
  e->spec_ = std::move(spec);
  e->type_ = type;
  from->edges_out_.push_back(e);
  edges_by_name_[e->name_].push_back(e);
  reload_edge(e);
  return e;
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
  if (e->to_) {
    auto& in = e->to_->edges_in_;
    in.erase(std::remove(in.begin(), in.end(), e), in.end());
  }
  auto& out = e->from_->edges_out_;
  out.erase(std::remove(out.begin(), out.end(), e), out.end());
  auto& byname = edges_by_name_[e->name_];
  byname.erase(std::remove(byname.begin(), byname.end(), e), byname.end());
  e->to_ = nullptr;
  e->detached_ = true;
}

void Tree::reload_edge(Edge* e) {
  if (e->detached_) return;
  Node* to = e->from_->resolve(e->name_);
  if (to == e->to_) return;
  if (e->to_) {
    auto& in = e->to_->edges_in_;
    in.erase(std::remove(in.begin(), in.end(), e), in.end());
  }
  e->to_ = to;
  if (to) to->edges_in_.push_back(e);
}

void Tree::reload_named(Node* at, const std::string& name) {
  auto it = edges_by_name_.find(name);
  if (it == edges_by_name_.end()) return;
  std::vector<Edge*> edges = it->second;  // reload may not add edges, but be safe
  for (Edge* e : edges) {
    if (e->from_->is_descendant_of(at)) reload_edge(e);
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
  for (auto& [n, kid] : old->children_) {
    kid->parent_ = node;
    node->children_[n] = kid;
  }
  old->children_.clear();
  if (parent) {
    parent->children_[node->name] = node;
    old->parent_ = nullptr;
    node->parent_ = parent;
  }
  reload_out_edges_of_subtree(node);
  reload_out_edges_of_subtree(old);
  if (parent) reload_named(parent, node->name);
}

std::vector<Node*> Tree::inventory() const {
  std::vector<Node*> out;
  if (!root_) return out;
  std::vector<Node*> stack{root_};
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    out.push_back(n);
    for (auto& [_, c] : n->children_) stack.push_back(c);
    for (Node* c : n->fs_children_) stack.push_back(c);
  }
  return out;
}

std::vector<Node*> Tree::query_name(std::string_view name) const {
  std::vector<Node*> out;
  for (Node* n : inventory()) {
    if (n->name == name) out.push_back(n);
  }
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
  std::vector<Node*> queue{root};
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
  seen.erase(root);
  for (Node* n : seen) {
    if (n->flags.dev_optional && (n->flags.dev || n->flags.optional)) n->flags.dev_optional = false;
  }
}

}  // namespace lade::tree
