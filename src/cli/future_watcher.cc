#include "cli/future_watcher.h"

#include <chrono>
#include <vector>

namespace lade::cli {

FutureWatcher::FutureWatcher(bool finish_on_stop) : finish_on_stop_(finish_on_stop) {
  thread_ = std::thread([this] { loop(); });
}

FutureWatcher::~FutureWatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void FutureWatcher::watch(std::function<bool()> is_ready, std::function<void()> on_ready) {
  {
    std::lock_guard lock(mu_);
    watched_.push_back(Watched{std::move(is_ready), std::move(on_ready)});
  }
  cv_.notify_all();
}

void FutureWatcher::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !watched_.empty(); });
    if (stopping_ && (!finish_on_stop_ || watched_.empty())) return;
    std::vector<std::function<void()>> ready;
    for (auto it = watched_.begin(); it != watched_.end();) {
      if (it->is_ready()) {
        ready.push_back(std::move(it->on_ready));
        it = watched_.erase(it);
      } else {
        ++it;
      }
    }
    if (ready.empty()) {
      cv_.wait_for(lock, std::chrono::milliseconds(1));
      continue;
    }
    lock.unlock();
    for (auto& f : ready) f();
    lock.lock();
  }
}

}  // namespace lade::cli
