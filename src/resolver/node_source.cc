#include "resolver/node_source.h"

#include "manifest/spec.h"
#include "resolver/pick_manifest.h"
#include "util/hash.h"

namespace lade::resolver {

util::Result<RegistryRequest> registry_request(const std::string& name, const std::string& spec) {
  manifest::SpecOptions opts;
  auto parsed = LADE_TRY(manifest::resolve_spec(name, spec, opts));
  const manifest::PackageSpec* target = &parsed;
  if (parsed.type == manifest::SpecType::kAlias && parsed.sub_spec) target = parsed.sub_spec.get();
  if (!target->registry || target->type == manifest::SpecType::kAlias) {
    return util::make_error("EUNSUPPORTEDSPEC",
                            "lade cannot install " + name + "@\"" + spec + "\" yet: only registry " +
                                "dependencies (versions, ranges, tags, npm: aliases) are supported");
  }
  return RegistryRequest{target->name, target->fetch_spec.value_or("")};
}

NodeSource::NodeSource(tree::Tree& tree, PackumentSource& source, std::string node_version)
    : tree_(tree), source_(source), node_version_(node_version), prefetcher_(source, node_version) {}

void NodeSource::prefetch(const std::string& name, const std::string& spec) { prefetcher_.want(name, spec); }

util::Result<NodeSource::Resolved> NodeSource::resolve(const std::string& name, const std::string& spec) {
  RegistryRequest req = LADE_TRY(registry_request(name, spec));
  auto packument = LADE_TRY(source_.packument(req.package_name));
  PickOptions opts;
  if (!node_version_.empty()) opts.node_version = node_version_[0] == 'v' ? node_version_ : "v" + node_version_;
  auto& index = pick_indexes_[packument.get()];
  if (!index) {
    index = std::make_unique<PickIndex>(*packument);
    packuments_in_use_.push_back(packument);  // the index refers to it
  }
  const manifest::PackumentVersion* picked = LADE_TRY(pick_version(*index, req.wanted, opts));
  Resolved r;
  r.manifest = LADE_TRY(packument->manifest(picked->version));
  if (r.manifest.name.empty()) r.manifest.name = req.package_name;
  if (r.manifest.version.empty()) r.manifest.version = picked->version;
  r.resolved = r.manifest.dist.tarball;
  r.integrity = r.manifest.dist.integrity;
  if (r.integrity.empty() && !r.manifest.dist.shasum.empty()) {
    auto raw = util::hex_decode(r.manifest.dist.shasum);
    if (raw) r.integrity = "sha1-" + util::base64_encode(*raw);
  }
  return r;
}

tree::Node* NodeSource::create(const std::string& name, const std::string& spec, tree::Node*) {
  std::string key = name + "@" + spec;
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    auto r = resolve(name, spec);
    if (r) {
      it = cache_.emplace(key, std::make_shared<const Resolved>(std::move(*r))).first;
    } else {
      it = cache_.emplace(key, r.take_error()).first;
    }
  }
  if (!it->second.ok()) {
    manifest::Manifest empty;
    tree::Node* n = tree_.create_node(name, std::move(empty));
    n->errors.push_back(it->second.error());
    return n;
  }
  const Resolved& r = **it->second;
  tree::Node* n = tree_.create_node(name, r.manifest);
  n->resolved = r.resolved;
  n->integrity = r.integrity;
  tree_.load_edges(n, false);
  return n;
}

}  // namespace lade::resolver
