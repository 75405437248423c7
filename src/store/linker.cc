#include "store/linker.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "store/sys_error.h"
#include "util/fs.h"

namespace lade::store {
namespace {

/// Errors that mean "this file system (pair) cannot reflink", not "this file is a problem".
bool reflink_unsupported(int e) {
  return e == EOPNOTSUPP || e == ENOTTY || e == EINVAL || e == EXDEV || e == ENOSYS || e == EPERM;
}

/// Errors after which a hard link is hopeless but a copy may work. EMLINK is about the one
/// file (too many links to it), the others about the file system pair.
bool hardlink_unsupported(int e) {
  return e == EXDEV || e == EPERM || e == EOPNOTSUPP || e == EMLINK;
}

/// copy_file_range cannot do this pair (older kernels across file systems, special files):
/// fall back to read/write.
bool copy_range_unsupported(int e) {
  return e == EXDEV || e == ENOSYS || e == EINVAL || e == EOPNOTSUPP || e == EPERM;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

/// Creates `name` in `dir` for writing, replacing a file already there. -1 and errno on error.
int create_file(int dir, const char* name, mode_t mode) {
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  int fd = ::openat(dir, name, flags, mode);
  if (fd < 0 && errno == EEXIST && ::unlinkat(dir, name, 0) == 0) {
    fd = ::openat(dir, name, flags, mode);
  }
  return fd;
}

/// A file to link: `name` in the source directory `dir`, to `dest` (a path relative to the
/// destination package's root, `root`).
struct FileRef {
  int dir;
  const char* name;
  int root;
  const char* dest;
};

/// 0 or an errno.
int reflink_file(const FileRef& f) {
  Fd src(::openat(f.dir, f.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!src.ok()) return errno;
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return errno;
  Fd dst(create_file(f.root, f.dest, st.st_mode & 07777));
  if (!dst.ok()) return errno;
  if (::ioctl(dst.get(), FICLONE, src.get()) != 0) {
    int e = errno;
    ::unlinkat(f.root, f.dest, 0);
    return e;
  }
  return 0;
}

/// 0 or an errno.
int hardlink_file(const FileRef& f) {
  if (::linkat(f.dir, f.name, f.root, f.dest, 0) == 0) return 0;
  if (errno != EEXIST) return errno;
  if (::unlinkat(f.root, f.dest, 0) != 0) return errno;
  return ::linkat(f.dir, f.name, f.root, f.dest, 0) == 0 ? 0 : errno;
}

/// 0 or an errno; adds the bytes written to `*copied`.
int copy_file(const FileRef& f, uint64_t* copied) {
  Fd src(::openat(f.dir, f.name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!src.ok()) return errno;
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return errno;
  Fd dst(create_file(f.root, f.dest, st.st_mode & 07777));
  if (!dst.ok()) return errno;
  // Stop at the size fstat gave: saves the call that would only report end of file.
  uint64_t remaining = static_cast<uint64_t>(st.st_size);
  bool in_kernel = true;
  while (remaining > 0) {
    ssize_t n;
    if (in_kernel) {
      n = ::copy_file_range(src.get(), nullptr, dst.get(), nullptr, remaining, 0);
      if (n < 0 && copy_range_unsupported(errno)) {
        in_kernel = false;  // the offsets have not moved: carry on with read/write
        continue;
      }
    } else {
      char buf[65536];
      n = ::read(src.get(), buf, sizeof buf);
      for (ssize_t off = 0; n > 0 && off < n;) {
        ssize_t w = ::write(dst.get(), buf + off, static_cast<size_t>(n - off));
        if (w < 0) {
          if (errno == EINTR) continue;
          return errno;
        }
        off += w;
      }
    }
    if (n == 0) break;  // the file shrank under us; the store's files do not, but be safe
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    *copied += static_cast<uint64_t>(n);
    remaining -= std::min(remaining, static_cast<uint64_t>(n));
  }
  return 0;
}

/// A node_modules folder holds unrelated packages: see util::mark_subdirectories_unrelated.
void made_directory(const std::string& path) {
  constexpr std::string_view kPackages = "/node_modules";
  if (std::string_view(path).ends_with(kPackages)) util::mark_subdirectories_unrelated(path);
}

/// rename(2) that fails with EEXIST when `to` exists, even as an empty folder. File systems
/// without RENAME_NOREPLACE get a plain rename. 0 or -1 and errno.
int rename_unless_taken(const char* from, const char* to) {
  if (::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  return ::rename(from, to);
}

/// mkdir -p for the destination root: one mkdir when the parent exists (the usual case), no
/// stat. 0 when `path` was created, EEXIST when something is there already, else an errno.
int make_directories(const std::string& path) {
  if (::mkdir(path.c_str(), 0777) == 0) {
    made_directory(path);
    return 0;
  }
  if (errno != ENOENT) return errno;
  size_t slash = path.find_last_not_of('/');
  slash = slash == std::string::npos ? std::string::npos : path.rfind('/', slash);
  if (slash == std::string::npos || slash == 0) return ENOENT;
  int e = make_directories(path.substr(0, slash));
  if (e != 0 && e != EEXIST) return e;
  if (::mkdir(path.c_str(), 0777) != 0) return errno;
  made_directory(path);
  return 0;
}

}  // namespace

int merge_folder(int from, int to) {
  if (::lseek(from, 0, SEEK_SET) != 0) return errno;
  std::vector<std::pair<std::string, unsigned char>> entries;
  {
    char buffer[8192];
    for (;;) {
      ssize_t n = ::getdents64(from, buffer, sizeof buffer);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      for (ssize_t pos = 0; pos < n;) {
        const auto* ent = reinterpret_cast<const struct dirent64*>(buffer + pos);
        pos += ent->d_reclen;
        const char* name = ent->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
        entries.emplace_back(name, ent->d_type);
      }
    }
  }
  for (const auto& [name, type] : entries) {
    const char* n = name.c_str();
    if (::renameat2(from, n, to, n, RENAME_NOREPLACE) == 0) continue;
    if (errno != EEXIST) return errno;
    struct stat there {};
    if (::fstatat(to, n, &there, AT_SYMLINK_NOFOLLOW) != 0) return errno;
    bool folder = type == DT_DIR;
    if (type == DT_UNKNOWN) {
      struct stat here {};
      if (::fstatat(from, n, &here, AT_SYMLINK_NOFOLLOW) != 0) return errno;
      folder = S_ISDIR(here.st_mode);
    }
    if (folder != S_ISDIR(there.st_mode)) return folder ? ENOTDIR : EISDIR;
    if (!folder) {
      if (::renameat(from, n, to, n) != 0) return errno;
      continue;
    }
    Fd inner_from(::openat(from, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    Fd inner_to(::openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!inner_from.ok() || !inner_to.ok()) return errno;
    if (int e = merge_folder(inner_from.get(), inner_to.get()); e != 0) return e;
    if (::unlinkat(from, n, AT_REMOVEDIR) != 0) return errno;
  }
  return 0;
}

std::optional<LinkMode> parse_link_mode(std::string_view text) {
  if (text == "auto") return LinkMode::Auto;
  if (text == "reflink" || text == "clone") return LinkMode::Reflink;
  if (text == "hardlink") return LinkMode::Hardlink;
  if (text == "copy") return LinkMode::Copy;
  return std::nullopt;
}

const char* link_mode_name(LinkMode mode) {
  switch (mode) {
    case LinkMode::Auto:
      return "auto";
    case LinkMode::Reflink:
      return "reflink";
    case LinkMode::Hardlink:
      return "hardlink";
    case LinkMode::Copy:
      return "copy";
  }
  return "auto";
}

LinkStats& LinkStats::operator+=(const LinkStats& other) {
  directories += other.directories;
  files_reflinked += other.files_reflinked;
  files_hardlinked += other.files_hardlinked;
  files_copied += other.files_copied;
  symlinks += other.symlinks;
  bytes_copied += other.bytes_copied;
  return *this;
}

/// One link() call. Walks the source with getdents64 on descriptors it owns (no DIR*: that
/// costs a dup, an fstat and two fcntl per directory) and addresses everything in the
/// destination by its path relative to the destination's root descriptor, so destination
/// subdirectories are made but never opened. Sources are opened relative to the package root
/// too: at most two directories are open at once, whatever the depth.
class TreeLinker {
 public:
  TreeLinker(Linker* linker, int src_root, int dst_root, std::string display_root)
      : linker_(linker),
        src_root_(src_root),
        dst_root_(dst_root),
        current_(linker->mode()),
        display_root_(std::move(display_root)) {}

  /// Auto mode: find the device pair and what is known of it. `guess`, when set, is tried
  /// first instead, without looking at the devices: the one method that worked so far, if it
  /// is a reflink or a hard link. Those succeed only within a file system, so the first file
  /// that succeeds says this pair can do the same; the devices are looked at (two fstats per
  /// package saved otherwise) only when the guess fails.
  util::Status start_auto(std::optional<LinkMode> guess) {
    if (guess) {
      current_ = *guess;
      probing_ = true;
      return {};
    }
    return find_devices();
  }

  util::Status walk() {
    std::vector<std::string> pending{std::string()};  // package-relative; "" is the root
    while (!pending.empty()) {
      std::string rel = std::move(pending.back());
      pending.pop_back();
      Fd opened(rel.empty() ? -1
                            : ::openat(src_root_, rel.c_str(),
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!rel.empty() && !opened.ok()) return sys_error(errno, "cannot read " + display(rel));
      LADE_TRY(directory(rel.empty() ? src_root_ : opened.get(), dst_root_, rel, &pending));
    }
    return {};
  }

  const LinkStats& stats() const { return stats_; }

 private:
  static constexpr size_t kDirBufferSize = 32 * 1024;

  std::string display(const std::string& rel) const {
    return rel.empty() ? display_root_ : display_root_ + "/" + rel;
  }

  /// Links the entries of the source directory `src_dir` (at `rel` in the package) and makes
  /// its subdirectories, which it appends to `pending` rather than descending into them.
  util::Status directory(int src_dir, int dst_root, const std::string& rel,
                         std::vector<std::string>* pending) {
    if (!buffer_) buffer_ = std::make_unique<char[]>(kDirBufferSize);
    for (;;) {
      ssize_t n = ::getdents64(src_dir, buffer_.get(), kDirBufferSize);
      if (n == 0) return {};
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error(errno, "cannot read " + display(rel));
      }
      for (ssize_t pos = 0; pos < n;) {
        const auto* ent = reinterpret_cast<const struct dirent64*>(buffer_.get() + pos);
        pos += ent->d_reclen;
        const char* name = ent->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
        std::string child = rel.empty() ? std::string(name) : rel + "/" + name;
        unsigned char type = ent->d_type;
        if (type == DT_UNKNOWN) {  // file systems that do not fill d_type
          struct stat st {};
          if (::fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            return sys_error(errno, "cannot read " + display(child));
          }
          type = S_ISDIR(st.st_mode)   ? DT_DIR
                 : S_ISLNK(st.st_mode) ? DT_LNK
                 : S_ISREG(st.st_mode) ? DT_REG
                                       : DT_UNKNOWN;
        }
        if (rel.empty() && (type == DT_REG || type == DT_LNK) && std::strcmp(name, "binding.gyp") == 0) {
          stats_.root_binding_gyp = true;
        }
        if (type == DT_DIR) {
          LADE_TRY(make_directory(dst_root, child));
          pending->push_back(std::move(child));
        } else if (type == DT_LNK) {
          LADE_TRY(symlink(src_dir, name, dst_root, child));
        } else if (type == DT_REG) {
          LADE_TRY(file(FileRef{src_dir, name, dst_root, child.c_str()}, child));
        }
      }
    }
  }

  /// Makes `rel` under the destination root. Something already there must be a real
  /// directory: the paths below it are resolved through it, and a symlink there would lead
  /// them out of the package.
  util::Status make_directory(int dst_root, const std::string& rel) {
    // 0777 narrowed by the umask, as the extraction made the store's directories.
    if (::mkdirat(dst_root, rel.c_str(), 0777) != 0) {
      if (errno != EEXIST) return sys_error(errno, "cannot create " + display(rel));
      struct stat st {};
      if (::fstatat(dst_root, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        return sys_error(errno, "cannot create " + display(rel));
      }
      if (!S_ISDIR(st.st_mode)) return sys_error(ENOTDIR, "cannot create " + display(rel));
    }
    ++stats_.directories;
    return {};
  }

  util::Status symlink(int src_dir, const char* name, int dst_root, const std::string& rel) {
    char target[4096];
    ssize_t n = ::readlinkat(src_dir, name, target, sizeof target - 1);
    if (n < 0) return sys_error(errno, "cannot read link " + display(rel));
    target[n] = '\0';
    if (::symlinkat(target, dst_root, rel.c_str()) != 0) {
      if (errno != EEXIST || ::unlinkat(dst_root, rel.c_str(), 0) != 0 ||
          ::symlinkat(target, dst_root, rel.c_str()) != 0) {
        return sys_error(errno, "cannot create link " + display(rel));
      }
    }
    ++stats_.symlinks;
    return {};
  }

  util::Status find_devices() {
    struct stat src_st {
    }, dst_st{};
    if (::fstat(src_root_, &src_st) != 0 || ::fstat(dst_root_, &dst_st) != 0) {
      return sys_error(errno, "cannot stat " + display_root_);
    }
    devices_ = {src_st.st_dev, dst_st.st_dev};
    auto learned = linker_->learned_mode(devices_.first, devices_.second);
    current_ = learned.value_or(LinkMode::Reflink);
    learning_ = !learned.has_value();
    return {};
  }

  util::Status file(const FileRef& ref, const std::string& rel) {
    LinkMode method = current_;
    bool learnable = true;
    for (;;) {
      int e = 0;
      switch (method) {
        case LinkMode::Reflink:
          e = reflink_file(ref);
          break;
        case LinkMode::Hardlink:
          e = hardlink_file(ref);
          break;
        case LinkMode::Copy:
        case LinkMode::Auto:
          e = copy_file(ref, &stats_.bytes_copied);
          break;
      }
      if (e == 0) {
        count(method);
        probing_ = false;
        if (learning_ && learnable) {
          learning_ = false;
          current_ = method;
          linker_->learn(devices_, method);
        }
        return {};
      }
      const bool auto_mode = linker_->mode() == LinkMode::Auto;
      if (probing_ && ((method == LinkMode::Reflink && reflink_unsupported(e)) ||
                       (method == LinkMode::Hardlink && hardlink_unsupported(e)))) {
        probing_ = false;  // the guess does not hold here: do what a first package would
        LADE_TRY(find_devices());
        method = current_;
        continue;
      }
      if (auto_mode && method == LinkMode::Reflink && reflink_unsupported(e)) {
        method = LinkMode::Hardlink;
        if (!learning_) current_ = method;  // it worked before; this file system pair changed
        continue;
      }
      if (auto_mode && method == LinkMode::Hardlink && hardlink_unsupported(e)) {
        if (e == EMLINK) learnable = false;  // only this file has too many links
        method = LinkMode::Copy;
        continue;
      }
      return sys_error(e, std::string("cannot ") + verb(method) + " " + display(rel));
    }
  }

  static const char* verb(LinkMode method) {
    switch (method) {
      case LinkMode::Reflink:
        return "reflink";
      case LinkMode::Hardlink:
        return "hard-link";
      default:
        return "copy";
    }
  }

  void count(LinkMode method) {
    switch (method) {
      case LinkMode::Reflink:
        ++stats_.files_reflinked;
        break;
      case LinkMode::Hardlink:
        ++stats_.files_hardlinked;
        break;
      default:
        ++stats_.files_copied;
        break;
    }
  }

  Linker* linker_;
  const int src_root_;
  const int dst_root_;
  std::pair<dev_t, dev_t> devices_{};
  LinkMode current_;
  bool learning_ = false;
  bool probing_ = false;  // current_ is a guess from another device pair
  std::string display_root_;  // the destination as the caller named it, for messages
  std::unique_ptr<char[]> buffer_;  // getdents64 records, reused for every directory
  LinkStats stats_;
};

Linker::~Linker() { remove_staging(); }

void Linker::stage_in(const fs::path& node_modules) {
  static std::atomic<unsigned> linkers{0};
  util::remove_abandoned(node_modules, kStagingPrefix);
  staging_root_ = node_modules.string();
  if (!staging_root_.ends_with('/')) staging_root_ += '/';
  staging_name_ = std::string(kStagingPrefix) + std::to_string(::getpid()) + "-" + std::to_string(linkers++) + "-";
}

void Linker::remove_staging() {
  std::vector<fs::path> folders;
  {
    std::lock_guard<std::mutex> lock(mu_);
    folders.swap(staging_folders_);
  }
  for (const fs::path& folder : folders) {
    if (::rmdir(folder.c_str()) != 0 && errno != ENOENT) {
      std::error_code ec;  // a package that failed half way left its files
      fs::remove_all(folder, ec);
    }
  }
}

util::Result<LinkStats> Linker::link(const fs::path& package_dir, const fs::path& dest) {
  Fd src(::open(package_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src.ok()) return sys_error(errno, "cannot read " + package_dir.string());
  if (!staging_root_.empty()) {
    if (auto staged = link_staged(src.get(), dest)) return std::move(*staged);
    // A staged walk that was given up read the package's top folder to its end.
    if (::lseek(src.get(), 0, SEEK_SET) != 0) return sys_error(errno, "cannot read " + package_dir.string());
  }
  return link_in_place(src.get(), dest);
}

util::Result<LinkStats> Linker::link_in_place(int src, const fs::path& dest) {
  // Already there is fine: the files in it with the same names are replaced.
  if (int e = make_directories(dest.string()); e != 0 && e != EEXIST) {
    return sys_error(e, "cannot create " + dest.string());
  }
  Fd dst(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dst.ok()) return sys_error(errno, "cannot open " + dest.string());

  TreeLinker tree(this, src, dst.get(), dest.string());
  // Only auto mode remembers anything per device pair.
  if (mode_ == LinkMode::Auto) LADE_TRY(tree.start_auto(sole_capable_mode()));
  LADE_TRY(tree.walk());
  std::lock_guard<std::mutex> lock(mu_);
  totals_ += tree.stats();
  return tree.stats();
}

std::optional<util::Result<LinkStats>> Linker::link_staged(int src, const fs::path& dest) {
  const std::string& target = dest.string();
  if (!target.starts_with(staging_root_) || target.size() == staging_root_.size()) return std::nullopt;
  struct stat st {};
  if (::lstat(target.c_str(), &st) == 0 || errno != ENOENT) return std::nullopt;
  // The folder the package goes in (node_modules, an @scope, a nested node_modules).
  const size_t slash = target.find_last_of('/');
  if (int e = make_directories(target.substr(0, slash)); e != 0 && e != EEXIST) return std::nullopt;

  const size_t n = staged_++;
  const fs::path folder = staging_root_ + staging_name_ + std::to_string(n / kPackagesPerStagingFolder);
  if (n % kPackagesPerStagingFolder == 0 || ::access(folder.c_str(), F_OK) != 0) {
    if (::mkdir(folder.c_str(), 0777) == 0) {
      std::lock_guard<std::mutex> lock(mu_);
      staging_folders_.push_back(folder);
    } else if (errno != EEXIST) {
      return std::nullopt;
    }
  }
  const fs::path built = folder / std::to_string(n);
  if (::mkdir(built.c_str(), 0777) != 0) return std::nullopt;
  auto discard = [&] {
    std::error_code ec;
    fs::remove_all(built, ec);
  };
  Fd dst(::open(built.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dst.ok()) {
    discard();
    return std::nullopt;
  }
  // Messages name the package's place, not the staging folder.
  TreeLinker tree(this, src, dst.get(), target);
  util::Status walked = mode_ == LinkMode::Auto ? tree.start_auto(sole_capable_mode()) : util::Status{};
  if (walked) walked = tree.walk();
  if (!walked) {
    discard();
    return util::Result<LinkStats>(walked.take_error());
  }
  // Something took the place meanwhile, usually a nested package that made its parent's
  // folder: the files go in beside it, as for any folder already there. A plain rename would
  // replace that folder while it is still empty, under the feet of whoever made it.
  if (rename_unless_taken(built.c_str(), target.c_str()) != 0) {
    if (errno != EEXIST || !merge_into_place(dst.get(), target, built)) {
      discard();
      return std::nullopt;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  totals_ += tree.stats();
  return util::Result<LinkStats>(tree.stats());
}

bool Linker::merge_into_place(int built_fd, const std::string& target, const fs::path& built) {
  // O_NOFOLLOW: a symlink in the package's place is not followed out of node_modules; the
  // caller links in place then, which refuses it.
  Fd place(::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!place.ok()) return false;
  if (merge_folder(built_fd, place.get()) != 0) return false;
  return ::rmdir(built.c_str()) == 0;
}

std::optional<LinkMode> Linker::sole_capable_mode() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (learned_.size() != 1) return std::nullopt;
  LinkMode mode = learned_.begin()->second;
  if (mode != LinkMode::Reflink && mode != LinkMode::Hardlink) return std::nullopt;
  return mode;
}

std::optional<LinkMode> Linker::learned_mode(dev_t source_device, dev_t dest_device) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = learned_.find({source_device, dest_device});
  if (it == learned_.end()) return std::nullopt;
  return it->second;
}

void Linker::learn(std::pair<dev_t, dev_t> devices, LinkMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  learned_.emplace(devices, mode);
}

LinkStats Linker::totals() const {
  std::lock_guard<std::mutex> lock(mu_);
  return totals_;
}

}  // namespace lade::store
