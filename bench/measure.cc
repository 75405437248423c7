// Runs one command and reports its wall time, peak memory and CPU time, for bench/run.py.
//
//   measure <report-file> <command> [args...]
//
// The clock starts just before the command is spawned and stops when it is reaped, so the
// figure is the command's own: not the start-up of a Python interpreter, nor of GNU time (about
// 6 ms here, a quarter of an up-to-date install). Peak RSS comes from wait4: a process spawned
// from this small one starts from its few hundred KB, not from the Python's tens of MB.
//
// The report is one line: "<wall_ns> <max_rss_kb> <user_us> <sys_us>". The exit status is the
// command's, or 128 + the signal that ended it.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

extern char** environ;

namespace {

long long nanoseconds(const timespec& t) { return static_cast<long long>(t.tv_sec) * 1000000000LL + t.tv_nsec; }

long long microseconds(const timeval& t) { return static_cast<long long>(t.tv_sec) * 1000000LL + t.tv_usec; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: measure <report-file> <command> [args...]\n");
    return 2;
  }
  timespec start{}, end{};
  pid_t pid = 0;
  clock_gettime(CLOCK_MONOTONIC, &start);
  if (const int err = posix_spawnp(&pid, argv[2], nullptr, nullptr, argv + 2, environ); err != 0) {
    std::fprintf(stderr, "measure: cannot run %s: %s\n", argv[2], std::strerror(err));
    return 127;
  }
  int status = 0;
  rusage usage{};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      std::fprintf(stderr, "measure: wait4: %s\n", std::strerror(errno));
      return 127;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  if (FILE* report = std::fopen(argv[1], "w")) {
    std::fprintf(report, "%lld %ld %lld %lld\n", nanoseconds(end) - nanoseconds(start), usage.ru_maxrss,
                 microseconds(usage.ru_utime), microseconds(usage.ru_stime));
    std::fclose(report);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
