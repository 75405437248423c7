// lade's side of tests/compat/test_pick_fuzz.py: picks versions with lade's resolver.
//
//   pick_fuzz_lade < cases.jsonl
//
// Reads the cases pick_fuzz_npm.js reads and answers in the same form, one line per case:
// "<id>\tOK <version key>" or "<id>\tERR <code>\t<message>" (the date in "with a date before
// ..." replaced by "<date>").
#include <iostream>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "manifest/packument.h"
#include "resolver/pick_manifest.h"

namespace {

using lade::resolver::PickOptions;

std::string one_line(std::string text) {
  static const std::regex date(" with a date before .*\\.$");
  text = std::regex_replace(text, date, " with a date before <date>.");
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string answer(const nlohmann::ordered_json& c) {
  const auto& doc = c.at("packument");
  const std::string name = doc.value("name", "");
  // "packument_text": the packument as JSON text, taken as it is (member names may repeat).
  auto text = c.find("packument_text");
  auto packument = lade::manifest::Packument::parse(
      text != c.end() ? text->get<std::string>() : doc.dump(), name);
  if (!packument) {
    return "ERR " + packument.error().code + "\t" + one_line(packument.error().message);
  }
  PickOptions options;
  const auto opts = c.value("opts", nlohmann::ordered_json::object());
  auto option = [&opts](const char* key) {
    auto it = opts.find(key);
    return it != opts.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  // pacote: `opts.defaultTag || 'latest'`.
  options.default_tag = option("defaultTag");
  if (options.default_tag.empty()) options.default_tag = "latest";
  options.node_version = option("nodeVersion");
  options.npm_version = option("npmVersion");
  if (auto it = opts.find("before"); it != opts.end() && it->is_number()) {
    options.before_ms = it->get<int64_t>();
  }
  auto picked = lade::resolver::pick_version(**packument, c.at("spec").get<std::string>(), options);
  if (!picked) return "ERR " + picked.error().code + "\t" + one_line(picked.error().message);
  return "OK " + std::string((*picked)->version);
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto c = nlohmann::ordered_json::parse(line);
    const auto& id = c.at("id");
    std::cout << (id.is_string() ? id.get<std::string>() : id.dump()) << '\t' << answer(c) << '\n';
  }
  return 0;
}
