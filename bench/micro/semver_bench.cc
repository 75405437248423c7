// Microbenchmark of lade::semver on a version list shaped like a big real packument's (about
// 2,000 versions across 25 majors, a few prereleases): Version::parse throughput, Range::parse,
// and max_satisfying over pre-parsed versions and over strings. Prints ns per operation.
//
// Usage: bench_semver_bench [iterations-scale]   (default 1; each figure is the best of 5 runs)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "semver/semver.h"

namespace {

using Clock = std::chrono::steady_clock;
using lade::semver::Range;
using lade::semver::Version;

volatile size_t g_sink = 0;  // keeps results observable so loops are not optimized away

// 25 majors x 80 versions ("0.0.0" .. "24.7.9"), two of every 80 a prerelease.
std::vector<std::string> make_versions() {
  std::vector<std::string> out;
  for (int major = 0; major < 25; ++major) {
    for (int i = 0; i < 80; ++i) {
      std::string v =
          std::to_string(major) + "." + std::to_string(i / 10) + "." + std::to_string(i % 10);
      if (i % 40 == 39) v += "-next." + std::to_string(i / 40);
      out.push_back(std::move(v));
    }
  }
  return out;
}

// The best of five runs: the machine may be shared, and the minimum is the least disturbed.
template <class Fn>
double ns_per_op(size_t ops, Fn fn) {
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    auto start = Clock::now();
    fn();
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
    if (run == 0 || ns < best) best = ns;
  }
  return best / static_cast<double>(ops);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t scale = argc > 1 ? static_cast<size_t>(std::atol(argv[1])) : 1;
  const std::vector<std::string> texts = make_versions();
  std::printf("versions: %zu (%s .. %s)\n", texts.size(), texts.front().c_str(),
              texts.back().c_str());

  // Version::parse over the whole list.
  const size_t parse_rounds = 50 * scale;
  double parse_ns = ns_per_op(parse_rounds * texts.size(), [&] {
    for (size_t r = 0; r < parse_rounds; ++r) {
      for (const std::string& t : texts) g_sink = g_sink + Version::parse(t)->patch();
    }
  });
  std::printf("Version::parse            %8.1f ns/version\n", parse_ns);

  std::vector<Version> versions;
  for (const std::string& t : texts) versions.push_back(*Version::parse(t));

  const char* ranges[] = {
      "^18.0.0", "~20.1.0",    ">=12 <14",     "*", "16.x || 18.x || >=20.1.0 <21", "1.2.3 - 2.3.4",
      "<0.0.1",  ">=22.0.0-0", "^0.3.4-next.0"};
  for (const char* text : ranges) {
    const size_t parse_ops = 2000 * scale;
    double range_parse_ns = ns_per_op(parse_ops, [&] {
      for (size_t i = 0; i < parse_ops; ++i) g_sink = g_sink + Range::parse(text)->set().size();
    });
    Range range = *Range::parse(text);
    const size_t rounds = 200 * scale;
    std::optional<size_t> best;
    double max_ns = ns_per_op(rounds, [&] {
      for (size_t i = 0; i < rounds; ++i) {
        best = lade::semver::max_satisfying(std::span<const Version>(versions), range);
        g_sink = g_sink + best.value_or(0);
      }
    });
    const size_t string_rounds = 5 * scale;
    double string_ns = ns_per_op(string_rounds, [&] {
      for (size_t i = 0; i < string_rounds; ++i) {
        g_sink = g_sink + lade::semver::max_satisfying(texts, text).value_or(0);
      }
    });
    std::printf(
        "%-30s Range::parse %7.0f ns | max_satisfying parsed %8.0f ns (%.1f ns/version)"
        " | strings %9.0f ns -> %s\n",
        text, range_parse_ns, max_ns, max_ns / static_cast<double>(versions.size()), string_ns,
        best ? texts[*best].c_str() : "none");
  }
  return 0;
}
