#include "installer/undo_log.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <map>

#include "util/fs.h"

namespace lade::installer {
namespace {

void put(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

/// Every entry under `root`: a file's text, a link's target, "dir" for a folder.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string rel = it->path().lexically_relative(root).string();
    if (it->is_symlink()) {
      out[rel] = "-> " + fs::read_symlink(it->path()).string();
    } else if (it->is_directory()) {
      out[rel] = "dir";
    } else {
      out[rel] = util::read_file(it->path()).value();
    }
  }
  return out;
}

/// A project with an installed tree: a (with a nested b), c, a link d, and .bin links.
fs::path old_tree(const util::TempDir& dir) {
  const fs::path p = dir.path();
  put(p / "node_modules/a/index.js", "a1");
  put(p / "node_modules/a/node_modules/b/index.js", "b1");
  put(p / "node_modules/c/index.js", "c1");
  put(p / "packages/w/index.js", "w");
  fs::create_directory_symlink("../packages/w", p / "node_modules/d");
  fs::create_directories(p / "node_modules/.bin");
  fs::create_symlink("../a/index.js", p / "node_modules/.bin/a");
  fs::create_symlink("../c/index.js", p / "node_modules/.bin/c");
  put(p / "node_modules/.package-lock.json", "{}");
  return p;
}

/// The changes an install makes: c goes, a is replaced (b stays), d becomes a package, e is
/// new, bins change.
void change(UndoLog& undo, const fs::path& p) {
  undo.remove("node_modules/.package-lock.json");
  undo.will_change_link(p / "node_modules/.bin/c");
  fs::remove(p / "node_modules/.bin/c");
  undo.remove("node_modules/c");
  undo.make_room_for_package("node_modules/a");
  undo.make_room_for_package("node_modules/d");
  undo.make_room_for_package("node_modules/e");
  put(p / "node_modules/a/index.js", "a2");
  put(p / "node_modules/d/index.js", "d2");
  put(p / "node_modules/e/index.js", "e2");
  undo.will_change_link(p / "node_modules/.bin/a");
  fs::remove(p / "node_modules/.bin/a");
  fs::create_symlink("../e/index.js", p / "node_modules/.bin/a");
  undo.will_change_link(p / "node_modules/.bin/e");
  fs::create_symlink("../e/index.js", p / "node_modules/.bin/e");
}

TEST_CASE("UndoLog: undo puts the old tree back exactly", "[installer][undo]") {
  util::TempDir dir = util::TempDir::create({}, "lade-undo-test-").value();
  const fs::path p = old_tree(dir);
  const auto before = snapshot(p);
  UndoLog undo(p, true);
  change(undo, p);
  CHECK(snapshot(p) != before);
  undo.undo();
  CHECK(snapshot(p) == before);
}

TEST_CASE("UndoLog: commit keeps the new tree and deletes what was moved aside", "[installer][undo]") {
  util::TempDir dir = util::TempDir::create({}, "lade-undo-test-").value();
  const fs::path p = old_tree(dir);
  UndoLog undo(p, true);
  change(undo, p);
  undo.commit();
  const auto after = snapshot(p);
  CHECK(after.count("node_modules/c") == 0);
  CHECK(after.count("node_modules/.package-lock.json") == 0);
  CHECK(after.at("node_modules/a/index.js") == "a2");
  CHECK(after.at("node_modules/a/node_modules/b/index.js") == "b1");
  CHECK(after.at("node_modules/d/index.js") == "d2");
  CHECK(after.at("packages/w/index.js") == "w");  // a link's target is never touched
  for (const auto& [rel, _] : after) CHECK(rel.find(".lade-undo") == std::string::npos);
}

TEST_CASE("UndoLog: without keeping, changes are final and leave nothing aside", "[installer][undo]") {
  util::TempDir dir = util::TempDir::create({}, "lade-undo-test-").value();
  const fs::path p = old_tree(dir);
  UndoLog undo(p, false);
  change(undo, p);
  const auto after = snapshot(p);
  undo.undo();
  CHECK(snapshot(p) == after);
  for (const auto& [rel, _] : after) CHECK(rel.find(".lade-undo") == std::string::npos);
}

}  // namespace
}  // namespace lade::installer
