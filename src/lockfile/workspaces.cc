#include "lockfile/workspaces.h"

#include <algorithm>

#include "lockfile/resolution.h"

namespace lade::lockfile {
namespace {

std::vector<std::string_view> split_segments(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

/// `[...]` at pattern[p] (pointing at '['): sets `matched` and returns the index after ']',
/// or npos when the class is not closed (then '[' is literal).
size_t match_class(std::string_view pattern, size_t p, char c, bool& matched) {
  size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool found = false;
  bool first = true;
  while (i < pattern.size() && (pattern[i] != ']' || first)) {
    first = false;
    char lo = pattern[i];
    char hi = lo;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      hi = pattern[i + 2];
      i += 2;
    }
    if (lo <= c && c <= hi) found = true;
    ++i;
  }
  if (i >= pattern.size()) return std::string_view::npos;
  matched = found != negate;
  return i + 1;
}

bool match_segment(std::string_view pattern, std::string_view text) {
  // A wildcard never matches a leading dot (minimatch's default `dot: false`).
  if (!text.empty() && text[0] == '.' && (pattern.empty() || pattern[0] != '.')) return false;
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
      continue;
    }
    if (p < pattern.size()) {
      if (pattern[p] == '?') {
        ++p;
        ++t;
        continue;
      }
      if (pattern[p] == '[') {
        bool matched = false;
        size_t next = match_class(pattern, p, text[t], matched);
        if (next != std::string_view::npos) {
          if (matched) {
            p = next;
            ++t;
            continue;
          }
        } else if (text[t] == '[') {
          ++p;
          ++t;
          continue;
        }
      } else if (pattern[p] == '\\' && p + 1 < pattern.size() && pattern[p + 1] == text[t]) {
        p += 2;
        ++t;
        continue;
      } else if (pattern[p] == text[t]) {
        ++p;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool match_segments(const std::vector<std::string_view>& pat, size_t pi,
                    const std::vector<std::string_view>& path, size_t ti) {
  if (pi == pat.size()) return ti == path.size();
  if (pat[pi] == "**") {
    // Any number of segments, none of them starting with '.'.
    for (size_t k = ti; k <= path.size(); ++k) {
      if (match_segments(pat, pi + 1, path, k)) return true;
      if (k < path.size() && !path[k].empty() && path[k][0] == '.') return false;
    }
    return false;
  }
  if (ti == path.size()) return false;
  return match_segment(pat[pi], path[ti]) && match_segments(pat, pi + 1, path, ti + 1);
}

struct Patterns {
  std::vector<std::string> include;
  std::vector<std::string> exclude;
};

/// map-workspaces' getPatterns / appendNegatedPatterns.
Patterns workspace_patterns(const std::vector<std::string>& globs) {
  Patterns out;
  for (std::string pattern : globs) {
    size_t bangs = 0;
    while (bangs < pattern.size() && pattern[bangs] == '!') ++bangs;
    pattern.erase(0, bangs);
    // strip a leading "/" or "./" (any number of slashes)
    size_t i = 0;
    if (i < pattern.size() && pattern[i] == '.' && i + 1 < pattern.size() &&
        pattern[i + 1] == '/') {
      ++i;
    }
    size_t slashes = i;
    while (slashes < pattern.size() && pattern[slashes] == '/') ++slashes;
    if (slashes > i) pattern.erase(0, slashes);
    if (bangs % 2 == 1) {
      out.exclude.push_back(pattern);
    } else {
      // A later positive pattern cancels earlier negations that it matches.
      std::erase_if(out.exclude, [&](const std::string& neg) { return glob_match(neg, pattern); });
      out.include.push_back(pattern);
    }
  }
  for (const std::string& neg : out.exclude) {
    std::erase_if(out.include, [&](const std::string& pat) { return glob_match(neg, pat); });
  }
  return out;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view path) {
  return match_segments(split_segments(pattern), 0, split_segments(path), 0);
}

std::vector<std::pair<std::string, std::string>> workspaces_from_lock(const Json& packages) {
  if (!packages.is_object()) return {};
  auto root = packages.find("");
  if (root == packages.end() || !root->is_object()) return {};
  auto ws = root->find("workspaces");
  if (ws == root->end()) return {};
  const Json* list = &*ws;
  if (list->is_object()) {
    auto pk = list->find("packages");
    if (pk == list->end()) return {};
    list = &*pk;
  }
  if (!list->is_array()) return {};
  std::vector<std::string> globs;
  for (const Json& g : *list) {
    if (g.is_string()) globs.push_back(g.get<std::string>());
  }
  return match_workspaces(packages, globs);
}

std::vector<std::pair<std::string, std::string>> match_workspaces(
    const Json& packages, const std::vector<std::string>& globs) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!packages.is_object()) return out;
  Patterns patterns = workspace_patterns(globs);
  if (patterns.include.empty()) return out;
  patterns.exclude.push_back("**/node_modules/**");

  std::vector<std::string> keys;
  for (const auto& [key, _] : packages.items()) {
    bool excluded = std::any_of(patterns.exclude.begin(), patterns.exclude.end(),
                                [&](const std::string& neg) { return glob_match(neg, key); });
    if (!excluded) keys.push_back(key);
  }
  // Keyed by path, as map-workspaces does: a folder matched by two patterns counts once,
  // in the order the first pattern found it.
  for (const std::string& pattern : patterns.include) {
    for (const std::string& key : keys) {
      if (!glob_match(pattern, key)) continue;
      if (std::any_of(out.begin(), out.end(), [&](const auto& w) { return w.second == key; })) {
        continue;
      }
      const Json& entry = packages[key];
      std::string name;
      if (auto n = entry.find("name"); n != entry.end() && n->is_string()) name = *n;
      if (name.empty()) name = name_from_folder(key);
      out.emplace_back(std::move(name), key);
    }
  }
  return out;
}

}  // namespace lade::lockfile
