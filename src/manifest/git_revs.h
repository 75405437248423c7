#pragma once
// What `git ls-remote` says about a repository, read as npm's @npmcli/git (lines-to-revs) reads
// it, and the commit a git dependency's committish or `semver:<range>` picks from it. Pure data:
// running git is the CLI's business.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lade::manifest {

/// One advertised ref.
struct GitRef {
  std::string sha;
  std::string ref;      // "main", "v1.0.0", "HEAD", "pull/1"
  std::string raw_ref;  // "refs/heads/main"
  std::string type;     // "branch", "tag", "pull", "head", "other"
};

/// The refs of a repository, arranged as lines-to-revs does.
struct GitRevs {
  /// By short and raw name; annotated tags point at the commit (their peeled sha).
  std::map<std::string, GitRef> refs;
  /// sha -> the ref names pointing at it.
  std::map<std::string, std::vector<std::string>> shas;
  /// Versions read from tags ("v1.2.3", "release-1.2.3") -> the tag's ref.
  std::map<std::string, GitRef> versions;
};

/// Parses `git ls-remote` output.
GitRevs parse_ls_remote(std::string_view output);

/// The commit `committish` names among `revs` (HEAD when empty): an advertised ref, or a full
/// sha some ref points at; nullopt otherwise (then only a clone can tell).
std::optional<std::string> find_commit(const GitRevs& revs, const std::string& committish);

/// The commit for `semver:<range>`: the version tagged on the `latest` branch (else on HEAD)
/// when it satisfies the range, else the highest tagged version that does (loose semver), as
/// npm-pick-manifest picks over the tags; nullopt when none does.
std::optional<std::string> find_semver_commit(const GitRevs& revs, const std::string& range);

}  // namespace lade::manifest
