#pragma once
// A small helper around the `git` binary for git dependencies, doing what npm's @npmcli/git
// does: list a remote's refs (`git ls-remote`), pick the commit a committish or a
// `semver:<range>` names, and check that commit out into a folder.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lade::cli {

/// One advertised ref.
struct GitRef {
  std::string sha;
  std::string ref;      // "main", "v1.0.0", "HEAD", "pull/1"
  std::string raw_ref;  // "refs/heads/main"
  std::string type;     // "branch", "tag", "pull", "head", "other"
};

/// What `git ls-remote` says, arranged as @npmcli/git's lines-to-revs does.
struct GitRevs {
  /// By short and raw name; annotated tags point at the commit (their peeled sha).
  std::map<std::string, GitRef> refs;
  /// sha -> the ref names pointing at it, in the order listed.
  std::map<std::string, std::vector<std::string>> shas;
  /// Versions read from tags ("v1.2.3", "release-1.2.3") -> the tag's ref.
  std::map<std::string, GitRef> versions;
};

/// Parses `git ls-remote` output.
GitRevs parse_ls_remote(std::string_view output);

/// The commit `committish` names among `revs` (HEAD when empty), or nullopt when it is not an
/// advertised ref or a full sha that one points at (then only a clone can tell).
std::optional<std::string> find_commit(const GitRevs& revs, const std::string& committish);

/// The highest version among the tags that satisfies `range` (npm-pick-manifest over the
/// tags), preferring the one the default branch points at... as npm does: nullopt when none.
std::optional<std::string> find_semver_commit(const GitRevs& revs, const std::string& range);

/// Runs `git <args>` in `cwd` (prompts disabled); returns stdout. EGIT with git's stderr when
/// it fails or cannot start.
util::Result<std::string> run_git(const std::vector<std::string>& args, const std::filesystem::path& cwd = {});

/// `git ls-remote <repo>`, parsed.
util::Result<GitRevs> ls_remote(const std::string& repo);

/// Clones `repo` into `dir` (which must not exist) and checks out `committish` (a sha, a ref, or
/// empty for HEAD), with submodules. Returns the sha checked out.
util::Result<std::string> clone_at(const std::string& repo, const std::string& committish,
                                   const std::filesystem::path& dir);

}  // namespace lade::cli
