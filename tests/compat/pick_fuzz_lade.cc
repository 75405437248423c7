// lade's side of tests/compat/test_pick_fuzz.py: picks versions with lade's resolver.
//
//   pick_fuzz_lade < cases.jsonl
//
// Reads the cases pick_fuzz_npm.js reads and answers in the same form, one line per case:
// "<id>\tOK <version key>" or "<id>\tERR <code>\t<message>" (the date in "with a date before
// ..." replaced by "<date>").
//
// lade picks from a packument in several forms, and all must agree: as parsed, through a
// PickIndex, parsed again from its compact document, and opened from its binary index with the
// compact document read on demand (as from the cache). A disagreement is answered as
// "ERR LADE-INCONSISTENT", which no npm answer matches.
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "manifest/packument.h"
#include "resolver/pick_manifest.h"

namespace {

using lade::manifest::Packument;
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

// The compact document "on disk": a copy in memory.
class StringReader : public lade::manifest::DocumentReader {
 public:
  explicit StringReader(std::string text) : text_(std::move(text)) {}
  lade::util::Result<std::string> read(uint64_t offset, size_t length) const override {
    if (offset > text_.size() || length > text_.size() - offset) {
      return lade::util::make_error("EIO", "read past the end of the compact document");
    }
    return text_.substr(offset, length);
  }

 private:
  std::string text_;
};

template <class Picked>
std::string describe(const Picked& picked) {
  if (!picked) return "ERR " + picked.error().code + "\t" + one_line(picked.error().message);
  return "OK " + std::string((*picked)->version);
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
  const std::string spec = c.at("spec").get<std::string>();
  const std::string first = describe(lade::resolver::pick_version(**packument, spec, options));

  std::vector<std::pair<const char*, std::string>> others;
  lade::resolver::PickIndex index(**packument);
  others.emplace_back("indexed", describe(lade::resolver::pick_version(index, spec, options)));
  std::string compact((*packument)->compact_text());
  auto reparsed = Packument::parse(compact, name);
  others.emplace_back("compact",
                      reparsed ? describe(lade::resolver::pick_version(**reparsed, spec, options))
                               : "ERR " + reparsed.error().code);
  auto opened = Packument::open_indexed(
      (*packument)->index_bytes(), std::make_unique<StringReader>(compact), compact.size(), name);
  others.emplace_back("opened",
                      opened ? describe(lade::resolver::pick_version(**opened, spec, options))
                             : "ERR " + opened.error().code);
  for (const auto& [form, answer] : others) {
    if (answer != first) {
      return "ERR LADE-INCONSISTENT\t" + std::string(form) + ": " + answer + " | parsed: " + first;
    }
  }
  return first;
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
