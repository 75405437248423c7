#include "cli/sourced_packages.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <regex>

#include "cli/git.h"
#include "installer/scripts.h"
#include "store/pack.h"
#include "util/fs.h"
#include "util/hash.h"

extern char** environ;

namespace lade::cli {

namespace fs = std::filesystem;

namespace {

bool is_full_sha(const std::string& s) {
  static const std::regex kSha("^[a-fA-F0-9]{40,64}$");
  return std::regex_match(s, kSha);
}

/// pacote's GitFetcher#prepareDir: only these make a checkout worth preparing.
bool needs_preparation(const manifest::Json& pkg) {
  if (!pkg.is_object()) return false;
  if (pkg.contains("workspaces")) return true;
  auto scripts = pkg.find("scripts");
  if (scripts == pkg.end() || !scripts->is_object()) return false;
  for (const char* s : {"postinstall", "build", "preinstall", "install", "prepack", "prepare"}) {
    auto it = scripts->find(s);
    if (it != scripts->end() && it->is_string() && !it->get<std::string>().empty()) return true;
  }
  return false;
}

/// The checkouts being prepared up the chain of processes (pacote's _PACOTE_NO_PREPARE_), so
/// that git dependencies that depend on each other do not prepare forever.
constexpr const char* kNoPrepareVar = "LADE_NO_PREPARE";

std::vector<std::string> no_prepare_list() {
  std::vector<std::string> out;
  const char* v = std::getenv(kNoPrepareVar);
  if (!v) return out;
  std::string s = v;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    std::string item = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!item.empty()) out.push_back(item);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

/// The last lines of `text`, for an error message.
std::string tail_lines(const std::string& text, size_t lines) {
  size_t pos = text.size();
  while (pos > 0 && (text[pos - 1] == '\n' || text[pos - 1] == '\r')) --pos;
  size_t end = pos;
  for (size_t n = 0; pos > 0 && n < lines; ++n) {
    size_t nl = text.rfind('\n', pos - 1);
    pos = nl == std::string::npos ? 0 : nl;
    if (nl == std::string::npos) break;
  }
  return text.substr(pos == 0 ? 0 : pos + 1, end - (pos == 0 ? 0 : pos + 1));
}

/// Runs `argv` in `cwd` with `extra_env` added; its output is kept quiet and shown only when
/// it fails, as pacote does.
util::Status run_process(const std::vector<std::string>& argv, const fs::path& cwd,
                         const std::vector<std::string>& extra_env) {
  auto out_dir = LADE_TRY(util::TempDir::create({}, "lade-prepare-"));
  const fs::path out_file = out_dir.path() / "output";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& x : extra_env) {
      if (entry.substr(0, entry.find('=') + 1) == std::string_view(x).substr(0, x.find('=') + 1))
        replaced = true;
    }
    if (!replaced) env_strings.emplace_back(entry);
  }
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, args[0].c_str(), &actions, nullptr, cargs.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return util::make_error("EGITPREPARE", "cannot run " + args[0] + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    auto output = util::read_file(out_file);
    std::string shown = output ? tail_lines(*output, 20) : std::string();
    return util::make_error("EGITPREPARE", "git dep preparation failed in " + cwd.string() +
                                               (shown.empty() ? std::string() : ":\n" + shown));
  }
  return {};
}

}  // namespace

SourcedPackages::SourcedPackages(registry::RegistryClient& client, const store::Store& store,
                                 SourcedOptions options)
    : client_(client), store_(store), options_(std::move(options)) {}

util::Result<std::string> SourcedPackages::download(const std::string& url) {
  auto body = std::make_shared<std::string>();
  registry::RegistryClient::TarballRequest r;
  r.url = url;
  r.on_chunk = [body](std::string_view chunk) {
    body->append(chunk);
    return true;
  };
  r.on_restart = [body] { body->clear(); };
  auto result = client_.tarball(std::move(r)).get();
  if (!result) return result.take_error();
  return std::move(*body);
}

void SourcedPackages::override_folder(const fs::path& dir, manifest::Manifest manifest) {
  std::lock_guard lock(mu_);
  folder_overrides_[dir.lexically_normal()] = std::move(manifest);
}

util::Result<manifest::Manifest> SourcedPackages::read_folder(const fs::path& dir) {
  {
    std::lock_guard lock(mu_);
    if (auto it = folder_overrides_.find(dir.lexically_normal()); it != folder_overrides_.end())
      return it->second;
  }
  const fs::path file = dir / "package.json";
  std::string text = LADE_TRY(util::read_file(file));
  manifest::Json doc = LADE_TRY(manifest::parse_json(text, file.string()));
  manifest::expand_directories_bin(doc, dir);
  return manifest::manifest_from_json(doc);
}

util::Result<resolver::SourcedPackage> SourcedPackages::fetch(const manifest::PackageSpec& spec) {
  using manifest::SpecType;
  const std::string name_for_errors = spec.name.empty() ? spec.raw : spec.name;
  if (spec.type == SpecType::kGit) return fetch_git(spec);
  std::string bytes;
  resolver::SourcedPackage out;
  if (spec.type == SpecType::kFile) {
    const std::string path = spec.fetch_spec.value_or("");
    auto read = util::read_file(path);
    if (!read) {
      return util::make_error(
          read.error().code,
          read.error().code + ": no such file or directory, open '" + path + "'");
    }
    bytes = std::move(*read);
  } else if (spec.type == SpecType::kRemote) {
    out.resolved = spec.fetch_spec.value_or(spec.raw_spec);
    bytes = LADE_TRY(download(out.resolved));
  } else {
    return util::make_error("EUNSUPPORTEDSPEC", "cannot fetch " + spec.raw);
  }
  store::StoredPackage stored = LADE_TRY(store_.add_tarball(bytes, "", "", name_for_errors));
  out.integrity = stored.integrity;
  if (!stored.package_json.empty()) {
    manifest::Json doc =
        LADE_TRY(manifest::parse_json(stored.package_json, name_for_errors + "/package.json"));
    out.manifest = manifest::manifest_from_json(doc);
  }
  return out;
}

util::Result<std::string> SourcedPackages::file_tarball(const std::string& resolved) {
  std::string path = resolved.rfind("file:", 0) == 0 ? resolved.substr(5) : resolved;
  if (path.rfind("//", 0) == 0) path.erase(0, 2);
  fs::path abs = fs::path(path).is_absolute() ? fs::path(path) : options_.project_dir / path;
  return util::read_file(abs);
}

fs::path SourcedPackages::git_cache_file(const std::string& resolved) const {
  std::string key = resolved;
  key += options_.ignore_scripts ? std::string_view("\0plain", 6) : std::string_view("\0prepared", 9);
  return options_.cache_dir / "git-v1" / (util::hex_encode(util::sha256(key)) + ".tgz");
}

void SourcedPackages::remember(const std::string& resolved, const std::string& tarball) {
  {
    std::lock_guard lock(mu_);
    packed_[resolved] = tarball;
  }
  std::error_code ec;
  fs::path file = git_cache_file(resolved);
  fs::create_directories(file.parent_path(), ec);
  (void)util::write_file_atomic(file, tarball);
}

std::optional<std::string> SourcedPackages::recall(const std::string& resolved) {
  {
    std::lock_guard lock(mu_);
    if (auto it = packed_.find(resolved); it != packed_.end()) return it->second;
  }
  if (auto cached = util::read_file(git_cache_file(resolved))) {
    std::lock_guard lock(mu_);
    packed_[resolved] = *cached;
    return std::move(*cached);
  }
  return std::nullopt;
}

std::string SourcedPackages::resolved_for(const manifest::PackageSpec& spec,
                                          const std::string& sha) {
  // The spec as written with its committish replaced by the commit; hosted repositories in
  // their ssh form, https when the URL carries credentials.
  if (spec.hosted) {
    manifest::HostedGit h = *spec.hosted;
    h.committish = sha;
    return h.auth.empty() ? h.sshurl() : h.https();
  }
  std::string raw = spec.raw_spec;
  if (size_t hash = raw.find('#'); hash != std::string::npos) raw.resize(hash);
  return raw + "#" + sha;
}

util::Result<SourcedPackages::Checkout> SourcedPackages::checkout(const manifest::PackageSpec& spec,
                                                                  const std::string& repo,
                                                                  const std::string& committish) {
  auto tmp = LADE_TRY(util::TempDir::create({}, "lade-git-clone-"));
  const fs::path clone = tmp.path() / "repo";
  std::string sha = LADE_TRY(clone_at(repo, committish, clone));
  if (is_full_sha(committish) && committish != sha) {
    return util::make_error(
        "EGITCHECKOUT", "Commit mismatch: expected SHA " + committish + " and cloned HEAD " + sha);
  }
  Checkout out;
  out.resolved = resolved_for(spec, sha);
  fs::path dir = clone;
  if (spec.git_subdir) dir = clone / fs::path(*spec.git_subdir).relative_path();

  const fs::path pj = dir / "package.json";
  std::string text = LADE_TRY(util::read_file(pj));
  manifest::Json doc = LADE_TRY(manifest::parse_json(text, pj.string()));
  out.manifest = manifest::manifest_from_json(doc);

  if (auto cached = recall(out.resolved)) {
    out.tarball = std::move(*cached);
    return out;
  }
  if (!options_.ignore_scripts && needs_preparation(doc)) {
    std::vector<std::string> seen = no_prepare_list();
    if (std::find(seen.begin(), seen.end(), out.resolved) == seen.end()) {
      seen.push_back(out.resolved);
      std::string joined;
      for (const auto& s : seen) joined += (joined.empty() ? "" : "\n") + s;
      // Its dependencies (dev ones included) first, then its `prepare`, as pacote does.
      std::vector<std::string> argv{options_.lade_binary.string(),
                                    "install",
                                    "--force",
                                    "--no-save",
                                    "--include=dev",
                                    "--include=peer",
                                    "--include=optional"};
      if (!options_.registry.empty()) argv.push_back("--registry=" + options_.registry);
      LADE_TRY(run_process(argv, dir, {std::string(kNoPrepareVar) + "=" + joined}));
      LADE_TRY(installer::run_script(out.manifest, "prepare", dir, dir));
    }
  }
  out.tarball = LADE_TRY(store::pack_directory(dir));
  remember(out.resolved, out.tarball);
  return out;
}

util::Result<resolver::SourcedPackage> SourcedPackages::fetch_git(
    const manifest::PackageSpec& spec) {
  std::string repo;
  if (spec.hosted) {
    repo = spec.hosted->https({.no_git_plus = true, .no_committish = true});
  } else {
    repo = spec.fetch_spec.value_or("");
  }
  if (repo.empty()) return util::make_error("EGIT", "No git url for " + spec.raw);
  const std::string committish = spec.git_committish.value_or("");
  std::string target = committish;
  if (spec.git_range || !is_full_sha(committish)) {
    auto revs = ls_remote(repo);
    if (!revs && spec.hosted && spec.hosted->auth.empty()) {
      // pacote falls back to ssh when https does not answer.
      repo = spec.hosted->sshurl({.no_git_plus = true, .no_committish = true});
      revs = ls_remote(repo);
    }
    if (!revs) return revs.take_error();
    if (spec.git_range) {
      auto sha = manifest::find_semver_commit(*revs, *spec.git_range);
      if (!sha) {
        return util::make_error("ETARGET", "No matching version found for " + spec.raw +
                                               " (no tag of " + repo +
                                               " satisfies semver:" + *spec.git_range + ")");
      }
      target = *sha;
    } else if (auto sha = manifest::find_commit(*revs, committish)) {
      target = *sha;
    }
  }
  const std::string name_for_errors = spec.name.empty() ? spec.raw : spec.name;
  resolver::SourcedPackage out;
  if (is_full_sha(target)) {
    // A commit packed before: its package.json is in the tarball, no clone needed.
    out.resolved = resolved_for(spec, target);
    if (auto cached = recall(out.resolved)) {
      store::StoredPackage stored = LADE_TRY(store_.add_tarball(*cached, "", "", name_for_errors));
      manifest::Json doc =
          LADE_TRY(manifest::parse_json(stored.package_json, name_for_errors + "/package.json"));
      out.manifest = manifest::manifest_from_json(doc);
      return out;
    }
  }
  Checkout c = LADE_TRY(checkout(spec, repo, target));
  // Extract it now, so that installing finds the files in the store; git resolutions carry no
  // integrity, so the installer asks git_tarball() for the bytes again.
  auto stored = store_.add_tarball(c.tarball, "", "", name_for_errors);
  if (!stored) return stored.take_error();
  out.manifest = std::move(c.manifest);
  out.resolved = std::move(c.resolved);
  return out;
}

util::Result<std::string> SourcedPackages::git_tarball(const std::string& resolved) {
  if (auto cached = recall(resolved)) return std::move(*cached);
  manifest::PackageSpec spec = LADE_TRY(manifest::parse_spec(resolved));
  if (spec.type != manifest::SpecType::kGit) {
    return util::make_error("EUNSUPPORTEDSPEC", resolved + " is not a git repository");
  }
  std::string repo = spec.hosted ? spec.hosted->https({.no_git_plus = true, .no_committish = true})
                                 : spec.fetch_spec.value_or("");
  Checkout c = LADE_TRY(checkout(spec, repo, spec.git_committish.value_or("")));
  return std::move(c.tarball);
}

}  // namespace lade::cli
