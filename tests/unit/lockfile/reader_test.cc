#include <catch2/catch.hpp>

#include <set>

#include "lockfile/ci_check.h"
#include "lockfile/v1_lock.h"
#include "lockfile_test_util.h"

using namespace lade;
using namespace lade::lockfile;
using namespace lade::lockfile::testing;

namespace {

util::Result<LoadedLock> read_text_lock(const std::string& text, tree::Tree& tree,
                                        const std::string& package_json = R"({"name":"p"})") {
  return read_lockfile(text, "package-lock.json", tree,
                       manifest::manifest_from_json(Json::parse(package_json)));
}

}  // namespace

TEST_CASE("lockfile: the tree read from a lockfile", "[lockfile]") {
  auto loaded = load_project("workspaces", "package-lock.json");
  REQUIRE(loaded.ok());
  Project& p = **loaded;
  const auto& nodes = p.lock.nodes;
  CHECK(p.lock.lockfile_version == 3);
  CHECK_FALSE(p.lock.root_mismatch);

  tree::Node* root = nodes.at("");
  CHECK(root->is_project_root);
  CHECK(root == p.tree->root());

  tree::Node* link = nodes.at("node_modules/@scope/b");
  tree::Node* folder = nodes.at("packages/b");
  CHECK(link->is_link);
  CHECK(link->target == folder);
  CHECK(link->realpath == "packages/b");
  CHECK(link->parent() == root);
  CHECK(folder->location() == "packages/b");
  CHECK(folder->fs_parent() == root);
  CHECK(folder->is_workspace);
  CHECK(link->is_workspace);
  CHECK(folder->package.name == "@scope/b");
  CHECK_FALSE(nodes.at("local-dir")->is_workspace);

  tree::Edge* ws = root->edge_out("a");
  REQUIRE(ws);
  CHECK(ws->workspace());
  CHECK(ws->spec() == "file:packages/a");
  CHECK(ws->to() == nodes.at("node_modules/a"));

  // A workspace's own node_modules, and its dev dependencies (workspaces are tops).
  tree::Node* a = nodes.at("packages/a");
  CHECK(nodes.at("packages/a/node_modules/isarray")->parent() == a);
  REQUIRE(a->edge_out("isarray"));
  CHECK(a->edge_out("isarray")->to() == nodes.at("packages/a/node_modules/isarray"));
  REQUIRE(a->edge_out("inherits"));
  CHECK(a->edge_out("inherits")->dev());

  tree::Node* through = nodes.at("node_modules/vendored/node_modules/through");
  CHECK(through->in_bundle());
  CHECK(through->resolved.empty());
  tree::Node* vendored = nodes.at("node_modules/vendored");
  CHECK(vendored->resolved == "file:vendor/vendored-1.0.0.tgz");
  CHECK(vendored->package.bundle_dependencies == std::vector<std::string>{"through"});

  tree::Node* glob = nodes.at("node_modules/glob");
  CHECK(glob->from_lockfile);
  CHECK(glob->version() == "7.2.3");
  CHECK(glob->integrity.starts_with("sha512-"));
  CHECK(glob->resolved == "http://127.0.0.1:4873/glob/-/glob-7.2.3.tgz");
  CHECK_FALSE(glob->flags.dev);
  CHECK_FALSE(glob->flags.optional);
  CHECK(glob->flags.dev_optional);
  CHECK(nodes.at("node_modules/rimraf")->flags.optional);
}

TEST_CASE("lockfile: aliases keep the real package name", "[lockfile]") {
  auto loaded = load_project("basic", "package-lock.json");
  REQUIRE(loaded.ok());
  tree::Node* alias = (*loaded)->lock.nodes.at("node_modules/my-lodash");
  CHECK(alias->name == "my-lodash");
  CHECK(alias->package_name() == "lodash");
  CHECK(alias->edges_in().size() == 1);
  tree::Node* ws = (*loaded)->lock.nodes.at("node_modules/ws");
  CHECK(ws->flags.peer);
  CHECK(ws->package.optional_peers == std::vector<std::string>{"bufferutil", "utf-8-validate"});
}

TEST_CASE("lockfile: a package.json that changed makes npm recompute the dep flags", "[lockfile]") {
  auto base = load_project("basic", "package-lock.json");
  REQUIRE(base.ok());
  CHECK((*base)->lock.nodes.at("node_modules/rimraf")->flags.dev);

  // rimraf moves from devDependencies to dependencies.
  Json pj = parse(read_text(data_dir() / "basic/package.json"));
  pj["dependencies"]["rimraf"] = pj["devDependencies"]["rimraf"];
  pj.erase("devDependencies");
  auto tree = make_tree();
  auto lock = read_lockfile(read_text(data_dir() / "basic/package-lock.json"), "package-lock.json",
                            *tree, manifest::manifest_from_json(pj));
  REQUIRE(lock.ok());
  CHECK(lock->root_mismatch);
  CHECK_FALSE(lock->nodes.at("node_modules/rimraf")->flags.dev);
  CHECK_FALSE(lock->nodes.at("node_modules/glob")->flags.dev);
  CHECK(lock->nodes.at("node_modules/ws")->flags.peer);

  // A different spec for the same dependency counts too.
  pj = parse(read_text(data_dir() / "basic/package.json"));
  pj["dependencies"]["readable-stream"] = "^2.3.7";
  auto tree2 = make_tree();
  auto lock2 = read_lockfile(read_text(data_dir() / "basic/package-lock.json"), "package-lock.json",
                             *tree2, manifest::manifest_from_json(pj));
  REQUIRE(lock2.ok());
  CHECK(lock2->root_mismatch);
}

TEST_CASE("lockfile: root_edges_match", "[lockfile]") {
  auto tree = make_tree();
  tree::Node* root = tree->create_root(manifest::manifest_from_json(Json::parse(R"({
    "dependencies": {"a": "^1"}, "optionalDependencies": {"b": "^2"},
    "peerDependencies": {"c": "*", "d": "*"}, "peerDependenciesMeta": {"d": {"optional": true}},
    "devDependencies": {"e": "3"}})")));
  tree->add_edge(root, "w", "file:packages/w", tree::EdgeType::Workspace);
  WorkspaceList ws = {{"w", "packages/w"}};
  Json lock_root = Json::parse(R"({
    "dependencies": {"a": "^1", "b": "^2"}, "optionalDependencies": {"b": "^2"},
    "peerDependencies": {"c": "*", "d": "*"}, "peerDependenciesMeta": {"d": {"optional": true}},
    "devDependencies": {"e": "3"}})");
  CHECK(root_edges_match(lock_root, *root, ws));
  CHECK_FALSE(root_edges_match(lock_root, *root, {}));
  lock_root["devDependencies"]["e"] = "4";
  CHECK_FALSE(root_edges_match(lock_root, *root, ws));
  lock_root["devDependencies"]["e"] = "3";
  lock_root["dependencies"]["extra"] = "1";
  CHECK_FALSE(root_edges_match(lock_root, *root, ws));
}

TEST_CASE("lockfile: read errors", "[lockfile]") {
  auto tree = make_tree();
  auto bad = read_text_lock("{\"lockfileVersion\": 3,", *tree);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "EJSONPARSE");
  CHECK(bad.error().message.find("package-lock.json") != std::string::npos);

  // A newer version is read as v3 (npm 11 reads and keeps lockfileVersion 99 alike).
  auto tree2 = make_tree();
  auto future = read_text_lock(R"({"lockfileVersion": 4, "packages": {}})", *tree2);
  REQUIRE(future.ok());
  CHECK(future->lockfile_version == 4);
  CHECK_FALSE(future->needs_inflate);
  auto tree2b = make_tree();
  auto zero = read_text_lock(R"({"lockfileVersion": 0, "packages": {}})", *tree2b);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().code == "ELOCKFILEVERSION");

  auto tree3 = make_tree();
  auto missing = read_text_lock(R"({"lockfileVersion": 3, "packages": {
    "": {"name": "p"}, "node_modules/x": {"resolved": "libs/x", "link": true}}})",
                                *tree3);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "EMISSINGTARGET");
  CHECK(missing.error().message ==
        "Missing target in lock file: \"libs/x\" is referenced by \"node_modules/x\" but does "
        "not exist.\nTo fix:\n1. rm package-lock.json\n2. npm install");
}

TEST_CASE("lockfile: absurdly nested v1 lockfiles are refused", "[lockfile]") {
  std::string text = R"({"lockfileVersion": 1, "requires": true)";
  for (int i = 0; i < kMaxV1Depth + 5; ++i)
    text += R"(, "dependencies": {"a": {"version": "1.0.0")";
  for (int i = 0; i < kMaxV1Depth + 5; ++i) text += "}}";
  text += "}";
  auto tree = make_tree();
  auto lock = read_text_lock(text, *tree);
  REQUIRE_FALSE(lock.ok());
  CHECK(lock.error().code == "ELOCKFILE");
}

TEST_CASE("lockfile: v1 link targets and ancient lockfiles", "[lockfile]") {
  auto tree = make_tree();
  auto lock = read_text_lock(R"({
    "name": "p", "version": "1.0.0", "lockfileVersion": 1,
    "dependencies": {
      "lib": {"version": "file:libs/lib", "requires": {"x": "^1.0.0"},
              "dependencies": {"x": {"version": "1.0.1", "integrity": "sha512-X"}}},
      "y": {"version": "2.0.0", "resolved": "http://127.0.0.1:4873/y/-/y-2.0.0.tgz",
            "integrity": "sha512-Y", "dev": true, "bundled": true}
    }})",
                             *tree, R"({"name":"p","dependencies":{"lib":"file:libs/lib"}})");
  REQUIRE(lock.ok());
  CHECK(lock->ancient);
  CHECK(lock->needs_inflate);
  tree::Node* link = lock->nodes.at("node_modules/lib");
  CHECK(link->is_link);
  CHECK(link->target == lock->nodes.at("libs/lib"));
  // Dependencies listed under a link live under its target.
  tree::Node* x = lock->nodes.at("libs/lib/node_modules/x");
  CHECK(x->parent() == link->target);
  CHECK(link->target->edge_out("x")->to() == x);
  CHECK(lock->nodes.at("node_modules/y")->version() == "2.0.0");
  CHECK(lock->nodes.at("node_modules/y")->flags.extraneous);  // nothing depends on it
}

TEST_CASE("lockfile: npm ci's lockfile check", "[lockfile]") {
  auto virtual_tree = load_project("basic", "package-lock.json");
  auto ideal = load_project("basic", "package-lock.json");
  REQUIRE(virtual_tree.ok());
  REQUIRE(ideal.ok());
  CHECK(check_ci_lockfile(*(*virtual_tree)->tree, *(*ideal)->tree).ok());

  (*ideal)->lock.nodes.at("node_modules/isarray")->package.version = "2.0.5";
  tree::Node* added = (*ideal)->tree->create_node(
      "left-pad",
      manifest::manifest_from_json(Json::parse(R"({"name":"left-pad","version":"1.3.0"})")));
  (*ideal)->tree->attach(added, (*ideal)->tree->root());

  std::vector<std::string> expected = {
      "Invalid: lock file's isarray@1.0.0 does not satisfy isarray@2.0.5",
      "Missing: left-pad@1.3.0 from lock file"};
  CHECK(lockfile_mismatches(*(*virtual_tree)->tree, *(*ideal)->tree) == expected);
  auto status = check_ci_lockfile(*(*virtual_tree)->tree, *(*ideal)->tree);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == "EUSAGE");
  CHECK(status.error().message ==
        "`npm ci` can only install packages when your package.json and package-lock.json or "
        "npm-shrinkwrap.json are in sync. Please update your lock file with `npm install` "
        "before continuing.\n\n"
        "Invalid: lock file's isarray@1.0.0 does not satisfy isarray@2.0.5\n"
        "Missing: left-pad@1.3.0 from lock file");
}

TEST_CASE("lockfile: a dependency's shrinkwrap loaded below it", "[lockfile][shrinkwrap]") {
  auto tree_owner = make_tree();
  tree::Tree& tree = *tree_owner;
  auto loaded = read_text_lock(R"({
    "lockfileVersion": 3,
    "packages": {
      "": {"name": "p", "dependencies": {"sw": "^1.0.0"}},
      "node_modules/sw": {"version": "1.0.0", "hasShrinkwrap": true,
                          "dependencies": {"a": "^1.0.0", "b": "^2.0.0"}},
      "node_modules/a": {"version": "3.0.0"}
    }
  })", tree, R"({"name":"p","dependencies":{"sw":"^1.0.0"}})");
  REQUIRE(loaded.ok());
  tree::Node* sw = loaded->nodes.at("node_modules/sw");
  tree::Node* old_child = tree.create_node("b", manifest::manifest_from_json(
                                                    Json::parse(R"({"name":"b","version":"2.9.0"})")));
  tree.attach(old_child, sw);

  SECTION("v3: entries under node_modules, a child of the same name replaced, nesting kept") {
    auto nodes = read_subtree_lock(R"({
      "name": "sw", "version": "1.0.0", "lockfileVersion": 3,
      "packages": {
        "": {"name": "sw", "version": "1.0.0", "dependencies": {"a": "^1.0.0", "b": "^2.0.0"}},
        "node_modules/b": {"version": "2.0.0", "integrity": "sha512-bbb", "dependencies": {"c": "1"}},
        "node_modules/a": {"version": "1.2.0", "resolved": "http://127.0.0.1/a/-/a-1.2.0.tgz"},
        "node_modules/b/node_modules/c": {"version": "1.0.0", "dev": true},
        "lib/folder": {"version": "0.0.1"},
        "node_modules/linked": {"link": true, "resolved": "lib/folder"},
        "node_modules/orphan/node_modules/d": {"version": "1.0.0"}
      }
    })", "sw@1.0.0/npm-shrinkwrap.json", tree, *sw);
    REQUIRE(nodes.ok());
    REQUIRE(nodes->size() == 3);
    std::set<std::string> first_two{(*nodes)[0]->location(), (*nodes)[1]->location()};
    CHECK(first_two == std::set<std::string>{"node_modules/sw/node_modules/a",
                                             "node_modules/sw/node_modules/b"});
    CHECK((*nodes)[2]->location() == "node_modules/sw/node_modules/b/node_modules/c");
    tree::Node* a = sw->child("a");
    REQUIRE(a);
    CHECK(a->version() == "1.2.0");
    CHECK(a->resolved == "http://127.0.0.1/a/-/a-1.2.0.tgz");
    CHECK(a->from_lockfile);
    CHECK(a->in_shrinkwrap());
    CHECK(sw->child("b") != old_child);
    CHECK(sw->child("b")->integrity == "sha512-bbb");
    CHECK(sw->child("b")->child("c")->flags.dev);
    CHECK_FALSE(sw->child("linked"));
    CHECK_FALSE(sw->child("orphan"));
    // The shrinkwrapped package's edges now lead to what it locked, not to the top copy.
    REQUIRE(sw->edge_out("a"));
    CHECK(sw->edge_out("a")->to() == a);
    CHECK(sw->edge_out("a")->valid());
    CHECK(sw->child("b")->edge_out("c")->to() == sw->child("b")->child("c"));
    CHECK_FALSE(loaded->nodes.at("node_modules/a")->in_shrinkwrap());
  }

  SECTION("v1: nested dependencies and requires converted first") {
    auto nodes = read_subtree_lock(R"({
      "name": "sw", "version": "1.0.0", "lockfileVersion": 1, "requires": true,
      "dependencies": {
        "a": {"version": "1.0.0", "integrity": "sha512-aaa"},
        "b": {"version": "2.0.0", "requires": {"a": "^1.0.0"},
              "dependencies": {"a": {"version": "1.5.0"}}}
      }
    })", "sw@1.0.0/npm-shrinkwrap.json", tree, *sw);
    REQUIRE(nodes.ok());
    CHECK(nodes->size() == 3);
    CHECK(sw->child("a")->version() == "1.0.0");
    CHECK(sw->child("a")->integrity == "sha512-aaa");
    tree::Node* nested = sw->child("b")->child("a");
    REQUIRE(nested);
    CHECK(nested->version() == "1.5.0");
    REQUIRE(sw->child("b")->edge_out("a"));
    CHECK(sw->child("b")->edge_out("a")->to() == nested);
  }

  SECTION("not JSON") {
    auto nodes = read_subtree_lock("{", "sw@1.0.0/npm-shrinkwrap.json", tree, *sw);
    REQUIRE_FALSE(nodes.ok());
    CHECK(nodes.error().code == "EJSONPARSE");
    CHECK(sw->child("b") == old_child);
  }
}
