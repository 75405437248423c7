#pragma once
// The order npm lists what an install adds, changes and removes (--dry-run and --long lines,
// --json's add/change/remove arrays): its reify-output walks arborist's Diff tree with
// treeverse's depth-first stack, so each folder's entries come last-first, each followed by
// the entries inside it. A Diff's children are its actual tree children (the hidden
// lockfile's order, links last) and then the ideal tree's new ones (the order resolution
// placed them in); a package that stays as it is is no entry, but what changes inside it is
// listed in its place.
#include <vector>

#include "installer/reify.h"
#include "tree/tree.h"

namespace lade::installer {

/// Sorts the three lists into npm's order and gives every entry its `diff_rank`, its place in
/// npm's one combined listing. `ideal` is the tree that was (or would be) installed; entries
/// are matched to it by location.
void order_as_npm_diff(const tree::Tree& ideal, std::vector<ReportedPackage>& added,
                       std::vector<ReportedPackage>& changed, std::vector<ReportedPackage>& removed);

}  // namespace lade::installer
