#include "manifest/semver_queries.h"

#include "semver/semver.h"

namespace lade::manifest {

SemverQueries default_semver_queries() {
  constexpr semver::Options kLoose{.loose = true, .include_prerelease = false};
  SemverQueries q;
  q.is_version = [](std::string_view text) { return semver::valid(text, kLoose).has_value(); };
  q.is_range = [](std::string_view text) { return semver::Range::shared(text, kLoose) != nullptr; };
  q.is_subset = [](std::string_view sub, std::string_view super) {
    return semver::subset(sub, super, kLoose).value_or(false);
  };
  q.intersects = [](std::string_view a, std::string_view b) {
    return semver::intersects(a, b).value_or(false);
  };
  return q;
}

bool same_version(std::string_view a, std::string_view b) {
  if (a == b) return true;
  semver::Options loose;
  loose.loose = true;
  auto ca = semver::clean(a, loose);
  auto cb = semver::clean(b, loose);
  return !ca || !cb || *ca == *cb;
}

}  // namespace lade::manifest
