#pragma once
// Message digests and the encodings npm uses for them.
//
// Three kinds, for three jobs:
// - Hasher / digest(): OpenSSL's EVP digests, for what must be verified (tarball integrity).
//   libcrypto is loaded on the first use, not when lade starts: loading it and OpenSSL's
//   first digest cost 1.4-1.7 ms together (measured on Debian 12), a tenth of a warm `lade
//   ci` of a small project, and runs that verify nothing (up to date, `ci` and installs from
//   the store) need none of it.
// - sha256(): SHA-256 computed here, for names made from short keys (cache files), where
//   loading libcrypto would cost a thousand times the hash.
// - Fingerprint: a fast 128-bit digest telling whether inputs changed since last time (the
//   up-to-date check). Not for anything an adversary chooses: it is not collision-resistant.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace lade::util {

enum class HashAlgorithm { Sha1, Sha256, Sha384, Sha512 };

/// Incremental digest: update() with chunks as they stream in, then finish() once.
class Hasher {
 public:
  explicit Hasher(HashAlgorithm algorithm);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  void update(std::string_view bytes);
  /// The raw digest bytes; empty when libcrypto could not be loaded (see crypto_status()).
  /// The hasher cannot be used afterwards.
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Whether libcrypto is there to compute Hasher's digests (loading it if not yet done); the
/// error says what to install.
Status crypto_status();

std::string digest(HashAlgorithm algorithm, std::string_view bytes);

/// The raw SHA-256 digest (32 bytes) of `bytes`, computed without libcrypto.
std::string sha256(std::string_view bytes);

/// Incremental 128-bit change detector; see the note at the top.
class Fingerprint {
 public:
  Fingerprint();
  void update(std::string_view bytes);
  /// 32 lowercase hex digits. The fingerprint cannot be used afterwards.
  std::string hex();

 private:
  void absorb(uint64_t word);
  uint64_t a_, b_;
  uint64_t length_ = 0;
  uint64_t pending_ = 0;    // bytes not yet making a whole word, little-endian
  unsigned pending_n_ = 0;  // how many
};

std::string base64_encode(std::string_view bytes);
/// Returns an empty optional-like error on invalid input.
Result<std::string> base64_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);
Result<std::string> hex_decode(std::string_view text);

}  // namespace lade::util
