#pragma once
// Populating node_modules/<name> from a store entry: the store's files are reflinked (FICLONE:
// copy-on-write, separate inodes), hard-linked (shared inodes: editing the installed file edits
// the store) or copied, whichever the file system allows.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

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

/// Safe to share between threads: link() may run for many packages at once (e.g. from a
/// util::ThreadPool); the only shared state is what auto mode learnt per device pair, and the
/// running totals.
class Linker {
 public:
  explicit Linker(LinkMode mode = LinkMode::Auto) : mode_(mode) {}

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

  const LinkMode mode_;
  mutable std::mutex mu_;
  std::map<std::pair<dev_t, dev_t>, LinkMode> learned_;
  LinkStats totals_;
};

}  // namespace lade::store
