#pragma once
// node-semver's free functions over ranges: satisfies, maxSatisfying, validRange, gtr/ltr,
// intersects, subset. Each mirrors the JavaScript function of the same name; where node-semver
// throws on bad input the string overloads return nullopt.
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "semver/comparator.h"
#include "semver/options.h"
#include "semver/range.h"
#include "semver/version.h"

namespace lade::semver {

/// `semver.satisfies(version, range, options)`: false when either does not parse.
bool satisfies(std::string_view version, std::string_view range, Options options = {});
inline bool satisfies(const Version& version, const Range& range) { return range.test(version); }

/// `semver.validRange(range, options)`: the canonical range ("*" for any), or nullopt.
std::optional<std::string> valid_range(std::string_view range, Options options = {});

/// `semver.maxSatisfying(versions, range, options)`: the index of the highest entry the range
/// accepts (the first of equal ones), or nullopt (also for an invalid range). Entries that are
/// not versions never match. `versions` is any range of things convertible to string_view.
template <class Strings>
std::optional<size_t> max_satisfying(const Strings& versions, std::string_view range,
                                     Options options = {});
/// maxSatisfying over versions parsed once, the resolver's hot path: the index of the highest
/// version `range` accepts (the first of equal ones), or nullopt. Allocates nothing.
std::optional<size_t> max_satisfying(std::span<const Version> versions, const Range& range);
/// `semver.minSatisfying(...)`: the lowest entry, first of equal ones.
template <class Strings>
std::optional<size_t> min_satisfying(const Strings& versions, std::string_view range,
                                     Options options = {});

/// `semver.outside(version, range, hilo)` with hilo '>' (gtr) or '<' (ltr): is `version`
/// above (below) every version the range accepts?
bool outside(const Version& version, const Range& range, char hilo, Options options = {});
inline bool gtr(const Version& version, const Range& range, Options options = {}) {
  return outside(version, range, '>', options);
}
inline bool ltr(const Version& version, const Range& range, Options options = {}) {
  return outside(version, range, '<', options);
}
/// String forms: nullopt where node-semver throws (invalid version or range).
std::optional<bool> gtr(std::string_view version, std::string_view range, Options options = {});
std::optional<bool> ltr(std::string_view version, std::string_view range, Options options = {});

/// `semver.intersects(r1, r2, options)`; nullopt when a range is invalid.
std::optional<bool> intersects(std::string_view r1, std::string_view r2, Options options = {});

/// `semver.subset(sub, dom, options)`: does `dom` accept every version `sub` accepts?
bool subset(const Range& sub, const Range& dom, Options options = {});
std::optional<bool> subset(std::string_view sub, std::string_view dom, Options options = {});

// ---------------------------------------------------------------------------------------------

namespace detail {
template <class Strings, class Better>
std::optional<size_t> best_satisfying(const Strings& versions, std::string_view range,
                                      Options options, Better better) {
  auto r = Range::parse(range, options);
  if (!r) return std::nullopt;
  std::optional<size_t> best;
  std::optional<Version> best_version;
  size_t i = 0;
  for (const auto& entry : versions) {
    std::string_view text(entry);
    auto v = Version::parse(text, options);
    if (v && r->test(*v) && (!best_version || better(v->compare(*best_version)))) {
      best = i;
      best_version = std::move(v);
    }
    ++i;
  }
  return best;
}
}  // namespace detail

template <class Strings>
std::optional<size_t> max_satisfying(const Strings& versions, std::string_view range,
                                     Options options) {
  return detail::best_satisfying(versions, range, options, [](int c) { return c > 0; });
}

template <class Strings>
std::optional<size_t> min_satisfying(const Strings& versions, std::string_view range,
                                     Options options) {
  return detail::best_satisfying(versions, range, options, [](int c) { return c < 0; });
}

}  // namespace lade::semver
