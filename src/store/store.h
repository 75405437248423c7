#pragma once
// The content-addressed package store: every package tarball lade has verified, extracted once,
// keyed by the tarball's digest, ready to be linked into node_modules.
//
// Layout (versioned, so a format change never reads old data wrong):
//   <root>/content-v1/sha512/<hex[0:2]>/<hex[2:]>/package/   the package's files (tarball's
//                                                            top folder stripped)
//   <root>/content-v1/sha512/<hex[0:2]>/<hex[2:]>/index      marker, written last
//   <root>/content-v1/<algo>/<hex[0:2]>/<hex[2:]>            for sha1/sha256/sha384 keys: a
//                                                            symlink to the sha512 entry
//   <root>/tmp/                                              extraction in progress
// An entry is built in tmp/ and renamed into place, so it appears whole or not at all; the
// marker inside it is what find() looks for, so a directory left half-deleted (an interrupted
// cache clean) is not taken as present. Two processes adding the same package race harmlessly:
// the loser of the rename uses the winner's entry.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/expected_integrity.h"
#include "store/extract.h"
#include "util/hash.h"
#include "util/result.h"

namespace lade::store {

namespace fs = std::filesystem;

/// A package present in the store.
struct StoredPackage {
  fs::path dir;  ///< the package's files: link or copy from here, never write into it
  /// sha512 SRI of the tarball, computed even when only a sha1 was expected (npm records sha512
  /// in lockfiles it writes).
  std::string integrity;
  std::string package_json;  ///< the tarball's package.json; empty if it had none
  bool added = false;        ///< true if this call extracted it, false if it was already there
  size_t files = 0;          ///< files extracted (only when `added`)
  uint64_t bytes = 0;        ///< bytes of file contents (only when `added`)
  std::vector<std::string> warnings;  ///< npm-style tar warnings (only when `added`)
};

class Store;

/// Receives a tarball chunk by chunk (as a download delivers it), hashing it as it comes with
/// sha512 and, if different, the expected algorithm; finish() then verifies and extracts.
/// Not thread-safe; one sink per tarball. The Store must outlive it.
class TarballSink {
 public:
  TarballSink(TarballSink&&) noexcept = default;
  TarballSink& operator=(TarballSink&&) noexcept = default;

  /// Pre-sizes the buffer when the length is known (Content-Length), to avoid regrowth.
  void reserve(size_t bytes) { buffer_.reserve(bytes); }
  void write(std::string_view chunk);
  uint64_t size() const { return buffer_.size(); }

  /// Verifies the bytes against the expected integrity (EINTEGRITY, nothing stored, when they
  /// differ), then extracts them into the store unless the entry exists already.
  /// Call once; the sink is spent afterwards.
  util::Result<StoredPackage> finish();

 private:
  friend class Store;
  TarballSink(const Store* store, util::Result<ExpectedIntegrity> expected, std::string name);
  /// Hashes bytes that are already whole, without buffering them.
  void hash(std::string_view bytes);
  /// finish() for `bytes`, which were hashed; `owned` (may be null) holds them and is emptied
  /// once they are decompressed.
  util::Result<StoredPackage> finish_with(std::string_view bytes, std::string* owned);

  const Store* store_;
  util::Result<ExpectedIntegrity> expected_;
  std::string name_;
  util::Hasher sha512_{util::HashAlgorithm::Sha512};
  std::optional<util::Hasher> expected_hasher_;
  std::string buffer_;
};

/// Decompressed bytes a store's concurrent extractions may hold in memory at once (see
/// ExtractOptions::inflate_budget), when its options bring no budget of their own. Two big
/// tarballs unpacked side by side set the peak of an install: with 64 MiB, installing
/// alotta-files from its lockfile with a cold cache peaked at 107-130 MB; with 32 MiB, 74-92 MB.
/// A Storybook project (334 packages, a few of them 10-24 MB unpacked) peaked at 66-73 MB with
/// 32 MiB and 56-64 MB with 24 MiB, in the same time. Not less: typescript's tarball unpacks
/// to 23.7 MB, and one that does not fit is inflated by the slower streaming reader.
inline constexpr uint64_t kStoreInflateBudget = uint64_t{24} << 20;

class Store {
 public:
  /// `root` is the cache directory (the CLI decides it: $LADE_CACHE_DIR, $XDG_CACHE_HOME/lade or
  /// ~/.cache/lade). Nothing is created until a package is added.
  explicit Store(fs::path root, ExtractOptions extract_options = {});

  const fs::path& root() const { return root_; }

  /// The directory of the package whose tarball has `integrity` (SRI) or, when `integrity`
  /// names no hash, the hex sha1 `shasum`; nullopt when not stored. One stat.
  /// With `expected_version`, an entry whose package.json has another version is taken as
  /// absent (one read of the entry's marker instead of the stat): a lockfile whose version and
  /// integrity disagree (edited by hand, merged badly) then downloads that version, whose
  /// integrity check fails, as npm's does, rather than installing what the integrity names.
  std::optional<fs::path> find(std::string_view integrity, std::string_view shasum = {},
                               std::string_view expected_version = {}) const;

  /// Like find(), with the entry's recorded integrity and package.json read back.
  /// Error ENOTCACHED when absent.
  util::Result<StoredPackage> load(std::string_view integrity, std::string_view shasum = {}) const;

  /// Verifies a whole tarball and stores it (see TarballSink::finish). `name_for_errors`
  /// ("lodash@4.17.21") names the package in error messages.
  util::Result<StoredPackage> add_tarball(std::string_view tarball, std::string_view integrity,
                                          std::string_view shasum,
                                          std::string_view name_for_errors) const;
  /// The same, taking the bytes over: they are freed as soon as they are verified and
  /// decompressed, before the files are written.
  util::Result<StoredPackage> add_tarball(std::string&& tarball, std::string_view integrity,
                                          std::string_view shasum,
                                          std::string_view name_for_errors) const;

  /// A sink to stream a tarball into; same contract as add_tarball.
  TarballSink begin_tarball(std::string_view integrity, std::string_view shasum,
                            std::string_view name_for_errors) const;

  /// The entry directory for a digest: <root>/content-v1/<algo>/<hex[0:2]>/<hex[2:]>.
  fs::path entry_path(util::HashAlgorithm algorithm, std::string_view raw_digest) const;

 private:
  friend class TarballSink;
  mutable std::once_flag build_root_marked_;
  /// Extracts verified bytes and renames the result into place as the sha512 entry. `owned`
  /// (may be null) holds the bytes and is emptied once they are decompressed.
  util::Result<StoredPackage> commit(std::string_view tarball, std::string* owned,
                                     const std::string& sha512_digest,
                                     const std::string& name) const;
  /// Points `<algo>/<hex>` at the sha512 entry so lookups by a weaker hash find it.
  util::Status add_alias(util::HashAlgorithm algorithm, std::string_view raw_digest,
                         std::string_view sha512_digest) const;
  util::Result<StoredPackage> load_entry(const fs::path& entry) const;

  fs::path root_;
  /// Shared by copies of the store, like the directory.
  std::shared_ptr<InflateBudget> inflate_budget_;
  ExtractOptions extract_options_;
};

}  // namespace lade::store
