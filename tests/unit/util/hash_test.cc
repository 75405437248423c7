#include "util/hash.h"

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>

using lade::util::Fingerprint;
using lade::util::HashAlgorithm;
using lade::util::hex_encode;

TEST_CASE("sha256 matches the FIPS 180-4 examples", "[hash]") {
  using lade::util::sha256;
  CHECK(hex_encode(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex_encode(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex_encode(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(hex_encode(sha256(std::string(1000000, 'a'))) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256 agrees with libcrypto at every length around the block edges", "[hash]") {
  REQUIRE(lade::util::crypto_status().ok());
  std::mt19937 rng(7);
  for (size_t n = 0; n < 300; ++n) {
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    INFO("length " << n);
    CHECK(lade::util::sha256(data) == lade::util::digest(HashAlgorithm::Sha256, data));
  }
}

TEST_CASE("a fingerprint depends on every byte and on the length, not on the chunking", "[hash]") {
  auto of = [](std::initializer_list<std::string_view> parts) {
    Fingerprint f;
    for (auto p : parts) f.update(p);
    return f.hex();
  };
  const std::string text = "{\n  \"name\": \"demo\",\n  \"lockfileVersion\": 3\n}\n";
  const std::string whole = of({text});
  CHECK(whole.size() == 32);
  CHECK(whole.find_first_not_of("0123456789abcdef") == std::string::npos);
  // Any split of the same bytes gives the same fingerprint.
  for (size_t i = 0; i <= text.size(); ++i) {
    for (size_t j = i; j <= text.size(); j += 5) {
      CHECK(of({std::string_view(text).substr(0, i), std::string_view(text).substr(i, j - i),
                std::string_view(text).substr(j)}) == whole);
    }
  }
  // Each single-byte change, a trailing zero byte, and a cut give different ones.
  std::set<std::string> seen = {whole};
  for (size_t i = 0; i < text.size(); ++i) {
    std::string changed = text;
    changed[i] ^= 1;
    CHECK(seen.insert(of({changed})).second);
  }
  CHECK(seen.insert(of({text + std::string(1, '\0')})).second);
  CHECK(seen.insert(of({text.substr(0, text.size() - 1)})).second);
  CHECK(seen.insert(of({""})).second);
  CHECK(seen.insert(of({std::string(1, '\0')})).second);
}

TEST_CASE("fingerprints of many similar inputs do not collide", "[hash]") {
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {
    Fingerprint f;
    f.update("node_modules/package-" + std::to_string(i));
    CHECK(seen.insert(f.hex()).second);
  }
}
