#include "resolver/node_source.h"

#include "manifest/integrity.h"
#include "manifest/spec.h"
#include "resolver/pick_manifest.h"
#include "util/hash.h"

namespace lade::resolver {

namespace fs = std::filesystem;

util::Result<RegistryRequest> registry_request(const std::string& name, const std::string& spec) {
  manifest::SpecOptions opts;
  auto parsed = LADE_TRY(manifest::resolve_spec(name, spec, opts));
  const manifest::PackageSpec* target = &parsed;
  if (parsed.type == manifest::SpecType::kAlias && parsed.sub_spec) target = parsed.sub_spec.get();
  if (!target->registry || target->type == manifest::SpecType::kAlias) {
    return util::make_error("EUNSUPPORTEDSPEC", name + "@\"" + spec + "\" is not a registry spec");
  }
  return RegistryRequest{target->name, target->fetch_spec.value_or("")};
}

std::string project_relative(const fs::path& project_dir, const fs::path& path) {
  fs::path rel = path.lexically_normal().lexically_relative(project_dir.lexically_normal());
  std::string out = rel.generic_string();
  if (out == ".") out.clear();
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

namespace {

std::string parent_folder(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

/// The path of a `file:` tarball resolution ("file:a/b.tgz" -> "a/b.tgz"), else nullopt.
std::optional<std::string> tarball_file(const std::string& resolved) {
  if (resolved.rfind("file:", 0) != 0) return std::nullopt;
  auto spec = manifest::parse_spec(resolved);
  if (!spec || spec->type != manifest::SpecType::kFile) return std::nullopt;
  std::string path = resolved.substr(5);
  while (path.rfind("./", 0) == 0) path.erase(0, 2);
  return path;
}

}  // namespace

std::string spec_folder(const tree::Node& node) {
  const tree::Node* n = node.source_reference ? node.source_reference : &node;
  if (!n->is_link) {
    if (auto tarball = tarball_file(n->resolved)) return parent_folder(*tarball);
  }
  if (n->is_link || !n->parent()) return n->realpath;
  return n->location();
}

std::string registry_integrity(const manifest::Dist& dist) {
  if (!dist.integrity.empty() || dist.shasum.empty()) return dist.integrity;
  auto raw = util::hex_decode(dist.shasum);
  return raw ? "sha1-" + util::base64_encode(*raw) : std::string();
}

NodeSource::NodeSource(tree::Tree& tree, PackumentSource& source, PickOptions engines,
                       fs::path project_dir, PickedAhead on_picked_ahead)
    : tree_(tree),
      source_(source),
      engines_(std::move(engines)),
      pick_indexes_(std::make_shared<PickIndexCache>()),
      prefetcher_(std::make_shared<Prefetcher>(source, engines_, pick_indexes_,
                                               std::move(on_picked_ahead))),
      project_dir_(project_dir.empty() ? fs::path("/") : std::move(project_dir)) {}

NodeSource::~NodeSource() { prefetcher_->stop(); }

void NodeSource::prefetch(const std::string& name, const std::string& spec, Reach reach) {
  if (pins_) {
    if (const auto& pin = pin_for(name, spec)) return prefetcher_->want(name, pin->spec, reach);
  }
  prefetcher_->want(name, spec, reach);
}

const std::optional<SpecPin>& NodeSource::pin_for(const std::string& name, const std::string& spec) {
  std::string key = name + "@" + spec;
  auto it = pin_memo_.find(key);
  if (it == pin_memo_.end()) it = pin_memo_.emplace(std::move(key), pins_(name, spec)).first;
  return it->second;
}

util::Result<NodeSource::Resolved> NodeSource::resolve_registry(const std::string& name,
                                                                const std::string& spec) {
  RegistryRequest req = LADE_TRY(registry_request(name, spec));
  auto packument = LADE_TRY(source_.packument(req.package_name));
  const PickOptions& opts = engines_;
  const PickIndex& index = pick_indexes_->get(packument);
  const manifest::PackumentVersion* picked = LADE_TRY(pick_version(index, req.wanted, opts));
  Resolved r;
  r.manifest = LADE_TRY(packument->manifest(picked->version));
  if (r.manifest.name.empty()) r.manifest.name = req.package_name;
  if (r.manifest.version.empty()) r.manifest.version = picked->version;
  r.resolved = r.manifest.dist.tarball;
  r.integrity = registry_integrity(r.manifest.dist);
  return r;
}

util::Result<NodeSource::Resolved> NodeSource::resolve_sourced(const manifest::PackageSpec& spec) {
  SourcedPackage p = LADE_TRY(source_.fetch_package(spec));
  Resolved r;
  r.manifest = std::move(p.manifest);
  r.integrity = std::move(p.integrity);
  // A tarball file is recorded relative to the project, as npm's lockfile does.
  r.resolved = spec.type == manifest::SpecType::kFile
                   ? "file:" + project_relative(project_dir_, spec.fetch_spec.value_or(""))
                   : std::move(p.resolved);
  return r;
}

tree::Node* NodeSource::failed(const std::string& name, util::Error error) {
  tree::Node* n = tree_.create_node(name, manifest::Manifest{});
  n->errors.push_back(std::move(error));
  return n;
}

tree::Node* NodeSource::create_link(const std::string& name, const manifest::PackageSpec& spec) {
  const std::string realpath = project_relative(project_dir_, spec.fetch_spec.value_or(""));
  tree::Node* target = nullptr;
  if (realpath.empty()) {
    target = tree_.root();
  } else {
    // A folder already in the tree (a workspace, a target read from the lockfile) is shared.
    for (tree::Node* n : tree_.inventory()) {
      if (!n->is_link && !n->parent() && n->fs_parent() && n->realpath == realpath) {
        target = n;
        break;
      }
    }
  }
  if (!target) {
    auto it = folders_.find(realpath);
    if (it != folders_.end()) target = it->second;
  }
  if (!target) {
    // npm links a folder without a readable package.json as an empty package.
    manifest::Manifest pkg;
    if (auto m = source_.read_folder(*spec.fetch_spec)) pkg = std::move(*m);
    target = tree_.create_node(name, std::move(pkg));
    target->realpath = realpath;
    // A folder is a top: its devDependencies count.
    tree_.load_edges(target, true);
    folders_[realpath] = target;
  }
  tree::Node* link = tree_.create_node(name, target->package);
  link->is_link = true;
  link->target = target;
  link->realpath = realpath;
  link->is_workspace = target->is_workspace;
  return link;
}

tree::Node* NodeSource::create(const std::string& name, const std::string& spec,
                               tree::Node* requested_by) {
  if (!pins_) return create_unpinned(name, spec, requested_by);
  const auto& pin = pin_for(name, spec);
  if (!pin) return create_unpinned(name, spec, requested_by);
  tree::Node* n = create_unpinned(name, pin->spec, requested_by);
  // pacote's rule for an integrity it was given: a package whose integrity shares an
  // algorithm with it must match it.
  if (!pin->integrity.empty() && n->errors.empty() && !n->integrity.empty()) {
    const auto wanted = manifest::Integrity::parse(pin->integrity);
    const auto got = manifest::Integrity::parse(n->integrity);
    if (!wanted.match(got)) {
      for (const auto& [algorithm, _] : wanted.by_algorithm()) {
        if (got.hashes(algorithm)) {
          return failed(name, util::make_error("EINTEGRITY", "Integrity checksum failed when using " + algorithm +
                                                                 ": wanted " + wanted.to_string() + " but got " +
                                                                 got.to_string() + "."));
        }
      }
    }
  }
  return n;
}

tree::Node* NodeSource::create_unpinned(const std::string& name, const std::string& spec,
                                        tree::Node* requested_by) {
  // A registry spec means the same from every folder and is cached under its own text: once
  // resolved, it is not parsed again (npm-package-arg's rules are most of the cost of a hit).
  if (auto known = registry_specs_.find(name + "@" + spec); known != registry_specs_.end()) {
    return node_for(name, known->second);
  }
  manifest::SpecOptions opts;
  opts.where = (project_dir_ / (requested_by ? spec_folder(*requested_by) : std::string()))
                   .lexically_normal();
  auto parsed = manifest::resolve_spec(name, spec, opts);
  if (!parsed) return failed(name, parsed.take_error());
  if (parsed->type == manifest::SpecType::kDirectory) return create_link(name, *parsed);

  std::string key = name + "@" + spec;
  if (!parsed->registry) {
    // The same text means another thing from another folder: key on what it resolved to.
    key = name + "@" + manifest::spec_type_name(parsed->type).data() + ":" +
          parsed->fetch_spec.value_or(parsed->raw_spec) + "#" +
          parsed->git_committish.value_or("") + "#" + parsed->git_range.value_or("") + "#" +
          parsed->git_subdir.value_or("") + "#" +
          (parsed->hosted ? parsed->hosted->shortcut() : std::string());
  }
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    auto r = parsed->registry ? resolve_registry(name, spec) : resolve_sourced(*parsed);
    if (r) {
      it = cache_.emplace(key, std::make_shared<const Resolved>(std::move(*r))).first;
    } else {
      it = cache_.emplace(key, r.take_error()).first;
    }
  }
  if (parsed->registry) registry_specs_.emplace(key, &it->second);
  return node_for(name, &it->second);
}

tree::Node* NodeSource::node_for(const std::string& name,
                                 const util::Result<std::shared_ptr<const Resolved>>* resolved) {
  if (!resolved->ok()) return failed(name, resolved->error());
  const Resolved& r = ***resolved;
  tree::Node* n = tree_.create_node(name, r.manifest);
  n->resolved = r.resolved;
  n->integrity = r.integrity;
  tree_.load_edges(n, false);
  return n;
}

}  // namespace lade::resolver
