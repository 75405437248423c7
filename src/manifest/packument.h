#pragma once
// Packument: a registry's document for one package name ("full" or abbreviated
// "application/vnd.npm.install-v1+json"). Registries may send 10 MB of JSON for one name, most of
// it text lade never reads (readmes, descriptions, contributors, ...). Parsing therefore keeps
// a compact document: per version, only the fields a Manifest is built from, each copied
// verbatim. Version picking reads a small index; a version's full Manifest is parsed on demand.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "manifest/manifest.h"
#include "util/result.h"

namespace lade::manifest {

/// PackumentVersion::engines_node for an engines.node that is truthy but not a string (8, true,
/// [">=4"], {}): npm cannot read it as a range, so no node version satisfies it.
inline constexpr std::string_view kUnsatisfiableEngine = "<0.0.0-0";

/// What npm-pick-manifest needs to know about one version without parsing all of it.
/// Its texts live in the Packument (one buffer for all versions: tens of thousands of
/// versions are read in one install, and two strings each were a fifth of the memory a
/// warm-cache resolution holds).
struct PackumentVersion {
  std::string_view version;       // the key in "versions"
  std::string_view engines_node;  // engines.node when it is a string; kUnsatisfiableEngine when
                                  // it is another truthy value; else empty
  // This version's object in the compact document (Packument::version_json reads it).
  uint32_t json_offset = 0;
  uint32_t json_length = 0;
  /// When it was published ("time" in the packument), in milliseconds since the epoch; 0 when
  /// the packument does not say (npm's `before` then lets the version through).
  int64_t published_ms = 0;
  bool deprecated = false;  // "deprecated" is truthy as JavaScript sees it (a non-empty string,
                            // true, a non-zero number, an object or an array)
};

/// Reads byte ranges of a compact document that stays outside memory (an open cache file). The
/// bytes must never change while the reader lives: the cache replaces files, never rewrites
/// them, and an open descriptor keeps the replaced file's bytes.
class DocumentReader {
 public:
  virtual ~DocumentReader() = default;
  virtual util::Result<std::string> read(uint64_t offset, size_t length) const = 0;
};

class Packument {
 public:
  /// Spare capacity parse() wants after the text (simdjson's padding); a caller that reads a
  /// text with this much room to spare saves parse() a copy of it.
  static constexpr size_t kTextPadding = 64;

  /// Parses a packument document, taking ownership of the text.
  ///
  /// Only "name", "dist-tags", the versions' publication times ("time") and, per version, the
  /// key, "deprecated" and "engines.node" are indexed (simdjson on-demand). Of each version's
  /// object only the fields manifest_from_json reads are kept, their JSON copied byte for
  /// byte, so manifest() gives the Manifest the full
  /// object would give, with one exception nothing reads for a registry package: of "scripts"
  /// only preinstall, install and postinstall are kept (they decide has_install_script; the
  /// scripts that run are read from the unpacked package.json). Inside "dist" only tarball,
  /// integrity and shasum are kept. devDependencies stay: a `$name` override falls back to the
  /// dependent's own declarations, devDependencies first, as npm does. Everything else (readme,
  /// maintainers, description, ...) is dropped.
  ///
  /// A compact text is itself such a document: parsing it again yields the same packument.
  /// Errors: EJSONPARSE (naming `name_for_errors`).
  static util::Result<std::shared_ptr<const Packument>> parse(std::string text,
                                                              std::string_view name_for_errors);

  /// Opens a packument from its binary index (index_bytes() of an earlier parse) while the
  /// compact document it describes stays where `document` reads it: only the versions the
  /// resolver picks are ever read. A warm cache thus costs neither reading nor holding every
  /// version of every packument. Errors: EJSONPARSE when the index is malformed or does not fit
  /// `document_size` bytes.
  static util::Result<std::shared_ptr<const Packument>> open_indexed(
      std::string_view index, std::unique_ptr<const DocumentReader> document,
      uint64_t document_size, std::string_view name_for_errors);

  const std::string& name() const { return name_; }
  /// dist-tags in document order: tag -> version.
  const std::vector<std::pair<std::string, std::string>>& dist_tags() const { return dist_tags_; }
  /// Versions in document order.
  const std::vector<PackumentVersion>& versions() const { return versions_; }
  const PackumentVersion* find(std::string_view version) const;
  /// The manifest of one listed version (see parse() for what a compact one lacks). Error
  /// ENOVERSION when absent. Each version is parsed once: the prefetcher reads a version's
  /// dependencies on a metadata thread, and the resolver usually places that same version
  /// later; the second call is a copy. Thread-safe.
  util::Result<Manifest> manifest(std::string_view version) const;
  /// The same without the copy: the one parse every caller shares.
  util::Result<std::shared_ptr<const Manifest>> shared_manifest(std::string_view version) const;

  /// One version's object as JSON text, from memory or read from the document on disk.
  /// Thread-safe, also against adopt_document.
  util::Result<std::string> version_json(const PackumentVersion& version) const;

  /// The compact document, a JSON object {"versions": {...}, "name": ..., "dist-tags": {...}},
  /// a document parse() reads to the same packument. Empty for a packument open_indexed() left
  /// on disk, and after adopt_document (a view taken before is then invalid: only the one who
  /// writes the document out reads it, before handing over the reader).
  std::string_view compact_text() const { return text_; }
  /// Frees the compact document in memory: versions are read through `document` from now on,
  /// which must read the very same bytes (the cache file just written from compact_text()).
  /// A freshly downloaded packument thus stops holding its document once it is cached.
  void adopt_document(std::shared_ptr<const DocumentReader> document) const;
  /// The binary index of the compact document: name, dist-tags and, per version, the fields
  /// PackumentVersion holds. The disk cache stores it in front of compact_text() for
  /// open_indexed(). Not portable across byte orders (a cache is local to one machine).
  std::string index_bytes() const;
  /// Size in bytes of the text parse() was given (for statistics).
  size_t size_bytes() const { return source_bytes_; }
  /// Size in bytes of the compact document this packument keeps in memory.
  size_t compact_size_bytes() const { return text_.size(); }

 private:
  // The keys of by_version_ point into versions_, which is never moved or resized after
  // parse(): a Packument only lives behind the shared_ptr parse() returns.
  Packument() = default;
  Packument(const Packument&) = delete;
  Packument& operator=(const Packument&) = delete;
  /// Indexes `text` (padded for simdjson), writing the compact document to `compact`;
  /// versions' spans are offsets into it.
  Status index_document(std::string_view text, size_t capacity, std::string& compact,
                        std::string_view name_for_errors);
  /// index_document for texts above kWholeDocumentLimit: the members are found with a plain
  /// scan and only the pieces that are read go through simdjson, one at a time. simdjson
  /// indexes a whole document at once and needs about five bytes per byte of it: 53 MB for a
  /// 10 MB packument (typescript's), the largest allocation of a clean install.
  Status index_large_document(std::string_view text, size_t capacity, std::string& compact,
                              std::string_view name_for_errors);
  /// Closes a compact document: the versions object, then name and dist-tags.
  void finish_compact(std::string& compact) const;
  static constexpr size_t kWholeDocumentLimit = size_t{1} << 20;
  /// Appends a version while the packument is built; index_versions() ends the building.
  void add_version(std::string_view version, bool deprecated, std::string_view engines_node,
                   uint32_t json_offset, uint32_t json_length);
  void index_versions();
  /// A publication time met while parsing "time"; index_versions() hands the times to the
  /// versions. The compact document keeps them as numbers.
  void add_time(std::string version, int64_t published_ms);

  // The compact document in memory, or, once document_ is set, nothing: versions are read
  // through document_. Both guarded by document_mutex_ (adopt_document changes them).
  mutable std::string text_;
  mutable std::shared_ptr<const DocumentReader> document_;
  mutable std::mutex document_mutex_;
  size_t source_bytes_ = 0;
  std::string name_;
  std::vector<std::pair<std::string, std::string>> dist_tags_;
  std::vector<PackumentVersion> versions_;
  // The versions' texts, and while building, where each version's two texts start in it
  // (the buffer still grows then; index_versions() points the views into it).
  std::string version_texts_;
  std::vector<uint32_t> text_offsets_;
  // Indexes into versions_ ordered by version key (equal keys in document order, so that
  // find() gives the first): find() searches it.
  std::vector<uint32_t> by_version_;
  std::vector<std::pair<std::string, int64_t>> pending_times_;
  mutable std::mutex manifests_mutex_;
  mutable std::unordered_map<size_t, std::shared_ptr<const Manifest>> manifests_;  // by index
};

}  // namespace lade::manifest
