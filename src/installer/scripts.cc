#include "installer/scripts.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "util/fs.h"

extern char** environ;

namespace lade::installer {

namespace fs = std::filesystem;

namespace {

std::string path_with_bins(const fs::path& dir, const fs::path& node_gyp_bin) {
  std::string path;
  // Each node_modules/.bin from the package folder up to the root, as npm's run-script sets it.
  for (fs::path p = dir; ; p = p.parent_path()) {
    if (p.filename() != "node_modules") {
      if (!path.empty()) path += ':';
      path += (p / "node_modules" / ".bin").string();
    }
    if (p == p.parent_path() || !p.has_parent_path()) break;
  }
  if (!node_gyp_bin.empty()) path += ":" + node_gyp_bin.string();
  const char* old = std::getenv("PATH");
  if (old && *old) {
    path += ':';
    path += old;
  }
  return path;
}

void flatten_package_env(const std::string& key, const manifest::Json& value,
                         std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_null() || (value.is_boolean() && !value.get<bool>())) {
    out.emplace_back(key, "");
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) flatten_package_env(key + "_" + std::to_string(i), value[i], out);
  } else if (value.is_object()) {
    for (const auto& [k, v] : value.items()) flatten_package_env(key + "_" + k, v, out);
  } else if (value.is_string()) {
    out.emplace_back(key, value.get<std::string>());
  } else {
    out.emplace_back(key, value.dump());
  }
}

}  // namespace

std::vector<std::pair<std::string, std::string>> package_envs(const manifest::Json& package_json) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* field : {"name", "version", "config", "engines", "bin"}) {
    auto it = package_json.find(field);
    if (it == package_json.end()) continue;
    manifest::Json value = *it;
    // A string bin is the package's own name's bin (as npm normalizes it).
    if (std::string_view(field) == "bin" && value.is_string()) {
      std::string name = package_json.value("name", "");
      if (auto slash = name.rfind('/'); slash != std::string::npos) name = name.substr(slash + 1);
      value = manifest::Json::object({{name, it->get<std::string>()}});
    }
    flatten_package_env(std::string("npm_package_") + field, value, out);
  }
  return out;
}

util::Status run_script(const manifest::Manifest& package, const std::string& event,
                        const fs::path& project_dir, const fs::path& dir, const ScriptRun& how) {
  const std::string* command = nullptr;
  for (const auto& [k, v] : package.scripts) {
    if (k == event) command = &v;
  }
  if (!command) return {};
  std::vector<std::pair<std::string, std::string>> set = how.env;
  set.emplace_back("PATH", path_with_bins(dir, how.node_gyp_bin));
  if (!how.node_gyp.empty()) set.emplace_back("npm_config_node_gyp", how.node_gyp.string());
  set.emplace_back("npm_lifecycle_event", event);
  set.emplace_back("npm_lifecycle_script", *command);
  set.emplace_back("npm_package_json", (dir / "package.json").string());
  set.emplace_back("INIT_CWD", project_dir.string());
  set.emplace_back("npm_command", how.npm_command);
  // npm's package envs (RFC 183): name, version, config, engines and bin of the package.json.
  std::vector<std::pair<std::string, std::string>> package_env;
  if (how.package_env) {
    package_env = *how.package_env;
  } else if (auto text = util::read_file(dir / "package.json")) {
    if (auto doc = manifest::parse_json(*text, (dir / "package.json").string()); doc && doc->is_object()) {
      package_env = package_envs(*doc);
    }
  }
  if (package_env.empty()) {
    package_env = {{"npm_package_name", package.name}, {"npm_package_version", package.version}};
  }
  set.insert(set.end(), package_env.begin(), package_env.end());
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    // Stale npm_package_* of an enclosing npm run would describe another package.
    if (name.starts_with("npm_package_")) continue;
    if (std::any_of(set.begin(), set.end(), [&](const auto& kv) { return kv.first == name; })) continue;
    env_strings.emplace_back(entry);
  }
  for (const auto& [name, value] : set) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  // A dependency's output, kept for the error message should the script fail.
  std::FILE* output = !how.own_stdout && how.quiet ? std::tmpfile() : nullptr;
  pid_t pid = ::fork();
  if (pid < 0) {
    if (output) std::fclose(output);
    return util::make_error("ELIFECYCLE", std::string("cannot start a script: ") + std::strerror(errno));
  }
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) _exit(127);
    if (output) {
      ::dup2(::fileno(output), 1);
      ::dup2(::fileno(output), 2);
    } else if (!how.own_stdout) {
      // Dependencies' output goes to stderr so that stdout stays parseable.
      ::dup2(2, 1);
    }
    const char* argv[] = {"sh", "-c", command->c_str(), nullptr};
    ::execve("/bin/sh", const_cast<char**>(argv), envp.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string captured;
  if (output) {
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      std::rewind(output);
      char buf[8192];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, output)) > 0) captured.append(buf, n);
    }
    std::fclose(output);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  std::string why = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                      : "signal " + std::to_string(WTERMSIG(status));
  // The end of what the script printed says why (a compiler's last error, a missing tool).
  constexpr size_t kShown = 16 * 1024;
  if (captured.size() > kShown) captured = "...\n" + captured.substr(captured.size() - kShown);
  while (!captured.empty() && (captured.back() == '\n' || captured.back() == '\r')) captured.pop_back();
  util::Error failed = util::make_error("ELIFECYCLE", package.name + "@" + package.version + " " + event +
                                                          " script failed (" + why + "): " + *command +
                                                          (captured.empty() ? "" : "\n" + captured));
  // npm ends with the script's own exit code (1 when a signal ended it).
  if (WIFEXITED(status)) failed.exit_status = WEXITSTATUS(status);
  return failed;
}

bool needs_default_gyp_install(const std::vector<std::pair<std::string, std::string>>& scripts, const fs::path& dir,
                               const manifest::Json* package_json) {
  for (const auto& [event, command] : scripts) {
    if ((event == "install" || event == "preinstall") && !command.empty()) return false;
  }
  std::error_code ec;
  if (!fs::exists(dir / "binding.gyp", ec)) return false;
  std::optional<manifest::Json> read;
  if (!package_json) {
    if (auto text = util::read_file(dir / "package.json")) {
      if (auto doc = manifest::parse_json(*text, (dir / "package.json").string())) read = std::move(*doc);
    }
    package_json = read ? &*read : nullptr;
  }
  if (!package_json || !package_json->is_object()) return true;
  auto gypfile = package_json->find("gypfile");
  return gypfile == package_json->end() || !gypfile->is_boolean() || gypfile->get<bool>();
}

InstalledScripts read_installed_scripts(const tree::Node& node, const fs::path& dir, const ScriptRun& how) {
  InstalledScripts out{node.package, how};
  std::optional<manifest::Json> doc;
  if (auto text = util::read_file(dir / "package.json")) {
    if (auto parsed = manifest::parse_json(*text, (dir / "package.json").string()); parsed && parsed->is_object()) {
      doc = std::move(*parsed);
      out.package.scripts = manifest::manifest_from_json(*doc).scripts;
      out.run.package_env = package_envs(*doc);  // read once for the three events
    }
  }
  if (needs_default_gyp_install(out.package.scripts, dir, doc ? &*doc : nullptr)) {
    out.package.scripts.emplace_back("install", kDefaultGypInstall);
  }
  return out;
}

util::Status run_install_scripts(const tree::Node& node, const fs::path& project_dir, const fs::path& dir,
                                 const ScriptRun& how) {
  const InstalledScripts scripts = read_installed_scripts(node, dir, how);
  for (const char* event : {"preinstall", "install", "postinstall"}) {
    LADE_TRY(run_script(scripts.package, event, project_dir, dir, scripts.run));
  }
  return {};
}

namespace {

/// `package` defines a script for one of `events`.
template <size_t N>
bool defines_any(const manifest::Manifest& package, const char* const (&events)[N]) {
  for (const auto& [name, _] : package.scripts) {
    for (const char* event : events) {
      if (name == event) return true;
    }
  }
  return false;
}

}  // namespace

bool has_root_install_scripts(const manifest::Manifest& root) { return defines_any(root, kRootInstallEvents); }

bool has_link_scripts(const manifest::Manifest& package) { return defines_any(package, kLinkEvents); }

util::Status run_root_install_scripts(const manifest::Manifest& root, const fs::path& project_dir,
                                      ScriptRun how,
                                      const std::function<void(const std::string&, const std::string&)>& on_start) {
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
