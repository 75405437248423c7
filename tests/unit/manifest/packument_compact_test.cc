// Compact packuments: what Packument::parse keeps of a registry's document, and that a Manifest
// built from the compact document is the one the full document gives.
#include <catch2/catch.hpp>

#include "manifest/packument.h"

namespace lade::manifest {
namespace {

// Every field manifest_from_json reads, in several shapes, next to fields lade never reads.
// Version 3.0.0 spells keys with escapes, repeats keys and spreads values over lines.
const char* const kRegistryDocument = R"({
  "_id": "every", "_rev": "12-abc", "name": "every",
  "description": "a package with every field",
  "dist-tags": {"latest": "2.0.0", "beta": "3.0.0", "latest": "1.0.0"},
  "versions": {
    "1.0.0": {
      "name": "every", "version": "1.0.0", "description": "dropped",
      "keywords": ["a", "b"], "author": {"name": "someone"}, "main": "index.js",
      "repository": {"type": "git", "url": "git+https://git.example/every.git"},
      "contributors": [{"name": "x"}], "_npmUser": {"name": "x"}, "_id": "every@1.0.0",
      "directories": {"bin": "./bin"}, "exports": {".": "./index.js"}, "gypfile": true,
      "dependencies": {"a": "^1.0.0", "opt": "^2", "bad": 5},
      "devDependencies": {"mocha": "^10"},
      "optionalDependencies": {"opt": "^2"},
      "peerDependencies": {"react": ">=17", "vue": "3"},
      "peerDependenciesMeta": {"vue": {"optional": true}, "react": {"optional": false}},
      "acceptDependencies": {"a": "^0.9"},
      "bundleDependencies": ["a"],
      "bin": {"every": "./bin/every.js", "../escape": "x", "other": "bin/../other.js"},
      "scripts": {"test": "mocha -R dot", "preinstall": "echo pre", "install": "node-gyp rebuild",
                  "postinstall": "", "prepare": "tsc", "build": "tsc -p ."},
      "deprecated": "use 2",
      "workspaces": {"packages": ["packages/*"], "nohoist": ["x"]},
      "license": {"type": "MIT", "url": "https://license.example"},
      "engines": {"node": ">=14", "npm": ">=7", "yarn": "*"},
      "os": ["linux", "!win32"], "cpu": ["x64"], "libc": ["glibc"],
      "funding": [{"type": "github", "url": "https://funding.example"}, "https://f.example"],
      "overrides": {"a": "1.0.1"},
      "dist": {"tarball": "http://127.0.0.1:9/every/-/every-1.0.0.tgz", "fileCount": 12,
               "integrity": "sha512-AAAA", "shasum": "00ff", "unpackedSize": 1024,
               "signatures": [{"keyid": "SHA256:x", "sig": "MEUC"}],
               "npm-signature": "-----BEGIN PGP SIGNATURE-----"},
      "_hasShrinkwrap": false, "hasShrinkwrap": true, "hasInstallScript": true,
      "readme": "# every\n\n{\"versions\": {}}\n", "gitHead": "abc"
    },
    "2.0.0": {
      "name": "every", "version": "2.0.0",
      "dependencies": {"a": "^1.0.0"},
      "bundledDependencies": true,
      "bin": "./cli.js",
      "scripts": "not an object",
      "deprecated": false,
      "license": "ISC", "engines": ["node >= 10"], "funding": "https://f.example",
      "os": "linux", "workspaces": ["a", "b"],
      "dist": "not an object",
      "_hasShrinkwrap": true,
      "number": 1.50
    },
    "3.0.0": {
      "version" : "3.0.0" ,
      "d\u0065pendencies" : { "x\u00e9" : "~1.0.0" , "y" : "1.x" } ,
      "dependencies" : { "z" : "2" } ,
      "engines": {"node": ">=18", "npm": "9"},
      "deprecated": "first", "deprecated": "",
      "bin" : [ "./bin/one.js" ,
                "./bin/two.js" ] ,
      "funding": {"url": "https://f.example", "number": 1.0e+2},
      "license": null,
      "dist": {"tarball": "http://127.0.0.1:9/every/-/every-3.0.0.tgz", "tarball": "\u0068ttp://127.0.0.1:9/t.tgz",
               "integrity": "sha512-\/slash"},
      "scripts": {"postinstall": "a"}, "scripts": {"test": "b", "pre\u0069nstall": "c"}
    },
    "4.0.0": "not an object",
    "5.0.0": {}
  },
  "time": {"created": "2020-01-01T00:00:00.000Z", "1.0.0": "2020-01-01T00:00:00.000Z"},
  "maintainers": [{"name": "someone"}],
  "users": {"x": true},
  "readme": "# every",
  "name": "every"
})";

/// What the full version object gives, minus what compaction drops on purpose.
Manifest expected_manifest(const Json& full_version, const std::string& name,
                           const std::string& version) {
  Manifest m = manifest_from_json(full_version);
  if (m.name.empty()) m.name = name;
  if (m.version.empty()) m.version = version;
  std::erase_if(m.scripts, [](const auto& s) {
    return s.first != "preinstall" && s.first != "install" && s.first != "postinstall";
  });
  return m;
}

/// Two packuments with the same name, dist-tags and versions, version by version.
void check_same_packument(const Packument& a, const Packument& b) {
  CHECK(b.name() == a.name());
  CHECK(b.dist_tags() == a.dist_tags());
  REQUIRE(b.versions().size() == a.versions().size());
  for (size_t i = 0; i < a.versions().size(); ++i) {
    const auto& va = a.versions()[i];
    const auto& vb = b.versions()[i];
    INFO(va.version);
    CHECK(vb.version == va.version);
    CHECK(vb.deprecated == va.deprecated);
    CHECK(vb.engines_node == va.engines_node);
    CHECK(vb.published_ms == va.published_ms);
    CHECK(b.find(va.version) == &vb);
    CHECK(b.version_json(vb).value() == a.version_json(va).value());
    CHECK(b.manifest(vb.version).value() == a.manifest(va.version).value());
  }
}

TEST_CASE("compaction keeps every field a Manifest reads", "[manifest][packument][compact]") {
  auto parsed = Packument::parse(kRegistryDocument, "every");
  REQUIRE(parsed.ok());
  const Packument& p = **parsed;
  const Json full = Json::parse(kRegistryDocument);

  REQUIRE(p.versions().size() == 4);  // "4.0.0" is not an object
  for (const PackumentVersion& pv : p.versions()) {
    INFO(pv.version);
    auto m = p.manifest(pv.version);
    REQUIRE(m.ok());
    CHECK(*m == expected_manifest(full["versions"][std::string(pv.version)], "every", std::string(pv.version)));
  }

  // The fixture exercises what it claims to.
  auto v1 = p.manifest("1.0.0").value();
  CHECK(v1.has_install_script);
  CHECK(v1.scripts.size() == 3);
  CHECK(v1.dev_dependencies.size() == 1);
  CHECK(v1.dependencies.size() == 1);  // "opt" is optional, "bad" is not a string
  CHECK(v1.optional_peers == std::vector<std::string>{"vue"});
  CHECK(v1.dist.integrity == "sha512-AAAA");
  CHECK(v1.dist.shasum == "00ff");
  CHECK(v1.has_shrinkwrap);
  CHECK(v1.workspaces == std::vector<std::string>{"packages/*"});
  CHECK(v1.overrides == Json::parse(R"({"a": "1.0.1"})"));
  CHECK(v1.libc == Json::parse(R"(["glibc"])"));
  auto v2 = p.manifest("2.0.0").value();
  CHECK(v2.bundle_dependencies == std::vector<std::string>{"a"});
  CHECK(v2.bin.size() == 1);
  CHECK(v2.funding == Json::parse(R"({"url": "https://f.example"})"));
  auto v3 = p.manifest("3.0.0").value();
  CHECK(v3.name == "every");  // from the packument
  CHECK(v3.dist.tarball == "http://127.0.0.1:9/t.tgz");
  CHECK(v3.dist.integrity == "sha512-/slash");
  CHECK(v3.engines == Json::parse(R"({"node": ">=18", "npm": "9"})"));
  // The last "scripts" wins; of it only the (escaped) preinstall is kept.
  using Scripts = std::vector<std::pair<std::string, std::string>>;
  CHECK(v3.scripts == Scripts{{"preinstall", "c"}});
}

TEST_CASE("compaction keeps the index the full document gives", "[manifest][packument][compact]") {
  auto parsed = Packument::parse(kRegistryDocument, "every");
  REQUIRE(parsed.ok());
  const Packument& p = **parsed;
  CHECK(p.name() == "every");
  using Tags = std::vector<std::pair<std::string, std::string>>;
  CHECK(p.dist_tags() == Tags{{"latest", "2.0.0"}, {"beta", "3.0.0"}, {"latest", "1.0.0"}});
  CHECK(p.find("1.0.0")->deprecated);
  CHECK(p.find("1.0.0")->engines_node == ">=14");
  CHECK_FALSE(p.find("2.0.0")->deprecated);
  CHECK(p.find("2.0.0")->engines_node.empty());
  CHECK_FALSE(p.find("3.0.0")->deprecated);  // the last "deprecated" is empty
  CHECK(p.find("3.0.0")->engines_node == ">=18");
  CHECK(p.version_json(*p.find("5.0.0")).value() == "{}");
  CHECK(p.size_bytes() == std::string_view(kRegistryDocument).size());
  CHECK(p.compact_size_bytes() == p.compact_text().size());
  CHECK(p.compact_size_bytes() < p.size_bytes());
}

TEST_CASE("compaction drops what nothing reads", "[manifest][packument][compact]") {
  auto parsed = Packument::parse(kRegistryDocument, "every");
  REQUIRE(parsed.ok());
  const std::string_view text = (*parsed)->compact_text();
  const Json compact = Json::parse(text);
  REQUIRE(compact.is_object());
  std::vector<std::string> top;
  for (const auto& [k, v] : compact.items()) top.push_back(k);
  CHECK(top == std::vector<std::string>{"versions", "name", "dist-tags", "time"});
  // Publication times stay (npm's `before`), as numbers, versions only.
  CHECK(compact["time"] == Json::parse(R"({"1.0.0": 1577836800000})"));
  CHECK((*parsed)->find("1.0.0")->published_ms == 1577836800000);
  auto again = Packument::parse(std::string(text), "every");
  REQUIRE(again.ok());
  CHECK((*again)->find("1.0.0")->published_ms == 1577836800000);

  for (const char* dropped :
       {"readme",   "maintainers", "description",  "keywords",   "repository",    "contributors",
        "_npmUser", "directories", "exports",      "gypfile",    "mocha -R dot",  "\"test\"",
        "prepare",  "fileCount",   "unpackedSize", "signatures", "npm-signature", "gitHead",
        "created",  "users",       "1.50",         "_rev",       "\"main\""}) {
    INFO(dropped);
    CHECK(text.find(dropped) == std::string_view::npos);
  }
  const Json& v1 = compact["versions"]["1.0.0"];
  CHECK(v1["scripts"] == Json::parse(
                             R"({"preinstall": "echo pre", "install": "node-gyp rebuild",
                                 "postinstall": ""})"));
  CHECK(v1["dist"] == Json::parse(R"({"tarball": "http://127.0.0.1:9/every/-/every-1.0.0.tgz",
                                      "integrity": "sha512-AAAA", "shasum": "00ff"})"));
  // Values are copied byte for byte, escapes and spacing included.
  CHECK(text.find(R"("d\u0065pendencies":{ "x\u00e9" : "~1.0.0" , "y" : "1.x" })") !=
        std::string_view::npos);
  CHECK(text.find(R"("url": "https://f.example", "number": 1.0e+2)") != std::string_view::npos);
  CHECK(text.find(R"("integrity":"sha512-\/slash")") != std::string_view::npos);
}

TEST_CASE("a compact document parses to the same packument", "[manifest][packument][compact]") {
  auto first = Packument::parse(kRegistryDocument, "every");
  REQUIRE(first.ok());
  const Packument& a = **first;
  auto again = Packument::parse(std::string(a.compact_text()), "every");
  REQUIRE(again.ok());
  const Packument& b = **again;
  CHECK(b.compact_text() == a.compact_text());
  check_same_packument(a, b);
  // Compacting a compact document changes nothing either.
  auto twice = Packument::parse(std::string(a.compact_text()), "every");
  REQUIRE(twice.ok());
  CHECK((*twice)->compact_text() == a.compact_text());
}

namespace {

/// The document open_indexed() reads, here from memory; counts what it is asked for.
class CountingReader final : public DocumentReader {
 public:
  CountingReader(std::string text, int* reads) : text_(std::move(text)), reads_(reads) {}
  util::Result<std::string> read(uint64_t offset, size_t length) const override {
    ++*reads_;
    if (offset + length > text_.size()) return util::make_error("EIO", "past the end");
    return text_.substr(offset, length);
  }

 private:
  std::string text_;
  int* reads_;
};

}  // namespace

TEST_CASE("an index and its document on the side give the same packument",
          "[manifest][packument][compact]") {
  auto first = Packument::parse(kRegistryDocument, "every");
  REQUIRE(first.ok());
  const Packument& a = **first;
  const std::string document(a.compact_text());
  int reads = 0;
  auto opened = Packument::open_indexed(
      a.index_bytes(), std::make_unique<CountingReader>(document, &reads), document.size(),
      "every");
  REQUIRE(opened.ok());
  const Packument& b = **opened;
  CHECK(reads == 0);  // opening reads no version
  CHECK(b.compact_text().empty());
  CHECK(b.index_bytes() == a.index_bytes());
  CHECK(b.find("1.0.0")->published_ms == 1577836800000);
  check_same_packument(a, b);
  // Each version's manifest was read once: a second call is served from memory.
  const int after_first_pass = reads;
  (void)b.manifest(a.versions()[0].version);
  CHECK(reads == after_first_pass);
}

TEST_CASE("a packument hands its document over to a reader of the same bytes",
          "[manifest][packument][compact]") {
  auto first = Packument::parse(kRegistryDocument, "every");
  REQUIRE(first.ok());
  auto again = Packument::parse(kRegistryDocument, "every");
  REQUIRE(again.ok());
  const Packument& b = **again;
  int reads = 0;
  b.adopt_document(std::make_shared<CountingReader>(std::string(b.compact_text()), &reads));
  CHECK(b.compact_text().empty());
  CHECK(b.index_bytes() == (*first)->index_bytes());
  check_same_packument(**first, b);
  CHECK(reads > 0);
}

TEST_CASE("a damaged index is refused", "[manifest][packument][compact]") {
  auto first = Packument::parse(kRegistryDocument, "every");
  REQUIRE(first.ok());
  const std::string index = (*first)->index_bytes();
  const std::string document((*first)->compact_text());
  auto open = [&](std::string_view bytes, uint64_t document_size) {
    int reads = 0;
    return Packument::open_indexed(bytes, std::make_unique<CountingReader>(document, &reads),
                                   document_size, "every");
  };
  REQUIRE(open(index, document.size()).ok());
  for (size_t cut : {size_t{0}, size_t{5}, index.size() / 2, index.size() - 1}) {
    INFO("cut at " << cut);
    auto damaged = open(std::string_view(index).substr(0, cut), document.size());
    REQUIRE_FALSE(damaged.ok());
    CHECK(damaged.error().code == "EJSONPARSE");
  }
  CHECK_FALSE(open(index + "x", document.size()).ok());       // bytes after the last version
  CHECK_FALSE(open(index, document.size() / 2).ok());         // spans past the document
  std::string wrong_magic = index;
  wrong_magic[0] = 'X';
  CHECK_FALSE(open(wrong_magic, document.size()).ok());
  std::string huge_count = index;  // a version count no index this size could hold
  const size_t count_at = index.size() - [&] {
    size_t tail = 0;
    for (const auto& v : (*first)->versions())
      tail += 4 + v.version.size() + 1 + 4 + v.engines_node.size() + 8 + 8;
    return tail + 4;
  }();
  huge_count[count_at + 3] = '\x7f';
  CHECK_FALSE(open(huge_count, document.size()).ok());
}

TEST_CASE("compaction of odd documents", "[manifest][packument][compact]") {
  SECTION("no versions, no name") {
    auto p = Packument::parse(R"({"dist-tags": 5, "readme": "x"})", "odd");
    REQUIRE(p.ok());
    CHECK((*p)->compact_text() == R"({"versions":{},"dist-tags":{}})");
    CHECK((*p)->name().empty());
  }
  SECTION("escaped version keys and names") {
    auto p = Packument::parse(
        R"({"name": "\u0040s/q\"x", "versions": {"1.0.0-\u0061": {"version": "1.0.0-a"}},)"
        R"( "versions": {"2.0.0": {"a": 1}}, "dist-tags": {"l\u0061test": "2.0.0"}})",
        "odd");
    REQUIRE(p.ok());
    const Packument& doc = **p;
    CHECK(doc.name() == "@s/q\"x");
    REQUIRE(doc.versions().size() == 2);
    CHECK(doc.versions()[0].version == "1.0.0-a");
    CHECK(doc.find("1.0.0-a") == &doc.versions()[0]);
    CHECK(doc.version_json(doc.versions()[1]).value() == "{}");
    CHECK(doc.dist_tags().at(0).first == "latest");
    auto again = Packument::parse(std::string(doc.compact_text()), "odd");
    REQUIRE(again.ok());
    CHECK((*again)->name() == doc.name());
    CHECK((*again)->versions()[0].version == "1.0.0-a");
    CHECK((*again)->dist_tags() == doc.dist_tags());
  }
  SECTION("errors are still reported") {
    auto broken = Packument::parse(R"({"versions": {"1.0.0": {"dependencies": }}})", "x");
    REQUIRE_FALSE(broken.ok());
    CHECK(broken.error().code == "EJSONPARSE");
  }
}

}  // namespace
}  // namespace lade::manifest

namespace lade::manifest {
namespace {

/// A JSON string member of `size` bytes full of what a scanner could trip on.
std::string padding_member(size_t size) {
  std::string text = R"("padding": ")";
  const std::string_view chunk = R"(x \"quoted {braces} [brackets]\" \\ \u00e9 )";
  while (text.size() < size) text += chunk;
  text += R"(",)";
  return text;
}

}  // namespace

TEST_CASE("a document over a megabyte is indexed piece by piece, to the same packument",
          "[manifest][packument][compact]") {
  auto small = Packument::parse(kRegistryDocument, "every");
  REQUIRE(small.ok());
  // The same document with two megabytes nothing reads, at the front and in a version.
  std::string large = kRegistryDocument;
  large.insert(large.find('{') + 1, padding_member(1 << 20));
  large.insert(large.find(R"("name": "every", "version": "1.0.0")"), padding_member(1 << 20));
  REQUIRE(large.size() > (size_t{2} << 20));
  auto parsed = Packument::parse(large, "every");
  INFO((parsed.ok() ? "" : parsed.error().message));
  REQUIRE(parsed.ok());
  CHECK((*parsed)->compact_text() == (*small)->compact_text());
  check_same_packument(**small, **parsed);
  CHECK((*parsed)->size_bytes() == large.size());
}

TEST_CASE("a large compact document reads back the same", "[manifest][packument][compact]") {
  // Thousands of versions, as the biggest packuments have.
  std::string doc = R"({"name": "many", "dist-tags": {"latest": "1.6999.0"}, "versions": {)";
  for (int i = 0; i < 7000; ++i) {
    if (i) doc += ',';
    const std::string v = "1." + std::to_string(i) + ".0";
    doc += "\"" + v + R"(": {"name": "many", "version": ")" + v +
           R"(", "description": ")" + std::string(200, 'd') +
           R"(", "dependencies": {"a": "^)" + std::to_string(i) +
           R"(.0.0"}, "engines": {"node": ">=)" + std::to_string(i % 20) +
           R"("}, "dist": {"tarball": "http://127.0.0.1:9/many.tgz", "integrity": "sha512-X"}})";
  }
  doc += "}}";
  REQUIRE(doc.size() > (size_t{1} << 20));
  auto first = Packument::parse(doc, "many");
  REQUIRE(first.ok());
  const Packument& a = **first;
  REQUIRE(a.versions().size() == 7000);
  CHECK(a.versions()[7].engines_node == ">=7");
  const Json full = Json::parse(doc);
  for (int i : {0, 1, 2500, 6999}) {
    const std::string v = "1." + std::to_string(i) + ".0";
    INFO(v);
    CHECK(a.manifest(v).value() == expected_manifest(full["versions"][v], "many", v));
  }
  REQUIRE(a.compact_text().size() > (size_t{1} << 20));
  auto again = Packument::parse(std::string(a.compact_text()), "many");
  REQUIRE(again.ok());
  check_same_packument(a, **again);
}

TEST_CASE("a malformed large document is an error", "[manifest][packument][compact]") {
  std::string large = kRegistryDocument;
  large.insert(large.find('{') + 1, padding_member(size_t{3} << 19));
  for (size_t cut : {large.size() - 3, large.size() / 2, size_t{100}}) {
    INFO("cut at " << cut);
    auto p = Packument::parse(large.substr(0, cut), "every");
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().code == "EJSONPARSE");
  }
  auto trailing = Packument::parse(large + " x", "every");
  CHECK_FALSE(trailing.ok());
  auto array = Packument::parse("[" + std::string(size_t{3} << 19, ' ') + "1]", "every");
  REQUIRE_FALSE(array.ok());
  CHECK(array.error().message.find("must be a JSON object") != std::string::npos);
}

}  // namespace lade::manifest
