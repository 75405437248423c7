#pragma once
// Test helper: extraction with lade's tar reader checked against libarchive's on the same bytes.
// lade reads the common formats itself and leaves the rest to libarchive; either way the files,
// modes, counts, warnings and errors must be the ones libarchive alone gives.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>

#include "store/extract.h"
#include "util/fs.h"

namespace lade::store::testing {

/// Every file and directory under `root`: relative path -> kind, permission bits and contents.
inline std::map<std::string, std::string> tree_of(const std::filesystem::path& root) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root, ec)) {
    struct stat st {};
    if (::lstat(e.path().c_str(), &st) != 0) continue;
    std::string what = (S_ISDIR(st.st_mode)   ? "dir "
                        : S_ISREG(st.st_mode) ? "file "
                                              : "other ") +
                       std::to_string(st.st_mode & 07777);
    if (S_ISREG(st.st_mode)) {
      auto bytes = util::read_file(e.path());
      what += " " + (bytes.ok() ? *bytes : "<unreadable>");
    }
    out[std::filesystem::relative(e.path(), root).string()] = what;
  }
  return out;
}

inline std::string describe(const util::Result<ExtractedTarball>& r) {
  if (!r.ok()) return "error " + r.error().code;
  std::string s = std::to_string(r->files) + " files, " + std::to_string(r->bytes) + " bytes, " +
                  std::to_string(r->skipped) + " skipped, package.json [" + r->package_json + "]";
  for (const auto& w : r->warnings) s += "\n  " + w;
  return s;
}

/// Extracts `tarball` into `dest` as extract_tarball() does and, into a scratch folder, with
/// libarchive alone; CHECKs that both agree. Returns the first result.
inline util::Result<ExtractedTarball> extract_checked(std::string_view tarball,
                                                      const std::filesystem::path& dest,
                                                      ExtractOptions options = {}) {
  auto result = extract_tarball(tarball, dest, options);
  auto scratch = util::TempDir::create({}, "lade-reader-check-").value();
  const std::filesystem::path reference_dir = scratch.path() / "pkg";
  std::filesystem::create_directories(reference_dir);
  options.force_libarchive = true;
  auto reference = extract_tarball(tarball, reference_dir, options);
  CHECK(describe(result) == describe(reference));
  if (result.ok() && reference.ok()) {
    CHECK(tree_of(dest) == tree_of(reference_dir));
  }
  return result;
}

}  // namespace lade::store::testing
