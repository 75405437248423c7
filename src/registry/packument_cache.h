#pragma once
// PackumentCache: registry documents on disk, with the validators (ETag, Last-Modified) and
// freshness (Cache-Control max-age) that let the next run skip or shorten the request.
//
// Layout: <lade cache>/packuments-v2/<sha256 hex of the key>; the "-v2" bucket is bumped when
// the file format changes, so an old lade never misreads a new file and vice versa. One file per
// entry: a short text header, a blank line, then the body. The header says whether the body is
// a compact packument (manifest::Packument::compact_text(), what lade stores) or a document as
// a registry sent it. Writes are atomic (temp + rename); racing processes each leave a whole
// file.
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

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
  /// The body is a compact packument, not the registry's document.
  bool compact = false;
};

struct CacheEntry {
  CacheEntryMeta meta;
  std::string body;
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
  /// Writes (replaces) an entry; stored_at becomes now.
  util::Status store(const CacheEntryMeta& meta, std::string_view body);
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
};

}  // namespace lade::registry
