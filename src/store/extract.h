#pragma once
// Unpacking a package tarball the way npm does (pacote's filter over node-tar's Unpack):
//  - gzip'd or plain tar; the first path component is dropped whatever its name ("package/"),
//    entries with nothing left after it are dropped;
//  - a leading "/" (or "\" or "C:") is stripped from what remains, with a warning;
//  - entries with a ".." component (also when split at "\") are skipped with a warning;
//  - only regular files are written: directories come only from file paths (so empty
//    directories are not created), symlinks, hard links, devices and fifos are skipped silently;
//  - file mode = (mode in the tarball | 0666) & 0777, directories 0777, both then narrowed by
//    the process umask (0644 / 0755 / 0744 ... under umask 022); files that package.json's
//    "bin" names also get the x bits the umask allows. Unlike npm, setuid/setgid/sticky bits
//    are never kept;
//  - ".gitignore" is renamed ".npmignore" unless a ".npmignore" came earlier in that folder;
//  - a later entry for the same path overwrites the earlier file's contents (the first entry's
//    mode stays, as in node-tar); a file cannot replace a non-empty directory, nor sit under a
//    path that is a file: such entries are skipped with a warning, as npm does.
// Nothing outside `dest` is ever written: no links are created and paths are checked.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "store/gunzip.h"
#include "util/result.h"

namespace lade::store {

namespace fs = std::filesystem;

/// Decompressed bytes one extraction may hold in memory when no shared budget is given.
inline constexpr uint64_t kDefaultInflateInMemory = uint64_t{32} << 20;

struct ExtractOptions {
  /// pacote renames .gitignore to .npmignore for registry and file tarballs (not git ones).
  bool rename_gitignore = true;
  /// Bounds the decompressed archives held in memory across concurrent extractions (a gzip'd
  /// tarball is inflated whole, then its files are written straight from that buffer). A
  /// tarball that does not fit streams through libarchive instead. nullptr: each call on its
  /// own may hold up to kDefaultInflateInMemory. Must outlive the calls that use it.
  InflateBudget* inflate_budget = nullptr;
  /// Reads every archive with libarchive (tests and benchmarks compare the two readers).
  bool force_libarchive = false;
};

struct ExtractedTarball {
  size_t files = 0;          ///< regular files written (duplicates counted once per entry)
  uint64_t bytes = 0;        ///< bytes of file contents written
  size_t skipped = 0;        ///< entries not written (links, devices, unsafe or clashing paths)
  std::string package_json;  ///< contents of the top-level package.json; empty if none
  /// npm-style warnings, e.g. "TAR_ENTRY_ERROR path contains '..': package/../x".
  std::vector<std::string> warnings;
  /// Which reader ran: lade's own, or libarchive for what lade's does not handle (for tests and
  /// benchmarks; the result is the same either way).
  bool read_by_libarchive = false;
};

/// Extracts `tarball` (gzip'd or plain tar bytes) into `dest`, an existing empty directory,
/// following the rules above. Few syscalls per file: mkdir once per directory, then
/// open/write/close; no fsync. Errors: TAR_BAD_ARCHIVE for bytes that are not a readable tar
/// (corrupt, truncated), errno codes (ENOSPC, EACCES, ...) when the disk refuses, ELIBARCHIVE
/// when the tarball needs libarchive and it cannot be loaded (store/archive_library.h).
///
/// The common case -- one gzip member small enough for the budget, a tar in the formats npm
/// writes -- is inflated in one piece and read by lade's own tar reader; anything else goes
/// through libarchive. Both give the same files, counts and warnings.
util::Result<ExtractedTarball> extract_tarball(std::string_view tarball, const fs::path& dest,
                                               const ExtractOptions& options = {});

/// The same, taking the compressed bytes over: they are freed as soon as they are decompressed,
/// so that the files are written with only the decompressed copy in memory.
util::Result<ExtractedTarball> extract_tarball(std::string&& tarball, const fs::path& dest,
                                               const ExtractOptions& options = {});

/// Where an entry named `raw_path` in the tarball lands, relative to the package root, or ""
/// when npm would not write it (then `*warning` may say why). Exposed for tests.
std::string package_relative_path(std::string_view raw_path, std::string* warning);

}  // namespace lade::store
