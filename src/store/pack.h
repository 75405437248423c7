#pragma once
// Packing a package folder into a tarball, as `npm pack` (pacote's DirFetcher) does for git
// dependencies: the files pack_list() picks, under "package/", gzip'd, every entry stamped with
// npm's fixed date (1985-10-26T08:15:00Z), the files package.json lists as "bin" made
// executable. The bytes then go through the store like any downloaded tarball.
#include <filesystem>
#include <string>
#include <vector>

#include "util/result.h"

namespace lade::store {

/// A gzip'd tar of `files` ('/'-separated, relative to `dir`). Entries named in `executables`
/// get the x bits. Errors: errno codes for unreadable files, EPACK when libarchive fails,
/// ELIBARCHIVE when it cannot be loaded (store/archive_library.h).
util::Result<std::string> pack_files(const std::filesystem::path& dir,
                                     const std::vector<std::string>& files,
                                     const std::vector<std::string>& executables = {});

/// pack_list() and pack_files() of the package in `dir`, bins taken from its package.json.
util::Result<std::string> pack_directory(const std::filesystem::path& dir);

}  // namespace lade::store
