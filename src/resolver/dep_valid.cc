// npm's dep-valid: whether a node in the tree satisfies a dependency spec.
#include <string>

#include "resolver/ideal_tree.h"
#include "semver/functions.h"
#include "semver/version.h"

namespace lade::resolver {

namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

bool is_remote_url(const std::string& s) { return starts_with(s, "http://") || starts_with(s, "https://"); }

bool registry_spec_valid(const tree::Node& child, const std::string& spec) {
  if (spec.empty() || spec == "*") return true;
  semver::Options loose{true, false};
  if (semver::Version::parse(spec, loose) || semver::valid_range(spec, loose)) {
    return semver::satisfies(child.version(), spec, loose);
  }
  // A dist-tag: any registry tarball is taken on faith, as npm does.
  return is_remote_url(child.resolved);
}

}  // namespace

bool dep_valid(const tree::Node& child, const std::string& raw_spec, const tree::Node& from) {
  (void)from;
  std::string spec = trim(raw_spec);
  if (starts_with(spec, "npm:")) {
    std::string sub = spec.substr(4);
    size_t at = sub.find('@', !sub.empty() && sub[0] == '@' ? 1 : 0);
    std::string name = at == std::string::npos ? sub : sub.substr(0, at);
    std::string range = at == std::string::npos ? "" : trim(sub.substr(at + 1));
    if (child.package_name() != name) return false;
    return registry_spec_valid(child, range);
  }
  if (starts_with(spec, "file:") || starts_with(spec, "link:") || starts_with(spec, "./") ||
      starts_with(spec, "../") || starts_with(spec, "/")) {
    std::string path = spec;
    if (starts_with(path, "file:") || starts_with(path, "link:")) path = path.substr(5);
    while (starts_with(path, "./")) path = path.substr(2);
    if (child.is_link) return child.realpath == path || (child.target && child.target->realpath == path);
    return child.resolved == "file:" + path;
  }
  if (is_remote_url(spec)) return child.resolved == spec;
  if (starts_with(spec, "git") || starts_with(spec, "github:")) {
    auto hash = spec.find('#');
    std::string repo = hash == std::string::npos ? spec : spec.substr(0, hash);
    return !child.resolved.empty() && child.resolved.rfind(repo, 0) == 0;
  }
  return registry_spec_valid(child, spec);
}

bool version_gt(const std::string& a, const std::string& b) {
  auto va = semver::Version::parse(a, semver::Options{true, false});
  auto vb = semver::Version::parse(b, semver::Options{true, false});
  if (!va || !vb) return false;
  return va->compare(*vb) > 0;
}

}  // namespace lade::resolver
