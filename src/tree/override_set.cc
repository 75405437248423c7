#include "tree/override_set.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "manifest/spec.h"
#include "semver/functions.h"

namespace lade::tree {

namespace {

using manifest::Json;
using manifest::SpecType;

/// JavaScript orders an object's integer-like keys ("0", "42") before the others, ascending;
/// npm walks override objects with Object.entries, so rule order follows that.
bool is_array_index(const std::string& key) {
  if (key.empty() || key.size() > 10) return false;
  if (key.size() > 1 && key[0] == '0') return false;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), n);
  return ec == std::errc() && end == key.data() + key.size() && n < 4294967295ULL;
}

std::vector<std::pair<std::string, const Json*>> js_entries(const Json& object) {
  std::vector<std::pair<std::string, const Json*>> indexes, others;
  for (auto it = object.begin(); it != object.end(); ++it) {
    (is_array_index(it.key()) ? indexes : others).emplace_back(it.key(), &it.value());
  }
  std::stable_sort(indexes.begin(), indexes.end(), [](const auto& a, const auto& b) {
    return a.first.size() != b.first.size() ? a.first.size() < b.first.size() : a.first < b.first;
  });
  indexes.insert(indexes.end(), others.begin(), others.end());
  return indexes;
}

bool is_registry_range(const manifest::PackageSpec& spec) {
  return spec.type == SpecType::kRange || spec.type == SpecType::kVersion;
}

/// node-semver's intersects(a, b) without options; npm throws on an invalid range, which here
/// simply does not intersect.
bool ranges_intersect(std::string_view a, std::string_view b) {
  return semver::intersects(a, b).value_or(false);
}

}  // namespace

util::Result<std::unique_ptr<OverrideSet>> OverrideSet::parse(const Json& overrides) {
  std::unique_ptr<OverrideSet> root(new OverrideSet());
  LADE_TRY(build(*root, overrides));
  root->compute_rulesets();
  return root;
}

util::Status OverrideSet::build(OverrideSet& set, const Json& overrides) {
  // A string is shorthand for {".": string}; anything that is neither string nor object has
  // no "." and no rules.
  static const Json kNoRules = Json::object();
  const Json& rules = overrides.is_object() ? overrides : kNoRules;
  if (set.parent_) {
    // The "." entry; an empty one means "*".
    const Json* dot_entry = &overrides;
    if (!overrides.is_string()) {
      auto it = rules.find(".");
      dot_entry = it != rules.end() ? &*it : nullptr;
    }
    std::string dot;
    if (dot_entry && dot_entry->is_string()) {
      const std::string& text = dot_entry->get_ref<const std::string&>();
      dot = text.empty() ? std::string(1, '*') : text;
    }
    auto spec = manifest::parse_spec(set.key_);
    if (!spec.ok()) return spec.take_error();
    if (spec->name.empty()) {
      // npm's error carries no code.
      return util::make_error("", "Override without name: " + set.key_);
    }
    set.name_ = spec->name;
    manifest::PackageSpec nameless = std::move(spec).value();
    nameless.name.clear();
    set.key_spec_ = nameless.to_string();
    set.value_ = dot.empty() ? set.key_spec_ : dot;
  }
  for (const auto& [key, child_rules] : js_entries(rules)) {
    if (key == ".") continue;
    std::unique_ptr<OverrideSet> child(new OverrideSet());
    child->parent_ = &set;
    child->key_ = key;
    LADE_TRY(build(*child, *child_rules));
    // A later rule with the same key takes the earlier one's place, as Map#set does.
    auto same = std::find_if(set.children_.begin(), set.children_.end(),
                             [&](const auto& c) { return c->key_ == key; });
    if (same != set.children_.end()) {
      *same = std::move(child);
    } else {
      set.children_.push_back(std::move(child));
    }
  }
  return {};
}

void OverrideSet::compute_rulesets() {
  ruleset_.clear();
  auto add = [&](const OverrideSet* rule) {
    bool known = std::any_of(ruleset_.begin(), ruleset_.end(),
                             [&](const OverrideSet* r) { return r->key_ == rule->key_; });
    if (!known) ruleset_.push_back(rule);
  };
  for (const OverrideSet* s = this; s; s = s->parent_) {
    for (const auto& kid : s->children_) add(kid.get());
    if (!s->is_root()) add(s);
  }
  for (auto& kid : children_) kid->compute_rulesets();
}

const OverrideSet* OverrideSet::child(std::string_view key) const {
  for (const auto& c : children_) {
    if (c->key_ == key) return c.get();
  }
  return nullptr;
}

const OverrideSet* OverrideSet::edge_rule(std::string_view name, std::string_view raw_spec) const {
  for (const OverrideSet* rule : ruleset_) {
    if (rule->name_ != name) continue;
    if (rule->key_spec_ == "*") return rule;
    // The declared spec decides, not the one the overrides turned it into.
    std::string arg(name);
    arg += '@';
    arg += raw_spec;
    auto parsed = manifest::parse_spec(arg);
    if (!parsed.ok()) continue;
    const manifest::PackageSpec* spec = &*parsed;
    if (spec->type == SpecType::kAlias && spec->sub_spec) spec = spec->sub_spec.get();
    if (spec->type == SpecType::kGit) {
      if (spec->git_range && ranges_intersect(*spec->git_range, rule->key_spec_)) return rule;
      continue;
    }
    if (is_registry_range(*spec)) {
      if (ranges_intersect(spec->fetch_spec.value_or(""), rule->key_spec_)) return rule;
      continue;
    }
    // A tag, file, directory or URL cannot be compared with a range: the rule applies.
    return rule;
  }
  return this;
}

bool OverrideSet::children_are_equal(const OverrideSet& other) const {
  if (children_.size() != other.children_.size()) return false;
  for (const auto& kid : children_) {
    const OverrideSet* theirs = other.child(kid->key_);
    if (!theirs || theirs->value_ != kid->value_) return false;
    if (!kid->children_are_equal(*theirs)) return false;
  }
  return true;
}

bool OverrideSet::is_equal(const OverrideSet* other) const {
  if (other == this) return true;
  if (!other) return false;
  if (key_ != other->key_ || value_ != other->value_) return false;
  if (!children_are_equal(*other)) return false;
  if (!parent_) return !other->parent_;
  return parent_->is_equal(other->parent_);
}

const OverrideSet* OverrideSet::find_specific(const OverrideSet* first, const OverrideSet* second) {
  if (!first || !second) return nullptr;
  for (const OverrideSet* s = second; s; s = s->parent_) {
    if (s->is_equal(first)) return second;
  }
  for (const OverrideSet* s = first; s; s = s->parent_) {
    if (s->is_equal(second)) return first;
  }
  if (have_conflicting_rules(*first, *second)) return nullptr;
  return find_common_ancestor(first, second);
}

const OverrideSet* OverrideSet::find_common_ancestor(const OverrideSet* first,
                                                     const OverrideSet* second) {
  for (const OverrideSet* b = second; b; b = b->parent_) {
    for (const OverrideSet* a = first; a; a = a->parent_) {
      if (a->is_equal(b)) return a;
    }
  }
  return nullptr;
}

bool OverrideSet::have_conflicting_rules(const OverrideSet& first, const OverrideSet& second) {
  for (const OverrideSet* mine : first.ruleset_) {
    auto it = std::find_if(second.ruleset_.begin(), second.ruleset_.end(),
                           [&](const OverrideSet* r) { return r->key_ == mine->key_; });
    if (it == second.ruleset_.end()) continue;
    const OverrideSet* theirs = *it;
    if (mine == theirs || mine->is_equal(theirs)) continue;
    // A reference may well resolve to compatible versions; that is for resolution to find out.
    if (mine->value_.starts_with('$') || theirs->value_.starts_with('$')) continue;
    auto a = manifest::parse_spec(mine->name_ + "@" + mine->value_);
    auto b = manifest::parse_spec(theirs->name_ + "@" + theirs->value_);
    if (!a.ok() || !b.ok() || !is_registry_range(*a) || !is_registry_range(*b)) continue;
    auto meet = semver::intersects(a->fetch_spec.value_or(""), b->fetch_spec.value_or(""));
    if (meet && !*meet) return true;
  }
  return false;
}

bool OverrideSet::conflict(const OverrideSet& first, const OverrideSet& second) {
  // npm asks find_specific first, which gives up only on conflicting rules; that is the same
  // as "not nested, and conflicting".
  for (const OverrideSet* s = &second; s; s = s->parent_) {
    if (s->is_equal(&first)) return false;
  }
  for (const OverrideSet* s = &first; s; s = s->parent_) {
    if (s->is_equal(&second)) return false;
  }
  return have_conflicting_rules(first, second);
}

}  // namespace lade::tree
