#include "semver/functions.h"

#include <vector>

namespace lade::semver {

bool satisfies(std::string_view version, std::string_view range, Options options) {
  const Range* r = Range::shared(range, options);
  return r && r->test(version);
}

std::optional<size_t> max_satisfying(std::span<const Version> versions, const Range& range) {
  std::optional<size_t> best;
  for (size_t i = 0; i < versions.size(); ++i) {
    if (best && versions[i].compare(versions[*best]) <= 0) continue;
    if (range.test(versions[i])) best = i;
  }
  return best;
}

std::optional<std::string> valid_range(std::string_view range, Options options) {
  const Range* r = Range::shared(range, options);
  if (!r) return std::nullopt;
  return r->str().empty() ? std::string("*") : r->str();
}

bool outside(const Version& version, const Range& range, char hilo, Options options) {
  using Op = Comparator::Op;
  const bool above = hilo == '>';
  // Written as in gtr mode; ltr mirrors every comparison.
  auto gt = [&](const Version& a, const Version& b) { return above ? a > b : a < b; };
  auto lt = [&](const Version& a, const Version& b) { return above ? a < b : a > b; };
  auto lte = [&](const Version& a, const Version& b) { return above ? a <= b : a >= b; };
  const Op comp = above ? Op::kGt : Op::kLt;
  const Op ecomp = above ? Op::kGte : Op::kLte;
  (void)options;  // the range was parsed with them; comparisons do not depend on them

  if (range.test(version)) return false;
  const Comparator zero = *Comparator::parse(">=0.0.0");
  for (const Range::ComparatorSet& set : range.set()) {
    const Comparator* high = nullptr;
    const Comparator* low = nullptr;
    for (const Comparator& c : set) {
      const Comparator* cmp = c.is_any() ? &zero : &c;
      if (!high) high = cmp;
      if (!low) low = cmp;
      if (gt(cmp->version(), high->version())) {
        high = cmp;
      } else if (lt(cmp->version(), low->version())) {
        low = cmp;
      }
    }
    // The highest bound points away from the version: the version is not outside.
    if (high->op() == comp || high->op() == ecomp) return false;
    if ((low->op() == Op::kEq || low->op() == comp) && lte(version, low->version())) return false;
    if (low->op() == ecomp && lt(version, low->version())) return false;
  }
  return true;
}

namespace {
std::optional<bool> outside_strings(std::string_view version, std::string_view range, char hilo,
                                    Options options) {
  auto v = Version::parse(version, options);
  auto r = Range::parse(range, options);
  if (!v || !r) return std::nullopt;
  return outside(*v, *r, hilo, options);
}
}  // namespace

std::optional<bool> gtr(std::string_view version, std::string_view range, Options options) {
  return outside_strings(version, range, '>', options);
}

std::optional<bool> ltr(std::string_view version, std::string_view range, Options options) {
  return outside_strings(version, range, '<', options);
}

std::optional<bool> intersects(std::string_view r1, std::string_view r2, Options options) {
  const Range* a = Range::shared(r1, options);
  const Range* b = Range::shared(r2, options);
  if (!a || !b) return std::nullopt;
  return a->intersects(*b, options);
}

// ---------------------------------------------------------------------------------------------
// subset(), following node-semver's ranges/subset.js step by step.
namespace {

using Op = Comparator::Op;

bool is_up(Op op) { return op == Op::kGt || op == Op::kGte; }
bool is_down(Op op) { return op == Op::kLt || op == Op::kLte; }

// `satisfies(version, String(comparator), options)`.
bool satisfies_comparator(const Version& v, const Comparator& c, Options options) {
  const Range* r = Range::shared(c.value(), options);
  return r && r->test(v);
}

// >=1.2.3 is lower than >1.2.3.
const Comparator* higher_gt(const Comparator* a, const Comparator* b) {
  if (!a) return b;
  int comp = a->version().compare(b->version());
  if (comp > 0) return a;
  if (comp < 0) return b;
  return (b->op() == Op::kGt && a->op() == Op::kGte) ? b : a;
}

// <=1.2.3 is higher than <1.2.3.
const Comparator* lower_lt(const Comparator* a, const Comparator* b) {
  if (!a) return b;
  int comp = a->version().compare(b->version());
  if (comp < 0) return a;
  if (comp > 0) return b;
  return (b->op() == Op::kLt && a->op() == Op::kLte) ? b : a;
}

bool same_tuple(const Version& a, const Version& b) { return a.compare_main(b) == 0; }

enum class SubsetResult { kNo, kYes, kNullSet };

SubsetResult simple_subset(const Range::ComparatorSet& sub_in, const Range::ComparatorSet& dom_in,
                           Options options) {
  static const Comparator kMinimum = *Comparator::parse(">=0.0.0");
  static const Comparator kMinimumWithPrerelease = *Comparator::parse(">=0.0.0-0");
  std::vector<const Comparator*> sub, dom;
  for (const Comparator& c : sub_in) sub.push_back(&c);
  for (const Comparator& c : dom_in) dom.push_back(&c);

  if (sub.size() == 1 && sub[0]->is_any()) {
    if (dom.size() == 1 && dom[0]->is_any()) return SubsetResult::kYes;
    sub = {options.include_prerelease ? &kMinimumWithPrerelease : &kMinimum};
  }
  if (dom.size() == 1 && dom[0]->is_any()) {
    if (options.include_prerelease) return SubsetResult::kYes;
    dom = {&kMinimum};
  }

  std::vector<const Comparator*> eq_set;
  const Comparator* gt = nullptr;
  const Comparator* lt = nullptr;
  for (const Comparator* c : sub) {
    if (is_up(c->op())) {
      gt = higher_gt(gt, c);
    } else if (is_down(c->op())) {
      lt = lower_lt(lt, c);
    } else {
      eq_set.push_back(c);
    }
  }
  if (eq_set.size() > 1) return SubsetResult::kNullSet;

  std::optional<int> gtlt_comp;
  if (gt && lt) {
    gtlt_comp = gt->version().compare(lt->version());
    if (*gtlt_comp > 0) return SubsetResult::kNullSet;
    if (*gtlt_comp == 0 && (gt->op() != Op::kGte || lt->op() != Op::kLte)) {
      return SubsetResult::kNullSet;
    }
  }
  const bool bounded_to_one = gtlt_comp && *gtlt_comp == 0;

  if (!eq_set.empty()) {
    const Version& eq = eq_set[0]->version();
    if (gt && !satisfies_comparator(eq, *gt, options)) return SubsetResult::kNullSet;
    if (lt && !satisfies_comparator(eq, *lt, options)) return SubsetResult::kNullSet;
    for (const Comparator* c : dom) {
      if (!satisfies_comparator(eq, *c, options)) return SubsetResult::kNo;
    }
    return SubsetResult::kYes;
  }

  bool has_dom_lt = false, has_dom_gt = false;
  // A prerelease bound in the subset needs a prerelease comparator on the same tuple in the
  // superset: >=1.2.3-pre is not a subset of >=1.0.0.
  const Version* need_dom_lt_pre =
      lt && !options.include_prerelease && lt->version().has_prerelease() ? &lt->version()
                                                                          : nullptr;
  const Version* need_dom_gt_pre =
      gt && !options.include_prerelease && gt->version().has_prerelease() ? &gt->version()
                                                                          : nullptr;
  // Except that <1.2.3-0 is the same as <1.2.3.
  if (need_dom_lt_pre && lt->op() == Op::kLt && need_dom_lt_pre->prerelease_text() == "0") {
    need_dom_lt_pre = nullptr;
  }

  for (const Comparator* c : dom) {
    has_dom_gt = has_dom_gt || is_up(c->op());
    has_dom_lt = has_dom_lt || is_down(c->op());
    bool c_has_pre = !c->is_any() && c->version().has_prerelease();
    if (gt) {
      if (need_dom_gt_pre && c_has_pre && same_tuple(c->version(), *need_dom_gt_pre)) {
        need_dom_gt_pre = nullptr;
      }
      if (is_up(c->op())) {
        const Comparator* higher = higher_gt(gt, c);
        if (higher == c && higher != gt) return SubsetResult::kNo;
      } else if (gt->op() == Op::kGte && !c->test(gt->version())) {
        return SubsetResult::kNo;
      }
    }
    if (lt) {
      if (need_dom_lt_pre && c_has_pre && same_tuple(c->version(), *need_dom_lt_pre)) {
        need_dom_lt_pre = nullptr;
      }
      if (is_down(c->op())) {
        const Comparator* lower = lower_lt(lt, c);
        if (lower == c && lower != lt) return SubsetResult::kNo;
      } else if (lt->op() == Op::kLte && !c->test(lt->version())) {
        return SubsetResult::kNo;
      }
    }
    if (c->op() == Op::kEq && (lt || gt) && !bounded_to_one) return SubsetResult::kNo;
  }

  // A one-sided bound is not inside a superset bounded on the other side, unless the subset
  // is bounded there as well.
  if (gt && has_dom_lt && !lt && !bounded_to_one) return SubsetResult::kNo;
  if (lt && has_dom_gt && !gt && !bounded_to_one) return SubsetResult::kNo;
  if (need_dom_gt_pre || need_dom_lt_pre) return SubsetResult::kNo;
  return SubsetResult::kYes;
}

}  // namespace

bool subset(const Range& sub, const Range& dom, Options options) {
  if (&sub == &dom) return true;
  bool saw_non_null = false;
  for (size_t i = 0; i < sub.set().size(); ++i) {
    bool found = false;
    for (size_t j = 0; j < dom.set().size(); ++j) {
      // The same memoized list on both sides is a subset without further ado.
      const std::string& key = sub.memo_key(i);
      SubsetResult r = !key.empty() && key == dom.memo_key(j)
                           ? SubsetResult::kYes
                           : simple_subset(sub.set()[i], dom.set()[j], options);
      saw_non_null = saw_non_null || r != SubsetResult::kNullSet;
      if (r == SubsetResult::kYes) {
        found = true;
        break;
      }
    }
    // Null alternatives are ignored, unless every alternative is null.
    if (!found && saw_non_null) return false;
  }
  return true;
}

std::optional<bool> subset(std::string_view sub, std::string_view dom, Options options) {
  if (sub == dom) return true;
  const Range* a = Range::shared(sub, options);
  const Range* b = Range::shared(dom, options);
  if (!a || !b) return std::nullopt;
  return subset(*a, *b, options);
}

}  // namespace lade::semver
