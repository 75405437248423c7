// Linking during resolution (EarlyLinker) and how the reifier settles what it linked: kept where
// the finished tree has the same package, replaced where it has another, removed where it has
// none; reported as added either way, and node_modules gone again when the install stops.
#include "installer/early_link.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <thread>

#include "../store/tarball_builder.h"
#include "installer/package_fetcher.h"
#include "installer/reify.h"
#include "util/fs.h"

namespace lade::installer {
namespace {

using store::testing::file;
using store::testing::make_tarball;
using store::testing::sha512_sri;

std::string tarball_of(const std::string& name, const std::string& version) {
  static std::map<std::string, std::string> made;
  auto& t = made[name + "@" + version];
  if (t.empty()) {
    t = make_tarball({file("package/package.json",
                           R"({"name":")" + name + R"(","version":")" + version + R"("})"),
                      file("package/index.js", "module.exports = '" + name + "@" + version + "';")});
  }
  return t;
}

/// Serves the tarballs above at once.
class Tarballs final : public TarballSource {
 public:
  void fetch(const TarballRef& ref, std::function<void(util::Result<std::string>)> done) override {
    done(tarball_of(ref.package_name, ref.version));
  }
};

TarballRef ref_of(const std::string& name, const std::string& version) {
  return TarballRef{"http://127.0.0.1:9/" + name + "-" + version + ".tgz", name, version};
}

struct Fixture {
  util::TempDir dir = util::TempDir::create({}, "lade-early-link-test-").value();
  fs::path project = dir.path() / "project";
  store::Store store{dir.path() / "cache"};
  Tarballs tarballs;
  util::ThreadPool pool{2};
  PackageFetcher packages{store, tarballs, pool};

  Fixture() { fs::create_directories(project); }

  /// Places name@version at `location` and waits until it is linked there.
  void place(EarlyLinker& early, const std::string& location, const std::string& name,
             const std::string& version) {
    const size_t before = early.linked();
    early.placed(location, ref_of(name, version), sha512_sri(tarball_of(name, version)), "", version,
                 ref_of(name, version).url);
    for (int i = 0; i < 500 && early.linked() == before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(early.linked() == before + 1);
  }
};

bool any_version(const tree::Node&, const std::string&, const tree::Node&) { return true; }

tree::Node* add_node(tree::Tree& t, tree::Node* parent, const std::string& name,
                     const std::string& version) {
  manifest::Manifest m;
  m.name = name;
  m.version = version;
  tree::Node* n = t.create_node(name, m);
  n->resolved = ref_of(name, version).url;
  n->integrity = sha512_sri(tarball_of(name, version));
  t.attach(n, parent);
  return n;
}

std::string read(const fs::path& p) {
  auto text = util::read_file(p);
  return text ? *text : std::string("(missing)");
}

}  // namespace

TEST_CASE("early linking: the reifier keeps, replaces and removes what was linked early",
          "[installer][early-link]") {
  Fixture f;
  EarlyLinker early(f.packages, f.project, 1);
  f.place(early, "node_modules/kept", "kept", "1.0.0");
  f.place(early, "node_modules/swapped", "swapped", "1.0.0");
  f.place(early, "node_modules/dropped", "dropped", "1.0.0");
  // A second placement at a location already linked is not linked again.
  early.placed("node_modules/kept", ref_of("kept", "2.0.0"), sha512_sri(tarball_of("kept", "2.0.0")), "",
               "2.0.0", ref_of("kept", "2.0.0").url);
  InstalledTree installed = early.finish();
  REQUIRE(installed.size() == 3);
  CHECK(installed.at("node_modules/kept").early);
  CHECK(installed.at("node_modules/kept").version == "1.0.0");
  // A file the reifier would remove if it cleared the folder: a kept package is left alone.
  REQUIRE(util::write_file_atomic(f.project / "node_modules/kept/marker", "x").ok());

  // The finished tree: kept@1.0.0 as linked, swapped at 2.0.0 instead, dropped gone, one more.
  manifest::Manifest root_manifest;
  root_manifest.name = "project";
  tree::Tree ideal(any_version);
  tree::Node* root = ideal.create_root(root_manifest);
  add_node(ideal, root, "kept", "1.0.0");
  add_node(ideal, root, "swapped", "2.0.0");
  add_node(ideal, root, "late", "1.0.0");

  InstallOptions options;
  options.project_dir = f.project;
  options.ignore_scripts = true;
  Reifier reifier(f.packages, f.pool, options);
  auto report = reifier.reify(ideal, installed);
  REQUIRE(report.ok());
  CHECK(report->added == 3);
  CHECK(report->changed == 0);
  CHECK(report->removed == 0);
  CHECK(report->unchanged == 0);
  CHECK(read(f.project / "node_modules/kept/marker") == "x");
  CHECK(read(f.project / "node_modules/kept/index.js") == "module.exports = 'kept@1.0.0';");
  CHECK(read(f.project / "node_modules/swapped/index.js") == "module.exports = 'swapped@2.0.0';");
  CHECK(read(f.project / "node_modules/late/index.js") == "module.exports = 'late@1.0.0';");
  CHECK_FALSE(fs::exists(f.project / "node_modules/dropped"));
}

TEST_CASE("early linking: a nested package waits for its holder, and an abandoned install "
          "leaves no node_modules",
          "[installer][early-link]") {
  Fixture f;
  {
    EarlyLinker early(f.packages, f.project, 1);
    REQUIRE(fs::is_directory(f.project / "node_modules"));
    // Nested in a package that was not linked early: not linked (what replaces its holder
    // clears the holder's folder but not its node_modules).
    early.placed("node_modules/holder/node_modules/inner", ref_of("inner", "1.0.0"),
                 sha512_sri(tarball_of("inner", "1.0.0")), "", "1.0.0", ref_of("inner", "1.0.0").url);
    f.place(early, "node_modules/holder", "holder", "1.0.0");
    f.place(early, "node_modules/holder/node_modules/inside", "inside", "1.0.0");
    CHECK(early.linked() == 2);
    CHECK(fs::exists(f.project / "node_modules/holder/node_modules/inside/index.js"));
    CHECK_FALSE(fs::exists(f.project / "node_modules/holder/node_modules/inner"));
    // Never finished: the install stopped (a resolution error).
  }
  CHECK_FALSE(fs::exists(f.project / "node_modules"));
}

}  // namespace lade::installer
