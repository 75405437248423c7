#pragma once
// Populating node_modules/<name> from a store entry: the store's files are reflinked (FICLONE:
// copy-on-write, separate inodes), hard-linked (shared inodes: editing the installed file edits
// the store) or copied, whichever the file system allows.
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace lade::store {

namespace fs = std::filesystem;

enum class LinkMode {
  /// Reflink if the file systems can, else hard links, else copies; decided on the first file
  /// between each pair of devices and remembered. While only one pair is known and it reflinks
  /// or hard-links, other packages try that first without looking at their devices.
  Auto,
  Reflink,
  Hardlink,
  Copy,
};

/// "auto", "reflink" (or "clone"), "hardlink", "copy"; nullopt for anything else.
std::optional<LinkMode> parse_link_mode(std::string_view text);
const char* link_mode_name(LinkMode mode);

/// What a link() did; statistics that tests and `--timing` read.
struct LinkStats {
  size_t directories = 0;  ///< directories created under the destination (not counting it)
  size_t files_reflinked = 0;
  size_t files_hardlinked = 0;
  size_t files_copied = 0;
  size_t symlinks = 0;        ///< symlinks recreated
  uint64_t bytes_copied = 0;  ///< bytes written by copies (reflinks and hard links write none)
  /// The package's top folder has a binding.gyp (npm's sign of a node-gyp package), seen on
  /// the way: the installer needs no stat to know. Not summed.
  bool root_binding_gyp = false;

  size_t files() const { return files_reflinked + files_hardlinked + files_copied; }
  LinkStats& operator+=(const LinkStats& other);
};

/// Moves every entry of the open folder `from` into the open folder `to`. A folder found in
/// both is merged the same way and then removed from `from`; anything else in `to` under a
/// name that `from` has is replaced; what `to` has under other names stays. The result is what
/// linking into `to` would have made, for the price of a rename per entry. 0 or an errno
/// (ENOTDIR or EISDIR when a folder meets something else).
int merge_folder(int from, int to);

/// Where a staging folder's name starts (then the process id): see Linker::stage_in.
inline constexpr std::string_view kStagingPrefix = ".lade-staging-";

/// Safe to share between threads: link() may run for many packages at once (e.g. from a
/// util::ThreadPool); the only shared state is what auto mode learnt per device pair, the
/// staging folders, and the running totals.
class Linker {
 public:
  explicit Linker(LinkMode mode = LinkMode::Auto) : mode_(mode) {}
  ~Linker();
  Linker(const Linker&) = delete;
  Linker& operator=(const Linker&) = delete;

  /// From now on, a package folder that does not exist yet anywhere under `node_modules` is
  /// built in a staging folder of `node_modules` and renamed into place. Staging folders left
  /// by installs that are no longer running are removed first.
  ///
  /// Why: on ext4, node_modules is marked as a folder of unrelated subfolders
  /// (util::mark_subdirectories_unrelated) so that its packages spread over the disk, and each
  /// folder made in it then costs a scan of every block group (the Orlov allocator: about
  /// 100 us on a 250 GB disk). Unmarked, the packages' folders would crowd into node_modules'
  /// own group, where the inodes of a node_modules removed minutes before are skipped one by
  /// one on every allocation (without a journal, ext4 does not reuse recently freed inodes).
  /// A staging folder pays the scan once for kPackagesPerStagingFolder packages, whose folders
  /// are made near it; a rename keeps them where they were made.
  void stage_in(const fs::path& node_modules);
  /// Removes the staging folders made so far (empty once their packages have moved out). The
  /// destructor does it too; an owner calls it when its last link is done.
  void remove_staging();
  static constexpr size_t kPackagesPerStagingFolder = 16;

  /// Recreates the tree under `package_dir` (a StoredPackage::dir) at `dest`: directories made
  /// anew, regular files linked or copied with their modes, symlinks recreated as they are
  /// (store entries never contain links that leave them); other file types are skipped.
  /// `dest` and its parents are created when missing; files already in `dest` with the same
  /// names are replaced, others are left alone (the installer clears or moves the old copy).
  /// In a fixed mode, a file system that cannot do it is an error (EOPNOTSUPP for reflinks,
  /// EXDEV for hard links across devices); auto mode falls back instead.
  util::Result<LinkStats> link(const fs::path& package_dir, const fs::path& dest);

  LinkMode mode() const { return mode_; }

  /// What auto mode settled on from `source_device` to `dest_device` (st_dev values);
  /// nullopt before the first file between them was linked.
  std::optional<LinkMode> learned_mode(dev_t source_device, dev_t dest_device) const;

  /// The sum of every successful link() so far.
  LinkStats totals() const;

 private:
  friend class TreeLinker;
  void learn(std::pair<dev_t, dev_t> devices, LinkMode mode);
  /// The method learnt when only one device pair is known and it is a reflink or a hard link.
  std::optional<LinkMode> sole_capable_mode() const;

  /// Links `package_dir` into a new folder of a staging folder, renamed to `dest` once done;
  /// nullopt when `dest` exists, or appeared meanwhile (then the caller links in place).
  std::optional<util::Result<LinkStats>> link_staged(int src, const fs::path& dest);
  util::Result<LinkStats> link_in_place(int src, const fs::path& dest);
  /// A package built in `built` (open as `built_fd`) whose place `target` was taken by a
  /// folder meanwhile: moves what was built into that folder, as link_in_place would have
  /// linked it there. False when that cannot be done; `built` may then be half moved.
  static bool merge_into_place(int built_fd, const std::string& target, const fs::path& built);

  const LinkMode mode_;
  mutable std::mutex mu_;
  std::map<std::pair<dev_t, dev_t>, LinkMode> learned_;
  LinkStats totals_;
  // Staging (see stage_in): the node_modules folder as given, with a trailing '/'.
  std::string staging_root_;
  std::string staging_name_;  // kStagingPrefix, pid and this linker's number, then "-<slot>"
  std::atomic<size_t> staged_{0};
  std::vector<fs::path> staging_folders_;  // made by this linker; under mu_
};

}  // namespace lade::store
