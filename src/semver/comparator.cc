#include "semver/comparator.h"

#include "semver/js_text.h"
#include "semver/patterns.h"
#include "semver/range.h"

namespace lade::semver {

std::optional<Comparator> Comparator::parse(std::string_view text, Options options) {
  std::string collapsed = js::collapse_spaces(text);
  std::string_view s = collapsed;
  pattern::Span op, version;
  if (!pattern::match_comparator(s, options.loose, op, version)) return std::nullopt;
  Comparator c;
  std::string_view op_text = op.of(s);
  if (op_text == "<") {
    c.op_ = Op::kLt;
  } else if (op_text == "<=") {
    c.op_ = Op::kLte;
  } else if (op_text == ">") {
    c.op_ = Op::kGt;
  } else if (op_text == ">=") {
    c.op_ = Op::kGte;
  } else {
    c.op_ = Op::kEq;  // "" and "="
  }
  if (version.matched()) {
    // node-semver passes only `loose` on to the SemVer it builds here.
    c.version_ = Version::parse(version.of(s), Options{options.loose, false});
    if (!c.version_) return std::nullopt;
  }
  return c;
}

std::string_view Comparator::op_text() const {
  switch (op_) {
    case Op::kEq:
      return "";
    case Op::kLt:
      return "<";
    case Op::kLte:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGte:
      return ">=";
  }
  return "";
}

std::string Comparator::value() const {
  if (!version_) return std::string();
  std::string out(op_text());
  out += version_->str();
  return out;
}

bool Comparator::is_null_set() const {
  return version_ && op_ == Op::kLt && version_->str() == "0.0.0-0";
}

bool Comparator::intersects(const Comparator& other, Options options) const {
  auto range_of = [&](const Comparator& c) { return Range::parse(c.value(), options); };
  if (op_ == Op::kEq) {
    if (is_any()) return true;
    auto r = range_of(other);
    return r && r->test(std::string_view(value()));
  }
  if (other.op_ == Op::kEq) {
    if (other.is_any()) return true;
    auto r = range_of(*this);
    return r && r->test(other.version());
  }
  // Nothing is below 0.0.0-0 (or, without prereleases, below 0.0.0).
  auto starts_with_lt_zero = [](const Comparator& c) {
    return c.op_ == Op::kLt && c.version_->major() == 0 && c.version_->minor() == 0 &&
           c.version_->patch() == 0;
  };
  if (options.include_prerelease && (is_null_set() || other.is_null_set())) return false;
  if (!options.include_prerelease && (starts_with_lt_zero(*this) || starts_with_lt_zero(other))) {
    return false;
  }
  auto up = [](Op op) { return op == Op::kGt || op == Op::kGte; };
  auto down = [](Op op) { return op == Op::kLt || op == Op::kLte; };
  auto inclusive = [](Op op) { return op == Op::kLte || op == Op::kGte; };
  if (up(op_) && up(other.op_)) return true;
  if (down(op_) && down(other.op_)) return true;
  if (version_->str() == other.version_->str() && inclusive(op_) && inclusive(other.op_)) {
    return true;
  }
  int c = version_->compare(*other.version_);
  if (c < 0 && up(op_) && down(other.op_)) return true;
  if (c > 0 && down(op_) && up(other.op_)) return true;
  return false;
}

}  // namespace lade::semver
