// Turning tarballs into store entries: every .tgz in a directory is verified (sha512) and
// extracted into a fresh store, as the installer does after a download, with lade's own reader
// (whole-buffer libdeflate + lade's tar reader, libarchive for the rest) or with libarchive alone.
//
//   bench_extract_bench <dir-of-tgz> [--reader=auto|libarchive] [--runs=N] [--threads=N]
//   bench_extract_bench <dir-of-tgz> --inflate      # zlib (streaming) vs libdeflate, no files
//   bench_extract_bench <dir-of-tgz> --compare      # both readers on every tarball: same result?
//
// Prints wall, user and system CPU time of each run, and the process's peak RSS. The store goes
// to a temporary directory that is removed afterwards. The tarballs are not part of the
// repository: download some (say, every package of a lockfile) into a directory first.
#include <sys/resource.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "store/extract.h"
#include "store/gunzip.h"
#include "store/store.h"
#include "util/fs.h"
#include "util/hash.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Tarball {
  std::string name;
  std::string bytes;
};

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

struct Usage {
  double wall = 0, user = 0, sys = 0;
  long minor_faults = 0;
};

template <class F>
Usage measure(F&& body) {
  rusage before{}, after{};
  ::getrusage(RUSAGE_SELF, &before);
  auto start = Clock::now();
  body();
  Usage u;
  u.wall = std::chrono::duration<double>(Clock::now() - start).count();
  ::getrusage(RUSAGE_SELF, &after);
  u.user = seconds(after.ru_utime) - seconds(before.ru_utime);
  u.sys = seconds(after.ru_stime) - seconds(before.ru_stime);
  u.minor_faults = after.ru_minflt - before.ru_minflt;
  return u;
}

long peak_rss_kb() {
  rusage r{};
  ::getrusage(RUSAGE_SELF, &r);
  return r.ru_maxrss;
}

std::vector<Tarball> load(const fs::path& dir) {
  std::vector<Tarball> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".tgz") continue;
    auto bytes = lade::util::read_file(e.path());
    if (!bytes.ok()) {
      std::fprintf(stderr, "%s\n", bytes.error().message.c_str());
      std::exit(1);
    }
    out.push_back({e.path().filename().string(), std::move(*bytes)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

/// Stores every tarball with `threads` workers; returns the files written.
size_t store_all(const std::vector<Tarball>& tarballs, const lade::store::Store& store,
                 unsigned threads) {
  std::atomic<size_t> next{0}, files{0};
  auto work = [&] {
    for (size_t i; (i = next++) < tarballs.size();) {
      const auto& t = tarballs[i];
      auto stored = store.add_tarball(std::string_view(t.bytes), "", "", t.name);
      if (!stored.ok()) {
        std::fprintf(stderr, "%s: %s %s\n", t.name.c_str(), stored.error().code.c_str(),
                     stored.error().message.c_str());
        continue;
      }
      files += stored->files;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return files;
}

int run_extract(const std::vector<Tarball>& tarballs, bool libarchive, int runs, unsigned threads) {
  for (int run = 0; run < runs; ++run) {
    auto dir = lade::util::TempDir::create({}, "lade-extract-bench-");
    if (!dir.ok()) return 1;
    lade::store::ExtractOptions options;
    options.force_libarchive = libarchive;
    lade::store::Store store(dir->path(), options);
    size_t files = 0;
    Usage u = measure([&] { files = store_all(tarballs, store, threads); });
    std::printf("%s run %d: %zu files, wall %.3f s, user %.3f s, sys %.3f s, %ld page faults\n",
                libarchive ? "libarchive" : "auto", run + 1, files, u.wall, u.user, u.sys,
                u.minor_faults);
  }
  std::printf("peak RSS %ld KB\n", peak_rss_kb());
  return 0;
}

/// zlib's streaming inflate (as libarchive drives it: 64 KiB out at a time) against libdeflate.
int run_inflate(const std::vector<Tarball>& tarballs, int runs) {
  std::vector<char> window(64 * 1024);
  for (int run = 0; run < runs; ++run) {
    uint64_t out_bytes = 0;
    Usage zlib = measure([&] {
      for (const auto& t : tarballs) {
        z_stream z{};
        if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) std::exit(1);
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(t.bytes.data()));
        z.avail_in = static_cast<uInt>(t.bytes.size());
        int r;
        do {
          z.next_out = reinterpret_cast<Bytef*>(window.data());
          z.avail_out = static_cast<uInt>(window.size());
          r = inflate(&z, Z_NO_FLUSH);
          out_bytes += window.size() - z.avail_out;
        } while (r == Z_OK);
        inflateEnd(&z);
      }
    });
    size_t whole = 0;
    Usage deflate = measure([&] {
      for (const auto& t : tarballs) {
        auto out = lade::store::gunzip_whole(t.bytes, lade::store::gzip_stated_size(t.bytes));
        if (out) ++whole;
      }
    });
    std::printf("run %d: %.1f MB out; zlib user %.3f s, libdeflate user %.3f s (%zu/%zu whole)\n",
                run + 1, out_bytes / 1e6, zlib.user, deflate.user, whole, tarballs.size());
  }
  return 0;
}

/// Every file under `root`: relative path -> mode and contents digest.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    ::lstat(e.path().c_str(), &st);
    std::string rel = fs::relative(e.path(), root).string();
    std::string what = std::to_string(st.st_mode);
    if (S_ISREG(st.st_mode)) {
      auto bytes = lade::util::read_file(e.path());
      what += " " + lade::util::hex_encode(lade::util::digest(lade::util::HashAlgorithm::Sha1,
                                                              bytes.ok() ? *bytes : ""));
    }
    out[rel] = what;
  }
  return out;
}

int run_compare(const std::vector<Tarball>& tarballs) {
  int mismatches = 0;
  size_t by_libarchive = 0;
  for (const auto& t : tarballs) {
    auto dir = lade::util::TempDir::create({}, "lade-extract-compare-");
    if (!dir.ok()) return 1;
    std::string summary[2];
    std::map<std::string, std::string> trees[2];
    for (int libarchive = 0; libarchive < 2; ++libarchive) {
      fs::path dest = dir->path() / (libarchive ? "libarchive" : "auto");
      fs::create_directories(dest);
      lade::store::ExtractOptions options;
      options.force_libarchive = libarchive != 0;
      auto x = lade::store::extract_tarball(std::string_view(t.bytes), dest, options);
      if (!x.ok()) {
        summary[libarchive] = x.error().code + " " + x.error().message;
        if (!libarchive) ++by_libarchive;  // errors only come from libarchive
      } else {
        if (!libarchive && x->read_by_libarchive) {
          ++by_libarchive;
          std::printf("read by libarchive: %s\n", t.name.c_str());
        }
        summary[libarchive] = std::to_string(x->files) + " files " + std::to_string(x->bytes) +
                              " bytes " + std::to_string(x->skipped) + " skipped\n" +
                              x->package_json;
        for (const auto& w : x->warnings) summary[libarchive] += "\n" + w;
      }
      trees[libarchive] = snapshot(dest);
    }
    if (summary[0] != summary[1] || trees[0] != trees[1]) {
      ++mismatches;
      std::printf("MISMATCH %s\n  auto: %s\n  libarchive: %s\n", t.name.c_str(),
                  summary[0].substr(0, 200).c_str(), summary[1].substr(0, 200).c_str());
    }
  }
  std::printf(
      "%zu tarballs compared (%zu of them read by libarchive in the default mode), %d "
      "mismatches\n",
      tarballs.size(), by_libarchive, mismatches);
  return mismatches == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s <dir-of-tgz> [--reader=auto|libarchive] [--runs=N] [--threads=N] "
                 "[--inflate] [--compare]\n",
                 argv[0]);
    return 2;
  }
  bool libarchive = false, inflate_only = false, compare = false;
  int runs = 3;
  unsigned threads = 1;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--reader=libarchive") {
      libarchive = true;
    } else if (arg == "--reader=auto") {
      libarchive = false;
    } else if (arg.rfind("--runs=", 0) == 0) {
      runs = std::max(1, std::atoi(arg.c_str() + 7));
    } else if (arg.rfind("--threads=", 0) == 0) {
      threads = static_cast<unsigned>(std::max(1, std::atoi(arg.c_str() + 10)));
    } else if (arg == "--inflate") {
      inflate_only = true;
    } else if (arg == "--compare") {
      compare = true;
    } else {
      std::fprintf(stderr, "unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  std::vector<Tarball> tarballs = load(argv[1]);
  uint64_t total = 0;
  for (const auto& t : tarballs) total += t.bytes.size();
  std::printf("%zu tarballs, %.1f MB compressed\n", tarballs.size(), total / 1e6);
  if (compare) return run_compare(tarballs);
  if (inflate_only) return run_inflate(tarballs, runs);
  return run_extract(tarballs, libarchive, runs, threads);
}
