#include "store/extract.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "store/archive_library.h"
#include "store/sys_error.h"
#include "store/tar_reader.h"
#include "util/fs.h"

namespace lade::store {
namespace {

// node-tar's default maxDepth: deeper entries are refused.
constexpr size_t kMaxDepth = 1024;
// A damaged header makes libarchive answer ARCHIVE_RETRY and move on; cap the resyncs so a
// hostile archive cannot keep us busy.
constexpr int kMaxRetries = 64;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

bool is_drive_root(std::string_view s) {
  return s.size() >= 2 && s[1] == ':' &&
         ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'));
}

/// node-tar strips every root it can see, Windows ones included, whatever the platform.
std::string_view strip_absolute(std::string_view path, std::string* root) {
  for (;;) {
    if (!path.empty() && (path[0] == '/' || path[0] == '\\')) {
      root->push_back(path[0]);
      path.remove_prefix(1);
    } else if (is_drive_root(path)) {
      root->append(path.substr(0, 2));
      path.remove_prefix(2);
    } else {
      return path;
    }
  }
}

using ArchivePtr = std::unique_ptr<struct archive, decltype(&::archive_read_free)>;

std::string archive_message(const ArchiveLibrary& lib, struct archive* a) {
  const char* msg = lib.error_string(a);
  return msg ? msg : "unknown error";
}

bool is_entry_specific(int e) {
  // Failures caused by what the tarball asks for (a name too long, a clash between a file and a
  // directory), as opposed to the disk failing: node-tar warns and goes on, so do we.
  return e == EEXIST || e == ENOTDIR || e == EISDIR || e == ENOTEMPTY || e == ENAMETOOLONG ||
         e == EILSEQ || e == ELOOP || e == EINVAL;
}

/// Reads the process umask without changing it (umask(2) cannot be read without a write,
/// which would race with other threads creating files).
mode_t process_umask() {
  auto status = util::read_file("/proc/self/status");
  if (status.ok()) {
    size_t pos = status->find("\nUmask:");
    if (pos != std::string::npos) {
      return static_cast<mode_t>(std::strtoul(status->c_str() + pos + 7, nullptr, 8)) & 0777;
    }
  }
  return 022;
}

/// "./bin//x" -> "bin/x"; "" for paths that are absolute or leave the package.
std::string normalize_bin_path(std::string_view path) {
  if (path.empty() || path[0] == '/') return {};
  std::string out;
  for (std::string_view part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") return {};
    if (!out.empty()) out += '/';
    out.append(part);
  }
  return out;
}

/// The package-relative paths package.json's "bin" names, normalised like npm's publish does
/// ("./bin/x" -> "bin/x"), which is what pacote compares tar paths with.
std::vector<std::string> bin_paths(const std::string& package_json) {
  std::vector<std::string> out;
  nlohmann::json manifest =
      nlohmann::json::parse(package_json, nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object()) return out;
  auto bin = manifest.find("bin");
  if (bin == manifest.end()) return out;
  auto add = [&](const nlohmann::json& value) {
    if (!value.is_string()) return;
    std::string path = normalize_bin_path(value.get_ref<const std::string&>());
    if (!path.empty()) out.push_back(std::move(path));
  };
  if (bin->is_string()) {
    add(*bin);
  } else if (bin->is_object()) {
    for (const auto& item : bin->items()) add(item.value());
  }
  return out;
}

class Extractor {
 public:
  Extractor(int dirfd, const ExtractOptions& options, ExtractedTarball* out)
      : dirfd_(dirfd), options_(options), out_(out) {}

  /// Reads `tarball` (gzip'd or plain) with libarchive, writing files as their entries come.
  /// Error ELIBARCHIVE when libarchive cannot be loaded.
  util::Status run_libarchive(std::string_view tarball) {
    out_->read_by_libarchive = true;
    lib_ = LADE_TRY(ArchiveLibrary::load());
    ArchivePtr a(lib_->read_new(), lib_->read_free);
    if (!a) return util::make_error("ENOMEM", "cannot allocate a tar reader");
    lib_->read_support_filter_gzip(a.get());
    lib_->read_support_format_tar(a.get());
    if (lib_->read_open_memory(a.get(), tarball.data(), tarball.size()) != ARCHIVE_OK) {
      return bad_archive(a.get());
    }
    int retries = 0;
    for (;;) {
      struct archive_entry* entry = nullptr;
      int r = lib_->read_next_header(a.get(), &entry);
      if (r == ARCHIVE_EOF) break;
      if (r == ARCHIVE_RETRY) {  // a damaged header, skipped: node-tar warns and goes on too
        if (++retries > kMaxRetries) return bad_archive(a.get());
        out_->warnings.push_back("TAR_ENTRY_INVALID " + archive_message(*lib_, a.get()));
        continue;
      }
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return bad_archive(a.get());
      LADE_TRY(on_entry(a.get(), entry));
    }
    return {};
  }

  /// Writes the entries lade's tar reader found, each file with one write from the archive.
  util::Status run_entries(std::vector<TarEntry>& entries) {
    for (TarEntry& entry : entries) {
      if (!entry.regular) {  // never written, as in on_entry()
        ++out_->skipped;
        continue;
      }
      std::string rel = destination(std::move(entry.path));
      if (rel.empty()) continue;
      LADE_TRY(write_contents(rel, (entry.mode & 0777) | 0666, entry.data));
    }
    return {};
  }

  util::Status make_bins_executable() {
    if (out_->package_json.find("\"bin\"") == std::string::npos) return {};
    std::vector<std::string> bins = bin_paths(out_->package_json);
    if (bins.empty()) return {};
    const mode_t exec_bits = 0111 & ~process_umask();
    for (const auto& bin : bins) {
      struct stat st {};
      if (::fstatat(dirfd_, bin.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (!S_ISREG(st.st_mode) || (st.st_mode & exec_bits) == exec_bits) continue;
      if (::fchmodat(dirfd_, bin.c_str(), (st.st_mode & 0777) | exec_bits, 0) != 0) {
        return sys_error(errno, "cannot make " + bin + " executable");
      }
    }
    return {};
  }

 private:
  util::Status bad_archive(struct archive* a) {
    return util::make_error("TAR_BAD_ARCHIVE", "invalid tarball: " + archive_message(*lib_, a));
  }

  util::Status on_entry(struct archive* a, struct archive_entry* entry) {
    // Like pacote's filter: links of both kinds, directories, devices and fifos are not
    // written; directories appear only as parents of files.
    if (lib_->entry_filetype(entry) != AE_IFREG || lib_->entry_hardlink(entry) != nullptr) {
      ++out_->skipped;
      return {};
    }
    // UTF-8 as node-tar reads names; raw bytes when the name is not valid in any charset.
    const char* raw_c = lib_->entry_pathname_utf8(entry);
    if (raw_c == nullptr) raw_c = lib_->entry_pathname(entry);
    std::string rel = destination(raw_c == nullptr ? std::string() : std::string(raw_c));
    if (rel.empty()) return {};
    // The tarball's bits widened to rw for everyone, then the umask narrows them (open(2)).
    const mode_t mode = (lib_->entry_perm(entry) & 0777) | 0666;
    const uint64_t size =
        lib_->entry_size_is_set(entry) ? static_cast<uint64_t>(lib_->entry_size(entry)) : 0;
    return write_file(a, rel, mode, size);
  }

  /// Where the regular file entry named `raw` is written, relative to the package root, or ""
  /// when it is not (counted as skipped, with npm's warning when npm gives one).
  std::string destination(std::string raw) {
    if (raw.empty()) {
      out_->warnings.push_back("TAR_ENTRY_INVALID path is required");
      ++out_->skipped;
      return {};
    }
    if (!apply_ignore_file_rename(&raw)) {
      ++out_->skipped;
      return {};
    }
    std::string warning;
    std::string rel = package_relative_path(raw, &warning);
    if (!warning.empty()) out_->warnings.push_back(std::move(warning));
    if (rel.empty()) ++out_->skipped;
    return rel;
  }

  /// pacote treats .gitignore as .npmignore unless the folder already had one; works on the
  /// raw tar path, before any stripping. False: skip the entry.
  bool apply_ignore_file_rename(std::string* raw) {
    if (!options_.rename_gitignore) return true;
    std::string_view path = *raw;
    std::string_view base = path.substr(path.rfind('/') + 1);
    if (base == ".npmignore") {
      seen_npmignore_.insert(*raw);
    } else if (base == ".gitignore") {
      std::string renamed = raw->substr(0, raw->size() - base.size()) + ".npmignore";
      if (seen_npmignore_.count(renamed)) return false;
      *raw = std::move(renamed);
    }
    return true;
  }

  /// Creates the missing parents of `rel`. False (with a warning) when a parent is a file.
  util::Result<bool> make_parents(const std::string& rel) {
    size_t slash = rel.rfind('/');
    if (slash == std::string::npos) return true;
    std::string parent = rel.substr(0, slash);
    if (dirs_.count(parent)) return true;
    // Walk down from the top: every directory in dest was made here, so an EEXIST on a name we
    // did not record means a file is in the way.
    size_t pos = 0;
    while (pos != std::string::npos) {
      pos = rel.find('/', pos + 1);
      if (pos == std::string::npos) break;
      std::string prefix = rel.substr(0, pos);
      if (dirs_.count(prefix)) continue;
      if (::mkdirat(dirfd_, prefix.c_str(), 0777) != 0) {
        int e = errno;
        if (is_entry_specific(e)) {
          out_->warnings.push_back("TAR_ENTRY_ERROR " + errno_code(e) + ": " + std::strerror(e) +
                                   ", mkdir '" + prefix + "'");
          return false;
        }
        return sys_error(e, "cannot create directory " + prefix);
      }
      dirs_.insert(std::move(prefix));
    }
    return true;
  }

  /// Opens `rel` for writing. -1 (with a warning) when the entry has to be skipped.
  util::Result<int> open_for_write(const std::string& rel, mode_t mode) {
    // O_TRUNC on an existing file: a duplicate entry overwrites the contents and keeps the mode,
    // like node-tar reusing the file.
    const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC;
    int fd = ::openat(dirfd_, rel.c_str(), flags, mode);
    const char* op = "open";
    if (fd < 0 && errno == EISDIR) {
      // node-tar replaces an (empty) directory by the file; a non-empty one stays.
      op = "rmdir";
      if (::unlinkat(dirfd_, rel.c_str(), AT_REMOVEDIR) == 0) {
        dirs_.erase(rel);
        op = "open";
        fd = ::openat(dirfd_, rel.c_str(), flags, mode);
      }
    }
    if (fd >= 0) return fd;
    int e = errno;
    if (is_entry_specific(e)) {
      out_->warnings.push_back("TAR_ENTRY_ERROR " + errno_code(e) + ": " + std::strerror(e) + ", " +
                               op + " '" + rel + "'");
      return -1;
    }
    return sys_error(e, "cannot write " + rel);
  }

  /// Opens `rel` for writing, its folders made first; -1 (the entry counted as skipped, with a
  /// warning) when this one entry cannot be written.
  util::Result<int> open_entry(const std::string& rel, mode_t mode) {
    int fd = -1;
    if (LADE_TRY(make_parents(rel))) fd = LADE_TRY(open_for_write(rel, mode));
    if (fd < 0) ++out_->skipped;
    return fd;
  }

  util::Status write_file(struct archive* a, const std::string& rel, mode_t mode, uint64_t size) {
    int fd = LADE_TRY(open_entry(rel, mode));
    if (fd < 0) return {};
    const bool is_manifest = rel == "package.json";
    if (is_manifest) out_->package_json.clear();
    uint64_t pos = 0;
    util::Status status;
    for (;;) {
      const void* buf = nullptr;
      size_t len = 0;
      la_int64_t offset = 0;
      int r = lib_->read_data_block(a, &buf, &len, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        status = bad_archive(a);
        break;
      }
      if (static_cast<uint64_t>(offset) != pos) {  // a hole in a sparse file
        if (::lseek(fd, offset, SEEK_SET) < 0) {
          status = sys_error(errno, "cannot write " + rel);
          break;
        }
        if (is_manifest) out_->package_json.resize(static_cast<size_t>(offset), '\0');
        pos = static_cast<uint64_t>(offset);
      }
      const char* p = static_cast<const char*>(buf);
      if (is_manifest) out_->package_json.append(p, len);
      status = write_all(fd, p, len, rel);
      if (!status.ok()) break;
      pos += len;
    }
    if (status.ok() && pos < size && ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      status = sys_error(errno, "cannot write " + rel);  // a sparse file ending in a hole
    }
    if (::close(fd) != 0 && status.ok()) status = sys_error(errno, "cannot write " + rel);
    if (!status.ok()) return status;
    ++out_->files;
    out_->bytes += std::max(pos, size);
    return {};
  }

  /// write_file() for contents already in memory: open, one write, close.
  util::Status write_contents(const std::string& rel, mode_t mode, std::string_view data) {
    int fd = LADE_TRY(open_entry(rel, mode));
    if (fd < 0) return {};
    util::Status status = write_all(fd, data.data(), data.size(), rel);
    if (::close(fd) != 0 && status.ok()) status = sys_error(errno, "cannot write " + rel);
    if (!status.ok()) return status;
    if (rel == "package.json") out_->package_json.assign(data);
    ++out_->files;
    out_->bytes += data.size();
    return {};
  }

  static util::Status write_all(int fd, const char* p, size_t len, const std::string& rel) {
    while (len > 0) {
      ssize_t n = ::write(fd, p, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        return sys_error(errno, "cannot write " + rel);
      }
      p += n;
      len -= static_cast<size_t>(n);
    }
    return {};
  }

  int dirfd_;
  const ExtractOptions& options_;
  ExtractedTarball* out_;
  const ArchiveLibrary* lib_ = nullptr;             // set by run_libarchive()
  std::unordered_set<std::string> dirs_;            // directories created, package-relative
  std::unordered_set<std::string> seen_npmignore_;  // raw tar paths
};

}  // namespace

std::string package_relative_path(std::string_view raw_path, std::string* warning) {
  // strip: 1 -- the first component goes, whatever its name.
  std::vector<std::string_view> parts = split(raw_path, '/');
  if (parts.size() - 1 > kMaxDepth) {
    *warning = "TAR_ENTRY_ERROR path excessively deep: " + std::string(raw_path);
    return {};
  }
  size_t first_slash = raw_path.find('/');
  if (first_slash == std::string_view::npos) return {};  // nothing left: the package root
  std::string_view rest = raw_path.substr(first_slash + 1);

  std::string root;
  std::string_view stripped = strip_absolute(rest, &root);
  std::string with_slashes(stripped);
  for (char& c : with_slashes) {
    if (c == '\\') c = '/';
  }
  for (std::string_view part : split(with_slashes, '/')) {
    if (part == "..") {
      *warning = "TAR_ENTRY_ERROR path contains '..': " + std::string(raw_path);
      return {};
    }
  }
  // The same path as path.resolve(cwd, p) would give: no empty or "." components.
  std::string rel;
  for (std::string_view part : split(stripped, '/')) {
    if (part.empty() || part == ".") continue;
    if (!rel.empty()) rel += '/';
    rel.append(part);
  }
  if (!root.empty() && !rel.empty()) {
    *warning = "TAR_ENTRY_INFO stripping " + root + " from absolute path: " + std::string(raw_path);
  }
  return rel;
}

namespace {

/// A share of the inflate budget, held while a decompressed archive is in memory.
class BudgetLease {
 public:
  BudgetLease(InflateBudget* budget, uint64_t bytes) : budget_(budget), bytes_(bytes) {
    granted_ = budget_ ? budget_->acquire(bytes_) : bytes_ <= kDefaultInflateInMemory;
  }
  ~BudgetLease() {
    if (granted_ && budget_) budget_->release(bytes_);
  }
  BudgetLease(const BudgetLease&) = delete;
  BudgetLease& operator=(const BudgetLease&) = delete;
  bool granted() const { return granted_; }

 private:
  InflateBudget* budget_;
  uint64_t bytes_;
  bool granted_ = false;
};

/// Picks the reader: lade's own for what it handles, libarchive for the rest.
util::Status read_archive(Extractor& extractor, std::string_view tarball, std::string* owned,
                          const ExtractOptions& options) {
  if (options.force_libarchive) return extractor.run_libarchive(tarball);
  if (!looks_like_gzip(tarball)) {  // a plain tar, read in place
    auto entries = read_tar(tarball);
    return entries ? extractor.run_entries(*entries) : extractor.run_libarchive(tarball);
  }
  const uint64_t size = gzip_stated_size(tarball);
  BudgetLease lease(options.inflate_budget, size);
  if (size == 0 || !lease.granted()) return extractor.run_libarchive(tarball);
  auto tar = gunzip_whole(tarball, static_cast<size_t>(size));
  // Several members, bytes after the member, a bad checksum or size: libarchive decides.
  if (!tar) return extractor.run_libarchive(tarball);
  if (owned) std::string().swap(*owned);  // `tarball` is gone from here on
  auto entries = read_tar(tar->view());
  // libarchive reads these bytes exactly as it reads them through its gzip filter: the stream
  // was a single member with nothing after it.
  return entries ? extractor.run_entries(*entries) : extractor.run_libarchive(tar->view());
}

util::Result<ExtractedTarball> extract(std::string_view tarball, std::string* owned,
                                       const fs::path& dest, const ExtractOptions& options) {
  int dirfd = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return sys_error(errno, "cannot open " + dest.string());
  ExtractedTarball out;
  Extractor extractor(dirfd, options, &out);
  util::Status status = read_archive(extractor, tarball, owned, options);
  if (status.ok()) status = extractor.make_bins_executable();
  ::close(dirfd);
  if (!status.ok()) return status.take_error();
  return out;
}

}  // namespace

util::Result<ExtractedTarball> extract_tarball(std::string_view tarball, const fs::path& dest,
                                               const ExtractOptions& options) {
  return extract(tarball, nullptr, dest, options);
}

util::Result<ExtractedTarball> extract_tarball(std::string&& tarball, const fs::path& dest,
                                               const ExtractOptions& options) {
  return extract(tarball, &tarball, dest, options);
}

}  // namespace lade::store
