#include "store/expected_integrity.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "manifest/integrity.h"

namespace lade::store {
namespace {

bool is_algorithm_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/// One `algo-digest?opts` token as ssri's lenient regex /^([a-z0-9]+)-([^?]+)(\?[?\S*]*)?$/
/// reads it. Returns false for tokens ssri drops.
bool parse_token(std::string_view token, std::string* algorithm, std::string* digest) {
  size_t dash = token.find('-');
  if (dash == std::string_view::npos || dash == 0) return false;
  std::string_view algo = token.substr(0, dash);
  if (!std::all_of(algo.begin(), algo.end(), is_algorithm_char)) return false;
  std::string_view rest = token.substr(dash + 1);
  size_t question = rest.find('?');
  std::string_view dig = rest.substr(0, question);
  if (dig.empty()) return false;
  *algorithm = std::string(algo);
  *digest = std::string(dig);
  return true;
}

int strength(util::HashAlgorithm a) {
  switch (a) {
    case util::HashAlgorithm::Sha1:
      return 1;
    case util::HashAlgorithm::Sha256:
      return 2;
    case util::HashAlgorithm::Sha384:
      return 3;
    case util::HashAlgorithm::Sha512:
      return 4;
  }
  return 0;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

util::Result<ExpectedIntegrity> parse_expected_integrity(std::string_view sri,
                                                         std::string_view hex_shasum) {
  // Group tokens by algorithm in first-seen order, as ssri's Integrity object does.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;   // algo -> tokens
  std::vector<std::pair<std::string, std::vector<std::string>>> digests;  // algo -> digests
  size_t i = 0;
  while (i < sri.size()) {
    while (i < sri.size() && is_space(sri[i])) ++i;
    size_t start = i;
    while (i < sri.size() && !is_space(sri[i])) ++i;
    if (start == i) break;
    std::string_view token = sri.substr(start, i - start);
    std::string algorithm, digest;
    if (!parse_token(token, &algorithm, &digest)) continue;
    auto group = std::find_if(groups.begin(), groups.end(),
                              [&](const auto& g) { return g.first == algorithm; });
    if (group == groups.end()) {
      groups.push_back({algorithm, {}});
      digests.push_back({algorithm, {}});
      group = groups.end() - 1;
    }
    group->second.emplace_back(token);
    digests[group - groups.begin()].second.push_back(std::move(digest));
  }

  ExpectedIntegrity out;
  if (groups.empty()) {
    if (hex_shasum.empty()) return out;  // nothing expected
    auto raw = util::hex_decode(hex_shasum);
    if (!raw.ok() || raw->size() != 20) {
      return util::make_error("EINTEGRITY",
                              "invalid sha1 shasum \"" + std::string(hex_shasum) + "\"");
    }
    out.algorithm = util::HashAlgorithm::Sha1;
    out.algorithm_name = "sha1";
    out.digests.push_back(util::base64_encode(*raw));
    out.wanted_text = "sha1-" + out.digests.back();
    out.sri_text = out.wanted_text;
    return out;
  }

  int best = -1;
  for (size_t g = 0; g < groups.size(); ++g) {
    std::optional<util::HashAlgorithm> known = manifest::hash_algorithm(groups[g].first);
    if (!known) continue;
    const util::HashAlgorithm algorithm = *known;
    if (best < 0 || strength(algorithm) > strength(out.algorithm)) {
      best = static_cast<int>(g);
      out.algorithm = algorithm;
    }
  }
  std::string all;
  for (const auto& group : groups) {
    for (const auto& token : group.second) {
      if (!all.empty()) all += ' ';
      all += token;
    }
  }
  if (best < 0) {
    return util::make_error("EINTEGRITY", "integrity \"" + all +
                                              "\" uses no hash algorithm lade supports "
                                              "(sha512, sha384, sha256, sha1)");
  }
  out.algorithm_name = groups[best].first;
  out.digests = std::move(digests[best].second);
  for (const auto& token : groups[best].second) {
    if (!out.wanted_text.empty()) out.wanted_text += ',';
    out.wanted_text += token;
  }
  out.sri_text = std::move(all);
  return out;
}

}  // namespace lade::store
