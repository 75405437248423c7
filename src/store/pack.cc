#include "store/pack.h"

#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include "manifest/manifest.h"
#include "store/archive_library.h"
#include "store/packlist.h"
#include "util/fs.h"

namespace lade::store {

namespace fs = std::filesystem;

namespace {

// npm pack's fixed mtime, so that zip tools are not confused by the epoch.
constexpr time_t kPackTime = 499162500;

la_ssize_t append_to_string(struct archive*, void* client, const void* buffer, size_t length) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

std::string normalize_bin_path(std::string p) {
  while (p.rfind("./", 0) == 0) p.erase(0, 2);
  return fs::path(p).lexically_normal().generic_string();
}

}  // namespace

util::Result<std::string> pack_files(const fs::path& dir, const std::vector<std::string>& files,
                                     const std::vector<std::string>& executables) {
  const ArchiveLibrary& lib = *LADE_TRY(ArchiveLibrary::load());
  std::string out;
  std::unique_ptr<struct archive, decltype(&::archive_write_free)> a(lib.write_new(),
                                                                     lib.write_free);
  auto fail = [&](const std::string& what) {
    const char* msg = lib.error_string(a.get());
    return util::make_error("EPACK", what + ": " + (msg ? msg : "libarchive error"));
  };
  if (lib.write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
      lib.write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
      lib.write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
      lib.write_open(a.get(), &out, nullptr, append_to_string, nullptr) != ARCHIVE_OK) {
    return fail("cannot start a tarball");
  }
  std::unique_ptr<struct archive_entry, decltype(&::archive_entry_free)> entry(lib.entry_new(),
                                                                               lib.entry_free);
  for (const std::string& rel : files) {
    const fs::path abs = dir / rel;
    struct stat st {};
    if (::stat(abs.c_str(), &st) != 0) continue;
    auto body = LADE_TRY(util::read_file(abs));
    unsigned mode = st.st_mode & 0777;
    if (std::find(executables.begin(), executables.end(), rel) != executables.end()) mode |= 0111;
    lib.entry_clear(entry.get());
    lib.entry_set_pathname(entry.get(), ("package/" + rel).c_str());
    lib.entry_set_filetype(entry.get(), AE_IFREG);
    lib.entry_set_perm(entry.get(), mode);
    lib.entry_set_size(entry.get(), static_cast<la_int64_t>(body.size()));
    lib.entry_set_mtime(entry.get(), kPackTime, 0);
    if (lib.write_header(a.get(), entry.get()) != ARCHIVE_OK) return fail("cannot pack " + rel);
    if (!body.empty() && lib.write_data(a.get(), body.data(), body.size()) < 0) {
      return fail("cannot pack " + rel);
    }
  }
  if (lib.write_close(a.get()) != ARCHIVE_OK) return fail("cannot finish the tarball");
  return out;
}

util::Result<std::string> pack_directory(const fs::path& dir) {
  std::vector<std::string> files = LADE_TRY(pack_list(dir));
  std::vector<std::string> bins;
  if (auto text = util::read_file(dir / "package.json")) {
    if (auto doc = manifest::parse_json(*text, (dir / "package.json").string())) {
      for (const auto& [_, path] : manifest::manifest_from_json(*doc).bin)
        bins.push_back(normalize_bin_path(path));
    }
  }
  return pack_files(dir, files, bins);
}

}  // namespace lade::store
