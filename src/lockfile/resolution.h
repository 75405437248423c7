#pragma once
// How lockfile entries spell where a package came from, and the few npm-package-arg questions
// the lockfile asks (through manifest/spec.h): is an edge a registry dependency, what is the
// canonical form of a `resolved` value, what folder name does a location end in.
#include <string>
#include <string_view>

namespace lade::lockfile {

/// npa(spec).registry: versions, ranges, tags and npm: aliases. False for file:, git, URLs and
/// for specs npa rejects.
bool is_registry_spec(std::string_view spec);

/// arborist's consistentResolve for a `resolved` value, paths relative to the project root:
/// file: paths lexically normalised ("file:./a/../b.tgz" -> "file:b.tgz"), repositories on the
/// known git hosts in npm's canonical form ("github:u/r#c" -> "git+ssh://git@github.com/u/r.git#c";
/// https when the URL carries credentials), anything else unchanged.
std::string consistent_resolved(std::string_view resolved);

/// For a file: spec or resolved value: the path without "file:" (and without the "//" of a
/// file:/// URL).
std::string_view file_spec_path(std::string_view spec);

/// Lexically normalises a relative path written with '/' ("./a/../b" -> "b", "." -> ""); a
/// leading "../" that cannot be resolved is kept. Absolute paths keep their leading '/'.
std::string normalize_relative_path(std::string_view path);

/// @npmcli/name-from-folder: the last path segment, or "@scope/name" when the segment before
/// it starts with '@'.
std::string name_from_folder(std::string_view path);

}  // namespace lade::lockfile
