#include "cli/git.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/fs.h"

extern char** environ;

namespace lade::cli {

namespace fs = std::filesystem;

util::Result<std::string> run_git(const std::vector<std::string>& args, const fs::path& cwd) {
  auto err_dir = LADE_TRY(util::TempDir::create({}, "lade-git-"));
  const fs::path err_file = err_dir.path() / "stderr";
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return util::make_error("EGIT", std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());

  std::vector<std::string> argv{"git"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargs;
  for (auto& a : argv) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  // No prompt may wait for a password nobody will type.
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("GIT_TERMINAL_PROMPT=", 0) == 0 || entry.rfind("GIT_ASKPASS=", 0) == 0)
      continue;
    env_strings.emplace_back(entry);
  }
  env_strings.emplace_back("GIT_TERMINAL_PROMPT=0");
  env_strings.emplace_back("GIT_ASKPASS=echo");
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, "git", &actions, nullptr, cargs.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    return util::make_error("EGIT", std::string("cannot run git: ") + std::strerror(rc));
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(out_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    auto err_text = util::read_file(err_file);
    std::string err = err_text ? *err_text : std::string();
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    std::string cmd = "git";
    for (const auto& a : args) cmd += " " + a;
    if (!WIFEXITED(status)) {
      return util::make_error("EGIT", "`" + cmd + "` was stopped" + (err.empty() ? std::string() : ":\n" + err));
    }
    // As @npmcli/git: git's exit status is the error's code and the install's exit status.
    const int code = WEXITSTATUS(status);
    util::Error error = util::make_error(std::to_string(code), "An unknown git error occurred\ncommand " + cmd +
                                                                   (err.empty() ? std::string() : "\n" + err));
    error.exit_status = code;
    return error;
  }
  return out;
}

util::Result<GitRevs> ls_remote(const std::string& repo) {
  std::string out = LADE_TRY(run_git({"ls-remote", repo}));
  return manifest::parse_ls_remote(out);
}

util::Result<std::string> clone_at(const std::string& repo, const std::string& committish,
                                   const fs::path& dir) {
  LADE_TRY(run_git({"clone", "-q", "--no-checkout", repo, dir.string()}));
  const std::string ref = committish.empty() ? "HEAD" : committish;
  // A sha, a branch or tag name as the remote calls it, or anything rev-parse understands.
  std::string target = ref;
  if (ref != "HEAD" && !run_git({"rev-parse", "-q", "--verify", ref + "^{commit}"}, dir)) {
    if (run_git({"rev-parse", "-q", "--verify", "origin/" + ref + "^{commit}"}, dir))
      target = "origin/" + ref;
  }
  LADE_TRY(run_git({"-c", "advice.detachedHead=false", "checkout", "-q", target}, dir));
  std::error_code ec;
  if (fs::exists(dir / ".gitmodules", ec)) {
    LADE_TRY(run_git({"submodule", "update", "-q", "--init", "--recursive"}, dir));
  }
  std::string sha = LADE_TRY(run_git({"rev-parse", "--revs-only", "HEAD"}, dir));
  while (!sha.empty() && (sha.back() == '\n' || sha.back() == '\r' || sha.back() == ' '))
    sha.pop_back();
  return sha;
}

}  // namespace lade::cli
