#pragma once
// Building the ideal tree: npm arborist's buildIdealTree (build-ideal-tree.js, place-dep.js,
// can-place-dep.js) in C++. Starting from a root (and whatever a lockfile already placed), every
// missing or invalid edge is resolved to a manifest and the new node is placed as high in
// node_modules as it can go without conflict, peers travelling with their dependents.
// Processing order is npm's (queue by depth then path; edges by name), so ties end the same way.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "resolver/node_source.h"
#include "resolver/packument_source.h"
#include "resolver/prefetcher.h"
#include "tree/tree.h"
#include "util/result.h"

namespace lade::resolver {

/// Where placement may put a dependency (npm's install-strategy).
enum class InstallStrategy {
  kHoisted,  // as high as it can go without conflict
  kNested,   // below its dependent, as npm 1 and 2 did (still deduplicated against ancestors)
  kShallow,  // direct dependencies at the top, everything else below the top-level package
};

struct ResolveOptions {
  bool legacy_peer_deps = false;
  bool strict_peer_deps = false;
  bool force = false;
  bool prefer_dedupe = false;
  InstallStrategy install_strategy = InstallStrategy::kHoisted;
  /// The running node's version, for engines checks while picking versions.
  std::string node_version;
  /// The version of the npm lade answers as (engines.npm); empty: not checked.
  std::string npm_version;
  /// npm's before / min-release-age, and min-release-age-exclude (see PickOptions).
  std::optional<int64_t> before_ms;
  std::vector<std::string> before_exempt;
  /// Root dependency names the user asked for explicitly (`lade add x`): re-resolved even when
  /// the lockfile satisfies them.
  std::vector<std::string> explicit_requests;
  /// The same for workspaces (`lade add x -w a`): (folder relative to the project, name).
  std::vector<std::pair<std::string, std::string>> explicit_folder_requests;
  /// `lade update <names>`: every dependency on these packages, wherever it is in the tree, is
  /// resolved again (npm's updateNames), so each one gets the newest version its range allows.
  std::vector<std::string> update_names;
  /// The workspaces an install is filtered to (`-w a`; folders relative to the project): npm's
  /// #applyUserRequests queues them before the root, so their dependencies are placed before
  /// those of the other workspaces (which wait for the links to be resolved).
  std::vector<std::string> workspace_requests;
  /// npm's `complete` (--package-lock-only, --dry-run): the tree is all there will be, so
  /// what the bundled packages of a newly placed package need is resolved like the rest. An
  /// install resolves as npm's does, which opens those bundles only after resolving: a
  /// dependency such a bundled package lacks is left unmet.
  bool complete = false;
  /// Whether the install leaves a package out whatever else the tree holds: an optional one
  /// this system cannot have (os, cpu, libc, engines), or one --omit drops. Asked of every node
  /// once the tree is placed and its flags computed, before bundles are opened: npm never
  /// unpacks such a package, nor anything only it needs (its optional set), so their bundles
  /// stay closed. Empty: every package is installed.
  std::function<bool(const tree::Node&)> left_out_here;
  /// Whether the install unpacks a package the tree had before this build (from the lockfile):
  /// it is not installed as placed. npm's reify opens the bundle of every bundler it unpacks,
  /// and what resolution placed anew in a bundle gives way to what the tarball holds. Empty:
  /// none is unpacked (a bundle from the lockfile stays as the lockfile has it).
  std::function<bool(const tree::Node&)> unpacked_when_installed;
  /// The tree was loaded from a lockfile: extraneous nodes are pruned after a change.
  bool loaded_from_lockfile = false;
  /// npm's `save` option (false for ci, --no-save and update) and whether the user asked for a
  /// change of the tree (add, uninstall, update). Saving nothing and changing nothing, npm trusts
  /// the lockfile's unmet optional peers instead of resolving them again (npm/cli#8726), and
  /// does not look twice at a package a later placement leaves unmet.
  bool save = true;
  bool requested_tree_mutation = false;
  /// npm's flagsSuspect: extraneous nodes are pruned even when nothing else changes. npm sets
  /// it whenever the tree starts from the project's lockfile (loadVirtual with a root).
  bool flags_suspect = false;
  /// The nodes of a tree from a lockfile that get a second look (see lockfile_problem_nodes),
  /// when they were found before the tree was built; else they are looked for in it.
  std::optional<std::vector<tree::Node*>> lockfile_problem_nodes;
  /// Called for every node placed in the tree (its version is settled): where the caller starts
  /// downloading the tarball while resolution goes on. May be empty.
  std::function<void(const tree::Node&)> on_placed;
  /// Called, from metadata threads, for each registry version picked ahead of placement (see
  /// Prefetcher): where the caller starts downloading tarballs before placement reaches them.
  /// May be empty; must be thread-safe.
  PickedAhead on_picked_ahead;
  /// npm's yarn.lock hint (Shrinkwrap.checkYarnLock, see lockfile/yarn_lock.h): for a
  /// dependency, the spec to resolve instead of its own. Empty: none (npm reads yarn.lock only
  /// when it has no package-lock.json to start from).
  SpecPins pinned_spec;
  /// The project root (absolute): `file:` specs resolve against it and link targets are
  /// recorded relative to it. Empty means "/".
  std::filesystem::path project_dir;
};

struct ResolveStats {
  size_t manifests_fetched = 0;
  size_t nodes_placed = 0;
  /// What npm logs as warnings while it builds the tree (ERESOLVE overriding peer dependency),
  /// each a message of several lines.
  std::vector<std::string> warnings;
  /// The flags are those npm's install gives a tree whose bundles it opened after resolving,
  /// and a walk of the whole tree finds others. npm's next install reads the lockfile back and
  /// makes that walk (loadVirtual's flagsSuspect), so it rewrites the lockfile though nothing
  /// changed: that install is not one with nothing to do.
  bool flags_change_on_reinstall = false;
  /// A package opened from a bundle while resolving needs what is not resolved (npm's install
  /// opens bundles after resolving): npm's next install resolves it, so has work to do.
  bool bundle_needs_left_unresolved = false;
};

/// The nodes of a tree loaded from a lockfile that npm's #initTree queues for a second look:
/// those reachable from the root through edges with an edge out that is missing or invalid.
/// (With nothing to save and no change asked for, an unmet optional peer is trusted.)
///
/// For a lockfileVersion 1, npm looks before it inflates the manifests: the edges are the
/// lockfile's "requires", so what npm 6 never recorded (peers, the dependencies of an optional
/// package skipped on this platform) is not resolved by that install, and npm ci accepts the
/// lockfile. The caller then finds them before inflating and passes them in
/// ResolveOptions::lockfile_problem_nodes.
std::vector<tree::Node*> lockfile_problem_nodes(tree::Tree& tree, const ResolveOptions& options);

class IdealTreeBuilder {
 public:
  IdealTreeBuilder(tree::Tree& tree, PackumentSource& source, ResolveOptions options);
  ~IdealTreeBuilder();
  /// Resolves every problem edge reachable from the root. Errors: E404, ETARGET, ENOVERSIONS,
  /// ERESOLVE (peer conflicts npm would refuse), EUNSUPPORTEDSPEC.
  util::Status build();
  const ResolveStats& stats() const { return stats_; }
  /// Names of the root edges that ended up resolved (for `lade add`'s saved spec).
  bool tree_changed() const { return mutate_tree_; }
  /// The packages this build took from bundling packages' tarballs (what npm's install learns
  /// of only when it unpacks those), as opposed to bundled packages a lockfile listed.
  std::unordered_set<const tree::Node*> opened_from_bundles() const;
  /// The bundlers whose bundles this build opened once resolution was over (outside complete
  /// mode): npm's reify unpacks each of them to read its bundle.
  std::unordered_set<const tree::Node*> bundles_opened() const;
  /// Runs `fn` on the tree as npm's install has it when its buildIdealTree ends, which is where
  /// it checks platforms and engines and leaves out the optional packages this system cannot
  /// have: what came out of bundles opened while resolving detached, and every flag as computed
  /// before they were opened. The tree is as it was again afterwards (save what `fn` did).
  void as_npm_resolved(const std::function<void()>& fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ResolveStats stats_;
  bool mutate_tree_ = false;
};

/// npm's dep-valid: does `child` satisfy `spec` as declared by `from`? Registry ranges are
/// tested in loose mode; tags accept a registry tarball; aliases test their sub-spec; folders
/// want a link to that folder, tarball files and URLs the same `resolved`, git specs the same
/// repository (and commit or semver range when the spec names one). Relative paths resolve from
/// `from`'s folder (see spec_folder) inside `project_dir`.
bool dep_valid_in(const tree::Node& child, const std::string& spec, const tree::Node& from,
                  const std::filesystem::path& project_dir);
/// Whether only a package with a registry tarball URL satisfies `spec` (for the dependency
/// `name`): a dist-tag, or an alias to one. npm takes any such package for it, whatever its
/// version, and none without the URL (a lockfile that omits them).
bool met_only_with_tarball_url(const std::string& name, const std::string& spec);
/// dep_valid_in for a tree whose project root is "/" (paths only compared relative to it).
bool dep_valid(const tree::Node& child, const std::string& spec, const tree::Node& from);
/// The tree's dep-valid for a project in `project_dir`.
tree::DepValidFn make_dep_valid(std::filesystem::path project_dir);
/// semver a > b (both valid versions).
bool version_gt(const std::string& a, const std::string& b);

}  // namespace lade::resolver
