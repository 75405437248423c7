#include "installer/scripts.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "util/fs.h"

extern char** environ;

namespace lade::installer {

namespace fs = std::filesystem;

namespace {

std::string path_with_bins(const fs::path& project, const fs::path& dir) {
  std::string path;
  // Each node_modules/.bin from the package folder up to the project.
  for (fs::path p = dir; ; p = p.parent_path()) {
    if (p.filename() != "node_modules") {
      if (!path.empty()) path += ':';
      path += (p / "node_modules" / ".bin").string();
    }
    if (p == project || p == p.parent_path() || !p.has_parent_path()) break;
  }
  const char* old = std::getenv("PATH");
  if (old && *old) {
    path += ':';
    path += old;
  }
  return path;
}

}  // namespace

util::Status run_script(const manifest::Manifest& package, const std::string& event,
                        const fs::path& project_dir, const fs::path& dir, const ScriptRun& how) {
  const std::string* command = nullptr;
  for (const auto& [k, v] : package.scripts) {
    if (k == event) command = &v;
  }
  if (!command) return {};
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "PATH=", 5) == 0) continue;
    env_strings.emplace_back(*e);
  }
  env_strings.push_back("PATH=" + path_with_bins(project_dir, dir));
  env_strings.push_back("npm_lifecycle_event=" + event);
  env_strings.push_back("npm_lifecycle_script=" + *command);
  env_strings.push_back("npm_package_name=" + package.name);
  env_strings.push_back("npm_package_version=" + package.version);
  env_strings.push_back("npm_package_json=" + (dir / "package.json").string());
  env_strings.push_back("INIT_CWD=" + project_dir.string());
  env_strings.push_back("npm_command=" + how.npm_command);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return util::make_error("ELIFECYCLE", std::string("cannot start a script: ") + std::strerror(errno));
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) _exit(127);
    // Dependencies' output goes to stderr so that stdout stays parseable.
    if (!how.own_stdout) ::dup2(2, 1);
    const char* argv[] = {"sh", "-c", command->c_str(), nullptr};
    ::execve("/bin/sh", const_cast<char**>(argv), envp.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string why = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                      : "signal " + std::to_string(WTERMSIG(status));
  util::Error failed = util::make_error("ELIFECYCLE", package.name + "@" + package.version + " " + event +
                                                          " script failed (" + why + "): " + *command);
  // npm ends with the script's own exit code (1 when a signal ended it).
  if (WIFEXITED(status)) failed.exit_status = WEXITSTATUS(status);
  return failed;
}

util::Status run_install_scripts(const tree::Node& node, const fs::path& project_dir, const fs::path& dir) {
  // Abbreviated registry metadata says only *that* there are scripts: read them from the
  // installed package.json.
  manifest::Manifest package = node.package;
  if (auto text = util::read_file(dir / "package.json")) {
    if (auto doc = manifest::parse_json(*text, (dir / "package.json").string())) {
      package.scripts = manifest::manifest_from_json(*doc).scripts;
    }
  }
  for (const char* event : {"preinstall", "install", "postinstall"}) {
    LADE_TRY(run_script(package, event, project_dir, dir));
  }
  return {};
}

bool has_root_install_scripts(const manifest::Manifest& root) {
  for (const auto& [name, _] : root.scripts) {
    for (const char* event : kRootInstallEvents) {
      if (name == event) return true;
    }
  }
  return false;
}

util::Status run_root_install_scripts(const manifest::Manifest& root, const fs::path& project_dir,
                                      const std::string& npm_command,
                                      const std::function<void(const std::string&, const std::string&)>& on_start) {
  ScriptRun how;
  how.npm_command = npm_command;
  how.own_stdout = true;
  for (const char* event : kRootInstallEvents) {
    for (const auto& [name, command] : root.scripts) {
      if (name != event) continue;
      if (on_start) on_start(event, command);
      LADE_TRY(run_script(root, event, project_dir, project_dir, how));
      break;
    }
  }
  return {};
}

}  // namespace lade::installer
