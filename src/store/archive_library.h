#pragma once
// libarchive, loaded when lade first needs it instead of when the program starts.
//
// lade reads almost every tarball with its own reader (store/tar_reader.h); libarchive only
// reads the rare ones that reader leaves to it and writes the tarballs of packed folders. Linking
// it would make every run load it and the 11 libraries behind it (lzma, zstd, bz2, lz4, zlib,
// nettle, acl, xml2, ICU): measured on Debian 12, `lade --version` took 3.1 ms and 8.0 MB peak
// RSS linked, 2.4 ms and 6.4 MB without. So the extractor's fallback and the packer load it
// through dlopen() when they start. The function pointers keep the exact types of archive.h's
// prototypes, so calls are type-checked as if libarchive were linked.
#include <archive.h>
#include <archive_entry.h>

#include "util/result.h"

namespace lade::store {

struct ArchiveLibrary {
  // Reading (store/extract.cc).
  decltype(&::archive_read_new) read_new;
  decltype(&::archive_read_free) read_free;
  decltype(&::archive_read_support_filter_gzip) read_support_filter_gzip;
  decltype(&::archive_read_support_format_tar) read_support_format_tar;
  decltype(&::archive_read_open_memory) read_open_memory;
  decltype(&::archive_read_next_header) read_next_header;
  decltype(&::archive_read_data_block) read_data_block;
  // Writing (store/pack.cc).
  decltype(&::archive_write_new) write_new;
  decltype(&::archive_write_free) write_free;
  decltype(&::archive_write_add_filter_gzip) write_add_filter_gzip;
  decltype(&::archive_write_set_format_pax_restricted) write_set_format_pax_restricted;
  decltype(&::archive_write_set_bytes_in_last_block) write_set_bytes_in_last_block;
  decltype(&::archive_write_open) write_open;
  decltype(&::archive_write_header) write_header;
  decltype(&::archive_write_data) write_data;
  decltype(&::archive_write_close) write_close;
  // Both.
  decltype(&::archive_error_string) error_string;
  // Entries.
  decltype(&::archive_entry_new) entry_new;
  decltype(&::archive_entry_free) entry_free;
  decltype(&::archive_entry_clear) entry_clear;
  decltype(&::archive_entry_filetype) entry_filetype;
  decltype(&::archive_entry_hardlink) entry_hardlink;
  decltype(&::archive_entry_pathname) entry_pathname;
  decltype(&::archive_entry_pathname_utf8) entry_pathname_utf8;
  decltype(&::archive_entry_perm) entry_perm;
  decltype(&::archive_entry_size) entry_size;
  decltype(&::archive_entry_size_is_set) entry_size_is_set;
  decltype(&::archive_entry_set_pathname) entry_set_pathname;
  decltype(&::archive_entry_set_filetype) entry_set_filetype;
  decltype(&::archive_entry_set_perm) entry_set_perm;
  decltype(&::archive_entry_set_size) entry_set_size;
  decltype(&::archive_entry_set_mtime) entry_set_mtime;

  /// Loads libarchive once per process (thread-safe); later calls return the same table, or the
  /// same error. The library stays loaded until exit. Error ELIBARCHIVE, saying what to install,
  /// when the shared library or one of its functions cannot be found.
  static util::Result<const ArchiveLibrary*> load();
};

}  // namespace lade::store
