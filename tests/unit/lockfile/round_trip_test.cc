// Lockfiles written by npm 11 (with `npm install --package-lock-only` and real installs),
// read into a tree and written back: the bytes must be npm's.
#include <catch2/catch.hpp>

#include "lockfile_test_util.h"

using namespace lade;
using namespace lade::lockfile;
using namespace lade::lockfile::testing;

namespace {

std::string round_trip(const std::string& case_name, const std::string& lock_file, bool omit,
                       bool hidden = false, const std::string& folder = "project") {
  auto project = load_project(case_name, lock_file, {hidden, true});
  if (!project.ok()) FAIL(project.error().code << ": " << project.error().message);
  return write_lockfile(*(*project)->tree, write_options_for(**project, omit, hidden, folder));
}

void check_same(const std::string& got, const std::string& expected) {
  INFO(first_difference(got, expected));
  CHECK(got == expected);
}

}  // namespace

TEST_CASE("lockfile: v3 round trips byte for byte", "[lockfile]") {
  // basic: scoped, uppercase, underscore names, an alias, dev/optional/peer, bin, engines as
  // an array, hasInstallScript, os/cpu, funding, peerDependenciesMeta.
  // workspaces: links, a scoped workspace in a folder of another name, nested node_modules in
  // a workspace, a file: directory link, a file: tarball with a bundled dependency, devOptional.
  // tabs: tab indentation, libc, a remote tarball URL dependency, empty devDependencies.
  for (std::string c : {"basic", "workspaces", "tabs"}) {
    SECTION(c) {
      std::string expected = read_text(data_dir() / c / "package-lock.json");
      check_same(round_trip(c, "package-lock.json", false), expected);
    }
  }
}

TEST_CASE("lockfile: omit-lockfile-registry-resolved drops registry resolved only", "[lockfile]") {
  for (std::string c : {"basic", "workspaces", "tabs"}) {
    SECTION(c) {
      std::string expected = read_text(data_dir() / c / "package-lock.omit.json");
      // From a lockfile with every resolved URL...
      check_same(round_trip(c, "package-lock.json", true), expected);
      // ...and from one npm wrote with the option.
      check_same(round_trip(c, "package-lock.omit.json", true), expected);
      check_same(round_trip(c, "package-lock.omit.json", false), expected);
    }
  }
}

TEST_CASE("lockfile: a project without a name takes the folder's", "[lockfile]") {
  std::string expected = read_text(data_dir() / "noname/package-lock.json");
  check_same(round_trip("noname", "package-lock.json", true, false, "noname-proj"), expected);
}

TEST_CASE("lockfile: v2 lockfiles are written as npm writes them as v3", "[lockfile]") {
  for (std::string c : {"basic", "workspaces"}) {
    SECTION(c) {
      auto project = load_project(c, "package-lock.v2.json");
      REQUIRE(project.ok());
      CHECK((*project)->lock.lockfile_version == 2);
      CHECK_FALSE((*project)->lock.needs_inflate);
      std::string got = write_lockfile(*(*project)->tree, write_options_for(**project));
      check_same(got, read_text(data_dir() / c / "package-lock.json"));
    }
  }
}

TEST_CASE("lockfile: v2 lockfiles can be kept as v2, as npm keeps them", "[lockfile]") {
  // npm writes a project's v2 lockfile back as v2 (packages plus the legacy nested
  // "dependencies") unless told to convert it.
  for (std::string c : {"basic", "workspaces"}) {
    SECTION(c) {
      auto project = load_project(c, "package-lock.v2.json");
      REQUIRE(project.ok());
      WriteOptions options = write_options_for(**project);
      options.lockfile_version = 2;
      check_same(write_lockfile(*(*project)->tree, options),
                 read_text(data_dir() / c / "package-lock.v2.json"));
    }
  }
}

TEST_CASE("lockfile: hidden lockfiles round trip", "[lockfile]") {
  // Real installs: the hidden lockfile lists what is on disk (no root entry, no skipped
  // platform packages); its dep flags are recomputed from the tree on load.
  for (std::string c : {"basic", "workspaces", "tabs"}) {
    SECTION(c) {
      std::string expected = read_text(data_dir() / c / "hidden.json");
      check_same(round_trip(c, "hidden.json", false, true), expected);
    }
  }
}

TEST_CASE("lockfile: hidden lockfile from the full tree leaves out what is not on disk",
          "[lockfile]") {
  auto project = load_project("basic", "package-lock.json");
  REQUIRE(project.ok());
  WriteOptions options = write_options_for(**project, false, true);
  // The installer excludes the optional packages it skipped for this platform.
  options.exclude = [](const tree::Node& n) {
    return n.name.starts_with("@esbuild/") && n.name != "@esbuild/linux-x64";
  };
  check_same(write_lockfile(*(*project)->tree, options),
             read_text(data_dir() / "basic/hidden.json"));
}

TEST_CASE("lockfile: fields npm copies, drops and derives", "[lockfile]") {
  // Hand-written input; the expected files are what npm 11's arborist writes after loading it:
  // license objects reduced to their type, the root's bundleDependencies marking inBundle
  // (also for what a bundled package depends on), empty objects/arrays dropped, unknown
  // entry fields and devDependencies of non-top packages dropped, unknown top-level keys
  // kept, the object form of "workspaces" kept, git resolved kept under omit.
  std::string expected = read_text(data_dir() / "extras/package-lock.json");
  check_same(round_trip("extras", "package-lock.input.json", false), expected);
  check_same(round_trip("extras", "package-lock.json", false), expected);
  check_same(round_trip("extras", "package-lock.input.json", true),
             read_text(data_dir() / "extras/package-lock.omit.json"));
}

TEST_CASE("lockfile: v1 lockfiles convert as npm converts them", "[lockfile]") {
  for (std::string c : {"basic", "workspaces"}) {
    SECTION(c) {
      auto loaded = load_project(c, "package-lock.v1.json");
      REQUIRE(loaded.ok());
      Project& project = **loaded;
      CHECK(project.lock.lockfile_version == 1);
      CHECK(project.lock.needs_inflate);
      CHECK_FALSE(project.lock.ancient);

      // npm's "old lockfile" step refetches the manifest of every node under node_modules by
      // its folder name and version (so aliases fail and keep their v1 data), then recomputes
      // the dep flags. Stand in for the registry with the entries npm wrote after doing so.
      Json converted = parse(read_text(data_dir() / c / "v1-to-v3.json"));
      const Json& packages = converted["packages"];
      for (auto& [loc, node] : project.lock.nodes) {
        if (!loc.starts_with("node_modules") || node->is_link) continue;
        if (!node->package.name.empty() && node->package.name != node->name) continue;
        REQUIRE(packages.contains(loc));
        manifest::Manifest fetched = manifest_from_entry(packages[loc]);
        fetched.name = node->name;
        node->package = fetched;
        if (node->integrity.empty() && packages[loc].contains("integrity")) {
          node->integrity = packages[loc]["integrity"];
        }
        project.tree->load_edges(node, false);
      }
      for (tree::Node* n : project.tree->inventory()) {
        if (!n->is_project_root) n->flags = tree::DepFlags{};
      }
      tree::calc_dep_flags(*project.tree);

      std::string got = write_lockfile(*project.tree, write_options_for(project));
      check_same(got, read_text(data_dir() / c / "v1-to-v3.json"));
    }
  }
}

TEST_CASE("lockfile: formatting follows package.json", "[lockfile]") {
  // crlf: package.json with "\r\n" and three-space indentation; oneline: package.json on one
  // line (no indentation to copy: two spaces and "\n").
  for (std::string c : {"crlf", "oneline"}) {
    SECTION(c) {
      check_same(round_trip(c, "package-lock.json", true),
                 read_text(data_dir() / c / "package-lock.json"));
    }
  }
}
