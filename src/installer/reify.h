#pragma once
// Reification: make node_modules match the ideal tree. The plan is a diff of the ideal tree
// against what the hidden lockfile says is installed; only changed locations are touched.
// Packages come from the store (verified and extracted once), tarballs missing from the store are
// downloaded concurrently and verified before anything of them reaches node_modules.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "installer/script_policy.h"
#include "installer/scripts.h"
#include "store/store.h"
#include "tree/tree.h"
#include "util/result.h"
#include "util/thread_pool.h"

namespace lade::installer {

namespace fs = std::filesystem;

/// Which tarball to fetch. `url` may be empty for registry packages whose lockfile entry
/// omits "resolved" (omit-lockfile-registry-resolved): the source then asks the package's
/// registry for `<registry><name>/-/<unscoped name>-<version>.tgz`, as npm does.
struct TarballRef {
  std::string url;
  std::string package_name;
  std::string version;
  /// Where the bytes come from: a registry (its credentials apply), another URL (none but the
  /// URL's own), a tarball file (`url` is "file:<path relative to the project>"), a git
  /// repository (`url` is "git+<repository>#<commit>"; the source packs the checkout).
  enum class Kind { kRegistry, kRemote, kFile, kGit } kind = Kind::kRegistry;
};

/// The TarballRef for a node to install, its kind read from `resolved` and its edges in.
TarballRef tarball_ref_for(const tree::Node& node);

/// What the installer needs from the network: tarball bytes.
class TarballSource {
 public:
  virtual ~TarballSource() = default;
  /// Starts a download. `done` is called exactly once, from any thread, with the whole body.
  virtual void fetch(const TarballRef& ref, std::function<void(util::Result<std::string>)> done) = 0;
};

/// One installed package as the hidden lockfile records it.
struct InstalledPackage {
  std::string version;
  std::string resolved;
  std::string integrity;
  bool is_link = false;
  /// For links: the folder linked to.
  std::string link_target;
  /// The names of its bins (linked in the .bin folder of the node_modules it is in).
  std::vector<std::string> bins{};
  /// Linked by this install while it resolved (EarlyLinker), not by an earlier one: kept when
  /// the ideal tree has the same package there, reported as added, its scripts still to run.
  bool early = false;
  /// For early ones: every file was linked.
  bool complete = true;
  /// For early ones: the package has a binding.gyp (see store::LinkStats::root_binding_gyp).
  bool binding_gyp = false;
  /// With a selection (install -w): the selected workspaces reach this package in the installed
  /// tree (npm's diff filter), so the install removes it when the new tree has no place for it.
  bool in_selection = false;
};
/// location -> package.
using InstalledTree = std::map<std::string, InstalledPackage>;

struct InstallOptions {
  fs::path project_dir;
  /// Dependency types left out: "dev", "optional", "peer".
  std::vector<std::string> omit;
  bool ignore_scripts = false;
  /// Packages it denies keep their bins but do not run their install scripts, unless
  /// `allow_all_scripts` (npm's --dangerously-allow-all-scripts).
  ScriptPolicy script_policy;
  bool allow_all_scripts = false;
  /// How dependencies' scripts run (npm's node-gyp).
  ScriptRun script_run;
  /// process.platform / process.arch / libc family of the running node.
  std::string platform = "linux";
  std::string arch = "x64";
  std::string libc = "glibc";
  /// The running node's version ("20.1.0" or "v20.1.0"); empty when unknown (engines are then
  /// not checked).
  std::string node_version;
  /// The version of the npm lade answers as ("11.6.2"; see Settings::npm_version); empty:
  /// engines.npm is not checked.
  std::string npm_version;
  /// npm's bin-links: link packages' bins into node_modules/.bin.
  bool bin_links = true;
  /// node_modules did not exist when this install began: whatever is in it, this install put
  /// there (no need to look for folders nobody knows).
  bool node_modules_is_new = false;
  /// The packages that were in a dependency bundle when resolution ended, before the bundles
  /// of packages placed anew were opened: npm's diff passes over those, and makes the folder of
  /// every other package it adds (see Reifier::reify). Filled only when bundles_opened is not
  /// empty: no package can have become bundled otherwise.
  std::unordered_set<const tree::Node*> bundled_as_resolved;
  /// The packages whose bundles resolution opened: npm unpacks each to read its bundle, also
  /// one that a shallower bundle has since made bundled (it needs the package, and that
  /// tarball does not hold it), which would otherwise be taken to arrive with it.
  std::unordered_set<const tree::Node*> bundles_opened;
  /// The packages `omit` leaves out by the flags they had before those bundles were opened:
  /// npm's diff decides there, so one a bundled package reaches later (no longer dev, say) is
  /// still left out. Filled only when bundles_opened is not empty; the packages' flags decide
  /// otherwise.
  std::unordered_set<const tree::Node*> omitted_as_resolved;
  /// Where each package was, with its integrity (its version when it has none), in the tree
  /// before those bundles were opened: npm's first diff, which decides what it moves aside,
  /// sees that tree; a package a bundle made unneeded goes only after its second diff. Filled
  /// only when bundles_opened is not empty.
  std::unordered_map<std::string, std::string> identity_as_resolved;
  /// Called with short progress lines ("fetched 12/80"); may be empty.
  std::function<void(size_t done, size_t total)> on_progress;
  /// Files (relative to the project) that mark the old tree as complete, such as the hidden
  /// lockfile: removed just before the install first changes anything in the project's folders
  /// (after every download, when node_modules was there already), and put back if it fails.
  std::vector<std::string> old_tree_markers;
  /// When set, only nodes it accepts are installed (`install -w <workspace>`); the others are
  /// left as they are on disk, and nothing else is removed.
  std::function<bool(const tree::Node&)> only;
  /// Called on the reifying thread once every package is on its way (downloads and links run
  /// on the pool), with the nodes that will not be installed unless an optional package fails
  /// (then InstallReport::not_installed has more): work that only reads the tree, such as
  /// writing the lockfiles' text, is done meanwhile. Not called when some package's integrity
  /// is still to come from the store, which fills it in while linking.
  std::function<void(const std::unordered_set<const tree::Node*>& not_installed)> while_linking;
};

/// One package an install added, changed or removed, as npm's --json lists it.
struct ReportedPackage {
  std::string name;
  std::string version;
  std::string location;      // in the project ("node_modules/a")
  std::string from_version;  // a changed package's version before
  /// Place in npm's listing of adds, changes and removes together (see diff_order.h).
  size_t diff_rank = 0;
  /// A link (workspace, `file:` folder): npm lists a removed one before the packages beside it.
  bool is_link = false;
};

struct InstallReport {
  /// What each count is made of (npm's add, change and remove lists).
  std::vector<ReportedPackage> added_packages, changed_packages, removed_packages;
  size_t added = 0;
  size_t removed = 0;
  size_t changed = 0;
  size_t unchanged = 0;
  size_t tarballs_downloaded = 0;
  size_t store_hits = 0;
  size_t skipped_optional = 0;
  /// Nodes of the ideal tree left out (omitted, other platforms, failed optional): the hidden
  /// lockfile does not list them.
  std::unordered_set<const tree::Node*> not_installed;
  /// An optional package's install script failed (it was left out): npm tries it again on the
  /// next install, so this tree is not "up to date".
  bool optional_script_failed = false;
  /// Packages found to need npm's default `node-gyp rebuild` (a binding.gyp, no install
  /// script): they now say they have an install script, which the lockfiles record.
  size_t default_gyp_installs = 0;
  std::vector<std::string> warnings;
  std::chrono::milliseconds fetch_extract_time{0};
  std::chrono::milliseconds link_time{0};
  std::chrono::milliseconds scripts_time{0};
};

/// Whether a lockfile location is a package folder inside some node_modules (not a workspace
/// or a `file:` folder of the project's own).
bool in_node_modules(const std::string& loc);
/// True when `package`'s engines.node accepts `node_version` and its engines.npm accepts
/// `npm_version` (npm-install-checks' checkEngine: prereleases count, an engine that is not a
/// range accepts none). An engine or a version that is missing is not checked.
bool engines_ok(const manifest::Manifest& package, const std::string& node_version,
                const std::string& npm_version);
/// npm's #checkEngineAndPlatform for optional packages: each one that cannot be installed here
/// (another platform, or an engines.node this node does not satisfy) is made inert with its
/// optional set, one after the other in inventory order (edges from inert nodes no longer count,
/// so what two such packages share goes with the second). Returns the nodes made inert.
std::unordered_set<tree::Node*> leave_out_optionals_not_for_here(tree::Tree& ideal,
                                                                 const InstallOptions& options);
/// arborist's Diff for a package with bundled dependencies that the install leaves as it is
/// (below a package that changes too: what stays in its folder stays): the bundled packages
/// are the ones installed in it, flagged as the installed tree flags them (npm moves those
/// nodes into the ideal tree), whatever resolution
/// or the lockfile's entries say. `installed` is the tree the hidden lockfile records, with the
/// flags its entries give; they are walked on from its root first, as npm's loadActual does.
/// A package the install leaves out (inert: an optional one that cannot go here; or one `omit`
/// drops) does not stay: npm's diff takes it for absent. Returns whether `ideal` changed.
bool take_bundled_from_installed(tree::Tree& ideal, tree::Tree& installed, const std::vector<std::string>& omit);
/// True when `node` can be installed on this platform (npm-install-checks' checkPlatform).
bool platform_ok(const tree::Node& node, const InstallOptions& options);
bool platform_ok(const manifest::Manifest& package, const InstallOptions& options);

/// npm's check before reifying (and for --package-lock-only too): every package neither optional
/// nor omitted (`omit`: dev, optional, peer) must
/// suit this platform (EBADPLATFORM) and, with engine-strict, this node's version
/// (EBADENGINE; otherwise a warning). `force` skips both. Packages that came out of a bundling
/// package's tarball in this resolution (`not_yet_unpacked`) are not checked: npm opens such
/// tarballs before this check only for --package-lock-only (pass none then), and otherwise
/// knows of their bundled packages once they are unpacked (a lockfile's bundled entries are
/// checked).
util::Status check_engines_and_platforms(tree::Tree& ideal, const InstallOptions& options,
                                         const std::string& node_version, bool engine_strict, bool force,
                                         const std::unordered_set<const tree::Node*>& not_yet_unpacked,
                                         const std::vector<std::string>& omit, std::vector<std::string>& warnings);
/// arborist's Diff filter for `install -w`: the root, the named workspaces' links and folders,
/// and every node reachable from them through edges (links followed to their folders); with
/// `include_root` (--include-workspace-root) also what the root's own edges reach.
std::unordered_set<const tree::Node*> workspace_dependency_set(tree::Tree& tree,
                                                               const std::vector<std::string>& names,
                                                               bool include_root = false);

/// Is this node left out by `omit` (arborist's omit rules on dep flags)?
bool omitted(const tree::Node& node, const std::vector<std::string>& omit);

class PackageFetcher;

class Reifier {
 public:
  Reifier(PackageFetcher& packages, util::ThreadPool& pool, InstallOptions options);

  ~Reifier();
  Reifier(const Reifier&) = delete;
  Reifier& operator=(const Reifier&) = delete;

  /// Brings node_modules in line with `ideal`. Nodes installed without a known integrity get
  /// the one computed from their tarball (so the lockfile can record it). A failure (or a
  /// signal) puts an existing node_modules back as it was.
  util::Result<InstallReport> reify(tree::Tree& ideal, const InstalledTree& installed);

  /// After a successful reify, once the lockfiles that describe the new tree are written: the
  /// old packages set aside go. A signal that came since reify() returned ends the process only
  /// now, with the new tree and its lockfiles whole. Also done on destruction.
  void finish();

 private:
  PackageFetcher& packages_;
  util::ThreadPool& pool_;
  InstallOptions options_;
  /// Kept from a successful reify() until finish().
  struct Kept;
  std::unique_ptr<Kept> kept_;
};

}  // namespace lade::installer
