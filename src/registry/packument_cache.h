#pragma once
// PackumentCache: registry documents on disk, with the validators (ETag, Last-Modified) and
// freshness (Cache-Control max-age) that let the next run skip or shorten the request.
//
// Layout: <lade cache>/packuments-v4/<sha256 hex of the key>; the "-v4" bucket is bumped when
// the file format changes, so an old lade never misreads a new file and vice versa. One file per
// entry: a short text header, a blank line, then the body. The header says whether the body is
// a compact packument (manifest::Packument's binary index, then its compact document: what lade
// stores) or a document as a registry sent it. Writes are atomic (temp + rename) and files are
// never changed in place, so a reader holding a file open keeps reading the bytes it indexed;
// racing processes each leave a whole file.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "manifest/packument.h"
#include "util/result.h"

namespace lade::registry {

namespace fs = std::filesystem;

/// What a response said about caching, from its Cache-Control and Age headers.
struct CacheControl {
  std::optional<std::chrono::seconds> max_age;  // already reduced by Age
  bool no_store = false;
  bool no_cache = false;  // stored, but always revalidated
  bool must_revalidate = false;
};
CacheControl parse_cache_control(std::string_view cache_control, std::string_view age = {});

struct CacheEntryMeta {
  std::string key;  // what the entry is for: "<kind>:<url>"
  std::string etag;
  std::string last_modified;
  /// Fresh for this long after `stored_at`; nullopt means revalidate every time.
  std::optional<std::chrono::seconds> max_age;
  bool must_revalidate = false;
  /// When the body was fetched or last revalidated (the file's mtime).
  std::chrono::system_clock::time_point stored_at{};
  /// The body is a compact packument (index, then document), not the registry's document.
  bool compact = false;
  /// Bytes of the body that are the compact packument's index.
  uint64_t index_size = 0;
};

struct CacheEntry {
  CacheEntryMeta meta;
  std::string body;
};

/// An entry opened as a packument.
struct CachedPackument {
  CacheEntryMeta meta;
  std::shared_ptr<const manifest::Packument> packument;
};

class PackumentCache {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  /// `lade_cache` is Settings::lade_cache. Nothing is created until the first store().
  explicit PackumentCache(const fs::path& lade_cache, Clock now = std::chrono::system_clock::now);

  /// The cache key of a packument URL; abbreviated ("corgi") and full documents differ.
  static std::string key_for(std::string_view url, bool full_metadata);

  /// The entry's metadata without its body; nullopt when absent or unreadable.
  std::optional<CacheEntryMeta> lookup(std::string_view key) const;
  /// Metadata and body; nullopt when absent or unreadable (a torn or foreign file is a miss).
  /// The body has manifest::Packument::kTextPadding bytes of spare capacity.
  std::optional<CacheEntry> load(std::string_view key) const;
  /// An entry's metadata and packument, in one open of its file. Errors: ENOENT when there is
  /// no entry, ECACHEDAMAGED when the file is torn or foreign (the caller drops it). A compact
  /// entry is opened with Packument::open_indexed and its file stays open, so a version's JSON
  /// is read only when asked for; past a budget of open files (a share of RLIMIT_NOFILE) the
  /// document is read into memory instead.
  util::Result<CachedPackument> open_packument(std::string_view key,
                                               std::string_view name_for_errors) const;
  /// Writes (replaces) an entry; stored_at becomes now.
  util::Status store(const CacheEntryMeta& meta, std::string_view body);
  /// Writes (replaces) the entry of a parsed packument in the compact form; `meta.compact` and
  /// `meta.index_size` are set here. Returns a reader of the document just written, on the
  /// file still open (see Packument::adopt_document), or null past the open-file budget.
  util::Result<std::shared_ptr<const manifest::DocumentReader>> store_packument(
      CacheEntryMeta meta, const manifest::Packument& packument);
  /// After a 304: the entry is fresh again from now; validators the server sent anew replace the
  /// stored ones.
  util::Status refresh(const CacheEntryMeta& updated);
  /// Removes an entry (a body that turned out not to parse).
  void remove(std::string_view key);

  /// True while the entry may be used without asking the server (max-age not yet elapsed).
  bool is_fresh(const CacheEntryMeta& meta) const;

  const fs::path& dir() const { return dir_; }
  fs::path path_for(std::string_view key) const;

 private:
  fs::path dir_;
  Clock now_;
  /// Descriptors held by open packuments, shared with each reader (which may outlive this).
  std::shared_ptr<std::atomic<int>> open_documents_;
  int max_open_documents_ = 0;
};

}  // namespace lade::registry
