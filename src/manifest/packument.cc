#include "manifest/packument.h"

#include <simdjson.h>

#include "manifest/json_text.h"

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

/// Reads engines.node when it is a string; leaves everything else of "engines" unread.
simdjson::error_code read_engines_node(od::value engines, std::string& out) {
  od::object obj;
  if (engines.get_object().get(obj)) return simdjson::SUCCESS;  // not an object: ignored
  for (auto field : obj) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return e;
    if (key != "node") continue;
    std::string_view node;
    if (!field.value().get_string().get(node)) out.assign(node);
  }
  return simdjson::SUCCESS;
}

}  // namespace

Status Packument::index_document(std::string_view name_for_errors) {
  od::parser parser;
  simdjson::padded_string_view buffer(text_.data(), text_.size(), text_.capacity());
  od::document doc;
  if (auto e = parser.iterate(buffer).get(doc))
    return parse_error(name_for_errors, text_, simdjson::error_message(e));
  od::object root;
  if (auto e = doc.get_object().get(root)) {
    if (!find_json_syntax_error(text_))
      return util::make_error("EJSONPARSE",
                              std::string(name_for_errors) + ": a packument must be a JSON object");
    return parse_error(name_for_errors, text_, simdjson::error_message(e));
  }

  auto fail = [&](simdjson::error_code e) {
    return parse_error(name_for_errors, text_, simdjson::error_message(e));
  };

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
        std::string_view version_key;
        if (auto e = entry.unescaped_key().get(version_key)) return fail(e);
        od::value body;
        if (auto e = entry.value().get(body)) return fail(e);
        PackumentVersion pv;
        pv.version.assign(version_key);
        // The object's first byte; after its fields are walked, the document's current
        // location is the token after its closing brace. This reads the version once instead
        // of walking it for the fields and again for raw_json().
        const char* begin = body.raw_json_token().data();
        od::object obj;
        if (body.get_object().get(obj)) continue;  // not an object: not a usable version
        for (auto f : obj) {
          // Raw key comparison: no unescaping for the dozens of keys that are not wanted.
          od::raw_json_string k;
          if (auto e = f.key().get(k)) return fail(e);
          if (k == "deprecated") {
            std::string_view msg;
            if (!f.value().get_string().get(msg)) pv.deprecated = !msg.empty();
          } else if (k == "engines") {
            od::value engines;
            if (auto e = f.value().get(engines)) return fail(e);
            if (auto e = read_engines_node(engines, pv.engines_node)) return fail(e);
          }
        }
        const char* end = nullptr;
        if (auto e = doc.current_location().get(end)) return fail(e);
        std::string_view raw =
            trim_right(std::string_view(begin, static_cast<size_t>(end - begin)));
        if (raw.size() < 2 || raw.front() != '{' || raw.back() != '}')
          return fail(simdjson::TAPE_ERROR);
        pv.raw_json = raw;
        versions_.push_back(std::move(pv));
      }
    }
    // Every other field (time, readme, maintainers, ...) is skipped unread.
  }
  by_version_.reserve(versions_.size());
  for (size_t i = 0; i < versions_.size(); ++i) by_version_.emplace(versions_[i].version, i);
  return {};
}

util::Result<std::shared_ptr<const Packument>> Packument::parse(std::string text,
                                                                std::string_view name_for_errors) {
  std::shared_ptr<Packument> packument(new Packument());
  // Moved into its final place first, then padded for simdjson's wide loads: no view taken
  // below can be invalidated by a later move or reallocation.
  packument->text_ = std::move(text);
  packument->text_.reserve(packument->text_.size() + simdjson::SIMDJSON_PADDING);
  LADE_TRY(packument->index_document(name_for_errors));
  return std::shared_ptr<const Packument>(std::move(packument));
}

const PackumentVersion* Packument::find(std::string_view version) const {
  auto it = by_version_.find(version);
  return it == by_version_.end() ? nullptr : &versions_[it->second];
}

util::Result<Manifest> Packument::manifest(std::string_view version) const {
  const PackumentVersion* pv = find(version);
  if (!pv) {
    return util::make_error("ENOVERSION", "No version \"" + std::string(version) + "\" of \"" +
                                              name_ + "\" in its packument");
  }
  Json doc = LADE_TRY(parse_json(pv->raw_json, name_ + "@" + std::string(version)));
  Manifest m = manifest_from_json(doc);
  if (m.name.empty()) m.name = name_;
  if (m.version.empty()) m.version = pv->version;
  return m;
}

}  // namespace lade::manifest
