#pragma once
// Git repositories on the well-known hosts (GitHub, GitLab, Bitbucket, gists, sourcehut), read
// from any of the forms npm accepts ("user/repo", "github:user/repo", "git@github.com:u/r.git",
// "git+https://github.com/u/r.git#v1", ...) and written back in each canonical form, as npm's
// hosted-git-info does.
#include <optional>
#include <string>
#include <string_view>

namespace lade::manifest {

enum class GitHostType { kGitHub, kBitbucket, kGitLab, kGist, kSourcehut };

/// The form a hosted repository was written in, which is also the form it is printed back in.
enum class GitRepresentation { kShortcut, kSshUrl, kHttps, kGit, kOther };

/// Options every printed form accepts: hosted-git-info's noGitPlus / noCommittish.
struct GitForm {
  bool no_git_plus = false;
  bool no_committish = false;
};

struct HostedGit {
  GitHostType type = GitHostType::kGitHub;
  std::string user;        // empty for a gist without a user
  std::string auth;        // "user:password" from an http(s)/git URL, else empty
  std::string project;     // without ".git"
  std::string committish;  // decoded fragment ("v1", "semver:^1"), empty when none
  GitRepresentation representation = GitRepresentation::kShortcut;

  using Form = GitForm;

  std::string type_name() const;  // "github", "gitlab", ...
  std::string domain() const;     // "github.com", ...

  /// "github:user/repo#committish".
  std::string shortcut(Form form = {}) const;
  /// "git+ssh://git@github.com/user/repo.git#committish".
  std::string sshurl(Form form = {}) const;
  /// "git@github.com:user/repo.git#committish".
  std::string ssh(Form form = {}) const;
  /// "git+https://[auth@]github.com/user/repo.git#committish".
  std::string https(Form form = {}) const;
  /// "git://github.com/user/repo.git#committish"; only GitHub and gists have it (else empty).
  std::string git(Form form = {}) const;
  /// "user/repo#committish".
  std::string path(Form form = {}) const;
  /// Where the host serves a tarball of `committish` (HEAD when none).
  std::string tarball() const;
  /// The form it was written in (hosted-git-info's toString); sshurl for forms without one.
  std::string to_string(Form form = {}) const;
};

/// hosted-git-info's fromUrl; nullopt when `spec` is not a repository on a known host.
std::optional<HostedGit> hosted_git_from_url(std::string_view spec);

}  // namespace lade::manifest
