#include "installer/script_policy.h"

#include <algorithm>
#include <map>

#include "installer/reify.h"
#include "installer/scripts.h"
#include "manifest/json_text.h"
#include "manifest/manifest.h"
#include "manifest/spec.h"
#include "semver/functions.h"
#include "semver/js_text.h"
#include "semver/version.h"
#include "util/fs.h"

namespace lade::installer {

namespace fs = std::filesystem;
using tree::Node;

namespace {

// String.prototype.trim, as npm trims list entries and specs.
using semver::js::trim;

/// npm's parseAllowScriptsList: comma-separated, trimmed, empty parts dropped.
std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> out;
  // Config lists given more than once arrive joined by blank lines.
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find_first_of(",\n", start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view part = trim(value.substr(start, end - start));
    if (!part.empty()) out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

/// "1.2.3", "1.2.3 || 2.0.0": exact versions only (node-semver's valid, not loose).
bool is_exact_version_disjunction(std::string_view spec) {
  if (trim(spec).empty()) return false;
  size_t start = 0;
  while (true) {
    size_t bar = spec.find("||", start);
    std::string_view part = trim(spec.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
    if (part.empty() || !semver::valid(part)) return false;
    if (bar == std::string_view::npos) return true;
    start = bar + 2;
  }
}

bool is_name_only(const manifest::PackageSpec& spec) {
  return (spec.fetch_spec && *spec.fetch_spec == "*") || spec.raw_spec.empty() || spec.raw_spec == "*";
}

/// npm's validatePolicy: keys that could only be matched loosely are refused with a warning.
ScriptPolicy validated(const std::vector<std::pair<std::string, bool>>& entries, const std::string& label,
                       std::vector<std::string>& warnings) {
  ScriptPolicy policy;
  for (const auto& [key, allow] : entries) {
    auto parsed = manifest::parse_spec(key);
    if (!parsed) {
      warnings.push_back(label + ": ignoring unparseable entry \"" + key + "\"");
      continue;
    }
    if (parsed->type == manifest::SpecType::kTag) {
      warnings.push_back(label + ": ignoring \"" + key +
                         "\" \u2014 dist-tag specs (@latest, @next, ...) are not allowed; use exact versions "
                         "joined by \"||\", or the bare package name, instead");
      continue;
    }
    if (parsed->type == manifest::SpecType::kRange && !is_name_only(*parsed) &&
        !is_exact_version_disjunction(parsed->fetch_spec.value_or(""))) {
      warnings.push_back(label + ": ignoring \"" + key +
                         "\" \u2014 semver ranges (^, ~, >=, <) are not allowed; use exact versions joined by "
                         "\"||\" instead");
      continue;
    }
    policy.entries.emplace_back(key, allow);
  }
  return policy;
}

std::vector<std::pair<std::string, bool>> all_allowed(const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& n : names) out.emplace_back(n, true);
  return out;
}

bool is_registry_spec(const tree::Edge& edge) {
  auto parsed = manifest::resolve_spec(edge.name(), edge.spec(), fs::path());
  return parsed && parsed->registry;
}

/// arborist's isRegistryDependency: depended on, and only through registry specs.
bool is_registry_node(const Node& node) {
  const auto& in = node.edges_in();
  return !in.empty() && std::all_of(in.begin(), in.end(), [](const tree::Edge* e) { return is_registry_spec(*e); });
}

struct TrustedIdentity {
  std::string name;
  std::optional<std::string> version;
};

/// arborist's versionFromTgz for a registry tarball URL: ".../@scope/name/-/name-1.2.3.tgz".
std::optional<TrustedIdentity> identity_from_tarball_url(std::string_view url) {
  const size_t slash = url.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? url : url.substr(slash + 1);
  if (!base.ends_with(".tgz")) return std::nullopt;
  if (!url.starts_with("http:/") && !url.starts_with("https:/")) return std::nullopt;
  std::string_view path = url.substr(url.find(':') + 1);
  while (path.starts_with('/')) path.remove_prefix(1);
  const size_t host_end = path.find('/');
  if (host_end == std::string_view::npos) return std::nullopt;
  path = path.substr(host_end + 1);
  path = path.substr(0, path.find_first_of("?#"));
  const size_t tf = path.rfind("/-/");
  if (tf == std::string_view::npos || path.substr(tf + 3) != base) return std::nullopt;
  std::string pre(path.substr(0, tf));
  const size_t dash = pre.rfind("/-/");
  if (dash != std::string::npos) pre = pre.substr(dash + 3);
  // The last two segments, split at '/' or an escaped "%2f".
  std::vector<std::string> segments;
  std::string current;
  for (size_t i = 0; i < pre.size(); ++i) {
    if (pre[i] == '/') {
      segments.push_back(current);
      current.clear();
    } else if (pre[i] == '%' && i + 2 < pre.size() && pre[i + 1] == '2' && (pre[i + 2] == 'f' || pre[i + 2] == 'F')) {
      segments.push_back(current);
      current.clear();
      i += 2;
    } else {
      current += pre[i];
    }
  }
  segments.push_back(current);
  const std::string project = segments.back();
  const std::string scope = segments.size() > 1 ? segments[segments.size() - 2] : std::string();
  if (!base.starts_with(project + "-")) return std::nullopt;
  auto version = semver::valid(base.substr(project.size() + 1, base.size() - project.size() - 1 - 4));
  if (!version) return std::nullopt;
  return TrustedIdentity{scope.starts_with('@') ? scope + "/" + project : project, *version};
}

/// arborist's getTrustedRegistryIdentity: the resolved URL, else the name the dependents gave
/// (an alias's real package) without a version.
std::optional<TrustedIdentity> trusted_identity(const Node& node) {
  if (auto id = identity_from_tarball_url(node.resolved)) return id;
  for (const tree::Edge* e : node.edges_in()) {
    auto parsed = manifest::resolve_spec(e->name(), e->spec(), fs::path());
    if (!parsed) continue;
    if (parsed->type == manifest::SpecType::kAlias && parsed->sub_spec && parsed->sub_spec->registry) {
      return TrustedIdentity{parsed->sub_spec->name, std::nullopt};
    }
    if (parsed->registry) return TrustedIdentity{parsed->name, std::nullopt};
  }
  return std::nullopt;
}

bool match_registry(const Node& node, const manifest::PackageSpec& key, bool fail_closed) {
  if (!is_registry_node(node)) return false;
  auto trusted = trusted_identity(node);
  if (!trusted || trusted->name != key.name) return false;
  if (key.type == manifest::SpecType::kTag) return false;
  const std::string fetch = key.fetch_spec.value_or("");
  if (key.type == manifest::SpecType::kRange) {
    if (is_name_only(key)) return true;
    if (!is_exact_version_disjunction(fetch)) return false;
    if (!trusted->version) return fail_closed;
    return semver::satisfies(*trusted->version, fetch, semver::Options{true, false});
  }
  if (!trusted->version) return fail_closed;
  return *trusted->version == fetch;
}

bool match_git(const Node& node, const manifest::PackageSpec& key) {
  if (!node.resolved.starts_with("git")) return false;
  auto resolved = manifest::parse_spec(node.resolved);
  if (!resolved) return false;
  manifest::HostedGit::Form bare;
  bare.no_committish = true;
  if (key.hosted && resolved->hosted) {
    if (key.hosted->ssh(bare) != resolved->hosted->ssh(bare)) return false;
  } else if (key.fetch_spec && resolved->fetch_spec) {
    if (*key.fetch_spec != *resolved->fetch_spec) return false;
  } else {
    return false;
  }
  const std::string want = key.git_committish ? *key.git_committish : key.hosted ? key.hosted->committish : "";
  if (want.empty()) return true;
  const std::string have = resolved->git_committish ? *resolved->git_committish
                           : resolved->hosted       ? resolved->hosted->committish
                                                    : "";
  return !have.empty() && have.starts_with(want);
}

bool matches(const Node& node, const std::string& key, bool fail_closed) {
  auto parsed = manifest::parse_spec(key);
  if (!parsed) return false;
  switch (parsed->type) {
    case manifest::SpecType::kTag:
    case manifest::SpecType::kRange:
    case manifest::SpecType::kVersion:
      return match_registry(node, *parsed, fail_closed);
    case manifest::SpecType::kGit:
      return match_git(node, *parsed);
    case manifest::SpecType::kFile:
    case manifest::SpecType::kDirectory:
    case manifest::SpecType::kRemote:
      return !node.resolved.empty() &&
             ((parsed->save_spec && node.resolved == *parsed->save_spec) ||
              (parsed->fetch_spec && node.resolved == *parsed->fetch_spec));
    case manifest::SpecType::kAlias:
      return false;  // the real package has to be named
  }
  return false;
}

/// The install-time scripts npm lists for a package: preinstall, install, postinstall, and
/// prepare for packages not from a registry.
std::vector<std::pair<std::string, std::string>> listed_scripts(
    const std::vector<std::pair<std::string, std::string>>& scripts, bool from_registry) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* event : {"preinstall", "install", "postinstall", "prepare"}) {
    if (std::string_view(event) == "prepare" && from_registry) continue;
    for (const auto& [name, command] : scripts) {
      if (name == event && !command.empty()) {
        out.emplace_back(name, command);
        break;
      }
    }
  }
  return out;
}

bool from_registry(const Node& node) {
  // install-scripts.js's hasNonRegistryShape, negated.
  if (!node.edges_in().empty()) return is_registry_node(node);
  if (node.resolved.empty()) return true;
  return identity_from_tarball_url(node.resolved).has_value();
}

}  // namespace

util::Result<ScriptPolicy> resolve_script_policy(const ScriptPolicyInputs& inputs, std::vector<std::string>& warnings) {
  if (inputs.command_line && !split_list(*inputs.command_line).empty()) {
    return util::make_error("EALLOWSCRIPTS",
                            "--allow-scripts is not allowed in project-scoped installs. Add the entries to the "
                            "\"allowScripts\" field in package.json, or to .npmrc, instead.");
  }
  std::vector<std::pair<std::string, bool>> from_package_json;
  if (inputs.package_json && inputs.package_json->is_object()) {
    for (const auto& [key, value] : inputs.package_json->items()) {
      // npm keeps other values, but only true and false ever match.
      if (value.is_boolean()) from_package_json.emplace_back(key, value.get<bool>());
    }
  }
  ScriptPolicy package_json = validated(from_package_json, "package.json", warnings);
  ScriptPolicy npmrc = validated(all_allowed(split_list(inputs.npmrc.value_or(""))), ".npmrc", warnings);
  if (!package_json.empty()) {
    if (!npmrc.empty()) {
      warnings.push_back(
          ".npmrc allow-scripts setting is being ignored because package.json declares its own allowScripts field");
    }
    return package_json;
  }
  return npmrc;
}

ScriptVerdict script_verdict(const Node& node, const ScriptPolicy& policy) {
  // A bundled package cannot be allowed: its name and version are the bundler's to claim.
  if (const_cast<Node&>(node).in_bundle() || policy.empty()) return ScriptVerdict::kUnreviewed;
  bool allow = false;
  bool deny = false;
  for (const auto& [key, allowed] : policy.entries) {
    if (!matches(node, key, !allowed)) continue;
    (allowed ? allow : deny) = true;
  }
  return deny ? ScriptVerdict::kDenied : allow ? ScriptVerdict::kAllowed : ScriptVerdict::kUnreviewed;
}

std::vector<UnreviewedPackage> unreviewed_scripts(const tree::Tree& tree, const ScriptPolicy& policy,
                                                  const fs::path& project_dir,
                                                  const std::unordered_set<const Node*>& left_out) {
  std::vector<UnreviewedPackage> out;
  std::vector<std::pair<bool, size_t>> order;  // (placed by resolution, creation order)
  for (Node* node : tree.inventory()) {
    if (node->is_project_root || node->is_workspace || node->is_link || node->inert || left_out.count(node)) continue;
    const std::string location = node->location();
    if (!in_node_modules(location) || node->in_bundle()) continue;
    const bool registry = from_registry(*node);
    auto scripts = listed_scripts(node->package.scripts, registry);
    if (scripts.empty() && !node->package.has_install_script) continue;
    if (script_verdict(*node, policy) != ScriptVerdict::kUnreviewed) continue;
    if (scripts.empty() || node->package.has_install_script) {
      // Lockfile metadata says only that there are scripts: the package.json on disk says which,
      // and whether npm's default `node-gyp rebuild` is one (a binding.gyp, no install script).
      const fs::path dir = project_dir / location;
      std::optional<manifest::Json> doc;
      if (scripts.empty()) {
        if (auto text = util::read_file(dir / "package.json")) {
          if (auto parsed = manifest::parse_json(*text, location + "/package.json")) {
            doc = std::move(*parsed);
            scripts = listed_scripts(manifest::manifest_from_json(*doc).scripts, registry);
          }
        }
      }
      if (needs_default_gyp_install(scripts, dir, doc ? &*doc : nullptr)) {
        scripts.emplace_back("install", kDefaultGypInstall);
      }
      if (scripts.empty()) scripts.emplace_back("install", "(install scripts present)");
    }
    out.push_back(UnreviewedPackage{node->package_name(), node->version(), location, std::move(scripts)});
    order.emplace_back(!node->from_lockfile, node->from_lockfile ? 0 : node->created_order());
  }
  // npm lists them in its inventory's order: what a lockfile gave, by location (the lockfile's
  // order), then what resolution placed, in placement order.
  std::vector<size_t> index(out.size());
  for (size_t i = 0; i < index.size(); ++i) index[i] = i;
  std::sort(index.begin(), index.end(), [&](size_t a, size_t b) {
    if (order[a] != order[b]) return order[a] < order[b];
    return out[a].location < out[b].location;
  });
  std::vector<UnreviewedPackage> sorted;
  sorted.reserve(out.size());
  for (size_t i : index) sorted.push_back(std::move(out[i]));
  return sorted;
}

namespace {

std::string package_lines(const std::vector<UnreviewedPackage>& unreviewed) {
  std::string lines;
  for (const auto& p : unreviewed) {
    lines += "  " + p.name + (p.version.empty() ? "" : "@" + p.version) + " (";
    for (size_t i = 0; i < p.scripts.size(); ++i) {
      lines += (i ? "; " : "") + p.scripts[i].first + ": " + p.scripts[i].second;
    }
    lines += ")\n";
  }
  return lines;
}

}  // namespace

std::string unreviewed_scripts_warning(const std::vector<UnreviewedPackage>& unreviewed) {
  if (unreviewed.empty()) return "";
  const size_t n = unreviewed.size();
  return std::to_string(n) + (n == 1 ? " package has" : " packages have") +
         " install scripts not yet covered by allowScripts:\n" + package_lines(unreviewed) +
         "\nReview them, then allow (true) or deny (false) each in package.json's \"allowScripts\" "
         "(npm install-scripts approve/deny writes the same field).";
}

util::Error strict_allow_scripts_error(const std::vector<UnreviewedPackage>& unreviewed) {
  return util::make_error(
      "ESTRICTALLOWSCRIPTS",
      "--strict-allow-scripts: " + std::to_string(unreviewed.size()) +
          " package(s) have install scripts not covered by allowScripts:\n" + package_lines(unreviewed) +
          "Allow (true) or deny (false) them in package.json's \"allowScripts\", or bypass this check with "
          "--dangerously-allow-all-scripts.");
}

}  // namespace lade::installer
