#include "manifest/integrity.h"

#include <algorithm>
#include <array>

namespace lade::manifest {
namespace {

// Algorithms ssri accepts (node's crypto hashes whose names fit [a-z0-9]+), and the order in
// which it prefers them. Anything not in the priority list ranks lowest.
constexpr std::array<std::string_view, 14> kKnownAlgorithms = {
    "md5",        "sha1",   "sha224",    "sha256", "sha384",   "sha512",   "blake2b512",
    "blake2s256", "ripemd", "ripemd160", "rmd160", "shake128", "shake256", "sm3"};
constexpr std::array<std::string_view, 6> kPriority = {"md5",    "sha1",   "sha224",
                                                       "sha256", "sha384", "sha512"};

int priority(std::string_view algorithm) {
  auto it = std::find(kPriority.begin(), kPriority.end(), algorithm);
  return it == kPriority.end() ? -1 : static_cast<int>(it - kPriority.begin());
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/// ssri's Hash constructor (non-strict): /^([a-z0-9]+)-([^?]+)(\?[?\S*]*)?$/
std::optional<IntegrityHash> parse_hash(std::string_view text) {
  size_t dash = 0;
  while (dash < text.size() &&
         ((text[dash] >= 'a' && text[dash] <= 'z') || (text[dash] >= '0' && text[dash] <= '9')))
    ++dash;
  if (dash == 0 || dash >= text.size() || text[dash] != '-') return std::nullopt;
  std::string_view algorithm = text.substr(0, dash);
  std::string_view rest = text.substr(dash + 1);
  size_t q = rest.find('?');
  std::string_view digest = rest.substr(0, q);
  if (digest.empty()) return std::nullopt;
  if (std::find(kKnownAlgorithms.begin(), kKnownAlgorithms.end(), algorithm) ==
      kKnownAlgorithms.end())
    return std::nullopt;
  IntegrityHash hash{std::string(algorithm), std::string(digest), {}};
  if (q != std::string_view::npos) {
    std::string_view opts = rest.substr(q + 1);
    size_t start = 0;
    for (;;) {
      size_t end = opts.find('?', start);
      hash.options.emplace_back(
          opts.substr(start, end == std::string_view::npos ? end : end - start));
      if (end == std::string_view::npos) break;
      start = end + 1;
    }
  }
  return hash;
}

std::string join_hashes(const std::vector<IntegrityHash>& hashes, std::string_view sep) {
  std::string out;
  for (const auto& h : hashes) {
    if (!out.empty()) out += sep;
    out += h.to_string();
  }
  return out;
}

}  // namespace

std::optional<util::HashAlgorithm> hash_algorithm(std::string_view name) {
  if (name == "sha512") return util::HashAlgorithm::Sha512;
  if (name == "sha384") return util::HashAlgorithm::Sha384;
  if (name == "sha256") return util::HashAlgorithm::Sha256;
  if (name == "sha1") return util::HashAlgorithm::Sha1;
  return std::nullopt;
}

std::string_view hash_algorithm_name(util::HashAlgorithm algorithm) {
  switch (algorithm) {
    case util::HashAlgorithm::Sha1:
      return "sha1";
    case util::HashAlgorithm::Sha256:
      return "sha256";
    case util::HashAlgorithm::Sha384:
      return "sha384";
    case util::HashAlgorithm::Sha512:
      return "sha512";
  }
  return "sha512";
}

std::string IntegrityHash::to_string() const {
  std::string out = algorithm + "-" + digest;
  for (const auto& o : options) out += "?" + o;
  return out;
}

std::string IntegrityHash::hex_digest() const {
  auto raw = util::base64_decode(digest);
  return raw.ok() ? util::hex_encode(*raw) : std::string();
}

void Integrity::add(IntegrityHash hash) {
  for (auto& [algorithm, list] : by_algorithm_) {
    if (algorithm == hash.algorithm) {
      list.push_back(std::move(hash));
      return;
    }
  }
  std::string algorithm = hash.algorithm;
  by_algorithm_.emplace_back(std::move(algorithm), std::vector<IntegrityHash>{std::move(hash)});
}

Integrity Integrity::parse(std::string_view text) {
  Integrity out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    if (j > i) {
      if (auto hash = parse_hash(text.substr(i, j - i))) out.add(std::move(*hash));
    }
    i = j;
  }
  return out;
}

Integrity Integrity::from_hex(std::string_view hex, std::string_view algorithm) {
  auto raw = util::hex_decode(hex);
  if (!raw.ok() || raw->empty()) return {};
  return parse(std::string(algorithm) + "-" + util::base64_encode(*raw));
}

Integrity Integrity::from_data(std::string_view data, util::HashAlgorithm algorithm) {
  Integrity out;
  out.add({std::string(hash_algorithm_name(algorithm)),
           util::base64_encode(util::digest(algorithm, data)),
           {}});
  return out;
}

std::string Integrity::to_string() const {
  std::string out;
  for (const auto& [algorithm, list] : by_algorithm_) {
    if (list.empty()) continue;
    if (!out.empty()) out += ' ';
    out += join_hashes(list, " ");
  }
  return out;
}

const std::vector<IntegrityHash>* Integrity::hashes(std::string_view algorithm) const {
  for (const auto& [name, list] : by_algorithm_)
    if (name == algorithm) return &list;
  return nullptr;
}

std::optional<std::string> Integrity::pick_algorithm(const Integrity* among) const {
  std::optional<std::string> best;
  for (const auto& [name, list] : by_algorithm_) {
    if (among && !among->hashes(name)) continue;
    // ssri keeps the earlier one on ties (getPrioritizedHash uses >=).
    if (!best || priority(name) > priority(*best)) best = name;
  }
  return best;
}

std::optional<IntegrityHash> Integrity::match(const Integrity& other) const {
  auto algorithm = other.pick_algorithm(this);
  if (!algorithm) return std::nullopt;
  const auto* ours = hashes(*algorithm);
  const auto* theirs = other.hashes(*algorithm);
  for (const auto& h : *ours)
    for (const auto& o : *theirs)
      if (h.digest == o.digest) return h;
  return std::nullopt;
}

util::Status Integrity::merge(const Integrity& other) {
  for (const auto& [algorithm, list] : other.by_algorithm_) {
    if (const auto* mine = hashes(algorithm)) {
      bool shared = false;
      for (const auto& a : *mine)
        for (const auto& b : list) shared = shared || a.digest == b.digest;
      if (!shared)
        return util::make_error("EINTEGRITY", "hashes do not match, cannot update integrity");
    } else {
      for (const auto& h : list) add(h);
    }
  }
  return {};
}

IntegrityChecker::IntegrityChecker(Integrity expected) : expected_(std::move(expected)) {
  algorithm_ = expected_.pick_algorithm();
  hashers_.emplace_back("sha512", util::Hasher(util::HashAlgorithm::Sha512));
  if (algorithm_ && *algorithm_ != "sha512") {
    if (auto alg = hash_algorithm(*algorithm_))
      hashers_.emplace_back(*algorithm_, util::Hasher(*alg));
  }
}

void IntegrityChecker::update(std::string_view bytes) {
  size_ += bytes.size();
  for (auto& [name, hasher] : hashers_) hasher.update(bytes);
}

util::Status IntegrityChecker::finish() {
  // Without libcrypto there is no digest to compare: say so rather than report a mismatch.
  if (auto st = util::crypto_status(); !st) return st;
  for (auto& [name, hasher] : hashers_)
    computed_.add({name, util::base64_encode(hasher.finish()), {}});
  if (!algorithm_) return {};  // nothing to check against
  if (!hash_algorithm(*algorithm_)) {
    return util::make_error("EINTEGRITY", expected_.to_string() + " integrity checksum uses " +
                                              *algorithm_ + ", which cannot be verified.");
  }
  if (computed_.match(expected_)) return {};
  return util::make_error(
      "EINTEGRITY", expected_.to_string() + " integrity checksum failed when using " + *algorithm_ +
                        ": wanted " + join_hashes(*expected_.hashes(*algorithm_), ",") +
                        " but got " + computed_.to_string() + ". (" + std::to_string(size_) +
                        " bytes)");
}

}  // namespace lade::manifest
