#pragma once
// One entry of a lockfile's "packages" map, to and from the tree: what npm's
// Shrinkwrap.metaFromNode writes for a node, and what arborist's loadVirtual reads back from an
// entry into a node.
#include <functional>
#include <string>

#include "lockfile/lock_json.h"
#include "tree/tree.h"

namespace lade::lockfile {

/// Facts about a node that neither Node nor Manifest records but a lockfile entry must repeat.
struct EntryExtras {
  /// The package declares "devDependencies" even though it is empty: npm writes
  /// `"devDependencies": {}` for tops (root, workspaces, link targets) in that case.
  bool declares_dev_dependencies = false;
  /// "workspaces" as the package wrote it when that is not a plain array (the object form
  /// {"packages": [...]}), which npm copies as is; null otherwise.
  Json workspaces;
};

/// The extras of a package.json or lockfile entry.
EntryExtras entry_extras_from_json(const Json& package);

struct EntryOptions {
  /// npm's omit-lockfile-registry-resolved: no "resolved" for registry dependencies.
  bool omit_registry_resolved = false;
  /// Packages the written tree leaves out (with what they contain): their dependencies do not
  /// count, as npm writes each lockfile from a tree they are no longer in.
  std::function<bool(const tree::Node&)> left_out;
};

/// The lockfile entry for `node` (metaFromNode). Links give {resolved, link}; other nodes the
/// package fields npm keeps (version, dependencies, peerDependencies(+Meta), optional-,
/// bundleDependencies, acceptDependencies, funding, engines, os, cpu, libc, license,
/// hasShrinkwrap, hasInstallScript, bin, deprecated, workspaces), name when needed (root,
/// aliases, folders whose name differs), devDependencies for tops, integrity, inBundle,
/// resolved and the dep flags. Key order is irrelevant: the serialiser sorts.
Json entry_from_node(tree::Node& node, const EntryExtras& extras, const EntryOptions& options);

/// The package fields of npm's pkgMetaKeys (version, dependencies, ..., workspaces) of `pkg`,
/// each only when metaFieldFromPkg keeps it.
Json package_fields(const manifest::Manifest& pkg);

/// npm's node.isRegistryDependency: the node has edges in and every one has a registry spec.
/// Edges from packages `left_out` (or inside one) are not there.
bool is_registry_dependency(const tree::Node& node,
                            const std::function<bool(const tree::Node&)>& left_out = nullptr);

/// A Manifest from a lockfile entry (the package fields above; name from "name").
manifest::Manifest manifest_from_entry(const Json& entry);

/// Dep flags as loadVirtual sets them from an entry (absent means false; devOptional is also
/// implied by dev or optional).
tree::DepFlags flags_from_entry(const Json& entry);

/// npm's metaFieldFromPkg: the value a package field contributes to the lockfile, or null when
/// it is absent, falsy or an empty object/array (a license object gives its "type").
Json meta_field(const Json& value, bool is_license = false);

}  // namespace lade::lockfile
