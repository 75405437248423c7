#include "store/linker.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

#include "store/sys_error.h"

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

/// 0 or an errno.
int reflink_file(int src_dir, int dst_dir, const char* name) {
  Fd src(::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!src.ok()) return errno;
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return errno;
  Fd dst(create_file(dst_dir, name, st.st_mode & 07777));
  if (!dst.ok()) return errno;
  if (::ioctl(dst.get(), FICLONE, src.get()) != 0) {
    int e = errno;
    ::unlinkat(dst_dir, name, 0);
    return e;
  }
  return 0;
}

/// 0 or an errno.
int hardlink_file(int src_dir, int dst_dir, const char* name) {
  if (::linkat(src_dir, name, dst_dir, name, 0) == 0) return 0;
  if (errno != EEXIST) return errno;
  if (::unlinkat(dst_dir, name, 0) != 0) return errno;
  return ::linkat(src_dir, name, dst_dir, name, 0) == 0 ? 0 : errno;
}

/// 0 or an errno; adds the bytes written to `*copied`.
int copy_file(int src_dir, int dst_dir, const char* name, uint64_t* copied) {
  Fd src(::openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!src.ok()) return errno;
  struct stat st {};
  if (::fstat(src.get(), &st) != 0) return errno;
  Fd dst(create_file(dst_dir, name, st.st_mode & 07777));
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

}  // namespace

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

/// One link() call: walks the source with directory fds (short relative lookups, no path
/// re-resolution) and links each file with the current method.
class TreeLinker {
 public:
  TreeLinker(Linker* linker, std::pair<dev_t, dev_t> devices, LinkMode start, bool learning)
      : linker_(linker), devices_(devices), current_(start), learning_(learning) {}

  util::Status walk(int src_dir, int dst_dir, const std::string& rel) {
    int dup_fd = ::dup(src_dir);
    if (dup_fd < 0) return sys_error(errno, "cannot read " + rel);
    DIR* dir = ::fdopendir(dup_fd);
    if (dir == nullptr) {
      int e = errno;
      ::close(dup_fd);
      return sys_error(e, "cannot read " + rel);
    }
    util::Status status;
    while (status.ok()) {
      errno = 0;
      struct dirent* ent = ::readdir(dir);
      if (ent == nullptr) {
        if (errno != 0) status = sys_error(errno, "cannot read " + rel);
        break;
      }
      const char* name = ent->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      unsigned char type = ent->d_type;
      if (type == DT_UNKNOWN) {
        struct stat st {};
        if (::fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
          status = sys_error(errno, "cannot read " + rel + "/" + name);
          break;
        }
        type = S_ISDIR(st.st_mode)   ? DT_DIR
               : S_ISLNK(st.st_mode) ? DT_LNK
               : S_ISREG(st.st_mode) ? DT_REG
                                     : DT_UNKNOWN;
      }
      if (type == DT_DIR) {
        status = directory(src_dir, dst_dir, name, rel + "/" + name);
      } else if (type == DT_LNK) {
        status = symlink(src_dir, dst_dir, name, rel + "/" + name);
      } else if (type == DT_REG) {
        status = file(src_dir, dst_dir, name, rel + "/" + name);
      }
    }
    ::closedir(dir);
    return status;
  }

  const LinkStats& stats() const { return stats_; }

 private:
  util::Status directory(int src_dir, int dst_dir, const char* name, const std::string& rel) {
    // 0777 narrowed by the umask, as the extraction made the store's directories.
    if (::mkdirat(dst_dir, name, 0777) != 0 && errno != EEXIST) {
      return sys_error(errno, "cannot create " + rel);
    }
    Fd src(::openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!src.ok()) return sys_error(errno, "cannot read " + rel);
    Fd dst(::openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dst.ok()) return sys_error(errno, "cannot open " + rel);
    ++stats_.directories;
    return walk(src.get(), dst.get(), rel);
  }

  util::Status symlink(int src_dir, int dst_dir, const char* name, const std::string& rel) {
    char target[4096];
    ssize_t n = ::readlinkat(src_dir, name, target, sizeof target - 1);
    if (n < 0) return sys_error(errno, "cannot read link " + rel);
    target[n] = '\0';
    if (::symlinkat(target, dst_dir, name) != 0) {
      if (errno != EEXIST || ::unlinkat(dst_dir, name, 0) != 0 ||
          ::symlinkat(target, dst_dir, name) != 0) {
        return sys_error(errno, "cannot create link " + rel);
      }
    }
    ++stats_.symlinks;
    return {};
  }

  util::Status file(int src_dir, int dst_dir, const char* name, const std::string& rel) {
    LinkMode method = current_;
    bool learnable = true;
    for (;;) {
      int e = 0;
      switch (method) {
        case LinkMode::Reflink:
          e = reflink_file(src_dir, dst_dir, name);
          break;
        case LinkMode::Hardlink:
          e = hardlink_file(src_dir, dst_dir, name);
          break;
        case LinkMode::Copy:
        case LinkMode::Auto:
          e = copy_file(src_dir, dst_dir, name, &stats_.bytes_copied);
          break;
      }
      if (e == 0) {
        count(method);
        if (learning_ && learnable) {
          learning_ = false;
          current_ = method;
          linker_->learn(devices_, method);
        }
        return {};
      }
      const bool auto_mode = linker_->mode() == LinkMode::Auto;
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
      return sys_error(e, std::string("cannot ") + verb(method) + " " + rel);
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
  std::pair<dev_t, dev_t> devices_;
  LinkMode current_;
  bool learning_;
  LinkStats stats_;
};

util::Result<LinkStats> Linker::link(const fs::path& package_dir, const fs::path& dest) {
  Fd src(::open(package_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src.ok()) return sys_error(errno, "cannot read " + package_dir.string());
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) return sys_error(ec.value(), "cannot create " + dest.string());
  Fd dst(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dst.ok()) return sys_error(errno, "cannot open " + dest.string());
  struct stat src_st {
  }, dst_st{};
  if (::fstat(src.get(), &src_st) != 0 || ::fstat(dst.get(), &dst_st) != 0) {
    return sys_error(errno, "cannot stat " + dest.string());
  }
  const std::pair<dev_t, dev_t> devices{src_st.st_dev, dst_st.st_dev};

  LinkMode start = mode_;
  bool learning = false;
  if (mode_ == LinkMode::Auto) {
    auto learned = learned_mode(devices.first, devices.second);
    start = learned.value_or(LinkMode::Reflink);
    learning = !learned.has_value();
  }
  TreeLinker tree(this, devices, start, learning);
  LADE_TRY(tree.walk(src.get(), dst.get(), dest.string()));
  std::lock_guard<std::mutex> lock(mu_);
  totals_ += tree.stats();
  return tree.stats();
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
