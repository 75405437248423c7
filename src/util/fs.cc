#include "util/fs.h"

#include <fcntl.h>
#include <signal.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <climits>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <span>
#include <utility>
#include <vector>

namespace lade::util {

std::string unique_suffix() {
  static std::atomic<unsigned long> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

Result<std::string> read_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return make_error(errno_code(e),
                      "cannot read " + path.string() + ": " + std::strerror(e));
  }
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return make_error(errno_code(e), "cannot read " + path.string() + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status overwrite_file(const fs::path& path, std::string_view contents) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return make_error(errno_code(e), "cannot write " + path.string() + ": " + std::strerror(e));
  }
  while (!contents.empty()) {
    const ssize_t n = ::write(fd, contents.data(), contents.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = n < 0 ? errno : EIO;
      ::close(fd);
      return make_error(errno_code(e), "cannot write " + path.string() + ": " + std::strerror(e));
    }
    contents.remove_prefix(static_cast<size_t>(n));
  }
  ::close(fd);
  return {};
}

Result<MappedFile> MappedFile::open(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    return make_error(errno_code(e), "cannot read " + path.string() + ": " + std::strerror(e));
  }
  struct stat st {};
  MappedFile out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      ::close(fd);
      out.mapped_ = static_cast<const char*>(p);
      out.size_ = static_cast<size_t>(st.st_size);
      return out;
    }
  }
  ::close(fd);
  auto text = LADE_TRY(read_file(path));
  out.read_ = std::move(text);
  return out;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : mapped_(std::exchange(other.mapped_, nullptr)), size_(std::exchange(other.size_, 0)), read_(std::move(other.read_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (mapped_) ::munmap(const_cast<char*>(mapped_), size_);
    mapped_ = std::exchange(other.mapped_, nullptr);
    size_ = std::exchange(other.size_, 0);
    read_ = std::move(other.read_);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<char*>(mapped_), size_);
}

bool mark_subdirectories_unrelated(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return false;
  int flags = 0;
  bool marked = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  if (marked && !(flags & FS_TOPDIR_FL)) {
    flags |= FS_TOPDIR_FL;
    marked = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
  }
  ::close(fd);
  return marked;
}

namespace {

/// Writes `pieces`, one after the other, beside `path` and renames the file over `path`; the
/// written file's descriptor is returned when `keep_open`, else -1.
Result<int> replace_file(const fs::path& path, std::span<const std::string_view> pieces, bool keep_open) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  fs::path tmp = path;
  tmp += ".lade-tmp-" + unique_suffix();
  int fd = ::open(tmp.c_str(), (keep_open ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0644);
  if (fd < 0) {
    return make_error(errno_code(errno), "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  // One writev for all pieces: the caller need not join them into new memory first.
  std::vector<struct iovec> rest;
  rest.reserve(pieces.size());
  for (std::string_view piece : pieces) {
    if (!piece.empty()) rest.push_back({const_cast<char*>(piece.data()), piece.size()});
  }
  size_t first = 0;
  while (first < rest.size()) {
    const int count = static_cast<int>(std::min<size_t>(rest.size() - first, IOV_MAX));
    ssize_t n = ::writev(fd, rest.data() + first, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return make_error(errno_code(e), "cannot write " + path.string() + ": " + std::strerror(e));
    }
    auto written = static_cast<size_t>(n);
    while (first < rest.size() && written >= rest[first].iov_len) written -= rest[first++].iov_len;
    if (written > 0) {
      rest[first].iov_base = static_cast<char*>(rest[first].iov_base) + written;
      rest[first].iov_len -= written;
    }
  }
  if (!keep_open) ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    if (keep_open) ::close(fd);
    ::unlink(tmp.c_str());
    return make_error(errno_code(e), "cannot replace " + path.string() + ": " + std::strerror(e));
  }
  return keep_open ? fd : -1;
}

}  // namespace

Status write_file_atomic(const fs::path& path, std::string_view contents) {
  LADE_TRY(replace_file(path, std::span(&contents, 1), false));
  return {};
}

Result<int> write_file_atomic_and_open(const fs::path& path, std::span<const std::string_view> pieces) {
  return replace_file(path, pieces, true);
}

Result<TempDir> TempDir::create(const fs::path& parent, std::string_view prefix) {
  fs::path base = parent.empty() ? fs::temp_directory_path() : parent;
  std::error_code ec;
  fs::create_directories(base, ec);
  std::string tmpl = (base / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return make_error("EIO", "cannot create a temp dir in " + base.string() + ": " +
                                 std::strerror(errno));
  }
  return TempDir(fs::path(tmpl));
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
}

Result<FileLock> FileLock::acquire(const fs::path& path) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return make_error("EIO", "cannot open lock " + path.string() + ": " + std::strerror(errno));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int e = errno;
      ::close(fd);
      return make_error("EIO", "cannot lock " + path.string() + ": " + std::strerror(e));
    }
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}


void remove_abandoned(const fs::path& dir, std::string_view prefix) {
  std::error_code ec;
  std::vector<fs::path> abandoned;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)) continue;  // still running
    abandoned.push_back(it->path());
  }
  for (const fs::path& path : abandoned) remove_all_parallel(path, 8);
}

void remove_all_parallel(const fs::path& dir, unsigned threads) {
  // Files are unlinked by whichever thread lists their folder; folders are removed afterwards,
  // deepest first, each depth at once.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> queue{dir.string()};
  std::map<size_t, std::vector<std::string>> folders_by_depth;
  size_t busy = 0;
  auto work = [&] {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return !queue.empty() || busy == 0; });
      if (queue.empty()) return;  // and nobody can add more
      std::string folder = std::move(queue.back());
      queue.pop_back();
      ++busy;
      lock.unlock();
      std::vector<std::string> subfolders;
      if (DIR* d = ::opendir(folder.c_str())) {
        const int fd = ::dirfd(d);
        while (dirent* e = ::readdir(d)) {
          const char* name = e->d_name;
          if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
          bool is_dir = e->d_type == DT_DIR;
          if (e->d_type == DT_UNKNOWN) {
            struct stat st {};
            is_dir = ::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
          }
          if (is_dir) {
            subfolders.push_back(folder + "/" + name);
          } else {
            ::unlinkat(fd, name, 0);
          }
        }
        ::closedir(d);
      }
      lock.lock();
      const size_t depth = static_cast<size_t>(std::count(folder.begin(), folder.end(), '/'));
      folders_by_depth[depth].push_back(std::move(folder));
      for (auto& s : subfolders) queue.push_back(std::move(s));
      --busy;
      cv.notify_all();
    }
  };
  auto run_on_threads = [threads](const std::function<void()>& fn) {
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < std::max(1u, threads); ++i) pool.emplace_back(fn);
    fn();
    for (auto& t : pool) t.join();
  };
  run_on_threads(work);
  for (auto level = folders_by_depth.rbegin(); level != folders_by_depth.rend(); ++level) {
    std::atomic<size_t> next{0};
    const std::vector<std::string>& folders = level->second;
    auto remove_folders = [&] {
      for (size_t i = next++; i < folders.size(); i = next++) ::rmdir(folders[i].c_str());
    };
    if (folders.size() < 32) {
      remove_folders();  // not worth starting threads for
    } else {
      run_on_threads(remove_folders);
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);  // whatever the threads could not delete (a folder made meanwhile)
}
}  // namespace lade::util
