// Tree::release_detached: scratch subtrees (the resolver's virtual roots) are freed once nothing
// refers to them, and only then. Run under AddressSanitizer by the test script, which turns a
// freed node or edge still reachable from the tree into a failure.
#include <catch2/catch.hpp>
#include <string>

#include "tree/tree.h"

using lade::manifest::Manifest;
using lade::tree::Node;
using lade::tree::Tree;

namespace {

bool any_version(const Node&, const std::string&, const Node&) { return true; }

Manifest pkg(std::string name, lade::manifest::DependencyList deps = {}) {
  Manifest m;
  m.name = std::move(name);
  m.version = "1.0.0";
  m.dependencies = std::move(deps);
  return m;
}

}  // namespace

TEST_CASE("tree: a detached scratch subtree is released and the tree works on", "[tree]") {
  Tree t(any_version);
  Node* root = t.create_root(pkg("project", {{"a", "*"}}));
  // A virtual root standing in for the project, with a dependency and its own dependency.
  Node* vr = t.create_node("project", root->package);
  t.load_edges(vr, false);
  Node* a = t.create_node("a", pkg("a", {{"b", "*"}}));
  t.load_edges(a, false);
  t.attach(a, vr);
  Node* b = t.create_node("b", pkg("b"));
  t.load_edges(b, false);
  t.attach(b, vr);
  REQUIRE(vr->edge_out("a")->to() == a);
  REQUIRE(a->edge_out("b")->to() == b);

  REQUIRE(t.release_detached(vr));

  // The real tree still resolves by name: attaching `a` and `b` under the root reloads every
  // edge named so that is left, and none of the released ones.
  Node* real_a = t.create_node("a", pkg("a", {{"b", "*"}}));
  t.load_edges(real_a, false);
  t.attach(real_a, root);
  Node* real_b = t.create_node("b", pkg("b"));
  t.load_edges(real_b, false);
  t.attach(real_b, root);
  CHECK(root->edge_out("a")->to() == real_a);
  CHECK(real_a->edge_out("b")->to() == real_b);
  CHECK(real_b->edges_in().size() == 1);
  CHECK(t.inventory().size() == 3);
}

TEST_CASE("tree: release refuses the root and attached nodes", "[tree]") {
  Tree t(any_version);
  Node* root = t.create_root(pkg("project", {{"a", "*"}}));
  CHECK_FALSE(t.release_detached(root));
  CHECK_FALSE(t.release_detached(nullptr));

  Node* a = t.create_node("a", pkg("a", {{"b", "*"}}));
  t.load_edges(a, false);
  t.attach(a, root);
  Node* b = t.create_node("b", pkg("b"));
  t.attach(b, a);
  CHECK_FALSE(t.release_detached(a));
  CHECK_FALSE(t.release_detached(b));
  CHECK(root->edge_out("a")->to() == a);
  CHECK(a->edge_out("b")->to() == b);

  // Once detached, the same subtree goes, and the root's edge is left missing.
  t.detach(a);
  CHECK(root->edge_out("a")->to() == nullptr);
  CHECK(t.release_detached(a));
  CHECK(root->edge_out("a")->missing());
  CHECK(t.inventory().size() == 1);
}
