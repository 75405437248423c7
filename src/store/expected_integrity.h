#pragma once
// The little of Subresource Integrity that the store needs: which digest a tarball must have.
// Parsing follows ssri (npm's SRI library) in its lenient mode; the full SRI type for lockfiles
// lives in manifest/, this one keeps the store free of that dependency.
#include <string>
#include <string_view>
#include <vector>

#include "util/hash.h"
#include "util/result.h"

namespace lade::store {

/// What a tarball must hash to, reduced to the one algorithm that is checked: like ssri, the
/// strongest algorithm present (sha512 > sha384 > sha256 > sha1). Matching any one of the
/// digests listed for that algorithm is enough.
struct ExpectedIntegrity {
  /// True when nothing was expected: the tarball is accepted and keyed by its own sha512.
  bool empty() const { return digests.empty(); }

  util::HashAlgorithm algorithm = util::HashAlgorithm::Sha512;
  std::string algorithm_name = "sha512";
  /// Base64 digests of `algorithm`, as written (compared as text, like ssri does).
  std::vector<std::string> digests;
  /// Every `algo-digest` of `algorithm` joined by ",", as ssri prints "wanted ..." in errors.
  std::string wanted_text;
  /// The whole expected integrity as ssri prints it (all algorithms, grouped, space-separated).
  std::string sri_text;
};

/// Reads the integrity a tarball is expected to have. `sri` is an SRI string
/// ("sha512-... sha1-..."; tokens ssri would drop are ignored); `hex_shasum` is the registry's
/// hex sha1, used only when `sri` names no hash. Both empty: nothing expected.
/// Error EINTEGRITY when the only hashes named use algorithms lade cannot compute, or the
/// shasum is not hex.
util::Result<ExpectedIntegrity> parse_expected_integrity(std::string_view sri,
                                                         std::string_view hex_shasum);

}  // namespace lade::store
