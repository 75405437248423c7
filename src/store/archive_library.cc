#include "store/archive_library.h"


#include <mutex>
#include <string>

#include "util/dynamic_library.h"

namespace lade::store {

namespace {

// The SONAME of libarchive 3 (the ABI libarchive keeps stable); it is what linking with
// -larchive would have recorded.
constexpr const char* kSoname = "libarchive.so.13";

util::Result<const ArchiveLibrary*> load_once() {
  auto library = LADE_TRY(
      util::DynamicLibrary::open(kSoname, "ELIBARCHIVE", "; install libarchive (Debian: apt-get install libarchive13)"));
  static ArchiveLibrary archive;  // lives as long as the loaded library
  library.bind("archive_read_new", archive.read_new);
  library.bind("archive_read_free", archive.read_free);
  library.bind("archive_read_support_filter_gzip", archive.read_support_filter_gzip);
  library.bind("archive_read_support_format_tar", archive.read_support_format_tar);
  library.bind("archive_read_open_memory", archive.read_open_memory);
  library.bind("archive_read_next_header", archive.read_next_header);
  library.bind("archive_read_data_block", archive.read_data_block);
  library.bind("archive_write_new", archive.write_new);
  library.bind("archive_write_free", archive.write_free);
  library.bind("archive_write_add_filter_gzip", archive.write_add_filter_gzip);
  library.bind("archive_write_set_format_pax_restricted", archive.write_set_format_pax_restricted);
  library.bind("archive_write_set_bytes_in_last_block", archive.write_set_bytes_in_last_block);
  library.bind("archive_write_open", archive.write_open);
  library.bind("archive_write_header", archive.write_header);
  library.bind("archive_write_data", archive.write_data);
  library.bind("archive_write_close", archive.write_close);
  library.bind("archive_error_string", archive.error_string);
  library.bind("archive_entry_new", archive.entry_new);
  library.bind("archive_entry_free", archive.entry_free);
  library.bind("archive_entry_clear", archive.entry_clear);
  library.bind("archive_entry_filetype", archive.entry_filetype);
  library.bind("archive_entry_hardlink", archive.entry_hardlink);
  library.bind("archive_entry_pathname", archive.entry_pathname);
  library.bind("archive_entry_pathname_utf8", archive.entry_pathname_utf8);
  library.bind("archive_entry_perm", archive.entry_perm);
  library.bind("archive_entry_size", archive.entry_size);
  library.bind("archive_entry_size_is_set", archive.entry_size_is_set);
  library.bind("archive_entry_set_pathname", archive.entry_set_pathname);
  library.bind("archive_entry_set_filetype", archive.entry_set_filetype);
  library.bind("archive_entry_set_perm", archive.entry_set_perm);
  library.bind("archive_entry_set_size", archive.entry_set_size);
  library.bind("archive_entry_set_mtime", archive.entry_set_mtime);
  if (!library.missing().empty()) {
    return util::make_error("ELIBARCHIVE", std::string(kSoname) + " lacks " + library.missing() +
                                               "; lade needs libarchive 3.2 or later");
  }
  return static_cast<const ArchiveLibrary*>(&archive);
}

}  // namespace

util::Result<const ArchiveLibrary*> ArchiveLibrary::load() {
  static std::once_flag once;
  static util::Result<const ArchiveLibrary*> loaded = util::make_error("ELIBARCHIVE", "not loaded");
  std::call_once(once, [] { loaded = load_once(); });
  return loaded;
}

}  // namespace lade::store
