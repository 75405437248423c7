#pragma once
// File-system helpers that know nothing about npm: whole-file reads, atomic writes, temp dirs,
// advisory locks.
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "util/result.h"

namespace lade::util {

namespace fs = std::filesystem;

/// Reads a whole file. Error code ENOENT when it does not exist.
Result<std::string> read_file(const fs::path& path);

/// A whole file's bytes, read-only, mapped from the page cache where the file is a regular one.
/// Reading a big file into fresh memory costs a page fault per 4 KiB, and on some virtual
/// machines each is tens of microseconds: 475 KB of lockfile took 3 ms to read, 0.2 ms to map.
/// Other files (a pipe, an empty file) are read into memory of their own.
class MappedFile {
 public:
  /// Error code ENOENT when the file does not exist.
  static Result<MappedFile> open(const fs::path& path);
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view view() const { return mapped_ ? std::string_view(mapped_, size_) : std::string_view(read_); }

 private:
  MappedFile() = default;
  const char* mapped_ = nullptr;
  size_t size_ = 0;
  std::string read_;
};

/// Writes `contents` to a temp file beside `path`, fsyncs nothing (speed), then renames it over
/// `path`: readers see the old file or the new one, never a torn one.
Status write_file_atomic(const fs::path& path, std::string_view contents);

/// Writes `contents` over the file at `path`, which must exist, in place: its folder keeps its
/// change time, as it gains no entry. A reader may see a torn file; for a cache that must be
/// harmless.
Status overwrite_file(const fs::path& path, std::string_view contents);

/// write_file_atomic of `pieces` one after the other, keeping the file open: a read-only
/// descriptor (close-on-exec; the caller closes it) of the file written. Reads through it see
/// these contents even after another writer has replaced `path`.
Result<int> write_file_atomic_and_open(const fs::path& path, std::span<const std::string_view> pieces);

/// Tells the file system that the subdirectories of `dir` are unrelated trees (chattr +T,
/// FS_TOPDIR_FL): ext2/3/4's Orlov allocator then spreads new subdirectories over block groups
/// instead of packing them into the group of `dir`. A folder of packages is exactly that, and
/// packing costs: without a journal, ext4 skips every inode freed in the last minutes while
/// allocating one, so after `rm -rf node_modules` each new directory in the same group walked
/// past all the old ones. Best effort: false where the file system has no such flag.
bool mark_subdirectories_unrelated(const fs::path& dir);

/// An AtomicFile collects contents and only replaces the target on commit().
class AtomicFile {
 public:
  explicit AtomicFile(fs::path target) : target_(std::move(target)) {}
  void write(std::string_view s) { buffer_.append(s); }
  Status commit() { return write_file_atomic(target_, buffer_); }

 private:
  fs::path target_;
  std::string buffer_;
};

/// Deletes the entries of `dir` named `<prefix><pid>` whose process is gone: what a process
/// killed half way left behind (those of processes still running stay).
void remove_abandoned(const fs::path& dir, std::string_view prefix);

/// Deletes `dir` and everything below it with `threads` threads at once. Unlinking a file waits
/// on the file system far more than it uses the CPU, so a node_modules of tens of thousands of
/// files goes several times faster than with one thread. Best effort, as fs::remove_all with an
/// error code: what cannot be deleted stays.
void remove_all_parallel(const fs::path& dir, unsigned threads);

/// A fresh directory removed (recursively) on destruction unless release()d.
class TempDir {
 public:
  /// Creates `<parent>/<prefix>XXXXXX`. parent defaults to the system temp dir.
  static Result<TempDir> create(const fs::path& parent = {}, std::string_view prefix = "lade-");
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir();
  const fs::path& path() const { return path_; }
  fs::path release() { return std::exchange(path_, fs::path{}); }

 private:
  explicit TempDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

/// An exclusive advisory lock (flock) on a file, released on destruction.
class FileLock {
 public:
  static Result<FileLock> acquire(const fs::path& path);
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// A name unique to this process and call, for temp files beside a target.
std::string unique_suffix();

}  // namespace lade::util
