#include "registry/host_environment.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "manifest/json_peek.h"
#include "util/fs.h"

extern char** environ;

namespace lade::registry {

namespace {

/// The "version" of `<dir>/package.json` when that is npm's own package.json, else empty.
std::string npm_package_version(const fs::path& dir) {
  auto text = util::read_file(dir / "package.json");
  if (!text) return {};
  auto fields = manifest::peek_top_level_strings(*text, {"name", "version"});
  if (!fields || (*fields)["name"] != "npm") return {};
  return (*fields)["version"];
}

/// The first executable `name` in the PATH directories, or empty.
fs::path find_on_path(const Environment& env, std::string_view name) {
  auto it = env.find("PATH");
  if (it == env.end()) return {};
  std::string_view path = it->second;
  while (!path.empty()) {
    size_t colon = path.find(':');
    std::string_view dir = path.substr(0, colon);
    path = colon == std::string_view::npos ? std::string_view{} : path.substr(colon + 1);
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

}  // namespace

util::Result<std::string> run_command(const std::vector<std::string>& argv, const fs::path& cwd) {
  if (argv.empty()) return util::make_error("ECOMMAND", "no command to run");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return util::make_error("ECOMMAND",
                            std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    return util::make_error("ECOMMAND", "cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string how = WIFEXITED(status)
                          ? "exited with status " + std::to_string(WEXITSTATUS(status))
                          : "was killed";
    return util::make_error("ECOMMAND", "`" + argv[0] + "` " + how);
  }
  return out;
}

NodeInstall discover_node_install(const Environment& env) {
  NodeInstall found;
  std::error_code ec;
  if (fs::path node = find_on_path(env, "node"); !node.empty()) {
    // npm uses process.execPath, which is the resolved binary: /usr/local/bin/node -> /usr/local.
    fs::path real = fs::canonical(node, ec);
    if (ec) real = node;
    found.global_prefix = real.parent_path().parent_path();
  }
  if (fs::path npm = find_on_path(env, "npm"); !npm.empty()) {
    // <npm dir>/bin/npm-cli.js -> <npm dir>/npmrc
    fs::path real = fs::canonical(npm, ec);
    if (!ec) {
      const fs::path npm_dir = real.parent_path().parent_path();
      found.npm_builtin_rc = npm_dir / "npmrc";
      found.npm_version = npm_package_version(npm_dir);
    }
  }
  return found;
}

Environment process_environment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

}  // namespace lade::registry
