#pragma once
// A fixed-size pool of worker threads with a FIFO queue.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lade::util {

class ThreadPool {
 public:
  /// threads == 0 means std::thread::hardware_concurrency() (at least 2).
  explicit ThreadPool(size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void post(std::function<void()> task);
  /// Blocks until the queue is empty and no task is running (and every finished task, with
  /// what it captured, is destroyed).
  void wait_idle();
  size_t size() const { return workers_.size(); }

 private:
  void run();
  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  size_t active_ = 0;
  bool stopping_ = false;
};

}  // namespace lade::util
