#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

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

bool path_exists(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string sri(util::HashAlgorithm algorithm, std::string_view raw_digest) {
  return std::string(hash_algorithm_name(algorithm)) + "-" + util::base64_encode(raw_digest);
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
  return root_ / kContentDir / hash_algorithm_name(algorithm) / hex.substr(0, 2) / hex.substr(2);
}

std::optional<fs::path> Store::find(std::string_view integrity, std::string_view shasum) const {
  auto expected = parse_expected_integrity(integrity, shasum);
  if (!expected.ok()) return std::nullopt;
  for (const auto& digest : expected->digests) {
    auto raw = util::base64_decode(digest);
    if (!raw.ok() || raw->size() != digest_size(expected->algorithm)) continue;
    fs::path entry = entry_path(expected->algorithm, *raw);
    if (path_exists(entry / kMarker)) return entry / kPackageDir;
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

util::Result<StoredPackage> Store::commit(std::string_view tarball, std::string* owned,
                                          const std::string& sha512_digest,
                                          const std::string& name) const {
  const fs::path entry = entry_path(util::HashAlgorithm::Sha512, sha512_digest);
  if (path_exists(entry / kMarker)) return load_entry(entry);

  auto tmp = util::TempDir::create(root_ / kTmpDir, "extract-");
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
  LADE_TRY(util::write_file_atomic(tmp->path() / kMarker, marker));
  // mkdtemp made it 0700; entries are as readable as the files in them.
  ::chmod(tmp->path().c_str(), 0755);

  std::error_code ec;
  fs::create_directories(entry.parent_path(), ec);
  if (ec)
    return with_name(sys_error(ec.value(), "cannot create " + entry.parent_path().string()), name);
  for (int attempt = 0;; ++attempt) {
    if (::rename(tmp->path().c_str(), entry.c_str()) == 0) {
      tmp->release();
      out.dir = entry / kPackageDir;
      return out;
    }
    int e = errno;
    if (e != EEXIST && e != ENOTEMPTY) {
      return with_name(sys_error(e, "cannot move package into " + entry.string()), name);
    }
    // Another process stored it first: use theirs (ours is removed with the temp dir).
    if (path_exists(entry / kMarker)) return load_entry(entry);
    if (attempt > 0) {
      return with_name(
          util::make_error("EEXIST", "cannot replace the incomplete store entry " + entry.string()),
          name);
    }
    // A directory without its marker is a leftover (say, an interrupted cache clean): move it
    // aside atomically, then delete it at leisure.
    fs::path trash = root_ / kTmpDir / ("broken-" + util::unique_suffix());
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
