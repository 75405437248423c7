#pragma once
// What happens when Ctrl-C, `kill` or a closed terminal ends an install half way. The signal
// handler only wakes a watcher thread (nothing else is safe inside a handler); the watcher runs
// the cleanups registered at that moment (in reverse order of registration), then lets the
// signal end the process as it would have without lade's handler, so the exit status still
// says which signal it was (130 for Ctrl-C in a shell). Without a registered cleanup the
// signals keep their default behaviour and no thread runs.
#include <functional>

namespace lade::util {

class InterruptCleanup {
 public:
  /// Runs `cleanup` on SIGINT, SIGTERM or SIGHUP until this object is destroyed or dismissed.
  /// The cleanup runs on the watcher thread while the process's other threads go on.
  explicit InterruptCleanup(std::function<void()> cleanup);
  ~InterruptCleanup();
  InterruptCleanup(const InterruptCleanup&) = delete;
  InterruptCleanup& operator=(const InterruptCleanup&) = delete;

  /// No cleanup any more (the work it would undo is complete); returns once a cleanup already
  /// running has finished.
  void dismiss();

 private:
  unsigned long id_ = 0;
};

/// A signal has come while a cleanup was registered: the process is ending.
bool interrupted();

/// Never returns: for a thread that must not go on (report an error, or success) once a signal
/// has come, while the watcher runs the cleanups and ends the process.
[[noreturn]] void wait_for_the_end();

}  // namespace lade::util
