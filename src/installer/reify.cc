#include "installer/reify.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "installer/package_fetcher.h"
#include "installer/scripts.h"
#include "installer/undo_log.h"
#include "util/interrupt.h"
#include "semver/functions.h"
#include "lockfile/package_entry.h"
#include "store/linker.h"
#include "util/collate.h"
#include "util/fs.h"

namespace lade::installer {

using tree::Node;

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

/// npm-install-checks: a list matches when the value is listed, or when only negations ("!x")
/// are listed and none of them is the value.
bool list_allows(const manifest::Json& list, const std::string& value) {
  if (list.is_string()) {
    manifest::Json arr = manifest::Json::array();
    arr.push_back(list);
    return list_allows(arr, value);
  }
  if (!list.is_array() || list.empty()) return true;
  bool has_positive = false, matched_positive = false;
  for (const auto& item : list) {
    if (!item.is_string()) continue;
    std::string s = item.get<std::string>();
    if (!s.empty() && s[0] == '!') {
      if (s.substr(1) == value) return false;
    } else {
      has_positive = true;
      if (s == value || s == "any") matched_positive = true;
    }
  }
  return !has_positive || matched_positive;
}

std::string unscoped(const std::string& name) {
  auto slash = name.find('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

/// bin-links' fixBin: a bin whose "#!" line ends in \r\n (packed on Windows) gets \n there,
/// else the kernel looks for an interpreter called "node\r". Written as a new file, so the
/// store's copy, hard-linked into node_modules, stays as it was packed.
void fix_windows_hashbang(const fs::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  char head[2048];
  const ssize_t n = ::pread(fd, head, sizeof head, 0);
  ::close(fd);
  if (n < 4 || head[0] != '#' || head[1] != '!') return;
  const std::string_view first(head, static_cast<size_t>(n));
  const size_t newline = first.find('\n');
  // npm's /^#![^\n]+\r\n/: something between "#!" and the "\r".
  if (newline == std::string_view::npos || newline < 4 || first[newline - 1] != '\r') return;
  auto content = util::read_file(file);
  if (!content || content->size() <= newline || (*content)[newline - 1] != '\r') return;
  content->erase(newline - 1, 1);
  std::error_code ec;
  const fs::perms mode = fs::status(file, ec).permissions();
  if (ec || !util::write_file_atomic(file, *content)) return;
  fs::permissions(file, mode, ec);
}

}  // namespace

TarballRef tarball_ref_for(const Node& node) {
  TarballRef ref{node.resolved, node.package_name(), node.version()};
  const std::string& r = node.resolved;
  if (r.rfind("file:", 0) == 0) {
    ref.kind = TarballRef::Kind::kFile;
  } else if (r.rfind("git+", 0) == 0 || r.rfind("git:", 0) == 0) {
    ref.kind = TarballRef::Kind::kGit;
  } else if (!r.empty() && !lockfile::is_registry_dependency(node)) {
    ref.kind = TarballRef::Kind::kRemote;
  }
  return ref;
}

std::unordered_set<const Node*> workspace_dependency_set(tree::Tree& tree,
                                                       const std::vector<std::string>& names,
                                                       bool include_root) {
  std::unordered_set<const Node*> set;
  Node* root = tree.root();
  set.insert(root);
  std::vector<Node*> stack;
  for (const std::string& name : names) {
    Node* link = root->child(name);
    if (!link) continue;
    stack.push_back(link);
  }
  if (include_root) {
    // The root's own dependencies, not its workspaces (only those named are selected).
    for (tree::Edge* e : root->edges_out()) {
      if (e->to() && !e->workspace()) stack.push_back(e->to());
    }
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (!set.insert(n).second && n != root) continue;
    Node* real = n->is_link && n->target ? n->target : n;
    if (real != n && set.insert(real).second) {
      for (const auto& [_, child] : real->children()) {
        if (child->flags.extraneous) set.insert(child);
      }
    }
    for (tree::Edge* e : real->edges_out()) {
      if (e->to() && !set.count(e->to())) stack.push_back(e->to());
    }
  }
  return set;
}

namespace {

/// `eng.<name> && !satisfies(version, eng.<name>, {includePrerelease: true})`, negated.
bool engine_ok(const manifest::Manifest& pkg, const char* name, const std::string& version) {
  if (version.empty() || !pkg.engines.is_object()) return true;
  auto it = pkg.engines.find(name);
  if (it == pkg.engines.end()) return true;
  const manifest::Json& range = *it;
  // JavaScript truthiness: a falsy value is not checked, a truthy non-string is no range.
  if (range.is_null() || (range.is_boolean() && !range.get<bool>()) ||
      (range.is_string() && range.get_ref<const std::string&>().empty()) ||
      (range.is_number() && range.get<double>() == 0)) {
    return true;
  }
  if (!range.is_string()) return false;
  return semver::satisfies(version, range.get_ref<const std::string&>(), semver::Options{false, true});
}

std::string with_v(const std::string& node_version) {
  return node_version.empty() || node_version[0] == 'v' ? node_version : "v" + node_version;
}

}  // namespace

bool in_node_modules(const std::string& loc) {
  return loc.rfind("node_modules/", 0) == 0 || loc.find("/node_modules/") != std::string::npos;
}

bool engines_ok(const manifest::Manifest& pkg, const std::string& node_version, const std::string& npm_version) {
  return engine_ok(pkg, "node", with_v(node_version)) && engine_ok(pkg, "npm", npm_version);
}

std::unordered_set<Node*> leave_out_optionals_not_for_here(tree::Tree& ideal, const InstallOptions& options) {
  std::unordered_set<Node*> out;
  for (Node* n : ideal.inventory()) {
    if (n->is_project_root || n->is_link || n->inert || !n->flags.optional) continue;
    if (platform_ok(*n, options) && engines_ok(n->package, options.node_version, options.npm_version)) continue;
    for (Node* m : tree::optional_set(n)) {
      m->inert = true;
      out.insert(m);
    }
  }
  return out;
}

namespace {

/// arborist's Diff getAction is null: the installed package stays (bins are not looked at).
bool stays_as_installed(const Node& ideal, const Node& installed) {
  if (ideal.version() != installed.version()) return false;
  if (ideal.integrity.empty() && installed.integrity.empty()) return ideal.resolved == installed.resolved;
  return !ideal.integrity.empty() && ideal.integrity == installed.integrity;
}

/// A copy of `installed` and everything inside it, put under `parent` in `ideal`.
void copy_subtree(tree::Tree& ideal, const Node& installed, Node* parent) {
  Node* copy = ideal.create_node(installed.name, installed.package);
  copy->resolved = installed.resolved;
  copy->integrity = installed.integrity;
  copy->flags = installed.flags;
  copy->from_lockfile = true;
  ideal.attach(copy, parent);
  ideal.load_edges(copy, /*with_dev=*/false);
  for (const auto& [_, child] : installed.children()) {
    if (!child->is_link) copy_subtree(ideal, *child, copy);
  }
}

bool same_package(const Node& a, const Node& b) {
  return a.version() == b.version() && a.resolved == b.resolved && a.integrity == b.integrity &&
         a.package_name() == b.package_name();
}

/// The same packages with the same flags, all the way down (links aside).
bool same_subtree(const Node& ideal, const Node& installed) {
  if (!same_package(ideal, installed) || ideal.flags != installed.flags) return false;
  auto real_children = [](const Node& n) {
    size_t count = 0;
    for (const auto& [_, child] : n.children()) count += child->is_link ? 0 : 1;
    return count;
  };
  if (real_children(ideal) != real_children(installed)) return false;
  for (const auto& [name, child] : installed.children()) {
    if (child->is_link) continue;
    const Node* inside = ideal.child(name);
    if (!inside || inside->is_link || !same_subtree(*inside, *child)) return false;
  }
  return true;
}

/// npm moves the installed node, with everything inside it, to the ideal tree: whatever the
/// ideal tree had there goes, down to packages resolution placed inside it.
bool take_installed_subtree(tree::Tree& ideal, Node& bundler, Node* counterpart, const Node& installed) {
  if (counterpart && same_subtree(*counterpart, installed)) return false;
  if (counterpart) ideal.detach(counterpart);
  copy_subtree(ideal, installed, &bundler);
  return true;
}

bool take_bundled_below(tree::Tree& tree, Node& ideal, Node& installed, const std::vector<std::string>& omit) {
  bool changed = false;
  for (const auto& [name, child] : ideal.children()) {
    Node* was = installed.child(name);
    if (!was || child->is_link || was->is_link) continue;
    if (child->inert || omitted(*child, omit)) continue;
    // A package with a shrinkwrap is diffed as a whole (its shrinkwrap is read when unpacked).
    if (child->package.has_shrinkwrap) continue;
    // npm's diff goes on below a package that changes: the packages in its folder that stay
    // keep their folders, bundles included.
    if (stays_as_installed(*child, *was) && !child->package.bundle_dependencies.empty()) {
      for (const auto& [bundled_name, bundled] : was->children()) {
        Node* counterpart = child->child(bundled_name);
        if ((counterpart && counterpart->is_link) || bundled->is_link || !bundled->in_bundle()) continue;
        changed = take_installed_subtree(tree, *child, counterpart, *bundled) || changed;
      }
    }
    changed = take_bundled_below(tree, *child, *was, omit) || changed;
  }
  return changed;
}

}  // namespace

bool take_bundled_from_installed(tree::Tree& ideal, tree::Tree& installed, const std::vector<std::string>& omit) {
  Node* root = installed.root();
  if (!root || !ideal.root()) return false;
  for (Node* n : installed.inventory()) {
    if (n != root) n->flags.extraneous = true;
  }
  tree::calc_dep_flags(installed);
  return take_bundled_below(ideal, *ideal.root(), *root, omit);
}

bool platform_ok(const Node& node, const InstallOptions& options) { return platform_ok(node.package, options); }

bool platform_ok(const manifest::Manifest& pkg, const InstallOptions& options) {
  if (!pkg.os.is_null() && !list_allows(pkg.os, options.platform)) return false;
  if (!pkg.cpu.is_null() && !list_allows(pkg.cpu, options.arch)) return false;
  if (!pkg.libc.is_null() && options.platform == "linux" && !list_allows(pkg.libc, options.libc)) {
    return false;
  }
  return true;
}

util::Status check_engines_and_platforms(tree::Tree& ideal, const InstallOptions& options,
                                         const std::string& node_version, bool engine_strict, bool force,
                                         const std::unordered_set<const tree::Node*>& not_yet_unpacked,
                                         const std::vector<std::string>& omit, std::vector<std::string>& warnings) {
  if (force) return {};
  std::string current_node = node_version.empty() || node_version[0] == 'v' ? node_version : "v" + node_version;
  for (Node* n : ideal.inventory()) {
    if (n->flags.optional || n->is_link || omitted(*n, omit)) continue;
    if (not_yet_unpacked.count(n)) continue;
    std::string id = n->package_name() + "@" + n->version();
    if (!engines_ok(n->package, current_node, options.npm_version)) {
      // What npm reports: the engines it checks, and the versions it checked them with.
      manifest::Json wanted = manifest::Json::object();
      manifest::Json current = {{"node", current_node}};
      for (const char* engine : {"node", "npm"}) {
        if (auto it = n->package.engines.find(engine); it != n->package.engines.end()) wanted[engine] = *it;
      }
      if (!options.npm_version.empty()) current["npm"] = options.npm_version;
      std::string msg = "Unsupported engine for " + id + ": wanted: " + wanted.dump() + " (current: " +
                        current.dump() + ")";
      if (engine_strict) return util::make_error("EBADENGINE", msg);
      warnings.push_back("EBADENGINE " + msg);
    }
    if (!n->is_project_root && !platform_ok(*n, options)) {
      // npm's message: each platform key the package lists (an array joined with commas), and
      // the current value of those keys only, then a "Valid"/"Actual" line pair for each.
      manifest::Json wanted = manifest::Json::object();
      manifest::Json current = manifest::Json::object();
      std::string detail;
      const std::pair<const char*, const manifest::Json*> keys[] = {
          {"os", &n->package.os}, {"cpu", &n->package.cpu}, {"libc", &n->package.libc}};
      const std::pair<const char*, std::string> actual[] = {
          {"os", options.platform}, {"cpu", options.arch}, {"libc", options.platform == "linux" ? options.libc : ""}};
      size_t longest = 0;
      std::vector<std::pair<std::string, std::string>> checked;
      for (size_t k = 0; k < 3; ++k) {
        const manifest::Json& list = *keys[k].second;
        std::string value;
        if (list.is_string()) {
          value = list.get<std::string>();
        } else if (list.is_array() && !list.empty()) {
          for (const auto& item : list) {
            if (!value.empty()) value += ',';
            value += item.is_string() ? item.get<std::string>() : item.dump();
          }
        } else {
          continue;
        }
        wanted[keys[k].first] = value;
        current[keys[k].first] = actual[k].second;
        checked.emplace_back(keys[k].first, value);
        longest = std::max(longest, std::strlen(keys[k].first));
      }
      for (size_t k = 0; k < checked.size(); ++k) {
        const size_t padding = 1 + longest - checked[k].first.size();
        const std::string& now = current[checked[k].first].get_ref<const std::string&>();
        detail += "\nValid " + checked[k].first + ":" + std::string(padding + 1, ' ') + checked[k].second;
        detail += "\nActual " + checked[k].first + ":" + std::string(padding, ' ') + now;
      }
      return util::make_error("EBADPLATFORM", "Unsupported platform for " + id + ": wanted " + wanted.dump() +
                                                  " (current: " + current.dump() + ")" + detail);
    }
  }
  return {};
}

bool omitted(const Node& node, const std::vector<std::string>& omit) {
  auto has = [&](const char* t) { return std::find(omit.begin(), omit.end(), t) != omit.end(); };
  const auto& f = node.flags;
  if (f.peer && has("peer")) return true;
  if (f.dev && has("dev")) return true;
  if (f.optional && has("optional")) return true;
  if (f.dev_optional && has("dev") && has("optional")) return true;
  return false;
}

struct Reifier::Kept {
  Kept(const fs::path& project, bool keep) : undo(project, keep) {}
  UndoLog undo;
  InterruptGate gate;
  std::optional<util::InterruptCleanup> on_signal;  // destroyed first
};

Reifier::~Reifier() { finish(); }

void Reifier::finish() {
  if (!kept_) return;
  kept_->undo.commit();  // a signal meanwhile waits: nothing set aside is left half deleted
  kept_->gate.settle();
  kept_.reset();
}

Reifier::Reifier(PackageFetcher& packages, util::ThreadPool& pool, InstallOptions options)
    : packages_(packages), pool_(pool), options_(std::move(options)) {}

namespace {

/// The outermost node_modules folder of a lockfile location ("node_modules" for
/// "node_modules/a/node_modules/b", "packages/x/node_modules" for a workspace's dependency);
/// empty when the location is in none.
std::string outer_node_modules(const std::string& loc) {
  if (loc.rfind("node_modules/", 0) == 0) return "node_modules";
  size_t pos = loc.find("/node_modules/");
  return pos == std::string::npos ? std::string() : loc.substr(0, pos + 13);
}

/// Remembers which outermost node_modules folders did not exist when the install began: no
/// package folder can be in one of those, so there is nothing to look for or clear there.
/// One lstat per folder, however many packages it holds.
class FreshFolders {
 public:
  /// `top_is_new`: node_modules did not exist when the install began, and nothing made since
  /// (early linking) is in it, though the folder itself may have been made.
  FreshFolders(const fs::path& project, bool top_is_new) : project_(project) {
    if (top_is_new) missing_.emplace("node_modules", true);
  }

  /// True when `loc` is known to be absent: its outermost node_modules was missing.
  bool absent(const std::string& loc) {
    std::string outer = outer_node_modules(loc);
    if (outer.empty()) return false;
    auto it = missing_.find(outer);
    if (it == missing_.end()) {
      std::error_code ec;
      fs::file_status status = fs::symlink_status(project_ / outer, ec);
      it = missing_.emplace(outer, status.type() == fs::file_type::not_found).first;
    }
    return it->second;
  }

 private:
  const fs::path& project_;
  std::unordered_map<std::string, bool> missing_;
};

/// The package name a node_modules location holds ("node_modules/@s/a/node_modules/b" -> "b").
std::string name_at(const std::string& loc) {
  const size_t nm = loc.rfind("node_modules/");
  return nm == std::string::npos ? loc : loc.substr(nm + 13);
}


/// The package folders in the project's node_modules (and its @scope folders) unless `top` is
/// false, and in the node_modules of each package folder in `kept`, that are neither installed
/// by record nor wanted. Dot entries (.bin, the hidden lockfile, other tools' folders) are not packages.
std::vector<std::string> unknown_package_folders(const fs::path& project, const InstalledTree& installed,
                                                 const std::set<std::string>& wanted,
                                                 const std::vector<std::string>& kept, bool top = true) {
  std::vector<std::string> out;
  auto consider = [&](const std::string& loc) {
    if (!installed.count(loc) && !wanted.count(loc)) out.push_back(loc);
  };
  // `node_modules` is "node_modules/" or "<package location>/node_modules/".
  auto look_in = [&](const std::string& node_modules) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(project / node_modules, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      if (name[0] == '@') {
        std::error_code scope_ec;
        for (const auto& scoped : fs::directory_iterator(entry.path(), scope_ec)) {
          const std::string sub = scoped.path().filename().string();
          if (!sub.empty() && sub[0] != '.') consider(node_modules + name + "/" + sub);
        }
        continue;
      }
      consider(node_modules + name);
    }
  };
  if (top) look_in("node_modules/");
  // npm reads every node_modules folder of the tree on disk: a folder put into a package's own
  // node_modules is as extraneous as one at the top.
  for (const std::string& loc : kept) look_in(loc + "/node_modules/");
  return out;
}

/// The package folders in `loc`'s node_modules, nested ones included (scoped ones too; links
/// are not followed): what goes with a folder nobody knows.
std::vector<ReportedPackage> packages_below(const fs::path& project, const std::string& loc) {
  std::vector<ReportedPackage> out;
  std::vector<std::string> pending{loc};
  while (!pending.empty()) {
    const std::string at = pending.back();
    pending.pop_back();
    std::error_code ec;
    std::vector<std::string> candidates;
    for (const auto& entry : fs::directory_iterator(project / at / "node_modules", ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || name[0] == '.' || !entry.is_directory(ec) || entry.is_symlink(ec)) continue;
      if (name[0] != '@') {
        candidates.push_back(at + "/node_modules/" + name);
        continue;
      }
      std::error_code scope_ec;
      for (const auto& scoped : fs::directory_iterator(entry.path(), scope_ec)) {
        if (scoped.is_directory(scope_ec) && !scoped.is_symlink(scope_ec)) {
          candidates.push_back(at + "/node_modules/" + name + "/" + scoped.path().filename().string());
        }
      }
    }
    for (std::string& c : candidates) {
      auto text = util::read_file(project / c / "package.json");
      if (!text) continue;
      out.push_back({name_at(c), manifest::top_level_string(*text, "version").value_or(""), c, {}});
      pending.push_back(std::move(c));
    }
  }
  return out;
}

/// Where a package's bins are linked: the .bin folder of the node_modules it is in.
fs::path bin_folder_of(const fs::path& project, const std::string& loc) {
  const size_t nm = loc.rfind("node_modules/");
  if (nm == std::string::npos) return {};
  return project / loc.substr(0, nm) / "node_modules" / ".bin";
}

/// Removes the .bin links of a package that goes or is replaced (arborist trashes its binPaths
/// with it); the bins still wanted are linked again afterwards.
/// `keep(name)`, when given, spares a link.
void remove_bins_of(const fs::path& project, const std::string& loc, const InstalledPackage& pkg, UndoLog& undo,
                    const std::function<bool(const std::string&)>& keep = {}) {
  if (pkg.bins.empty()) return;
  const fs::path bin_dir = bin_folder_of(project, loc);
  if (bin_dir.empty()) return;
  std::error_code ec;
  for (const std::string& bin : pkg.bins) {
    if (bin.empty() || bin.find("..") != std::string::npos) continue;
    if (keep && keep(bin)) continue;
    undo.will_change_link(bin_dir / unscoped(bin));
    fs::remove(bin_dir / unscoped(bin), ec);
  }
}

/// npm moves the shallowest packages it changes or removes aside before anything else, their
/// bin links with them (arborist's retireShallowNodes). A link that is not there fails to move,
/// and npm makes its .bin folder before it tries again: a package with a bin whose link is
/// missing leaves that folder behind, empty when nothing else is linked there. `retired`: the
/// locations of the packages changed or removed, each with the names of its bins.
void make_bin_folders_of_retired(const fs::path& project,
                                 const std::vector<std::pair<std::string, std::vector<std::string>>>& retired) {
  std::unordered_set<std::string> locations;
  for (const auto& [loc, _] : retired) locations.insert(loc);
  constexpr std::string_view kNested = "/node_modules/";
  for (const auto& [loc, bins] : retired) {
    if (bins.empty()) continue;
    // One inside another that moves aside goes with it.
    bool inside = false;
    for (size_t cut = loc.rfind(kNested); cut != std::string::npos && cut > 0 && !inside;
         cut = loc.rfind(kNested, cut - 1)) {
      inside = locations.count(loc.substr(0, cut)) > 0;
    }
    if (inside) continue;
    const fs::path bin_dir = bin_folder_of(project, loc);
    std::error_code ec;
    if (!bin_dir.empty()) fs::create_directory(bin_dir, ec);  // its node_modules is there
  }
}

/// arborist's reify rebuilds the links it manages from the project on every install, changed
/// or not: one in the project's node_modules, or one to a folder inside the project.
bool rebuilt_every_install(const Node& node, const Node* root) {
  if (!node.is_link) return false;
  if (node.parent() == root && !node.inert) return true;
  const Node* top = node.target;
  while (top && top->fs_parent()) top = top->fs_parent();
  return top == root;
}

/// npm's binsExist: a bin of `node` has no link in its folder's .bin (one lstat per bin).
bool bin_links_missing(const fs::path& project, const Node& node, bool bin_links) {
  if (!bin_links || node.package.bin.empty() || node.is_link) return false;
  const Node* parent = node.parent();
  if (!parent) return false;
  const fs::path bin_dir =
      (parent->is_project_root ? project : project / parent->location()) / "node_modules" / ".bin";
  for (const auto& [name, _] : node.package.bin) {
    if (name.empty() || name.find("..") != std::string::npos) continue;
    struct stat st {};
    if (::lstat((bin_dir / unscoped(name)).c_str(), &st) != 0) return true;
  }
  return false;
}

/// The folders that held only a package linked early and then left out (an optional package
/// that failed takes its dependencies along): its node_modules, the package folder above it, a
/// scope folder. npm never made them.
void remove_emptied_folders(const fs::path& project, const std::string& loc) {
  const fs::path top = project / "node_modules";
  std::error_code ec;
  for (fs::path dir = (project / loc).parent_path(); dir.string().size() > top.string().size();
       dir = dir.parent_path()) {
    if (!fs::is_empty(dir, ec) || ec || !fs::remove(dir, ec)) break;
  }
}

/// The node_modules folders in and below a package folder that hold nothing (or an empty .bin),
/// with the empty scope folders in them; deepest first. Links are not followed.
void remove_emptied_node_modules(const fs::path& package_dir) {
  std::error_code ec;
  if (fs::symlink_status(package_dir, ec).type() != fs::file_type::directory) return;
  const fs::path node_modules = package_dir / "node_modules";
  if (fs::symlink_status(node_modules, ec).type() != fs::file_type::directory) return;
  auto real_dirs = [&ec](const fs::path& dir) {
    std::vector<fs::path> out;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (it->symlink_status(ec).type() == fs::file_type::directory) out.push_back(it->path());
    }
    ec.clear();
    return out;
  };
  for (const fs::path& entry : real_dirs(node_modules)) {
    const std::string name = entry.filename().string();
    if (name == ".bin") continue;
    if (name.starts_with('@')) {
      for (const fs::path& scoped : real_dirs(entry)) remove_emptied_node_modules(scoped);
      fs::remove(entry, ec);  // rmdir: only when empty
    } else {
      remove_emptied_node_modules(entry);
    }
  }
  fs::remove(node_modules / ".bin", ec);
  fs::remove(node_modules, ec);
}

std::string relative_link(const fs::path& from_dir, const fs::path& target) {
  // Lexically: a bin reached through a workspace link points through that link, as npm's does.
  fs::path to = target.lexically_normal();
  if (to.filename().empty() && to.has_parent_path()) to = to.parent_path();  // "..", not "../"
  return to.lexically_relative(from_dir.lexically_normal()).string();
}

}  // namespace

util::Result<InstallReport> Reifier::reify(tree::Tree& ideal, const InstalledTree& installed) {
  InstallReport report;
  const fs::path& project = options_.project_dir;
  Node* root = ideal.root();

  // ---- plan ----
  std::vector<Node*> all = ideal.inventory();
  std::vector<std::pair<std::string, Node*>> located;
  for (Node* n : all) {
    if (n == root) continue;
    located.emplace_back(n->location(), n);
  }
  std::sort(located.begin(), located.end(),
            [](const auto& a, const auto& b) { return util::locale_less(a.first, b.first); });

  // Optional packages for other platforms or engines are left out (see the function).
  const std::unordered_set<Node*> not_installable_here = leave_out_optionals_not_for_here(ideal, options_);

  std::unordered_set<Node*> skipped;
  std::vector<Node*> wanted;
  std::set<std::string> kept_locations;  // outside `only`, left as they are
  // Bundled packages, each with where its bundler is.
  std::map<std::string, std::string> bundled_locations;
  std::vector<Node*> bundled_nodes;  // in path order, as `wanted`
  std::vector<Node*> unselected_folders;
  for (auto& [loc, n] : located) {
    if (n->fs_parent() && !n->parent()) {
      // Workspace folders live in the project: nothing to install (see unselected_folders).
      if (options_.only && !options_.only(*n)) unselected_folders.push_back(n);
      continue;
    }
    if (n->in_dep_bundle() && !options_.bundles_opened.count(n)) {  // arrives inside its bundler's tarball
      Node* bundler = n->bundler();
      bundled_locations.emplace(loc, bundler ? bundler->location() : std::string());
      bundled_nodes.push_back(n);
      // One the install leaves out counts as absent, as npm's diff has it: npm detaches it
      // before it records what is installed.
      if (n->inert || omitted(*n, options_.omit)) skipped.insert(n);
      continue;
    }
    if (options_.only && !options_.only(*n)) {
      // Outside the selection (install -w): what is on disk stays, what is not is not added.
      auto it = installed.find(loc);
      std::error_code ec;
      bool present = it != installed.end() && (fs::exists(project / loc, ec) || fs::is_symlink(project / loc, ec));
      bool same = present && (n->is_link ? it->second.is_link
                                         : (!n->integrity.empty() && !it->second.integrity.empty()
                                                ? it->second.integrity == n->integrity
                                                : it->second.version == n->version()));
      if (same) {
        kept_locations.insert(loc);
      } else {
        skipped.insert(n);
      }
      continue;
    }
    bool skip = omitted(*n, options_.omit) || options_.omitted_as_resolved.count(n);
    if (!skip && n->parent() && skipped.count(n->parent())) skip = true;
    if (!skip && not_installable_here.count(n)) {
      report.skipped_optional++;
      skip = true;
    }
    skip = skip || n->inert;
    if (skip) {
      skipped.insert(n);
      continue;
    }
    wanted.push_back(n);
  }
  // A workspace folder outside the selection is in the hidden lockfile (npm's lists the tree on
  // disk) while a link to it stays in node_modules.
  for (Node* folder : unselected_folders) {
    const bool link_kept = std::any_of(located.begin(), located.end(), [&](const auto& l) {
      return l.second->is_link && l.second->target == folder && kept_locations.count(l.first);
    });
    if (!link_kept) skipped.insert(folder);
  }

  // Looked at before anything is removed or created: a node_modules folder missing now (a
  // first install, or `ci` which removed it) holds no package folder to check or clear.
  FreshFolders fresh(project, options_.node_modules_is_new && installed.empty());
  std::vector<Node*> to_install;
  // Linked early, by this install, with the files the ideal tree wants there: installed
  // like the rest (fetched for the report, scripts run), only not linked again.
  std::unordered_set<Node*> linked_early;
  // Counted as added (not as changed) in the report.
  std::unordered_set<Node*> newly_added;
  // What is installed now at the locations of changed packages (their bins go).
  std::vector<std::pair<std::string, const InstalledPackage*>> replaced;
  std::set<std::string> wanted_locations = kept_locations;
  // Package folders the install leaves where they are (their nested node_modules are looked
  // into for folders nobody knows).
  std::vector<std::string> kept_folders;
  // Packages linked early whose place another version takes.
  std::vector<std::string> replaced_early;
  // Packages left in place whose bins are linked again (some link was missing).
  std::unordered_set<Node*> bins_missing;
  for (Node* n : wanted) {
    std::string loc = n->location();
    wanted_locations.insert(loc);
    const bool maybe_present = !fresh.absent(loc);
    auto it = installed.find(loc);
    std::error_code ec;
    if (it != installed.end() && maybe_present &&
        fs::symlink_status(project / loc, ec).type() != fs::file_type::not_found && !ec) {
      const InstalledPackage& p = it->second;
      // A link never stands for a package folder, nor the other way round (npm's "linked"
      // layout links node_modules/a into node_modules/.store, which a hoisted tree removes).
      // As npm's diff: another version is a change whatever the integrity says (a lockfile
      // edited by hand), then the integrity decides, or without one the resolved URL.
      // One that knows neither its integrity nor where it came from (a bundled copy) is not
      // the package the tree now wants from the registry (npm's integrityMismatch).
      const bool unknown_origin = p.integrity.empty() && p.resolved.empty() && !n->integrity.empty();
      bool same = n->is_link ? p.is_link && (p.link_target.empty() || p.link_target == n->realpath)
                             : !p.is_link && p.version == n->version() && !unknown_origin &&
                                   (!n->integrity.empty() && !p.integrity.empty()
                                        ? p.integrity == n->integrity
                                        : p.resolved == n->resolved || p.resolved.empty() || n->resolved.empty());
      if (p.early) {
        report.added++;
        report.added_packages.push_back({n->name, n->version(), loc, {}});
        newly_added.insert(n);
        if (same && p.complete && !n->is_link) linked_early.insert(n);
        if (!same) replaced_early.push_back(loc);
      } else if (same && !bin_links_missing(project, *n, options_.bin_links)) {
        report.unchanged++;
        if (!n->is_link) kept_folders.push_back(loc);
        continue;
      } else if (same) {
        if (!n->is_link) kept_folders.push_back(loc);
        // npm's diff takes a package whose bins are not all linked for changed (and installs it
        // again); its links are made again below, its files stay.
        bins_missing.insert(n);
        report.changed++;
        report.changed_packages.push_back({n->name, n->version(), loc, p.version});
        continue;
      } else {
        report.changed++;
        report.changed_packages.push_back({n->name, n->version(), loc, p.version});
        replaced.emplace_back(loc, &p);
      }
    } else {
      report.added++;
      report.added_packages.push_back({n->name, n->version(), loc, {}});
      newly_added.insert(n);
    }
    to_install.push_back(n);
  }
  // What is installed and goes: not wanted any more, and not taken over by anything else.
  auto goes = [&](const std::string& loc, const InstalledPackage& pkg) {
    if (loc.empty() || wanted_locations.count(loc)) return false;
    // A bundled package arrives with its bundler; one linked early in its place goes first.
    // One whose bundler goes too is removed (and counted) as npm's diff does.
    if (auto b = bundled_locations.find(loc);
        b != bundled_locations.end() && !pkg.early && wanted_locations.count(b->second)) {
      return false;
    }
    // With a selection, only what the selected workspaces reached goes.
    if (options_.only && !pkg.in_selection) return false;
    // Folders outside node_modules (workspaces, `file:` link targets) are the user's own: the
    // hidden lockfile lists them, but installing never deletes them.
    return in_node_modules(loc);
  };
  // npm moves the shallowest packages it changes or removes aside before it reifies, whole
  // (node_modules/.bin included), and the links at their bins' names with them, whichever
  // package those lead to.
  std::set<std::string> retired_folders;           // with a trailing slash
  std::unordered_set<std::string> retired_links;  // "<node_modules folder>|<bin name>"
  auto retire = [&](const std::string& loc, const std::vector<std::string>& bins) {
    retired_folders.insert(loc + "/");
    const std::string folder = loc.substr(0, loc.rfind("node_modules/"));
    for (const std::string& bin : bins) retired_links.insert(folder + "|" + unscoped(bin));
  };
  for (const auto& [loc, pkg] : replaced) retire(loc, pkg->bins);
  for (Node* n : bins_missing) retire(n->location(), installed.at(n->location()).bins);
  // One npm's first diff left as it was, which a bundle opened here made unneeded: npm deletes
  // it after its second diff, without moving it aside first.
  auto unneeded_since_a_bundle = [&](const std::string& loc, const InstalledPackage& pkg) {
    auto resolved = options_.identity_as_resolved.find(loc);
    return resolved != options_.identity_as_resolved.end() &&
           resolved->second == (pkg.integrity.empty() ? pkg.version : pkg.integrity);
  };
  for (const auto& [loc, pkg] : installed) {
    if (!pkg.early && goes(loc, pkg) && !unneeded_since_a_bundle(loc, pkg)) retire(loc, pkg.bins);
  }
  auto inside_retired = [&](const std::string& loc) {
    for (size_t cut = loc.rfind("/node_modules/"); cut != std::string::npos && cut > 0;
         cut = loc.rfind("/node_modules/", cut - 1)) {
      if (retired_folders.count(loc.substr(0, cut) + "/")) return true;
    }
    return false;
  };
  // The packages the first diff leaves as they are, with bins (and a folder of their own).
  std::vector<Node*> unchanged_with_bins;
  {
    const std::unordered_set<Node*> installing(to_install.begin(), to_install.end());
    for (Node* n : wanted) {
      if (n->is_link || n->package.bin.empty() || installing.count(n) || bins_missing.count(n)) continue;
      auto it = installed.find(n->location());
      if (it != installed.end() && !it->second.early) unchanged_with_bins.push_back(n);
    }
  }
  // When what npm adds or changes includes a bundler, it diffs again once the bundles are
  // open: a package it left as it was counts as changed then if one of its bin links was
  // moved aside, or went with a folder above it. It is installed again: its bins are linked
  // and its scripts run (its files stay here).
  auto bundles = [](const Node* n) { return !n->is_project_root && !n->package.bundle_dependencies.empty(); };
  const bool diffs_again = std::any_of(to_install.begin(), to_install.end(), bundles) ||
                           std::any_of(bins_missing.begin(), bins_missing.end(), bundles);
  std::unordered_set<Node*> changed_on_second_diff;
  if (diffs_again && options_.bin_links) {
    for (Node* n : unchanged_with_bins) {
      const std::string loc = n->location();
      const std::string folder = loc.substr(0, loc.rfind("node_modules/"));
      const bool moved = inside_retired(loc) ||
                         std::any_of(n->package.bin.begin(), n->package.bin.end(), [&](const auto& bin) {
                           return retired_links.count(folder + "|" + unscoped(bin.first)) > 0;
                         });
      if (!moved) continue;
      changed_on_second_diff.insert(n);
      report.unchanged--;
      report.changed++;
      report.changed_packages.push_back({n->name, n->version(), loc, installed.at(loc).version});
    }
  }
  // A package linked early inside one that is now replaced by a link (a symlink takes the
  // folder's place, its node_modules included) must be linked again, behind the link.
  if (!linked_early.empty()) {
    std::vector<std::string> link_locations;
    for (Node* n : to_install) {
      if (n->is_link) link_locations.push_back(n->location() + "/");
    }
    if (!link_locations.empty()) {
      std::erase_if(linked_early, [&](Node* n) {
        const std::string loc = n->location();
        return std::any_of(link_locations.begin(), link_locations.end(),
                           [&](const std::string& prefix) { return loc.rfind(prefix, 0) == 0; });
      });
    }
  }

  // A node_modules that is there already is the user's working tree: when this install changes
  // it, nothing in it is removed or replaced before every package the new tree needs is in the
  // store, so that a download that fails (network, integrity, a missing tarball) leaves it as it
  // was, where npm's reify rolls back. A node_modules this install makes is filled as the
  // downloads arrive (and removed again if one fails).
  std::error_code nm_ec;
  const bool fetch_first =
      !options_.node_modules_is_new && !to_install.empty() &&
      (!installed.empty() || fs::symlink_status(project / "node_modules", nm_ec).type() != fs::file_type::not_found);

  store::Linker linker;
  std::mutex mu;
  std::unordered_map<const Node*, bool> binding_gyp_seen;  // node -> has one; under mu
  std::condition_variable cv;
  size_t pending = 0, done_count = 0;
  std::optional<util::Error> first_error;
  size_t total = to_install.size();

  std::vector<Node*> failed_to_arrive;  // optional packages whose download or link failed
  auto finish_one = [&](Node* n, util::Status st, bool counts_for_progress) {
    std::lock_guard lock(mu);
    if (!st.ok()) {
      if (n->flags.optional) {
        report.warnings.push_back("skipping optional dependency " + n->package_name() + "@" +
                                  n->version() + ": " + st.error().message);
        skipped.insert(n);
        failed_to_arrive.push_back(n);
      } else if (!first_error) {
        first_error = st.error();
      }
    }
    if (counts_for_progress) {
      done_count++;
      if (options_.on_progress) options_.on_progress(done_count, total);
    }
    pending--;
    // Only the last one wakes the waiting thread: a wake per package is a futex call each.
    if (pending == 0) cv.notify_all();
  };
  auto wait_for_pending = [&] {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
  };

  // npm never records an integrity for git dependencies: a packed checkout differs each time.
  // Nor does it add one to what a lockfile (or a dependency's shrinkwrap) locked without.
  auto store_package = [&](Node* n, std::function<void(Node*, const fs::path&)> then) {
    {
      std::lock_guard lock(mu);
      pending++;
    }
    TarballRef ref = tarball_ref_for(*n);
    const bool record_integrity = ref.kind != TarballRef::Kind::kGit && !n->from_lockfile;
    packages_.ensure(ref, n->integrity, n->package.dist.shasum,
                     [&, n, record_integrity, then](const util::Result<StoredRef>& stored) {
      if (!stored) {
        finish_one(n, stored.error(), true);
        return;
      }
      {
        std::lock_guard lock(mu);
        if (n->integrity.empty() && record_integrity) n->integrity = stored->integrity;
        if (stored->downloaded) {
          report.tarballs_downloaded++;
        } else {
          report.store_hits++;
        }
      }
      then(n, stored->dir);
    });
  };

  auto fetch_start = Clock::now();
  std::unordered_map<Node*, fs::path> stored_dirs;
  if (fetch_first) {
    for (Node* n : to_install) {
      if (n->is_link) continue;
      store_package(n, [&](Node* m, const fs::path& dir) {
        {
          std::lock_guard lock(mu);
          stored_dirs[m] = dir;
        }
        finish_one(m, {}, true);
      });
    }
    wait_for_pending();
    if (first_error) {
      report.fetch_extract_time = since(fetch_start);
      return *first_error;
    }
  }
  // From here on the old tree changes; a failure puts it back as it was (when there was one).
  if (!options_.node_modules_is_new) UndoLog::remove_stale(project);
  kept_ = std::make_unique<Kept>(project, fetch_first);
  UndoLog& undo = kept_->undo;
  InterruptGate& gate = kept_->gate;
  // npm's handleOptionalFailure: an optional package that failed (its download, its install
  // script) goes with what only it needed (its nested dependencies too): off the disk, out of the
  // hidden lockfile and out of the count, as if they were for another platform.
  std::unordered_set<Node*> left_out;
  auto leave_out_optional = [&](Node* failed) {
    for (Node* m : tree::optional_set(failed)) {
      if (m->is_project_root || !left_out.insert(m).second) continue;
      if (skipped.count(m) && m != failed) continue;
      InstalledPackage gone;
      for (const auto& [bin, _] : m->package.bin) gone.bins.push_back(bin);
      remove_bins_of(project, m->location(), gone, undo);
      undo.remove(m->location());
      const std::string m_loc = m->location();
      auto at = [&m_loc](const ReportedPackage& r) { return r.location == m_loc; };
      if (newly_added.erase(m)) {
        report.added--;
        std::erase_if(report.added_packages, at);
      } else if (std::find(to_install.begin(), to_install.end(), m) != to_install.end()) {
        report.changed--;
        report.removed++;
        auto c = std::find_if(report.changed_packages.begin(), report.changed_packages.end(), at);
        if (c != report.changed_packages.end()) {
          report.removed_packages.push_back({c->name, c->from_version, m_loc, {}});
          report.changed_packages.erase(c);
        }
      }
      skipped.insert(m);
    }
  };
  struct UndoUnlessDone {
    UndoLog& log;
    InterruptGate& gate;
    bool done = false;
    ~UndoUnlessDone() {
      if (done) return;
      log.undo();
      gate.settle();
    }
  } undo_on_failure{undo, gate};
  // Ctrl-C from here on puts the old tree back (see InterruptGate). Every download is in by
  // now, so the checkpoints come soon. (A node_modules this install makes is removed whole by
  // the caller's cleanup instead, without waiting for downloads.)
  if (fetch_first) kept_->on_signal.emplace([&gate] { gate.stop_and_wait(); });
  for (const std::string& marker : options_.old_tree_markers) undo.remove(marker);
  // npm then moves back what did not change below the folders it moved aside, each package
  // with the links at its bins' names in the .bin folder it is in, whichever package they lead
  // to (installed-package-contents lists a link that resolves). The link of a package removed
  // or changed inside a folder that moved, at a name a package left there also claims, comes
  // back as it was: it may lead nowhere now. (A changed package's bins are linked again anyway.)
  std::unordered_set<std::string> moved_back_bins;  // "<node_modules folder>|<bin name>"
  for (Node* n : unchanged_with_bins) {
    const std::string loc = n->location();
    if (changed_on_second_diff.count(n) || !inside_retired(loc)) continue;
    const std::string folder = loc.substr(0, loc.rfind("node_modules/"));
    for (const auto& [bin, _] : n->package.bin) moved_back_bins.insert(folder + "|" + unscoped(bin));
  }
  auto link_moved_back = [&](const std::string& loc) -> std::function<bool(const std::string&)> {
    if (moved_back_bins.empty() || !inside_retired(loc)) return {};
    const std::string folder = loc.substr(0, loc.rfind("node_modules/"));
    return [&project, &moved_back_bins, folder, loc](const std::string& bin) {
      if (!moved_back_bins.count(folder + "|" + unscoped(bin))) return false;
      std::error_code ec;
      return fs::exists(bin_folder_of(project, loc) / unscoped(bin), ec);  // resolves
    };
  };
  for (const auto& [loc, pkg] : replaced) remove_bins_of(project, loc, *pkg, undo, link_moved_back(loc));
  // The packages npm's diff changes or removes (see make_bin_folders_of_retired).
  std::vector<std::pair<std::string, std::vector<std::string>>> retired;
  for (const auto& [loc, pkg] : replaced) retired.emplace_back(loc, pkg->bins);
  for (Node* n : bins_missing) {
    std::vector<std::string> names;
    for (const auto& [bin, _] : n->package.bin) names.push_back(bin);
    retired.emplace_back(n->location(), std::move(names));
  }

  // ---- remove what is no longer wanted, and the old copies of what changes ----
  static constexpr std::string_view kLinkedStore = "node_modules/.store/";
  bool left_linked_store = false;
  for (const auto& [loc, pkg] : installed) {
    if (!goes(loc, pkg)) continue;
    // Entries removed already along with a removed parent are not there any more.
    remove_bins_of(project, loc, pkg, undo, link_moved_back(loc));
    undo.remove(loc);
    if (!pkg.early && !unneeded_since_a_bundle(loc, pkg)) retired.emplace_back(loc, pkg.bins);
    if (pkg.early) remove_emptied_folders(project, loc);
    if (loc.starts_with(kLinkedStore)) left_linked_store = true;
    // A folder that holds packages but is none (npm's "linked" layout has one per package in
    // node_modules/.store) is not counted, as npm does not count it.
    if (!pkg.early && (pkg.is_link || !pkg.version.empty())) {
      report.removed++;
      report.removed_packages.push_back({name_at(loc), pkg.version, loc, {}, 0, pkg.is_link});
    }
  }
  // A scope folder whose last package went stays, empty, as npm leaves it; unless only
  // packages linked early were in it: npm never made it (rmdir: only when it is empty).
  for (const auto& [loc, pkg] : installed) {
    if (loc.empty() || !pkg.early || wanted_locations.count(loc) || !in_node_modules(loc)) continue;
    const std::string name = name_at(loc);
    if (name.empty() || name[0] != '@' || name.find('/') == std::string::npos) continue;
    std::error_code ec;
    fs::remove(project / loc.substr(0, loc.rfind('/')), ec);
  }
  // npm retires a replaced package's whole folder and moves back only the files of each nested
  // package that stays, so no folder in there is left empty. lade keeps the nested packages in
  // place instead, so the folders their removal emptied go now.
  for (const auto& [loc, pkg] : replaced) remove_emptied_node_modules(project / loc);
  // npm's linked layout, replaced by this tree: its store folder goes when nothing is left in it.
  if (left_linked_store) {
    std::error_code ec;
    fs::remove(project / kLinkedStore, ec);
  }
  // Folders in node_modules that neither the hidden lockfile nor the ideal tree knows (put
  // there by hand or by another tool): npm finds them on disk and removes them as extraneous.
  if (!options_.only && !options_.node_modules_is_new && !fresh.absent("node_modules/x")) {
    for (const std::string& loc : unknown_package_folders(project, installed, wanted_locations, kept_folders)) {
      InstalledPackage stray;
      std::string stray_version;
      if (auto text = util::read_file(project / loc / "package.json")) {
        if (auto json = manifest::parse_json(*text, loc); json && json->is_object()) {
          const manifest::Manifest m = manifest::manifest_from_json(*json);
          for (const auto& [bin, _] : m.bin) stray.bins.push_back(bin);
          stray_version = m.version;
        }
      }
      remove_bins_of(project, loc, stray, undo);
      retired.emplace_back(loc, stray.bins);
      report.removed++;
      report.removed_packages.push_back({name_at(loc), stray_version, loc, {}});
      // The packages inside it go too, and npm counts them.
      for (ReportedPackage& nested : packages_below(project, loc)) {
        report.removed++;
        report.removed_packages.push_back(std::move(nested));
      }
      undo.remove(loc);
    }
  }
  make_bin_folders_of_retired(project, retired);
  // Making room for a package keeps its node_modules, where the tree's other packages are. A
  // version linked early brought its bundled packages there from its tarball, which the tree
  // does not have (another version bundles others): they go with it, unannounced, as they were
  // never announced.
  for (const std::string& loc : replaced_early) {
    for (const std::string& bundled : unknown_package_folders(project, installed, wanted_locations, {loc}, false)) {
      undo.remove(bundled);
      remove_emptied_folders(project, bundled);
    }
  }
  // A bundler that changes brings its whole bundle again: npm moves the old folder aside, so
  // nothing of the old bundle stays where the new one is unpacked (files the new versions lack
  // would). npm's second diff then counts a bundled package found in both as changed when its
  // version differs or it has bins (their links went with the old folder).
  {
    std::unordered_set<std::string> replaced_locations;
    for (const auto& [loc, _] : replaced) replaced_locations.insert(loc);
    for (Node* n : bundled_nodes) {
      const std::string loc = n->location();
      auto bundler = bundled_locations.find(loc);
      if (bundler == bundled_locations.end() || !replaced_locations.count(bundler->second)) continue;
      auto it = installed.find(loc);
      if (it == installed.end() || it->second.early) continue;
      // Only what the new tarball brings replaces the old copy; npm moves back one it lacks.
      Node* bundler_node = n->bundler();
      auto stored = bundler_node ? stored_dirs.find(bundler_node) : stored_dirs.end();
      std::error_code ec;
      if (stored != stored_dirs.end() &&
          fs::exists(stored->second / fs::path(loc).lexically_relative(bundler->second), ec)) {
        remove_bins_of(project, loc, it->second, undo);
        undo.remove(loc);
      }
      if (skipped.count(n) || (it->second.version == n->version() && n->package.bin.empty())) continue;
      report.changed++;
      report.changed_packages.push_back({n->name, n->version(), loc, it->second.version});
    }
  }
  for (Node* n : to_install) {
    if (linked_early.count(n)) continue;
    std::string loc = n->location();
    if (fresh.absent(loc)) continue;
    if (n->is_link) {
      undo.make_room_for_link(loc);
    } else {
      undo.make_room_for_package(loc);
    }
  }

  // ---- fetch, verify, extract, link ----
  if (!to_install.empty()) {
    // Made and marked before the pool starts filling it: every package folder in it is then
    // placed as an unrelated tree (the linker marks nested node_modules as it makes them).
    std::error_code ec;
    fs::create_directory(project / "node_modules", ec);
    util::mark_subdirectories_unrelated(project / "node_modules");
    linker.stage_in(project / "node_modules");
  }
  auto link_stored = [&](Node* n, const fs::path& dir) -> util::Status {
    if (gate.stopping()) return util::make_error("ECANCELED", "stopped by a signal");
    auto r = linker.link(dir, project / n->location());
    if (!r) return r.take_error();
    std::lock_guard lock(mu);
    binding_gyp_seen[n] = r->root_binding_gyp;
    return {};
  };

  // Links are made once every package folder is in place: a link may go inside one (a
  // dependency loop's), and a folder made for it would be in the way of the package's.
  std::vector<Node*> links;
  for (Node* n : to_install) {
    if (n->is_link) {
      links.push_back(n);
      continue;
    }
    if (fetch_first) {
      auto stored = stored_dirs.find(n);
      if (stored == stored_dirs.end()) continue;  // an optional package that failed to arrive
      {
        std::lock_guard lock(mu);
        pending++;
      }
      pool_.post([&, n, dir = stored->second] { finish_one(n, link_stored(n, dir), false); });
      continue;
    }
    store_package(n, [&](Node* m, const fs::path& dir) {
      if (linked_early.count(m)) {
        finish_one(m, {}, true);
        return;
      }
      pool_.post([&, m, dir] { finish_one(m, link_stored(m, dir), true); });
    });
  }
  if (options_.while_linking) {
    std::unordered_set<const Node*> not_installed;
    bool integrity_known = true;
    {
      std::lock_guard lock(mu);
      not_installed.insert(skipped.begin(), skipped.end());
      for (Node* n : to_install) {
        if (!n->is_link && n->integrity.empty() && tarball_ref_for(*n).kind != TarballRef::Kind::kGit) {
          integrity_known = false;
          break;
        }
      }
    }
    if (integrity_known) options_.while_linking(not_installed);
  }
  wait_for_pending();
  linker.remove_staging();
  gate.checkpoint(undo);
  report.fetch_extract_time = since(fetch_start);
  if (first_error) return *first_error;
  for (Node* n : links) {
    // A workspace or `file:` folder: a relative symlink to it.
    fs::path dest = project / n->location();
    // The target is a folder of the project's (realpath), or a package elsewhere in
    // node_modules, which a dependency loop links to (its location). A link whose package
    // was replaced while the tree was built (the new one in the same place) keeps the path
    // it was made with, as npm's links do.
    Node* t = n->target;
    if (t && t->root() != n->root() && !n->realpath.empty()) t = nullptr;
    fs::path target = project / (t ? (t->realpath.empty() ? t->location() : t->realpath) : n->realpath);
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    fs::remove_all(dest, ec);
    fs::create_directory_symlink(relative_link(dest.parent_path(), target), dest, ec);
    if (ec) {
      return util::make_error(util::errno_code(ec.value()), "cannot link " + dest.string() + ": " + ec.message());
    }
  }
  for (Node* n : failed_to_arrive) leave_out_optional(n);
  // npm makes the folder of every package it adds before it opens any bundle (its sparse
  // tree). A package this resolution placed below a new bundler, which counts as bundled once
  // the bundle is open but is not in the bundler's tarball, is never unpacked, and that folder
  // stays there, empty. (One a lockfile lists as bundled is no addition of npm's, nor is one
  // that was in a bundle already when resolution ended: no folder.)
  {
    std::unordered_set<const Node*> unpacked(to_install.begin(), to_install.end());
    for (Node* n : failed_to_arrive) unpacked.erase(n);
    for (Node* n : bundled_nodes) {
      const Node* bundler = n->bundler();
      if (n->from_lockfile || options_.bundled_as_resolved.count(n)) continue;
      if (n->inert || omitted(*n, options_.omit)) continue;
      if (!bundler || !unpacked.count(bundler) || !options_.bundles_opened.count(bundler)) continue;
      std::error_code ec;
      fs::create_directories(project / n->location(), ec);  // nothing to do where the tarball had it
    }
  }

  // ---- bins ----
  auto link_start = Clock::now();
  std::unordered_set<std::string> bin_dirs_made;
  // When packages in one folder claim the same bin name, the first in path order keeps it (npm's
  // bin-links never replaces a link it made in the same run); `wanted` is in that order.
  std::unordered_set<std::string> bins_linked;
  constexpr fs::perms kExec = fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec;
  // As npm's rebuild: the bins of what this install adds or changes, and of the links it
  // rebuilds every time. A package left as it was keeps its links, and gets none back that
  // another package took or that went with a removed package claiming the same name.
  const std::unordered_set<Node*> installing(to_install.begin(), to_install.end());
  std::vector<Node*> with_bins;
  for (Node* n : wanted) {
    if (installing.count(n) || bins_missing.count(n) || changed_on_second_diff.count(n) ||
        rebuilt_every_install(*n, root)) {
      with_bins.push_back(n);
    }
  }
  // Bundled packages arrive inside their bundler, and npm links their bins too (into the
  // bundler's node_modules/.bin: rebuild-bundle is on by default).
  for (Node* n : bundled_nodes) {
    Node* bundler = n->bundler();
    if (bundler && !skipped.count(bundler) &&
        (installing.count(bundler) || bins_missing.count(bundler) || changed_on_second_diff.count(bundler)) &&
        !n->package.bin.empty()) {
      with_bins.push_back(n);
    }
  }
  // npm's rebuild sorts its bin queue, bundled packages among the rest: shallower first, then
  // by path as localeCompare orders it. Which of two packages claiming a name gets the link
  // depends on it.
  std::erase_if(with_bins, [](Node* n) { return n->package.bin.empty(); });
  {
    std::vector<std::tuple<int, std::string, Node*>> keyed;
    keyed.reserve(with_bins.size());
    for (Node* n : with_bins) keyed.emplace_back(n->depth(), n->location(), n);
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
      if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) < std::get<0>(b);
      return util::locale_less(std::get<1>(a), std::get<1>(b));
    });
    for (size_t i = 0; i < keyed.size(); ++i) with_bins[i] = std::get<2>(keyed[i]);
  }
  for (Node* n : with_bins) {
    if (!options_.bin_links) break;
    if (skipped.count(n) || n->package.bin.empty()) continue;
    Node* parent = n->parent();
    if (!parent) continue;
    fs::path pkg_dir = project / n->location();
    fs::path bin_dir = (parent == root ? project : project / parent->location()) / "node_modules" / ".bin";
    std::error_code ec;
    for (const auto& [bin_name, bin_path] : n->package.bin) {
      if (bin_name.empty() || bin_name.find("..") != std::string::npos) continue;
      fs::path target = (pkg_dir / bin_path).lexically_normal();
      // A bin must stay inside its package.
      auto rel_check = target.lexically_relative(pkg_dir).string();
      if (rel_check.empty() || rel_check.rfind("..", 0) == 0) continue;
      fs::path link = bin_dir / unscoped(bin_name);
      // The name is taken even when its file is missing (bin-links' linkGently).
      if (!bins_linked.insert(link.string()).second) continue;
      // A bin whose file the package does not have gets no link, as in npm.
      fs::file_status status = fs::symlink_status(target, ec);
      if (ec || !fs::exists(status)) continue;
      if (bin_dirs_made.insert(bin_dir.string()).second) fs::create_directories(bin_dir, ec);
      // Whatever is there goes, but only looked for when the link cannot be made.
      const fs::path link_target = relative_link(bin_dir, target);
      undo.will_change_link(link);
      fs::create_symlink(link_target, link, ec);
      if (ec == std::errc::file_exists) {
        fs::remove(link, ec);
        fs::create_symlink(link_target, link, ec);
      }
      // The store made it executable already, mostly: change the mode only when it is not.
      if (fs::is_symlink(status)) {
        status = fs::status(target, ec);
      } else {
        ec.clear();  // as fs::status would: the mode is fixed even when the link failed
      }
      if (!ec && fs::exists(status) && (status.permissions() & kExec) != kExec) {
        fs::permissions(target, status.permissions() | kExec, ec);
      }
      if (!ec) fix_windows_hashbang(target);
    }
  }
  report.link_time = since(link_start);
  gate.checkpoint(undo);

  // What npm's rebuild builds: what this install adds or changes (also a package whose files
  // stay, changed because a bin link was missing: its scripts run again), and the packages
  // their bundles bring (rebuild-bundle is on by default).
  std::vector<Node*> built = to_install;
  for (Node* n : wanted) {
    if (bins_missing.count(n) || changed_on_second_diff.count(n)) built.push_back(n);
  }
  for (Node* n : bundled_nodes) {
    Node* bundler = n->bundler();
    if (!skipped.count(n) && bundler && !skipped.count(bundler) &&
        (installing.count(bundler) || bins_missing.count(bundler) || changed_on_second_diff.count(bundler))) {
      built.push_back(n);
    }
  }
  // npm's rebuild gives a package with a binding.gyp and no install or preinstall script the
  // install script `node-gyp rebuild`, and its lockfile entry "hasInstallScript" (also with
  // --ignore-scripts). Linking saw whether there is one; a stat for a package it did not link.
  for (Node* n : built) {
    if (skipped.count(n) || n->is_link || n->package.has_install_script) continue;
    if (auto seen = binding_gyp_seen.find(n); seen != binding_gyp_seen.end() && !seen->second) continue;
    if (linked_early.count(n)) {
      auto early = installed.find(n->location());
      if (early != installed.end() && !early->second.binding_gyp) continue;
    }
    if (needs_default_gyp_install(n->package.scripts, project / n->location())) {
      n->package.has_install_script = true;
      report.default_gyp_installs++;
    }
  }

  // ---- lifecycle scripts ----
  if (!options_.ignore_scripts) {
    auto scripts_start = Clock::now();
    std::vector<Node*> with_scripts;
    for (Node* n : built) {
      if (skipped.count(n) || n->is_link || !n->package.has_install_script) continue;
      if (!options_.allow_all_scripts && !options_.script_policy.empty() &&
          script_verdict(*n, options_.script_policy) == ScriptVerdict::kDenied) {
        continue;
      }
      with_scripts.push_back(n);
    }
    std::stable_sort(with_scripts.begin(), with_scripts.end(),
                     [](Node* a, Node* b) { return a->depth() > b->depth(); });
    // As npm's rebuild: event by event (every preinstall, then every install, then every
    // postinstall), so that no package's postinstall runs before a dependency's install.
    std::vector<InstalledScripts> scripts;
    scripts.reserve(with_scripts.size());
    for (Node* n : with_scripts) scripts.push_back(read_installed_scripts(*n, project / n->location(), options_.script_run));
    for (const char* event : {"preinstall", "install", "postinstall"}) {
      for (size_t i = 0; i < with_scripts.size(); ++i) {
        Node* n = with_scripts[i];
        if (skipped.count(n)) continue;  // went with an optional package whose script failed
        gate.checkpoint(undo);
        auto st = run_script(scripts[i].package, event, project, project / n->location(), scripts[i].run);
        if (!st) {
          if (n->flags.optional) {
            report.warnings.push_back("optional dependency " + n->package_name() + " failed its install script: " +
                                      st.error().message);
            report.optional_script_failed = true;
            leave_out_optional(n);
            continue;
          }
          return st.take_error();
        }
      }
    }
    // Then the linked folders (workspaces, `file:` folders) newly linked, and those linked from
    // the project even when unchanged (npm rebuilds them on every install): npm also runs their
    // `prepare`, in the folder as seen through the link; event by event here too.
    std::vector<Node*> links;
    for (Node* n : wanted) {
      if (!n->is_link || !n->target || n->target->is_project_root || skipped.count(n)) continue;
      if (installing.count(n) || rebuilt_every_install(*n, root)) links.push_back(n);
    }
    for (const char* event : kLinkEvents) {
      for (Node* n : links) {
        LADE_TRY(run_script(n->target->package, event, project, project / n->location(), options_.script_run));
      }
    }
    report.scripts_time = since(scripts_start);
  }
  for (Node* n : skipped) report.not_installed.insert(n);
  gate.checkpoint(undo);
  // A signal from now on waits for finish(): the new tree is whole, its lockfiles come next.
  undo_on_failure.done = true;
  return report;
}

}  // namespace lade::installer
