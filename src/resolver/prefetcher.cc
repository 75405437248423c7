#include "resolver/prefetcher.h"

#include <algorithm>

#include "resolver/node_source.h"

namespace lade::resolver {

Prefetcher::Prefetcher(PackumentSource& source, PickOptions engines,
                       std::shared_ptr<PickIndexCache> indexes, PickedAhead on_picked)
    : source_(source),
      engines_(std::move(engines)),
      indexes_(std::move(indexes)),
      on_picked_(std::move(on_picked)) {}

size_t Prefetcher::specs_seen() const {
  std::lock_guard lock(mu_);
  return seen_.size();
}

bool Prefetcher::enter() {
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  ++active_;
  return true;
}

void Prefetcher::leave() {
  std::lock_guard lock(mu_);
  if (--active_ == 0) idle_.notify_all();
}

void Prefetcher::stop() {
  std::unique_lock lock(mu_);
  stopped_ = true;
  idle_.wait(lock, [this] { return active_ == 0; });
}

void Prefetcher::want(const std::string& name, const std::string& spec, Reach reach) {
  // The same declaration comes up again and again (every dependent of `debug` declares one of
  // a few ranges): only the first is parsed (npm-package-arg's rules, the costly part here).
  {
    std::string declared = name;
    declared += '\0';
    declared += spec;
    declared += '\0';
    declared += static_cast<char>('0' + static_cast<int>(reach));
    std::lock_guard lock(mu_);
    if (stopped_ || !declared_.insert(std::move(declared)).second) return;
  }
  auto req = registry_request(name, spec);
  if (!req) return;  // not a registry spec: nothing to fetch ahead
  if (!enter()) return;
  Entered entered{*this};
  const std::string& pkg = req->package_name;
  bool first_for_name = false, ready = false;
  {
    std::lock_guard lock(mu_);
    auto [seen, first_time] = seen_.try_emplace(pkg + "@" + req->wanted, reach);
    if (!first_time) {
      // Seen before, reached more narrowly (a peer that will be installed after all): what
      // it depends on is expanded again to say so.
      if (reach <= seen->second) return;
      seen->second = reach;
    }
    ready = ready_.count(pkg) > 0;
    if (!ready) {
      auto [it, inserted] = pending_by_name_.try_emplace(pkg);
      first_for_name = inserted;
      auto same = std::find_if(it->second.begin(), it->second.end(),
                               [&](const Pending& p) { return p.wanted == req->wanted; });
      if (same != it->second.end()) {
        same->reach = std::max(same->reach, reach);
      } else {
        it->second.push_back(Pending{req->wanted, reach});
      }
    }
  }
  if (ready) {
    expand(pkg, req->wanted, reach);
  } else if (first_for_name) {
    std::weak_ptr<Prefetcher> weak = weak_from_this();
    source_.prefetch(pkg, [weak, pkg] {
      if (auto self = weak.lock()) self->on_ready(pkg);
    });
  }
}

void Prefetcher::on_ready(const std::string& package_name) {
  if (!enter()) return;
  Entered entered{*this};
  std::vector<Pending> wanted;
  {
    std::lock_guard lock(mu_);
    ready_.insert(package_name);
    auto it = pending_by_name_.find(package_name);
    if (it != pending_by_name_.end()) {
      wanted = std::move(it->second);
      pending_by_name_.erase(it);
    }
  }
  for (const auto& w : wanted) expand(package_name, w.wanted, w.reach);
}

void Prefetcher::expand(const std::string& package_name, const std::string& wanted, Reach reach) {
  auto packument = source_.packument(package_name);
  if (!packument) return;
  const PickIndex& index = indexes_->get(*packument);
  auto picked = pick_version(index, wanted, engines_);
  if (!picked) return;
  auto m = (*packument)->shared_manifest((*picked)->version);
  if (!m) return;
  const bool installed = reach == Reach::Installed;
  if (installed && on_picked_) on_picked_(**m);
  if (reach != Reach::OptionalPeer) {
    // What the package bundles comes inside its tarball (and so does all that depends on).
    const auto& bundled = (*m)->bundle_dependencies;
    auto own = [&](const std::string& dep) {
      return installed && std::find(bundled.begin(), bundled.end(), dep) == bundled.end() ? Reach::Installed
                                                                                           : Reach::Peer;
    };
    for (const auto& [n, s] : (*m)->dependencies) want(n, s, own(n));
    for (const auto& [n, s] : (*m)->optional_dependencies) want(n, s, own(n));
  }
  const auto& optional_peers = (*m)->optional_peers;
  for (const auto& [n, s] : (*m)->peer_dependencies) {
    const bool optional = std::find(optional_peers.begin(), optional_peers.end(), n) != optional_peers.end();
    want(n, s, optional ? Reach::OptionalPeer : Reach::Peer);
  }
}

}  // namespace lade::resolver
