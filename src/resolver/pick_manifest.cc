#include "resolver/pick_manifest.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "semver/functions.h"
#include "semver/js_text.h"
#include "semver/range.h"
#include "util/date.h"

namespace lade::resolver {
namespace {

using manifest::Packument;
using manifest::PackumentVersion;

constexpr semver::Options kLoose{true, false};
// npm-install-checks tests engines with includePrerelease, so "v21.0.0-pre" satisfies ">=20".
constexpr semver::Options kEngines{false, true};

// The characters encodeURIComponent leaves as they are.
bool is_uri_component_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-':
    case '_':
    case '.':
    case '!':
    case '~':
    case '*':
    case '\'':
    case '(':
    case ')':
      return true;
    default:
      return false;
  }
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool ends_with_icase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && starts_with_icase(s.substr(s.size() - suffix.size()), suffix);
}

bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Whether npm-package-arg's resolve() reads `spec` as something other than a registry spec: a
// path (isPosixFile /^(?:[.]|~[/]|[/]|[a-zA-Z]:)/, a '/' anywhere, a name ending in .tgz, .tar.gz
// or .tar), or a URL, alias or git spec (/^(?:git[+])?[a-z]+:/i, which also covers "file:" and
// "npm:"; hosted git shortcuts have a '/' or such a prefix).
bool npa_reads_as_other_than_registry(std::string_view spec) {
  if (spec.empty()) return false;
  if (spec[0] == '.' || spec.find('/') != std::string_view::npos) return true;
  std::string_view scheme = starts_with_icase(spec, "git+") ? spec.substr(4) : spec;
  size_t letters = 0;
  while (letters < scheme.size() && is_ascii_letter(scheme[letters])) ++letters;
  if (letters > 0 && letters < scheme.size() && scheme[letters] == ':') return true;
  return ends_with_icase(spec, ".tgz") || ends_with_icase(spec, ".tar.gz") ||
         ends_with_icase(spec, ".tar");
}

// npm-pick-manifest's error for a `wanted` (or default tag) npm-package-arg does not read as a
// tag, version or range; npm gives it no code.
util::Error not_a_registry_spec() {
  return util::make_error("EINVALIDSPEC", "Only tag, version, and range are supported");
}

util::Error no_matching_version(const Packument& packument, std::string_view wanted,
                                std::optional<int64_t> before = std::nullopt) {
  return util::make_error("ETARGET", "No matching version found for " + packument.name() + "@" +
                                         std::string(wanted) +
                                         (before ? " with a date before " + util::locale_date_string(*before) : "") +
                                         ".");
}

/// minimatch for package names, as min-release-age-exclude uses it: '*' and '?' stop at '/',
/// "**" does not.
bool glob_match(std::string_view pattern, std::string_view name) {
  if (pattern.empty()) return name.empty();
  if (pattern.starts_with("**")) {
    for (size_t i = 0; i <= name.size(); ++i) {
      if (glob_match(pattern.substr(2), name.substr(i))) return true;
    }
    return false;
  }
  if (pattern[0] == '*') {
    for (size_t i = 0; i <= name.size(); ++i) {
      if (glob_match(pattern.substr(1), name.substr(i))) return true;
      if (i < name.size() && name[i] == '/') break;
    }
    return false;
  }
  if (name.empty()) return false;
  if (pattern[0] == '?' ? name[0] != '/' : pattern[0] == name[0]) {
    return glob_match(pattern.substr(1), name.substr(1));
  }
  return false;
}

std::optional<int64_t> effective_before(const Packument& packument, const PickOptions& options) {
  if (!options.before_ms) return std::nullopt;
  for (const auto& pattern : options.before_exempt) {
    if (pattern == packument.name() || glob_match(pattern, packument.name())) return std::nullopt;
  }
  return options.before_ms;
}

// `packument['dist-tags'][tag]`; JSON.parse keeps the last of duplicate keys.
const std::string* dist_tag(const Packument& packument, std::string_view tag) {
  const auto& tags = packument.dist_tags();
  for (auto it = tags.rbegin(); it != tags.rend(); ++it) {
    if (it->first == tag) return &it->second;
  }
  return nullptr;
}

// npm-install-checks' checkEngine, as a yes/no.
class EngineCheck {
 public:
  EngineCheck(const manifest::Packument& packument, const PickOptions& options)
      : packument_(packument), options_(options) {}

  bool ok(const PackumentVersion& v) const {
    if (!options_.node_version.empty() && !v.engines_node.empty() &&
        !semver::satisfies(options_.node_version, v.engines_node, kEngines)) {
      return false;
    }
    if (!options_.npm_version.empty()) return npm_ok(v);
    return true;
  }

 private:
  // engines.npm is not indexed by Packument; it is read from the version's JSON when asked.
  bool npm_ok(const PackumentVersion& v) const {
    auto json = packument_.version_json(v);
    if (!json) return true;  // unreadable: the manifest read that follows reports it
    // Few versions name npm at all: those that do not are not parsed.
    if (json->find("\"npm\"") == std::string::npos) return true;
    nlohmann::json doc = nlohmann::json::parse(*json, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return true;
    auto engines = doc.find("engines");
    if (engines == doc.end() || !engines->is_object()) return true;
    auto npm = engines->find("npm");
    if (npm == engines->end()) return true;
    const nlohmann::json& range = *npm;
    // `eng.npm && !satisfies(npmVersion, eng.npm)`: falsy values are not checked, and a truthy
    // non-string is not a range, so nothing satisfies it.
    if (range.is_null() || (range.is_boolean() && !range.get<bool>()) ||
        (range.is_number() && range.get<double>() == 0) ||
        (range.is_string() && range.get<std::string>().empty())) {
      return true;
    }
    if (!range.is_string()) return false;
    return semver::satisfies(options_.npm_version, range.get<std::string>(), kEngines);
  }

  const manifest::Packument& packument_;
  const PickOptions& options_;
};

// The versions that satisfy the range, ranked as npm-pick-manifest's sort ranks them: not
// deprecated and engine-compatible first, then engine-compatible, then not deprecated, then
// higher versions; its sort is stable, so equal versions keep document order. Engine checks
// are costly (a range parse each), so they are made lazily, in rank order.
const PackumentVersion* best_candidate(const PickIndex& index, const semver::Range& range,
                                       const EngineCheck& engines, std::optional<int64_t> before) {
  const auto& all = index.packument().versions();
  std::vector<size_t> candidates;
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& v = index.version(i);
    if (before && all[i].published_ms != 0 && all[i].published_ms > *before) continue;
    if (v && range.test(*v)) candidates.push_back(i);
  }
  if (candidates.empty()) return nullptr;

  std::vector<int8_t> engine_state(all.size(), -1);
  auto engine_ok = [&](size_t i) {
    if (engine_state[i] < 0) engine_state[i] = engines.ok(all[i]) ? 1 : 0;
    return engine_state[i] == 1;
  };
  auto ranks_before = [&](size_t a, size_t b) {
    int c = index.version(a)->compare(*index.version(b));
    return c > 0 || (c == 0 && a < b);
  };

  // Usually the highest version that is not deprecated is also engine-compatible: done.
  std::optional<size_t> top;
  for (size_t i : candidates) {
    if (!all[i].deprecated && (!top || ranks_before(i, *top))) top = i;
  }
  if (top && engine_ok(*top)) return &all[*top];

  std::sort(candidates.begin(), candidates.end(), ranks_before);
  for (size_t i : candidates) {
    if (!all[i].deprecated && engine_ok(i)) return &all[i];
  }
  for (size_t i : candidates) {
    if (engine_ok(i)) return &all[i];
  }
  for (size_t i : candidates) {
    if (!all[i].deprecated) return &all[i];
  }
  return &all[candidates.front()];
}

// `from_caller`: `wanted_as_written` is the caller's spec, which the caller (as arborist does)
// has read as a registry spec already: an invalid tag name is reported before anything else.
// Otherwise it is a range made here, which npm-package-arg reads as a path first.
util::Result<const PackumentVersion*> pick(const Packument& packument, const PickIndex* index,
                                           std::string_view wanted_as_written,
                                           const PickOptions& options, bool from_caller = true) {
  // pacote passes npm-package-arg's fetchSpec, the trimmed spec.
  const std::string_view wanted = semver::js::trim(wanted_as_written);
  const std::string_view requested =
      wanted.empty() ? std::string_view(options.default_tag) : wanted;
  // npm-pick-manifest reads `wanted || defaultTag` with npm-package-arg again. An empty spec
  // means the default tag, which is read as a path before it could be an invalid tag name.
  if ((wanted.empty() || !from_caller) && npa_reads_as_other_than_registry(requested)) {
    return not_a_registry_spec();
  }
  const RegistrySpec spec = classify_registry_spec(requested);
  if (spec.kind == SpecKind::kInvalidTag) {
    return invalid_tag_error(packument.name(), wanted.empty()
                                                   ? std::string_view(options.default_tag)
                                                   : wanted_as_written);
  }
  // The caller classified the spec as written; trimmed, it may read as a path (" .x").
  if (!wanted.empty() && npa_reads_as_other_than_registry(wanted)) return not_a_registry_spec();

  const std::optional<int64_t> before = effective_before(packument, options);
  auto published_in_time = [&before](const PackumentVersion& v) {
    return !before || v.published_ms == 0 || v.published_ms <= *before;
  };

  // A tag names exactly one version, deprecated or not; with `before`, one published too late
  // gives way to the best version up to it.
  if (!wanted.empty() && spec.kind == SpecKind::kTag) {
    const std::string* version = dist_tag(packument, wanted);
    const PackumentVersion* v = version ? packument.find(*version) : nullptr;
    if (v && !published_in_time(*v)) {
      auto earlier = pick(packument, index, "<=" + *version, options, /*from_caller=*/false);
      if (!earlier && earlier.error().code == "ETARGET") return no_matching_version(packument, wanted, before);
      return earlier;
    }
    if (!v) return no_matching_version(packument, wanted, before);
    return v;
  }
  // So does a version, after semver.clean ("v1.2.3", "=1.2.3" and "1.2.3+b" mean "1.2.3").
  if (!wanted.empty() && spec.kind == SpecKind::kVersion) {
    auto cleaned = semver::clean(wanted, kLoose);
    const PackumentVersion* v = cleaned ? packument.find(*cleaned) : nullptr;
    if (!v || !published_in_time(*v)) return no_matching_version(packument, wanted, before);
    return v;
  }

  const std::string_view range_text = spec.kind == SpecKind::kRange ? wanted : "*";
  const semver::Range* range = semver::Range::shared(range_text, kLoose);
  const EngineCheck engines(packument, options);

  // The default tag wins whenever it fits ("*" takes it even when it is a prerelease). An empty
  // tag value is falsy to npm-pick-manifest (`defaultVer && ...`): no preference then.
  const std::string* tagged = dist_tag(packument, options.default_tag);
  if (tagged && !tagged->empty()) {
    bool fits = range_text == "*" || (range && range->test(std::string_view(*tagged)));
    if (fits) {
      const PackumentVersion* v = packument.find(*tagged);
      if (v && published_in_time(*v) && engines.ok(*v) && !v->deprecated) return v;
    }
  }

  const auto& versions = packument.versions();
  if (versions.empty() || !std::any_of(versions.begin(), versions.end(), published_in_time)) {
    return util::make_error("ENOVERSIONS", "No versions available for " + packument.name());
  }
  if (!range) return no_matching_version(packument, wanted, before);
  std::optional<PickIndex> local;
  if (!index) index = &local.emplace(packument);
  const PackumentVersion* best = best_candidate(*index, *range, engines, before);
  if (!best) return no_matching_version(packument, wanted, before);
  return best;
}

}  // namespace

RegistrySpec classify_registry_spec(std::string_view raw_spec) {
  RegistrySpec out;
  out.normalized = std::string(semver::js::trim(raw_spec));
  if (semver::Version::parse(out.normalized, kLoose)) {
    out.kind = SpecKind::kVersion;
  } else if (semver::Range::shared(out.normalized, kLoose)) {
    out.kind = SpecKind::kRange;
  } else {
    bool plain = std::all_of(out.normalized.begin(), out.normalized.end(), is_uri_component_char);
    out.kind = plain ? SpecKind::kTag : SpecKind::kInvalidTag;
  }
  return out;
}

util::Error invalid_tag_error(std::string_view package_name, std::string_view raw_spec) {
  std::string spec(semver::js::trim(raw_spec));
  return util::make_error("EINVALIDTAGNAME",
                          "Invalid tag name \"" + spec + "\" of package \"" +
                              std::string(package_name) + "@" + std::string(raw_spec) +
                              "\": Tags may not have any characters that encodeURIComponent "
                              "encodes.");
}

PickIndex::PickIndex(const manifest::Packument& packument) : packument_(packument) {
  versions_.reserve(packument.versions().size());
  for (const PackumentVersion& v : packument.versions()) {
    versions_.push_back(semver::Version::parse(v.version, kLoose));
  }
}

const PickIndex& PickIndexCache::get(
    const std::shared_ptr<const manifest::Packument>& packument) {
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(packument.get()); it != entries_.end()) return *it->second.index;
  }
  // Built outside the lock (thousands of versions for some packuments); a racing build of the
  // same packument is dropped.
  auto index = std::make_unique<PickIndex>(*packument);
  std::lock_guard lock(mu_);
  auto [it, inserted] = entries_.try_emplace(packument.get(), Entry{packument, std::move(index)});
  return *it->second.index;
}

util::Result<const manifest::PackumentVersion*> pick_version(const manifest::Packument& packument,
                                                             std::string_view wanted,
                                                             const PickOptions& options) {
  return pick(packument, nullptr, wanted, options);
}

util::Result<const manifest::PackumentVersion*> pick_version(const PickIndex& index,
                                                             std::string_view wanted,
                                                             const PickOptions& options) {
  return pick(index.packument(), &index, wanted, options);
}

}  // namespace lade::resolver
