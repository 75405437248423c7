#pragma once
// Test helper: real .tgz (or plain tar) tarballs built in memory with libarchive's write API,
// including entries a well-behaved packer would never write.
#include <archive.h>
#include <archive_entry.h>
#include <libdeflate.h>
#include <sys/stat.h>

#include <algorithm>
#include <clocale>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "util/hash.h"

namespace lade::store::testing {

struct TarEntry {
  enum Kind { File, Dir, Symlink, Hardlink, CharDevice, Fifo };
  std::string path;
  std::string contents;
  unsigned mode = 0644;
  Kind kind = File;
  std::string link_target;  ///< for Symlink / Hardlink
};

inline TarEntry file(std::string path, std::string contents, unsigned mode = 0644) {
  return TarEntry{std::move(path), std::move(contents), mode, TarEntry::File, {}};
}

enum class Compression { Gzip, None };

/// The tar dialect libarchive writes: pax (extended headers for long names, as npm's node-tar),
/// GNU ('L'/'K' long name entries) or plain ustar (long names split into prefix and name).
enum class Format { Pax, Gnu, Ustar };

/// A tarball of `entries`, in order, gzip'd unless asked otherwise.
inline std::string make_tarball(const std::vector<TarEntry>& entries,
                                Compression compression = Compression::Gzip,
                                Format format = Format::Pax) {
  // libarchive's pax writer converts names from the locale's charset to UTF-8 (as node-tar
  // writes them); under the "C" locale non-ASCII names would fail.
  struct LocaleGuard {
    std::string saved = std::setlocale(LC_CTYPE, nullptr);
    LocaleGuard() { std::setlocale(LC_CTYPE, "C.UTF-8"); }
    ~LocaleGuard() { std::setlocale(LC_CTYPE, saved.c_str()); }
  } locale_guard;
  std::string out;
  struct archive* a = archive_write_new();
  switch (format) {
    case Format::Pax:
      archive_write_set_format_pax_restricted(a);
      break;
    case Format::Gnu:
      archive_write_set_format_gnutar(a);
      break;
    case Format::Ustar:
      archive_write_set_format_ustar(a);
      break;
  }
  if (compression == Compression::Gzip) archive_write_add_filter_gzip(a);
  archive_write_set_bytes_in_last_block(a, 1);
  auto writer = [](struct archive*, void* client, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  if (archive_write_open(a, &out, nullptr, writer, nullptr) != ARCHIVE_OK) {
    throw std::runtime_error(archive_error_string(a));
  }
  for (const auto& e : entries) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_perm(entry, e.mode);
    archive_entry_set_mtime(entry, 499162500, 0);  // npm pack's fixed date: 1985-10-26
    switch (e.kind) {
      case TarEntry::File:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.contents.size()));
        break;
      case TarEntry::Dir:
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
      case TarEntry::Symlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, e.link_target.c_str());
        break;
      case TarEntry::Hardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, e.link_target.c_str());
        break;
      case TarEntry::CharDevice:
        archive_entry_set_filetype(entry, AE_IFCHR);
        archive_entry_set_rdevmajor(entry, 1);
        archive_entry_set_rdevminor(entry, 3);
        break;
      case TarEntry::Fifo:
        archive_entry_set_filetype(entry, AE_IFIFO);
        break;
    }
    if (archive_write_header(a, entry) != ARCHIVE_OK) {
      throw std::runtime_error(archive_error_string(a));
    }
    if (e.kind == TarEntry::File && !e.contents.empty()) {
      archive_write_data(a, e.contents.data(), e.contents.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

/// One raw 512-byte tar header, for what no writer library produces on request: pre-POSIX
/// headers, hand-made special entries ('g', 'x', 'L', 'K'), odd sizes and types.
struct RawHeader {
  enum Magic { Ustar, Gnu, OldStyle };
  std::string name;
  char type = '0';
  unsigned mode = 0644;
  uint64_t size = 0;
  std::string linkname;
  std::string prefix;  ///< ustar only
  Magic magic = Ustar;
};

inline std::string raw_header(const RawHeader& h) {
  std::string b(512, '\0');
  auto put = [&](size_t offset, size_t length, std::string_view value) {
    std::memcpy(&b[offset], value.data(), std::min(length, value.size()));
  };
  auto octal = [&](size_t offset, size_t length, uint64_t value) {
    char digits[32];
    std::snprintf(digits, sizeof digits, "%0*llo", static_cast<int>(length - 1),
                  static_cast<unsigned long long>(value));
    put(offset, length - 1, digits);
  };
  put(0, 100, h.name);
  octal(100, 8, h.mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, h.size);
  octal(136, 12, 499162500);
  b[156] = h.type;
  put(157, 100, h.linkname);
  if (h.magic == RawHeader::Ustar) {
    put(257, 6, std::string_view("ustar\0", 6));
    put(263, 2, "00");
    put(345, 155, h.prefix);
  } else if (h.magic == RawHeader::Gnu) {
    put(257, 8, std::string_view("ustar  \0", 8));
  }
  std::memset(&b[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : b) sum += c;
  char checksum[8];
  std::snprintf(checksum, sizeof checksum, "%06o", sum);
  std::memcpy(&b[148], checksum, 7);  // six digits, NUL, and the space already there
  return b;
}

/// A header for `data` (its size field set to the data's) followed by the padded data.
inline std::string raw_entry(RawHeader h, std::string_view data) {
  h.size = data.size();
  std::string out = raw_header(h);
  out.append(data);
  out.append((512 - data.size() % 512) % 512, '\0');
  return out;
}

/// A pax extended header record: "<length> <key>=<value>\n", the length counting itself.
inline std::string pax_record(std::string_view key, std::string_view value) {
  const size_t rest = key.size() + value.size() + 3;
  size_t length = rest + std::to_string(rest).size();
  if (std::to_string(length).size() != std::to_string(rest).size()) {
    length = rest + std::to_string(length).size();
  }
  return std::to_string(length) + " " + std::string(key) + "=" + std::string(value) + "\n";
}

inline std::string end_of_archive() { return std::string(1024, '\0'); }

/// One gzip member holding `data`.
inline std::string gzip(std::string_view data) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(6);
  std::string out(libdeflate_gzip_compress_bound(c, data.size()), '\0');
  out.resize(libdeflate_gzip_compress(c, data.data(), data.size(), out.data(), out.size()));
  libdeflate_free_compressor(c);
  return out;
}

inline std::string sri_of(util::HashAlgorithm algorithm, std::string_view bytes) {
  const char* name = algorithm == util::HashAlgorithm::Sha1     ? "sha1"
                     : algorithm == util::HashAlgorithm::Sha256 ? "sha256"
                     : algorithm == util::HashAlgorithm::Sha384 ? "sha384"
                                                                : "sha512";
  return std::string(name) + "-" + util::base64_encode(util::digest(algorithm, bytes));
}

inline std::string sha512_sri(std::string_view bytes) {
  return sri_of(util::HashAlgorithm::Sha512, bytes);
}

inline std::string sha1_hex(std::string_view bytes) {
  return util::hex_encode(util::digest(util::HashAlgorithm::Sha1, bytes));
}

/// The process umask, read once at the start of a test (tests are single-threaded there).
inline mode_t current_umask() {
  mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

inline unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0xffffffff;
  return st.st_mode & 07777;
}

}  // namespace lade::store::testing
