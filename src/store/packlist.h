#pragma once
// Which files of a package folder go into its tarball, as npm-packlist (over ignore-walk and
// minimatch) decides for `npm pack` and for git dependencies:
//  - package.json's "files" includes only what it lists (files, folders, globs), plus the
//    files npm always ships: package.json, README*, LICENSE*/LICENCE*, COPYING*, "main",
//    "browser" and the "bin" files;
//  - without "files", .npmignore (else .gitignore) rules exclude, in every folder;
//  - always left out: .git, .svn, .hg, CVS, .npmrc, node_modules, package-lock.json, yarn.lock,
//    pnpm-lock.yaml, bun.lockb, .DS_Store, ._*, *.orig, .*.swp, npm-debug.log, the ignore files
//    themselves, and anything that is not a regular file or folder (symlinks are not followed).
// Rules are gitignore-like minimatch patterns (dot files match, case-insensitive, patterns
// without '/' match the base name, a leading '!' re-includes), evaluated as ignore-walk does.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace lade::store {

/// The files of the package in `dir`, '/'-separated and relative to it, in npm's order (by
/// extension, then base name, then path). Errors: EJSONPARSE for package.json, errno codes.
util::Result<std::vector<std::string>> pack_list(const std::filesystem::path& dir);

/// minimatch(path, pattern) with the options ignore-walk uses (matchBase, dot, nocase; a
/// leading '!' is ignored here); `partial` also accepts a path that could be the beginning of a
/// match (for folders). Brace alternatives ("{a,b}") are expanded. Exposed for tests.
bool ignore_pattern_match(std::string_view pattern, std::string_view path, bool partial = false);

}  // namespace lade::store
