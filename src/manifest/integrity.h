#pragma once
// Subresource Integrity values ("sha512-<base64> sha1-<base64>") with npm's ssri semantics:
// several hashes per value, "?opt" suffixes kept, the strongest algorithm used to verify.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/hash.h"
#include "util/result.h"

namespace lade::manifest {

/// One "<algorithm>-<digest>[?opt...]" entry.
struct IntegrityHash {
  std::string algorithm;             // "sha512"
  std::string digest;                // base64, as written
  std::vector<std::string> options;  // "?a?b" -> {"a", "b"}

  std::string to_string() const;
  /// The digest in hex (empty when it is not valid base64).
  std::string hex_digest() const;
};

class Integrity {
 public:
  Integrity() = default;

  /// ssri.parse: entries separated by white space; entries that do not look like
  /// "<alg>-<digest>" or name an unknown algorithm are dropped. Never fails; the result may be
  /// empty.
  static Integrity parse(std::string_view text);
  /// ssri.fromHex: a hex digest (a packument's "shasum") as integrity; empty on bad hex.
  static Integrity from_hex(std::string_view hex, std::string_view algorithm = "sha1");
  /// The integrity of `data` with one algorithm (sha512 unless told).
  static Integrity from_data(std::string_view data,
                             util::HashAlgorithm algorithm = util::HashAlgorithm::Sha512);

  bool empty() const { return by_algorithm_.empty(); }
  /// All hashes separated by one space, grouped by algorithm in first-seen order (ssri's
  /// toString()).
  std::string to_string() const;
  /// Hashes grouped by algorithm, in first-seen order.
  const std::vector<std::pair<std::string, std::vector<IntegrityHash>>>& by_algorithm() const {
    return by_algorithm_;
  }
  const std::vector<IntegrityHash>* hashes(std::string_view algorithm) const;

  /// The strongest algorithm present (md5 < sha1 < sha224 < sha256 < sha384 < sha512), limited
  /// to the algorithms `among` also has when given; nullopt when there is none.
  std::optional<std::string> pick_algorithm(const Integrity* among = nullptr) const;
  /// ssri's match: a hash of ours, for the strongest algorithm both have, whose digest `other`
  /// also lists.
  std::optional<IntegrityHash> match(const Integrity& other) const;
  /// Adds the other's hashes; an algorithm both have must share a digest, else EINTEGRITY.
  util::Status merge(const Integrity& other);

  void add(IntegrityHash hash);

 private:
  std::vector<std::pair<std::string, std::vector<IntegrityHash>>> by_algorithm_;
};

/// The algorithms lade can compute (util::Hasher); nullopt for others such as md5.
std::optional<util::HashAlgorithm> hash_algorithm(std::string_view name);
std::string_view hash_algorithm_name(util::HashAlgorithm algorithm);

/// Verifies a stream of bytes against an expected integrity the way npm's ssri stream does:
/// it hashes with sha512 and with the expected value's strongest algorithm, and finish()
/// compares. With an empty expectation it only computes (the sha512 integrity of the bytes).
class IntegrityChecker {
 public:
  explicit IntegrityChecker(Integrity expected = {});

  void update(std::string_view bytes);
  /// EINTEGRITY, with npm's message:
  /// "sha512-X integrity checksum failed when using sha512: wanted sha512-X but got sha512-Y.
  /// (N bytes)". Also EINTEGRITY when the expected value only has algorithms lade cannot
  /// compute. Call once.
  util::Status finish();
  /// What the bytes hash to (valid after finish()): sha512 first, then the checked algorithm.
  const Integrity& computed() const { return computed_; }
  uint64_t size() const { return size_; }

 private:
  Integrity expected_;
  std::optional<std::string> algorithm_;  // the expected value's strongest algorithm
  std::vector<std::pair<std::string, util::Hasher>> hashers_;
  Integrity computed_;
  uint64_t size_ = 0;
};

}  // namespace lade::manifest
