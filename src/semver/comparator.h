#pragma once
// Comparator: one `<op><version>` condition of a range (node-semver's Comparator class), or the
// empty comparator that every version passes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "semver/options.h"
#include "semver/version.h"

namespace lade::semver {

class Comparator {
 public:
  /// kEq is node-semver's '' operator ("=1.2.3" and "1.2.3" both parse to it).
  enum class Op : uint8_t { kEq, kLt, kLte, kGt, kGte };

  /// node-semver's `new Comparator(text, options)`: `^(<|>)?=?\s*VERSION$` or empty.
  /// nullopt where node-semver throws.
  static std::optional<Comparator> parse(std::string_view text, Options options = {});
  /// The empty comparator (node-semver's Comparator.ANY semver).
  static Comparator any() { return Comparator(); }

  bool is_any() const { return !version_.has_value(); }
  Op op() const { return op_; }
  /// Precondition: !is_any().
  const Version& version() const { return *version_; }
  /// The operator as node-semver prints it: "", "<", "<=", ">" or ">=".
  std::string_view op_text() const;
  /// node-semver's `.value`: op_text() + version().str(), "" for the empty comparator.
  std::string value() const;
  /// "<0.0.0-0", the comparator node-semver uses for "nothing".
  bool is_null_set() const;

  /// Does `v` pass this comparator (ignoring the prerelease rule, which is the range's)?
  bool test(const Version& v) const {
    if (!version_) return true;
    int c = v.compare(*version_);
    switch (op_) {
      case Op::kEq:
        return c == 0;
      case Op::kLt:
        return c < 0;
      case Op::kLte:
        return c <= 0;
      case Op::kGt:
        return c > 0;
      case Op::kGte:
        return c >= 0;
    }
    return false;
  }

  /// node-semver's Comparator#intersects(other, options): can one version pass both?
  bool intersects(const Comparator& other, Options options = {}) const;

 private:
  Comparator() = default;

  Op op_ = Op::kEq;
  std::optional<Version> version_;
};

}  // namespace lade::semver
