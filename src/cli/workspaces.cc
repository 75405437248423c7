#include "cli/workspaces.h"

#include <algorithm>
#include <map>
#include <set>

#include "lockfile/resolution.h"
#include "lockfile/workspaces.h"
#include "util/collate.h"
#include "util/fs.h"

namespace lade::cli {

namespace fs = std::filesystem;

namespace {

struct Patterns {
  std::vector<std::string> include;
  std::vector<std::string> exclude;
};

/// map-workspaces' appendNegatedPatterns.
Patterns split_patterns(const std::vector<std::string>& globs) {
  Patterns out;
  for (std::string pattern : globs) {
    size_t bangs = 0;
    while (bangs < pattern.size() && pattern[bangs] == '!') ++bangs;
    pattern.erase(0, bangs);
    // /^\.?\/+/: an optional '.', then one or more '/'.
    size_t i = pattern.rfind("./", 0) == 0 ? 1 : 0;
    size_t j = i;
    while (j < pattern.size() && pattern[j] == '/') ++j;
    if (j > i) pattern.erase(0, j);
    while (pattern.size() > 1 && pattern.back() == '/') pattern.pop_back();
    if (bangs % 2 == 1) {
      out.exclude.push_back(pattern);
    } else {
      std::erase_if(out.exclude,
                    [&](const std::string& neg) { return lockfile::glob_match(neg, pattern); });
      out.include.push_back(pattern);
    }
  }
  for (const std::string& neg : out.exclude) {
    std::erase_if(out.include, [&](const std::string& p) { return lockfile::glob_match(neg, p); });
  }
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    out.push_back(s.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

std::vector<std::string> subfolders(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || name == "node_modules") continue;
    if (it->is_directory(ec)) out.push_back(name);
  }
  return out;
}

bool has_wildcard(const std::string& segment) {
  return segment.find_first_of("*?[") != std::string::npos;
}

/// Folders below `root` matching the segments from `index` on, `rel` being the path so far.
void expand(const fs::path& root, const std::string& rel, const std::vector<std::string>& segments,
            size_t index, std::set<std::string>& out) {
  if (index == segments.size()) {
    if (!rel.empty()) out.insert(rel);
    return;
  }
  const std::string& seg = segments[index];
  auto join = [&](const std::string& name) { return rel.empty() ? name : rel + "/" + name; };
  std::error_code ec;
  if (seg == "**") {
    expand(root, rel, segments, index + 1, out);
    for (const std::string& sub : subfolders(root / rel))
      expand(root, join(sub), segments, index, out);
    return;
  }
  if (seg.empty() || seg == ".") {
    expand(root, rel, segments, index + 1, out);
    return;
  }
  if (!has_wildcard(seg)) {
    if (seg == "node_modules") return;
    if (fs::is_directory(root / rel / seg, ec)) expand(root, join(seg), segments, index + 1, out);
    return;
  }
  for (const std::string& sub : subfolders(root / rel)) {
    if (lockfile::glob_match(seg, sub)) expand(root, join(sub), segments, index + 1, out);
  }
}

}  // namespace

util::Result<WorkspaceFolders> map_workspaces(const fs::path& project_dir,
                                              const manifest::Json& package_json) {
  WorkspaceFolders out;
  if (!package_json.is_object()) return out;
  auto ws = package_json.find("workspaces");
  if (ws == package_json.end()) return out;
  const manifest::Json* list = &*ws;
  if (list->is_object()) {
    auto pk = list->find("packages");
    if (pk != list->end() && pk->is_array()) list = &*pk;
  }
  if (!list->is_array()) {
    return util::make_error("EWORKSPACESCONFIG", "workspaces config expects an Array");
  }
  std::vector<std::string> globs;
  for (const auto& g : *list) {
    if (g.is_string()) globs.push_back(g.get<std::string>());
  }
  Patterns patterns = split_patterns(globs);
  if (patterns.include.empty()) return out;

  std::set<std::string> found;
  for (const std::string& pattern : patterns.include)
    expand(project_dir, "", split(pattern), 0, found);
  std::vector<std::string> matches;
  for (const std::string& m : found) {
    bool excluded =
        std::any_of(patterns.exclude.begin(), patterns.exclude.end(),
                    [&](const std::string& neg) { return lockfile::glob_match(neg, m); });
    if (!excluded) matches.push_back(m);
  }
  std::sort(matches.begin(), matches.end(), util::locale_less);

  // Pattern by pattern; a folder found by two patterns counts once.
  std::vector<std::string> ordered;
  for (const std::string& pattern : patterns.include) {
    for (const std::string& m : matches) {
      if (lockfile::glob_match(pattern, m) &&
          std::find(ordered.begin(), ordered.end(), m) == ordered.end()) {
        ordered.push_back(m);
      }
    }
  }

  std::vector<std::pair<std::string, std::vector<std::string>>> by_name;
  for (const std::string& folder : ordered) {
    fs::path pj = project_dir / folder / "package.json";
    auto text = util::read_file(pj);
    if (!text) continue;  // a folder without a package.json is no workspace
    manifest::Json doc = LADE_TRY(manifest::parse_json(*text, pj.string()));
    std::string name;
    if (doc.is_object()) {
      if (auto n = doc.find("name"); n != doc.end() && n->is_string()) name = n->get<std::string>();
    }
    if (name.empty()) name = lockfile::name_from_folder(folder);
    auto it = std::find_if(by_name.begin(), by_name.end(),
                           [&](const auto& e) { return e.first == name; });
    if (it == by_name.end()) {
      by_name.push_back({name, {folder}});
    } else {
      it->second.push_back(folder);
    }
  }
  std::string duplicates;
  for (const auto& [name, folders] : by_name) {
    if (folders.size() > 1) {
      duplicates += "\npackage '" + name + "' has conflicts in the following paths:";
      for (const auto& f : folders) duplicates += "\n    " + (project_dir / f).string();
      continue;
    }
    out.emplace_back(name, folders.front());
  }
  if (!duplicates.empty()) {
    return util::make_error("EDUPLICATEWORKSPACE",
                            "must not have multiple workspaces with the same name" + duplicates);
  }
  return out;
}

util::Result<WorkspaceFolders> select_workspaces(const WorkspaceFolders& all,
                                                 const std::vector<std::string>& args,
                                                 const fs::path& project_dir, const fs::path& cwd) {
  WorkspaceFolders out;
  for (const std::string& arg : args) {
    fs::path wanted = (cwd / arg).lexically_normal();
    std::string rel_arg =
        wanted.lexically_relative(project_dir.lexically_normal()).generic_string();
    while (!rel_arg.empty() && rel_arg.back() == '/') rel_arg.pop_back();
    for (const auto& [name, folder] : all) {
      // A name, the folder itself, or a folder directly inside it (npm matches `<arg>/*`, so a
      // workspace nested deeper is not selected by its grandparent).
      const bool child = !rel_arg.empty() && rel_arg != "." && folder.rfind(rel_arg + "/", 0) == 0 &&
                         folder.find('/', rel_arg.size() + 1) == std::string::npos;
      bool hit = arg == name || rel_arg == folder || child;
      bool known =
          std::any_of(out.begin(), out.end(), [&](const auto& w) { return w.first == name; });
      if (hit && !known) out.emplace_back(name, folder);
    }
  }
  if (out.empty()) {
    std::string msg = "No workspaces found:\n ";
    for (const auto& a : args) msg += " --workspace=" + a;
    return util::make_error("ENOWORKSPACES", msg);
  }
  return out;
}

}  // namespace lade::cli
