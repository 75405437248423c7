// npm's allowScripts policy: where it is read from, which keys count, and which installed
// packages each key names (by resolved URL and dependents' specs, never by what the package
// says about itself).
#include "installer/script_policy.h"

#include <catch2/catch.hpp>

#include "installer/scripts.h"
#include "manifest/manifest.h"
#include "util/fs.h"

using namespace lade;
using installer::ScriptVerdict;

namespace {

bool any_version(const tree::Node&, const std::string&, const tree::Node&) { return true; }

installer::ScriptPolicy policy_of(const char* package_json_text, std::vector<std::string>* warnings = nullptr) {
  std::vector<std::string> ignored;
  auto json = manifest::Json::parse(package_json_text);
  installer::ScriptPolicyInputs in;
  in.package_json = &json;
  auto p = installer::resolve_script_policy(in, warnings ? *warnings : ignored);
  REQUIRE(p);
  return *p;
}

struct SmallTree {
  tree::Tree t{any_version};
  tree::Node* root;
  SmallTree() {
    manifest::Manifest m;
    m.name = "app";
    m.version = "1.0.0";
    root = t.create_root(m);
  }
  tree::Node* add(const std::string& folder, const std::string& real_name, const std::string& version,
                  const std::string& spec, const std::string& resolved) {
    manifest::Manifest m;
    m.name = real_name;
    m.version = version;
    m.scripts = {{"postinstall", "node x.js"}};
    m.has_install_script = true;
    tree::Node* n = t.create_node(folder, m);
    n->resolved = resolved;
    t.attach(n, root);
    t.add_edge(root, folder, spec, tree::EdgeType::Prod);
    return n;
  }
};

}  // namespace

TEST_CASE("allowScripts: package.json wins over .npmrc; the command line is refused", "[installer][scripts]") {
  std::vector<std::string> warnings;
  auto json = manifest::Json::parse(R"({"esbuild": true, "core-js": false, "odd": "yes"})");
  installer::ScriptPolicyInputs in;
  in.package_json = &json;
  in.npmrc = "sharp, esbuild\n";
  auto p = installer::resolve_script_policy(in, warnings);
  REQUIRE(p);
  CHECK(p->entries == std::vector<std::pair<std::string, bool>>{{"esbuild", true}, {"core-js", false}});
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find(".npmrc allow-scripts setting is being ignored") == 0);

  installer::ScriptPolicyInputs rc_only;
  rc_only.npmrc = "sharp, esbuild";
  auto q = installer::resolve_script_policy(rc_only, warnings);
  REQUIRE(q);
  CHECK(q->entries == std::vector<std::pair<std::string, bool>>{{"sharp", true}, {"esbuild", true}});

  installer::ScriptPolicyInputs cli;
  cli.command_line = "esbuild";
  auto r = installer::resolve_script_policy(cli, warnings);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == "EALLOWSCRIPTS");
}

TEST_CASE("allowScripts: ranges and dist-tags are refused with npm's warnings", "[installer][scripts]") {
  std::vector<std::string> warnings;
  auto p = policy_of(R"({"a@^1.0.0": true, "b@latest": true, "c@1.0.0 || 2.0.0": true, "d@*": false,
                         "e@1.2.3": true})",
                     &warnings);
  std::vector<std::string> keys;
  for (const auto& [k, _] : p.entries) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"c@1.0.0 || 2.0.0", "d@*", "e@1.2.3"});
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].find("ignoring \"a@^1.0.0\"") != std::string::npos);
  CHECK(warnings[0].find("semver ranges") != std::string::npos);
  CHECK(warnings[1].find("dist-tag specs") != std::string::npos);
}

TEST_CASE("allowScripts: registry packages are named by their tarball URL", "[installer][scripts]") {
  SmallTree s;
  auto* esbuild = s.add("esbuild", "esbuild", "0.24.0", "^0.24.0", "https://registry.example/esbuild/-/esbuild-0.24.0.tgz");
  auto* scoped = s.add("@swc/core", "@swc/core", "1.7.0", "1.7.0", "https://registry.example/@swc/core/-/core-1.7.0.tgz");
  // A tarball that claims another name is still named by where it came from.
  auto* liar = s.add("left-pad", "esbuild", "0.24.0", "^1.0.0", "https://registry.example/left-pad/-/left-pad-1.3.0.tgz");
  auto* local = s.add("local", "local", "1.0.0", "file:local.tgz", "file:local.tgz");

  auto policy = policy_of(R"({"esbuild": true, "@swc/core@1.6.0 || 1.7.0": true, "left-pad@1.3.0": false,
                              "file:local.tgz": false})");
  CHECK(installer::script_verdict(*esbuild, policy) == ScriptVerdict::kAllowed);
  CHECK(installer::script_verdict(*scoped, policy) == ScriptVerdict::kAllowed);
  CHECK(installer::script_verdict(*liar, policy) == ScriptVerdict::kDenied);
  CHECK(installer::script_verdict(*local, policy) == ScriptVerdict::kDenied);

  // Deny wins over allow; a version that is not listed is unreviewed.
  auto both = policy_of(R"({"esbuild": true, "esbuild@0.24.0": false, "@swc/core@1.6.0": true})");
  CHECK(installer::script_verdict(*esbuild, both) == ScriptVerdict::kDenied);
  CHECK(installer::script_verdict(*scoped, both) == ScriptVerdict::kUnreviewed);
  // A registry key never names a file package of the same name.
  CHECK(installer::script_verdict(*local, policy_of(R"({"local": false})")) == ScriptVerdict::kUnreviewed);
}

TEST_CASE("allowScripts: without a resolved URL, a deny of a version still denies", "[installer][scripts]") {
  SmallTree s;
  auto* aliased = s.add("trusted", "naughty", "1.0.0", "npm:naughty@1.0.0", "");
  CHECK(installer::script_verdict(*aliased, policy_of(R"({"trusted": true})")) == ScriptVerdict::kUnreviewed);
  CHECK(installer::script_verdict(*aliased, policy_of(R"({"naughty": true})")) == ScriptVerdict::kAllowed);
  // The version is not known for sure: an allow of one is refused, a deny holds.
  CHECK(installer::script_verdict(*aliased, policy_of(R"({"naughty@1.0.0": true})")) == ScriptVerdict::kUnreviewed);
  CHECK(installer::script_verdict(*aliased, policy_of(R"({"naughty@1.0.0": false})")) == ScriptVerdict::kDenied);
}

TEST_CASE("allowScripts: the unreviewed list and its warning", "[installer][scripts]") {
  SmallTree s;
  s.add("b", "b", "1.0.0", "^1.0.0", "https://registry.example/b/-/b-1.0.0.tgz");
  s.add("a", "a", "2.0.0", "^2.0.0", "https://registry.example/a/-/a-2.0.0.tgz");
  auto list = installer::unreviewed_scripts(s.t, policy_of(R"({"b": false})"), "/nonexistent", {});
  REQUIRE(list.size() == 1);
  CHECK(list[0].name == "a");
  CHECK(list[0].location == "node_modules/a");
  CHECK(installer::unreviewed_scripts_warning(list).find(
            "1 package has install scripts not yet covered by allowScripts:\n  a@2.0.0 (postinstall: node x.js)\n") == 0);
  CHECK(installer::strict_allow_scripts_error(list).code == "ESTRICTALLOWSCRIPTS");
  CHECK(installer::unreviewed_scripts(s.t, {}, "/nonexistent", {}).size() == 2);
}

TEST_CASE("npm's default node-gyp install: a binding.gyp, no install script, no gypfile: false",
          "[installer][scripts]") {
  auto dir = util::TempDir::create();
  REQUIRE(dir.ok());
  const auto root = dir->path();
  const std::vector<std::pair<std::string, std::string>> none;
  CHECK_FALSE(installer::needs_default_gyp_install(none, root));  // no binding.gyp
  REQUIRE(util::write_file_atomic(root / "binding.gyp", "{}").ok());
  CHECK(installer::needs_default_gyp_install(none, root));
  CHECK(installer::needs_default_gyp_install({{"postinstall", "x"}}, root));
  CHECK_FALSE(installer::needs_default_gyp_install({{"install", "node-pre-gyp install"}}, root));
  CHECK_FALSE(installer::needs_default_gyp_install({{"preinstall", "x"}}, root));
  REQUIRE(util::write_file_atomic(root / "package.json", R"({"name":"x","gypfile":false})").ok());
  CHECK_FALSE(installer::needs_default_gyp_install(none, root));
  const auto opted_in = manifest::Json::parse(R"({"name":"x","gypfile":true})");
  CHECK(installer::needs_default_gyp_install(none, root, &opted_in));
}
