#include "cli/project.h"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>
#include <cstdlib>

#include "cli/workspaces.h"
#include "registry/host_environment.h"
#include "util/fs.h"

namespace lade::cli {

namespace fs = std::filesystem;

namespace {

std::string machine_arch() {
  struct utsname u {};
  if (::uname(&u) != 0) return "x64";
  std::string m = u.machine;
  if (m == "x86_64" || m == "amd64") return "x64";
  if (m == "aarch64" || m == "arm64") return "arm64";
  if (m == "i386" || m == "i686") return "ia32";
  if (m.rfind("arm", 0) == 0) return "arm";
  return m;
}

fs::path find_project_dir(const InstallRequest& req) {
  if (!req.prefix.empty()) return fs::absolute(req.prefix).lexically_normal();
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  for (fs::path p = cwd; !p.empty(); p = p.parent_path()) {
    if (fs::exists(p / "package.json", ec)) return p;
    if (p == p.parent_path()) break;
  }
  return cwd;
}

}  // namespace

/// @npmcli/config's loadLocalPrefix: a folder above `dir` whose package.json has workspaces
/// that include `dir` is the project; returns it with `dir` relative to it.
std::optional<std::pair<fs::path, std::string>> enclosing_workspace_root(const fs::path& dir) {
  std::error_code ec;
  for (fs::path p = dir.parent_path(); !p.empty(); p = p.parent_path()) {
    if (fs::exists(p / "package.json", ec)) {
      auto text = util::read_file(p / "package.json");
      auto doc = text ? manifest::parse_json(*text, (p / "package.json").string())
                      : util::Result<manifest::Json>(util::make_error("ENOENT", ""));
      if (doc && doc->is_object() && doc->contains("workspaces")) {
        if (auto ws = map_workspaces(p, *doc)) {
          const std::string rel = dir.lexically_relative(p).generic_string();
          for (const auto& [_, folder] : *ws) {
            if (folder == rel) return std::make_pair(p, folder);
          }
        }
      }
    }
    if (p == p.parent_path()) break;
  }
  return std::nullopt;
}

util::Result<Project> Project::open(const InstallRequest& req) {
  Project p;
  p.dir = find_project_dir(req);
  if (req.prefix.empty()) {
    if (auto root = enclosing_workspace_root(p.dir)) {
      p.dir = root->first;
      p.implied_workspace = root->second;
    }
  }
  p.arch = machine_arch();
  fs::path pj = p.dir / "package.json";
  auto text = util::read_file(pj);
  if (!text) {
    if (text.error().code != "ENOENT") return text.take_error();
    if (req.specs.empty()) {
      return util::make_error("ENOENT", "no package.json in " + p.dir.string() +
                                            ": run lade in a project folder, or pass --prefix <dir>");
    }
    // `lade add x` in an empty folder starts a package.json, as npm does.
    p.package_json = LADE_TRY(manifest::PackageJson::load_or_create(p.dir));
  } else {
    p.package_json_text = std::move(*text);
    p.package_json = LADE_TRY(manifest::PackageJson::from_text(p.package_json_text, pj));
  }
  if (!p.package_json->content().is_object()) {
    return util::make_error("EJSONPARSE", pj.string() + ": package.json must contain a JSON object");
  }
  p.manifest = manifest::manifest_from_json(p.package_json->content());
  return p;
}

namespace {

/// The file `sh -c node` would run: the first executable regular `node` on PATH.
std::optional<fs::path> node_on_path() {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::string_view rest = path;
  while (true) {
    const size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / "node";
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(colon + 1);
  }
}

/// What identifies the node executable `node` resolves to, as one line of text; empty when it
/// is not a node executable itself (a version manager's shim, which picks a version per
/// project behind one unchanging file, or a script).
std::string node_identity(const fs::path& node) {
  std::error_code ec;
  const fs::path real = fs::canonical(node, ec);
  if (ec) return {};
  const std::string base = real.filename().string();
  if (base != "node" && base != "nodejs") return {};
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0) return {};
  char magic[4] = {};
  FILE* f = std::fopen(real.c_str(), "rb");
  if (!f) return {};
  const size_t got = std::fread(magic, 1, sizeof magic, f);
  std::fclose(f);
  if (got != sizeof magic || std::memcmp(magic, "\x7f" "ELF", 4) != 0) return {};
  return real.string() + '\t' + std::to_string(st.st_dev) + '\t' + std::to_string(st.st_ino) + '\t' +
         std::to_string(st.st_size) + '\t' + std::to_string(st.st_mtim.tv_sec) + '.' +
         std::to_string(st.st_mtim.tv_nsec);
}

constexpr std::string_view kNodeVersionFile = "node-version";

}  // namespace

void Project::detect_node(const fs::path& cache_dir) {
  if (!node_version.empty()) return;
  // Starting node costs 3-4 ms (a shell, then node's own start-up), on every install. The
  // answer is kept with the identity of the executable that gave it.
  std::string identity;
  const std::optional<fs::path> node = node_on_path();
  if (node) identity = node_identity(*node);
  const fs::path cache_file = cache_dir / kNodeVersionFile;
  if (!identity.empty()) {
    if (auto text = util::read_file(cache_file)) {
      std::string_view line = *text;
      if (line.ends_with('\n')) line.remove_suffix(1);
      const size_t tab = line.rfind('\t');
      if (tab != std::string_view::npos && line.substr(0, tab) == identity && tab + 1 < line.size()) {
        node_version = std::string(line.substr(tab + 1));
        return;
      }
    }
  }
  // The executable found on PATH, run directly: through a shell it took 4.0 ms instead of 3.1.
  auto out = registry::run_command({node ? node->string() : std::string("node"), "--version"}, {});
  if (!out) return;
  std::string v = out->substr(0, out->find_first_of("\r\n"));
  if (!v.empty() && v[0] == 'v') v.erase(0, 1);
  node_version = v;
  if (!identity.empty() && !node_version.empty() &&
      node_version.find_first_of("\t\n") == std::string::npos) {
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    (void)util::write_file_atomic(cache_file, identity + '\t' + node_version + '\n');  // a speed-up only
  }
}

util::Status Project::save_package_json() {
  LADE_TRY(package_json->save());
  return {};
}

util::Result<std::vector<AddedSpec>> parse_added_specs(const InstallRequest& req, manifest::Manifest& root,
                                                       const Project& project, const SpecNameLookup& name_of,
                                                       const TagVersionLookup& version_of_tag) {
  // npm-package-arg without a base path: a relative folder or tarball is where the user stands
  // (also with --prefix), and is saved relative to the project.
  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  if (ec) cwd = project.dir;
  return parse_added_specs_for(req, root, *project.package_json, project.dir, cwd, name_of, version_of_tag);
}

util::Result<std::vector<AddedSpec>> parse_added_specs_for(const InstallRequest& req, manifest::Manifest& target,
                                                           const manifest::PackageJson& base, const fs::path& dir,
                                                           const fs::path& cwd, const SpecNameLookup& name_of,
                                                           const TagVersionLookup& version_of_tag) {
  std::vector<AddedSpec> out;
  manifest::PackageJson scratch = base;
  std::vector<std::pair<std::string, std::string>> still_optional;
  for (const auto& arg : req.specs) {
    AddedSpec a;
    manifest::SpecOptions opts;
    opts.where = cwd;
    a.spec = LADE_TRY(manifest::parse_spec(arg, opts));
    if (a.spec.name.empty()) {
      if (!name_of || a.spec.registry) {
        return util::make_error("EUNSUPPORTEDSPEC", "lade cannot add \"" + arg + "\": name the package (name@spec)");
      }
      a.spec.name = LADE_TRY(name_of(a.spec));
      if (a.spec.name.empty()) {
        return util::make_error("EINVALIDPACKAGENAME", "the package at " + arg + " has no name");
      }
    }
    if (req.save_dev) {
      a.kind = manifest::DependencyKind::kDev;
    } else if (req.save_optional) {
      a.kind = manifest::DependencyKind::kOptional;
    } else if (req.save_prod) {
      a.kind = manifest::DependencyKind::kProd;
    } else if (req.save_peer) {
      a.kind = manifest::DependencyKind::kPeer;
    }
    a.requested = a.spec.raw_spec.empty() ? "*" : a.spec.raw_spec;
    // npm's #applyUserRequestsToNode: an explicit tag is installed as the version it names now
    // (`typescript@latest` resolves as typescript@7.0.2 and is saved as ^7.0.2), not as an edge
    // that a version already placed for another range satisfies.
    if (a.spec.type == manifest::SpecType::kTag && !a.spec.raw_spec.empty() && version_of_tag) {
      const std::string version = LADE_TRY(version_of_tag(a.spec));
      manifest::SpecOptions exact;
      exact.where = cwd;
      a.spec = LADE_TRY(manifest::parse_spec(a.spec.name + "@" + version, exact));
      a.requested = version;
    }
    if (a.requested == "*" && a.spec.registry) {
      // A bare name already declared keeps its range (add-rm-pkg-deps sets "*" only where there
      // is none): `lade add express` with "express": "^4.19.0" updates within ^4.19.0.
      auto existing = scratch.saved_spec(a.kind, a.spec.name);
      // `-P name` for an optional dependency: npm's "*" in dependencies loses to the optional
      // range (an optional dependency is never also a production one): that range is resolved,
      // as an optional edge, and saved to dependencies.
      if (!existing && a.kind == manifest::DependencyKind::kProd) {
        existing = scratch.saved_spec(manifest::DependencyKind::kOptional, a.spec.name);
        if (existing) still_optional.emplace_back(a.spec.name, *existing);
      }
      if (existing && *existing != "*") {
        manifest::SpecOptions keep;
        keep.where = dir;
        if (auto kept = manifest::resolve_spec(a.spec.name, *existing, keep)) {
          a.spec = std::move(*kept);
          a.requested = *existing;
        }
      }
    }
    if (a.spec.type == manifest::SpecType::kFile || a.spec.type == manifest::SpecType::kDirectory) {
      // Paths are resolved from where the user stands, then written relative to the package.
      manifest::SaveOptions save;
      save.project_dir = dir;
      a.requested = manifest::save_spec_for(a.spec, "", save);
    } else if (!a.spec.registry) {
      a.requested = a.spec.save_spec.value_or(a.requested);
    }
    if (a.kind) {
      // add-rm-pkg-deps' deleteSubKey, which warns for each section the name leaves.
      using K = manifest::DependencyKind;
      std::vector<K> leaves;
      switch (*a.kind) {
        case K::kProd: leaves = {K::kDev, K::kPeer}; break;
        case K::kDev: leaves = {K::kProd}; break;
        case K::kOptional: leaves = {K::kPeer}; break;
        case K::kPeer:
        case K::kPeerOptional: leaves = {K::kProd, K::kOptional}; break;
      }
      for (K from : leaves) {
        if (scratch.saved_spec(from, a.spec.name)) {
          a.moved.push_back("Removing " + std::string(manifest::dependency_field(from)) + "." + a.spec.name +
                            " in favor of " + std::string(manifest::dependency_field(*a.kind)) + "." + a.spec.name);
        }
      }
    }
    scratch.set_dependency(a.kind, a.spec.name, a.requested);
    out.push_back(std::move(a));
  }
  // The package resolves from package.json as it will be, with the requested specs in place.
  manifest::Manifest edited = manifest::manifest_from_json(scratch.content());
  target.dependencies = edited.dependencies;
  target.dev_dependencies = edited.dev_dependencies;
  target.optional_dependencies = edited.optional_dependencies;
  for (const auto& [name, spec] : still_optional) {
    std::erase_if(target.dependencies, [&name](const auto& d) { return d.first == name; });
    target.optional_dependencies.emplace_back(name, spec);
  }
  target.peer_dependencies = edited.peer_dependencies;
  return out;
}

util::Status settle_added_specs(const std::vector<AddedSpec>& added, tree::Node& root, Project& project,
                                const InstallRequest& req, const registry::Settings& settings) {
  return settle_added_specs_for(added, root, *project.package_json, project.dir, req, settings);
}

util::Status settle_added_specs_for(const std::vector<AddedSpec>& added, tree::Node& node,
                                    manifest::PackageJson& pj, const fs::path& dir, const InstallRequest& req,
                                    const registry::Settings& settings) {
  manifest::SaveOptions save;
  save.save_prefix = settings.save_prefix;
  save.save_exact = req.save_exact || settings.save_exact;
  save.project_dir = dir;
  for (const auto& a : added) {
    tree::Node* child = node.resolve(a.spec.name);
    std::string version = child ? child->version() : "";
    std::string saved = manifest::save_spec_for(a.spec, version, save);
    // A folder that is one of the project's workspaces is saved by its version, as npm does
    // (`install ./packages/a` saves "a": "^1.0.0", not "file:packages/a").
    const bool local = a.spec.type == manifest::SpecType::kDirectory || a.spec.type == manifest::SpecType::kFile;
    if (local && node.is_project_root && child && child->is_link && child->target && child->target->is_workspace) {
      const std::string& v = child->target->version();
      saved = v.empty() ? "*" : (save.save_exact ? "" : save.save_prefix) + v;
    }
    // --no-save: package.json is not written, and what the tree (so the hidden lockfile) keeps
    // is the spec as it was asked for, as npm's add-rm-pkg-deps put it there.
    pj.set_dependency(a.kind, a.spec.name, req.save ? saved : a.requested, a.requested);
    const bool peer = a.kind == manifest::DependencyKind::kPeer ||
                      a.kind == manifest::DependencyKind::kPeerOptional;
    if (req.save_bundle && !peer) pj.add_to_bundle(a.spec.name);
  }
  // The lockfile's entry lists what package.json now says.
  manifest::Manifest now = manifest::manifest_from_json(pj.content());
  node.package.dependencies = now.dependencies;
  node.package.dev_dependencies = now.dev_dependencies;
  node.package.optional_dependencies = now.optional_dependencies;
  node.package.peer_dependencies = now.peer_dependencies;
  node.package.bundle_dependencies = now.bundle_dependencies;
  // add-rm-pkg-deps copies an optional dependency's requested spec into "dependencies" too ("for
  // previous npm versions"): package.json drops the copy when it is written, but the lockfile's
  // root entry keeps it until the next install. A tag is requested as the version it picked.
  for (const auto& a : added) {
    if (a.kind != manifest::DependencyKind::kOptional) continue;
    tree::Node* child = node.resolve(a.spec.name);
    std::string requested = a.requested;
    if (a.spec.type == manifest::SpecType::kTag && child) requested = child->version();
    auto& deps = node.package.dependencies;
    std::erase_if(deps, [&](const auto& d) { return d.first == a.spec.name; });
    deps.emplace_back(a.spec.name, requested);
  }
  return {};
}

}  // namespace lade::cli
