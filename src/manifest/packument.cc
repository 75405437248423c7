#include "manifest/packument.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "manifest/json_text.h"
#include "util/date.h"

namespace lade::manifest {
namespace {

namespace od = simdjson::ondemand;

util::Error parse_error(std::string_view name, std::string_view text, std::string_view detail) {
  // The strict checker gives the same message JSON.parse would; simdjson's is the fallback.
  if (auto err = find_json_syntax_error(text)) {
    return util::make_error("EJSONPARSE", std::string(name) + ": " + err->npm_message + " (line " +
                                              std::to_string(err->line) + ", column " +
                                              std::to_string(err->column) + ")");
  }
  return util::make_error("EJSONPARSE",
                          std::string(name) + ": invalid packument: " + std::string(detail));
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// What becomes of one field of a version object in the compact document.
enum class Keep : uint8_t {
  Drop,
  Verbatim,
  Deprecated,  // verbatim, and indexed
  Engines,     // verbatim, and engines.node indexed
  Scripts,     // only the install lifecycle scripts
  Dist,        // only tarball, integrity, shasum
};

struct FieldRule {
  std::string_view key;
  Keep keep;
};

// Every key manifest_from_json reads. A field added to Manifest must be added here, or it is
// lost for registry packages; the unit test "compaction keeps every field a Manifest reads"
// catches that.
constexpr std::array<FieldRule, 25> kVersionFields{{
    {"name", Keep::Verbatim},
    {"version", Keep::Verbatim},
    {"dependencies", Keep::Verbatim},
    {"devDependencies", Keep::Verbatim},
    {"optionalDependencies", Keep::Verbatim},
    {"peerDependencies", Keep::Verbatim},
    {"peerDependenciesMeta", Keep::Verbatim},
    {"acceptDependencies", Keep::Verbatim},
    {"bundleDependencies", Keep::Verbatim},
    {"bundledDependencies", Keep::Verbatim},
    {"bin", Keep::Verbatim},
    {"scripts", Keep::Scripts},
    {"hasInstallScript", Keep::Verbatim},
    {"deprecated", Keep::Deprecated},
    {"workspaces", Keep::Verbatim},
    {"license", Keep::Verbatim},
    {"engines", Keep::Engines},
    {"os", Keep::Verbatim},
    {"cpu", Keep::Verbatim},
    {"libc", Keep::Verbatim},
    {"funding", Keep::Verbatim},
    {"overrides", Keep::Verbatim},
    {"dist", Keep::Dist},
    {"_hasShrinkwrap", Keep::Verbatim},
    {"hasShrinkwrap", Keep::Verbatim},
}};

Keep version_field_rule(std::string_view key) {
  for (const FieldRule& rule : kVersionFields) {
    if (rule.key == key) return rule.keep;
  }
  return Keep::Drop;
}

bool is_kept_script(std::string_view key) {
  return key == "preinstall" || key == "install" || key == "postinstall";
}

bool is_kept_dist_field(std::string_view key) {
  return key == "tarball" || key == "integrity" || key == "shasum";
}

/// A key as written between its quotes (escapes included). simdjson has checked that the
/// string is closed, so the scan stops inside the buffer.
/// Calls `on_time(version, milliseconds)` for each version's entry of a "time" object: a
/// registry's ISO text, or the number a compact document keeps.
template <class OnTime>
simdjson::error_code for_each_time(od::object& times, OnTime on_time) {
  for (auto entry : times) {
    std::string_view key;
    if (auto e = entry.unescaped_key().get(key)) return e;
    if (key == "created" || key == "modified") continue;
    std::string version(key);  // the key's view lasts only until the value is read
    od::value when;
    if (auto e = entry.value().get(when)) return e;
    std::string_view iso;
    int64_t ms = 0;
    if (!when.get_string().get(iso)) {
      if (auto parsed = util::parse_iso_date(iso)) on_time(std::move(version), *parsed);
    } else if (!when.get_int64().get(ms)) {
      on_time(std::move(version), ms);
    }
  }
  return simdjson::SUCCESS;
}

std::string_view raw_key_text(od::raw_json_string key) {
  const char* begin = key.raw();
  const char* p = begin;
  while (*p != '"') p += *p == '\\' ? 2 : 1;
  return std::string_view(begin, static_cast<size_t>(p - begin));
}

/// The key's text once unescaped; `scratch` holds it when it had escapes (rare in practice).
std::string_view key_name(std::string_view raw, std::string& scratch) {
  if (raw.find('\\') == std::string_view::npos) return raw;
  Json decoded = Json::parse("\"" + std::string(raw) + "\"", nullptr, /*allow_exceptions=*/false);
  scratch = decoded.is_string() ? decoded.get<std::string>() : std::string(raw);
  return scratch;
}

/// The JSON text of a value, consuming it (trailing whitespace cut).
simdjson::error_code raw_value(od::value& value, std::string_view& out) {
  od::json_type type;
  if (auto e = value.type().get(type)) return e;
  if (type == od::json_type::object) {
    od::object obj;
    if (auto e = value.get_object().get(obj)) return e;
    if (auto e = obj.raw_json().get(out)) return e;
  } else if (type == od::json_type::array) {
    od::array arr;
    if (auto e = value.get_array().get(arr)) return e;
    if (auto e = arr.raw_json().get(out)) return e;
  } else {
    out = value.raw_json_token();
  }
  out = trim_right(out);
  return simdjson::SUCCESS;
}

/// Appends `"raw key":` (with a leading comma unless first).
void append_key(std::string& out, std::string_view raw_key, bool& first) {
  if (!first) out += ',';
  first = false;
  out += '"';
  out += raw_key;
  out += "\":";
}

/// Appends an object holding only the members `wanted` accepts, each value verbatim; a value
/// that is not an object is appended verbatim (manifest_from_json ignores it the same way).
simdjson::error_code append_filtered(od::value& value, bool (*wanted)(std::string_view),
                                     std::string& out) {
  od::json_type type;
  if (auto e = value.type().get(type)) return e;
  if (type != od::json_type::object) {
    std::string_view raw;
    if (auto e = raw_value(value, raw)) return e;
    out += raw;
    return simdjson::SUCCESS;
  }
  od::object obj;
  if (auto e = value.get_object().get(obj)) return e;
  out += '{';
  bool first = true;
  std::string scratch;
  for (auto field : obj) {
    od::raw_json_string key;
    if (auto e = field.key().get(key)) return e;
    std::string_view raw_key = raw_key_text(key);
    if (!wanted(key_name(raw_key, scratch))) continue;
    od::value member;
    if (auto e = field.value().get(member)) return e;
    std::string_view raw;
    if (auto e = raw_value(member, raw)) return e;
    append_key(out, raw_key, first);
    out += raw;
  }
  out += '}';
  return simdjson::SUCCESS;
}

/// JavaScript truthiness of a raw JSON value (`!!JSON.parse(raw)`): false, null, "", 0 (in any
/// spelling: -0, 0.0, 0e5) are falsy; every other value, objects and arrays included, is truthy.
bool js_truthy_raw(std::string_view raw) {
  if (raw.empty() || raw == "false" || raw == "null" || raw == "\"\"") return false;
  char c = raw.front();
  if (c == '-' || (c >= '0' && c <= '9')) {
    // A JSON number is zero exactly when every digit of its mantissa is zero.
    for (char ch : raw) {
      if (ch == 'e' || ch == 'E') break;
      if (ch >= '1' && ch <= '9') return true;
    }
    return false;
  }
  return true;
}

/// Reads engines.node (the last "node" member, as JSON.parse keeps it); leaves everything else
/// of "engines" unread. npm-install-checks tests `eng.node && !satisfies(nodeVersion, eng.node)`:
/// a falsy value is not checked (empty), and a truthy non-string is no range, so no node
/// version satisfies it (kUnsatisfiableEngine).
simdjson::error_code read_engines_node(od::value engines, std::string& out) {
  od::object obj;
  if (engines.get_object().get(obj)) return simdjson::SUCCESS;  // not an object: ignored
  for (auto field : obj) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    if (key != "node") continue;
    od::value value;
    if (auto e = field.value().get(value)) return e;
    od::json_type type;
    if (auto e = value.type().get(type)) return e;
    if (type == od::json_type::string) {
      std::string_view node;
      if (auto e = value.get_string().get(node)) return e;
      out.assign(node);
    } else {
      std::string_view raw;
      if (auto e = raw_value(value, raw)) return e;
      out.assign(js_truthy_raw(raw) ? kUnsatisfiableEngine : std::string_view());
    }
  }
  return simdjson::SUCCESS;
}

/// What the index keeps of a version besides its key and its span.
struct VersionFields {
  bool deprecated = false;
  std::string engines_node;
};

/// Walks one version object: fills `pv` and appends the compact object to `out`.
simdjson::error_code read_version(od::document& doc, od::object& obj, VersionFields& pv,
                                  std::string& out) {
  bool first = true;
  std::string scratch;
  out += '{';
  for (auto field : obj) {
    // Raw key comparison: no unescaping for the dozens of keys that are not wanted.
    od::raw_json_string key;
    if (auto e = field.key().get(key)) return e;
    std::string_view raw_key = raw_key_text(key);
    const Keep keep = version_field_rule(key_name(raw_key, scratch));
    if (keep == Keep::Drop) continue;  // skipped unread
    od::value value;
    if (auto e = field.value().get(value)) return e;
    append_key(out, raw_key, first);

    if (keep == Keep::Deprecated) {
      od::json_type type;
      if (auto e = value.type().get(type)) return e;
      std::string_view raw;
      if (type == od::json_type::string) {
        raw = trim_right(value.raw_json_token());
        std::string_view msg;
        if (auto e = value.get_string().get(msg)) return e;
        pv.deprecated = !msg.empty();
      } else {
        // npm-pick-manifest tests `!manifest.deprecated`: true, 1, {} and [] deprecate too.
        if (auto e = raw_value(value, raw)) return e;
        pv.deprecated = js_truthy_raw(raw);
      }
      out += raw;
    } else if (keep == Keep::Engines) {
      od::json_type type;
      if (auto e = value.type().get(type)) return e;
      if (type == od::json_type::object) {
        const char* begin = value.raw_json_token().data();
        if (auto e = read_engines_node(value, pv.engines_node)) return e;
        // After its members are walked, the document's current location is the token after
        // the object's closing brace.
        const char* end = nullptr;
        if (auto e = doc.current_location().get(end)) return e;
        out += trim_right(std::string_view(begin, static_cast<size_t>(end - begin)));
      } else {
        std::string_view raw;
        if (auto e = raw_value(value, raw)) return e;
        out += raw;
      }
    } else if (keep == Keep::Scripts) {
      if (auto e = append_filtered(value, is_kept_script, out)) return e;
    } else if (keep == Keep::Dist) {
      if (auto e = append_filtered(value, is_kept_dist_field, out)) return e;
    } else {
      std::string_view raw;
      if (auto e = raw_value(value, raw)) return e;
      out += raw;
    }
  }
  out += '}';
  return simdjson::SUCCESS;
}

/// Finds where JSON values end without parsing them: the large-document path indexes members
/// one at a time with this. Offsets are into the text; npos means malformed (simdjson checks
/// the members that are read; the rest only has to be balanced, as simdjson's on-demand
/// skipping of unread values also only checks).
class JsonSkimmer {
 public:
  static constexpr size_t npos = std::string_view::npos;
  explicit JsonSkimmer(std::string_view text) : s_(text) {}

  size_t skip_space(size_t p) const {
    while (p < s_.size() && (s_[p] == ' ' || s_[p] == '\n' || s_[p] == '\r' || s_[p] == '\t')) ++p;
    return p;
  }
  /// `p` at an opening quote: the position after the closing one.
  size_t skip_string(size_t p) const {
    for (++p; p < s_.size(); ++p) {
      if (s_[p] == '"') return p + 1;
      if (s_[p] == '\\') ++p;
    }
    return npos;
  }
  /// `p` at a value's first byte: the position after its last.
  size_t skip_value(size_t p) const {
    if (p >= s_.size()) return npos;
    if (s_[p] == '"') return skip_string(p);
    if (s_[p] == '{' || s_[p] == '[') {
      size_t depth = 0;
      for (; p < s_.size(); ++p) {
        const char c = s_[p];
        if (c == '"') {
          p = skip_string(p);
          if (p == npos) return npos;
          --p;
        } else if (c == '{' || c == '[') {
          ++depth;
        } else if (c == '}' || c == ']') {
          if (--depth == 0) return p + 1;
        }
      }
      return npos;
    }
    const size_t begin = p;  // a number, true, false or null
    while (p < s_.size() && s_[p] != ',' && s_[p] != '}' && s_[p] != ']' && s_[p] != ' ' &&
           s_[p] != '\n' && s_[p] != '\r' && s_[p] != '\t')
      ++p;
    return p == begin ? npos : p;
  }
  /// Calls `fn(raw_key, value_begin, value_end)` for each member of the object whose value
  /// starts at `p`, in order; `fn` returns false to stop. The position after the object, or
  /// npos when it is malformed, is not an object, or `fn` stopped.
  template <class Fn>
  size_t for_each_member(size_t p, Fn fn) const {
    p = skip_space(p);
    if (p >= s_.size() || s_[p] != '{') return npos;
    p = skip_space(p + 1);
    if (p < s_.size() && s_[p] == '}') return p + 1;
    for (;;) {
      if (p >= s_.size() || s_[p] != '"') return npos;
      const size_t key_end = skip_string(p);
      if (key_end == npos) return npos;
      const std::string_view raw_key = s_.substr(p + 1, key_end - p - 2);
      p = skip_space(key_end);
      if (p >= s_.size() || s_[p] != ':') return npos;
      const size_t value_begin = skip_space(p + 1);
      const size_t value_end = skip_value(value_begin);
      if (value_end == npos || !fn(raw_key, value_begin, value_end)) return npos;
      p = skip_space(value_end);
      if (p < s_.size() && s_[p] == ',') {
        p = skip_space(p + 1);
        continue;
      }
      if (p < s_.size() && s_[p] == '}') return p + 1;
      return npos;
    }
  }

 private:
  std::string_view s_;
};

}  // namespace

Status Packument::index_document(std::string_view text, size_t capacity, std::string& compact,
                                 std::string_view name_for_errors) {
  // Spans are 32-bit; no registry document comes near 4 GiB.
  if (text.size() > UINT32_MAX) {
    return util::make_error("EJSONPARSE", std::string(name_for_errors) + ": packument too large");
  }
  if (text.size() > kWholeDocumentLimit) {
    return index_large_document(text, capacity, compact, name_for_errors);
  }
  // One per thread, kept: a new parser's buffers are fresh pages for every document (a page
  // fault each, and on some virtual machines a fault costs tens of microseconds). Clean install
  // of the medium benchmark fixture, three runs each: 83,000-85,000 -> 78,000-79,000 faults.
  thread_local od::parser parser;
  simdjson::padded_string_view buffer(text.data(), text.size(), capacity);
  od::document doc;
  if (auto e = parser.iterate(buffer).get(doc))
    return parse_error(name_for_errors, text, simdjson::error_message(e));
  od::object root;
  if (auto e = doc.get_object().get(root)) {
    if (!find_json_syntax_error(text))
      return util::make_error("EJSONPARSE",
                              std::string(name_for_errors) + ": a packument must be a JSON object");
    return parse_error(name_for_errors, text, simdjson::error_message(e));
  }

  auto fail = [&](simdjson::error_code e) {
    return parse_error(name_for_errors, text, simdjson::error_message(e));
  };

  compact += "{\"versions\":{";
  bool first_version = true;
  for (auto field : root) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return fail(e);
    od::value value;
    if (auto e = field.value().get(value)) return fail(e);

    if (key == "name") {
      std::string_view name;
      if (!value.get_string().get(name)) name_.assign(name);
    } else if (key == "dist-tags") {
      od::object tags;
      if (value.get_object().get(tags)) continue;
      for (auto tag : tags) {
        std::string_view tag_name, version;
        if (auto e = tag.unescaped_key().get(tag_name)) return fail(e);
        if (tag.value().get_string().get(version)) continue;
        dist_tags_.emplace_back(std::string(tag_name), std::string(version));
      }
    } else if (key == "versions") {
      od::object versions;
      if (value.get_object().get(versions)) continue;
      for (auto entry : versions) {
        od::raw_json_string raw_version;
        if (auto e = entry.key().get(raw_version)) return fail(e);
        std::string_view version_key = raw_key_text(raw_version);
        VersionFields pv;
        std::string_view version = version_key;  // in the text, which outlives the loop
        std::string unescaped_copy;
        if (version_key.find('\\') != std::string_view::npos) {
          std::string_view unescaped;
          if (auto e = entry.unescaped_key().get(unescaped)) return fail(e);
          version = unescaped_copy.assign(unescaped);
        }
        od::value body;
        if (auto e = entry.value().get(body)) return fail(e);
        od::object obj;
        if (body.get_object().get(obj)) continue;  // not an object: not a usable version
        append_key(compact, version_key, first_version);
        const size_t compact_begin = compact.size();
        if (auto e = read_version(doc, obj, pv, compact)) return fail(e);
        if (compact.size() > UINT32_MAX) return fail(simdjson::CAPACITY);
        add_version(version, pv.deprecated, pv.engines_node, static_cast<uint32_t>(compact_begin),
                    static_cast<uint32_t>(compact.size() - compact_begin));
      }
    } else if (key == "time") {
      od::object times;
      if (value.get_object().get(times)) continue;
      auto on_time = [this](std::string version, int64_t ms) { add_time(std::move(version), ms); };
      if (auto e = for_each_time(times, on_time)) return fail(e);
    }
    // Every other field (readme, maintainers, ...) is skipped unread.
  }
  finish_compact(compact);
  index_versions();
  return {};
}

void Packument::finish_compact(std::string& compact) const {
  compact += '}';
  if (!name_.empty()) {
    compact += ",\"name\":";
    append_js_string(compact, name_);
  }
  compact += ",\"dist-tags\":{";
  bool first_tag = true;
  for (const auto& [tag, version] : dist_tags_) {
    if (!first_tag) compact += ',';
    first_tag = false;
    append_js_string(compact, tag);
    compact += ':';
    append_js_string(compact, version);
  }
  compact += '}';
  if (!pending_times_.empty()) {
    compact += ",\"time\":{";
    bool first_time = true;
    for (const auto& [version, ms] : pending_times_) {
      if (!first_time) compact += ',';
      first_time = false;
      append_js_string(compact, version);
      compact += ':';
      compact += std::to_string(ms);
    }
    compact += '}';
  }
  compact += '}';
}

void Packument::add_time(std::string version, int64_t published_ms) {
  if (published_ms != 0) pending_times_.emplace_back(std::move(version), published_ms);
}
Status Packument::index_large_document(std::string_view text, size_t capacity,
                                       std::string& compact, std::string_view name_for_errors) {
  const JsonSkimmer skim(text);
  // One small parser for every piece: its buffers grow to the largest piece, not the document
  // (and it is the thread's, as in index_document).
  thread_local od::parser parser;
  simdjson::error_code failure = simdjson::SUCCESS;
  auto piece = [&](size_t begin, size_t end, od::document& doc) {
    simdjson::padded_string_view view(text.data() + begin, end - begin, capacity - begin);
    failure = parser.iterate(view).get(doc);
    return failure == simdjson::SUCCESS;
  };
  std::string scratch;

  compact += "{\"versions\":{";
  bool first_version = true;
  auto on_version = [&](std::string_view version_key, size_t begin, size_t end) {
    if (text[begin] != '{') return true;  // not an object: not a usable version
    VersionFields pv;
    const std::string version(key_name(version_key, scratch));
    od::document doc;
    od::object obj;
    if (!piece(begin, end, doc)) return false;
    if ((failure = doc.get_object().get(obj))) return false;
    append_key(compact, version_key, first_version);
    const size_t compact_begin = compact.size();
    if ((failure = read_version(doc, obj, pv, compact))) return false;
    if (compact.size() > UINT32_MAX) {
      failure = simdjson::CAPACITY;
      return false;
    }
    add_version(version, pv.deprecated, pv.engines_node, static_cast<uint32_t>(compact_begin),
                static_cast<uint32_t>(compact.size() - compact_begin));
    return true;
  };
  auto on_member = [&](std::string_view raw_key, size_t begin, size_t end) {
    const std::string_view key = key_name(raw_key, scratch);
    od::document doc;
    if (key == "name") {
      std::string_view name;
      if (!piece(begin, end, doc)) return false;
      if (!doc.get_string().get(name)) name_.assign(name);
    } else if (key == "dist-tags") {
      if (text[begin] != '{') return true;
      od::object tags;
      if (!piece(begin, end, doc)) return false;
      if ((failure = doc.get_object().get(tags))) return false;
      for (auto tag : tags) {
        std::string_view tag_name, version;
        if ((failure = tag.unescaped_key().get(tag_name))) return false;
        if (tag.value().get_string().get(version)) continue;
        dist_tags_.emplace_back(std::string(tag_name), std::string(version));
      }
    } else if (key == "versions") {
      if (text[begin] != '{') return true;
      if (skim.for_each_member(begin, on_version) == JsonSkimmer::npos) return false;
    } else if (key == "time") {
      if (text[begin] != '{') return true;
      od::object times;
      if (!piece(begin, end, doc)) return false;
      if ((failure = doc.get_object().get(times))) return false;
      auto on_time = [this](std::string version, int64_t ms) { add_time(std::move(version), ms); };
      if ((failure = for_each_time(times, on_time))) return false;
    }
    // Every other field (readme, maintainers, ...) is skipped unread.
    return true;
  };
  const size_t end = skim.for_each_member(0, on_member);
  if (end == JsonSkimmer::npos || skim.skip_space(end) != text.size()) {
    if (!find_json_syntax_error(text) && text[skim.skip_space(0)] != '{') {
      return util::make_error("EJSONPARSE",
                              std::string(name_for_errors) + ": a packument must be a JSON object");
    }
    return parse_error(name_for_errors, text,
                       failure ? simdjson::error_message(failure) : "malformed JSON");
  }
  finish_compact(compact);
  index_versions();
  return {};
}

void Packument::add_version(std::string_view version, bool deprecated,
                            std::string_view engines_node, uint32_t json_offset,
                            uint32_t json_length) {
  PackumentVersion v;
  v.deprecated = deprecated;
  v.json_offset = json_offset;
  v.json_length = json_length;
  versions_.push_back(v);
  text_offsets_.push_back(static_cast<uint32_t>(version_texts_.size()));
  version_texts_ += version;
  text_offsets_.push_back(static_cast<uint32_t>(version_texts_.size()));
  version_texts_ += engines_node;
}

void Packument::index_versions() {
  // Kept as long as the packument: no growth slack.
  versions_.shrink_to_fit();
  version_texts_.shrink_to_fit();
  text_offsets_.push_back(static_cast<uint32_t>(version_texts_.size()));
  const std::string_view texts = version_texts_;
  for (size_t i = 0; i < versions_.size(); ++i) {
    const uint32_t* at = &text_offsets_[2 * i];
    versions_[i].version = texts.substr(at[0], at[1] - at[0]);
    versions_[i].engines_node = texts.substr(at[1], at[2] - at[1]);
  }
  std::vector<uint32_t>().swap(text_offsets_);
  by_version_.resize(versions_.size());
  for (size_t i = 0; i < versions_.size(); ++i) by_version_[i] = static_cast<uint32_t>(i);
  std::stable_sort(by_version_.begin(), by_version_.end(), [this](uint32_t a, uint32_t b) {
    return versions_[a].version < versions_[b].version;
  });
  for (const auto& [version, ms] : pending_times_) {
    if (const PackumentVersion* v = find(version)) versions_[static_cast<size_t>(v - versions_.data())].published_ms = ms;
  }
  std::vector<std::pair<std::string, int64_t>>().swap(pending_times_);
}

util::Result<std::shared_ptr<const Packument>> Packument::parse(std::string text,
                                                                std::string_view name_for_errors) {
  std::shared_ptr<Packument> packument(new Packument());
  packument->source_bytes_ = text.size();
  // Padded for simdjson's wide loads (a no-op when the caller left room).
  static_assert(kTextPadding >= simdjson::SIMDJSON_PADDING);
  text.reserve(text.size() + kTextPadding);
  // Room for the compact document at once (it keeps a part of each version, so it is shorter
  // than the full one): grown by doubling, it was copied into fresh memory at each step, and
  // for a big document every fresh page is a fault (tens of microseconds on some virtual
  // machines). The room left unused is never touched, and a big block's untouched pages take no
  // memory; a small one is still trimmed to size below.
  std::string compact;
  compact.reserve(text.size());
  LADE_TRY(packument->index_document(text, text.capacity(), compact, name_for_errors));
  std::string().swap(text);  // the full document goes before the compact one is copied
  constexpr size_t kTrimBelow = 256 * 1024;  // below the allocator's mmap threshold (main.cc)
  if (compact.size() < kTrimBelow) compact.shrink_to_fit();
  packument->text_ = std::move(compact);
  return std::shared_ptr<const Packument>(std::move(packument));
}

const PackumentVersion* Packument::find(std::string_view version) const {
  auto it = std::lower_bound(by_version_.begin(), by_version_.end(), version,
                             [this](uint32_t i, std::string_view v) { return versions_[i].version < v; });
  if (it == by_version_.end() || versions_[*it].version != version) return nullptr;
  return &versions_[*it];
}

util::Result<Manifest> Packument::manifest(std::string_view version) const {
  auto shared = LADE_TRY(shared_manifest(version));
  return Manifest(*shared);
}

util::Result<std::shared_ptr<const Manifest>> Packument::shared_manifest(std::string_view version) const {
  const PackumentVersion* pv = find(version);
  if (!pv) {
    return util::make_error("ENOVERSION", "No version \"" + std::string(version) + "\" of \"" +
                                              name_ + "\" in its packument");
  }
  const size_t index = static_cast<size_t>(pv - versions_.data());
  {
    std::lock_guard lock(manifests_mutex_);
    if (auto it = manifests_.find(index); it != manifests_.end()) return it->second;
  }
  // Parsed outside the lock; two threads may parse the same version, both get the same result.
  const std::string json = LADE_TRY(version_json(*pv));
  Json doc = LADE_TRY(parse_json(json, name_ + "@" + std::string(version)));
  auto parsed = std::make_shared<Manifest>(manifest_from_json(doc));
  if (parsed->name.empty()) parsed->name = name_;
  if (parsed->version.empty()) parsed->version = pv->version;
  std::lock_guard lock(manifests_mutex_);
  return manifests_.try_emplace(index, std::move(parsed)).first->second;
}

util::Result<std::string> Packument::version_json(const PackumentVersion& version) const {
  std::shared_ptr<const DocumentReader> document;
  {
    std::lock_guard lock(document_mutex_);
    if (!document_) {
      return std::string(std::string_view(text_).substr(version.json_offset, version.json_length));
    }
    document = document_;
  }
  return document->read(version.json_offset, version.json_length);
}

void Packument::adopt_document(std::shared_ptr<const DocumentReader> document) const {
  std::string released;
  std::lock_guard lock(document_mutex_);
  document_ = std::move(document);
  released.swap(text_);  // freed after the lock is released (destroyed after `lock`)
}

// ---------------------------------------------------------------------------------------------
// The binary index. Layout: the magic, then the name, the dist-tags (count, then tag and version
// per entry) and the versions (count, then per version its key, deprecated as one byte,
// engines.node, the span of its object, and its publication time in two 32-bit halves).
// Strings are a 32-bit length and the bytes.

namespace {

constexpr std::string_view kIndexMagic = "lade-packument-index-2\n";

void put_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

void put_string(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

/// Reads the index front to back; any read past the end leaves ok() false.
class IndexReader {
 public:
  explicit IndexReader(std::string_view bytes) : rest_(bytes) {}
  bool ok() const { return ok_; }
  bool at_end() const { return rest_.empty(); }
  bool expect(std::string_view literal) {
    if (!take(literal.size()) || last_ != literal) ok_ = false;
    return ok_;
  }
  uint32_t u32() {
    uint32_t v = 0;
    if (take(4)) std::memcpy(&v, last_.data(), 4);
    return v;
  }
  uint8_t u8() { return take(1) ? static_cast<uint8_t>(last_[0]) : 0; }
  std::string_view string() {
    const uint32_t size = u32();
    return take(size) ? last_ : std::string_view();
  }
  /// A count of entries each at least `min_entry` bytes long; 0 (and not ok) when the rest of
  /// the index could not hold them, so a damaged count never reserves gigabytes.
  uint32_t count(size_t min_entry) {
    const uint32_t n = u32();
    if (static_cast<uint64_t>(n) * min_entry > rest_.size()) {
      ok_ = false;
      return 0;
    }
    return n;
  }

 private:
  bool take(size_t n) {
    if (!ok_ || rest_.size() < n) {
      ok_ = false;
      last_ = {};
      return false;
    }
    last_ = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }
  std::string_view rest_;
  std::string_view last_;
  bool ok_ = true;
};

}  // namespace

std::string Packument::index_bytes() const {
  std::string out(kIndexMagic);
  put_string(out, name_);
  put_u32(out, static_cast<uint32_t>(dist_tags_.size()));
  for (const auto& [tag, version] : dist_tags_) {
    put_string(out, tag);
    put_string(out, version);
  }
  put_u32(out, static_cast<uint32_t>(versions_.size()));
  for (const PackumentVersion& v : versions_) {
    put_string(out, v.version);
    out += static_cast<char>(v.deprecated ? 1 : 0);
    put_string(out, v.engines_node);
    put_u32(out, v.json_offset);
    put_u32(out, v.json_length);
    const uint64_t ms = static_cast<uint64_t>(v.published_ms);
    put_u32(out, static_cast<uint32_t>(ms & 0xffffffffu));
    put_u32(out, static_cast<uint32_t>(ms >> 32));
  }
  return out;
}

util::Result<std::shared_ptr<const Packument>> Packument::open_indexed(
    std::string_view index, std::unique_ptr<const DocumentReader> document,
    uint64_t document_size, std::string_view name_for_errors) {
  std::shared_ptr<Packument> packument(new Packument());
  IndexReader in(index);
  in.expect(kIndexMagic);
  packument->name_ = in.string();
  const uint32_t tags = in.count(8);
  packument->dist_tags_.reserve(tags);
  for (uint32_t i = 0; i < tags && in.ok(); ++i) {
    std::string tag(in.string());
    packument->dist_tags_.emplace_back(std::move(tag), std::string(in.string()));
  }
  const uint32_t versions = in.count(25);
  packument->versions_.reserve(versions);
  packument->text_offsets_.reserve(2 * size_t{versions} + 1);
  for (uint32_t i = 0; i < versions && in.ok(); ++i) {
    const std::string_view version = in.string();
    const bool deprecated = in.u8() != 0;
    const std::string_view engines_node = in.string();
    const uint32_t json_offset = in.u32();
    const uint32_t json_length = in.u32();
    const uint64_t low = in.u32();
    const uint64_t published = low | (uint64_t{in.u32()} << 32);
    if (static_cast<uint64_t>(json_offset) + json_length > document_size) break;
    packument->add_version(version, deprecated, engines_node, json_offset, json_length);
    packument->versions_.back().published_ms = static_cast<int64_t>(published);
  }
  if (!in.ok() || !in.at_end() || packument->versions_.size() != versions || !document) {
    return util::make_error("EJSONPARSE",
                            std::string(name_for_errors) + ": damaged packument index");
  }
  packument->document_ = std::move(document);
  packument->source_bytes_ = index.size() + document_size;
  packument->index_versions();
  return std::shared_ptr<const Packument>(std::move(packument));
}

std::optional<std::string> top_level_string(std::string_view text, std::string_view key) {
  simdjson::padded_string padded(text);
  od::parser parser;
  od::document doc;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return std::nullopt;
  od::object object;
  if (doc.get_object().get(object) != simdjson::SUCCESS) return std::nullopt;
  std::string_view value;
  if (object.find_field_unordered(key).get_string().get(value) != simdjson::SUCCESS) return std::nullopt;
  return std::string(value);
}

}  // namespace lade::manifest
