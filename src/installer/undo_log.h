#pragma once
// What an install changes in a node_modules that was there before it, kept so that a failed
// install can put the old tree back. npm's reify does the same: it moves the folders it replaces
// aside and restores them when a later step (a download, a link, a dependency's install script)
// fails. Folders and links are moved, not copied, so keeping them costs a rename each; what was
// moved aside is deleted once the install has succeeded.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace lade::installer {

namespace fs = std::filesystem;

class UndoLog {
 public:
  /// `keep` false: nothing is kept, every change is final (a node_modules the install made is
  /// removed whole when it fails).
  UndoLog(fs::path project, bool keep);
  UndoLog(const UndoLog&) = delete;
  /// Deletes what installs that ended half way (killed, or stopped while deleting what they had
  /// set aside) left in `project`/node_modules; those of installs still running stay.
  static void remove_stale(const fs::path& project);
  UndoLog& operator=(const UndoLog&) = delete;

  /// Takes the folder, file or link at `rel` (relative to the project) out of the way; nothing
  /// when there is none.
  void remove(const std::string& rel);
  /// Makes room at `rel` for a package's files: what is there goes, but a folder's node_modules
  /// stays (a replaced package's nested dependencies that are kept).
  void make_room_for_package(const std::string& rel);
  /// Makes room at `rel` for a link: whatever is there goes, node_modules and all.
  void make_room_for_link(const std::string& rel);
  /// The link (or file) at `path` is about to be removed or replaced: undo restores it as it is
  /// now. Only the first call for a path counts.
  void will_change_link(const fs::path& path);

  /// Restores the tree as it was: what was made goes, what was moved aside comes back, last
  /// change first.
  void undo();
  /// Deletes what was moved aside.
  void commit();

 private:
  struct Step {
    enum class Kind { kMovedAside, kContentsMovedAside, kCreated, kLink } kind;
    fs::path path;                    // in the project
    fs::path aside;                   // where it went (moved aside)
    std::optional<fs::path> link_to;  // kLink: the old link's target, none when nothing was there
  };

  /// A new place for something moved out of the way, near it (the same file system, so a
  /// rename): in the outermost node_modules that holds it.
  fs::path aside_for(const std::string& rel);
  /// Moves `path` to a new place aside; false (and `path` deleted) when it cannot be renamed.
  bool move_to(const fs::path& path, const fs::path& aside);

  fs::path project_;
  bool keep_;
  std::vector<Step> steps_;
  std::unordered_set<std::string> links_seen_;
  std::unordered_map<std::string, fs::path> aside_dirs_;  // by outermost node_modules
  size_t counter_ = 0;
};

/// A signal (Ctrl-C) while an install changes an existing node_modules: the signal's cleanup
/// (util::InterruptCleanup, on the watcher thread) asks the installing thread to stop and waits
/// until it has put the old tree back, or has finished, so that the process ends with a whole
/// tree, as npm's reify rolls back on SIGINT. The installing thread stops at its checkpoints.
class InterruptGate {
 public:
  /// The cleanup's side: returns once the installing thread has settled.
  void stop_and_wait();
  /// A stop was asked for: work in flight may skip what it was about to do.
  bool stopping() const { return stopping_.load(); }
  /// The installing thread's checkpoint: when a stop was asked for, undoes `log`, settles and
  /// never returns (the watcher ends the process).
  void checkpoint(UndoLog& log);
  /// The installing thread will change nothing more: done, or failed and undone.
  void settle();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool settled_ = false;
  std::atomic<bool> stopping_{false};
};

}  // namespace lade::installer
