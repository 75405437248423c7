#include "store/packlist.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>

#include "manifest/manifest.h"
#include "util/collate.h"
#include "util/fs.h"

namespace lade::store {

namespace fs = std::filesystem;

namespace {

// ---- minimatch, as ignore-walk configures it ----

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// brace-expansion for comma lists ("a{b,c{d,e}}" -> abd... ); a brace without a comma at its
/// level, or unclosed, is literal.
std::vector<std::string> expand_braces(const std::string& pattern) {
  size_t open = std::string::npos;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
      continue;
    }
    if (pattern[i] != '{') continue;
    int depth = 0;
    std::vector<size_t> commas;
    size_t close = std::string::npos;
    for (size_t j = i; j < pattern.size(); ++j) {
      char c = pattern[j];
      if (c == '\\') {
        ++j;
        continue;
      }
      if (c == '{') ++depth;
      if (c == '}' && --depth == 0) {
        close = j;
        break;
      }
      if (c == ',' && depth == 1) commas.push_back(j);
    }
    if (close == std::string::npos || commas.empty()) continue;
    open = i;
    std::vector<std::string> out;
    std::string pre = pattern.substr(0, open);
    std::string post = pattern.substr(close + 1);
    size_t begin = open + 1;
    commas.push_back(close);
    for (size_t c : commas) {
      for (const std::string& alt : expand_braces(pre + pattern.substr(begin, c - begin) + post)) {
        out.push_back(alt);
      }
      begin = c + 1;
    }
    return out;
  }
  return {pattern};
}

/// `[...]` at p (pattern[p] == '['): whether c matches; returns the index after ']' or npos.
size_t match_bracket(std::string_view p, size_t i, char c, bool& matched) {
  size_t j = i + 1;
  bool negate = false;
  if (j < p.size() && (p[j] == '!' || p[j] == '^')) {
    negate = true;
    ++j;
  }
  bool found = false;
  bool first = true;
  while (j < p.size() && (p[j] != ']' || first)) {
    first = false;
    char lo = p[j];
    if (lo == '\\' && j + 1 < p.size()) lo = p[++j];
    char hi = lo;
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      hi = p[j + 2];
      j += 2;
    }
    if (lo <= c && c <= hi) found = true;
    ++j;
  }
  if (j >= p.size()) return std::string_view::npos;
  matched = found != negate;
  return j + 1;
}

/// One path segment against one pattern segment with wildcards (both lower-cased).
bool match_glob_segment(std::string_view p, std::string_view t) {
  // A wildcard segment never matches an empty segment, nor "." / "..".
  if (t.empty() || t == "." || t == "..") return false;
  size_t pi = 0, ti = 0, star_p = std::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size()) {
      char c = p[pi];
      if (c == '*') {
        star_p = pi++;
        star_t = ti;
        continue;
      }
      if (c == '?') {
        ++pi;
        ++ti;
        continue;
      }
      if (c == '[') {
        bool matched = false;
        size_t next = match_bracket(p, pi, t[ti], matched);
        if (next != std::string_view::npos) {
          if (matched) {
            pi = next;
            ++ti;
            continue;
          }
        } else if (t[ti] == '[') {
          ++pi;
          ++ti;
          continue;
        }
      } else if (c == '\\' && pi + 1 < p.size()) {
        if (p[pi + 1] == t[ti]) {
          pi += 2;
          ++ti;
          continue;
        }
      } else if (c == t[ti]) {
        ++pi;
        ++ti;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p + 1;
    ti = ++star_t;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

struct Segment {
  enum Kind { kLiteral, kGlob, kGlobstar } kind = kLiteral;
  std::string text;  // lower-cased
};
using Alternative = std::vector<Segment>;

bool has_magic(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

Alternative compile_alternative(const std::string& pattern) {
  Alternative out;
  size_t start = 0;
  std::vector<std::string> parts;
  for (;;) {
    size_t slash = pattern.find('/', start);
    parts.push_back(
        pattern.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    // "a/./b" and "a//b" are "a/b"; consecutive globstars are one.
    if ((part == "." || part.empty()) && i > 0 && i + 1 < parts.size()) continue;
    Segment seg;
    if (part == "**") {
      if (!out.empty() && out.back().kind == Segment::kGlobstar) continue;
      seg.kind = Segment::kGlobstar;
    } else if (has_magic(part)) {
      seg.kind = Segment::kGlob;
      seg.text = lower(part);
    } else {
      seg.text = lower(unescape(part));
    }
    out.push_back(std::move(seg));
  }
  return out;
}

bool is_dot_segment(const std::string& s) { return s == "." || s == ".."; }

bool match_one(const std::vector<std::string>& file, size_t fi, const Alternative& pattern,
               size_t pi, bool partial) {
  const size_t fl = file.size(), pl = pattern.size();
  for (; fi < fl && pi < pl; ++fi, ++pi) {
    const Segment& p = pattern[pi];
    const std::string& f = file[fi];
    if (p.kind == Segment::kGlobstar) {
      size_t pr = pi + 1;
      if (pr == pl) {
        for (; fi < fl; ++fi) {
          if (is_dot_segment(file[fi])) return false;
        }
        return true;
      }
      for (size_t fr = fi; fr < fl; ++fr) {
        if (match_one(file, fr, pattern, pr, partial)) return true;
        if (is_dot_segment(file[fr])) break;
      }
      return partial;
    }
    bool hit = p.kind == Segment::kLiteral ? f == p.text : match_glob_segment(p.text, f);
    if (!hit) return false;
  }
  if (fi == fl && pi == pl) return true;
  if (fi == fl) return partial;
  return fi == fl - 1 && file[fi].empty();  // "a/" matches the pattern "a"
}

struct Rule {
  bool negate = false;
  std::vector<Alternative> set;
  /// ignore-walk's isRelativeRule: some alternative is one segment ("foo", or "foo/").
  bool relative = false;
};

Rule compile_rule(std::string_view text) {
  Rule rule;
  size_t bangs = 0;
  while (bangs < text.size() && text[bangs] == '!') ++bangs;
  rule.negate = bangs % 2 == 1;
  std::string body(text.substr(bangs));
  for (const std::string& alt : expand_braces(body)) {
    Alternative a = compile_alternative(alt);
    if (a.size() == 1 ||
        (a.size() == 2 && a.back().kind == Segment::kLiteral && a.back().text.empty())) {
      rule.relative = true;
    }
    rule.set.push_back(std::move(a));
  }
  return rule;
}

bool rule_matches(const Rule& rule, std::string_view path, bool partial) {
  if (path == "/" && partial) return true;
  std::vector<std::string> file;
  size_t start = 0;
  const std::string lowered = lower(path);
  for (;;) {
    size_t slash = lowered.find('/', start);
    file.push_back(
        lowered.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string base = file.back();
  for (size_t i = file.size() - 1; base.empty() && i-- > 0;) base = file[i];
  for (const Alternative& alt : rule.set) {
    // matchBase: a pattern without '/' looks at the base name only.
    if (alt.size() == 1) {
      if (match_one({base}, 0, alt, 0, partial)) return true;
    } else if (match_one(file, 0, alt, 0, partial)) {
      return true;
    }
  }
  return false;
}

std::vector<Rule> parse_rules(std::string_view text) {
  std::vector<Rule> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    size_t b = line.find_first_not_of(" \t\r\f\v");
    if (b == std::string_view::npos) continue;
    size_t e = line.find_last_not_of(" \t\r\f\v");
    line = line.substr(b, e - b + 1);
    if (line.empty() || line[0] == '#') continue;
    out.push_back(compile_rule(line));
  }
  return out;
}

// ---- npm-packlist over ignore-walk ----

constexpr const char* kDefaultRules[] = {
    ".npmignore",
    ".gitignore",
    "**/.git",
    "**/.svn",
    "**/.hg",
    "**/CVS",
    "**/.git/**",
    "**/.svn/**",
    "**/.hg/**",
    "**/CVS/**",
    "/.lock-wscript",
    "/.wafpickle-*",
    "/build/config.gypi",
    "npm-debug.log",
    "**/.npmrc",
    ".*.swp",
    ".DS_Store",
    "**/.DS_Store/**",
    "._*",
    "**/._*/**",
    "*.orig",
    "/archived-packages/**",
};

// Rule sets, in the order a walker applies them.
const std::string kDefaults =
    "\x01"
    "defaults";
const std::string kPackage = "package.json";
const std::string kNpmignore = ".npmignore";
const std::string kGitignore = ".gitignore";
const std::string kStrict =
    "\x01"
    "strict";

struct Walker {
  const Walker* parent = nullptr;
  fs::path path;
  std::string basename;
  bool is_package = false;
  bool exact = false;
  std::vector<std::string> required_files;
  std::vector<std::string> ignore_files;
  std::map<std::string, std::vector<Rule>> rules;

  bool filter(const std::string& entry, bool partial,
              const std::string* entry_basename = nullptr) const {
    bool included = true;
    if (parent) {
      const std::string parent_entry = basename + "/" + entry;
      included = parent->filter(parent_entry, partial, entry_basename ? entry_basename : &entry);
      if (!included && !exact) return false;
    }
    for (const std::string& file : ignore_files) {
      auto it = rules.find(file);
      if (it == rules.end()) continue;
      for (const Rule& rule : it->second) {
        // Negation includes: only rules that could change the verdict are tried.
        if (rule.negate == included) continue;
        const bool relative = entry_basename && rule.relative;
        auto m = [&](const std::string& p, bool part = false) {
          return rule_matches(rule, p, part);
        };
        bool match =
            m("/" + entry) || m(entry) ||
            (partial && (m("/" + entry + "/") || m(entry + "/") ||
                         (rule.negate && (m("/" + entry, true) || m(entry, true))) ||
                         (relative && (m("/" + *entry_basename + "/") || m(*entry_basename + "/") ||
                                       (rule.negate && (m("/" + *entry_basename, true) ||
                                                        m(*entry_basename, true)))))));
        if (match) included = rule.negate;
      }
    }
    return included;
  }
};

std::vector<Rule> rules_of(const std::vector<std::string>& lines) {
  std::vector<Rule> out;
  for (const auto& l : lines) out.push_back(compile_rule(l));
  return out;
}

/// npm-packlist's processPackage: the rules package.json implies for the package root.
util::Status process_package(Walker& w) {
  auto text = LADE_TRY(util::read_file(w.path / "package.json"));
  manifest::Json pkg = LADE_TRY(manifest::parse_json(text, (w.path / "package.json").string()));
  if (!pkg.is_object()) pkg = manifest::Json::object();
  std::vector<std::string> ignores;
  std::vector<std::string> strict = {"/.git",
                                     "!/package.json",
                                     "!/readme{,.*[^~$]}",
                                     "!/copying{,.*[^~$]}",
                                     "!/license{,.*[^~$]}",
                                     "!/licence{,.*[^~$]}",
                                     "/.git",
                                     "/node_modules",
                                     ".npmrc",
                                     "/package-lock.json",
                                     "/yarn.lock",
                                     "/pnpm-lock.yaml",
                                     "/bun.lockb"};
  auto files = pkg.find("files");
  if (files != pkg.end() && files->is_array()) {
    for (const auto& f : *files) {
      if (!f.is_string()) continue;
      std::string file = f.get<std::string>();
      if (file.rfind("./", 0) == 0) file.erase(0, 1);
      if (file.size() >= 2 && file.compare(file.size() - 2, 2, "/*") == 0) file += "*";
      const std::string inverse = "!" + file;
      std::string bare = file;
      while (!bare.empty() && bare[0] == '!') bare.erase(0, 1);
      struct stat st {};
      if (::lstat((w.path / fs::path(bare).relative_path()).c_str(), &st) == 0 &&
          (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
        if (S_ISREG(st.st_mode)) {
          strict.insert(strict.begin(), inverse);
          w.required_files.push_back(file[0] == '/' ? file.substr(1) : file);
        } else {
          ignores.push_back(inverse);
          ignores.push_back(inverse + "/**");
        }
      } else if (::lstat((w.path / fs::path(bare).relative_path()).c_str(), &st) != 0) {
        ignores.push_back(inverse);  // not there: a pattern
      }
    }
    std::vector<std::string> package_rules{"*"};
    package_rules.insert(package_rules.end(), ignores.begin(), ignores.end());
    w.rules[kPackage] = rules_of(package_rules);
  }
  auto string_at = [&](const char* key) -> std::string {
    auto it = pkg.find(key);
    return it != pkg.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (std::string browser = string_at("browser"); !browser.empty())
    strict.push_back("!/" + browser);
  if (std::string main = string_at("main"); !main.empty()) strict.push_back("!/" + main);
  manifest::Manifest m = manifest::manifest_from_json(pkg);
  for (const auto& [_, bin] : m.bin) strict.push_back("!/" + bin);
  w.rules[kStrict] = rules_of(strict);
  return {};
}

bool bad_name(const std::string& name) { return name.find('*') != std::string::npos; }

util::Status walk(Walker& w, const fs::path& root, std::vector<std::string>& out) {
  std::vector<std::string> entries;
  std::error_code ec;
  for (auto it = fs::directory_iterator(w.path, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    entries.push_back(it->path().filename().string());
  }
  if (ec) return util::make_error("EIO", "cannot read " + w.path.string() + ": " + ec.message());

  for (const std::string& e : entries) {
    if (std::find(w.ignore_files.begin(), w.ignore_files.end(), e) == w.ignore_files.end())
      continue;
    if (e == kPackage) {
      if (w.is_package) LADE_TRY(process_package(w));
      continue;
    }
    if (auto text = util::read_file(w.path / e)) w.rules[e] = parse_rules(*text);
  }
  // package.json's "files" overrides .npmignore, which overrides .gitignore.
  if (w.rules.count(kPackage)) {
    w.rules.erase(kNpmignore);
    w.rules.erase(kGitignore);
  } else if (w.rules.count(kNpmignore)) {
    w.rules.erase(kGitignore);
  }

  for (const std::string& entry : entries) {
    bool pass_file = w.filter(entry, false);
    bool pass_dir = w.filter(entry, true);
    if (!pass_file && !pass_dir) continue;
    if (bad_name(entry)) continue;
    struct stat st {};
    const fs::path abs = w.path / entry;
    if (::lstat(abs.c_str(), &st) != 0) continue;
    if (S_ISREG(st.st_mode)) {
      if (pass_file) out.push_back(abs.lexically_relative(root).generic_string());
      continue;
    }
    if (!S_ISDIR(st.st_mode) || !pass_dir) continue;
    Walker child;
    child.parent = &w;
    child.path = abs;
    child.basename = entry;
    child.exact = pass_file || w.filter(entry + "/", false);
    child.ignore_files = {kDefaults, kNpmignore, kGitignore, kStrict};
    child.rules[kDefaults] = w.rules.at(kDefaults);
    std::vector<std::string> strict{"/.git"};
    for (const std::string& f : w.required_files) {
      // Only files directly inside that folder travel down.
      size_t slash = f.find('/');
      if (slash != std::string::npos && f.substr(0, slash) == entry &&
          f.find('/', slash + 1) == std::string::npos) {
        std::string inner = f.substr(slash + 1);
        child.required_files.push_back(inner);
        strict.push_back("!" + inner);
      }
    }
    child.rules[kStrict] = rules_of(strict);
    LADE_TRY(walk(child, root, out));
  }
  return {};
}

std::string extension_of(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  return lower(base.substr(dot));
}

std::string base_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return lower(slash == std::string::npos ? path : path.substr(slash + 1));
}

}  // namespace

bool ignore_pattern_match(std::string_view pattern, std::string_view path, bool partial) {
  return rule_matches(compile_rule(pattern), path, partial);
}

util::Result<std::vector<std::string>> pack_list(const fs::path& dir) {
  Walker root;
  root.path = dir;
  root.basename = dir.filename().string();
  root.is_package = true;
  root.ignore_files = {kDefaults, kPackage, kNpmignore, kGitignore, kStrict};
  std::vector<std::string> defaults(std::begin(kDefaultRules), std::end(kDefaultRules));
  root.rules[kDefaults] = rules_of(defaults);
  std::vector<std::string> out;
  LADE_TRY(walk(root, dir, out));
  // npm sorts for compressibility: extension, then base name, then the whole path.
  std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    std::string ea = extension_of(a), eb = extension_of(b);
    if (ea != eb) return util::locale_less(ea, eb);
    std::string ba = base_of(a), bb = base_of(b);
    if (ba != bb) return util::locale_less(ba, bb);
    return util::locale_less(a, b);
  });
  return out;
}

}  // namespace lade::store
