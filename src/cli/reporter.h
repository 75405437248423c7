#pragma once
// Everything lade prints: a progress line on a terminal, nothing but the summary in CI or when
// piped, errors on stderr as `lade: <CODE> <message>`, and `--json` for scripts.
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "installer/reify.h"
#include "installer/script_policy.h"
#include "util/result.h"

namespace lade::cli {

struct Summary {
  size_t added = 0;
  size_t removed = 0;
  size_t changed = 0;
  bool up_to_date = false;
  std::chrono::milliseconds elapsed{0};
  std::vector<std::pair<std::string, std::chrono::milliseconds>> timing;
  std::vector<std::pair<std::string, size_t>> counters;
  /// What was added, changed and removed (npm's --json lists them, and --dry-run prints them),
  /// with locations under `project_dir`.
  std::vector<installer::ReportedPackage> add, change, remove;
  std::string project_dir;
  bool dry_run = false;
  /// npm's --long: the same lines as --dry-run, for what was done.
  bool long_listing = false;
  /// Installed packages with install scripts the allowScripts policy does not cover: warned
  /// about after the summary line, listed in --json as npm's unreviewedScripts.
  std::vector<installer::UnreviewedPackage> unreviewed_scripts;
};

class Reporter {
 public:
  Reporter(bool json, bool silent, bool timing);
  /// A transient progress line (only on a terminal, never with --json or in CI).
  void progress(const std::string& phase, size_t done, size_t total);
  void warn(const std::string& message);
  /// An `lade http ...` line (npm's loglevel http and above), e.g. "fetch GET 200 <url> 52ms".
  void http(const std::string& message);
  /// npm's loglevel error (or silent): warnings are not printed.
  void hide_warnings() { hide_warnings_ = true; }
  /// npm's banner before a root project script it runs with the user's terminal:
  /// "> name@version event" and "> command" (not with --json or --silent).
  void script_banner(const std::string& package_id, const std::string& event, const std::string& command);
  void error(const util::Error& error);
  void summary(const Summary& summary);

 private:
  void clear_progress();
  void warn_locked(const std::string& message);
  bool json_;
  bool silent_;
  bool timing_;
  bool tty_;
  bool progress_shown_ = false;
  bool hide_warnings_ = false;
  std::chrono::steady_clock::time_point last_progress_{};
  std::mutex mu_;
  std::vector<std::string> warnings_;
};

/// npm's "in 1s" / "in 604ms" formatting.
std::string format_duration(std::chrono::milliseconds ms);

}  // namespace lade::cli
