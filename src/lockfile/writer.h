#pragma once
// Writing a tree as package-lock.json v3 (or node_modules/.package-lock.json), byte for byte
// what npm 11 writes for the same tree.
#include <functional>
#include <string>

#include "lockfile/lock_json.h"
#include "lockfile/reader.h"
#include "tree/tree.h"

namespace lade::lockfile {

struct WriteOptions {
  /// Formatting: npm takes both from package.json (detect_json_format of its text); an empty
  /// indent means two spaces, an empty newline "\n".
  JsonFormat format;
  /// npm's omit-lockfile-registry-resolved: drop "resolved" of nodes that only registry specs
  /// (versions, ranges, tags, npm: aliases) depend on. Tarball URLs, file:, git and link
  /// resolutions, and nodes nothing depends on, keep theirs.
  bool omit_registry_resolved = false;
  /// The hidden lockfile (node_modules/.package-lock.json): no root entry, always v3.
  bool hidden = false;
  /// 3; 2 to add the legacy "dependencies" section as npm does when the project's lockfile
  /// is already v2 (npm only converts it to v3 when asked to); 1 for that section alone
  /// (npm 6's format, written when lockfile-version=1 asks for it).
  int lockfile_version = 3;
  /// No top-level "name" and "version" (npm's hidden lockfile when no package-lock.json was
  /// read or written).
  bool without_name = false;
  /// The project folder's name: the top-level "name" when package.json has none.
  std::string project_folder_name;
  /// What the lockfile that was read knew beyond the tree (may be null).
  const LockExtras* extras = nullptr;
  /// Nodes to leave out, with their subtrees' entries (for the hidden lockfile: what is not
  /// on disk, such as omitted or failed optional packages). May be empty.
  std::function<bool(const tree::Node&)> exclude;
};

/// The lockfile text for `tree`: {name, version, lockfileVersion, requires: true, packages}
/// (and "dependencies" for v2) plus top-level keys npm keeps from the lockfile it read. Entries are
/// written for every node under the root (see entry_from_node) except extraneous folders directly
/// under the root outside node_modules, and inert nodes without a version. Node::resolved must be
/// in lockfile form: a URL, "git+...#<sha>", or "file:<path relative to the project root>".
std::string write_lockfile(tree::Tree& tree, const WriteOptions& options);

}  // namespace lade::lockfile
