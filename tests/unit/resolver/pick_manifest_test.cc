// pick_version() against npm-pick-manifest's answers. Every expectation below was produced by
// running npm-pick-manifest 11 (the copy npm 11 bundles) on the same packument, and the
// package.json spec rules were checked by running `npm install` against a loopback registry.
#include "resolver/pick_manifest.h"

#include <catch2/catch.hpp>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "manifest/packument.h"
#include "util/date.h"

using lade::manifest::Packument;
using lade::resolver::classify_registry_spec;
using lade::resolver::PickIndex;
using lade::resolver::PickOptions;
using lade::resolver::SpecKind;

namespace {

struct V {
  std::string version;
  std::string extra;  // more JSON fields of the version object, e.g. "\"deprecated\":\"x\""
};

std::shared_ptr<const Packument> packument(std::initializer_list<V> versions,
                                           std::string dist_tags) {
  std::string text = "{\"name\":\"demo\",\"dist-tags\":{" + dist_tags + "},\"versions\":{";
  bool first = true;
  for (const V& v : versions) {
    if (!first) text += ",";
    first = false;
    text += "\"" + v.version + "\":{\"name\":\"demo\",\"version\":\"" + v.version + "\"";
    if (!v.extra.empty()) text += "," + v.extra;
    text += "}";
  }
  text += "}}";
  auto parsed = Packument::parse(text, "demo");
  REQUIRE(parsed.ok());
  return *parsed;
}

std::shared_ptr<const Packument> base(std::string latest = "2.0.0",
                                      std::string deprecated_prerelease = "\"deprecated\":\"no\"") {
  return packument({{"1.0.0", ""},
                    {"1.1.0", ""},
                    {"2.0.0", ""},
                    {"2.1.0", ""},
                    {"3.0.0-beta.1", deprecated_prerelease}},
                   "\"latest\":\"" + latest +
                       "\",\"next\":\"3.0.0-beta.1\",\"old\":\"1.0.0\",\"gone\":\"9.9.9\"");
}

// The picked version, or "CODE: message".
std::string pick(const Packument& p, std::string_view wanted, PickOptions options = {}) {
  auto r = lade::resolver::pick_version(p, wanted, options);
  std::string one_shot = r.ok() ? std::string((*r)->version) : r.error().code + ": " + r.error().message;
  // The indexed form must always agree with the one-shot form.
  PickIndex index(p);
  auto again = lade::resolver::pick_version(index, wanted, options);
  std::string indexed =
      again.ok() ? std::string((*again)->version) : again.error().code + ": " + again.error().message;
  CHECK(indexed == one_shot);
  return one_shot;
}

PickOptions node(std::string version) {
  PickOptions o;
  o.node_version = std::move(version);
  return o;
}

}  // namespace

TEST_CASE("pick_version prefers the latest tag when it satisfies the range", "[resolver][pick]") {
  auto p = base();
  CHECK(pick(*p, "^2") == "2.0.0");  // not 2.1.0
  CHECK(pick(*p, "*") == "2.0.0");
  CHECK(pick(*p, "") == "2.0.0");
  CHECK(pick(*p, ">=1") == "2.0.0");
  CHECK(pick(*p, "^1") == "1.1.0");
  CHECK(pick(*p, " ^1 ") == "1.1.0");
  CHECK(pick(*p, "\xC2\xA0^1\xC2\xA0") == "1.1.0");  // trimmed with JavaScript's trim
  CHECK(pick(*p, "x") == "2.0.0");
  CHECK(pick(*p, ">= 1.1") == "2.0.0");
  CHECK(pick(*p, "1.0.0 - 2") == "2.0.0");
  CHECK(pick(*p, "^3.0.0-beta.0") == "3.0.0-beta.1");
  CHECK(pick(*p, "^4") == "ETARGET: No matching version found for demo@^4.");
  CHECK(pick(*p, " ^4 ") == "ETARGET: No matching version found for demo@^4.");
  CHECK(pick(*p, "~1.2.3 foo") == "ETARGET: No matching version found for demo@~1.2.3 foo.");
}

TEST_CASE("pick_version: exact versions and tags", "[resolver][pick]") {
  auto p = base();
  CHECK(pick(*p, "v1.1.0") == "1.1.0");
  CHECK(pick(*p, "=1.1.0") == "1.1.0");
  CHECK(pick(*p, "1.1.0+build") == "1.1.0");
  CHECK(pick(*p, "1.0.5") == "ETARGET: No matching version found for demo@1.0.5.");
  CHECK(pick(*p, "next") == "3.0.0-beta.1");  // deprecated, but a tag is taken as it is
  CHECK(pick(*p, "old") == "1.0.0");
  CHECK(pick(*p, "latest") == "2.0.0");
  CHECK(pick(*p, " latest ") == "2.0.0");
  CHECK(pick(*p, "gone") == "ETARGET: No matching version found for demo@gone.");
  CHECK(pick(*p, "nope") == "ETARGET: No matching version found for demo@nope.");
  CHECK(pick(*p, " a b ") ==
        "EINVALIDTAGNAME: Invalid tag name \"a b\" of package \"demo@ a b \": Tags may not have "
        "any characters that encodeURIComponent encodes.");
}

TEST_CASE("pick_version: a prerelease latest only counts for '*' and ''", "[resolver][pick]") {
  auto p = base("3.0.0-beta.1", "\"description\":\"not deprecated\"");
  CHECK(pick(*p, "*") == "3.0.0-beta.1");
  CHECK(pick(*p, "") == "3.0.0-beta.1");
  CHECK(pick(*p, ">=2") == "2.1.0");
  CHECK(pick(*p, "x") == "2.1.0");
  CHECK(pick(*p, ">=2.0.0-0") == "2.1.0");
}

TEST_CASE("pick_version avoids deprecated versions", "[resolver][pick]") {
  auto p = packument({{"1.0.0", ""}, {"2.0.0", ""}, {"2.1.0", "\"deprecated\":\"old\""}},
                     "\"latest\":\"2.1.0\"");
  CHECK(pick(*p, "^2") == "2.0.0");
  CHECK(pick(*p, "*") == "2.0.0");
  auto all = packument({{"1.0.0", "\"deprecated\":\"x\""},
                        {"1.1.0", "\"deprecated\":\"x\""},
                        {"2.0.0", "\"deprecated\":\"x\""},
                        {"2.1.0", "\"deprecated\":\"x\""}},
                       "\"latest\":\"2.0.0\"");
  CHECK(pick(*all, "^2") == "2.1.0");
  CHECK(pick(*all, "*") == "2.1.0");
  CHECK(pick(*all, "^1") == "1.1.0");
}

TEST_CASE("pick_version ranks engine-compatible versions first", "[resolver][pick]") {
  const std::string needs_22 = "\"engines\":{\"node\":\">=22\"}";
  auto p = packument(
      {{"1.0.0", ""}, {"1.1.0", "\"deprecated\":\"x\""}, {"2.0.0", needs_22}, {"2.1.0", needs_22}},
      "\"latest\":\"2.0.0\"");
  CHECK(pick(*p, "^2", node("v20.11.0")) == "2.1.0");  // nothing fits: highest not deprecated
  CHECK(pick(*p, "*", node("v20.11.0")) == "1.0.0");
  CHECK(pick(*p, ">=1", node("v20.11.0")) == "1.0.0");
  CHECK(pick(*p, "^1", node("v20.11.0")) == "1.0.0");
  CHECK(pick(*p, "^2") == "2.0.0");  // no node version: engines are not checked
  CHECK(pick(*p, "*") == "2.0.0");

  // Not deprecated but engine-incompatible loses to deprecated but engine-compatible...
  auto tier2 = packument({{"1.0.0", ""}, {"2.0.0", "\"deprecated\":\"x\""}, {"2.1.0", needs_22}},
                         "\"latest\":\"1.0.0\"");
  CHECK(pick(*tier2, "^2", node("v20.11.0")) == "2.0.0");
  // ...and when both fail the engine check, not deprecated wins.
  auto tier3 =
      packument({{"1.0.0", ""}, {"2.0.0", "\"deprecated\":\"x\"," + needs_22}, {"2.1.0", needs_22}},
                "\"latest\":\"1.0.0\"");
  CHECK(pick(*tier3, "^2", node("v20.11.0")) == "2.1.0");

  // Engines are tested with includePrerelease.
  auto pre = packument({{"2.0.0", "\"engines\":{\"node\":\">=20\"}"}, {"2.1.0", needs_22}},
                       "\"latest\":\"2.0.0\"");
  CHECK(pick(*pre, "^2", node("v21.0.0-pre")) == "2.0.0");
}

TEST_CASE("pick_version checks engines.npm when given npm's version", "[resolver][pick]") {
  auto p = packument({{"1.0.0", ""},
                      {"1.1.0", ""},
                      {"2.0.0", "\"engines\":{\"npm\":\"^6\"}"},
                      {"2.1.0", "\"engines\":{\"npm\":1}"}},
                     "\"latest\":\"2.0.0\"");
  PickOptions o = node("v20.11.0");
  o.npm_version = "11.6.2";
  CHECK(pick(*p, "^2", o) == "2.1.0");  // both fail; a number is not a range
  CHECK(pick(*p, "*", o) == "1.1.0");
  CHECK(pick(*p, "*", node("v20.11.0")) == "2.0.0");
}

TEST_CASE("pick_version reads deprecated and engines.node as JavaScript values",
          "[resolver][pick]") {
  // npm-pick-manifest ranks by `!manifest.deprecated`: any truthy value deprecates.
  for (const char* value : {"true", "1", "-2.5", "{}", "[]", "\"x\""}) {
    auto p = packument({{"1.0.0", ""}, {"1.0.1", std::string("\"deprecated\":") + value}},
                       "\"latest\":\"1.0.1\"");
    CHECK(pick(*p, "^1") == "1.0.0");
    CHECK(pick(*p, "") == "1.0.0");
  }
  for (const char* value : {"false", "0", "-0.0", "0e3", "null", "\"\""}) {
    auto p = packument({{"1.0.0", ""}, {"1.0.1", std::string("\"deprecated\":") + value}}, "");
    CHECK(pick(*p, "^1") == "1.0.1");
  }
  // JSON.parse keeps the last of duplicate members.
  auto undeprecated =
      packument({{"1.0.0", ""}, {"1.0.1", "\"deprecated\":\"x\",\"deprecated\":false"}}, "");
  CHECK(pick(*undeprecated, "^1") == "1.0.1");

  // npm-install-checks fails `eng.node && !satisfies(nodeVersion, eng.node)`; a truthy
  // non-string is no range, so no node version satisfies it.
  for (const char* value : {"8", "true", "[\">=4\"]", "{}"}) {
    auto p =
        packument({{"1.0.0", ""}, {"1.0.1", std::string("\"engines\":{\"node\":") + value + "}"}},
                  "\"latest\":\"1.0.1\"");
    CHECK(pick(*p, "^1", node("v20.11.0")) == "1.0.0");
    CHECK(pick(*p, "", node("v20.11.0")) == "1.0.0");
    CHECK(pick(*p, "^1") == "1.0.1");  // no node version: engines are not checked
  }
  for (const char* value : {"0", "false", "null", "\"\""}) {
    auto p = packument(
        {{"1.0.0", ""}, {"1.0.1", std::string("\"engines\":{\"node\":") + value + "}"}}, "");
    CHECK(pick(*p, "^1", node("v20.11.0")) == "1.0.1");
  }
  auto last_node =
      packument({{"1.0.0", ""}, {"1.0.1", "\"engines\":{\"node\":\">=4\",\"node\":5}"}}, "");
  CHECK(pick(*last_node, "^1", node("v20.11.0")) == "1.0.0");
}

TEST_CASE("pick_version: an empty default tag is no preference", "[resolver][pick]") {
  // `defaultVer && ...`: "" is falsy, so npm-pick-manifest does not look up versions[""].
  auto p = packument({{"", ""}, {"1.0.0", ""}}, "\"latest\":\"\"");
  CHECK(pick(*p, "") == "1.0.0");
  CHECK(pick(*p, "*") == "1.0.0");
  CHECK(pick(*p, "latest") == "");  // an explicit tag is still taken as it is
}

TEST_CASE("pick_version: no versions, equal versions, loose keys, default tag",
          "[resolver][pick]") {
  auto empty = packument({}, "");
  CHECK(pick(*empty, "^1") == "ENOVERSIONS: No versions available for demo");
  CHECK(pick(*empty, "") == "ENOVERSIONS: No versions available for demo");
  CHECK(pick(*empty, "*") == "ENOVERSIONS: No versions available for demo");
  CHECK(pick(*empty, "latest") == "ETARGET: No matching version found for demo@latest.");
  CHECK(pick(*empty, "1.0.0") == "ETARGET: No matching version found for demo@1.0.0.");

  auto ties = packument({{"1.0.0+b", ""}, {"1.0.0+a", ""}, {"0.9.0", ""}}, "");
  CHECK(pick(*ties, "*") == "1.0.0+b");  // equal precedence: document order
  CHECK(pick(*ties, "^1") == "1.0.0+b");
  CHECK(pick(*ties, "1.0.0") == "ETARGET: No matching version found for demo@1.0.0.");

  auto loose = packument({{"1.0.0", ""}, {"1.2.0beta", ""}, {"v1.3.0", ""}, {"junk", ""}},
                         "\"latest\":\"1.0.0\"");
  CHECK(pick(*loose, ">=1.1") == "v1.3.0");
  CHECK(pick(*loose, "^1.0.1") == "v1.3.0");
  CHECK(pick(*loose, "1.2.0beta") == "ETARGET: No matching version found for demo@1.2.0beta.");
  CHECK(pick(*loose, "v1.3.0") == "ETARGET: No matching version found for demo@v1.3.0.");

  auto p = base();
  PickOptions old;
  old.default_tag = "old";
  CHECK(pick(*p, "", old) == "1.0.0");
  PickOptions next;
  next.default_tag = "next";
  CHECK(pick(*p, "^2", next) == "2.1.0");
  PickOptions missing;
  missing.default_tag = "missing";
  CHECK(pick(*p, "", missing) == "2.1.0");
}

TEST_CASE("classify_registry_spec follows npm-package-arg", "[resolver][pick]") {
  auto kind = [](std::string_view s) { return classify_registry_spec(s).kind; };
  CHECK(kind("1.2.3") == SpecKind::kVersion);
  CHECK(kind(" v1.2.3 ") == SpecKind::kVersion);
  CHECK(kind("=1.2.3") == SpecKind::kVersion);
  CHECK(kind("1.2.3beta") == SpecKind::kVersion);
  CHECK(kind("1.2.3+build") == SpecKind::kVersion);
  CHECK(kind(" ^1.2.3 ") == SpecKind::kRange);
  CHECK(kind(">= 1.2") == SpecKind::kRange);
  CHECK(kind("1.2.3 - 2") == SpecKind::kRange);
  CHECK(kind("") == SpecKind::kRange);
  CHECK(kind("*") == SpecKind::kRange);
  CHECK(kind("~1.2.3 foo") == SpecKind::kRange);
  CHECK(kind("latest") == SpecKind::kTag);
  CHECK(kind("beta-1.x_(rc)!") == SpecKind::kTag);
  CHECK(kind("a b") == SpecKind::kInvalidTag);
  CHECK(kind("50%") == SpecKind::kInvalidTag);
  CHECK(classify_registry_spec("\t^1.2.3\n").normalized == "^1.2.3");
}

TEST_CASE("pick_version with `before`: versions published later are not picked", "[resolver][pick]") {
  const std::string text = R"({"name":"demo","dist-tags":{"latest":"2.1.0","next":"3.0.0-beta.1","old":"1.0.0"},
    "versions":{"1.0.0":{"name":"demo","version":"1.0.0"},"1.1.0":{"name":"demo","version":"1.1.0"},
                "2.0.0":{"name":"demo","version":"2.0.0"},"2.1.0":{"name":"demo","version":"2.1.0"},
                "3.0.0-beta.1":{"name":"demo","version":"3.0.0-beta.1"}},
    "time":{"created":"2020-01-01T00:00:00.000Z","1.0.0":"2020-01-01T00:00:00.000Z",
            "1.1.0":"2020-02-01T00:00:00.000Z","2.0.0":"2020-03-01T00:00:00.000Z",
            "2.1.0":"2020-04-01T00:00:00.000Z","3.0.0-beta.1":"2020-03-15T00:00:00.000Z"}})";
  auto parsed = Packument::parse(text, "demo");
  REQUIRE(parsed.ok());
  const Packument& p = **parsed;
  auto before = [](const char* date) {
    PickOptions o;
    o.before_ms = *lade::util::parse_iso_date(date);
    return o;
  };
  // Expectations from npm-pick-manifest 11 with the same `before` (TZ=UTC).
  CHECK(pick(p, "^2.0.0", before("2020-03-20")) == "2.0.0");
  CHECK(pick(p, "*", before("2020-03-20")) == "2.0.0");
  CHECK(pick(p, "latest", before("2020-03-20")) == "2.0.0");
  CHECK(pick(p, "next", before("2020-03-20")) == "3.0.0-beta.1");
  CHECK(pick(p, "next", before("2020-03-01")) == "2.0.0");  // published at the very moment: in
  CHECK(pick(p, "^1.0.0", before("2020-01-15")) == "1.0.0");
  CHECK(pick(p, "latest", before("2020-01-15")) == "1.0.0");
  CHECK(pick(p, "", before("2020-02-15")) == "1.1.0");
  CHECK(pick(p, "*", before("2019-01-01")) == "ENOVERSIONS: No versions available for demo");
  CHECK(pick(p, "^2.0.0", before("2020-02-15")).rfind("ETARGET: No matching version found for demo@^2.0.0 with a date before ", 0) == 0);
  CHECK(pick(p, "2.1.0", before("2020-03-20")).rfind("ETARGET:", 0) == 0);
  // min-release-age-exclude: an exempt name is picked as without a limit.
  PickOptions exempt = before("2020-01-15");
  exempt.before_exempt = {"@other/*", "de*"};
  CHECK(pick(p, "^2.0.0", exempt) == "2.1.0");
  exempt.before_exempt = {"@demo/*"};
  CHECK(pick(p, "^2.0.0", exempt).rfind("ETARGET:", 0) == 0);
}

TEST_CASE("pick_version: a trimmed spec that npm-package-arg reads as a path is no registry spec",
          "[resolver][pick]") {
  // npm-pick-manifest classifies its `wanted` (the trimmed spec) once more, or the default tag
  // when `wanted` is empty, and refuses anything but a tag, version or range. " .x" passes as a
  // tag in package.json (the white space hides the leading '.'), but ".x" is a directory.
  const std::string only = "EINVALIDSPEC: Only tag, version, and range are supported";
  auto p = base();
  CHECK(pick(*p, "  .") == only);
  CHECK(pick(*p, "\t.beta") == only);
  CHECK(pick(*p, " .9007199254740992") == only);
  CHECK(pick(*p, "x.tgz ") == only);  // a tarball file name once trimmed
  CHECK(pick(*p, "latest.TAR ") == only);
  CHECK(pick(*p, " .a b") ==
        "EINVALIDTAGNAME: Invalid tag name \".a b\" of package \"demo@ .a b\": Tags may not have "
        "any characters that encodeURIComponent encodes.");
  PickOptions dotted;
  dotted.default_tag = ".next";
  CHECK(pick(*p, "", dotted) == only);
  CHECK(pick(*p, "^1", dotted) == "1.1.0");  // the default tag is only read for an empty spec
  PickOptions spaced;
  spaced.default_tag = ".a b";  // a path before it is a tag name
  CHECK(pick(*p, "", spaced) == only);
  CHECK(pick(*p, "latest") == "2.0.0");
  CHECK(pick(*p, "~1.0.0 a:b") == "1.0.0");  // loose: the word with ':' is dropped
  CHECK(pick(*p, "next.1") == "ETARGET: No matching version found for demo@next.1.");
}

TEST_CASE("pick_version with `before`: a late tag's \"<=version\" is read as npm reads it",
          "[resolver][pick]") {
  // A tag naming a version published too late is picked again as "<=" + that version; npm
  // reads that range with npm-package-arg, which takes a '/' or a name ending in .tgz for a
  // path before it would see an invalid tag name.
  auto with_tag = [](const std::string& key) {
    std::string text = R"({"name":"demo","dist-tags":{"latest":"1.0.0","t":")" + key +
                       R"("},"versions":{"1.0.0":{"name":"demo","version":"1.0.0"},")" + key +
                       R"(":{"name":"demo","version":")" + key +
                       R"("}},"time":{"1.0.0":"2015-01-01T00:00:00.000Z",")" + key +
                       R"(":"2020-01-01T00:00:00.000Z"}})";
    auto parsed = Packument::parse(text, "demo");
    REQUIRE(parsed.ok());
    return *parsed;
  };
  PickOptions before;
  before.before_ms = *lade::util::parse_iso_date("2017-01-01");
  const std::string only = "EINVALIDSPEC: Only tag, version, and range are supported";
  CHECK(pick(*with_tag("1.0.0.tgz"), "t", before) == only);
  CHECK(pick(*with_tag("a/b"), "t", before) == only);
  CHECK(pick(*with_tag("latest"), "t", before) ==
        "EINVALIDTAGNAME: Invalid tag name \"<=latest\" of package \"demo@<=latest\": Tags may "
        "not have any characters that encodeURIComponent encodes.");
  CHECK(pick(*with_tag("2.0.0"), "t", before) == "1.0.0");
}
