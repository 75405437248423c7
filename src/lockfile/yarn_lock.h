#pragma once
// yarn.lock (yarn 1's format) as npm reads and writes it (arborist's yarn-lock.js).
//
// npm takes a yarn.lock beside package.json as a hint: when it has no package-lock.json (nor
// npm-shrinkwrap.json) to start from, a dependency that yarn.lock lists is resolved to the
// version yarn locked (Shrinkwrap.checkYarnLock). Whenever npm writes package-lock.json it
// writes yarn.lock again from the tree it installed, in its own rendering of yarn's format.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tree/tree.h"

namespace lade::lockfile {

/// What yarn.lock records for one resolution (the fields npm reads; "resolved" without the
/// "#<sha1>" yarn appends).
struct YarnLockEntry {
  std::string version;
  std::string resolved;
  std::string integrity;
};

struct YarnLock {
  /// "name@spec" as yarn writes it in an entry's header -> index into entries.
  std::unordered_map<std::string, size_t> by_spec;
  std::vector<YarnLockEntry> entries;
  /// False when a line made no sense to npm's parser: what came before it is kept (npm keeps
  /// it too, and ignores the rest).
  bool complete = true;
};

/// npm's YarnLock.parse: entries start at a line ending in ':' (specs separated by ", "), with
/// two-space "key value" lines and one level of "subkey:" objects; '#' lines are comments.
/// A yarn 2+ lockfile (YAML, "key: value") is not this format: nothing usable is read from it.
YarnLock parse_yarn_lock(std::string_view text);

/// The spec npm resolves instead of `name@spec` when yarn.lock lists that dependency
/// (checkYarnLock): the version yarn locked for a registry spec whose tarball is a registry
/// tarball (`npm:<real name>@<version>` when the tarball is another package's), else the URL
/// yarn resolved. `integrity` is what yarn recorded (may be empty): the package must match it.
/// nullopt when yarn.lock has no version (or no resolved URL) for the dependency.
///
/// npm recognises a registry tarball by its host (the public registry or yarn's mirror of it);
/// lade by the registry's path form, `<registry>/<name>/-/<name>-<version>.tgz`, so a private
/// registry's tarballs count as registry tarballs too.
struct YarnPin {
  std::string spec;
  std::string integrity;
};
std::optional<YarnPin> yarn_pin(const YarnLock& lock, std::string_view name, std::string_view spec);

/// How yarn.lock names a dependency on `node`: "name@spec", a workspace as
/// "name@file:<absolute folder>" (the spec arborist gives a workspace edge).
std::string yarn_spec_key(const tree::Node& node, const tree::Edge& edge, const std::filesystem::path& project_dir);

/// What npm's Shrinkwrap.addEdge takes from yarn.lock for a node without a resolved URL or
/// without an integrity (a lockfile written with omit-lockfile-registry-resolved has no URLs;
/// a node_modules yarn made has neither): the entry of the first valid dependency on it whose
/// version, integrity and URL do not disagree with the node's. npm changes a URL of yarn's
/// registry mirror to one of the npm registry: lade moves a URL of the registry's form
/// (`/<name>/-/<file>.tgz` at the root of another host) to `registry`. Empty fields: nothing.
struct YarnFill {
  std::string resolved;
  std::string integrity;
};
YarnFill yarn_fill(const tree::Node& node, const YarnLock& lock, const std::filesystem::path& project_dir,
                   const std::string& registry);

/// yarn_fill for every node of the tree: integrity always, a URL only when it is on `registry`
/// (others are for yarn.lock alone: lade fetches registry packages from the registry it is
/// configured with).
void fill_from_yarn_lock(tree::Tree& tree, const YarnLock& lock, const std::filesystem::path& project_dir,
                         const std::string& registry);

/// npm's YarnLock.fromTree + toString: yarn.lock for the tree, every node with a dependency on it
/// visited breadth first (by depth, then name), one entry per resolution with the specs that
/// ask for it (yarn_spec_key). Node::resolved must be in lockfile form (see write_lockfile).
/// Empty when no node has a dependency on it (npm then leaves yarn.lock as it is).
///
/// `previous` (the yarn.lock that was read, may be null) fills in what nodes lack (yarn_fill).
/// `exclude` (may be empty) leaves out nodes with their subtrees, and the dependencies they
/// declare: npm writes yarn.lock last with the hidden lockfile, from the tree as installed,
/// without omitted packages nor optional ones this platform cannot have.
std::string yarn_lock_text(tree::Tree& tree, const std::filesystem::path& project_dir, const YarnLock* previous,
                           const std::string& registry,
                           const std::function<bool(const tree::Node&)>& exclude = {});

}  // namespace lade::lockfile
