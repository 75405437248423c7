#include "installer/early_link.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <unordered_set>

#include "store/linker.h"
#include "util/fs.h"

namespace lade::installer {

struct EarlyLinker::State {
  State(PackageFetcher& p, fs::path dir) : packages(p), project(std::move(dir)) {}

  PackageFetcher& packages;
  const fs::path project;
  store::Linker linker;

  // Touched by placed() only, on the resolver's thread.
  std::unordered_set<std::string> claimed;    // every location placed so far
  std::unordered_set<std::string> scheduled;  // the ones that will be linked early

  struct Pending {
    std::string location;
    fs::path stored_dir;
    InstalledPackage entry;
  };

  std::mutex mu;
  std::condition_variable wake;
  bool stopped = false;         // guarded by mu
  bool draining = false;        // finish(): what is pending is linked, nothing more is added; guarded by mu
  std::deque<Pending> pending;  // in the store, waiting to be linked; guarded by mu
  size_t complete = 0;          // guarded by mu
  InstalledTree linked;         // guarded by mu

  void add(Pending p) {
    {
      std::lock_guard lock(mu);
      if (stopped || draining) return;
      pending.push_back(std::move(p));
    }
    wake.notify_one();
  }

  /// A linking thread: takes packages from `pending` until finish(), then (draining) until
  /// none is left.
  void run() {
    std::unique_lock lock(mu);
    for (;;) {
      wake.wait(lock, [this] { return stopped || draining || !pending.empty(); });
      if (stopped || (draining && pending.empty())) return;
      link_next(lock);
    }
  }

  /// Links the first pending package; `lock` holds `mu`, and is released while linking.
  void link_next(std::unique_lock<std::mutex>& lock) {
    Pending p = std::move(pending.front());
    pending.pop_front();
    p.entry.early = true;
    p.entry.complete = false;
    linked[p.location] = p.entry;
    lock.unlock();
    auto result = linker.link(p.stored_dir, project / p.location);
    lock.lock();
    if (result) {
      linked[p.location].complete = true;
      linked[p.location].binding_gyp = result->root_binding_gyp;
      ++complete;
    }
  }
};

EarlyLinker::EarlyLinker(PackageFetcher& packages, fs::path project_dir, size_t threads)
    : state_(std::make_shared<State>(packages, std::move(project_dir))) {
  std::error_code ec;
  fs::create_directory(state_->project / "node_modules", ec);
  util::mark_subdirectories_unrelated(state_->project / "node_modules");
  state_->linker.stage_in(state_->project / "node_modules");
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) {
    threads_.emplace_back([state = state_] { state->run(); });
  }
}

EarlyLinker::~EarlyLinker() {
  if (!finished_) abandon();
}

void EarlyLinker::placed(const std::string& location, const TarballRef& ref,
                         const std::string& integrity, const std::string& shasum,
                         const std::string& version, const std::string& resolved) {
  State& s = *state_;
  if (location.rfind("node_modules/", 0) != 0 || ref.kind != TarballRef::Kind::kRegistry) return;
  if (!s.claimed.insert(location).second) return;
  const size_t nested = location.rfind("/node_modules/");
  if (nested != std::string::npos && !s.scheduled.count(location.substr(0, nested))) return;
  s.scheduled.insert(location);
  InstalledPackage entry;
  entry.version = version;
  entry.resolved = resolved;
  entry.integrity = integrity;
  s.packages.ensure(ref, integrity, shasum,
                    [state = state_, location, entry](const util::Result<StoredRef>& stored) {
                      if (!stored) return;  // the reifier meets the same error and reports it
                      // A tarball that brings packages of its own (a bundle) is left to the
                      // reifier. Replaced later in resolution, its folder would be cleared
                      // but not its node_modules: the bundled packages would stay, or be
                      // merged into the folder of a package placed there since.
                      std::error_code ec;
                      if (fs::exists(stored->dir / "node_modules", ec)) return;
                      state->add(State::Pending{location, stored->dir, entry});
                    });
}

InstalledTree EarlyLinker::finish(const Wanted& wanted) {
  finished_ = true;
  {
    std::unique_lock lock(state_->mu);
    if (wanted) {
      // Resolution is over, so the pool's threads are free: this one links along.
      std::erase_if(state_->pending, [&](const State::Pending& p) { return !wanted(p.location, p.entry); });
      state_->draining = true;
      state_->wake.notify_all();
      while (!state_->pending.empty()) state_->link_next(lock);
    }
    state_->stopped = true;
    state_->pending.clear();
  }
  state_->wake.notify_all();
  for (auto& t : threads_) t.join();  // each finishes the package it is linking
  threads_.clear();
  state_->linker.remove_staging();
  std::lock_guard lock(state_->mu);
  return std::move(state_->linked);
}

void EarlyLinker::abandon() {
  finish();
  std::error_code ec;
  fs::remove_all(state_->project / "node_modules", ec);
}

size_t EarlyLinker::linked() const {
  std::lock_guard lock(state_->mu);
  return state_->complete;
}

}  // namespace lade::installer
