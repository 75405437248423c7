#include "util/interrupt.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

namespace lade::util {
namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};

/// Written by the handler, read by the watcher: the signal number, one byte.
int wake_pipe[2] = {-1, -1};

void on_signal(int signo) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(signo);
  [[maybe_unused]] ssize_t n = ::write(wake_pipe[1], &byte, 1);
  errno = saved;
}

struct Registry {
  std::mutex mu;  // held while cleanups run, so dismiss() waits for one under way
  std::map<unsigned long, std::function<void()>> cleanups;
  unsigned long next_id = 1;
  bool watching = false;
  /// A signal came: the process ends as soon as its cleanups have run.
  std::atomic<bool> interrupted{false};
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: the watcher may outlive main
  return *r;
}

[[noreturn]] void watch() {
  for (;;) {
    unsigned char signo = 0;
    ssize_t n = ::read(wake_pipe[0], &signo, 1);
    if (n != 1) {
      if (n < 0 && errno == EINTR) continue;
      std::this_thread::sleep_for(std::chrono::hours(1));
      continue;
    }
    Registry& r = registry();
    r.interrupted = true;
    {
      std::lock_guard lock(r.mu);
      for (auto it = r.cleanups.rbegin(); it != r.cleanups.rend(); ++it) it->second();
      r.cleanups.clear();
    }
    // Ends the process as the signal would have: default action, delivered to this thread.
    std::signal(signo, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    std::raise(signo);
    _exit(128 + signo);
  }
}

/// Called with the registry locked.
void start_watching(Registry& r) {
  if (r.watching) return;
  if (::pipe2(wake_pipe, O_CLOEXEC) != 0) return;  // then signals keep their default action
  std::thread(watch).detach();
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int s : kSignals) {
    // A signal the parent set to be ignored (nohup, a background job) stays ignored.
    struct sigaction old;
    if (sigaction(s, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(s, &action, nullptr);
  }
  r.watching = true;
}

}  // namespace

InterruptCleanup::InterruptCleanup(std::function<void()> cleanup) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  start_watching(r);
  id_ = r.next_id++;
  r.cleanups.emplace(id_, std::move(cleanup));
}

InterruptCleanup::~InterruptCleanup() { dismiss(); }

void InterruptCleanup::dismiss() {
  if (id_ == 0) return;
  Registry& r = registry();
  std::unique_lock lock(r.mu);
  // The cleanup ran (or is about to: the watcher ends the process after it): the work it undid
  // must not be reported as done, so this thread goes no further.
  if (r.interrupted) {
    lock.unlock();
    wait_for_the_end();
  }
  r.cleanups.erase(id_);
  id_ = 0;
}

bool interrupted() { return registry().interrupted.load(); }

void wait_for_the_end() {
  for (;;) ::pause();
}

}  // namespace lade::util
