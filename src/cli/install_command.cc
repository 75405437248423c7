#include "cli/install_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>
#include <regex>
#include <set>
#include <thread>
#include <unordered_set>

#include "cli/project.h"
#include "cli/registry_sources.h"
#include "cli/reporter.h"
#include "cli/script_settings.h"
#include "cli/sourced_packages.h"
#include "cli/workspaces.h"
#include "installer/early_link.h"
#include "lockfile/actual_tree.h"
#include "installer/dev_engines.h"
#include "installer/diff_order.h"
#include "installer/node_modules_digest.h"
#include "installer/reify.h"
#include "installer/scripts.h"
#include "lockfile/ci_check.h"
#include "lockfile/merge_conflict.h"
#include "lockfile/reader.h"
#include "lockfile/package_entry.h"
#include "lockfile/writer.h"
#include "lockfile/yarn_lock.h"
#include "manifest/spec.h"
#include "resolver/ideal_tree.h"
#include "resolver/node_source.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/interrupt.h"
#include "util/thread_pool.h"

namespace lade::cli {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::chrono::milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
}

/// A fingerprint of everything an up-to-date install depends on: when it matches the one
/// stored beside the hidden lockfile, there is nothing to do.
/// Settings from any layer (flags, environment, .npmrc files) change what an install leaves
/// behind: `omit=dev` added to .npmrc takes the dev packages away.
std::string install_fingerprint(std::string_view package_json, std::string_view lock,
                                const InstallRequest& req, const registry::Settings& settings,
                                const std::string& script_rules) {
  std::string flags = script_rules;
  for (const auto& o : req.omit) flags += "omit=" + o + ";";
  for (const auto& o : req.include) flags += "include=" + o + ";";
  if (req.production) flags += "production;";
  if (req.ignore_scripts) flags += "ignore-scripts;";
  for (const auto& o : settings.omit) flags += "settings.omit=" + o + ";";
  if (settings.ignore_scripts) flags += "settings.ignore-scripts;";
  if (!settings.bin_links) flags += "no-bin-links;";
  if (!settings.package_lock) flags += "no-package-lock;";
  flags += "install-strategy=" + settings.install_strategy + ";";
  // A tree with peers installed stands or falls with legacy-peer-deps; engine-strict fails an
  // install whose tree has a package for another node even when nothing changes; a lockfile
  // version asked for rewrites the lockfile.
  if (req.legacy_peer_deps || settings.legacy_peer_deps) flags += "legacy-peer-deps;";
  if (req.engine_strict || settings.engine_strict) flags += "engine-strict;";
  if (settings.lockfile_version) flags += "lockfile-version=" + std::to_string(*settings.lockfile_version) + ";";
  flags += "platform=" + settings.os + "/" + settings.cpu + "/" + settings.libc + ";";
  util::Fingerprint f;
  f.update(package_json);
  f.update(std::string_view("\0", 1));
  f.update(lock);
  f.update(std::string_view("\0", 1));
  f.update(flags);
  return f.hex();
}

/// What npm's lockfile leaves out after a full install: the packages bundled by one that was not
/// installed (an optional package for another platform), since its reify never unpacks it.
/// Only those resolution took from the tarball (`opened`): with --package-lock-only they are
/// written, as npm writes them, and so are those a lockfile listed, which npm knew of without
/// unpacking. Empty when nothing was left out.
std::function<bool(const tree::Node&)> bundled_by_one_of(const std::unordered_set<const tree::Node*>& left_out,
                                                         const std::unordered_set<const tree::Node*>& opened) {
  if (left_out.empty() || opened.empty()) return {};
  return [&left_out, &opened](const tree::Node& n) {
    if (!opened.count(&n)) return false;
    const tree::Node* bundler = const_cast<tree::Node&>(n).bundler();
    return bundler && left_out.count(bundler) > 0;
  };
}

/// Whether some package in `tree` meets a dependency asked for by a dist-tag (or an alias to
/// one), and will have no registry URL in a lockfile that omits them.
bool meets_a_tag_by_url(tree::Tree& tree) {
  for (tree::Node* n : tree.inventory()) {
    for (const tree::Edge* e : n->edges_out()) {
      const tree::Node* to = e->to();
      if (!to || to->is_link || !e->valid() || !resolver::met_only_with_tarball_url(e->name(), e->spec())) continue;
      if (lockfile::is_registry_dependency(*to)) return true;
    }
  }
  return false;
}

/// Whether the lockfile `lock_text`, read again as the next install reads it, leaves some
/// dependency met otherwise than in `ideal`: npm's loadVirtual can leave a package with
/// another override set than resolution gave it (see lockfile::read_lockfile), and the next
/// install resolves what that set leaves unmet.
bool met_otherwise_on_reading(tree::Tree& ideal, tree::Tree& again, std::string_view lock_text,
                              const std::string& lock_name, const lockfile::ReadOptions& options) {
  lockfile::ReadOptions read = options;
  read.recompute_flags = true;
  auto l = lockfile::read_lockfile(lock_text, lock_name, again, ideal.root()->package, read);
  if (!l) return true;
  std::unordered_map<std::string, tree::Node*> placed;
  for (tree::Node* n : ideal.inventory()) {
    if (n->root() == ideal.root()) placed.emplace(n->location(), n);
  }
  for (const auto& [loc, n] : l->nodes) {
    auto it = placed.find(loc);
    if (it == placed.end() || n->is_link || it->second->is_link) continue;
    for (const tree::Edge* e : n->edges_out()) {
      const tree::Edge* was = it->second->edge_out(e->name());
      if (!was) continue;
      const std::string to = e->to() ? e->to()->location() : std::string("-");
      const std::string was_to = was->to() ? was->to()->location() : std::string("-");
      if (e->valid() != was->valid() || to != was_to) return true;
    }
  }
  return false;
}

/// Whether a lockfile's text has an entry marked `"extraneous": true`. A byte search: the
/// lockfile is read before anything is parsed, and std::string::find stops at every quote of a
/// 500 KB document (2.3 million instructions a search on the medium benchmark fixture).
bool marks_extraneous(std::string_view lock_text) {
  static constexpr std::string_view kKey = "\"extraneous\"";
  const std::boyer_moore_horspool_searcher search(kKey.begin(), kKey.end());
  for (auto it = lock_text.begin();;) {
    it = std::search(it, lock_text.end(), search);
    if (it == lock_text.end()) return false;
    it += kKey.size();
    auto rest = lock_text.substr(static_cast<size_t>(it - lock_text.begin()));
    const size_t value = rest.find_first_not_of(" \t\r\n:");
    if (value != std::string_view::npos && rest.substr(value).starts_with("true")) return true;
  }
}

/// The digest of node_modules (installer::node_modules_digest), reading again only the folders
/// changed since the last install wrote `listings_path`.
std::string node_modules_digest_remembered(const fs::path& node_modules, const fs::path& listings_path,
                                           const std::unordered_set<std::string>& known_nested) {
  installer::FolderListings remembered;
  if (auto text = util::read_file(listings_path)) remembered = installer::FolderListings::parse(*text);
  return installer::node_modules_digest(node_modules, &known_nested, nullptr, &remembered);
}

/// The version the package.json in a folder gives; none when there is no package there.
std::optional<std::string> version_in_folder(const fs::path& folder) {
  const fs::path file = folder / "package.json";
  if (auto text = util::read_file(file)) {
    if (auto doc = manifest::parse_json(*text, file.string()); doc && doc->is_object()) {
      if (auto v = doc->find("version"); v != doc->end() && v->is_string()) return v->get<std::string>();
    }
  }
  return std::nullopt;
}

/// npm trusts node_modules/.package-lock.json only while no package folder is newer than it
/// (Shrinkwrap's assertNoNewer), and otherwise reads the folders themselves. A package folder
/// changed since the hidden lockfile was written is taken for what its package.json says now:
/// another version (so it is installed again), or no package at all.
void take_changed_folders_as_found(installer::InstalledTree& installed, const fs::path& project,
                                   const fs::path& hidden_lock_path) {
  struct stat lock_st {};
  if (::stat(hidden_lock_path.c_str(), &lock_st) != 0) return;
  auto newer = [&](const struct stat& st) {
    return st.st_mtim.tv_sec != lock_st.st_mtim.tv_sec ? st.st_mtim.tv_sec > lock_st.st_mtim.tv_sec
                                                       : st.st_mtim.tv_nsec > lock_st.st_mtim.tv_nsec;
  };
  for (auto it = installed.begin(); it != installed.end();) {
    const std::string& loc = it->first;
    installer::InstalledPackage& pkg = it->second;
    struct stat st {};
    if (pkg.is_link || !installer::in_node_modules(loc) || ::lstat((project / loc).c_str(), &st) != 0 || !newer(st)) {
      ++it;
      continue;
    }
    std::optional<std::string> version = version_in_folder(project / loc);
    if (!version) {
      it = installed.erase(it);  // no package there: whatever is in the folder goes
      continue;
    }
    if (*version != pkg.version) {
      pkg.version = *version;
      pkg.integrity.clear();
      pkg.resolved.clear();
    }
    ++it;
  }
}

/// The folders the project links from its node_modules: workspaces and `file:` folders.
std::vector<std::string> linked_folders(const Project& project) {
  std::vector<std::string> folders;
  if (auto ws = map_workspaces(project.dir, project.package_json->content())) {
    for (const auto& [_, folder] : *ws) folders.push_back(folder);
  }
  const manifest::Manifest& m = project.manifest;
  for (const auto* list : {&m.dependencies, &m.dev_dependencies, &m.optional_dependencies}) {
    for (const auto& [name, spec] : *list) {
      if (spec.find(':') == std::string::npos && spec.find('/') == std::string::npos) continue;
      auto parsed = manifest::resolve_spec(name, spec, project.dir);
      if (parsed && parsed->type == manifest::SpecType::kDirectory) folders.push_back(*parsed->fetch_spec);
    }
  }
  return folders;
}

/// A folder the project links, with its package.json as read (empty when it has none).
struct LinkedPackageJson {
  std::string folder;
  std::string text;
};

std::vector<LinkedPackageJson> read_linked_package_jsons(const Project& project) {
  std::vector<LinkedPackageJson> out;
  for (auto& f : linked_folders(project)) {
    auto text = util::read_file(project.dir / f / "package.json");
    out.push_back({std::move(f), text ? std::move(*text) : std::string()});
  }
  return out;
}

/// The package.json files of the folders the project links to (its workspaces and the `file:`
/// folders it depends on), joined: an up-to-date install also depends on them.
std::string joined(const std::vector<LinkedPackageJson>& linked) {
  std::string out;
  for (const auto& [folder, text] : linked) {
    out += folder;
    out += '\0';
    out += text;
    out += '\0';
  }
  return out;
}

/// npm runs the scripts of the folders linked from the project on every install, even when
/// nothing changed (see installer::kLinkEvents).
bool have_link_scripts(const std::vector<LinkedPackageJson>& linked) {
  for (const auto& [_, text] : linked) {
    auto doc = manifest::Json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) continue;
    if (installer::has_link_scripts(manifest::manifest_from_json(doc))) return true;
  }
  return false;
}

/// A `lade add -w <workspace>`: the workspace's package.json and what is added to it.
struct WorkspaceAdd {
  std::string folder;
  fs::path dir;
  std::optional<manifest::PackageJson> package_json;
  manifest::Manifest manifest;
  std::vector<AddedSpec> added;
};

/// A workspace's package.json, read for `lade add -w` or `lade uninstall -w` to edit.
util::Result<WorkspaceAdd> open_workspace_edit(const fs::path& project_dir, const std::string& folder) {
  WorkspaceAdd w;
  w.folder = folder;
  w.dir = project_dir / folder;
  w.package_json.emplace(LADE_TRY(manifest::PackageJson::load(w.dir)));
  w.manifest = manifest::manifest_from_json(w.package_json->content());
  return w;
}

/// The folder node (workspace or link target) at `realpath`, if the tree has one.
tree::Node* folder_node(tree::Tree& tree, const std::string& realpath) {
  for (tree::Node* n : tree.inventory()) {
    if (!n->is_link && !n->parent() && n->fs_parent() && n->realpath == realpath) return n;
  }
  return nullptr;
}

/// Without a lockfile npm starts from the folders on disk, so the workspaces are in the tree
/// before anything is resolved: their dependencies already look up through the root, and a
/// package placed at the root that a workspace cannot use puts that workspace next in the
/// queue (it sorts as a top), ahead of the root's own new packages. Resolution would otherwise
/// meet the folders only through their links, after everything else, and hoist differently.
void add_workspace_folders(tree::Tree& tree, const WorkspaceFolders& workspaces, const fs::path& project_dir,
                           SourcedPackages& sourced) {
  std::vector<std::pair<std::string, std::string>> by_depth(workspaces.begin(), workspaces.end());
  std::stable_sort(by_depth.begin(), by_depth.end(),
                   [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
  for (const auto& [name, folder] : by_depth) {
    if (folder.empty() || folder_node(tree, folder)) continue;
    manifest::Manifest pkg;
    if (auto m = sourced.read_folder(project_dir / folder)) pkg = std::move(*m);
    tree::Node* node = tree.create_node(name, std::move(pkg));
    node->realpath = folder;
    tree.load_edges(node, true);  // a folder is a top: its devDependencies count
    // A workspace inside another workspace's folder resolves through that folder first.
    tree::Node* fs_parent = tree.folder_containing(folder);
    tree.attach_fs(node, fs_parent);
  }
}

/// npm's lockedGitCommittish (dep-valid): a git dependency of the root or of a folder whose
/// `#<ref>` differs from the one the lockfile's entry recorded is resolved again, since a named
/// ref cannot be checked against the locked commit offline. Returns (folder, name) pairs; the
/// root's folder is "".
std::vector<std::pair<std::string, std::string>> changed_git_refs(const std::string& lock_text, tree::Tree& tree,
                                                                  const fs::path& project_dir) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<tree::Node*> tops;
  for (tree::Node* n : tree.inventory()) {
    if (n->is_project_root || (!n->is_link && !n->parent() && n->fs_parent() && !n->is_external())) tops.push_back(n);
  }
  auto committish = [](const std::string& name, const std::string& spec, const fs::path& where)
      -> std::optional<manifest::PackageSpec> {
    auto parsed = manifest::resolve_spec(name, spec, where);
    if (!parsed || parsed->type != manifest::SpecType::kGit) return std::nullopt;
    return std::move(*parsed);
  };
  std::optional<manifest::Json> lock;
  for (tree::Node* top : tops) {
    const fs::path where = project_dir / top->realpath;
    for (tree::Edge* e : top->edges_out()) {
      auto requested = committish(e->name(), e->spec(), where);
      if (!requested || requested->git_range) continue;
      const std::string want = requested->git_committish.value_or("");
      static const std::regex kSha("^[a-fA-F0-9]{40,64}$");
      if (std::regex_match(want, kSha)) continue;
      if (!lock) {
        auto doc = manifest::parse_json(lock_text, "package-lock.json");
        lock = doc ? std::move(*doc) : manifest::Json::object();
      }
      auto packages = lock->find("packages");
      if (packages == lock->end() || !packages->is_object()) return out;
      auto entry = packages->find(top->realpath);
      if (entry == packages->end() || !entry->is_object()) continue;
      for (const char* section : {"dependencies", "optionalDependencies", "devDependencies", "peerDependencies"}) {
        auto deps = entry->find(section);
        if (deps == entry->end() || !deps->is_object()) continue;
        auto spec = deps->find(e->name());
        if (spec == deps->end() || !spec->is_string()) continue;
        auto locked = committish(e->name(), spec->get<std::string>(), where);
        if (locked && locked->git_committish.value_or("") != want) out.emplace_back(top->realpath, e->name());
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> effective_omit(const InstallRequest& req) {
  std::vector<std::string> omit = req.omit;
  if (req.production) omit.push_back("dev");
  const char* env = std::getenv("NODE_ENV");
  if (env && std::string(env) == "production" && req.omit.empty()) omit.push_back("dev");
  for (const auto& inc : req.include) {
    omit.erase(std::remove(omit.begin(), omit.end(), inc), omit.end());
  }
  return omit;
}

/// What an install leaves out: effective_omit, and the config files' `omit` unless the command
/// line includes something.
std::vector<std::string> install_omit(const InstallRequest& req, const registry::Settings& settings) {
  std::vector<std::string> omit = effective_omit(req);
  for (const auto& o : settings.omit) {
    if (req.include.empty() && std::find(omit.begin(), omit.end(), o) == omit.end()) omit.push_back(o);
  }
  return omit;
}

/// Hands objects to the end of the process: exit reclaims their memory, nothing frees it.
template <class... T>
void leave_to_exit(std::unique_ptr<T>... objects) {
  (static_cast<void>(objects.release()), ...);
}

/// Below a package that bundles dependencies (the project's own bundleDependencies aside):
/// what is there may arrive inside that package's tarball, so it is not linked early.
bool inside_bundler(const tree::Node& node) {
  for (const tree::Node* p = node.parent(); p && p->parent(); p = p->parent()) {
    if (!p->package.bundle_dependencies.empty()) return true;
  }
  return false;
}

/// A package with a dependency on a folder or file of its own (watchpack 1.7's
/// "chokidar2": "file:./chokidar2"): resolution reads that path inside the package's folder,
/// where npm finds nothing before the package is installed. Linked early, the folder would be
/// there, depending on timing.
bool has_local_path_dependency(const tree::Node& node) {
  auto local = [](const std::string& spec) { return manifest::is_file_spec(spec) || spec.starts_with("link:"); };
  for (const auto* section : {&node.package.dependencies, &node.package.optional_dependencies}) {
    for (const auto& [_, spec] : *section) {
      if (local(spec)) return true;
    }
  }
  return false;
}

/// Where a node_modules being removed goes first (then `<pid>`): a folder of the project that no
/// install takes for node_modules when the removal is cut short.
constexpr std::string_view kNodeModulesAside = ".node_modules-interrupted-";
/// Unlinking waits on the file system, not the CPU: more threads than cores pay off.
constexpr unsigned kRemovalThreads = 8;

/// Removes a node_modules this install made, while other threads may still be writing into it:
/// moved out of the way first, so that what they write after that fails instead of landing in
/// node_modules, then deleted (again if a folder made just before the move reappeared).
void remove_new_node_modules(const fs::path& node_modules) {
  std::error_code ec;
  const fs::path aside = node_modules.parent_path() /
                         (std::string(kNodeModulesAside) + std::to_string(::getpid()));
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (fs::symlink_status(node_modules, ec).type() == fs::file_type::not_found) break;
    fs::rename(node_modules, aside, ec);
    util::remove_all_parallel(ec ? node_modules : aside, kRemovalThreads);
  }
}

/// ci's first step: the old node_modules moves aside at once (the new one can be made), and is
/// deleted while the install goes on; the returned future is done when it is gone.
std::future<void> remove_old_node_modules(const fs::path& node_modules) {
  std::error_code ec;
  if (fs::symlink_status(node_modules, ec).type() == fs::file_type::not_found) return {};
  const fs::path aside = node_modules.parent_path() /
                         (std::string(kNodeModulesAside) + std::to_string(::getpid()) + "-old");
  fs::rename(node_modules, aside, ec);
  if (ec) {
    remove_new_node_modules(node_modules);
    return {};
  }
  return std::async(std::launch::async, [aside] { util::remove_all_parallel(aside, kRemovalThreads); });
}

/// What node_modules holds, as a hidden lockfile's text: node_modules/.package-lock.json, or when
/// there is none, what the package folders there say (npm's loadActual; see
/// lockfile/actual_tree.h). The folders are read once, when first asked for.
class InstalledRecord {
 public:
  InstalledRecord(fs::path project, fs::path hidden_lock_path, const WorkspaceFolders& workspaces)
      : project_(std::move(project)), hidden_lock_path_(std::move(hidden_lock_path)) {
    for (const auto& [_, folder] : workspaces) workspace_folders_.push_back(folder);
  }

  const std::optional<std::string>& text() {
    if (!read_) {
      read_ = true;
      if (auto hidden = util::read_file(hidden_lock_path_)) {
        text_ = std::move(*hidden);
      } else {
        text_ = lockfile::hidden_lockfile_from_disk(project_, workspace_folders_);
        from_disk_ = text_.has_value();
      }
    }
    return text_;
  }
  /// The text was made from the package folders: it records no dep flags.
  bool from_disk() const { return from_disk_; }
  const fs::path& path() const { return hidden_lock_path_; }

 private:
  fs::path project_, hidden_lock_path_;
  std::vector<std::string> workspace_folders_;
  bool read_ = false, from_disk_ = false;
  std::optional<std::string> text_;
};

/// The locations the `selected` workspaces (and the root's own dependencies, with
/// `include_root`) reach in the installed tree `actual`: npm's diff filter for install -w, which
/// removes what they reached and the new tree no longer has.
std::set<std::string> reached_from_selection(tree::Tree& actual, const WorkspaceFolders& selected,
                                             bool include_root) {
  std::set<std::string> out;
  tree::Node* root = actual.root();
  std::vector<tree::Node*> stack;
  for (const auto& [name, _] : selected) {
    if (tree::Node* n = root->child(name)) stack.push_back(n);
  }
  if (include_root) {
    for (tree::Edge* e : root->edges_out()) {
      if (e->to() && !e->workspace()) stack.push_back(e->to());
    }
  }
  std::unordered_set<tree::Node*> seen;
  while (!stack.empty()) {
    tree::Node* n = stack.back();
    stack.pop_back();
    if (n == root || !seen.insert(n).second) continue;
    out.insert(n->location());
    if (n->is_link && n->target) stack.push_back(n->target);
    for (tree::Edge* e : n->edges_out()) {
      if (e->to()) stack.push_back(e->to());
    }
  }
  return out;
}

/// What an install of `ideal` would add, change and remove, by location, against what the hidden
/// lockfile says is installed (--dry-run: npm reports the same counts and changes nothing).
installer::InstallReport dry_run_report(tree::Tree& ideal, InstalledRecord& installed_record,
                                        const manifest::Manifest& root_manifest,
                                        const std::vector<std::string>& omit) {
  installer::InstallReport report;
  struct Present {
    std::string name, version;
    std::string shown_version;  // a link's: its folder's package version, as npm lists it
    bool is_link = false;
  };
  std::map<std::string, Present> present;  // location -> what is there
  if (const auto& hidden = installed_record.text()) {
    tree::Tree actual(resolver::make_dep_valid("/"));
    lockfile::ReadOptions options;
    options.hidden = true;
    if (auto h = lockfile::read_lockfile(*hidden, installed_record.path().string(), actual, root_manifest,
                                         options)) {
      for (const auto& [loc, node] : h->nodes) {
        // Folders outside node_modules (workspaces, file: targets) are the user's, never removed.
        if (!loc.empty() && installer::in_node_modules(loc)) {
          const std::string shown = node->is_link && node->target ? node->target->version() : node->version();
          present[loc] = {node->name, node->is_link ? "link:" + node->realpath : node->version(), shown,
                          node->is_link};
        }
      }
    }
  }
  for (tree::Node* n : ideal.inventory()) {
    if (n->is_project_root || n->inert || n->in_dep_bundle() || installer::omitted(*n, omit)) continue;
    if (!n->parent() && n->fs_parent()) continue;  // a workspace folder: not installed
    const std::string loc = n->location();
    auto it = present.find(loc);
    const std::string want = n->is_link ? "link:" + n->realpath : n->version();
    if (it == present.end()) {
      report.added++;
      report.added_packages.push_back({n->name, n->version(), loc, {}});
    } else {
      if (it->second.version != want) {
        report.changed++;
        report.changed_packages.push_back({n->name, n->version(), loc, it->second.version});
      }
      present.erase(it);
    }
  }
  report.removed = present.size();
  for (const auto& [loc, p] : present) {
    report.removed_packages.push_back({p.name, p.shown_version, loc, {}, 0, p.is_link});
  }
  return report;
}

/// npm's #inflateAncientLockfile: a lockfileVersion 1 entry lacks bin, engines, os, cpu,
/// hasInstallScript, peerDependencies..., so every package under node_modules takes the
/// manifest of its version, as pacote gives it by default (abbreviated), and the dep flags are
/// computed again. Without it no bins were linked and no install scripts ran.
///
/// As npm asks: a `file:` tarball for the package.json inside it, anything else for
/// `<folder name>@<version>` from the registry -- so an alias (`"chalk2": "npm:chalk@2"`)
/// looks up "chalk2", which is not there, and keeps what the lockfile says, as in npm. So does
/// a package whose manifest cannot be had (npm warns and goes on too).
void inflate_old_lockfile(tree::Tree& tree, Wiring& wiring, const fs::path& project_dir, Reporter& reporter) {
  std::vector<tree::Node*> from_registry;
  std::vector<tree::Node*> from_files;
  for (tree::Node* n : tree.inventory()) {
    if (n->is_project_root || n->is_link || !n->location().starts_with("node_modules")) continue;
    if (n->resolved.starts_with("file:")) {
      from_files.push_back(n);
    } else if (!n->version().empty()) {
      from_registry.push_back(n);
    }
  }
  if (from_registry.empty() && from_files.empty()) return;
  reporter.warn("old lockfile: package-lock.json was made by npm 6 or older, so the metadata it "
                "lacks is fetched from the registry (once: it is written back as version 3)");
  auto could_not = [&](const std::string& id, const util::Error& e) {
    reporter.warn("old lockfile: could not fetch metadata for " + id + ": " + e.message);
  };
  for (tree::Node* n : from_files) {
    manifest::SpecOptions where;
    where.where = project_dir;
    auto spec = manifest::resolve_spec(n->name, n->resolved, where);
    if (!spec || spec->type != manifest::SpecType::kFile) continue;  // a folder: the link's own
    auto fetched = wiring.sourced().fetch(*spec);
    if (!fetched) {
      could_not(n->name + "@" + n->resolved, fetched.error());
      continue;
    }
    tree.set_package(n, std::move(fetched->manifest));
  }
  registry::RegistryClient& client = wiring.abbreviated_client();
  for (tree::Node* n : from_registry) client.packument(n->name, [] {});
  for (tree::Node* n : from_registry) {
    const std::string id = n->name + "@" + n->version();
    auto packument = client.wait_for_packument(n->name);
    auto manifest = packument ? (*packument)->manifest(n->version())
                              : util::Result<manifest::Manifest>(packument.take_error());
    if (!manifest) {
      could_not(id, manifest.error());
      continue;
    }
    tree.set_package(n, std::move(*manifest));
  }
  tree::reset_dep_flags(tree);
  tree::calc_dep_flags(tree);
}

}  // namespace

int run_install(InstallRequest req) {
  auto start = Clock::now();
  Reporter reporter(req.json, req.silent || req.loglevel == "silent", req.timing);
  if (req.loglevel == "error") reporter.hide_warnings();
  Summary summary;
  // Set while node_modules holds only what this install put there: an install that fails
  // takes it away again, as npm's reify rolls back what it added (nothing half-installed).
  std::function<void()> undo_on_failure;
  auto fail = [&](const util::Error& e) {
    // Stopped by a signal: what failed is the work its cleanup took away; no error to report.
    if (util::interrupted()) util::wait_for_the_end();
    if (undo_on_failure) undo_on_failure();
    reporter.error(e);
    // npm's exit status: a failed script's own code, 256 + errno for system errors, else 1.
    return util::exit_status_for(e);
  };

  // ---- project and settings ----
  auto project_r = Project::open(req);
  if (!project_r) return fail(project_r.error());
  Project& project = *project_r;
  const fs::path node_modules = project.dir / "node_modules";
  // npm's Shrinkwrap.load: a project's npm-shrinkwrap.json, when it has one, is its lockfile (read
  // and written back) and package-lock.json is ignored.
  std::error_code shrinkwrap_ec;
  const fs::path lock_path = fs::is_regular_file(project.dir / "npm-shrinkwrap.json", shrinkwrap_ec)
                                 ? project.dir / "npm-shrinkwrap.json"
                                 : project.dir / "package-lock.json";
  const fs::path hidden_lock_path = node_modules / ".package-lock.json";
  const fs::path state_path = node_modules / ".lade-state";
  // What the folders of node_modules listed when the state was written (FolderListings).
  const fs::path listings_path = node_modules / ".lade-listings";

  // npm's update --save saves each direct dependency it looked at as `lade add name@spec`
  // would: the same range when it still says more than save-prefix + version, else that.
  auto update_save_specs = [&req](const manifest::Manifest& m) {
    std::vector<std::string> specs;
    std::set<std::string> seen;
    for (const auto* section : {&m.dependencies, &m.dev_dependencies, &m.optional_dependencies, &m.peer_dependencies}) {
      for (const auto& [name, spec] : *section) {
        if (!req.update_names.empty() &&
            std::find(req.update_names.begin(), req.update_names.end(), name) == req.update_names.end()) {
          continue;
        }
        // An exact version stays as it is.
        if (resolver::classify_registry_spec(spec).kind == resolver::SpecKind::kVersion) continue;
        if (seen.insert(name).second) specs.push_back(name + "@" + spec);
      }
    }
    return specs;
  };
  bool adding = req.command == Command::Install && !req.specs.empty();
  const bool removing = req.command == Command::Install && !req.remove.empty();
  // `lade update` with no names resolves the whole tree anew: npm sets the lockfile and
  // node_modules aside for the ideal tree (they still tell what changes).
  const bool update_all = req.update && req.update_names.empty();
  // Mapped, not read: when nothing changed, its bytes are only hashed and searched.
  std::optional<util::MappedFile> lock_file;
  if (auto m = util::MappedFile::open(lock_path)) lock_file = std::move(*m);
  bool have_lock = lock_file.has_value();

  // ---- up to date? ----
  // A lockfile with entries marked extraneous is never up to date: npm drops them from any
  // tree it loads from a lockfile (see ResolveOptions::flags_suspect), and so does lade.
  // npm runs the root project's install scripts even when nothing changed, and those of the
  // folders it links: with any, the whole install runs (it knows whether a config file says
  // ignore-scripts).
  // Read once, when first needed: the script check below and the up-to-date check use them.
  std::optional<std::vector<LinkedPackageJson>> linked;
  auto linked_package_jsons = [&]() -> const std::vector<LinkedPackageJson>& {
    if (!linked) linked = read_linked_package_jsons(project);
    return *linked;
  };
  const bool root_scripts_may_run =
      !adding && !removing && !req.update && !req.ignore_scripts &&
      (installer::has_root_install_scripts(project.manifest) || have_link_scripts(linked_package_jsons()));
  // devEngines is checked with the config loaded (below), also when nothing else changed.
  const bool has_dev_engines = project.package_json->content().contains("devEngines");
  auto config_r = load_config(req, project);
  if (!config_r) return fail(config_r.error());
  // Remembered next to npm's default registry, with lade's other answers from the tools on
  // this machine: not in the package cache, which a clean install starts without.
  project.detect_node(config_r->settings().lade_cache);
  if (!project.node_version.empty()) config_r->set_node_version("v" + project.node_version);
  if (req.loglevel.empty() && (config_r->settings().loglevel == "error" || config_r->settings().loglevel == "silent")) {
    reporter.hide_warnings();
  }
  for (const auto& w : req.flag_warnings) reporter.warn(w);
  for (const auto& w : config_r->warnings()) reporter.warn(w);
  // npm reads its allowScripts policy first thing, also when nothing is to be done.
  ScriptRules scripts_rules;
  {
    std::vector<std::string> warnings;
    auto rules = script_rules(*config_r, project.package_json->content(), warnings);
    for (const auto& w : warnings) reporter.warn(w);
    if (!rules) return fail(rules.error());
    scripts_rules = std::move(*rules);
  }
  const auto script_env = npm_config_env(*config_r, project.dir);
  const bool foreground_scripts = config_flag(*config_r, "foreground-scripts");
  if (req.command == Command::Install && !adding && !removing && !req.update && have_lock && !req.package_lock_only && !root_scripts_may_run && !has_dev_engines &&
      !marks_extraneous(lock_file->view())) {
    const auto t_check = Clock::now();
    auto stored = util::read_file(state_path);
    std::string expected;
    if (stored) {
      // fingerprint, listing, nested node_modules folders (tab-separated), unreviewed scripts.
      const size_t listing_end = stored->find('\n', stored->find('\n') + 1);
      const std::string nested_line =
          listing_end == std::string::npos ? std::string() : stored->substr(listing_end + 1, stored->find('\n', listing_end + 1) - listing_end - 1);
      std::unordered_set<std::string> known_nested;
      for (size_t pos = 0; pos < nested_line.size();) {
        const size_t tab = std::min(nested_line.find('\t', pos), nested_line.size());
        known_nested.insert(nested_line.substr(pos, tab - pos));
        pos = tab + 1;
      }
      expected = install_fingerprint(project.package_json_text + joined(linked_package_jsons()), lock_file->view(), req,
                                     config_r->settings(), scripts_rules.fingerprint) +
                 "\n" + node_modules_digest_remembered(node_modules, listings_path, known_nested) + "\n" + nested_line;
    }
    if (stored && fs::exists(hidden_lock_path) &&
        (*stored == expected || stored->starts_with(expected + "\n"))) {
      if (stored->size() > expected.size()) {
        summary.unreviewed_scripts = unreviewed_from_state(std::string_view(*stored).substr(expected.size() + 1));
      }
      summary.project_dir = project.dir.string();
      summary.up_to_date = true;
      summary.elapsed = since(start);
      // Reading the project and its settings, then comparing node_modules with the last install.
      summary.timing = {{"load", std::chrono::duration_cast<std::chrono::milliseconds>(t_check - start)},
                        {"check", since(t_check)},
                        {"total", summary.elapsed}};
      reporter.summary(summary);
      return 0;
    }
  }

  std::string lock_text(have_lock ? lock_file->view() : std::string_view());
  lock_file.reset();

  const std::string ci_needs_lockfile =
      "The `lade ci` command can only install with an existing package-lock.json or "
      "npm-shrinkwrap.json with lockfileVersion >= 1. Run an install with lade or npm first to "
      "generate one, then try again.";
  if (req.command == Command::Ci && !have_lock) return fail(util::make_error("EUSAGE", ci_needs_lockfile));

  // ---- workspaces ----
  auto workspaces_r = map_workspaces(project.dir, project.package_json->content());
  if (!workspaces_r) return fail(workspaces_r.error());
  const WorkspaceFolders& workspaces = *workspaces_r;
  InstalledRecord installed_record(project.dir, hidden_lock_path, workspaces);
  WorkspaceFolders selected;
  if (req.all_workspaces && req.workspaces.empty()) {
    if (workspaces.empty()) {
      return fail(util::make_error("ENOWORKSPACES",
                                   "No workspaces found: package.json declares none (drop "
                                   "--workspaces, or add a \"workspaces\" list)"));
    }
    selected = workspaces;
  } else if (!req.workspaces.empty()) {
    std::error_code ec;
    fs::path cwd = req.prefix.empty() ? fs::current_path(ec) : project.dir;
    auto s = select_workspaces(workspaces, req.workspaces, project.dir, cwd);
    if (!s) return fail(s.error());
    selected = std::move(*s);
  } else if (!project.implied_workspace.empty()) {
    for (const auto& w : workspaces) {
      if (w.second == project.implied_workspace) selected.push_back(w);
    }
  }

  // npm's `--loglevel http` (and the levels above it) prints a line per request.
  const std::string loglevel = req.loglevel.empty() ? config_r->settings().loglevel : req.loglevel;
  std::function<void(const registry::TransferRecord&)> log_transfer;
  if (loglevel == "http" || loglevel == "info" || loglevel == "verbose" || loglevel == "silly") {
    log_transfer = [&reporter](const registry::TransferRecord& r) {
      const std::string ms = std::to_string(r.elapsed.count()) + "ms";
      const std::string retried = r.attempts > 1 ? " (attempt " + std::to_string(r.attempts) + ")" : "";
      if (r.error.empty()) {
        reporter.http("fetch GET " + std::to_string(r.status) + " " + std::string(r.url) + " " + ms + retried);
      } else {
        reporter.http("fetch GET " + std::string(r.url) + " failed after " + ms + retried + ": " + std::string(r.error));
      }
    };
  }
  auto wiring_r = Wiring::create(req, project, std::move(*config_r), std::move(log_transfer));
  if (!wiring_r) return fail(wiring_r.error());
  Wiring& wiring = **wiring_r;
  if (req.force || wiring.settings().force) reporter.warn("using --force Recommended protections disabled.");
  // npm checks package.json's devEngines before it installs (arborist commands).
  if (auto dev = project.package_json->content().find("devEngines"); dev != project.package_json->content().end()) {
    installer::DevEnginesEnv env;
    env.node_version = project.node_version.empty() ? "" : "v" + project.node_version;
    env.npm_version = wiring.settings().npm_version;
    env.cpu = project.arch;
    struct utsname host {};
    if (::uname(&host) == 0) env.os_version = host.release;
    std::vector<std::string> warnings;
    auto st = installer::check_dev_engines(*dev, env, req.force || wiring.settings().force, warnings);
    for (const auto& w : warnings) reporter.warn(w);
    if (!st) return fail(st.error());
  }
  // The .npmrc spellings of --package-lock-only and --no-save.
  if (wiring.settings().package_lock_only) req.package_lock_only = true;
  if (!wiring.settings().save) req.save = false;
  if (!wiring.settings().package_lock && req.command != Command::Ci) {
    // npm's package-lock=false: the lockfile is not read either.
    lock_text.clear();
    have_lock = false;
  }
  // npm reads a lockfile with git's conflict markers by merging the two sides (ours applied
  // on theirs), and an install goes on without a lockfile it cannot parse at all (it is
  // written anew); ci needs one it can read.
  if (have_lock && lockfile::has_merge_conflict(lock_text)) {
    if (auto merged = lockfile::resolve_merge_conflict(lock_text, lock_path.filename().string())) {
      reporter.warn(lock_path.filename().string() + " has merge conflicts: read as npm does, our side's "
                    "changes applied on theirs");
      lock_text = std::move(*merged);
    }
  }

  // ---- trees ----
  auto t_load = Clock::now();
  auto make_tree = [&] {
    auto t = std::make_unique<tree::Tree>(resolver::make_dep_valid(project.dir));
    t->version_gt = resolver::version_gt;
    t->legacy_peer_deps = req.legacy_peer_deps || wiring.settings().legacy_peer_deps;
    return t;
  };
  std::unique_ptr<tree::Tree> ideal_owner = make_tree();
  manifest::Manifest root_manifest = project.manifest;

  // `lade add`: the requested specs go into package.json's deps before resolving, as npm's
  // add-rm-pkg-deps does; the saved range is settled once the version is known.
  // A spec that does not name its package (a folder, a tarball, a repository) is looked at.
  SpecNameLookup name_of = [&](const manifest::PackageSpec& spec) -> util::Result<std::string> {
    if (spec.type == manifest::SpecType::kDirectory) {
      auto m = wiring.sourced().read_folder(spec.fetch_spec.value_or(""));
      if (!m) return m.take_error();
      return m->name;
    }
    auto p = wiring.sourced().fetch(spec);
    if (!p) return p.take_error();
    return p->manifest.name;
  };
  TagVersionLookup version_of_tag = [&](const manifest::PackageSpec& spec) -> util::Result<std::string> {
    wiring.packuments().prefetch(spec.name, nullptr);
    auto packument = LADE_TRY(wiring.packuments().packument(spec.name));
    resolver::PickOptions pick;
    if (!project.node_version.empty()) pick.node_version = "v" + project.node_version;
    pick.npm_version = wiring.settings().npm_version;
    pick.before_ms = wiring.settings().before_ms;
    pick.before_exempt = wiring.settings().before_exempt;
    const manifest::PackumentVersion* v = LADE_TRY(resolver::pick_version(*packument, spec.fetch_spec.value_or(spec.raw_spec), pick));
    return std::string(v->version);
  };
  std::vector<AddedSpec> added;
  std::vector<WorkspaceAdd> workspace_adds;
  bool root_edited = false;
  // What the lockfile's root entry is made from: package.json, except that npm's rm also drops
  // a removed peer's peerDependenciesMeta from the tree (not from the file it saves).
  std::optional<manifest::Json> lock_root_json;
  if (removing) {
    // `lade uninstall`: the names leave package.json before resolving, as npm's rm does; the
    // install that follows prunes what nothing needs any more.
    for (const auto& [name, folder] : selected) {
      auto opened = open_workspace_edit(project.dir, folder);
      if (!opened) return fail(opened.error());
      WorkspaceAdd& w = *opened;
      for (const std::string& gone : req.remove) w.package_json->remove_dependency(gone);
      w.manifest = manifest::manifest_from_json(w.package_json->content());
      wiring.sourced().override_folder(w.dir, w.manifest);
      workspace_adds.push_back(std::move(w));
    }
    if (selected.empty() || req.include_workspace_root) {
      const manifest::Json before = project.package_json->content();
      for (const std::string& gone : req.remove) project.package_json->remove_dependency(gone);
      lock_root_json = project.package_json->content();
      auto meta = lock_root_json->find("peerDependenciesMeta");
      auto peers = before.find("peerDependencies");
      if (meta != lock_root_json->end() && meta->is_object() && peers != before.end() && peers->is_object()) {
        for (const std::string& gone : req.remove) {
          if (peers->contains(gone)) meta->erase(gone);
        }
        if (meta->empty()) lock_root_json->erase(meta);
      }
      root_manifest = manifest::manifest_from_json(*lock_root_json);
      project.manifest = root_manifest;
      root_edited = true;
    }
  }
  // What each workspace gets: with -w the specs named, for each workspace chosen; with
  // update --save each workspace's own dependencies (all workspaces' without -w, and the
  // root's unless only workspaces were chosen).
  std::vector<std::pair<std::string, std::vector<std::string>>> workspace_specs;  // folder, specs
  if (req.update_save) {
    if (selected.empty() || req.include_workspace_root) req.specs = update_save_specs(project.manifest);
    for (const auto& [name, folder] : selected.empty() ? workspaces : selected) {
      auto opened = open_workspace_edit(project.dir, folder);
      if (!opened) return fail(opened.error());
      auto specs = update_save_specs(opened->manifest);
      if (!specs.empty()) workspace_specs.emplace_back(folder, std::move(specs));
    }
    adding = !req.specs.empty() || !workspace_specs.empty();
  } else if (adding) {
    for (const auto& [name, folder] : selected) workspace_specs.emplace_back(folder, req.specs);
  }
  if (adding && !workspace_specs.empty()) {
    std::error_code ec;
    fs::path cwd = req.prefix.empty() ? fs::current_path(ec) : project.dir;
    for (const auto& [folder, specs] : workspace_specs) {
      auto opened = open_workspace_edit(project.dir, folder);
      if (!opened) return fail(opened.error());
      WorkspaceAdd& w = *opened;
      InstallRequest for_workspace = req;
      for_workspace.specs = specs;
      auto a = parse_added_specs_for(for_workspace, w.manifest, *w.package_json, w.dir, cwd, name_of, version_of_tag);
      if (!a) return fail(a.error());
      w.added = std::move(*a);
      for (const auto& spec : w.added) {
        for (const auto& m : spec.moved) reporter.warn("idealTree " + m);
      }
      // The workspace resolves from its package.json as it will be.
      wiring.sourced().override_folder(w.dir, w.manifest);
      workspace_adds.push_back(std::move(w));
    }
  }
  // With --include-workspace-root, npm adds to the root's package.json as well.
  if (adding && (selected.empty() || req.include_workspace_root)) {
    auto a = parse_added_specs(req, root_manifest, project, name_of, version_of_tag);
    if (!a) return fail(a.error());
    added = std::move(*a);
    for (const auto& spec : added) {
      for (const auto& m : spec.moved) reporter.warn("idealTree " + m);
    }
  }
  lockfile::ReadOptions read_options;
  read_options.root_extras = lockfile::entry_extras_from_json(lock_root_json ? *lock_root_json : project.package_json->content());
  for (const auto& [name, folder] : workspaces) read_options.workspaces.emplace_back(name, folder);
  read_options.read_link_target = [&](std::string_view location) -> std::optional<manifest::Json> {
    const fs::path file = project.dir / std::string(location) / "package.json";
    auto text = util::read_file(file);
    if (!text) return std::nullopt;
    auto doc = manifest::parse_json(*text, file.string());
    if (!doc || !doc->is_object()) return std::nullopt;
    return std::move(*doc);
  };
  // npm ci compares the tree an install would build with the lockfile alone: that second
  // reading of the lockfile (8-10 ms for the medium fixture) happens on its own thread while
  // the first one is read and resolved.
  struct VirtualTree {
    std::unique_ptr<tree::Tree> tree;
    util::Status status;
  };
  std::future<VirtualTree> ci_virtual_tree;
  if (req.command == Command::Ci) {
    ci_virtual_tree = std::async(std::launch::async, [&] {
      VirtualTree out{make_tree(), {}};
      auto v = lockfile::read_lockfile(lock_text, lock_path.string(), *out.tree, project.manifest,
                                       read_options);
      if (!v) {
        out.status = v.take_error();
      } else if (const auto& rules_error = out.tree->override_rules_error()) {
        out.status = *rules_error;
      } else {
        out.status = out.tree->assert_root_overrides();
      }
      return out;
    });
  }
  // npm ci loads the lockfile's tree before anything else, and any error there (an override
  // that conflicts with a direct dependency, say) is its usage error.
  std::optional<VirtualTree> ci_virtual;
  auto ci_lockfile_unusable = [&]() -> std::optional<util::Error> {
    if (req.command != Command::Ci) return std::nullopt;
    if (!ci_virtual) ci_virtual = ci_virtual_tree.get();
    if (ci_virtual->status) return std::nullopt;
    return util::make_error("EUSAGE", ci_needs_lockfile + "\n" + ci_virtual->status.error().message);
  };
  lockfile::LoadedLock loaded;
  bool loaded_lock = false;
  bool started_from_installed = false;
  // npm's `save` option (--dry-run turned saving off for itself, not for the tree it shows),
  // and whether the user asked for a change of the tree.
  const bool resolve_saves = req.command != Command::Ci && (req.save || req.dry_run);
  const bool resolve_mutates = adding || removing || req.update;
  std::optional<std::vector<tree::Node*>> old_lockfile_problems;
  if (have_lock && !update_all) {
    lockfile::ReadOptions ideal_options = read_options;
    ideal_options.recompute_flags = true;
    auto l = lockfile::read_lockfile(lock_text, lock_path.string(), *ideal_owner, root_manifest, ideal_options);
    if (!l && l.error().code == "EJSONPARSE" && req.command == Command::Install) {
      reporter.warn(l.error().message + " -- installing from package.json; " + lock_path.filename().string() +
                    " is written anew");
      lock_text.clear();
      have_lock = false;
      ideal_owner = make_tree();
    } else if (!l && l.error().code == "EJSONPARSE") {
      // npm ci takes a lockfile it cannot parse for none.
      return fail(util::make_error("EUSAGE", ci_needs_lockfile + "\n" + l.error().message));
    } else if (!l) {
      if (auto unusable = ci_lockfile_unusable()) return fail(*unusable);
      return fail(l.error());
    } else {
      loaded = std::move(*l);
      loaded_lock = true;
      if (loaded.needs_inflate) {
        // npm finds what needs a second look before it inflates (see lockfile_problem_nodes).
        resolver::ResolveOptions scan;
        scan.save = resolve_saves;
        scan.requested_tree_mutation = resolve_mutates;
        old_lockfile_problems = resolver::lockfile_problem_nodes(*ideal_owner, scan);
        inflate_old_lockfile(*ideal_owner, wiring, project.dir, reporter);
      }
    }
  }
  if (!have_lock || update_all) {
    // Without a lockfile npm starts from what node_modules holds (its hidden lockfile), so
    // that only what package.json no longer allows changes: a package there that still
    // satisfies its range is kept, not upgraded.
    // package-lock=false (and update with no names): npm's ideal tree starts from package.json
    // alone, not from what node_modules holds.
    const bool from_package_json_alone = update_all || !wiring.settings().package_lock;
    if (req.command != Command::Ci && !from_package_json_alone) {
      if (const auto& hidden = installed_record.text()) {
        lockfile::ReadOptions hidden_options = read_options;
        hidden_options.hidden = true;
        hidden_options.keep_flags = !installed_record.from_disk();
        if (lockfile::read_lockfile(*hidden, hidden_lock_path.string(), *ideal_owner, root_manifest,
                                    hidden_options)) {
          started_from_installed = !ideal_owner->root()->children().empty();
        }
        if (!started_from_installed) ideal_owner = make_tree();
      }
    }
    tree::Tree& fresh = *ideal_owner;
    if (!started_from_installed) {
      tree::Node* r = fresh.create_root(root_manifest);
      for (const auto& [name, folder] : workspaces) {
        fresh.add_edge(r, name, "file:" + folder, tree::EdgeType::Workspace);
      }
    }
    add_workspace_folders(fresh, workspaces, project.dir, wiring.sourced());
  }
  tree::Tree& ideal = *ideal_owner;
  tree::Node* root = ideal.root();
  if ((adding || removing) && !req.update && (loaded_lock || started_from_installed) &&
      (selected.empty() || req.include_workspace_root)) {
    // arborist applies the user's request with `tree.package = tree.package`: the root's edges
    // are made anew, so each package's edges in list the root's last (which npm's ERESOLVE
    // explanations show in that order).
    std::vector<std::pair<std::string, std::string>> workspace_edges;
    for (tree::Edge* e : root->edges_out()) {
      if (e->workspace()) workspace_edges.emplace_back(e->name(), e->raw_spec());
    }
    ideal.set_package(root, root->package);
    for (auto& [name, spec] : workspace_edges) ideal.add_edge(root, name, spec, tree::EdgeType::Workspace);
  }
  for (WorkspaceAdd& w : workspace_adds) {
    tree::Node* n = folder_node(ideal, w.folder);
    if (n && removing) {
      // Edges go: the package is replaced, as arborist's `node.package = ...` does.
      manifest::Manifest package = n->package;
      package.dependencies = w.manifest.dependencies;
      package.dev_dependencies = w.manifest.dev_dependencies;
      package.optional_dependencies = w.manifest.optional_dependencies;
      package.peer_dependencies = w.manifest.peer_dependencies;
      ideal.set_package(n, std::move(package));
    } else if (n) {
      n->package.dependencies = w.manifest.dependencies;
      n->package.dev_dependencies = w.manifest.dev_dependencies;
      n->package.optional_dependencies = w.manifest.optional_dependencies;
      n->package.peer_dependencies = w.manifest.peer_dependencies;
      ideal.load_edges(n, true);
    }
  }
  if (removing && !workspace_adds.empty() && loaded_lock) {
    // As if the workspaces' package.json had been edited before the lockfile was read: what
    // they no longer depend on is extraneous, and resolution prunes it.
    tree::reset_dep_flags(ideal);
    tree::calc_dep_flags(ideal);
  }
  auto load_time = since(t_load);

  // ---- resolve ----
  auto t_resolve = Clock::now();
  resolver::ResolveOptions ropts;
  ropts.legacy_peer_deps = ideal.legacy_peer_deps;
  ropts.strict_peer_deps = req.strict_peer_deps || wiring.settings().strict_peer_deps;
  ropts.force = req.force || wiring.settings().force;
  ropts.prefer_dedupe = req.prefer_dedupe;
  ropts.node_version = project.node_version;
  ropts.npm_version = wiring.settings().npm_version;
  ropts.before_ms = wiring.settings().before_ms;
  ropts.before_exempt = wiring.settings().before_exempt;
  if (req.command == Command::Install) {
    for (const auto& [name, folder] : selected) ropts.workspace_requests.push_back(folder);
  }
  if (const std::string& strategy = wiring.settings().install_strategy; strategy == "nested") {
    ropts.install_strategy = resolver::InstallStrategy::kNested;
  } else if (strategy == "shallow") {
    ropts.install_strategy = resolver::InstallStrategy::kShallow;
  } else if (strategy == "linked") {
    reporter.warn("install-strategy=linked (npm's isolated layout) is not supported yet: "
                  "installing hoisted, as install-strategy=hoisted does");
  }
  ropts.complete = req.package_lock_only || req.dry_run;
  ropts.loaded_from_lockfile = loaded_lock || started_from_installed;
  // npm's loadVirtual({root}) always marks the flags suspect: a tree from a lockfile loses what
  // nothing depends on (entries npm wrote as extraneous) before it is installed or written.
  ropts.flags_suspect = loaded_lock || started_from_installed;
  ropts.project_dir = project.dir;
  // update --save resolves as update does (by name) and only saves what it got.
  if (!req.update_save) {
    for (const auto& a : added) ropts.explicit_requests.push_back(a.spec.name);
  }
  ropts.update_names = req.update_names;
  ropts.save = resolve_saves;
  ropts.requested_tree_mutation = resolve_mutates;
  ropts.lockfile_problem_nodes = std::move(old_lockfile_problems);
  // npm reads yarn.lock beside package.json (not when it updates everything, nor with
  // package-lock=false): when it starts from nothing (no lockfile, nothing installed), each
  // dependency yarn locked resolves to what yarn chose; nodes lacking an integrity or URL take
  // yarn's; and the file is written again with the lockfiles (see lockfile/yarn_lock.h).
  std::optional<lockfile::YarnLock> yarn_lock;
  if (wiring.settings().package_lock && !update_all) {
    if (auto text = util::read_file(project.dir / "yarn.lock"); text && !text->empty()) {
      yarn_lock = lockfile::parse_yarn_lock(*text);
    }
  }
  if (yarn_lock && !loaded_lock && !started_from_installed) {
    ropts.pinned_spec = [&yarn_lock](const std::string& name, const std::string& spec) -> std::optional<resolver::SpecPin> {
      auto pin = lockfile::yarn_pin(*yarn_lock, name, spec);
      if (!pin) return std::nullopt;
      return resolver::SpecPin{std::move(pin->spec), std::move(pin->integrity)};
    };
  }
  for (const auto& w : workspace_adds) {
    if (req.update_save) break;
    for (const auto& a : w.added) ropts.explicit_folder_requests.emplace_back(w.folder, a.spec.name);
  }
  if (loaded_lock) {
    for (auto& [folder, name] : changed_git_refs(lock_text, ideal, project.dir)) {
      if (folder.empty()) {
        ropts.explicit_requests.push_back(name);
      } else {
        ropts.explicit_folder_requests.emplace_back(folder, name);
      }
    }
  }
  installer::InstallOptions platform;
  platform.arch = project.arch;
  // --os/--cpu/--libc (npm 10): another platform's optional packages.
  if (!wiring.settings().os.empty()) platform.platform = wiring.settings().os;
  if (!wiring.settings().cpu.empty()) platform.arch = wiring.settings().cpu;
  if (!wiring.settings().libc.empty()) platform.libc = wiring.settings().libc;
  // npm's reify unpacks no package its diff leaves out: such a bundle stays closed.
  {
    installer::InstallOptions here = platform;
    here.node_version = project.node_version;
    here.npm_version = wiring.settings().npm_version;
    ropts.left_out_here = [here, omit = install_omit(req, wiring.settings())](const tree::Node& n) {
      if (installer::omitted(n, omit)) return true;
      return n.flags.optional &&
             !(installer::platform_ok(n, here) && installer::engines_ok(n.package, here.node_version, here.npm_version));
    };
  }
  // A node_modules made by this install is filled while resolution goes on (see
  // installer/early_link.h); not when some packages are left out anyway (omitted types, a
  // workspace selection), nor for `ci`, which removes node_modules after resolving.
  std::error_code nm_ec;
  if (!req.package_lock_only && !req.dry_run && fs::exists(fs::symlink_status(node_modules, nm_ec)) &&
      !fs::is_directory(node_modules, nm_ec)) {
    // A file (or a dangling link) where node_modules goes: npm's reify removes it, and says so.
    reporter.warn("reify Removing non-directory " + node_modules.string());
    fs::remove(node_modules, nm_ec);
  }
  const bool node_modules_was_absent =
      fs::symlink_status(node_modules, nm_ec).type() == fs::file_type::not_found;
  // Stopped by a signal before the end, an install that made node_modules takes it away again
  // (npm's reify rolls back what it added): nothing half-installed stays for node to load.
  std::optional<util::InterruptCleanup> undo_new_node_modules;
  if (node_modules_was_absent && !req.package_lock_only) {
    undo_new_node_modules.emplace([node_modules] { remove_new_node_modules(node_modules); });
    undo_on_failure = [node_modules] { remove_new_node_modules(node_modules); };
  }
  if (!req.package_lock_only && !req.dry_run) {
    if (req.command == Command::Ci || node_modules_was_absent) {
      ropts.unpacked_when_installed = [](const tree::Node&) { return true; };
    } else {
      ropts.unpacked_when_installed = [dir = project.dir](const tree::Node& n) {
        return version_in_folder(dir / n.location()) != n.version();
      };
    }
  }
  std::unique_ptr<installer::EarlyLinker> early_linker;
  // A registry package whose folder can be made while resolution goes on (and again when it
  // ends, if the finished tree keeps it).
  auto linkable_early = [&platform](const tree::Node& n) {
    return !n.resolved.empty() && !n.is_link && installer::platform_ok(n, platform) && !inside_bundler(n) &&
           !has_local_path_dependency(n);
  };
  if (!req.package_lock_only && req.command != Command::Ci && selected.empty() &&
      effective_omit(req).empty() && wiring.settings().omit.empty() && node_modules_was_absent) {
    // Half the cores (one on two): more slowed the resolver down as much as they gained
    // (warm cache, medium benchmark fixture, a fresh ext4: 0.24-0.25 s without, 0.20-0.21 s
    // with one thread, 0.24 s with two).
    // What was installed is read first: the packages linked early are this install's, not
    // packages found in place (which would be reported as unchanged, not added).
    (void)installed_record.text();
    early_linker = std::make_unique<installer::EarlyLinker>(wiring.packages(), project.dir,
                                                            std::max<size_t>(1, wiring.pool().size() / 2));
  }
  if (!req.package_lock_only && req.command != Command::Ci && selected.empty() &&
      effective_omit(req).empty() && wiring.settings().omit.empty()) {
    // A version the prefetcher picks is nearly always placed later: its tarball starts
    // downloading now rather than when placement reaches it, which waits for every packument
    // before it in npm's order (a slow response held back the downloads of most of the small
    // benchmark fixture). Not when some packages are left out anyway (omitted types, a
    // workspace selection): their tarballs would be fetched for nothing.
    ropts.on_picked_ahead = [&wiring, platform](const manifest::Manifest& m) {
      if (m.dist.tarball.empty() || !installer::platform_ok(m, platform)) return;
      installer::TarballRef ref{m.dist.tarball, m.name, m.version};
      wiring.packages().prefetch(ref, resolver::registry_integrity(m.dist), m.dist.shasum);
    };
  }
  if (!req.package_lock_only) {
    // Tarballs start downloading as soon as a version is placed.
    ropts.on_placed = [&](const tree::Node& n) {
      if (n.resolved.empty() || n.is_link || !installer::platform_ok(n, platform)) return;
      const installer::TarballRef ref = installer::tarball_ref_for(n);
      if (early_linker && linkable_early(n)) {
        early_linker->placed(n.location(), ref, n.integrity, n.package.dist.shasum, n.version(), n.resolved);
      } else {
        wiring.packages().prefetch(ref, n.integrity, n.package.dist.shasum);
      }
    };
  }
  auto builder_owner = std::make_unique<resolver::IdealTreeBuilder>(ideal, wiring.packuments(), ropts);
  resolver::IdealTreeBuilder& builder = *builder_owner;
  util::Status built = builder.build();
  if (!built) {
    if (auto unusable = ci_lockfile_unusable()) return fail(*unusable);
  }
  // npm logs each warning as resolution meets it: those before an error are shown with it.
  for (const std::string& w : builder.stats().warnings) reporter.warn(w);
  if (!built) return fail(built.error());
  auto resolve_time = since(t_resolve);
  const resolver::ResolveStats resolve_stats = builder.stats();
  const std::unordered_set<const tree::Node*> opened_from_bundles = builder.opened_from_bundles();
  installer::InstallOptions iopts;
  iopts.project_dir = project.dir;
  iopts.platform = platform.platform;
  iopts.arch = platform.arch;
  iopts.libc = platform.libc;
  iopts.node_version = project.node_version;
  iopts.npm_version = wiring.settings().npm_version;
  iopts.node_modules_is_new = node_modules_was_absent;
  iopts.bundles_opened = builder.bundles_opened();
  iopts.bin_links = wiring.settings().bin_links;
  // npm checks engines and platforms, and leaves out the optional packages this system cannot
  // have, at the end of buildIdealTree: on the tree whose bundles are not opened yet.
  util::Status platform_check;
  std::vector<std::string> platform_warnings;
  util::Status ci_in_sync;
  builder.as_npm_resolved([&] {
    platform_check = installer::check_engines_and_platforms(
        ideal, iopts, project.node_version, req.engine_strict || wiring.settings().engine_strict,
        req.force || wiring.settings().force,
        req.package_lock_only ? std::unordered_set<const tree::Node*>{} : opened_from_bundles,
        install_omit(req, wiring.settings()), platform_warnings);
    if (platform_check) installer::leave_out_optionals_not_for_here(ideal, iopts);
    // Only below a bundle opened in this build can a package have become bundled since, or
    // have its flags changed by one.
    if (!iopts.bundles_opened.empty()) {
      const std::vector<std::string> omit = install_omit(req, wiring.settings());
      for (tree::Node* n : ideal.inventory()) {
        if (n->in_dep_bundle()) iopts.bundled_as_resolved.insert(n);
        if (installer::omitted(*n, omit)) iopts.omitted_as_resolved.insert(n);
        iopts.identity_as_resolved[n->location()] = n->integrity.empty() ? n->version() : n->integrity;
      }
    }
    // npm ci compares the tree an install would build with the lockfile alone, once that tree
    // has passed the platform check (which ends npm's buildIdealTree): before any bundle of a
    // package placed anew is opened, which could take away what was placed below it.
    if (req.command == Command::Ci && platform_check && !ci_lockfile_unusable()) {
      ci_in_sync = lockfile::check_ci_lockfile(*ci_virtual->tree, ideal, "lade", opened_from_bundles);
    }
  });
  // What resolution read (packuments, their version indexes, manifests) is most of the memory
  // held at this point and nothing after it reads it: freed on the side (10-13 ms for the
  // medium benchmark fixture) while the packages are linked, so that the lockfile is written
  // in the memory it leaves. Joined before the lockfile is written, or on any way out.
  std::jthread release_metadata([builder = std::move(builder_owner), &wiring]() mutable {
    builder.reset();
    wiring.forget_packuments();
  });
  if (yarn_lock) lockfile::fill_from_yarn_lock(ideal, *yarn_lock, project.dir, wiring.default_registry());

  for (const auto& w : platform_warnings) reporter.warn(w);
  if (!platform_check) return fail(platform_check.error());
  if (req.command == Command::Ci) {
    if (auto unusable = ci_lockfile_unusable()) return fail(*unusable);
    if (!ci_in_sync) return fail(ci_in_sync.error());
  }
  const bool scripts_run = !req.ignore_scripts && !wiring.settings().ignore_scripts && !scripts_rules.allow_all;
  // npm's strict-allow-scripts preflight: before anything is installed or written.
  if (scripts_run && scripts_rules.strict) {
    std::unordered_set<const tree::Node*> left_out;
    const std::vector<std::string> omit = effective_omit(req);
    for (tree::Node* n : ideal.inventory()) {
      if (installer::omitted(*n, omit) || installer::omitted(*n, wiring.settings().omit) ||
          (n->flags.optional && !installer::platform_ok(*n, iopts))) {
        left_out.insert(n);
      }
    }
    auto unreviewed = installer::unreviewed_scripts(ideal, scripts_rules.policy, project.dir, left_out);
    if (!unreviewed.empty()) return fail(installer::strict_allow_scripts_error(unreviewed));
  }

  // `lade add`: the saved spec follows the version that was picked.
  if (req.update_save) {
    // npm leaves a range alone when an edge into its package asks for that exact version
    // (reify's exactVersion): a react-dom that peer-depends on react "17.0.2" keeps "^17.0.1".
    auto keeps_its_range = [](const tree::Node& from, const AddedSpec& a) {
      const tree::Edge* e = from.edge_out(a.spec.name);
      const tree::Node* n = e ? e->to() : nullptr;
      if (!n) return true;
      for (const tree::Edge* in : n->edges_in()) {
        if (resolver::classify_registry_spec(in->spec()).kind == resolver::SpecKind::kVersion) return true;
      }
      return false;
    };
    std::erase_if(added, [&](const AddedSpec& a) { return keeps_its_range(*root, a); });
    for (WorkspaceAdd& w : workspace_adds) {
      const tree::Node* n = folder_node(ideal, w.folder);
      std::erase_if(w.added, [&](const AddedSpec& a) { return !n || keeps_its_range(*n, a); });
    }
  }
  if (adding) {
    if (auto st = settle_added_specs(added, *root, project, req, wiring.settings()); !st) {
      return fail(st.error());
    }
    for (WorkspaceAdd& w : workspace_adds) {
      tree::Node* n = folder_node(ideal, w.folder);
      if (!n) continue;
      auto st = settle_added_specs_for(w.added, *n, *w.package_json, w.dir, req, wiring.settings());
      if (!st) return fail(st.error());
    }
  }

  // ---- reify ----
  installer::InstallReport report;
  lockfile::WriteOptions wopts;
  wopts.format = lockfile::detect_json_format(project.package_json_text);
  wopts.omit_registry_resolved = wiring.settings().omit_lockfile_registry_resolved;
  wopts.project_folder_name = project.dir.filename().string();
  // What package.json says beyond the tree (an empty devDependencies, the object form of
  // workspaces), as it is now (after `lade add`).
  lockfile::LockExtras extras = loaded_lock ? loaded.extras : lockfile::LockExtras{};
  extras.entries[root] = lockfile::entry_extras_from_json(lock_root_json ? *lock_root_json : project.package_json->content());
  // The same for every workspace, whose package.json npm reads from disk for its entry (an
  // empty devDependencies in it is written as such)...
  for (const auto& [_, folder] : workspaces) {
    tree::Node* n = folder_node(ideal, folder);
    if (!n) continue;
    if (auto json = read_options.read_link_target(folder)) extras.entries[n] = lockfile::entry_extras_from_json(*json);
  }
  // ... and for a workspace edited by `lade add -w` / `lade uninstall -w`: an uninstall that
  // takes its last devDependency leaves no devDependencies in package.json, nor in its entry.
  for (const WorkspaceAdd& w : workspace_adds) {
    if (tree::Node* n = folder_node(ideal, w.folder)) extras.entries[n] = lockfile::entry_extras_from_json(w.package_json->content());
  }
  wopts.extras = &extras;
  // npm keeps a v2 lockfile v2 (it converts v1, and writes v3 when there is none).
  if (loaded_lock && loaded.lockfile_version == 2) wopts.lockfile_version = 2;
  // One from a newer npm keeps its number (written in v3's form), as npm 11 keeps it.
  if (loaded_lock && loaded.lockfile_version > 3) wopts.lockfile_version = loaded.lockfile_version;
  // lockfile-version=1, 2 or 3 asks for that version whatever the lockfile was.
  if (const auto& v = wiring.settings().lockfile_version) wopts.lockfile_version = *v;
  // package-lock=false leaves package-lock.json alone, not package.json.
  const bool save_package_json = req.save && req.command != Command::Ci;
  // npm's update writes the lockfile also when it leaves package.json alone.
  const bool save = (save_package_json || (req.update && !req.dry_run)) &&
                    wiring.settings().package_lock;
  lockfile::WriteOptions hopts = wopts;
  hopts.hidden = true;
  hopts.lockfile_version = 3;
  // npm's hidden lockfile names the project only when package-lock.json was read or is written
  // (not with package-lock=false, nor --no-save without one).
  hopts.without_name = !loaded_lock && !save;
  hopts.exclude = [&](const tree::Node& n) { return report.not_installed.count(&n) > 0; };
  // The lockfiles' text, when made while the packages were being linked (see
  // InstallOptions::while_linking); the hidden one holds if no optional package failed.
  std::optional<std::string> prebuilt_lock, prebuilt_hidden;
  size_t prebuilt_not_installed = 0;
  auto t_reify = Clock::now();
  // What removals of node_modules cut short by a kill left in the project goes.
  if (!req.package_lock_only && !req.dry_run) util::remove_abandoned(project.dir, kNodeModulesAside);
  // Lives until the lockfiles are written (see Reifier::finish).
  // ci deletes the old node_modules while it installs (see remove_old_node_modules).
  std::future<void> old_node_modules_removed;
  std::optional<installer::Reifier> reifier;
  bool bundled_taken_from_installed = false;
  if (!req.package_lock_only) {
    if (req.command == Command::Ci) {
      std::error_code ec;
      // Stopped half way, ci leaves no node_modules: nothing half-installed (or half-removed) for
      // the next install to take for installed. The old one is moved aside before it is deleted.
      if (!undo_new_node_modules) {
        undo_new_node_modules.emplace([node_modules] { remove_new_node_modules(node_modules); });
      }
      old_node_modules_removed = remove_old_node_modules(node_modules);
      undo_on_failure = [node_modules] { remove_new_node_modules(node_modules); };
      // npm ci empties every workspace's node_modules too.
      for (const auto& [_, folder] : workspaces) fs::remove_all(project.dir / folder / "node_modules", ec);
    }
    installer::InstalledTree installed;
    if (early_linker) {
      // What is still waiting to be linked is linked now if the finished tree keeps it there.
      std::unordered_map<std::string, const tree::Node*> placed;
      for (const tree::Node* n : ideal.inventory()) placed.emplace(n->location(), n);
      installed = early_linker->finish([&](const std::string& location, const installer::InstalledPackage& p) {
        auto it = placed.find(location);
        if (it == placed.end()) return false;
        const tree::Node& n = *it->second;
        return linkable_early(n) && n.version() == p.version && n.resolved == p.resolved && n.integrity == p.integrity;
      });
    }
    if (req.command != Command::Ci) {
      if (const auto& hidden = installed_record.text()) {
        auto actual = make_tree();
        lockfile::ReadOptions hidden_options;
        hidden_options.hidden = true;
        // As npm's loadActual: the flags the entries record, walked on from the root (below).
        hidden_options.keep_flags = !installed_record.from_disk();
        // npm loads the installed tree with the workspaces' package.json as they are now: what
        // a workspace no longer depends on is not reached from it (and stays, extraneous).
        if (!selected.empty()) hidden_options.read_link_target = read_options.read_link_target;
        if (auto h = lockfile::read_lockfile(*hidden, hidden_lock_path.string(), *actual, project.manifest,
                                             hidden_options)) {
          for (const auto& [loc, node] : h->nodes) {
            if (loc.empty()) continue;
            installer::InstalledPackage& p = installed[loc];
            p = installer::InstalledPackage{node->version(), node->resolved, node->integrity,
                                            node->is_link, node->is_link ? node->realpath : ""};
            const auto& bins = (node->is_link && node->target ? node->target : node)->package.bin;
            for (const auto& [bin, _] : bins) p.bins.push_back(bin);
          }
          if (!selected.empty()) {
            for (const std::string& loc : reached_from_selection(*actual, selected, req.include_workspace_root)) {
              if (auto it = installed.find(loc); it != installed.end()) it->second.in_selection = true;
            }
          }
          take_changed_folders_as_found(installed, project.dir, hidden_lock_path);
          // The bundled packages of a bundler that stays are the installed ones, flagged as the
          // installed tree flags them; npm's next install takes them again from the tree this
          // one leaves, which may differ: not an install with nothing to do.
          if (installer::take_bundled_from_installed(ideal, *actual, install_omit(req, wiring.settings()))) bundled_taken_from_installed = true;
        }
      }
      // An install that stops half way must not look complete next time; one that fails before
      // it changes anything leaves the old tree complete.
      iopts.old_tree_markers = {fs::relative(hidden_lock_path, project.dir).string(),
                                fs::relative(state_path, project.dir).string()};
    }
    iopts.omit = install_omit(req, wiring.settings());
    iopts.ignore_scripts = req.ignore_scripts || wiring.settings().ignore_scripts;
    iopts.script_policy = scripts_rules.policy;
    iopts.script_run.node_gyp = wiring.settings().node_gyp;
    iopts.script_run.node_gyp_bin = wiring.settings().node_gyp_bin;
    iopts.script_run.env = script_env;
    iopts.script_run.quiet = !foreground_scripts;
    iopts.allow_all_scripts = scripts_rules.allow_all;
    iopts.on_progress = [&](size_t done, size_t total) { reporter.progress("fetching", done, total); };
    std::unordered_set<const tree::Node*> selection;
    if (!selected.empty() && (req.command == Command::Install || req.command == Command::Ci)) {
      std::vector<std::string> names;
      for (const auto& [name, _] : selected) names.push_back(name);
      selection = installer::workspace_dependency_set(ideal, names, req.include_workspace_root);
      iopts.only = [&selection](const tree::Node& n) { return selection.count(&n) > 0; };
    }
    iopts.while_linking = [&](const std::unordered_set<const tree::Node*>& not_installed) {
      // ci writes no lockfile, but compares it with the one an install would write (below).
      if (save || req.command == Command::Ci) {
        lockfile::WriteOptions lock_options = wopts;
        lock_options.exclude = bundled_by_one_of(not_installed, opened_from_bundles);
        prebuilt_lock = lockfile::write_lockfile(ideal, lock_options);
      }
      lockfile::WriteOptions early = hopts;
      early.exclude = [&not_installed](const tree::Node& n) { return not_installed.count(&n) > 0; };
      prebuilt_hidden = lockfile::write_lockfile(ideal, early);
      prebuilt_not_installed = not_installed.size();
    };
    reifier.emplace(wiring.packages(), wiring.pool(), iopts);
    auto r = reifier->reify(ideal, installed);
    if (!r) return fail(r.error());
    report = std::move(*r);
    for (const auto& w : report.warnings) reporter.warn(w);
    if (report.default_gyp_installs > 0) {
      // Written before the packages were on disk: without their new "hasInstallScript".
      prebuilt_lock.reset();
      prebuilt_hidden.reset();
    }
  } else if (req.dry_run) {
    installer::leave_out_optionals_not_for_here(ideal, iopts);
    report = dry_run_report(ideal, installed_record, project.manifest, effective_omit(req));
  }
  auto reify_time = since(t_reify);
  // npm's reify-finish: every installed package whose install scripts the policy leaves
  // unreviewed (also those an earlier install put there), warned about at the end.
  if (scripts_run) {
    std::unordered_set<const tree::Node*> left_out(report.not_installed.begin(), report.not_installed.end());
    if (req.package_lock_only || req.dry_run) {
      const std::vector<std::string> omit = effective_omit(req);
      for (tree::Node* n : ideal.inventory()) {
        if (installer::omitted(*n, omit) || (n->flags.optional && !installer::platform_ok(*n, iopts))) left_out.insert(n);
      }
    }
    summary.unreviewed_scripts = installer::unreviewed_scripts(ideal, scripts_rules.policy, project.dir, left_out);
  }
  if (node_modules_was_absent) {
    // Nothing to install (no dependencies, or only other platforms'): npm makes no node_modules.
    std::error_code ec;
    if (fs::is_empty(node_modules, ec) && !ec) fs::remove(node_modules, ec);
  }

  // ---- write ----
  if (release_metadata.joinable()) release_metadata.join();
  auto t_write = Clock::now();
  const bool write_hidden = !req.package_lock_only && fs::exists(node_modules);
  // Both lockfiles only read the tree: built while the packages were linked when that could
  // be, else the hidden one on a second thread while package-lock.json is (10-15 ms each for
  // the medium benchmark fixture).
  const bool hidden_prebuilt = prebuilt_hidden && report.not_installed.size() == prebuilt_not_installed;
  std::future<std::string> hidden_text;
  if (write_hidden && !hidden_prebuilt) {
    hidden_text = std::async(std::launch::async, [&ideal, &hopts] { return lockfile::write_lockfile(ideal, hopts); });
  }
  if (save_package_json && (adding || removing)) {
    // Only the package.json files something was added to or removed from (npm saves the trees
    // it edited: with -w alone, not the root's, whatever its layout).
    if (!added.empty() || root_edited) {
      if (auto st = project.save_package_json(); !st) return fail(st.error());
    }
    for (WorkspaceAdd& w : workspace_adds) {
      if (auto st = w.package_json->save(); !st) return fail(st.error());
    }
  }
  const std::function<bool(const tree::Node&)> lock_exclude =
      req.package_lock_only ? std::function<bool(const tree::Node&)>() : bundled_by_one_of(report.not_installed, opened_from_bundles);
  if (save) {
    if (prebuilt_lock && report.not_installed.size() != prebuilt_not_installed) prebuilt_lock.reset();
    lockfile::WriteOptions lock_options = wopts;
    lock_options.exclude = lock_exclude;
    std::string text = prebuilt_lock ? std::move(*prebuilt_lock) : lockfile::write_lockfile(ideal, lock_options);
    if (text != lock_text) {
      if (auto st = util::write_file_atomic(lock_path, text); !st) return fail(st.error());
    }
    lock_text = text;
  }
  std::string hidden_lock_text;
  if (write_hidden) hidden_lock_text = hidden_prebuilt ? std::move(*prebuilt_hidden) : hidden_text.get();
  // npm writes yarn.lock with package-lock.json, from the tree it resolved, and again with the
  // hidden lockfile, from the tree as installed: without what was left out, or with
  // --package-lock-only without the optional packages this platform cannot have. The last one
  // stays. (npm saves the hidden lockfile's tree also when there is no node_modules to hold it.)
  if (yarn_lock && (save || !req.package_lock_only)) {
    if (save_package_json && !added.empty()) {
      // The root's dependencies read as package.json now says, as in npm, whose tree takes the
      // saved package.json before the files are written: `add x@3` is "x@^3.2.7" in yarn.lock.
      const manifest::Manifest saved = manifest::manifest_from_json(project.package_json->content());
      for (tree::Edge* e : std::vector<tree::Edge*>(ideal.root()->edges_out())) {
        const manifest::DependencyList& section = e->dev()                                 ? saved.dev_dependencies
                                                  : e->type() == tree::EdgeType::Optional ? saved.optional_dependencies
                                                  : e->peer()                              ? saved.peer_dependencies
                                                                                           : saved.dependencies;
        for (const auto& [name, spec] : section) {
          if (name == e->name() && spec != e->raw_spec()) ideal.set_edge_spec(e, spec);
        }
      }
    }
    const fs::path yarn_path = project.dir / "yarn.lock";
    std::function<bool(const tree::Node&)> left_out = hopts.exclude;
    if (req.package_lock_only) {
      installer::leave_out_optionals_not_for_here(ideal, iopts);
      left_out = [](const tree::Node& n) { return n.inert; };
    }
    std::string yarn_text =
        lockfile::yarn_lock_text(ideal, project.dir, &*yarn_lock, wiring.default_registry(), left_out);
    // Nothing installed: npm's second writing has no entries, and the first one stays.
    if (yarn_text.empty() && save) {
      yarn_text = lockfile::yarn_lock_text(ideal, project.dir, &*yarn_lock, wiring.default_registry(), lock_exclude);
    }
    auto old_text = util::read_file(yarn_path);
    if (!yarn_text.empty() && (!old_text || yarn_text != *old_text)) {
      if (auto st = util::write_file_atomic(yarn_path, yarn_text); !st) return fail(st.error());
    }
  }
  if (write_hidden) {
    if (auto st = util::write_file_atomic(hidden_lock_path, hidden_lock_text); !st) {
      return fail(st.error());
    }
    // An optional dependency just added leaves a copy in the lockfile's root entry that the next
    // install drops (see settle_added_specs_for): that install must not be skipped as up to date.
    auto optional_added = [](const std::vector<AddedSpec>& specs) {
      return std::any_of(specs.begin(), specs.end(), [](const AddedSpec& a) {
        return a.kind == manifest::DependencyKind::kOptional;
      });
    };
    bool lock_root_settles_later = optional_added(added);
    for (const WorkspaceAdd& w : workspace_adds) lock_root_settles_later |= optional_added(w.added);
    // ci accepts a lockfile that an install would still rewrite (a range widened in
    // package.json that the locked version satisfies): the next install must not be skipped.
    // Made while the packages were linked; when it was not, the next install finds out.
    const bool ci_lock_stale = req.command == Command::Ci && !(prebuilt_lock && *prebuilt_lock == lock_text);
    // Only part of the tree is installed: the next full install has work to do.
    const bool partial = !selected.empty();
    // The lockfile's root left out what package.json still says (a removed peer's meta).
    const bool lock_root_differs = lock_root_json && *lock_root_json != project.package_json->content();
    // From an old lockfile npm leaves unresolved what npm 6 never recorded (a peer, see
    // lockfile_problem_nodes); the next install, from the lockfile version 3 written now, adds it.
    const bool from_old_lockfile = loaded_lock && loaded.needs_inflate;
    // A lockfile without registry URLs leaves every dependency asked for by a dist-tag unmet
    // when it is read again (only a package with a tarball URL meets a tag): the next install
    // places those packages again.
    const bool tags_unmet_on_reading = wiring.settings().omit_lockfile_registry_resolved && meets_a_tag_by_url(ideal);
    // Only overrides make the order the lockfile is read in matter.
    const bool overrides_unsettled_on_reading =
        ideal.root()->overrides && !lock_text.empty() &&
        met_otherwise_on_reading(ideal, *make_tree(), lock_text, lock_path.string(), read_options);
    if (lock_root_settles_later || report.optional_script_failed || ci_lock_stale || partial || lock_root_differs ||
        from_old_lockfile || resolve_stats.flags_change_on_reinstall || bundled_taken_from_installed ||
        resolve_stats.bundle_needs_left_unresolved || tags_unmet_on_reading || overrides_unsettled_on_reading) {
      std::error_code ec;
      fs::remove(state_path, ec);
    } else if (auto pj = util::read_file(project.dir / "package.json"); pj || !fs::exists(project.dir / "package.json")) {
      // The state file itself is part of the listing: made empty first, then written in place
      // (a new file would be a new entry of node_modules, and each new file there costs the
      // file system a search for a free inode). So are the listings.
      const bool keep_state = util::write_file_atomic(state_path, "").ok();
      const bool keep_listings = util::write_file_atomic(listings_path, "").ok();
      installer::FolderListings listings;
      std::vector<std::string> nested;
      // A node_modules this install made from nothing holds a nested node_modules only where the
      // tree has one: no probe of each of a thousand package folders for one.
      std::optional<std::unordered_set<std::string>> nested_in_tree;
      if (node_modules_was_absent || req.command == Command::Ci) {
        nested_in_tree.emplace();
        for (const tree::Node* n : ideal.inventory()) {
          if (n->is_link || n->children().empty()) continue;
          if (std::string loc = n->location(); loc.starts_with("node_modules/")) {
            nested_in_tree->insert(loc.substr(std::string_view("node_modules/").size()) + "/node_modules");
          }
        }
      }
      std::string fp = install_fingerprint((pj ? *pj : std::string()) + joined(read_linked_package_jsons(project)), lock_text, req,
                                           wiring.settings(), scripts_rules.fingerprint) +
                       "\n" +
                       installer::node_modules_digest(node_modules, nested_in_tree ? &*nested_in_tree : nullptr, &nested,
                                                      nullptr, &listings) +
                       "\n";
      for (size_t i = 0; i < nested.size(); ++i) fp += (i ? "\t" : "") + nested[i];
      if (!summary.unreviewed_scripts.empty()) fp += "\n" + unreviewed_to_state(summary.unreviewed_scripts);
      if (keep_state) (void)util::overwrite_file(state_path, fp);
      // Should anything have changed an entry of node_modules since it was listed (setting its
      // change time), the time is taken again now, its names being the ones just listed.
      struct stat top {};
      if (auto it = listings.folders.find(""); it != listings.folders.end() && ::stat(node_modules.c_str(), &top) == 0) {
        it->second.ctime_sec = top.st_ctim.tv_sec;
        it->second.ctime_nsec = top.st_ctim.tv_nsec;
      }
      if (keep_listings) (void)util::overwrite_file(listings_path, listings.serialize());
    }
  }
  if (reifier) reifier->finish();
  auto write_time = since(t_write);
  if (undo_new_node_modules) undo_new_node_modules->dismiss();
  undo_on_failure = nullptr;

  // npm install (no packages named) and npm ci run the root project's own install scripts last,
  // whatever else the install did (also with --package-lock-only or --dry-run).
  if (root_scripts_may_run && !wiring.settings().ignore_scripts) {
    const std::string id = project.manifest.name.empty() ? project.dir.filename().string()
                                                          : project.manifest.name + "@" + project.manifest.version;
    installer::ScriptRun how;
    how.npm_command = req.command == Command::Ci ? "ci" : "install";
    how.node_gyp = wiring.settings().node_gyp;
    how.node_gyp_bin = wiring.settings().node_gyp_bin;
    how.env = script_env;
    auto scripts = installer::run_root_install_scripts(
        project.manifest, project.dir, how,
        [&](const std::string& event, const std::string& command) { reporter.script_banner(id, event, command); });
    if (!scripts) return fail(scripts.error());
  }

  summary.added = report.added;
  summary.removed = report.removed;
  summary.changed = report.changed;
  summary.add = std::move(report.added_packages);
  summary.change = std::move(report.changed_packages);
  summary.remove = std::move(report.removed_packages);
  // Only listings show the order (a plain install prints the counts).
  if (req.json || req.dry_run || req.long_listing) {
    installer::order_as_npm_diff(ideal, summary.add, summary.change, summary.remove);
  }
  summary.project_dir = project.dir.string();
  summary.dry_run = req.dry_run;
  summary.long_listing = req.long_listing;
  if (old_node_modules_removed.valid()) old_node_modules_removed.wait();  // all of the work is in the time
  summary.elapsed = since(start);
  summary.timing = {{"load", load_time},
                    {"resolve", resolve_time},
                    {"fetch", report.fetch_extract_time},
                    {"link", report.link_time},
                    {"scripts", report.scripts_time},
                    {"reify", reify_time},
                    {"lockfile", write_time},
                    {"total", summary.elapsed}};
  summary.counters = wiring.counters();
  // Per distinct package (several locations can share one tarball), early starts included.
  summary.counters.push_back({"tarballs_downloaded", wiring.packages().downloads()});
  summary.counters.push_back({"store_hits", wiring.packages().store_hits()});
  summary.counters.push_back({"linked_early", early_linker ? early_linker->linked() : 0});
  summary.counters.push_back({"manifests_resolved", resolve_stats.manifests_fetched});
  reporter.summary(summary);

  // The process ends next, and what is left is memory: the trees and the wiring's caches
  // (the packuments went after resolution). Background work is finished (cache writes land), then exit reclaims the
  // memory wholesale: freeing it object by object took a fifth of the main thread's CPU in a
  // warm-cache resolution of the medium benchmark fixture.
  wiring.finish_background_work();
  leave_to_exit(std::move(*wiring_r), std::move(ideal_owner));
  return 0;
}

}  // namespace lade::cli
