#include "store/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "tarball_builder.h"
#include "util/fs.h"

namespace lade::store {
namespace {

using testing::file;
using testing::make_tarball;
using testing::sha1_hex;
using testing::sha512_sri;
using testing::sri_of;

const std::string kManifest = R"({"name":"good","version":"1.2.3"})";

std::string good_tarball() {
  return make_tarball({
      file("package/package.json", kManifest),
      file("package/index.js", "module.exports = 42;\n"),
      file("package/lib/util.js", "exports.x = 1;\n"),
  });
}

/// Every path under `dir`, relative, sorted: what a test compares to "nothing left behind".
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); ++it) {
    out.push_back(fs::relative(it->path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool present(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

/// Files under content-v1 and tmp that are not directories: an empty store has none.
size_t stored_files(const fs::path& root) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       it != fs::recursive_directory_iterator(); ++it) {
    if (!it->is_directory()) ++n;
  }
  return n;
}

struct StoreFixture {
  util::TempDir dir = util::TempDir::create({}, "lade-store-test-").value();
  Store store{dir.path() / "cache"};
};

}  // namespace

TEST_CASE("parse_expected_integrity picks the strongest algorithm like ssri", "[store]") {
  auto both = parse_expected_integrity("sha1-AAAA sha512-BBBB sha256-CCCC", "");
  REQUIRE(both.ok());
  CHECK(both->algorithm == util::HashAlgorithm::Sha512);
  CHECK(both->digests == std::vector<std::string>{"BBBB"});
  CHECK(both->sri_text == "sha1-AAAA sha512-BBBB sha256-CCCC");

  auto grouped = parse_expected_integrity("  sha512-A sha1-B\tsha512-C?opt  ", "");
  REQUIRE(grouped.ok());
  CHECK(grouped->digests == std::vector<std::string>{"A", "C"});
  CHECK(grouped->wanted_text == "sha512-A,sha512-C?opt");
  CHECK(grouped->sri_text == "sha512-A sha512-C?opt sha1-B");

  auto shasum = parse_expected_integrity("", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
  REQUIRE(shasum.ok());
  CHECK(shasum->algorithm == util::HashAlgorithm::Sha1);
  CHECK(shasum->sri_text == "sha1-qvTGHdzF6KLavt4PO0gs2a6pQ00=");

  auto sri_wins = parse_expected_integrity("sha256-X", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
  REQUIRE(sri_wins.ok());
  CHECK(sri_wins->algorithm == util::HashAlgorithm::Sha256);

  auto nothing = parse_expected_integrity("", "");
  REQUIRE(nothing.ok());
  CHECK(nothing->empty());
  auto dropped = parse_expected_integrity("garbage NOTSRI -x", "");  // ssri drops these tokens
  REQUIRE(dropped.ok());
  CHECK(dropped->empty());

  auto md5 = parse_expected_integrity("md5-XUFAKrxLKna5cZ2REBfFkg==", "");
  REQUIRE_FALSE(md5.ok());
  CHECK(md5.error().code == "EINTEGRITY");
  CHECK_FALSE(parse_expected_integrity("", "not-hex").ok());
}

TEST_CASE("Store adds a verified tarball and finds it again", "[store]") {
  StoreFixture f;
  const std::string tgz = good_tarball();
  const std::string integrity = sha512_sri(tgz);
  CHECK_FALSE(f.store.find(integrity));

  auto added = f.store.add_tarball(tgz, integrity, "", "good@1.2.3");
  INFO((added.ok() ? "" : added.error().message));
  REQUIRE(added.ok());
  CHECK(added->added);
  CHECK(added->integrity == integrity);
  CHECK(added->package_json == kManifest);
  CHECK(added->files == 3);
  CHECK(util::read_file(added->dir / "index.js").value() == "module.exports = 42;\n");

  // Layout: content-v1/sha512/<hex[0:2]>/<hex[2:]>/package, with the marker beside it.
  std::string hex = util::hex_encode(util::digest(util::HashAlgorithm::Sha512, tgz));
  fs::path entry = f.store.root() / "content-v1" / "sha512" / hex.substr(0, 2) / hex.substr(2);
  CHECK(added->dir == entry / "package");
  CHECK(present(entry / "index"));
  CHECK(listing(f.store.root() / "tmp").empty());

  auto found = f.store.find(integrity);
  REQUIRE(found);
  CHECK(*found == added->dir);
  auto loaded = f.store.load(integrity);
  REQUIRE(loaded.ok());
  CHECK(loaded->integrity == integrity);
  CHECK(loaded->package_json == kManifest);
  CHECK_FALSE(loaded->added);

  auto again = f.store.add_tarball(tgz, integrity, "", "good@1.2.3");
  REQUIRE(again.ok());
  CHECK_FALSE(again->added);
  CHECK(again->dir == added->dir);
  CHECK(again->package_json == kManifest);
}

TEST_CASE("Store finds an entry for an expected version only when its package.json has it", "[store]") {
  StoreFixture f;
  const std::string tgz = good_tarball();
  const std::string integrity = sha512_sri(tgz);
  REQUIRE(f.store.add_tarball(tgz, integrity, "", "good@1.2.3").ok());
  CHECK(f.store.find(integrity, "", "1.2.3"));
  CHECK(f.store.find(integrity, "", "v1.2.3"));   // as a package.json may write it
  CHECK(f.store.find(integrity, "", "=1.2.3"));
  CHECK_FALSE(f.store.find(integrity, "", "1.2.4"));  // a lockfile whose version and integrity disagree
  CHECK(f.store.find(integrity, "", ""));

  // An entry whose package.json has no version (or one that is no semver) matches any.
  const std::string odd = make_tarball({file("package/package.json", R"({"name":"odd","version":"latest"})")});
  REQUIRE(f.store.add_tarball(odd, sha512_sri(odd), "", "odd@1.0.0").ok());
  CHECK(f.store.find(sha512_sri(odd), "", "1.0.0"));
}

TEST_CASE("Store refuses a tarball with the wrong integrity and keeps nothing", "[store]") {
  StoreFixture f;
  const std::string tgz = good_tarball();
  const std::string other = sha512_sri("something else");
  auto r = f.store.add_tarball(tgz, other, "", "good@1.2.3");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "EINTEGRITY");
  CHECK(r.error().message == other + " integrity checksum failed when using sha512: wanted " +
                                 other + " but got " + sha512_sri(tgz) + ". (" +
                                 std::to_string(tgz.size()) + " bytes) for good@1.2.3");
  CHECK(stored_files(f.store.root()) == 0);
  CHECK_FALSE(f.store.find(other));
  CHECK_FALSE(f.store.find(sha512_sri(tgz)));
}

TEST_CASE("Store verifies a sha1 shasum, records sha512, and finds it by either", "[store]") {
  StoreFixture f;
  const std::string tgz = good_tarball();
  auto r = f.store.add_tarball(tgz, "", sha1_hex(tgz), "good@1.2.3");
  REQUIRE(r.ok());
  CHECK(r->integrity == sha512_sri(tgz));

  auto by_sha1 = f.store.find("", sha1_hex(tgz));
  REQUIRE(by_sha1);
  CHECK(util::read_file(*by_sha1 / "index.js").value() == "module.exports = 42;\n");
  CHECK(f.store.find(sri_of(util::HashAlgorithm::Sha1, tgz)));  // same key, written as SRI
  CHECK(f.store.find(sha512_sri(tgz)));
  auto loaded = f.store.load("", sha1_hex(tgz));
  REQUIRE(loaded.ok());
  CHECK(loaded->integrity == sha512_sri(tgz));

  auto bad = f.store.add_tarball(tgz + "x", "", sha1_hex(tgz), "good@1.2.3");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "EINTEGRITY");
  const std::string sha1 = sri_of(util::HashAlgorithm::Sha1, tgz);
  CHECK(bad.error().message.rfind(
            sha1 + " integrity checksum failed when using sha1: wanted " + sha1 + " but got ", 0) ==
        0);
  CHECK(bad.error().message.find("but got " + sha512_sri(tgz + "x") + " sha1-") !=
        std::string::npos);
}

TEST_CASE("Store checks only the strongest algorithm of an SRI list", "[store]") {
  StoreFixture f;
  const std::string tgz = good_tarball();
  const std::string wrong_sha1 = sri_of(util::HashAlgorithm::Sha1, "nope");
  const std::string wrong_sha512 = sha512_sri("nope");
  CHECK(f.store.add_tarball(tgz, wrong_sha1 + " " + sha512_sri(tgz), "", "x").ok());
  auto r = f.store.add_tarball(tgz, wrong_sha512 + " " + sri_of(util::HashAlgorithm::Sha1, tgz), "",
                               "x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "EINTEGRITY");
  // Several digests for the strongest algorithm: any match will do.
  CHECK(f.store.add_tarball(tgz, wrong_sha512 + " " + sha512_sri(tgz), "", "x").ok());
  // sha256 expected: verified with sha256, stored under sha512 with an alias.
  const std::string sha256 = sri_of(util::HashAlgorithm::Sha256, tgz);
  REQUIRE(f.store.add_tarball(tgz, sha256, "", "x").ok());
  CHECK(f.store.find(sha256));
}

TEST_CASE("Store keys a tarball by its sha512 when no integrity is expected", "[store]") {
  StoreFixture f;
  const std::string tgz = good_tarball();
  auto r = f.store.add_tarball(tgz, "", "", "good@1.2.3");
  REQUIRE(r.ok());
  CHECK(r->integrity == sha512_sri(tgz));
  CHECK(f.store.find(r->integrity) == r->dir);
}

TEST_CASE("TarballSink hashes chunks as they arrive", "[store]") {
  StoreFixture f;
  const std::string tgz = good_tarball();
  TarballSink sink = f.store.begin_tarball("", sha1_hex(tgz), "good@1.2.3");
  for (size_t i = 0; i < tgz.size(); i += 7) sink.write(std::string_view(tgz).substr(i, 7));
  CHECK(sink.size() == tgz.size());
  auto r = sink.finish();
  REQUIRE(r.ok());
  CHECK(r->integrity == sha512_sri(tgz));
  CHECK(r->package_json == kManifest);

  TarballSink bad = f.store.begin_tarball(sha512_sri(tgz), "", "good@1.2.3");
  bad.write(std::string_view(tgz).substr(0, tgz.size() - 1));
  auto e = bad.finish();
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == "EINTEGRITY");
}

TEST_CASE("Store reports a tarball that is not a tar and keeps nothing", "[store]") {
  StoreFixture f;
  const std::string junk = "definitely not gzip, definitely not tar";
  auto r = f.store.add_tarball(junk, sha512_sri(junk), "", "junk@1.0.0");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "TAR_BAD_ARCHIVE");
  CHECK(r.error().message.rfind("junk@1.0.0: ", 0) == 0);
  CHECK(stored_files(f.store.root()) == 0);
  CHECK_FALSE(f.store.find(sha512_sri(junk)));
}

TEST_CASE("Store keeps nothing of a verified tarball that breaks off midway", "[store]") {
  StoreFixture f;
  // Many files, so that some are written before the archive turns out truncated.
  std::vector<testing::TarEntry> entries;
  for (int i = 0; i < 200; ++i) {
    entries.push_back(file("package/f" + std::to_string(i), std::string(3000, 'a' + i % 26)));
  }
  const std::string whole = make_tarball(entries);
  for (bool owned : {false, true}) {
    std::string cut = whole.substr(0, whole.size() * 2 / 3);
    const std::string integrity = sha512_sri(cut);  // the bytes are what the registry promised
    auto r = owned ? f.store.add_tarball(std::move(cut), integrity, "", "cut@1.0.0")
                   : f.store.add_tarball(std::string_view(cut), integrity, "", "cut@1.0.0");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "TAR_BAD_ARCHIVE");
    CHECK(stored_files(f.store.root()) == 0);
    CHECK_FALSE(f.store.find(integrity));
  }
}

TEST_CASE("Store takes tarballs over and frees them once inflated", "[store]") {
  StoreFixture f;
  std::string tgz = good_tarball();
  const std::string integrity = sha512_sri(tgz);
  auto r = f.store.add_tarball(std::move(tgz), integrity, "", "good@1.2.3");
  REQUIRE(r.ok());
  CHECK(r->files == 3);
  CHECK(r->package_json == kManifest);
  CHECK(tgz.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(f.store.find(integrity));
}

TEST_CASE("Store ignores and replaces an entry without its marker", "[store]") {
  StoreFixture f;
  const std::string tgz = good_tarball();
  const std::string integrity = sha512_sri(tgz);
  std::string hex = util::hex_encode(util::digest(util::HashAlgorithm::Sha512, tgz));
  fs::path entry = f.store.root() / "content-v1" / "sha512" / hex.substr(0, 2) / hex.substr(2);
  fs::create_directories(entry / "package");
  REQUIRE(util::write_file_atomic(entry / "package" / "half.js", "half").ok());
  CHECK_FALSE(f.store.find(integrity));

  auto r = f.store.add_tarball(tgz, integrity, "", "good@1.2.3");
  REQUIRE(r.ok());
  CHECK(r->added);
  CHECK_FALSE(present(entry / "package" / "half.js"));
  CHECK(present(entry / "package" / "index.js"));
  CHECK(f.store.find(integrity));
}

TEST_CASE("Store builds beside a leftover build folder and leaves entries readable", "[store]") {
  StoreFixture f;
  const std::string tgz = good_tarball();
  const std::string integrity = sha512_sri(tgz);
  std::string hex = util::hex_encode(util::digest(util::HashAlgorithm::Sha512, tgz));
  // What another process building this very package leaves behind when it is interrupted (or
  // uses while it builds): its folder carries its own process id and count.
  fs::path leftover = f.store.root() / "tmp" / ("extract-" + hex.substr(0, 32) + "-1-0");
  fs::create_directories(leftover / "package");
  REQUIRE(util::write_file_atomic(leftover / "package" / "half.js", "half").ok());

  auto r = f.store.add_tarball(tgz, integrity, "", "good@1.2.3");
  INFO((r.ok() ? "" : r.error().message));
  REQUIRE(r.ok());
  CHECK(r->added);
  CHECK(util::read_file(r->dir / "index.js").value() == "module.exports = 42;\n");
  CHECK(util::read_file(r->dir.parent_path() / "index").value().rfind("lade-store-entry 1\n", 0) == 0);
  CHECK(listing(f.store.root() / "tmp") ==
        std::vector<std::string>{leftover.filename().string(),
                                 leftover.filename().string() + "/package",
                                 leftover.filename().string() + "/package/half.js"});
  // The entry folder is as readable as a folder made under the umask, like its files.
  const mode_t mask = ::umask(022);
  ::umask(mask);
  struct stat st {};
  REQUIRE(::stat(r->dir.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == (0777 & ~mask));
}

TEST_CASE("Store: concurrent adds of the same package all succeed with one entry", "[store]") {
  StoreFixture f;
  const std::string tgz = good_tarball();
  const std::string integrity = sha512_sri(tgz);
  constexpr int kThreads = 6;
  std::atomic<int> ok{0}, added{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      // Two separate Store objects on one root behave like two processes.
      Store store(f.store.root());
      auto r = store.add_tarball(tgz, integrity, "", "good@1.2.3");
      if (r.ok() && r->package_json == kManifest && util::read_file(r->dir / "lib/util.js").ok()) {
        ++ok;
        if (r->added) ++added;
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  CHECK(ok == kThreads);
  CHECK(added >= 1);
  CHECK(listing(f.store.root() / "tmp").empty());
  // <xx>, <xx>/<rest>, its index and package/, then package.json, index.js, lib, lib/util.js.
  CHECK(listing(f.store.root() / "content-v1" / "sha512").size() == 8);
}

}  // namespace lade::store
