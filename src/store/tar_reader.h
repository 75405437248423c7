#pragma once
// A tar reader for the archives npm packages are made of, working on the whole (already
// decompressed) archive in memory. It reads exactly what libarchive 3.6 reads for the formats it
// understands -- ustar, pax ('x' extended headers with path, linkpath and size; 'g' global
// headers, which libarchive ignores), GNU tar ('L'/'K' long names) and pre-POSIX tar -- and
// declines everything else: a damaged or truncated archive, sparse files, unusual entry types,
// non-ASCII names, pax records libarchive would warn about. A declined archive goes to
// libarchive, so the result of an extraction never depends on which reader ran.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lade::store {

struct TarEntry {
  /// The entry's name as libarchive reports it: ustar prefix + name, or the pax "path" or GNU
  /// long name that overrides it.
  std::string path;
  /// A regular file (the only kind npm writes); false for directories, links, devices and fifos.
  bool regular = false;
  uint32_t mode = 0;      ///< the header's mode field
  std::string_view data;  ///< regular files: the contents, a view into the archive
};

/// Every entry of the plain tar archive `tar`, in order, or nullopt when the archive needs
/// libarchive (see above). The entries' data point into `tar`.
std::optional<std::vector<TarEntry>> read_tar(std::string_view tar);

}  // namespace lade::store
