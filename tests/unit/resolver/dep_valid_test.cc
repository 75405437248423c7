// dep_valid: does an installed node satisfy a dependency spec, as arborist's dep-valid.js
// answers with npm-package-arg's reading of the spec.
#include <catch2/catch.hpp>
#include <memory>

#include "resolver/ideal_tree.h"

using namespace lade;

namespace {

struct TwoNodes {
  tree::Tree t{resolver::make_dep_valid("/project")};
  tree::Node* root;
  tree::Node* child;
  explicit TwoNodes(const std::string& version) {
    manifest::Manifest r;
    r.name = "app";
    r.version = "1.0.0";
    root = t.create_root(r);
    manifest::Manifest m;
    m.name = "semver";
    m.version = version;
    child = t.create_node("semver", m);
    child->resolved = "https://registry.example/semver/-/semver-" + version + ".tgz";
    t.attach(child, root);
  }
  bool valid(const std::string& spec) const { return resolver::dep_valid(*child, spec, *root); }
};

}  // namespace

TEST_CASE("dep_valid trims specs as JavaScript does; white space alone is not \"*\"", "[resolver][depvalid]") {
  TwoNodes pre("2.0.0-alpha");
  CHECK(pre.valid("*"));
  CHECK(pre.valid(""));
  CHECK(pre.valid(" *"));
  CHECK(pre.valid("\u00a0*"));  // no-break space
  CHECK(pre.valid("\ufeff*"));  // byte order mark
  CHECK(pre.valid("\v*\f"));
  // The range "" leaves prereleases out, where "*" and "" take anything.
  CHECK_FALSE(pre.valid(" "));
  CHECK_FALSE(pre.valid("\t"));
  TwoNodes release("1.2.3");
  CHECK(release.valid(" "));
  CHECK(release.valid("\u00a0^1.0.0"));
  CHECK_FALSE(release.valid("^2"));
}

TEST_CASE("met_only_with_tarball_url: dist-tags, and aliases to them", "[resolver][depvalid]") {
  CHECK(resolver::met_only_with_tarball_url("a", "latest"));
  CHECK(resolver::met_only_with_tarball_url("a", " next "));
  CHECK(resolver::met_only_with_tarball_url("a", "npm:b@beta"));
  CHECK_FALSE(resolver::met_only_with_tarball_url("a", ""));
  CHECK_FALSE(resolver::met_only_with_tarball_url("a", "*"));
  CHECK_FALSE(resolver::met_only_with_tarball_url("a", "^1.2.0"));
  CHECK_FALSE(resolver::met_only_with_tarball_url("a", "1.2.3"));
  CHECK_FALSE(resolver::met_only_with_tarball_url("a", "npm:b@^2"));
  CHECK_FALSE(resolver::met_only_with_tarball_url("a", "file:../a"));
  CHECK_FALSE(resolver::met_only_with_tarball_url("a", "github:user/a#main"));
}
