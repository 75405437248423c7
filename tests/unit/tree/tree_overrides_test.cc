// How a Tree applies the root's "overrides" to edges and nodes, as arborist's edge.js and
// node.js do: which spec an edge asks for, which nodes satisfy it, and how override sets follow
// the edges when nodes come and go. The cases mirror what `npm install` does on the same
// package.json files (tests/compat/scenarios/overrides-*).
#include <catch2/catch.hpp>
#include <string>

#include "semver/functions.h"
#include "tree/tree.h"

using lade::manifest::Json;
using lade::manifest::Manifest;
using lade::tree::Edge;
using lade::tree::Node;
using lade::tree::Tree;

namespace {

/// Enough of npm's dep-valid for these tests: registry ranges (loose) and `npm:` aliases.
bool test_dep_valid(const Node& child, const std::string& spec, const Node&) {
  std::string range = spec;
  if (spec.rfind("npm:", 0) == 0) {
    std::string target = spec.substr(4);
    size_t at = target.find('@', 1);
    std::string name = target.substr(0, at);
    if (child.package_name() != name) return false;
    range = at == std::string::npos ? "*" : target.substr(at + 1);
  }
  if (range.empty() || range == "*") return true;
  return lade::semver::satisfies(child.version(), range, lade::semver::Options{true, false});
}

Manifest pkg(std::string name, std::string version,
             lade::manifest::DependencyList deps = {}) {
  Manifest m;
  m.name = std::move(name);
  m.version = std::move(version);
  m.dependencies = std::move(deps);
  return m;
}

Manifest root_pkg(lade::manifest::DependencyList deps, const char* overrides) {
  Manifest m = pkg("project", "1.0.0", std::move(deps));
  if (overrides) m.overrides = Json::parse(overrides);
  return m;
}

/// Adds a package under `parent` the way the resolver does: edges first, then attached.
Node* add(Tree& t, Node* parent, Manifest m, std::string folder = "") {
  std::string name = folder.empty() ? m.name : folder;
  Node* n = t.create_node(name, std::move(m));
  t.load_edges(n, false);
  t.attach(n, parent);
  return n;
}

}  // namespace

TEST_CASE("tree overrides: a rule changes the spec of matching edges anywhere",
          "[tree][overrides]") {
  Tree t(test_dep_valid);
  Node* root = t.create_root(root_pkg({{"a", "^1.0.0"}}, R"({"leaf": "1.0.0"})"));
  REQUIRE(t.override_errors().empty());
  REQUIRE(t.root_overrides());
  CHECK(root->overrides == t.root_overrides());
  Node* a = add(t, root, pkg("a", "1.0.0", {{"leaf", "^1.0.0"}}));
  CHECK(a->overrides == t.root_overrides());
  Edge* e = a->edge_out("leaf");
  REQUIRE(e);
  CHECK(e->raw_spec() == "^1.0.0");
  CHECK(e->spec() == "1.0.0");
  CHECK(e->overrides()->key() == "leaf");

  Node* leaf = add(t, root, pkg("leaf", "1.1.0"));
  CHECK(e->to() == leaf);
  // 1.1.0 satisfies ^1.0.0 but the rule ("*") covers every leaf: only the override counts.
  CHECK_FALSE(e->valid());
  t.detach(leaf);
  Node* leaf1 = add(t, root, pkg("leaf", "1.0.0"));
  CHECK(e->valid());
  CHECK(leaf1->overrides->key() == "leaf");
  CHECK(leaf1->overridden());
  CHECK(t.assert_root_overrides().ok());
}

TEST_CASE("tree overrides: nested rules apply only below their package", "[tree][overrides]") {
  Tree t(test_dep_valid);
  Node* root = t.create_root(
      root_pkg({{"a", "^1.0.0"}, {"b", "^1.0.0"}}, R"({"a": {"leaf": "2.0.0"}})"));
  Node* a = add(t, root, pkg("a", "1.0.0", {{"leaf", "^1.0.0"}}));
  Node* b = add(t, root, pkg("b", "1.0.0", {{"leaf", "^1.0.0"}}));
  CHECK(a->overrides == t.root_overrides()->child("a"));
  CHECK(b->overrides == t.root_overrides());
  CHECK(a->edge_out("leaf")->spec() == "2.0.0");
  CHECK(b->edge_out("leaf")->spec() == "^1.0.0");
}

TEST_CASE("tree overrides: deep nesting follows the dependency path", "[tree][overrides]") {
  Tree t(test_dep_valid);
  Node* root = t.create_root(root_pkg({{"a", "^1.0.0"}, {"c", "^1.0.0"}},
                                      R"({"a": {"b": {"leaf": "2.0.0"}}})"));
  Node* a = add(t, root, pkg("a", "1.0.0", {{"b", "^1.0.0"}}));
  Node* b = add(t, root, pkg("b", "1.0.0", {{"leaf", "^1.0.0"}}));
  Node* c = add(t, root, pkg("c", "1.0.0", {{"leaf", "^1.0.0"}}));
  CHECK(a->overrides->key() == "a");
  CHECK(b->overrides->key() == "b");
  CHECK(b->edge_out("leaf")->spec() == "2.0.0");
  CHECK(c->edge_out("leaf")->spec() == "^1.0.0");
}

TEST_CASE("tree overrides: versioned keys and the key spec in satisfied_by",
          "[tree][overrides]") {
  Tree t(test_dep_valid);
  Node* root = t.create_root(
      root_pkg({{"a", "^1.0.0"}, {"b", "^1.0.0"}}, R"({"leaf@1.1.0": "1.0.0"})"));
  Node* a = add(t, root, pkg("a", "1.0.0", {{"leaf", "^1.0.0"}}));
  Node* b = add(t, root, pkg("b", "1.0.0", {{"leaf", "^2.0.0"}}));
  Edge* e = a->edge_out("leaf");
  CHECK(e->spec() == "1.0.0");
  // ^2.0.0 does not intersect 1.1.0: not overridden.
  CHECK(b->edge_out("leaf")->spec() == "^2.0.0");
  Node* n = t.create_node("leaf", pkg("leaf", "1.2.0"));
  CHECK(e->satisfied_by(*n));  // declared ^1.0.0, and not the replaced 1.1.0
  n->package.version = "1.1.0";
  CHECK_FALSE(e->satisfied_by(*n));  // exactly what the rule replaces
  n->package.version = "1.0.0";
  CHECK(e->satisfied_by(*n));  // the override itself
  n->package.version = "2.0.0";
  CHECK_FALSE(e->satisfied_by(*n));
}

TEST_CASE("tree overrides: $name takes the root package's spec", "[tree][overrides]") {
  Tree t(test_dep_valid);
  Manifest m = root_pkg({{"a", "^1.0.0"}}, R"({"leaf": "$leaf", "other": "$a"})");
  m.dev_dependencies = {{"leaf", "1.0.0"}};
  Node* root = t.create_root(m);
  Node* a = add(t, root, pkg("a", "1.0.0", {{"leaf", "^1.0.0"}, {"other", "^3.0.0"}}));
  CHECK(a->edge_out("leaf")->spec() == "1.0.0");
  CHECK(a->edge_out("other")->spec() == "^1.0.0");
  // The root's own leaf edge resolves to its own spec: allowed.
  CHECK(root->edge_out("leaf")->spec() == "1.0.0");
  CHECK(t.assert_root_overrides().ok());
  CHECK(t.override_errors().empty());
}

TEST_CASE("tree overrides: a reference nothing declares is an error", "[tree][overrides]") {
  Tree t(test_dep_valid);
  Node* root = t.create_root(root_pkg({{"a", "^1.0.0"}}, R"({"leaf": "$nope"})"));
  Node* a = add(t, root, pkg("a", "1.0.0", {{"leaf", "^1.0.0"}}));
  CHECK(a->edge_out("leaf")->spec() == "^1.0.0");
  REQUIRE(t.override_errors().size() == 1);
  CHECK(t.override_errors()[0].code.empty());  // as npm's: no code
  CHECK(t.override_errors()[0].message == "Unable to resolve reference $nope");
}

TEST_CASE("tree overrides: a root dependency may not be overridden", "[tree][overrides]") {
  Tree t(test_dep_valid);
  t.create_root(root_pkg({{"leaf", "^1.0.0"}}, R"({"leaf": "1.0.0"})"));
  auto st = t.assert_root_overrides();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == "EOVERRIDE");
  CHECK(st.error().message == "Override for leaf@^1.0.0 conflicts with direct dependency");

  Tree same(test_dep_valid);
  same.create_root(root_pkg({{"leaf", "1.0.0"}}, R"({"leaf": "1.0.0"})"));
  CHECK(same.assert_root_overrides().ok());
}

TEST_CASE("tree overrides: a malformed rule is reported", "[tree][overrides]") {
  Tree t(test_dep_valid);
  Node* root = t.create_root(root_pkg({{"a", "^1.0.0"}}, R"({"./foo": "1.0.0"})"));
  CHECK(root->overrides == nullptr);
  REQUIRE(t.override_errors().size() == 1);
  CHECK(t.override_errors()[0].message == "Override without name: ./foo");
}

TEST_CASE("tree overrides: only the root package's overrides count", "[tree][overrides]") {
  Tree t(test_dep_valid);
  Node* root = t.create_root(root_pkg({{"a", "^1.0.0"}}, nullptr));
  Manifest a_pkg = pkg("a", "1.0.0", {{"leaf", "^1.0.0"}});
  a_pkg.overrides = Json::parse(R"({"leaf": "2.0.0"})");
  Node* a = add(t, root, a_pkg);
  CHECK(t.root_overrides() == nullptr);
  CHECK(a->overrides == nullptr);
  CHECK(a->edge_out("leaf")->spec() == "^1.0.0");
}

TEST_CASE("tree overrides: an alias as the override", "[tree][overrides]") {
  Tree t(test_dep_valid);
  Node* root = t.create_root(root_pkg({{"p", "^1.0.0"}}, R"({"shared": "npm:leaf@1.0.0"})"));
  Node* p = add(t, root, pkg("p", "1.0.0", {{"shared", "^1.0.0"}}));
  Edge* e = p->edge_out("shared");
  CHECK(e->spec() == "npm:leaf@1.0.0");
  add(t, root, pkg("leaf", "1.0.0"), "shared");
  CHECK(e->valid());
}

TEST_CASE("tree overrides: the most specific set wins, and sets must agree to replace",
          "[tree][overrides]") {
  Tree t(test_dep_valid);
  Node* root = t.create_root(root_pkg({{"a", "^1.0.0"}, {"c", "^1.0.0"}},
                                      R"({"a": {"leaf": "2.0.0"}})"));
  Node* a = add(t, root, pkg("a", "1.0.0", {{"c", "^1.0.0"}}));
  Node* c = add(t, root, pkg("c", "1.0.0", {{"leaf", "^1.0.0"}}));
  // Reached from the root (root set) and from a (a's set): a's is more specific.
  CHECK(c->overrides == t.root_overrides()->child("a"));
  CHECK(c->edge_out("leaf")->spec() == "2.0.0");

  // A copy of c under other rules cannot stand in for it.
  Node* other = t.create_node("c", pkg("c", "1.0.0", {{"leaf", "^1.0.0"}}));
  other->overrides = t.root_overrides();
  CHECK_FALSE(other->can_replace(*c));
  Node* twin = t.create_node("c", pkg("c", "1.0.0", {{"leaf", "^1.0.0"}}));
  twin->overrides = c->overrides;
  CHECK(twin->can_replace(*c));

  // Once a's edge goes to a copy nested under a, only the root's set is left for the top one.
  Node* nested = add(t, a, pkg("c", "1.0.0", {{"leaf", "^1.0.0"}}));
  CHECK(a->edge_out("c")->to() == nested);
  CHECK(nested->overrides == t.root_overrides()->child("a"));
  CHECK(nested->edge_out("leaf")->spec() == "2.0.0");
  CHECK(c->overrides == t.root_overrides());
  CHECK(c->edge_out("leaf")->spec() == "^1.0.0");
}

TEST_CASE("tree overrides: conflicting sets make the edge invalid", "[tree][overrides]") {
  Tree t(test_dep_valid);
  Node* root = t.create_root(root_pkg({{"p", "^1.0.0"}, {"q", "^1.0.0"}},
                                      R"({"p": {"x": {"z": "1.0.0"}},
                                          "q": {"x": {"z": "2.0.0"}}})"));
  Node* p = add(t, root, pkg("p", "1.0.0", {{"x", "^1.0.0"}}));
  Node* q = add(t, root, pkg("q", "1.0.0", {{"x", "^1.0.0"}}));
  Node* x = add(t, root, pkg("x", "1.0.0", {{"z", "^1.0.0"}}));
  // p's edge came first; q's rules for z contradict p's, so x keeps p's and q's edge fails.
  CHECK(x->overrides->parent()->key() == "p");
  CHECK(p->edge_out("x")->valid());
  CHECK_FALSE(q->edge_out("x")->valid());
  CHECK(x->edge_out("z")->spec() == "1.0.0");
}
