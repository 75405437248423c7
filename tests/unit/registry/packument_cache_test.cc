// The packument disk cache: entries, validators, and compact documents kept across runs.
#include "registry/packument_cache.h"

#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "manifest/packument.h"
#include "util/fs.h"

namespace lade::registry {
namespace {

using namespace std::chrono_literals;

const char* const kDocument = R"({"name": "cached", "readme": "# long text",
  "dist-tags": {"latest": "1.1.0"},
  "versions": {
    "1.0.0": {"name": "cached", "version": "1.0.0", "description": "dropped",
              "dependencies": {"a": "^1"}, "devDependencies": {"b": "^2"},
              "dist": {"tarball": "http://127.0.0.1:9/cached-1.0.0.tgz", "integrity": "sha512-A",
                       "fileCount": 3}},
    "1.1.0": {"name": "cached", "version": "1.1.0", "deprecated": "old",
              "engines": {"node": ">=18"}, "scripts": {"postinstall": "x", "test": "y"},
              "dist": {"tarball": "http://127.0.0.1:9/cached-1.1.0.tgz"}}
  },
  "time": {"1.0.0": "2020-01-01T00:00:00.000Z"}})";

TEST_CASE("packument cache: a compact document survives a round trip",
          "[registry][cache][compact]") {
  auto dir = util::TempDir::create().value();
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  PackumentCache cache(dir.path(), [&] { return now; });

  auto parsed = manifest::Packument::parse(kDocument, "cached");
  REQUIRE(parsed.ok());
  const manifest::Packument& original = **parsed;

  CacheEntryMeta meta;
  meta.key = PackumentCache::key_for("http://127.0.0.1:9/cached", false);
  meta.etag = "\"e1\"";
  meta.last_modified = "Mon, 01 Jan 2024 00:00:00 GMT";
  meta.max_age = 300s;
  REQUIRE(cache.store_packument(meta, original).ok());
  CHECK(cache.dir().filename() == "packuments-v4");
  const std::string body = original.index_bytes() + std::string(original.compact_text());

  auto looked_up = cache.lookup(meta.key);
  REQUIRE(looked_up);
  CHECK(looked_up->compact);
  CHECK(looked_up->index_size == original.index_bytes().size());
  CHECK(looked_up->etag == "\"e1\"");
  CHECK(cache.is_fresh(*looked_up));

  auto entry = cache.load(meta.key);
  REQUIRE(entry);
  CHECK(entry->meta.compact);
  CHECK(entry->meta.etag == meta.etag);
  CHECK(entry->meta.last_modified == meta.last_modified);
  CHECK(entry->meta.max_age == meta.max_age);
  CHECK(entry->meta.stored_at == now);
  CHECK(entry->body == body);
  // Room for the parser's padding: parsing takes the body without copying it.
  CHECK(entry->body.capacity() >= entry->body.size() + manifest::Packument::kTextPadding);

  auto reopened = cache.open_packument(meta.key, "cached");
  REQUIRE(reopened.ok());
  CHECK(reopened->meta.etag == meta.etag);
  CHECK(reopened->meta.stored_at == now);
  CHECK(reopened->meta.index_size == original.index_bytes().size());
  const manifest::Packument& again = *reopened->packument;
  CHECK(again.compact_text().empty());  // versions are read from the file when asked for
  CHECK(again.index_bytes() == original.index_bytes());
  CHECK(again.dist_tags() == original.dist_tags());
  REQUIRE(again.versions().size() == 2);
  CHECK(again.find("1.1.0")->deprecated);
  CHECK(again.find("1.1.0")->engines_node == ">=18");
  for (const char* version : {"1.0.0", "1.1.0"}) {
    INFO(version);
    CHECK(again.manifest(version).value() == original.manifest(version).value());
  }
  CHECK(again.manifest("1.1.0").value().has_install_script);
  CHECK(again.manifest("1.0.0").value().dist.integrity == "sha512-A");

  SECTION("a refresh with new validators keeps the body and its form") {
    now += 10s;
    CacheEntryMeta updated = *looked_up;
    updated.etag = "\"e2\"";
    REQUIRE(cache.refresh(updated).ok());
    auto refreshed = cache.load(meta.key);
    REQUIRE(refreshed);
    CHECK(refreshed->meta.compact);
    CHECK(refreshed->meta.etag == "\"e2\"");
    CHECK(refreshed->meta.stored_at == now);
    CHECK(refreshed->meta.index_size == looked_up->index_size);
    CHECK(refreshed->body == body);
    // A packument opened before the refresh still reads the file it opened.
    CHECK(again.manifest("1.0.0").value() == original.manifest("1.0.0").value());
    REQUIRE(cache.open_packument(meta.key, "cached").ok());
  }
  SECTION("a replaced entry does not change a packument opened before") {
    auto replacement = manifest::Packument::parse(
        R"({"name": "cached", "versions": {"9.0.0": {"version": "9.0.0"}}})", "cached");
    REQUIRE(replacement.ok());
    auto fresh = cache.open_packument(meta.key, "cached");
    REQUIRE(fresh.ok());
    REQUIRE(cache.store_packument(meta, **replacement).ok());
    CHECK(fresh->packument->manifest("1.1.0").value() == original.manifest("1.1.0").value());
    auto newer = cache.open_packument(meta.key, "cached");
    REQUIRE(newer.ok());
    CHECK(newer->packument->versions().size() == 1);
  }
  SECTION("a packument freshly stored reads its versions from the file it wrote") {
    auto fresh = manifest::Packument::parse(kDocument, "cached");
    REQUIRE(fresh.ok());
    auto reader = cache.store_packument(meta, **fresh);
    REQUIRE(reader.ok());
    REQUIRE(*reader != nullptr);
    (*fresh)->adopt_document(*reader);
    CHECK((*fresh)->compact_text().empty());
    // Even once another writer has replaced the entry.
    auto replacement = manifest::Packument::parse(
        R"({"name": "cached", "versions": {"9.0.0": {"version": "9.0.0"}}})", "cached");
    REQUIRE(replacement.ok());
    REQUIRE(cache.store_packument(meta, **replacement).ok());
    for (const char* version : {"1.0.0", "1.1.0"}) {
      INFO(version);
      CHECK((*fresh)->manifest(version).value() == original.manifest(version).value());
    }
  }
  SECTION("a damaged entry is an error, not a packument") {
    std::string text = util::read_file(cache.path_for(meta.key)).value();
    REQUIRE(util::write_file_atomic(cache.path_for(meta.key), text.substr(0, text.size() / 2)).ok());
    auto cut = cache.open_packument(meta.key, "cached");
    REQUIRE_FALSE(cut.ok());
    CHECK(cut.error().code == "ECACHEDAMAGED");
    REQUIRE(util::write_file_atomic(cache.path_for(meta.key), "").ok());
    CHECK(cache.open_packument(meta.key, "cached").error().code == "ECACHEDAMAGED");
    cache.remove(meta.key);
    CHECK(cache.open_packument(meta.key, "cached").error().code == "ENOENT");
  }
  SECTION("a body stored as received says so") {
    CacheEntryMeta plain = meta;
    plain.compact = false;
    REQUIRE(cache.store(plain, kDocument).ok());
    auto loaded = cache.load(meta.key);
    REQUIRE(loaded);
    CHECK_FALSE(loaded->meta.compact);
    CHECK(loaded->body == kDocument);
    auto reparsed = cache.open_packument(meta.key, "cached");
    REQUIRE(reparsed.ok());
    CHECK(reparsed->packument->compact_text() == original.compact_text());
  }
}

namespace {

size_t open_descriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace

TEST_CASE("packument cache: open packuments hold their file, up to a budget",
          "[registry][cache][compact]") {
  auto dir = util::TempDir::create().value();
  auto parsed = manifest::Packument::parse(kDocument, "cached");
  REQUIRE(parsed.ok());
  CacheEntryMeta meta;
  meta.key = PackumentCache::key_for("http://127.0.0.1:9/cached", false);
  meta.max_age = 300s;

  SECTION("within the budget the file stays open while the packument lives") {
    PackumentCache cache(dir.path());
    REQUIRE(cache.store_packument(meta, **parsed).ok());  // its reader is dropped at once
    const size_t before = open_descriptors();
    {
      auto opened = cache.open_packument(meta.key, "cached");
      REQUIRE(opened.ok());
      CHECK(open_descriptors() == before + 1);
      CHECK(opened->packument->manifest("1.1.0").value().deprecated == "old");
    }
    CHECK(open_descriptors() == before);
  }
  SECTION("past the budget the document is read into memory") {
    struct rlimit saved {};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    struct rlimit low = saved;
    low.rlim_cur = 200;  // half of it, less the margin, leaves no room for open documents
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    PackumentCache cache(dir.path());
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
    auto reader = cache.store_packument(meta, **parsed);
    REQUIRE(reader.ok());
    CHECK(*reader == nullptr);  // nothing kept open: the packument keeps its document
    const size_t before = open_descriptors();
    auto opened = cache.open_packument(meta.key, "cached");
    REQUIRE(opened.ok());
    CHECK(open_descriptors() == before);
    CHECK(opened->packument->manifest("1.1.0").value().deprecated == "old");
    CHECK(opened->packument->manifest("1.0.0").value().dist.integrity == "sha512-A");
  }
}

TEST_CASE("packument cache: entries of the previous format are not read",
          "[registry][cache][compact]") {
  auto dir = util::TempDir::create().value();
  PackumentCache cache(dir.path());
  const std::string key = PackumentCache::key_for("http://127.0.0.1:9/old", false);
  // The file a previous lade wrote for the same key, under its own bucket and magic line.
  fs::path old_file = dir.path() / "packuments-v1" / cache.path_for(key).filename();
  fs::create_directories(old_file.parent_path());
  REQUIRE(
      util::write_file_atomic(old_file, "lade-packument-cache-v1\nkey: " + key + "\n\n{}").ok());
  CHECK_FALSE(cache.lookup(key));
  CHECK_FALSE(cache.load(key));
  // Nor an older file where a v3 one belongs.
  fs::create_directories(cache.dir());
  for (const char* magic : {"lade-packument-cache-v1", "lade-packument-cache-v2"}) {
    REQUIRE(util::write_file_atomic(cache.path_for(key),
                                    std::string(magic) + "\nkey: " + key + "\n\n{}")
                .ok());
    CHECK_FALSE(cache.load(key));
    CHECK_FALSE(cache.open_packument(key, "old").ok());
  }
}

}  // namespace
}  // namespace lade::registry
