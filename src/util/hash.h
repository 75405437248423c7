#pragma once
// Streaming message digests (OpenSSL EVP) and the encodings npm uses for them.
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
  /// The raw digest bytes. The hasher cannot be used afterwards.
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string digest(HashAlgorithm algorithm, std::string_view bytes);
std::string base64_encode(std::string_view bytes);
/// Returns an empty optional-like error on invalid input.
Result<std::string> base64_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);
Result<std::string> hex_decode(std::string_view text);

}  // namespace lade::util
