#include "registry/packument_cache.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "manifest/packument.h"
#include "util/fs.h"
#include "util/hash.h"

namespace lade::registry {

namespace {

constexpr std::string_view kMagic = "lade-packument-cache-v3";
constexpr std::string_view kBucket = "packuments-v4";
constexpr size_t kMaxHeader = 64 * 1024;
constexpr size_t kHeaderBlock = 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// Header values are single lines; a stray CR/LF from a server must not break the format.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) out += (c == '\r' || c == '\n') ? ' ' : c;
  return out;
}

std::string render_header(const CacheEntryMeta& meta) {
  std::string h(kMagic);
  h += "\nkey: " + one_line(meta.key);
  if (!meta.etag.empty()) h += "\netag: " + one_line(meta.etag);
  if (!meta.last_modified.empty()) h += "\nlast-modified: " + one_line(meta.last_modified);
  if (meta.max_age) h += "\nmax-age: " + std::to_string(meta.max_age->count());
  if (meta.must_revalidate) h += "\nmust-revalidate: 1";
  if (meta.compact) h += "\nbody: compact\nindex: " + std::to_string(meta.index_size);
  h += "\n\n";
  return h;
}

/// Parses the header at the start of `text`; returns the offset of the body.
std::optional<size_t> parse_header(std::string_view text, CacheEntryMeta& meta) {
  size_t end = text.find("\n\n");
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view header = text.substr(0, end);
  size_t pos = 0;
  bool first = true;
  while (pos <= header.size()) {
    size_t nl = header.find('\n', pos);
    std::string_view line = header.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? header.size() + 1 : nl + 1;
    if (first) {
      if (line != kMagic) return std::nullopt;
      first = false;
      continue;
    }
    size_t colon = line.find(": ");
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, colon);
    std::string value(line.substr(colon + 2));
    if (name == "key")
      meta.key = value;
    else if (name == "etag")
      meta.etag = value;
    else if (name == "last-modified")
      meta.last_modified = value;
    else if (name == "max-age")
      meta.max_age = std::chrono::seconds(std::atoll(value.c_str()));
    else if (name == "must-revalidate")
      meta.must_revalidate = value == "1";
    else if (name == "body")
      meta.compact = value == "compact";
    else if (name == "index")
      meta.index_size = std::strtoull(value.c_str(), nullptr, 10);
  }
  return end + 2;
}

void set_mtime(const fs::path& path, std::chrono::system_clock::time_point when) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
  timespec times[2];
  times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(ns / 1000000000);
  times[0].tv_nsec = times[1].tv_nsec = static_cast<long>(ns % 1000000000);
  ::utimensat(AT_FDCWD, path.c_str(), times, 0);
}

std::chrono::system_clock::time_point mtime_of(const struct stat& st) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

/// pread of exactly `size` bytes: 0, an errno, or -1 when the file ends first.
int pread_exactly(int fd, uint64_t offset, char* out, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(fd, out + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return -1;
    got += static_cast<size_t>(n);
  }
  return 0;
}

bool read_exactly(int fd, uint64_t offset, char* out, size_t size) {
  return pread_exactly(fd, offset, out, size) == 0;
}

/// A compact document read from the open cache file, one version at a time.
class CacheFileReader final : public manifest::DocumentReader {
 public:
  CacheFileReader(int fd, uint64_t base, std::string path,
                  std::shared_ptr<std::atomic<int>> open_count)
      : fd_(fd), base_(base), path_(std::move(path)), open_count_(std::move(open_count)) {}
  ~CacheFileReader() override {
    ::close(fd_);
    --*open_count_;
  }
  util::Result<std::string> read(uint64_t offset, size_t length) const override {
    std::string out(length, '\0');
    if (int e = pread_exactly(fd_, base_ + offset, out.data(), length); e != 0) {
      return util::make_error("EIO", "cannot read cached metadata " + path_ + ": " +
                                         (e > 0 ? std::strerror(e) : "file cut short"));
    }
    return out;
  }

 private:
  int fd_;
  uint64_t base_;
  std::string path_;
  std::shared_ptr<std::atomic<int>> open_count_;
};

/// The compact document in memory, for when no more files may stay open.
class InMemoryReader final : public manifest::DocumentReader {
 public:
  explicit InMemoryReader(std::string text) : text_(std::move(text)) {}
  util::Result<std::string> read(uint64_t offset, size_t length) const override {
    return std::string(std::string_view(text_).substr(offset, length));
  }

 private:
  std::string text_;
};

/// How many cache files open packuments may hold: half of what the process may open, less a
/// margin for everything else (sockets, store files, scripts' pipes).
int open_document_budget() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  const rlim_t soft = limit.rlim_cur == RLIM_INFINITY ? 65536 : limit.rlim_cur;
  return static_cast<int>(std::clamp<rlim_t>(soft / 2, 0, 65536)) - 128;
}

}  // namespace

CacheControl parse_cache_control(std::string_view cache_control, std::string_view age) {
  CacheControl cc;
  std::string text = lower(cache_control);
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view directive = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (directive == "no-store") {
      cc.no_store = true;
    } else if (directive == "no-cache") {
      cc.no_cache = true;
    } else if (directive == "must-revalidate" || directive == "proxy-revalidate") {
      cc.must_revalidate = true;
    } else if (directive.starts_with("max-age=")) {
      std::string value(trim(directive.substr(8)));
      if (!value.empty() && value.front() == '"') value = value.substr(1, value.size() - 2);
      if (!value.empty() && std::all_of(value.begin(), value.end(), ::isdigit)) {
        cc.max_age = std::chrono::seconds(std::atoll(value.c_str()));
      }
    }
  }
  if (cc.no_cache) cc.max_age.reset();
  if (cc.max_age && !trim(age).empty()) {
    long long a = std::atoll(std::string(trim(age)).c_str());
    cc.max_age = std::max(std::chrono::seconds(0), *cc.max_age - std::chrono::seconds(a));
  }
  return cc;
}

PackumentCache::PackumentCache(const fs::path& lade_cache, Clock now)
    : dir_(lade_cache / kBucket),
      now_(now ? std::move(now) : std::chrono::system_clock::now),
      open_documents_(std::make_shared<std::atomic<int>>(0)),
      max_open_documents_(open_document_budget()) {}

std::string PackumentCache::key_for(std::string_view url, bool full_metadata) {
  return (full_metadata ? "full:" : "corgi:") + std::string(url);
}

fs::path PackumentCache::path_for(std::string_view key) const {
  return dir_ / util::hex_encode(util::sha256(key));
}

std::optional<CacheEntryMeta> PackumentCache::lookup(std::string_view key) const {
  fs::path path = path_for(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  // Headers are a few hundred bytes: read a small block, more only when the header goes on.
  std::string head(kHeaderBlock, '\0');
  size_t got = 0;
  while (got < kMaxHeader) {
    if (got == head.size()) head.resize(std::min(head.size() * 4, kMaxHeader));
    ssize_t n = ::read(fd, head.data() + got, head.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
    if (std::string_view(head.data(), got).find("\n\n") != std::string_view::npos) break;
  }
  struct stat st {};
  bool stat_ok = ::fstat(fd, &st) == 0;
  ::close(fd);
  head.resize(got);
  CacheEntryMeta meta;
  if (!parse_header(head, meta) || meta.key != key || !stat_ok) return std::nullopt;
  meta.stored_at = mtime_of(st);
  return meta;
}

std::optional<CacheEntry> PackumentCache::load(std::string_view key) const {
  fs::path path = path_for(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) {
    ::close(fd);
    return std::nullopt;
  }
  // Read straight into a string with room for the parser's padding: no copy on the way.
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size) + manifest::Packument::kTextPadding);
  text.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(got);  // a file cut short since fstat is caught by the key check or the parser
  CacheEntry entry;
  auto body_offset = parse_header(text, entry.meta);
  if (!body_offset || entry.meta.key != key) return std::nullopt;
  entry.meta.stored_at = mtime_of(st);
  entry.body = std::move(text);
  entry.body.erase(0, *body_offset);
  return entry;
}

util::Result<CachedPackument> PackumentCache::open_packument(
    std::string_view key, std::string_view name_for_errors) const {
  fs::path path = path_for(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::make_error("ENOENT", "no cache entry for " + std::string(key));
  auto damaged = [&](std::string_view why) {
    ::close(fd);
    return util::make_error("ECACHEDAMAGED",
                            "cached metadata " + path.string() + ": " + std::string(why));
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size <= 0) return damaged("empty");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  // The header and, usually, the whole index of a small packument come in one read.
  std::string head(std::min<uint64_t>(file_size, 16 * 1024), '\0');
  if (!read_exactly(fd, 0, head.data(), head.size())) return damaged("cannot read");
  CachedPackument out;
  auto body_offset = parse_header(head, out.meta);
  if (!body_offset || out.meta.key != key) return damaged("not an entry of this cache");
  out.meta.stored_at = mtime_of(st);
  const uint64_t body_size = file_size - *body_offset;

  auto finish = [&](util::Result<std::shared_ptr<const manifest::Packument>> packument)
      -> util::Result<CachedPackument> {
    if (!packument) {
      return util::make_error("ECACHEDAMAGED", "cached metadata " + path.string() + ": " +
                                                   packument.error().message);
    }
    out.packument = std::move(*packument);
    return std::move(out);
  };
  if (!out.meta.compact) {
    std::string text;
    text.reserve(body_size + manifest::Packument::kTextPadding);
    text.resize(body_size);
    if (!read_exactly(fd, *body_offset, text.data(), body_size)) return damaged("cut short");
    ::close(fd);
    return finish(manifest::Packument::parse(std::move(text), name_for_errors));
  }
  if (out.meta.index_size > body_size) return damaged("cut short");
  std::string index;
  if (*body_offset + out.meta.index_size <= head.size()) {
    index = head.substr(*body_offset, out.meta.index_size);
  } else {
    index.resize(out.meta.index_size);
    if (!read_exactly(fd, *body_offset, index.data(), index.size())) return damaged("cut short");
  }
  const uint64_t document_offset = *body_offset + out.meta.index_size;
  const uint64_t document_size = body_size - out.meta.index_size;
  std::unique_ptr<const manifest::DocumentReader> reader;
  if (open_documents_->fetch_add(1) < max_open_documents_) {
    reader = std::make_unique<CacheFileReader>(fd, document_offset, path.string(), open_documents_);
  } else {
    --*open_documents_;
    std::string text(document_size, '\0');
    if (!read_exactly(fd, document_offset, text.data(), text.size())) return damaged("cut short");
    ::close(fd);
    reader = std::make_unique<InMemoryReader>(std::move(text));
  }
  return finish(manifest::Packument::open_indexed(index, std::move(reader), document_size,
                                                  name_for_errors));
}

util::Result<std::shared_ptr<const manifest::DocumentReader>> PackumentCache::store_packument(
    CacheEntryMeta meta, const manifest::Packument& packument) {
  // A packument open_indexed() left on disk has no document in memory to write.
  if (packument.compact_text().empty()) {
    return util::make_error("EINVAL", "no compact document to store for " + meta.key);
  }
  const std::string index = packument.index_bytes();
  meta.compact = true;
  meta.index_size = index.size();
  fs::path path = path_for(meta.key);
  const std::string header = render_header(meta);
  const size_t document_offset = header.size() + index.size();
  // Written from where the pieces are: joined first, the compact document (megabytes for the
  // biggest packuments) was copied into fresh memory, a page fault per 4 KiB.
  const std::string_view pieces[] = {header, index, packument.compact_text()};
  const int fd = LADE_TRY(util::write_file_atomic_and_open(path, pieces));
  set_mtime(path, now_());
  if (open_documents_->fetch_add(1) >= max_open_documents_) {
    --*open_documents_;
    ::close(fd);
    return std::shared_ptr<const manifest::DocumentReader>();
  }
  return std::shared_ptr<const manifest::DocumentReader>(
      std::make_shared<CacheFileReader>(fd, document_offset, path.string(), open_documents_));
}

util::Status PackumentCache::store(const CacheEntryMeta& meta, std::string_view body) {
  fs::path path = path_for(meta.key);
  std::string contents = render_header(meta);
  contents.append(body);
  LADE_TRY(util::write_file_atomic(path, contents));
  set_mtime(path, now_());
  return {};
}

util::Status PackumentCache::refresh(const CacheEntryMeta& updated) {
  auto current = lookup(updated.key);
  if (!current) return util::make_error("ENOENT", "no cache entry for " + updated.key);
  CacheEntryMeta merged = *current;
  if (!updated.etag.empty()) merged.etag = updated.etag;
  if (!updated.last_modified.empty()) merged.last_modified = updated.last_modified;
  merged.max_age = updated.max_age;
  merged.must_revalidate = updated.must_revalidate;
  bool same = merged.etag == current->etag && merged.last_modified == current->last_modified &&
              merged.max_age == current->max_age &&
              merged.must_revalidate == current->must_revalidate;
  fs::path path = path_for(updated.key);
  if (same) {
    set_mtime(path, now_());  // the stored time is the mtime: no need to rewrite a 10 MB body
    return {};
  }
  auto entry = load(updated.key);
  if (!entry) return util::make_error("ENOENT", "no cache entry for " + updated.key);
  return store(merged, entry->body);
}

void PackumentCache::remove(std::string_view key) {
  std::error_code ec;
  fs::remove(path_for(key), ec);
}

bool PackumentCache::is_fresh(const CacheEntryMeta& meta) const {
  if (!meta.max_age) return false;
  auto age = now_() - meta.stored_at;
  return age >= std::chrono::seconds(0) && age < *meta.max_age;
}

}  // namespace lade::registry
