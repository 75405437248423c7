// Packument parsing: lade's on-demand index and compaction (simdjson), and the parse of the
// compact document the cache keeps, against a full DOM parse (nlohmann), on a real packument
// file given on the command line.
//
//   bench_packument_bench <packument.json> [iterations]
//
// Prints the median wall time of each way and their ratio.
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "manifest/packument.h"
#include "util/fs.h"

namespace {

using Clock = std::chrono::steady_clock;

template <class F>
double median_ms(int iterations, F&& body) {
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    auto start = Clock::now();
    body();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <packument.json> [iterations]\n", argv[0]);
    return 2;
  }
  const int iterations = argc > 2 ? std::max(1, std::atoi(argv[2])) : 15;
  auto text = lade::util::read_file(argv[1]);
  if (!text.ok()) {
    std::fprintf(stderr, "%s\n", text.error().message.c_str());
    return 1;
  }
  const double mb = static_cast<double>(text->size()) / (1024.0 * 1024.0);

  size_t versions = 0;
  std::string latest;
  const double index_ms = median_ms(iterations, [&] {
    auto p = lade::manifest::Packument::parse(
        *text, "bench");  // copies the text, as a fetch would hand it over
    if (!p.ok()) {
      std::fprintf(stderr, "%s\n", p.error().message.c_str());
      std::exit(1);
    }
    versions = (*p)->versions().size();
    for (const auto& [tag, v] : (*p)->dist_tags())
      if (tag == "latest") latest = v;
  });
  const double copy_ms = median_ms(iterations, [&] {
    std::string copy = *text;
    copy.reserve(copy.size() + 64);
    if (copy.empty()) std::exit(1);
  });
  auto packument = lade::manifest::Packument::parse(*text, "bench");
  const std::string compact((*packument)->compact_text());
  const std::string index = (*packument)->index_bytes();
  // A cache hit opens the index and leaves the document where it is (here: in memory).
  struct InMemory final : lade::manifest::DocumentReader {
    explicit InMemory(const std::string& t) : text(t) {}
    lade::util::Result<std::string> read(uint64_t offset, size_t length) const override {
      return text.substr(offset, length);
    }
    const std::string& text;
  };
  const double compact_ms = median_ms(iterations, [&] {
    auto p = lade::manifest::Packument::open_indexed(index, std::make_unique<InMemory>(compact),
                                                     compact.size(), "bench");
    if (!p.ok() || (*p)->versions().size() != versions) std::exit(1);
  });
  const double dom_ms = median_ms(iterations, [&] {
    auto doc = nlohmann::json::parse(*text);
    versions = doc["versions"].size();
  });
  const double ordered_dom_ms = median_ms(iterations, [&] {
    auto doc = nlohmann::ordered_json::parse(*text);
    versions = doc["versions"].size();
  });
  const double one_manifest_ms = median_ms(iterations, [&] {
    auto m = (*packument)->manifest(latest);
    if (!m.ok()) std::exit(1);
  });

  // Not timed: the index and every version's Manifest must agree with the full parse (less
  // what compaction drops on purpose: scripts other than install ones).
  {
    auto full = nlohmann::ordered_json::parse(*text);
    const auto& all = full["versions"];
    size_t mismatches = all.size() == (*packument)->versions().size() ? 0 : 1;
    for (const auto& pv : (*packument)->versions()) {
      const auto& expected = all[pv.version];
      lade::manifest::Manifest want = lade::manifest::manifest_from_json(expected);
      if (want.name.empty()) want.name = (*packument)->name();
      if (want.version.empty()) want.version = pv.version;
      std::erase_if(want.scripts, [](const auto& s) {
        return s.first != "preinstall" && s.first != "install" && s.first != "postinstall";
      });
      auto got = (*packument)->manifest(pv.version);
      if (!got.ok() || !(*got == want)) ++mismatches;
      const bool deprecated = expected.contains("deprecated") &&
                              expected["deprecated"].is_string() &&
                              !expected["deprecated"].get<std::string>().empty();
      if (deprecated != pv.deprecated) ++mismatches;
      std::string node;
      if (expected.contains("engines") && expected["engines"].is_object() &&
          expected["engines"].contains("node") && expected["engines"]["node"].is_string())
        node = expected["engines"]["node"].get<std::string>();
      if (node != pv.engines_node) ++mismatches;
    }
    std::printf("index and manifests checked against the full parse: %zu mismatches\n", mismatches);
    if (mismatches) return 1;
  }
  const double compact_mb = static_cast<double>(compact.size()) / (1024.0 * 1024.0);
  std::printf(
      "packument: %.1f MB (compact %.2f MB), %zu versions, latest %s, %d iterations "
      "(median), simdjson %s\n",
      mb, compact_mb, versions, latest.c_str(), iterations,
      simdjson::get_active_implementation()->name().c_str());
  std::printf("  lade parse + compaction (incl. text copy)      %8.2f ms  (%.0f MB/s)\n", index_ms,
              mb / (index_ms / 1000.0));
  std::printf("    of which copying the text                    %8.2f ms\n", copy_ms);
  std::printf("  lade open of the cached index (cache hit)     %8.2f ms\n", compact_ms);
  std::printf("  nlohmann::json::parse                          %8.2f ms\n", dom_ms);
  std::printf("  nlohmann::ordered_json::parse                  %8.2f ms\n", ordered_dom_ms);
  std::printf("  one version's Manifest on demand               %8.3f ms\n", one_manifest_ms);
  std::printf("  ratio nlohmann::json / lade parse              %8.1fx\n", dom_ms / index_ms);
  return 0;
}
