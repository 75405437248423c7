#include "store/archive_library.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace lade::store {

namespace {

// The SONAME of libarchive 3 (the ABI libarchive keeps stable); it is what linking with
// -larchive would have recorded.
constexpr const char* kSoname = "libarchive.so.13";

template <typename Fn>
bool bind(void* handle, const char* symbol, Fn& out, std::string& missing) {
  out = reinterpret_cast<Fn>(dlsym(handle, symbol));
  if (!out) missing += std::string(missing.empty() ? "" : ", ") + symbol;
  return out != nullptr;
}

util::Result<const ArchiveLibrary*> load_once() {
  void* handle = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    return util::make_error("ELIBARCHIVE",
                            std::string("cannot load ") + kSoname + " (" +
                                (why ? why : "unknown reason") +
                                "); install libarchive (Debian: apt-get install libarchive13)");
  }
  static ArchiveLibrary archive;  // lives as long as the loaded library
  std::string missing;
  bind(handle, "archive_read_new", archive.read_new, missing);
  bind(handle, "archive_read_free", archive.read_free, missing);
  bind(handle, "archive_read_support_filter_gzip", archive.read_support_filter_gzip, missing);
  bind(handle, "archive_read_support_format_tar", archive.read_support_format_tar, missing);
  bind(handle, "archive_read_open_memory", archive.read_open_memory, missing);
  bind(handle, "archive_read_next_header", archive.read_next_header, missing);
  bind(handle, "archive_read_data_block", archive.read_data_block, missing);
  bind(handle, "archive_write_new", archive.write_new, missing);
  bind(handle, "archive_write_free", archive.write_free, missing);
  bind(handle, "archive_write_add_filter_gzip", archive.write_add_filter_gzip, missing);
  bind(handle, "archive_write_set_format_pax_restricted", archive.write_set_format_pax_restricted,
       missing);
  bind(handle, "archive_write_set_bytes_in_last_block", archive.write_set_bytes_in_last_block,
       missing);
  bind(handle, "archive_write_open", archive.write_open, missing);
  bind(handle, "archive_write_header", archive.write_header, missing);
  bind(handle, "archive_write_data", archive.write_data, missing);
  bind(handle, "archive_write_close", archive.write_close, missing);
  bind(handle, "archive_error_string", archive.error_string, missing);
  bind(handle, "archive_entry_new", archive.entry_new, missing);
  bind(handle, "archive_entry_free", archive.entry_free, missing);
  bind(handle, "archive_entry_clear", archive.entry_clear, missing);
  bind(handle, "archive_entry_filetype", archive.entry_filetype, missing);
  bind(handle, "archive_entry_hardlink", archive.entry_hardlink, missing);
  bind(handle, "archive_entry_pathname", archive.entry_pathname, missing);
  bind(handle, "archive_entry_pathname_utf8", archive.entry_pathname_utf8, missing);
  bind(handle, "archive_entry_perm", archive.entry_perm, missing);
  bind(handle, "archive_entry_size", archive.entry_size, missing);
  bind(handle, "archive_entry_size_is_set", archive.entry_size_is_set, missing);
  bind(handle, "archive_entry_set_pathname", archive.entry_set_pathname, missing);
  bind(handle, "archive_entry_set_filetype", archive.entry_set_filetype, missing);
  bind(handle, "archive_entry_set_perm", archive.entry_set_perm, missing);
  bind(handle, "archive_entry_set_size", archive.entry_set_size, missing);
  bind(handle, "archive_entry_set_mtime", archive.entry_set_mtime, missing);
  if (!missing.empty()) {
    return util::make_error("ELIBARCHIVE", std::string(kSoname) + " lacks " + missing +
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
