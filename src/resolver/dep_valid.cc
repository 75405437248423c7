// npm's dep-valid: whether a node in the tree satisfies a dependency spec.
#include <regex>
#include <string>

#include "manifest/spec.h"
#include "resolver/ideal_tree.h"
#include "resolver/node_source.h"
#include "semver/js_text.h"
#include "semver/functions.h"
#include "semver/version.h"

namespace lade::resolver {

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

bool ends_with_icase(const std::string& s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  for (size_t i = 0; i < suffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[s.size() - suffix.size() + i])) != suffix[i])
      return false;
  }
  return true;
}

bool is_remote_url(const std::string& s) {
  return starts_with(s, "http://") || starts_with(s, "https://");
}

/// A spec that can only be a version, a range or a tag: no path, URL, alias or repository
/// shape. Checked without npm-package-arg, since every edge reload asks.
bool plainly_registry(const std::string& spec) {
  if (spec.find_first_of("/:\\") != std::string::npos) return false;
  if (!spec.empty() && (spec[0] == '.' || spec[0] == '~')) return false;
  return !ends_with_icase(spec, ".tgz") && !ends_with_icase(spec, ".tar") &&
         !ends_with_icase(spec, ".tar.gz");
}

/// The registry spec names a dist-tag: neither empty, "*", a range nor a version.
bool names_dist_tag(const std::string& spec, bool raw_empty) {
  if (raw_empty || spec == "*") return false;
  semver::Options loose{true, false};
  return !semver::Range::shared(spec, loose) && !semver::Version::parse(spec, loose);
}

bool registry_spec_valid(const tree::Node& child, const std::string& spec, bool raw_empty) {
  // npm-package-arg reads an empty spec as "*"; one of white space only is the range "" (which,
  // unlike "*" here, leaves prereleases out).
  if (raw_empty || spec == "*") return true;
  semver::Options loose{true, false};
  if (const semver::Range* range = semver::Range::shared(spec, loose)) {
    return range->test(child.version());
  }
  // A version that does not read as a range satisfies nothing (semver.satisfies is false).
  if (semver::Version::parse(spec, loose)) return false;
  // A dist-tag: any registry tarball is taken on faith, as npm does.
  return is_remote_url(child.resolved);
}

bool is_commit(const std::optional<std::string>& committish) {
  static const std::regex kSha("^[a-fA-F0-9]{40,64}$");
  return committish && std::regex_match(*committish, kSha);
}

bool git_valid(const tree::Node& child, const manifest::PackageSpec& requested) {
  if (child.resolved.empty()) return false;
  auto res = manifest::parse_spec(child.resolved);
  if (!res) return false;
  const bool req_commit = is_commit(requested.git_committish);
  if (!res->hosted) {
    if (res->fetch_spec != requested.fetch_spec) return false;
  } else {
    manifest::GitForm form{.no_git_plus = false, .no_committish = !req_commit};
    if (!requested.hosted || requested.hosted->ssh(form) != res->hosted->ssh(form)) return false;
  }
  if (!requested.git_range) return true;
  return semver::satisfies(child.package.version, *requested.git_range,
                           semver::Options{true, false});
}

bool spec_valid(const tree::Node& child, const manifest::PackageSpec& requested,
                const fs::path& root) {
  using manifest::SpecType;
  switch (requested.type) {
    case SpecType::kRange:
    case SpecType::kVersion:
    case SpecType::kTag:
      return registry_spec_valid(child, requested.fetch_spec.value_or(""), requested.raw_spec.empty());
    case SpecType::kAlias:
      if (!requested.sub_spec || child.package_name() != requested.sub_spec->name) return false;
      return registry_spec_valid(child, requested.sub_spec->fetch_spec.value_or(""), requested.sub_spec->raw_spec.empty());
    case SpecType::kDirectory:
      // A link to that very folder.
      return child.is_link &&
             child.realpath == project_relative(root, requested.fetch_spec.value_or(""));
    case SpecType::kFile:
      return !child.is_link &&
             child.resolved == "file:" + project_relative(root, requested.fetch_spec.value_or(""));
    case SpecType::kRemote:
      return child.resolved == requested.fetch_spec.value_or("");
    case SpecType::kGit:
      return git_valid(child, requested);
  }
  return false;
}

}  // namespace

bool dep_valid_in(const tree::Node& child, const std::string& raw_spec, const tree::Node& from,
                  const fs::path& project_dir) {
  // String.prototype.trim, as npm-package-arg trims: every JavaScript white space character.
  std::string spec(semver::js::trim(raw_spec));
  if (plainly_registry(spec)) return registry_spec_valid(child, spec, raw_spec.empty());
  const fs::path root = project_dir.empty() ? fs::path("/") : project_dir;
  manifest::SpecOptions opts;
  opts.where = (root / spec_folder(from)).lexically_normal();
  auto requested = manifest::resolve_spec(child.name, spec, opts);
  // A spec npm cannot read is satisfied by nothing.
  if (!requested) return false;
  return spec_valid(child, *requested, root);
}

bool met_only_with_tarball_url(const std::string& name, const std::string& raw_spec) {
  std::string spec(semver::js::trim(raw_spec));
  if (plainly_registry(spec)) return names_dist_tag(spec, raw_spec.empty());
  auto requested = manifest::resolve_spec(name, spec, manifest::SpecOptions{});
  if (!requested) return false;
  if (requested->type == manifest::SpecType::kTag) {
    return names_dist_tag(requested->fetch_spec.value_or(""), requested->raw_spec.empty());
  }
  if (requested->type == manifest::SpecType::kAlias && requested->sub_spec &&
      requested->sub_spec->type == manifest::SpecType::kTag) {
    return names_dist_tag(requested->sub_spec->fetch_spec.value_or(""), requested->sub_spec->raw_spec.empty());
  }
  return false;
}

bool dep_valid(const tree::Node& child, const std::string& raw_spec, const tree::Node& from) {
  return dep_valid_in(child, raw_spec, from, fs::path());
}

tree::DepValidFn make_dep_valid(fs::path project_dir) {
  return [project_dir = std::move(project_dir)](const tree::Node& child, const std::string& spec,
                                                const tree::Node& from) {
    return dep_valid_in(child, spec, from, project_dir);
  };
}

bool version_gt(const std::string& a, const std::string& b) {
  auto va = semver::Version::parse(a, semver::Options{true, false});
  auto vb = semver::Version::parse(b, semver::Options{true, false});
  if (!va || !vb) return false;
  return va->compare(*vb) > 0;
}

}  // namespace lade::resolver
