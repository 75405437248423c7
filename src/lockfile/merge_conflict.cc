#include "lockfile/merge_conflict.h"

#include "manifest/manifest.h"

namespace lade::lockfile {

namespace {

using manifest::Json;

/// A line that is a run of at least seven `c` (what parse-conflict-json's /c{7,}/ finds).
bool marker(std::string_view line, char c) { return line.find(std::string(7, c)) != std::string_view::npos; }

/// parse-conflict-json's copyPath: where a change cannot be applied to theirs, our value at that
/// path is copied over, creating what is missing on the way.
void copy_path(Json& to, const Json& from, const Json::json_pointer& path) {
  if (path.empty()) {
    to = from;
    return;
  }
  if (from.contains(path)) {
    to[path] = from.at(path);
  } else if (to.contains(path)) {
    to.at(path.parent_pointer()).erase(path.back());
  }
}

}  // namespace

bool has_merge_conflict(std::string_view text) {
  return text.find("<<<<<<<") != std::string_view::npos && text.find("=======") != std::string_view::npos &&
         text.find(">>>>>>>") != std::string_view::npos;
}

util::Result<std::string> resolve_merge_conflict(std::string_view text, std::string_view file_name) {
  enum class State { Top, Ours, Theirs, Parent } state = State::Top;
  std::string ours, theirs, parent;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find_first_of("\r\n", at);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(at, end - at);
    if (marker(line, '|')) {
      state = State::Parent;
    } else if (marker(line, '<')) {
      state = State::Ours;
    } else if (marker(line, '=')) {
      state = State::Theirs;
    } else if (marker(line, '>')) {
      state = State::Top;
    } else {
      if (state == State::Top || state == State::Ours) ours += line;
      if (state == State::Top || state == State::Theirs) theirs += line;
      if (state == State::Top || state == State::Parent) parent += line;
    }
    at = end + 1;
  }
  const std::string name(file_name);
  Json base = LADE_TRY(manifest::parse_json(parent, name + " (common ancestor of the conflict)"));
  Json mine = LADE_TRY(manifest::parse_json(ours, name + " (our side of the conflict)"));
  Json merged = LADE_TRY(manifest::parse_json(theirs, name + " (their side of the conflict)"));
  // Our changes since the common ancestor, one operation at a time on top of theirs.
  const Json changes = Json::diff(base, mine);
  for (const Json& op : changes) {
    try {
      merged = merged.patch(Json::array({op}));
    } catch (const nlohmann::json::exception&) {
      copy_path(merged, mine, Json::json_pointer(op.at("path").get<std::string>()));
    }
  }
  return merged.dump(2) + "\n";
}

}  // namespace lade::lockfile
