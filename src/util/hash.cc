#include "util/hash.h"

#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include <array>
#include <bit>
#include <cstring>
#include <mutex>

#include "util/dynamic_library.h"

namespace lade::util {

namespace {

// The SONAME of the OpenSSL lade was built against (3.x keeps one ABI); it is what linking
// with -lcrypto would have recorded.
#define LADE_STRINGIFY2(x) #x
#define LADE_STRINGIFY(x) LADE_STRINGIFY2(x)
constexpr const char* kCryptoSoname = "libcrypto.so." LADE_STRINGIFY(OPENSSL_VERSION_MAJOR);

/// The few EVP functions lade calls, with the exact types of OpenSSL's prototypes.
struct CryptoLibrary {
  decltype(&::EVP_MD_CTX_new) md_ctx_new;
  decltype(&::EVP_MD_CTX_free) md_ctx_free;
  decltype(&::EVP_DigestInit_ex) digest_init;
  decltype(&::EVP_DigestUpdate) digest_update;
  decltype(&::EVP_DigestFinal_ex) digest_final;
  decltype(&::EVP_sha1) sha1;
  decltype(&::EVP_sha256) sha256;
  decltype(&::EVP_sha384) sha384;
  decltype(&::EVP_sha512) sha512;
};

Result<const CryptoLibrary*> load_crypto_once() {
  auto library = LADE_TRY(DynamicLibrary::open(kCryptoSoname, "ELIBCRYPTO",
                                               ", which verifies package integrity; install OpenSSL's "
                                               "library (Debian: apt-get install libssl3)"));
  static CryptoLibrary crypto;  // lives as long as the loaded library
  library.bind("EVP_MD_CTX_new", crypto.md_ctx_new);
  library.bind("EVP_MD_CTX_free", crypto.md_ctx_free);
  library.bind("EVP_DigestInit_ex", crypto.digest_init);
  library.bind("EVP_DigestUpdate", crypto.digest_update);
  library.bind("EVP_DigestFinal_ex", crypto.digest_final);
  library.bind("EVP_sha1", crypto.sha1);
  library.bind("EVP_sha256", crypto.sha256);
  library.bind("EVP_sha384", crypto.sha384);
  library.bind("EVP_sha512", crypto.sha512);
  if (!library.missing().empty()) {
    return make_error("ELIBCRYPTO", std::string(kCryptoSoname) + " lacks " + library.missing());
  }
  return static_cast<const CryptoLibrary*>(&crypto);
}

const Result<const CryptoLibrary*>& crypto_library() {
  static std::once_flag once;
  static Result<const CryptoLibrary*> loaded = make_error("ELIBCRYPTO", "not loaded");
  std::call_once(once, [] { loaded = load_crypto_once(); });
  return loaded;
}

const EVP_MD* evp_for(const CryptoLibrary& c, HashAlgorithm a) {
  switch (a) {
    case HashAlgorithm::Sha1: return c.sha1();
    case HashAlgorithm::Sha256: return c.sha256();
    case HashAlgorithm::Sha384: return c.sha384();
    case HashAlgorithm::Sha512: return c.sha512();
  }
  return c.sha512();
}

}  // namespace

Status crypto_status() {
  const auto& c = crypto_library();
  if (!c) return c.error();
  return {};
}

struct Hasher::Impl {
  const CryptoLibrary* crypto = nullptr;
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() {
    if (ctx) crypto->md_ctx_free(ctx);
  }
};

Hasher::Hasher(HashAlgorithm algorithm) : impl_(std::make_unique<Impl>()) {
  const auto& c = crypto_library();
  if (!c) return;
  impl_->crypto = *c;
  impl_->ctx = impl_->crypto->md_ctx_new();
  impl_->crypto->digest_init(impl_->ctx, evp_for(*impl_->crypto, algorithm), nullptr);
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::string_view bytes) {
  if (impl_->ctx) impl_->crypto->digest_update(impl_->ctx, bytes.data(), bytes.size());
}

std::string Hasher::finish() {
  if (!impl_->ctx) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  impl_->crypto->digest_final(impl_->ctx, md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string digest(HashAlgorithm algorithm, std::string_view bytes) {
  Hasher h(algorithm);
  h.update(bytes);
  return h.finish();
}

// ---- SHA-256 (FIPS 180-4) ----

namespace {

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
constexpr std::array<uint32_t, 64> kSha256Rounds = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

constexpr uint32_t rotr(uint32_t x, int n) { return x >> n | x << (32 - n); }

void sha256_block(std::array<uint32_t, 8>& state, const unsigned char* block) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = uint32_t(block[4 * i]) << 24 | uint32_t(block[4 * i + 1]) << 16 |
           uint32_t(block[4 * i + 2]) << 8 | uint32_t(block[4 * i + 3]);
  }
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                  kSha256Rounds[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

}  // namespace

std::string sha256(std::string_view bytes) {
  // The first 32 bits of the fractional parts of the square roots of the first 8 primes.
  std::array<uint32_t, 8> state = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  for (; n >= 64; p += 64, n -= 64) sha256_block(state, p);
  // The rest, a 1 bit, zeros, and the length in bits as a big-endian 64-bit number: one block
  // or two.
  unsigned char tail[128] = {};
  std::memcpy(tail, p, n);
  tail[n] = 0x80;
  const size_t tail_size = n + 9 <= 64 ? 64 : 128;
  const uint64_t bits = uint64_t(bytes.size()) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_size - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
  sha256_block(state, tail);
  if (tail_size == 128) sha256_block(state, tail + 64);
  std::string out(32, '\0');
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = static_cast<char>(state[i] >> 24);
    out[4 * i + 1] = static_cast<char>(state[i] >> 16);
    out[4 * i + 2] = static_cast<char>(state[i] >> 8);
    out[4 * i + 3] = static_cast<char>(state[i]);
  }
  return out;
}

// ---- Fingerprint ----
//
// Two 64-bit lanes fed the input a word (8 bytes, little-endian) at a time. Each step,
// lane = rotl(lane ^ word, r) * odd, is a bijection of the lane for a given word, so two inputs
// of one length that differ in a single word always differ in both lanes afterwards; the lanes
// use different rotations and multipliers, and are mixed together and avalanched at the end.
// About 4 GB/s here: the lockfile of the medium benchmark fixture (475 KB) in 0.1 ms.

namespace {

constexpr uint64_t kLaneA = 0x9e3779b97f4a7c15ull;  // odd: 2^64 / golden ratio
constexpr uint64_t kLaneB = 0xd1b54a32d192ed03ull;
constexpr uint64_t rotl64(uint64_t x, int n) { return x << n | x >> (64 - n); }
constexpr uint64_t avalanche(uint64_t h) {
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 29;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 32;
  return h;
}

}  // namespace

Fingerprint::Fingerprint() : a_(kLaneA), b_(kLaneB) {}

void Fingerprint::absorb(uint64_t word) {
  a_ = rotl64(a_ ^ word, 29) * kLaneA;
  b_ = rotl64(b_ ^ word, 41) * kLaneB;
}

void Fingerprint::update(std::string_view bytes) {
  length_ += bytes.size();
  size_t i = 0;
  while (pending_n_ != 0 && i < bytes.size()) {
    pending_ |= uint64_t(static_cast<unsigned char>(bytes[i++])) << (8 * pending_n_);
    if (++pending_n_ == 8) {
      absorb(pending_);
      pending_ = 0;
      pending_n_ = 0;
    }
  }
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    if constexpr (std::endian::native == std::endian::big) word = __builtin_bswap64(word);
    absorb(word);
  }
  for (; i < bytes.size(); ++i) {
    pending_ |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * pending_n_++);
  }
}

std::string Fingerprint::hex() {
  // The partial word and the total length close the input, so "ab" and "ab\0" differ.
  absorb(pending_);
  absorb(length_);
  const uint64_t a = avalanche(a_ + rotl64(b_, 17));
  const uint64_t b = avalanche(b_ ^ a);
  std::string raw(16, '\0');
  for (int i = 0; i < 8; ++i) {
    raw[i] = static_cast<char>(a >> (56 - 8 * i));
    raw[8 + i] = static_cast<char>(b >> (56 - 8 * i));
  }
  return hex_encode(raw);
}

static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += kB64[v >> 18 & 63];
    out += kB64[v >> 12 & 63];
    out += kB64[v >> 6 & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += kB64[v >> 18 & 63];
    out += kB64[v >> 12 & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += kB64[v >> 18 & 63];
    out += kB64[v >> 12 & 63];
    out += kB64[v >> 6 & 63];
    out += '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  static const std::array<int, 256> table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    for (int i = 0; i < 64; ++i) t[(unsigned char)kB64[i]] = i;
    t['-'] = 62;  // base64url, tolerated
    t['_'] = 63;
    return t;
  }();
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = table[(unsigned char)c];
    if (v < 0) return make_error("EBADBASE64", "invalid base64 text");
    acc = acc << 6 | unsigned(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char(acc >> bits & 0xff);
    }
  }
  return out;
}

std::string hex_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(in.size() * 2);
  for (unsigned char c : in) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Result<std::string> hex_decode(std::string_view in) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (in.size() % 2) return make_error("EBADHEX", "invalid hex text");
  std::string out;
  for (size_t i = 0; i < in.size(); i += 2) {
    int a = nib(in[i]), b = nib(in[i + 1]);
    if (a < 0 || b < 0) return make_error("EBADHEX", "invalid hex text");
    out += char(a << 4 | b);
  }
  return out;
}

}  // namespace lade::util
