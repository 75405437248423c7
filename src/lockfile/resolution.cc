#include "lockfile/resolution.h"

#include <vector>

#include "manifest/spec.h"

namespace lade::lockfile {
namespace {

bool starts_with_file(std::string_view s) {
  if (s.size() < 5) return false;
  for (size_t i = 0; i < 5; ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != "file:"[i]) return false;
  }
  return true;
}

}  // namespace

bool is_registry_spec(std::string_view spec) {
  auto parsed = manifest::parse_spec(spec);
  return parsed.ok() && parsed->registry;
}

std::string consistent_resolved(std::string_view resolved) {
  auto spec = manifest::parse_spec(resolved);
  if (!spec.ok()) return std::string(resolved);
  switch (spec->type) {
    case manifest::SpecType::kFile:
    case manifest::SpecType::kDirectory:
      return "file:" + normalize_relative_path(file_spec_path(spec->raw_spec));
    case manifest::SpecType::kGit:
      if (spec->hosted) {
        return spec->hosted->auth.empty() ? spec->hosted->sshurl() : spec->hosted->https();
      }
      return spec->save_spec.value_or(std::string(resolved));
    default:
      break;
  }
  return spec->raw_spec == "*" ? spec->raw : spec->raw_spec;
}

std::string_view file_spec_path(std::string_view spec) {
  if (starts_with_file(spec)) {
    spec.remove_prefix(5);
    if (spec.substr(0, 3) == "///") spec.remove_prefix(2);
  }
  return spec;
}

std::string normalize_relative_path(std::string_view path) {
  const bool absolute = !path.empty() && path[0] == '/';
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(seg);
      }
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(seg);
    }
    i = j + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t k = 0; k < parts.size(); ++k) {
    if (k) out += '/';
    out += parts[k];
  }
  return out;
}

std::string name_from_folder(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (slash == std::string_view::npos) return std::string(base);
  std::string_view dir = path.substr(0, slash);
  size_t slash2 = dir.rfind('/');
  std::string_view parent = slash2 == std::string_view::npos ? dir : dir.substr(slash2 + 1);
  if (!parent.empty() && parent[0] == '@') return std::string(parent) + "/" + std::string(base);
  return std::string(base);
}

}  // namespace lade::lockfile
