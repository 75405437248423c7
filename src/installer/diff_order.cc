#include "installer/diff_order.h"

#include <algorithm>
#include <limits>
#include <string>
#include <tuple>
#include <unordered_map>

#include "util/collate.h"

namespace lade::installer {
namespace {

using tree::Node;

enum class Action { kNone, kAdd, kChange, kRemove };

/// One folder of the actual or the ideal tree, under some node_modules.
struct Folder {
  Action action = Action::kNone;
  bool in_actual = false;  // it was installed before (kAdd: it was not)
  bool is_link = false;
  size_t group = 0;  // 0: the root's own node_modules; i: the (i-1)th workspace folder's
  bool from_lockfile = false;  // in the ideal tree: read from the lockfile, not placed
  size_t created = std::numeric_limits<size_t>::max();
  std::vector<std::string> kids;
  ReportedPackage* entry = nullptr;
};

/// Splits "node_modules/a/node_modules/@s/b" into the folder holding that node_modules
/// ("node_modules/a"); "" for the project root and also for a workspace folder, whose
/// packages npm lists as the root's.
std::string holder_of(const std::string& loc, std::string* outside_folder) {
  size_t at = loc.rfind("node_modules/");
  std::string holder = at == std::string::npos || at == 0 ? std::string() : loc.substr(0, at - 1);
  if (!holder.empty() && !in_node_modules(holder)) {
    *outside_folder = holder;
    return {};
  }
  return holder;
}

struct DiffWalk {
  std::unordered_map<std::string, Folder> folders;
  std::unordered_map<std::string, size_t> workspace_group;
  size_t next_rank = 0;

  Folder& folder(const std::string& loc) {
    auto [it, fresh] = folders.try_emplace(loc);
    if (fresh && !loc.empty()) {
      std::string outside;
      std::string holder = holder_of(loc, &outside);
      if (!outside.empty()) {
        auto g = workspace_group.find(outside);
        it->second.group = g == workspace_group.end() ? workspace_group.size() + 1 : g->second;
      }
      folder(holder).kids.push_back(loc);
    }
    return folders[loc];
  }

  /// Arborist's getChildren: the folders below `loc` in the order its Diff lists them, with
  /// folders that stay as they are replaced by what is listed below them.
  void listed_below(const std::string& loc, std::vector<std::string>& out) {
    std::vector<std::string> before, after;
    for (const std::string& kid : folders[loc].kids) (folders[kid].in_actual ? before : after).push_back(kid);
    // A tree read from a lockfile has its folders in the lockfile's order, links after the
    // rest; resolution appends what it places (a package it replaces goes to the end too).
    auto lockfile_order = [&](const std::string& a, const std::string& b) {
      const Folder &fa = folders[a], &fb = folders[b];
      if (fa.group != fb.group) return fa.group < fb.group;
      if (fa.is_link != fb.is_link) return fb.is_link;
      return util::locale_less(a, b);
    };
    std::sort(before.begin(), before.end(), lockfile_order);
    std::sort(after.begin(), after.end(), [&](const std::string& a, const std::string& b) {
      const Folder &fa = folders[a], &fb = folders[b];
      if (fa.group != fb.group) return fa.group < fb.group;
      if (fa.from_lockfile != fb.from_lockfile) return fa.from_lockfile;
      return fa.from_lockfile ? lockfile_order(a, b) : fa.created < fb.created;
    });
    before.insert(before.end(), after.begin(), after.end());
    for (const std::string& kid : before) {
      if (folders[kid].action != Action::kNone) {
        out.push_back(kid);
      } else {
        listed_below(kid, out);
      }
    }
  }

  /// treeverse's depth(): a stack, so the last of a folder's entries comes first, and each
  /// entry is followed by everything listed below it.
  void rank_from(const std::string& loc) {
    std::vector<std::string> listed;
    listed_below(loc, listed);
    for (auto it = listed.rbegin(); it != listed.rend(); ++it) {
      Folder& f = folders[*it];
      if (f.entry) f.entry->diff_rank = next_rank++;
      rank_from(*it);
    }
  }
};

}  // namespace

void order_as_npm_diff(const tree::Tree& ideal, std::vector<ReportedPackage>& added,
                       std::vector<ReportedPackage>& changed, std::vector<ReportedPackage>& removed) {
  DiffWalk walk;
  walk.folders.try_emplace("");
  if (const Node* root = ideal.root()) {
    for (const Node* f : root->fs_children()) walk.workspace_group.emplace(f->location(), walk.workspace_group.size() + 1);
  }
  for (const Node* n : ideal.inventory()) {
    if (n->is_project_root) continue;
    const std::string loc = n->location();
    if (!in_node_modules(loc)) continue;
    Folder& f = walk.folder(loc);
    f.is_link = n->is_link;
    f.created = n->created_order();
    f.from_lockfile = n->from_lockfile;
    f.in_actual = true;  // until it turns out to be added
  }
  auto mark = [&](std::vector<ReportedPackage>& list, Action action) {
    for (ReportedPackage& p : list) {
      Folder& f = walk.folder(p.location);
      f.action = action;
      f.entry = &p;
      f.is_link = f.is_link || p.is_link;
      f.in_actual = action != Action::kAdd;
      p.diff_rank = std::numeric_limits<size_t>::max();
    }
  };
  mark(added, Action::kAdd);
  mark(changed, Action::kChange);
  mark(removed, Action::kRemove);
  walk.rank_from("");

  // Whatever the walk did not reach (it should reach everything) goes last, by location.
  for (auto* list : {&added, &changed, &removed}) {
    std::stable_sort(list->begin(), list->end(), [](const ReportedPackage& a, const ReportedPackage& b) {
      return std::tie(a.diff_rank, a.location) < std::tie(b.diff_rank, b.location);
    });
  }
  size_t last = walk.next_rank;
  for (auto* list : {&added, &changed, &removed}) {
    for (ReportedPackage& p : *list) {
      if (p.diff_rank == std::numeric_limits<size_t>::max()) p.diff_rank = last++;
    }
  }
}

}  // namespace lade::installer
