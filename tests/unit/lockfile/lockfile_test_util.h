#pragma once
// Shared helpers of the lockfile tests: reading the committed fixtures (lockfiles npm 11 wrote,
// with their registry URLs rewritten to a loopback address) and loading them into a tree.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "lockfile/reader.h"
#include "lockfile/writer.h"
#include "manifest/manifest.h"
#include "tree/tree.h"
#include "util/fs.h"

namespace lade::lockfile::testing {

inline std::filesystem::path data_dir() {
  return std::filesystem::path(LADE_SOURCE_DIR) / "tests/unit/lockfile/data";
}

inline std::string read_text(const std::filesystem::path& path) {
  auto text = util::read_file(path);
  if (!text.ok()) throw std::runtime_error("cannot read " + path.string());
  return std::move(text).value();
}

inline Json parse(const std::string& text) { return Json::parse(text); }

/// Dependency validity does not matter to reading or writing lockfiles.
inline std::unique_ptr<tree::Tree> make_tree() {
  return std::make_unique<tree::Tree>(
      [](const tree::Node&, const std::string&, const tree::Node&) { return true; });
}

/// A project of the fixtures: its package.json and a lockfile read into a tree.
struct Project {
  std::filesystem::path dir;
  std::string package_json_text;
  std::unique_ptr<tree::Tree> tree = make_tree();
  LoadedLock lock;
};

struct LoadOptions {
  bool hidden = false;
  /// Re-read workspace / link target package.json files from the fixture, as npm does.
  bool read_link_targets = true;
};

/// Loads `<case>/<lock_file>` with `<case>/package.json` as the root.
inline util::Result<std::unique_ptr<Project>> load_project(const std::string& case_name,
                                                           const std::string& lock_file,
                                                           LoadOptions load = {}) {
  auto project = std::make_unique<Project>();
  project->dir = data_dir() / case_name;
  project->package_json_text = read_text(project->dir / "package.json");
  Json package_json = parse(project->package_json_text);
  manifest::Manifest root = manifest::manifest_from_json(package_json);
  ReadOptions options;
  options.hidden = load.hidden;
  options.root_extras = entry_extras_from_json(package_json);
  if (load.read_link_targets) {
    std::filesystem::path dir = project->dir;
    options.read_link_target = [dir](std::string_view location) -> std::optional<Json> {
      auto text = util::read_file(dir / std::string(location) / "package.json");
      if (!text.ok()) return std::nullopt;
      return Json::parse(*text);
    };
  }
  std::string text = read_text(project->dir / lock_file);
  auto loaded = read_lockfile(text, lock_file, *project->tree, root, options);
  if (!loaded.ok()) return loaded.take_error();
  project->lock = std::move(loaded).value();
  return project;
}

inline WriteOptions write_options_for(const Project& project, bool omit = false,
                                      bool hidden = false, std::string folder_name = "project") {
  WriteOptions options;
  options.format = detect_json_format(project.package_json_text);
  options.omit_registry_resolved = omit;
  options.hidden = hidden;
  options.project_folder_name = std::move(folder_name);
  options.extras = &project.lock.extras;
  return options;
}

/// The first line where two texts differ, for readable failures.
inline std::string first_difference(const std::string& a, const std::string& b) {
  size_t line = 1, start = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] != b[i]) {
      size_t end_a = a.find('\n', i), end_b = b.find('\n', i);
      return "line " + std::to_string(line) + ":\n  got:      " + a.substr(start, end_a - start) +
             "\n  expected: " + b.substr(start, end_b - start);
    }
    if (a[i] == '\n') {
      ++line;
      start = i + 1;
    }
  }
  if (a.size() != b.size())
    return "lengths differ: " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
  return "identical";
}

}  // namespace lade::lockfile::testing
