#include "lockfile/actual_tree.h"

#include <set>
#include <system_error>

#include "lockfile/lock_json.h"
#include "manifest/manifest.h"
#include "util/fs.h"

namespace lade::lockfile {

namespace fs = std::filesystem;

namespace {

/// Keys of a lockfile entry that say where a package sits in the tree, not what it is: a
/// package.json that has them (by accident) must not pass them on.
bool is_tree_key(const std::string& key) {
  static const std::set<std::string> kKeys = {"link",     "dev",        "optional", "devOptional", "peer",
                                              "inBundle", "extraneous", "resolved", "integrity"};
  return kKeys.count(key) > 0 || (!key.empty() && key[0] == '_');
}

class FolderScan {
 public:
  explicit FolderScan(const fs::path& project) : project_(project) {
    std::error_code ec;
    real_project_ = fs::weakly_canonical(project, ec);
    if (ec) real_project_ = project;
  }

  /// Every package in the node_modules folder at `nm` (relative to the project).
  void scan(const std::string& nm) {
    std::error_code ec;
    for (auto it = fs::directory_iterator(project_ / nm, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.') continue;  // .bin, the hidden lockfile, tools' own files
      if (name[0] != '@') {
        add(nm + "/" + name);
        continue;
      }
      std::error_code scope_ec;
      for (auto s = fs::directory_iterator(it->path(), scope_ec); !scope_ec && s != fs::directory_iterator();
           s.increment(scope_ec)) {
        const std::string sub = s->path().filename().string();
        if (!sub.empty() && sub[0] != '.') add(nm + "/" + name + "/" + sub);
      }
    }
  }

  /// A folder outside node_modules that the project links to (a workspace), with what its own
  /// node_modules holds.
  void add_linked_folder(const std::string& loc) {
    if (seen_targets_.insert(loc).second) add_folder(loc, project_ / loc);
  }

  Json take() { return std::move(packages_); }

 private:
  void add(const std::string& loc) {
    const fs::path path = project_ / loc;
    std::error_code ec;
    const fs::file_status status = fs::symlink_status(path, ec);
    if (ec) return;
    if (fs::is_symlink(status)) {
      fs::path target = fs::weakly_canonical(path, ec);
      if (ec || !fs::is_directory(target, ec)) return;
      const std::string target_loc = target.lexically_relative(real_project_).generic_string();
      if (target_loc.empty()) return;
      packages_[loc] = Json{{"resolved", target_loc}, {"link", true}};
      if (seen_targets_.insert(target_loc).second) add_folder(target_loc, target);
      return;
    }
    if (fs::is_directory(status)) add_folder(loc, path);
  }

  void add_folder(const std::string& loc, const fs::path& dir) {
    auto text = util::read_file(dir / "package.json");
    if (!text) return;
    auto doc = manifest::parse_json(*text, (dir / "package.json").string());
    if (!doc || !doc->is_object()) return;
    Json entry = Json::object();
    for (auto& [key, value] : doc->items()) {
      if (!is_tree_key(key)) entry[key] = std::move(value);
    }
    if (auto r = doc->find("_resolved"); r != doc->end() && r->is_string() && !r->get_ref<const std::string&>().empty()) {
      entry["resolved"] = *r;
    }
    if (auto i = doc->find("_integrity"); i != doc->end() && i->is_string() && !i->get_ref<const std::string&>().empty()) {
      entry["integrity"] = *i;
    }
    packages_[loc] = std::move(entry);
    scan(loc + "/node_modules");
  }

  const fs::path& project_;
  fs::path real_project_;
  Json packages_ = Json::object();
  std::set<std::string> seen_targets_;
};

}  // namespace

std::optional<std::string> hidden_lockfile_from_disk(const fs::path& project,
                                                     const std::vector<std::string>& workspace_folders) {
  FolderScan scan(project);
  scan.scan("node_modules");
  for (const std::string& folder : workspace_folders) scan.add_linked_folder(folder);
  Json packages = scan.take();
  bool any_package = false;
  for (const auto& [loc, entry] : packages.items()) {
    if (loc.find("node_modules/") != std::string::npos) any_package = true;
  }
  if (!any_package) return std::nullopt;
  Json doc = Json::object();
  doc["lockfileVersion"] = 3;
  doc["requires"] = true;
  doc["packages"] = std::move(packages);
  return doc.dump();
}

}  // namespace lade::lockfile
