#pragma once
// Package specifiers as npm reads them (npm-package-arg): what `npm install <arg>` and the
// values of package.json dependency objects mean.
//
//   parse_spec("lodash@^4")            range   name lodash, fetch_spec "^4"
//   parse_spec("@s/x@latest")          tag
//   parse_spec("y@npm:x@^2")           alias   sub_spec: x@^2
//   parse_spec("user/repo#v1")         git     hosted on GitHub, committish v1
//   parse_spec("../dir")               directory, fetch_spec the absolute path
//   resolve_spec("x", "file:x.tgz", where)   file
//   resolve_spec("x", "https://registry.example/x.tgz", where)   remote
//
// npm 11 rejects "link:" and "workspace:" specs (EUNSUPPORTEDPROTOCOL); so does lade.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "manifest/hosted_git.h"
#include "manifest/semver_queries.h"
#include "util/result.h"

namespace lade::manifest {

enum class SpecType { kVersion, kRange, kTag, kAlias, kGit, kRemote, kFile, kDirectory };

/// npm-package-arg's type names: "version", "range", "tag", "alias", "git", ...
std::string_view spec_type_name(SpecType type);

struct PackageSpec {
  SpecType type = SpecType::kRange;
  /// The package name, empty when the spec does not say (a bare URL, path or repository).
  std::string name;
  /// name with its '/' as "%2f" (the registry path segment), empty when name is.
  std::string escaped_name;
  /// "@scope" of a scoped name, else empty.
  std::string scope;
  /// What was parsed: the argument, or "name@spec" for the package.json form.
  std::string raw;
  /// The spec part as given ("^1.2.0", "npm:x@1", "github:u/r"); "*" for a bare name.
  std::string raw_spec;
  /// What npm writes for it when it is not a registry spec; nullopt for registry specs.
  std::optional<std::string> save_spec;
  /// What to fetch: the trimmed range/tag/version, a URL, an absolute path; nullopt for an
  /// alias and for hosted git shortcuts.
  std::optional<std::string> fetch_spec;
  /// Registry specs (version, range, tag, alias).
  bool registry = false;
  /// The directory relative paths were resolved against (file and directory specs).
  std::string where;

  // git specs
  std::optional<std::string> git_committish;  // "#v1.2" / "#abc123"
  std::optional<std::string> git_range;       // "#semver:^1"
  std::optional<std::string> git_subdir;      // "#path:packages/x" -> "/packages/x"
  std::optional<HostedGit> hosted;            // when on a known host

  /// The aliased spec of `npm:` aliases ("y@npm:x@^2" -> x@^2).
  std::shared_ptr<const PackageSpec> sub_spec;

  /// npa's toString(): "name@spec" with the most specific spec known.
  std::string to_string() const;
};

struct SpecOptions {
  /// Where relative paths resolve; empty means the current directory.
  std::filesystem::path where;
  /// What "~/" means in file specs; empty means $HOME.
  std::filesystem::path home;
  /// Answers "is this a version / a range"; null means default_semver_queries().
  const SemverQueries* semver = nullptr;
};

/// A path or "file:" spec, as npm-package-arg tells them: /^(?:[.]|~[/]|[/]|[a-zA-Z]:)/ or a
/// "file:" prefix ("~1.2.3" is a range, "~/x" a folder in the home directory).
bool is_file_spec(std::string_view spec);

/// Command-line form: "name", "name@spec", "@scope/name@spec", a path, a URL, a repository.
/// Errors: EINVALIDPACKAGENAME, EINVALIDTAGNAME, EUNSUPPORTEDPROTOCOL, ERR_INVALID_URL and
/// EINVALIDSPEC (npm's code-less errors: nested aliases, conflicting git attributes, ...).
util::Result<PackageSpec> parse_spec(std::string_view arg);
util::Result<PackageSpec> parse_spec(std::string_view arg, const SpecOptions& options);

/// package.json form: a dependency `name` with value `spec`, relative paths resolved against
/// `where` (the directory of that package.json).
util::Result<PackageSpec> resolve_spec(std::string_view name, std::string_view spec,
                                       const std::filesystem::path& where);
util::Result<PackageSpec> resolve_spec(std::string_view name, std::string_view spec,
                                       const SpecOptions& options);

/// What `npm install <spec>` writes into package.json once `resolved_version` is installed.
struct SaveOptions {
  /// npm's save-prefix config ("^" by default, "~" or "" are common).
  std::string save_prefix = "^";
  /// npm's save-exact: the prefix becomes "".
  bool save_exact = false;
  /// The directory of the package.json being edited; file/directory specs are saved relative
  /// to it ("file:../dir").
  std::filesystem::path project_dir;
  /// Answers "is this range a subset of that one"; null means default_semver_queries().
  const SemverQueries* semver = nullptr;
};

/// npm's rules (reify's saveIdealTree):
/// - registry specs save `<prefix><resolved_version>` ("^1.2.3") for tags, exact versions and
///   ranges that contain that range; other ranges are kept as written ("~2.0.0", "2.1.x");
///   aliases save "npm:<name>@<that>"; an unknown version saves "*";
/// - hosted git saves the shortcut ("github:u/r#ref"), or "git+https://auth@..." when the URL
///   carried credentials; other git and remote URLs are saved as written;
/// - file and directory specs save "file:<path relative to project_dir>".
std::string save_spec_for(const PackageSpec& spec, const std::string& resolved_version,
                          const SaveOptions& options);

}  // namespace lade::manifest
