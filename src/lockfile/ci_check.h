#pragma once
// `npm ci`'s check that package.json and the lockfile agree: the tree an install would build
// (the ideal tree, from package.json and the lockfile) must have the same packages at the same
// locations, in the same versions, as the lockfile alone (the virtual tree).
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "tree/tree.h"
#include "util/result.h"

namespace lade::lockfile {

/// npm's validate-lockfile: one line per node of the ideal tree whose location the lockfile
/// lacks ("Missing: <name>@<version> from lock file") or holds in another version ("Invalid:
/// lock file's <name>@<version> does not satisfy <name>@<version>"), in the order of
/// `ideal_nodes`. npm walks its inventory in insertion order, so the nodes the resolver placed
/// come last, in placement order: pass them that way to match npm's output line for line.
std::vector<std::string> lockfile_mismatches(const tree::Tree& virtual_tree,
                                             const std::vector<const tree::Node*>& ideal_nodes);

/// The same for every node of `ideal_tree`, in lockfile key order.
std::vector<std::string> lockfile_mismatches(const tree::Tree& virtual_tree,
                                             const tree::Tree& ideal_tree,
                                             const std::unordered_set<const tree::Node*>& not_in_npms_tree = {});

/// The error `npm ci` stops with when there are mismatches (code EUSAGE; the caller appends
/// the command's usage text, as npm does); OK otherwise. `program` names the command in the
/// message ("npm" gives npm's words exactly).
/// `not_in_npms_tree`: nodes of `ideal_tree` that npm's ci would not have there (what
/// resolution took from tarballs of bundling packages, which npm opens only when unpacking).
util::Status check_ci_lockfile(const tree::Tree& virtual_tree, const tree::Tree& ideal_tree,
                               std::string_view program = "npm",
                               const std::unordered_set<const tree::Node*>& not_in_npms_tree = {});

/// The message for a non-empty list of mismatches (see check_ci_lockfile).
util::Error ci_lockfile_error(const std::vector<std::string>& mismatches,
                              std::string_view program = "npm");

}  // namespace lade::lockfile
