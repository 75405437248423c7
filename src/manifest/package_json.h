#pragma once
// A project's package.json, edited the way `npm install <pkg>` / `npm uninstall <pkg>` edit it:
// key order kept, the file's indentation and line endings kept, dependency objects sorted, and
// the file rewritten (atomically) only when its content changed.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "manifest/manifest.h"
#include "manifest/semver_queries.h"
#include "util/result.h"

namespace lade::manifest {

/// npm's save types: --save-prod, --save-dev (-D), --save-optional (-O), --save-peer, and a
/// peer dependency marked optional in peerDependenciesMeta (only ever inferred: npm 11 refuses
/// --save-peer with --save-optional).
enum class DependencyKind { kProd, kDev, kOptional, kPeer, kPeerOptional };

/// "dependencies", "devDependencies", "optionalDependencies", "peerDependencies".
std::string_view dependency_field(DependencyKind kind);

/// How npm writes a JSON file back: the indent and newline it found when reading
/// (json-parse-even-better-errors): the white space after the first line break that follows the
/// opening brace, and that run of line breaks itself. A file with no line break after its "{"
/// is written compact, without a final newline.
struct JsonFormat {
  std::string indent = "  ";
  std::string newline = "\n";
};
JsonFormat detect_json_format(std::string_view text);

/// `JSON.stringify(doc, null, indent) + "\n"` with every "\n" replaced by the newline.
std::string format_json_like_npm(const Json& doc, const JsonFormat& format);

class PackageJson {
 public:
  /// Reads `<dir>/package.json`. Errors: ENOENT when missing, EJSONPARSE when broken.
  static util::Result<PackageJson> load(const std::filesystem::path& dir);
  /// As load(), but a missing file is an empty one (npm creates package.json on install).
  static util::Result<PackageJson> load_or_create(const std::filesystem::path& dir);
  /// From text already read; `file` is where save() writes.
  static util::Result<PackageJson> from_text(std::string_view text, std::filesystem::path file);

  const Json& content() const { return content_; }
  /// Direct edits; save() writes whatever is here.
  Json& mutable_content() { return content_; }
  const JsonFormat& format() const { return format_; }
  const std::filesystem::path& file() const { return file_; }

  /// `npm install <name>` saving `spec` (see save_spec_for) as `kind`; nullopt is npm's
  /// inference when no --save-* flag is given: the section it is already in (dev, optional,
  /// prod, peer, in that order), else prod. What npm does to the other sections:
  /// - prod removes it from devDependencies and peerDependencies;
  /// - dev removes it from dependencies (a peer/optional entry stays);
  /// - optional removes it from peerDependencies and dependencies;
  /// - peer removes it from dependencies and optionalDependencies, and updates a
  ///   devDependencies entry to the same spec;
  /// - inferred dev also rewrites peer/optional entries whose range does not intersect `spec`.
  /// Then every dependency object is sorted (localeCompare 'en'), names in optionalDependencies
  /// are dropped from dependencies, empty dependency objects are removed, and a name listed in
  /// both dependencies and peerDependencies of the original file takes the peer spec in both.
  /// `requested_spec` is what npm records before resolving: the user's spec ("*" for a bare
  /// name, the resolved version for a tag such as "@latest"); empty means `spec`. It only shows
  /// through one npm quirk: with --save-peer, an existing devDependencies entry receives it.
  /// `semver` answers intersects(); null means default_semver_queries().
  void set_dependency(std::optional<DependencyKind> kind, std::string_view name,
                      std::string_view spec, std::string_view requested_spec = {},
                      const SemverQueries* semver = nullptr);

  /// The spec `name` has now in the section set_dependency(kind, name, ...) would write, if any
  /// (npm keeps it when the user names the package without a spec).
  std::optional<std::string> saved_spec(std::optional<DependencyKind> kind,
                                        std::string_view name) const;

  /// --save-bundle: `name` joins bundleDependencies (kept sorted and unique, as npm keeps it).
  void add_to_bundle(std::string_view name);

  /// `npm uninstall <name>`: removed from every dependency object and from
  /// bundleDependencies, with the same clean-up as set_dependency.
  void remove_dependency(std::string_view name);

  /// The bytes npm would write for the current content.
  std::string serialize() const;
  /// Whether save() would write: npm compares the new text with the file's, ignoring white space
  /// at either end.
  bool changed() const;
  /// Writes the file atomically when changed(); returns whether it wrote.
  util::Result<bool> save();

 private:
  PackageJson() = default;
  /// The dependency sections, normalised as npm's tree sees them, then written back.
  struct Sections;
  Sections read_sections() const;
  void write_sections(Sections sections);
  /// The section an add of `name` goes to: `kind`, else where it is already (inferSaveType).
  DependencyKind save_kind(Sections& sections, std::optional<DependencyKind> kind,
                           std::string_view name) const;

  std::filesystem::path file_;
  std::string original_text_;  // as read (empty for a created file)
  Json original_;              // as parsed
  Json content_;
  JsonFormat format_;
};

}  // namespace lade::manifest
