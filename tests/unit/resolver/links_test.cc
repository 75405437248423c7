// The ideal tree with dependencies that no registry serves: `file:` folders (links), workspaces,
// tarball files and URLs, git repositories. Expectations are the trees npm 11 builds for the
// same packages (see also the compat scenarios file-directory-dep, workspaces and
// remote-tarball, and the lockfiles npm wrote for the cases below).
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory>

#include "resolver/ideal_tree.h"
#include "resolver/node_source.h"
#include "resolver/packument_source.h"
#include "tree/tree.h"

namespace lade::resolver {
namespace {

namespace fs = std::filesystem;
using tree::Node;

const fs::path kProject = "/srv/app/proj";

/// Packuments, folders and non-registry packages from memory.
class FakeSource final : public PackumentSource {
 public:
  /// `versions`: version -> JSON of its "dependencies" object.
  void add(const std::string& name, std::map<std::string, std::string> versions,
           std::string latest) {
    std::string text =
        "{\"name\":\"" + name + "\",\"dist-tags\":{\"latest\":\"" + latest + "\"},\"versions\":{";
    bool first = true;
    for (const auto& [v, deps] : versions) {
      if (!first) text += ",";
      first = false;
      text += "\"" + v + "\":{\"name\":\"" + name + "\",\"version\":\"" + v +
              "\",\"dependencies\":" + deps + ",\"dist\":{\"tarball\":\"http://127.0.0.1:1/" +
              name + "-" + v + ".tgz\",\"integrity\":\"sha512-" + name + v + "\"}}";
    }
    text += "}}";
    auto p = manifest::Packument::parse(text, name);
    REQUIRE(p.ok());
    packuments_[name] = *p;
  }
  void folder(const std::string& rel, const std::string& package_json) {
    auto doc = manifest::parse_json(package_json, rel);
    REQUIRE(doc.ok());
    folders_[(kProject / rel).lexically_normal()] = manifest::manifest_from_json(*doc);
  }
  void sourced(const std::string& fetch_spec, const std::string& package_json, std::string resolved,
               std::string integrity) {
    auto doc = manifest::parse_json(package_json, fetch_spec);
    REQUIRE(doc.ok());
    sourced_[fetch_spec] = SourcedPackage{manifest::manifest_from_json(*doc), std::move(resolved),
                                          std::move(integrity)};
  }

  void prefetch(const std::string&, std::function<void()> on_ready) override {
    if (on_ready) on_ready();
  }
  lade::util::Result<std::vector<BundledPackage>> bundled_packages(const lade::tree::Node&) override {
    return std::vector<BundledPackage>{};
  }
  util::Result<std::shared_ptr<const manifest::Packument>> packument(
      const std::string& name) override {
    auto it = packuments_.find(name);
    if (it == packuments_.end()) return util::make_error("E404", name + " is not in this registry");
    return it->second;
  }
  std::string registry_for(const std::string&) const override { return "http://127.0.0.1:1/"; }
  util::Result<SourcedPackage> fetch_package(const manifest::PackageSpec& spec) override {
    fetched.push_back(spec.fetch_spec.value_or(spec.raw_spec));
    auto it = sourced_.find(spec.fetch_spec.value_or(spec.raw_spec));
    if (it == sourced_.end()) return util::make_error("ENOENT", "no " + spec.raw);
    return it->second;
  }
  util::Result<manifest::Manifest> read_folder(const fs::path& dir) override {
    auto it = folders_.find(dir.lexically_normal());
    if (it == folders_.end())
      return util::make_error("ENOENT", "no package.json in " + dir.string());
    return it->second;
  }

  std::vector<std::string> fetched;

 private:
  std::map<std::string, std::shared_ptr<const manifest::Packument>> packuments_;
  std::map<fs::path, manifest::Manifest> folders_;
  std::map<std::string, SourcedPackage> sourced_;
};

manifest::Manifest package(const std::string& json) {
  auto doc = manifest::parse_json(json, "package.json");
  REQUIRE(doc.ok());
  return manifest::manifest_from_json(*doc);
}

/// location -> "version", "link:<folder>" or "resolved <resolved>" for non-registry nodes.
std::map<std::string, std::string> layout(tree::Tree& t) {
  std::map<std::string, std::string> out;
  for (Node* n : t.inventory()) {
    if (n->is_project_root) continue;
    if (n->is_link) {
      out[n->location()] = "link:" + n->realpath;
    } else if (!n->resolved.empty() && n->resolved.rfind("http://127.0.0.1:1/", 0) != 0) {
      out[n->location()] = n->version() + " " + n->resolved;
    } else {
      out[n->location()] = n->version();
    }
  }
  return out;
}

std::unique_ptr<tree::Tree> make_tree() {
  auto t = std::make_unique<tree::Tree>(make_dep_valid(kProject));
  t->version_gt = version_gt;
  return t;
}

util::Status build(tree::Tree& t, FakeSource& source) {
  ResolveOptions options;
  options.project_dir = kProject;
  IdealTreeBuilder builder(t, source, options);
  return builder.build();
}

void registry(FakeSource& s) {
  s.add("leaf", {{"1.1.0", "{}"}, {"2.0.0", "{}"}}, "2.0.0");
  s.add("shared", {{"1.1.0", "{}"}}, "1.1.0");
  s.add("dev-tool", {{"1.0.0", R"({"leaf":"^1.0.0"})"}}, "1.0.0");
  s.add("chain-a", {{"1.0.0", "{}"}}, "1.0.0");
}

TEST_CASE("workspaces are linked; their dependencies hoist unless they conflict",
          "[resolver][links]") {
  FakeSource s;
  registry(s);
  s.folder(
      "packages/ws-a",
      R"({"name":"ws-a","version":"1.0.0","dependencies":{"leaf":"^1.0.0","shared":"^1.0.0"}})");
  s.folder("packages/ws-b",
           R"({"name":"ws-b","version":"1.0.0","dependencies":{"ws-a":"^1.0.0","leaf":"^2.0.0"},)"
           R"("devDependencies":{"dev-tool":"^1.0.0"}})");
  auto t = make_tree();
  Node* root =
      t->create_root(package(R"({"name":"w","version":"1.0.0","dependencies":{"leaf":"^1.0.0"}})"));
  t->add_edge(root, "ws-a", "file:packages/ws-a", tree::EdgeType::Workspace);
  t->add_edge(root, "ws-b", "file:packages/ws-b", tree::EdgeType::Workspace);
  REQUIRE(build(*t, s).ok());
  CHECK(layout(*t) == std::map<std::string, std::string>{
                          {"node_modules/leaf", "1.1.0"},
                          {"node_modules/shared", "1.1.0"},
                          {"node_modules/dev-tool", "1.0.0"},
                          {"node_modules/ws-a", "link:packages/ws-a"},
                          {"node_modules/ws-b", "link:packages/ws-b"},
                          {"packages/ws-a", "1.0.0"},
                          {"packages/ws-b", "1.0.0"},
                          {"packages/ws-b/node_modules/leaf", "2.0.0"},
                      });
  Node* ws_b = root->child("ws-b");
  REQUIRE(ws_b);
  CHECK(ws_b->is_workspace);
  REQUIRE(ws_b->target);
  CHECK(ws_b->target->is_workspace);
  CHECK(ws_b->target->fs_parent() == root);
  // The workspace's dev dependency is resolved, and flagged dev.
  Node* dev_tool = root->child("dev-tool");
  REQUIRE(dev_tool);
  CHECK(dev_tool->flags.dev);
  CHECK_FALSE(ws_b->target->flags.dev);
  for (Node* n : t->inventory()) {
    for (tree::Edge* e : n->edges_out()) CHECK(e->valid());
  }
}

TEST_CASE("file: folders are links; their own file: dependencies resolve from their folder",
          "[resolver][links]") {
  FakeSource s;
  registry(s);
  s.folder("local/a",
           R"({"name":"a","version":"0.1.0","dependencies":{"b":"file:../b","shared":"^1.0.0"}})");
  s.folder("local/b", R"({"name":"b","version":"0.2.0","dependencies":{"leaf":"^2.0.0"}})");
  s.folder("../outside", R"({"name":"out","version":"3.0.0","dependencies":{"chain-a":"^1.0.0"}})");
  auto t = make_tree();
  Node* root = t->create_root(package(
      R"({"name":"p","version":"1.0.0","dependencies":{"a":"file:local/a","out":"file:../outside","leaf":"^1.0.0"}})"));
  REQUIRE(build(*t, s).ok());
  // A folder outside the project is somebody else's problem: its dependencies stay unresolved.
  CHECK(layout(*t) == std::map<std::string, std::string>{
                          {"node_modules/a", "link:local/a"},
                          {"node_modules/b", "link:local/b"},
                          {"node_modules/leaf", "1.1.0"},
                          {"node_modules/out", "link:../outside"},
                          {"node_modules/shared", "1.1.0"},
                          {"local/a", "0.1.0"},
                          {"local/b", "0.2.0"},
                          {"local/b/node_modules/leaf", "2.0.0"},
                          {"../outside", "3.0.0"},
                      });
  Node* out = root->child("out");
  REQUIRE(out);
  REQUIRE(out->target);
  CHECK(out->target->is_external());
  CHECK(out->target->edge_out("chain-a")->missing());
}

TEST_CASE("tarball files, tarball URLs and git repositories come from fetch_package",
          "[resolver][links]") {
  FakeSource s;
  registry(s);
  s.sourced((kProject / "tarballs/t-1.0.0.tgz").string(),
            R"({"name":"t","version":"1.0.0","dependencies":{"leaf":"^2.0.0"}})", "", "sha512-t");
  s.sourced("http://127.0.0.1:2/r-1.0.0.tgz", R"({"name":"r","version":"1.0.0"})",
            "http://127.0.0.1:2/r-1.0.0.tgz", "sha512-r");
  s.sourced("file:///repos/g.git", R"({"name":"g","version":"2.0.0"})",
            "git+file:///repos/g.git#0123", "");
  auto t = make_tree();
  t->create_root(package(R"({"name":"p","version":"1.0.0","dependencies":{)"
                         R"("t":"file:tarballs/t-1.0.0.tgz","r":"http://127.0.0.1:2/r-1.0.0.tgz",)"
                         R"("g":"git+file:///repos/g.git","leaf":"^1.0.0"}})"));
  REQUIRE(build(*t, s).ok());
  CHECK(layout(*t) == std::map<std::string, std::string>{
                          {"node_modules/g", "2.0.0 git+file:///repos/g.git#0123"},
                          {"node_modules/leaf", "1.1.0"},
                          {"node_modules/r", "1.0.0 http://127.0.0.1:2/r-1.0.0.tgz"},
                          {"node_modules/t", "1.0.0 file:tarballs/t-1.0.0.tgz"},
                          {"node_modules/t/node_modules/leaf", "2.0.0"},
                      });
  CHECK(t->root()->child("t")->integrity == "sha512-t");
}

TEST_CASE("dep_valid for folders, tarballs, URLs and repositories", "[resolver][links]") {
  auto t = make_tree();
  Node* root = t->create_root(package(R"({"name":"p","version":"1.0.0"})"));
  Node* folder = t->create_node("a", package(R"({"name":"a","version":"1.0.0"})"));
  folder->realpath = "local/a";
  t->attach_fs(folder, root);
  Node* link = t->create_node("a", folder->package);
  link->is_link = true;
  link->target = folder;
  link->realpath = "local/a";
  auto valid = [&](const Node& child, const std::string& spec, const Node& from) {
    return dep_valid_in(child, spec, from, kProject);
  };
  CHECK(valid(*link, "file:local/a", *root));
  CHECK(valid(*link, "file:./local/a", *root));
  CHECK(valid(*link, "file:" + (kProject / "local/a").string(), *root));
  CHECK_FALSE(valid(*link, "file:local/b", *root));
  CHECK(valid(*link, "^1.0.0", *root));
  // Relative to the folder that declares it.
  Node* b = t->create_node("b", package(R"({"name":"b","version":"1.0.0"})"));
  b->realpath = "local/b";
  t->attach_fs(b, root);
  CHECK(valid(*link, "file:../a", *b));

  Node* tgz = t->create_node("t", package(R"({"name":"t","version":"1.0.0"})"));
  tgz->resolved = "file:tarballs/t.tgz";
  CHECK(valid(*tgz, "file:tarballs/t.tgz", *root));
  CHECK_FALSE(valid(*tgz, "file:tarballs/u.tgz", *root));
  CHECK_FALSE(valid(*link, "file:tarballs/t.tgz", *root));

  Node* remote = t->create_node("r", package(R"({"name":"r","version":"1.0.0"})"));
  remote->resolved = "http://127.0.0.1:2/r.tgz";
  CHECK(valid(*remote, "http://127.0.0.1:2/r.tgz", *root));
  CHECK_FALSE(valid(*remote, "http://127.0.0.1:2/s.tgz", *root));

  Node* git = t->create_node("g", package(R"({"name":"g","version":"1.2.0"})"));
  git->resolved = "git+file:///repos/g.git#70cc6432a32ce95ad7944bce04c4ce743bc05b05";
  CHECK(valid(*git, "git+file:///repos/g.git", *root));
  CHECK(valid(*git, "git+file:///repos/g.git#v1.2.0", *root));
  CHECK(valid(*git, "git+file:///repos/g.git#semver:^1.0.0", *root));
  CHECK_FALSE(valid(*git, "git+file:///repos/g.git#semver:^2.0.0", *root));
  CHECK_FALSE(valid(*git, "git+file:///repos/other.git", *root));

  Node* hosted = t->create_node("h", package(R"({"name":"h","version":"1.0.0"})"));
  hosted->resolved =
      "git+ssh://git@github.com/user/repo.git#70cc6432a32ce95ad7944bce04c4ce743bc05b05";
  CHECK(valid(*hosted, "github:user/repo", *root));
  CHECK(valid(*hosted, "user/repo#main", *root));
  CHECK(valid(*hosted, "github:user/repo#70cc6432a32ce95ad7944bce04c4ce743bc05b05", *root));
  CHECK_FALSE(valid(*hosted, "github:user/repo#1111111111111111111111111111111111111111", *root));
  CHECK_FALSE(valid(*hosted, "github:user/other", *root));
}

TEST_CASE("spec_folder is where a node's relative specs resolve", "[resolver][links]") {
  auto t = make_tree();
  Node* root = t->create_root(package(R"({"name":"p","version":"1.0.0"})"));
  CHECK(spec_folder(*root).empty());
  Node* dep = t->create_node("x", package(R"({"name":"x","version":"1.0.0"})"));
  t->attach(dep, root);
  CHECK(spec_folder(*dep) == "node_modules/x");
  dep->resolved = "file:vendor/x-1.0.0.tgz";
  CHECK(spec_folder(*dep) == "vendor");
  CHECK(project_relative(kProject, kProject / "a/../b") == "b");
  CHECK(project_relative(kProject, "/srv/app/other") == "../other");
  CHECK(project_relative(kProject, kProject).empty());
}

}  // namespace
}  // namespace lade::resolver
