#pragma once
// Turns completions that the registry client reports as futures into callbacks, on one thread
// of its own, so that no pool thread ever blocks waiting on the network.
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

namespace lade::cli {

class FutureWatcher {
 public:
  /// `finish_on_stop`: the destructor first waits for everything watched to complete (and calls
  /// back); otherwise callbacks still pending are dropped.
  explicit FutureWatcher(bool finish_on_stop);
  ~FutureWatcher();
  FutureWatcher(const FutureWatcher&) = delete;
  FutureWatcher& operator=(const FutureWatcher&) = delete;

  /// Calls `on_ready` once `is_ready()` holds (checked without blocking, about every
  /// millisecond), from the watcher's thread and without any lock held.
  void watch(std::function<bool()> is_ready, std::function<void()> on_ready);

 private:
  struct Watched {
    std::function<bool()> is_ready;
    std::function<void()> on_ready;
  };
  void loop();

  const bool finish_on_stop_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Watched> watched_;
  bool stopping_ = false;
  std::thread thread_;
};

/// Whether a std::future / std::shared_future has its value, without waiting.
template <class Future>
bool is_ready(const Future& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

}  // namespace lade::cli
