#pragma once
// Reading package-lock.json / npm-shrinkwrap.json / node_modules/.package-lock.json into a
// Tree, as arborist's loadVirtual does: the root comes from package.json, every other node from
// its lockfile entry, links from `link: true` entries whose target is the folder entry.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lockfile/lock_json.h"
#include "lockfile/package_entry.h"
#include "tree/tree.h"
#include "util/result.h"

namespace lade::lockfile {

/// What the lockfile knew that the tree does not hold, to be handed back to the writer.
struct LockExtras {
  std::unordered_map<const tree::Node*, EntryExtras> entries;
  /// Top-level keys of the document that npm does not interpret; npm writes them back.
  Json top_level = Json::object();
};

/// name -> folder relative to the project root ({"a", "packages/a"}).
using WorkspaceList = std::vector<std::pair<std::string, std::string>>;

struct ReadOptions {
  /// node_modules/.package-lock.json: no root entry; dep flags are always recomputed (npm
  /// loads it with the actual tree as root).
  bool hidden = false;
  /// The tree is the start of an ideal tree (npm's loadVirtual({root}) in buildIdealTree): dep
  /// flags are always recomputed from the edges, whatever the entries say, so what nothing
  /// reaches is marked extraneous.
  bool recompute_flags = false;
  /// With `hidden`: keep the dep flags the entries record. npm's install without a lockfile
  /// starts from the tree in node_modules as it was flagged when installed, and keeps those
  /// flags unless the install changes something (a package no longer depended on stays, and
  /// is written as it was).
  bool keep_flags = false;
  /// Workspaces as found on disk. When empty, the root package's workspace globs are matched
  /// against the lockfile's keys instead (map-workspaces' virtual mode).
  WorkspaceList workspaces;
  /// What the root package.json says that its Manifest does not hold (an empty
  /// "devDependencies", the object form of "workspaces"): entry_extras_from_json of it.
  EntryExtras root_extras;
  /// npm re-reads the package.json of link targets outside node_modules, since the user may
  /// have edited them: called with the target's location ("packages/a", "../lib"); returns
  /// the parsed package.json, or nullopt to keep the lockfile's data.
  std::function<std::optional<Json>(std::string_view location)> read_link_target;
};

struct LoadedLock {
  /// lockfileVersion as the file declares it (1, 2, 3 or a newer one read as 3; 1 when absent).
  int lockfile_version = 3;
  /// A v1 lockfile without `requires: true` (npm 5's), whose dependency types are unreliable.
  bool ancient = false;
  /// A v1 lockfile: entries lack engines, bin, license, peerDependencies..., so, like npm's
  /// "old lockfile" step, the resolver must refetch the manifest of every node under
  /// node_modules (then recompute the dep flags) before the tree is written as v3.
  bool needs_inflate = false;
  /// The lock's root entry does not match package.json (a dependency added, removed, or its
  /// spec or type changed): npm's flagsSuspect. The dep flags were recomputed from the tree.
  bool root_mismatch = false;
  /// Indentation and newline of the lockfile text. (npm formats its next write after
  /// package.json, not after this.)
  JsonFormat format;
  LockExtras extras;
  /// Every node by its lockfile key ("" is the root).
  std::unordered_map<std::string, tree::Node*> nodes;
};

/// Builds the tree for a lockfile text into `tree`, which must be empty. `root_package` is the
/// project's package.json. Nodes are marked from_lockfile, with package data, resolved,
/// integrity and dep flags from their entries; workspace edges go from the root to
/// "file:<folder>". Errors: EJSONPARSE (naming `file_name`), ELOCKFILEVERSION for a
/// lockfileVersion below 1, EMISSINGTARGET for a link whose target entry is
/// missing (with npm's message).
util::Result<LoadedLock> read_lockfile(std::string_view text, std::string_view file_name,
                                       tree::Tree& tree, const manifest::Manifest& root_package,
                                       const ReadOptions& options = {});

/// The packages a dependency's own lockfile (the npm-shrinkwrap.json in its tarball) locks below
/// it, loaded as arborist's loadVirtual({root: node, subtreeOnly: true}) does: every entry under
/// node_modules becomes a node below `under` (replacing a child of the same name), with package
/// data, resolved, integrity and dep flags from its entry, marked from_lockfile. The root
/// entry, links and folders outside node_modules are skipped; v1 lockfiles are converted
/// first. Returns the new nodes, parents before children. Errors: EJSONPARSE, ELOCKFILE.
util::Result<std::vector<tree::Node*>> read_subtree_lock(std::string_view text,
                                                         std::string_view file_name,
                                                         tree::Tree& tree, tree::Node& under);

/// npm's checkRootEdges: does the lock's root entry (`lock_root`, the "" entry of "packages")
/// declare exactly the dependencies the root node has, each with the same type and spec?
/// `lock_workspaces` are the workspaces the lockfile records (see workspaces_from_lock).
bool root_edges_match(const Json& lock_root, const tree::Node& root,
                      const WorkspaceList& lock_workspaces);

}  // namespace lade::lockfile
