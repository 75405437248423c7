#include "lockfile/yarn_lock.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <set>

#include "manifest/json_text.h"
#include "manifest/spec.h"
#include "semver/version.h"
#include "util/collate.h"

namespace lade::lockfile {

namespace fs = std::filesystem;

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}
std::string_view trim(std::string_view s) { return trim_right(trim_left(s)); }

bool has_no_space(std::string_view s) { return std::none_of(s.begin(), s.end(), is_space); }

// The line forms of npm's parser (yarn-lock.js), as its regular expressions define them.
bool entry_start(std::string_view line) {  // /^[^\s].*:$/
  return line.size() >= 2 && !is_space(line.front()) && line.back() == ':';
}
bool indented_key_value(std::string_view line, size_t indent) {  // /^ {n}[^\s]+ .+$/
  if (line.size() < indent || line.substr(0, indent).find_first_not_of(' ') != std::string_view::npos) return false;
  std::string_view rest = line.substr(indent);
  const size_t space = rest.find_first_of(" \t\n\r\v\f");
  return space != 0 && space != std::string_view::npos && rest[space] == ' ' && space + 1 < rest.size();
}
bool subkey(std::string_view line) {  // /^ {2}[^\s]+:$/
  return line.size() >= 4 && line.substr(0, 2) == "  " && line.back() == ':' && has_no_space(line.substr(2));
}

// npm's splitQuoted: splits on `delim` (", *" for entry headers, one space for key and value),
// then joins a quoted chunk with the chunks up to the one that ends its quote (without putting
// the delimiter back) and takes the quotes off. Escapes are kept as written.
std::vector<std::string> split_quoted(std::string_view str, bool header) {
  std::vector<std::string_view> split;
  size_t start = 0;
  for (size_t i = 0; i < str.size();) {
    if ((header && str[i] == ',') || (!header && str[i] == ' ')) {
      split.push_back(str.substr(start, i - start));
      ++i;
      if (header) {
        while (i < str.size() && str[i] == ' ') ++i;
      }
      start = i;
    } else {
      ++i;
    }
  }
  split.push_back(str.substr(start));

  auto ends_quote = [](std::string_view s) {  // /[^\\](\\\\)*"$/
    if (s.size() < 2 || s.back() != '"') return false;
    size_t backslashes = 0;
    size_t i = s.size() - 1;
    while (i > 0 && s[i - 1] == '\\') {
      ++backslashes;
      --i;
    }
    return i > 0 && backslashes % 2 == 0;
  };
  std::vector<std::string> out;
  for (size_t i = 0; i < split.size(); ++i) {
    std::string_view chunk = split[i];
    if (chunk.size() >= 2 && chunk.front() == '"' && chunk.back() == '"') {
      std::string_view t = trim(chunk);
      out.emplace_back(t.substr(1, t.size() - 2));
    } else if (!chunk.empty() && chunk.front() == '"') {
      std::string collect(trim_left(chunk).substr(1));
      while (++i < split.size()) {
        std::string_view piece = split[i];
        if (ends_quote(piece)) {
          std::string_view t = trim_right(piece);
          collect += t.substr(0, t.size() - 1);
          break;
        }
        collect += piece;
      }
      out.push_back(std::move(collect));
    } else {
      out.emplace_back(trim(chunk));
    }
  }
  return out;
}

struct TarballName {
  std::string name;
  std::string version;
};

// version-from-tgz's versionFromBaseScopeName.
std::optional<TarballName> from_base(std::string_view base, std::string_view scope, std::string_view project) {
  if (base.size() < project.size() + 1 + 4 || base.substr(0, project.size()) != project || base[project.size()] != '-') {
    return std::nullopt;
  }
  auto v = semver::Version::parse(base.substr(project.size() + 1, base.size() - project.size() - 1 - 4));
  if (!v) return std::nullopt;
  TarballName t;
  t.name = !scope.empty() && scope.front() == '@' ? std::string(scope) + "/" + std::string(project) : std::string(project);
  t.version = std::string(v->str());
  return t;
}

// '/'- or "%2f"-separated parts (npm splits on /\/|%2f/i).
std::vector<std::string_view> split_path(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '/') {
      parts.push_back(s.substr(start, i - start));
      start = ++i;
    } else if (s[i] == '%' && i + 2 < s.size() && s[i + 1] == '2' && (s[i + 2] == 'f' || s[i + 2] == 'F')) {
      parts.push_back(s.substr(start, i - start));
      i += 3;
      start = i;
    } else {
      ++i;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

// The name and version in a registry tarball URL (`<registry>/<name>/-/<name>-<version>.tgz`,
// version-from-tgz's first form); nullopt when `url` does not have that form, and an empty name
// when it has it but the file name does not match.
std::optional<TarballName> registry_tarball(std::string_view url) {
  const size_t scheme = url.starts_with("https://") ? 8 : url.starts_with("http://") ? 7 : 0;
  if (!scheme) return std::nullopt;
  const std::string_view base = url.substr(url.rfind('/') + 1);
  if (!base.ends_with(".tgz")) return std::nullopt;
  std::string_view path = url.substr(scheme);
  const size_t slash = path.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  path = path.substr(slash + 1);
  path = path.substr(0, std::min(path.find('?'), path.find('#')));
  std::vector<std::string_view> around;  // pathname.slice(1).split('/-/')
  for (size_t start = 0;;) {
    const size_t at = path.find("/-/", start);
    around.push_back(path.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 3;
  }
  if (around.size() < 2 || around.back() != base) return std::nullopt;
  auto parts = split_path(around[around.size() - 2]);
  const std::string_view project = parts.back();
  const std::string_view scope = parts.size() >= 2 ? parts[parts.size() - 2] : std::string_view();
  if (auto t = from_base(base, scope, project)) return t;
  return TarballName{};
}

// version-from-tgz's fallback: the file name read with the dependency's own name.
std::optional<TarballName> tarball_named_for(std::string_view url, std::string_view name) {
  std::string_view base = url.substr(url.rfind('/') + 1);
  if (!base.ends_with(".tgz")) return std::nullopt;
  auto parts = split_path(name);
  return from_base(base, parts.size() >= 2 ? parts[parts.size() - 2] : std::string_view(), parts.back());
}

// A registry tarball URL at the root of a host other than `registry`'s, moved there (npm moves
// its yarn mirror's URLs to the npm registry); other URLs as they are.
std::string on_registry(const std::string& url, const std::string& registry) {
  if (registry.empty() || url.starts_with(registry)) return url;
  const size_t scheme = url.starts_with("https://") ? 8 : url.starts_with("http://") ? 7 : 0;
  if (!scheme) return url;
  const size_t path = url.find('/', scheme);
  if (path == std::string::npos) return url;
  auto tgz = registry_tarball(url);
  if (!tgz || tgz->name.empty()) return url;
  // Only a registry mounted at the root: "/<name>/-/<file>".
  const std::string root_form = "/" + tgz->name + "/-/" + url.substr(url.rfind('/') + 1);
  if (url.compare(path, std::string::npos, root_form) != 0) return url;
  return (registry.ends_with('/') ? registry.substr(0, registry.size() - 1) : registry) + root_form;
}

// npm's quoteIfNeeded for yarn.lock keys and values.
void append_quoted_if_needed(std::string& out, std::string_view v) {
  const bool plain = !v.empty() && ((v.front() >= 'a' && v.front() <= 'z') || (v.front() >= 'A' && v.front() <= 'Z')) &&
                     !v.starts_with("true") && !v.starts_with("false") &&
                     v.find_first_of(":\\\",[] \t\n\r\v\f") == std::string_view::npos;
  if (plain) {
    out += v;
  } else {
    manifest::append_js_string(out, v);
  }
}

struct OutEntry {
  std::vector<std::string> specs;  // a set: no duplicates
  std::string version, resolved, integrity;
  const manifest::DependencyList* dependencies = nullptr;
  const manifest::DependencyList* optional_dependencies = nullptr;

  void add_spec(const std::string& s) {
    if (std::find(specs.begin(), specs.end(), s) == specs.end()) specs.push_back(s);
  }
  // Object.assign(entry, data): the fields the node has replace the entry's.
  void take(const OutEntry& data) {
    if (!data.version.empty()) version = data.version;
    if (!data.resolved.empty()) resolved = data.resolved;
    if (!data.integrity.empty()) integrity = data.integrity;
    if (data.dependencies) dependencies = data.dependencies;
    if (data.optional_dependencies) optional_dependencies = data.optional_dependencies;
  }
  std::string text() const;
};

void append_dependencies(std::string& out, const char* key, const manifest::DependencyList* deps) {
  if (!deps || deps->empty()) return;
  std::vector<const std::pair<std::string, std::string>*> sorted;
  for (const auto& d : *deps) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return util::locale_less(a->first, b->first); });
  out += "  ";
  out += key;
  out += ":\n";
  for (size_t i = 0; i < sorted.size(); ++i) {
    out += "    ";
    append_quoted_if_needed(out, sorted[i]->first);
    out += ' ';
    append_quoted_if_needed(out, sorted[i]->second);
    out += '\n';
  }
}

std::string OutEntry::text() const {
  std::vector<std::string> sorted = specs;
  std::stable_sort(sorted.begin(), sorted.end(), util::locale_less);
  std::string out;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i) out += ", ";
    append_quoted_if_needed(out, sorted[i]);
  }
  out += ":\n";
  if (!version.empty()) {
    out += "  version ";
    manifest::append_js_string(out, version);
    out += '\n';
  }
  if (!resolved.empty()) {
    out += "  resolved ";
    manifest::append_js_string(out, resolved);
    out += '\n';
  }
  if (!integrity.empty()) out += "  integrity " + integrity + "\n";
  append_dependencies(out, "dependencies", dependencies);
  append_dependencies(out, "optionalDependencies", optional_dependencies);
  return std::string(trim(out));
}

// yarn-lock.js's match: the same integrity, else resolved, else version, when both have one.
bool same_resolution(const OutEntry& a, const OutEntry& b) {
  if (!a.integrity.empty() && !b.integrity.empty()) return a.integrity == b.integrity;
  if (!a.resolved.empty() && !b.resolved.empty()) return a.resolved == b.resolved;
  if (!a.version.empty() && !b.version.empty()) return a.version == b.version;
  return true;
}

}  // namespace

YarnLock parse_yarn_lock(std::string_view text) {
  YarnLock lock;
  constexpr size_t kNone = static_cast<size_t>(-1);
  size_t current = kNone;
  bool in_subkey = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    // /([^\r\n]*)\r?\n/g: a line is what follows its last lone carriage return.
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (size_t cr = line.rfind('\r'); cr != std::string_view::npos) line.remove_prefix(cr + 1);

    if (!line.empty() && line.front() == '#') continue;
    if (line.empty()) {
      current = kNone;
      in_subkey = false;
      continue;
    }
    if (entry_start(line)) {
      in_subkey = false;
      current = lock.entries.size();
      lock.entries.emplace_back();
      for (auto& spec : split_quoted(line.substr(0, line.size() - 1), true)) lock.by_spec[spec] = current;
      continue;
    }
    if (subkey(line)) {
      if (current == kNone) {  // npm's parser throws here
        lock.complete = false;
        break;
      }
      in_subkey = true;
      if (line.substr(2, line.size() - 3) == "version") lock.entries[current].version.clear();
      continue;
    }
    if (indented_key_value(line, 4) && current != kNone && in_subkey && split_quoted(trim_left(line), false).size() == 2) {
      continue;
    }
    if (indented_key_value(line, 2) && current != kNone) {
      auto kv = split_quoted(trim_left(line), false);
      if (kv.size() == 2) {
        YarnLockEntry& e = lock.entries[current];
        if (kv[0] == "version") {
          e.version = kv[1];
        } else if (kv[0] == "resolved") {
          e.resolved = kv[1].substr(0, kv[1].find('#'));
        } else if (kv[0] == "integrity") {
          e.integrity = kv[1];
        }
        continue;
      }
    }
    lock.complete = false;  // "invalid or corrupted yarn.lock file": npm keeps what it read
    break;
  }
  return lock;
}

std::optional<YarnPin> yarn_pin(const YarnLock& lock, std::string_view name, std::string_view spec) {
  std::string key;
  key.reserve(name.size() + 1 + spec.size());
  key.append(name).append("@").append(spec);
  auto it = lock.by_spec.find(key);
  if (it == lock.by_spec.end()) return std::nullopt;
  const YarnLockEntry& e = lock.entries[it->second];
  if (e.version.empty() || e.resolved.empty()) return std::nullopt;
  auto parsed = manifest::resolve_spec(name, spec, std::filesystem::path("/"));
  const bool registry_spec = parsed && parsed->registry;
  YarnPin pin;
  pin.integrity = e.integrity;
  pin.spec = e.resolved;
  if (registry_spec && (e.resolved.starts_with("https://") || e.resolved.starts_with("http://"))) {
    auto tgz = registry_tarball(e.resolved);
    if (!tgz || tgz->name.empty()) tgz = tarball_named_for(e.resolved, name);
    if (tgz) {
      pin.spec = tgz->name == name && tgz->version == e.version ? tgz->version
                                                                 : "npm:" + tgz->name + "@" + tgz->version;
    }
  }
  return pin;
}

std::string yarn_spec_key(const tree::Node& node, const tree::Edge& edge, const fs::path& project_dir) {
  // arborist gives a workspace edge the folder's absolute path.
  if (edge.workspace() && edge.spec().starts_with("file:")) {
    return node.name + "@file:" + (project_dir / edge.spec().substr(5)).lexically_normal().string();
  }
  return node.name + "@" + edge.spec();
}

YarnFill yarn_fill(const tree::Node& node, const YarnLock& lock, const fs::path& project_dir,
                   const std::string& registry) {
  YarnFill fill;
  if (node.is_link || (!node.resolved.empty() && !node.integrity.empty())) return fill;
  auto differ = [](const std::string& a, const std::string& b) { return !a.empty() && !b.empty() && a != b; };
  std::string resolved = node.resolved, integrity = node.integrity;
  for (const tree::Edge* e : node.edges_in()) {
    if (!resolved.empty() && !integrity.empty()) break;
    if (!e->valid()) continue;
    auto it = lock.by_spec.find(yarn_spec_key(node, *e, project_dir));
    if (it == lock.by_spec.end()) continue;
    const YarnLockEntry& was = lock.entries[it->second];
    if (differ(node.version(), was.version) || differ(integrity, was.integrity) || differ(resolved, was.resolved)) {
      continue;
    }
    if (integrity.empty() && !was.integrity.empty()) integrity = fill.integrity = was.integrity;
    if (resolved.empty() && !was.resolved.empty()) {
      const bool registry_spec = [&] {
        auto parsed = manifest::resolve_spec(node.name, e->spec(), fs::path("/"));
        return parsed && parsed->registry;
      }();
      resolved = fill.resolved = registry_spec ? on_registry(was.resolved, registry) : was.resolved;
    }
  }
  return fill;
}

void fill_from_yarn_lock(tree::Tree& tree, const YarnLock& lock, const fs::path& project_dir,
                         const std::string& registry) {
  for (tree::Node* n : tree.inventory()) {
    YarnFill fill = yarn_fill(*n, lock, project_dir, registry);
    if (!fill.integrity.empty()) n->integrity = fill.integrity;
    if (!fill.resolved.empty() && !registry.empty() && fill.resolved.starts_with(registry)) n->resolved = fill.resolved;
  }
}

std::string yarn_lock_text(tree::Tree& tree, const fs::path& project_dir, const YarnLock* previous,
                           const std::string& registry, const std::function<bool(const tree::Node&)>& exclude) {
  std::vector<std::unique_ptr<OutEntry>> owned;
  // A JavaScript Map: its keys in the order they were first set.
  std::unordered_map<std::string, OutEntry*> by_spec;
  std::vector<std::string> key_order;
  auto index = [&](const std::string& spec, OutEntry* entry) {
    auto [it, added] = by_spec.emplace(spec, entry);
    if (added) {
      key_order.push_back(spec);
    } else {
      it->second = entry;
    }
  };

  // A node left out, or below one: what it declares is not asked for.
  auto excluded = [&](const tree::Node* n) {
    if (!exclude) return false;
    for (; n; n = n->parent()) {
      if (exclude(*n)) return true;
    }
    return false;
  };

  auto add_node = [&](tree::Node* node) {
    std::vector<std::string> specs;
    for (const tree::Edge* e : node->edges_in()) {
      if (excluded(e->from())) continue;
      specs.push_back(yarn_spec_key(*node, *e, project_dir));
    }
    std::stable_sort(specs.begin(), specs.end(), util::locale_less);

    OutEntry data;
    const tree::Node* pkg_node = node->is_link && node->target ? node->target : node;
    const manifest::Manifest& pkg = pkg_node->package;
    if (!pkg.dependencies.empty()) data.dependencies = &pkg.dependencies;
    if (!pkg.optional_dependencies.empty()) data.optional_dependencies = &pkg.optional_dependencies;
    data.version = pkg.version;
    data.resolved = node->is_link ? "file:" + node->realpath : node->resolved;
    data.integrity = node->is_link ? std::string() : node->integrity;
    if (previous) {
      YarnFill fill = yarn_fill(*node, *previous, project_dir, registry);
      if (data.resolved.empty()) data.resolved = fill.resolved;
      if (data.integrity.empty()) data.integrity = fill.integrity;
    }

    OutEntry* prior = nullptr;
    std::vector<std::string> new_specs;
    for (const std::string& s : specs) {
      auto found = by_spec.find(s);
      if (found == by_spec.end()) {
        // As npm does, a spec added to an entry met earlier in this loop is not indexed.
        if (prior) {
          prior->add_spec(s);
        } else {
          new_specs.push_back(s);
        }
        continue;
      }
      OutEntry* prev = found->second;
      if (!same_resolution(*prev, data)) continue;
      if (!prior) {
        prior = prev;
        for (const std::string& n : new_specs) {
          prior->add_spec(n);
          index(n, prior);
        }
        new_specs.clear();
        continue;
      }
      prior->add_spec(s);
      index(s, prior);
    }
    if (!prior) {
      auto entry = std::make_unique<OutEntry>(data);
      for (const std::string& s : new_specs) {
        entry->add_spec(s);
        index(s, entry.get());
      }
      owned.push_back(std::move(entry));
    } else {
      prior->take(data);
    }
  };

  // treeverse's breadth: each node's children and fs children, by depth, then name.
  std::deque<tree::Node*> queue{tree.root()};
  while (!queue.empty()) {
    tree::Node* node = queue.front();
    queue.pop_front();
    add_node(node);
    std::vector<tree::Node*> next;
    for (const auto& [_, c] : node->children()) {
      if (!exclude || !exclude(*c)) next.push_back(c);
    }
    for (tree::Node* c : node->fs_children()) {
      if (!exclude || !exclude(*c)) next.push_back(c);
    }
    std::vector<std::pair<int, tree::Node*>> keyed;
    for (tree::Node* c : next) keyed.emplace_back(c->depth(), c);
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first < b.first;
      return util::locale_less(a.second->name, b.second->name);
    });
    for (const auto& [_, c] : keyed) queue.push_back(c);
  }

  std::set<const OutEntry*> listed;
  std::vector<std::pair<std::string, std::string>> texts;  // (text without quotes, text)
  for (const std::string& key : key_order) {
    const OutEntry* e = by_spec.at(key);
    if (!listed.insert(e).second) continue;
    std::string t = e->text();
    std::string unquoted;
    std::copy_if(t.begin(), t.end(), std::back_inserter(unquoted), [](char c) { return c != '"'; });
    texts.emplace_back(std::move(unquoted), std::move(t));
  }
  std::stable_sort(texts.begin(), texts.end(), [](const auto& a, const auto& b) { return util::locale_less(a.first, b.first); });
  if (texts.empty()) return {};
  std::string out = "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n";
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i) out += "\n\n";
    out += texts[i].second;
  }
  out += '\n';
  return out;
}

}  // namespace lade::lockfile
