#pragma once
// The "overrides" of the project's package.json as npm's arborist models them (OverrideSet): a
// tree of rules. The root set stands for the whole object; each key ("leaf", "leaf@^2",
// "@s/x@1") is a rule with a name, the key's spec (keySpec, "*" for a bare name) and a value
// (the spec that replaces matching dependencies; the object form's "." entry, else keySpec).
// A rule's own keys are rules that apply only below a package the rule matched:
//
//   { "leaf": "1.0.0",                    leaf anywhere -> 1.0.0
//     "leaf@^2.0.0": "3.0.0",             leaf asked for as ^2 -> 3.0.0
//     "a": { ".": "1.0.0", "b": "2.0.0" } a -> 1.0.0, and b below a -> 2.0.0
//     "c": "$c" }                         c -> whatever the root package.json asks for c
//
// Every node and edge of a tree points at the set in effect for it (Node::overrides,
// Edge::overrides()); the Tree keeps those pointers current as arborist's edge.js/node.js do.
// Sets are immutable once parsed; a parsed tree of sets is owned by its root.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manifest/manifest.h"
#include "util/result.h"

namespace lade::tree {

class OverrideSet {
 public:
  /// Parses a package.json "overrides" value into its root set. An object becomes the root's
  /// rules; a string is the root's "." (so it has no rules). Errors: EOVERRIDE "Override without
  /// name: <key>" for a key that names no package; npm-package-arg's errors for a key that does
  /// not parse.
  static util::Result<std::unique_ptr<OverrideSet>> parse(const manifest::Json& overrides);

  OverrideSet(const OverrideSet&) = delete;
  OverrideSet& operator=(const OverrideSet&) = delete;

  /// The package name of the rule; empty for the root set.
  const std::string& name() const { return name_; }
  /// The key as written ("leaf@^2.0.0"); empty for the root set.
  const std::string& key() const { return key_; }
  /// The key without its name ("^2.0.0", "*" for a bare name); empty for the root set.
  const std::string& key_spec() const { return key_spec_; }
  /// The replacing spec ("3.0.0", "npm:x@1", "$name"); empty for the root set.
  const std::string& value() const { return value_; }
  const OverrideSet* parent() const { return parent_; }
  bool is_root() const { return parent_ == nullptr; }
  /// Rules written directly under this one, in document order.
  const std::vector<std::unique_ptr<OverrideSet>>& children() const { return children_; }
  const OverrideSet* child(std::string_view key) const;

  /// The rules visible here (arborist's ruleset): this set's children, then the set itself,
  /// then each ancestor's children and the ancestor itself; the first rule of each key wins.
  const std::vector<const OverrideSet*>& ruleset() const { return ruleset_; }

  /// The set that applies to a dependency `name` declared as `raw_spec` by a package under
  /// this set (getEdgeRule): the first visible rule for that name whose keySpec is "*", or
  /// intersects a registry range/version (the alias's target range for `npm:` specs, the
  /// `#semver:` range for git specs), or any rule for a tag, file, directory or URL spec;
  /// else this set itself.
  const OverrideSet* edge_rule(std::string_view name, std::string_view raw_spec) const;

  /// Same key, value, rules and ancestry (isEqual); null is equal to nothing.
  bool is_equal(const OverrideSet* other) const;
  /// Same rules below, recursively (childrenAreEqual).
  bool children_are_equal(const OverrideSet& other) const;

  /// The set to use for a node reached under both `first` and `second`
  /// (findSpecificOverrideSet): the one nested in (or equal to) the other; for incomparable sets
  /// without conflicting rules, their nearest common ancestor; null when they conflict.
  static const OverrideSet* find_specific(const OverrideSet* first, const OverrideSet* second);
  /// The nearest set that is (equal to) an ancestor of both, or null.
  static const OverrideSet* find_common_ancestor(const OverrideSet* first,
                                                 const OverrideSet* second);
  /// Do the two sets hold rules for the same key whose values are registry ranges that do not
  /// intersect? (`$` references and non-registry values never conflict.)
  static bool have_conflicting_rules(const OverrideSet& first, const OverrideSet& second);
  /// Neither set is nested in the other and their rules conflict (doOverrideSetsConflict).
  static bool conflict(const OverrideSet& first, const OverrideSet& second);

 private:
  OverrideSet() = default;
  static util::Status build(OverrideSet& set, const manifest::Json& overrides);
  void compute_rulesets();

  const OverrideSet* parent_ = nullptr;
  std::string name_;
  std::string key_;
  std::string key_spec_;
  std::string value_;
  std::vector<std::unique_ptr<OverrideSet>> children_;
  std::vector<const OverrideSet*> ruleset_;
};

}  // namespace lade::tree
