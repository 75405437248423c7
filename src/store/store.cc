#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include "manifest/integrity.h"
#include "manifest/manifest.h"
#include "manifest/semver_queries.h"
#include "store/sys_error.h"
#include "util/fs.h"

namespace lade::store {
namespace {

constexpr const char* kContentDir = "content-v1";
constexpr const char* kTmpDir = "tmp";
constexpr const char* kPackageDir = "package";
constexpr const char* kMarker = "index";
constexpr const char* kMarkerHeader = "lade-store-entry 1\n";

size_t digest_size(util::HashAlgorithm algorithm) {
  switch (algorithm) {
    case util::HashAlgorithm::Sha1:
      return 20;
    case util::HashAlgorithm::Sha256:
      return 32;
    case util::HashAlgorithm::Sha384:
      return 48;
    case util::HashAlgorithm::Sha512:
      return 64;
  }
  return 0;
}

/// An entry's marker (under 200 bytes): open, one read, close. A read that fills the buffer
/// falls back to util::read_file. Read once per package of every install, on the thread that
/// walks the tree, so the fstat and the read at end of file that read_file adds (two thousand
/// system calls for the medium benchmark fixture) would be spent there in line.
std::optional<std::string> read_marker(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n;
  do {
    n = ::read(fd, buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n < 0) return std::nullopt;
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, static_cast<size_t>(n));
  auto whole = util::read_file(path);
  if (!whole) return std::nullopt;
  return std::move(*whole);
}

bool path_exists(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string sri(util::HashAlgorithm algorithm, std::string_view raw_digest) {
  return std::string(manifest::hash_algorithm_name(algorithm)) + "-" + util::base64_encode(raw_digest);
}

/// The value of `key` in the marker's "key value" lines.
std::string marker_field(const std::string& marker, std::string_view key) {
  std::string needle = "\n" + std::string(key) + " ";
  size_t pos = marker.find(needle);
  if (pos == std::string::npos) return {};
  pos += needle.size();
  size_t end = marker.find('\n', pos);
  return marker.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

util::Error with_name(util::Error error, std::string_view name) {
  if (!name.empty()) error.message = std::string(name) + ": " + error.message;
  return error;
}

}  // namespace

// ---- TarballSink ----------------------------------------------------------------------------

TarballSink::TarballSink(const Store* store, util::Result<ExpectedIntegrity> expected,
                         std::string name)
    : store_(store), expected_(std::move(expected)), name_(std::move(name)) {
  if (expected_.ok() && !expected_->empty() &&
      expected_->algorithm != util::HashAlgorithm::Sha512) {
    expected_hasher_.emplace(expected_->algorithm);
  }
}

void TarballSink::write(std::string_view chunk) {
  hash(chunk);
  buffer_.append(chunk);
}

void TarballSink::hash(std::string_view bytes) {
  sha512_.update(bytes);
  if (expected_hasher_) expected_hasher_->update(bytes);
}

util::Result<StoredPackage> TarballSink::finish() {
  auto stored = finish_with(buffer_, &buffer_);
  std::string().swap(buffer_);
  return stored;
}

util::Result<StoredPackage> TarballSink::finish_with(std::string_view bytes, std::string* owned) {
  if (!expected_.ok()) return with_name(expected_.error(), name_);
  const ExpectedIntegrity& expected = *expected_;
  const std::string sha512 = sha512_.finish();
  if (!expected.empty()) {
    const std::string actual = expected_hasher_ ? expected_hasher_->finish() : sha512;
    const std::string actual_b64 = util::base64_encode(actual);
    if (std::find(expected.digests.begin(), expected.digests.end(), actual_b64) ==
        expected.digests.end()) {
      // ssri's wording, so people and scripts that know npm recognise it.
      std::string got = sri(util::HashAlgorithm::Sha512, sha512);
      if (expected_hasher_) got += " " + expected.algorithm_name + "-" + actual_b64;
      std::string message = expected.sri_text + " integrity checksum failed when using " +
                            expected.algorithm_name + ": wanted " + expected.wanted_text +
                            " but got " + got + ". (" + std::to_string(bytes.size()) + " bytes)";
      if (!name_.empty()) message += " for " + name_;
      return util::make_error("EINTEGRITY", std::move(message));
    }
    auto stored = store_->commit(bytes, owned, sha512, name_);
    if (stored.ok() && expected_hasher_) {
      // Best effort: without the alias a later lookup by this weaker hash misses and the
      // tarball is fetched again, which is slower but still right.
      (void)store_->add_alias(expected.algorithm, actual, sha512);
    }
    return stored;
  }
  return store_->commit(bytes, owned, sha512, name_);
}

// ---- Store ----------------------------------------------------------------------------------

Store::Store(fs::path root, ExtractOptions extract_options)
    : root_(std::move(root)), extract_options_(extract_options) {
  if (extract_options_.inflate_budget == nullptr) {
    inflate_budget_ = std::make_shared<InflateBudget>(kStoreInflateBudget);
    extract_options_.inflate_budget = inflate_budget_.get();
  }
}

fs::path Store::entry_path(util::HashAlgorithm algorithm, std::string_view raw_digest) const {
  std::string hex = util::hex_encode(raw_digest);
  return root_ / kContentDir / std::string(manifest::hash_algorithm_name(algorithm)) / hex.substr(0, 2) / hex.substr(2);
}

std::optional<fs::path> Store::find(std::string_view integrity, std::string_view shasum,
                                    std::string_view expected_version) const {
  auto expected = parse_expected_integrity(integrity, shasum);
  if (!expected.ok()) return std::nullopt;
  for (const auto& digest : expected->digests) {
    auto raw = util::base64_decode(digest);
    if (!raw.ok() || raw->size() != digest_size(expected->algorithm)) continue;
    fs::path entry = entry_path(expected->algorithm, *raw);
    if (expected_version.empty()) {
      if (path_exists(entry / kMarker)) return entry / kPackageDir;
      continue;
    }
    auto marker = read_marker(entry / kMarker);
    if (!marker) continue;
    const std::string version = marker_field(*marker, "version");
    if (!version.empty() && !manifest::same_version(version, expected_version)) continue;
    return entry / kPackageDir;
  }
  return std::nullopt;
}

util::Result<StoredPackage> Store::load(std::string_view integrity, std::string_view shasum) const {
  auto dir = find(integrity, shasum);
  if (!dir) {
    return util::make_error("ENOTCACHED", "no stored package for integrity \"" +
                                              std::string(integrity.empty() ? shasum : integrity) +
                                              "\"");
  }
  return load_entry(dir->parent_path());
}

util::Result<StoredPackage> Store::load_entry(const fs::path& entry) const {
  std::string marker = LADE_TRY(util::read_file(entry / kMarker));
  StoredPackage out;
  out.dir = entry / kPackageDir;
  out.integrity = marker_field(marker, "integrity");
  auto manifest = util::read_file(out.dir / "package.json");
  if (manifest.ok()) {
    out.package_json = std::move(*manifest);
  } else if (manifest.error().code != "ENOENT") {
    return manifest.take_error();
  }
  return out;
}

util::Result<StoredPackage> Store::add_tarball(std::string_view tarball, std::string_view integrity,
                                               std::string_view shasum,
                                               std::string_view name_for_errors) const {
  TarballSink sink = begin_tarball(integrity, shasum, name_for_errors);
  sink.hash(tarball);
  return sink.finish_with(tarball, nullptr);
}

util::Result<StoredPackage> Store::add_tarball(std::string&& tarball, std::string_view integrity,
                                               std::string_view shasum,
                                               std::string_view name_for_errors) const {
  TarballSink sink = begin_tarball(integrity, shasum, name_for_errors);
  sink.hash(tarball);
  return sink.finish_with(tarball, &tarball);
}

TarballSink Store::begin_tarball(std::string_view integrity, std::string_view shasum,
                                 std::string_view name_for_errors) const {
  return TarballSink(this, parse_expected_integrity(integrity, shasum),
                     std::string(name_for_errors));
}

namespace {

/// mkdir -p without a stat per level: one mkdir when the parent exists. 0 or an errno
/// (EEXIST when `path` is there already).
int make_directories(const std::string& path) {
  if (::mkdir(path.c_str(), 0777) == 0) return 0;
  if (errno != ENOENT) return errno;
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return ENOENT;
  int e = make_directories(path.substr(0, slash));
  if (e != 0 && e != EEXIST) return e;
  return ::mkdir(path.c_str(), 0777) == 0 ? 0 : errno;
}

/// A folder under <root>/tmp an entry is built in: removed with everything in it unless
/// released (renamed into place).
class BuildDir {
 public:
  /// Named after the digest and this run. The name picks the block group ext4 starts looking
  /// from for the folder (tmp/ is marked, see mark_subdirectories_unrelated), and its files
  /// follow it. Without the run's part, a package would land each time where its last copy
  /// was, and after that copy was deleted (a cleared cache), ext4 without a journal walks past
  /// each of its recently freed inodes for every file it creates: quadratic in the package's
  /// files (seconds for one of 5,000). Made 0777 (narrowed by the umask), as readable as the
  /// entry's files will be.
  static util::Result<BuildDir> create(const fs::path& tmp_root, const std::string& hex) {
    const std::string base = "extract-" + hex.substr(0, 32) + "-" + util::unique_suffix();
    std::string path = (tmp_root / base).string();
    bool made_root = false;
    int renamed = 0;
    for (;;) {
      if (::mkdir(path.c_str(), 0777) == 0) return BuildDir(path);
      int e = errno;
      if (e == ENOENT && !made_root) {  // the store's first package
        made_root = true;
        e = make_directories(tmp_root.string());
        // Entries are built here and renamed into place; each is its own tree.
        if (e == 0) util::mark_subdirectories_unrelated(tmp_root);
        if (e == 0 || e == EEXIST) continue;
      } else if (e == EEXIST && renamed++ < 2) {
        path = (tmp_root / (base + "-" + util::unique_suffix())).string();
        continue;
      }
      return sys_error(e, "cannot create a folder in " + tmp_root.string());
    }
  }
  BuildDir(BuildDir&& other) noexcept : path_(std::exchange(other.path_, fs::path{})) {}
  BuildDir& operator=(BuildDir&&) = delete;
  ~BuildDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  explicit BuildDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

/// Writes a new file in one go: open, write, close. No rename: the file is inside a build
/// folder nobody reads until the folder itself is renamed into place.
util::Status write_new_file(const fs::path& path, std::string_view contents) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return sys_error(errno, "cannot write " + path.string());
  while (!contents.empty()) {
    ssize_t n = ::write(fd, contents.data(), contents.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return sys_error(e, "cannot write " + path.string());
    }
    contents.remove_prefix(static_cast<size_t>(n));
  }
  if (::close(fd) != 0) return sys_error(errno, "cannot write " + path.string());
  return {};
}

}  // namespace

util::Result<StoredPackage> Store::commit(std::string_view tarball, std::string* owned,
                                          const std::string& sha512_digest,
                                          const std::string& name) const {
  const fs::path entry = entry_path(util::HashAlgorithm::Sha512, sha512_digest);
  if (path_exists(entry / kMarker)) return load_entry(entry);

  // A store made before its build folder was marked (see BuildDir::create) gets the mark now.
  std::call_once(build_root_marked_,
                 [this] { util::mark_subdirectories_unrelated(root_ / kTmpDir); });
  auto tmp = BuildDir::create(root_ / kTmpDir, util::hex_encode(sha512_digest));
  if (!tmp.ok()) return with_name(tmp.take_error(), name);
  const fs::path package_dir = tmp->path() / kPackageDir;
  if (::mkdir(package_dir.c_str(), 0777) != 0) {
    return with_name(sys_error(errno, "cannot create " + package_dir.string()), name);
  }
  auto extracted = owned ? extract_tarball(std::move(*owned), package_dir, extract_options_)
                         : extract_tarball(tarball, package_dir, extract_options_);
  if (!extracted.ok()) return with_name(extracted.take_error(), name);

  StoredPackage out;
  out.integrity = sri(util::HashAlgorithm::Sha512, sha512_digest);
  out.package_json = std::move(extracted->package_json);
  out.added = true;
  out.files = extracted->files;
  out.bytes = extracted->bytes;
  out.warnings = std::move(extracted->warnings);

  // The marker goes last: its presence says the entry is complete.
  std::string marker = std::string(kMarkerHeader) + "integrity " + out.integrity + "\nfiles " +
                       std::to_string(out.files) + "\nbytes " + std::to_string(out.bytes) + "\n";
  if (auto version = manifest::top_level_string(out.package_json, "version");
      version && version->find('\n') == std::string::npos) {
    marker += "version " + *version + "\n";
  }
  if (auto st = write_new_file(tmp->path() / kMarker, marker); !st.ok()) {
    return with_name(st.take_error(), name);
  }

  bool made_parent = false;
  for (int attempt = 0;;) {
    if (::rename(tmp->path().c_str(), entry.c_str()) == 0) {
      tmp->release();
      out.dir = entry / kPackageDir;
      return out;
    }
    int e = errno;
    if (e == ENOENT && !made_parent) {  // the first entry under this <hex[0:2]>
      made_parent = true;
      const fs::path parent = entry.parent_path();
      if (int made = make_directories(parent.string()); made != 0 && made != EEXIST) {
        return with_name(sys_error(made, "cannot create " + parent.string()), name);
      }
      continue;
    }
    if (e != EEXIST && e != ENOTEMPTY) {
      return with_name(sys_error(e, "cannot move package into " + entry.string()), name);
    }
    // Another process stored it first: use theirs (ours is removed with the temp dir).
    if (path_exists(entry / kMarker)) return load_entry(entry);
    if (attempt++ > 0) {
      return with_name(
          util::make_error("EEXIST", "cannot replace the incomplete store entry " + entry.string()),
          name);
    }
    // A directory without its marker is a leftover (say, an interrupted cache clean): move it
    // aside atomically, then delete it at leisure.
    fs::path trash = root_ / kTmpDir / ("broken-" + util::unique_suffix());
    std::error_code ec;
    if (::rename(entry.c_str(), trash.c_str()) == 0) fs::remove_all(trash, ec);
  }
}

util::Status Store::add_alias(util::HashAlgorithm algorithm, std::string_view raw_digest,
                              std::string_view sha512_digest) const {
  const fs::path alias = entry_path(algorithm, raw_digest);
  std::string hex = util::hex_encode(sha512_digest);
  const std::string target = "../../sha512/" + hex.substr(0, 2) + "/" + hex.substr(2);
  std::error_code ec;
  fs::create_directories(alias.parent_path(), ec);
  if (::symlink(target.c_str(), alias.c_str()) != 0 && errno != EEXIST) {
    return sys_error(errno, "cannot create " + alias.string());
  }
  return {};
}

}  // namespace lade::store
