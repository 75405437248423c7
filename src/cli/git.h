#pragma once
// A small helper around the `git` binary for git dependencies, doing what npm's @npmcli/git
// does: list a remote's refs (`git ls-remote`, read by manifest/git_revs.h) and check a commit
// out into a folder.
#include <filesystem>
#include <string>
#include <vector>

#include "manifest/git_revs.h"
#include "util/result.h"

namespace lade::cli {

using manifest::GitRevs;

/// Runs `git <args>` in `cwd` (prompts disabled); returns stdout. EGIT with git's stderr when
/// it fails or cannot start.
util::Result<std::string> run_git(const std::vector<std::string>& args,
                                  const std::filesystem::path& cwd = {});

/// `git ls-remote <repo>`, parsed.
util::Result<GitRevs> ls_remote(const std::string& repo);

/// Clones `repo` into `dir` (which must not exist) and checks out `committish` (a sha, a ref, or
/// empty for HEAD), with submodules. Returns the sha checked out.
util::Result<std::string> clone_at(const std::string& repo, const std::string& committish,
                                   const std::filesystem::path& dir);

}  // namespace lade::cli
