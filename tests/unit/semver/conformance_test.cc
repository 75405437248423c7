// Replays the shared node-semver conformance tables (see conformance/semver/README.md in the
// shared data folder): every row of every file must give node-semver's answer.
#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "semver/semver.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace lade::semver;

const fs::path kTables = fs::path(LADE_SHARED_DIR) / "conformance" / "semver";

json load(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

bool is_tag(const json& v, const char* tag) { return v.is_object() && v.contains(tag); }

// JavaScript truthiness of a table value, with the README's tags for undefined and NaN.
bool truthy(const json& v) {
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return !v.get<std::string>().empty();
  if (is_tag(v, "$undefined") || is_tag(v, "$number")) return false;
  return true;  // objects, arrays, {"$regexp"}, {"$object_with_toString"}
}

// node-semver's internal/parse-options.js.
Options options_from(const json& slot) {
  if (!truthy(slot)) return {};
  if (!slot.is_object()) return Options{true, false};
  Options o;
  o.loose = slot.contains("loose") && truthy(slot["loose"]);
  o.include_prerelease = slot.contains("includePrerelease") && truthy(slot["includePrerelease"]);
  return o;
}

json at(const json& row, size_t i) { return i < row.size() ? row[i] : json(); }

json to_json(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

// The string API cannot receive a non-string; a tagged non-string value is rejected up front, as
// node-semver's `typeof version !== 'string'` check does.
std::optional<Version> parse_value(const json& value, Options o) {
  if (!value.is_string()) return std::nullopt;
  return Version::parse(value.get<std::string>(), o);
}

using RowCheck = std::function<bool(const json& row)>;

// satisfies() and Range#test() on a table value: a non-string (the tables use `false`) is not a
// version, which Range#test answers with false.
bool satisfies_value(const json& version, const std::string& range, Options o) {
  return version.is_string() && satisfies(version.get<std::string>(), range, o);
}

bool range_include(const json& row) {
  std::string range = row[0];
  Options o = options_from(at(row, 2));
  auto r = Range::parse(range, o);
  return satisfies_value(row[1], range, o) && r && row[1].is_string() &&
         r->test(std::string_view(row[1].get<std::string>()));
}

bool range_exclude(const json& row) {
  std::string range = row[0];
  Options o = options_from(at(row, 2));
  auto r = Range::parse(range, o);
  bool test_rejects =
      !r || !row[1].is_string() || !r->test(std::string_view(row[1].get<std::string>()));
  return !satisfies_value(row[1], range, o) && test_rejects;
}

bool range_parse(const json& row) {
  std::string range = row[0];
  Options o = options_from(at(row, 2));
  auto r = Range::parse(range, o);
  if (row[1].is_null()) return !r && !valid_range(range, o);
  std::string canonical = row[1];
  return r && to_json(valid_range(range, o)) == row[1] &&
         r->str() == (canonical == "*" ? "" : canonical);
}

bool comparisons(const json& row) {
  Options o = options_from(at(row, 2));
  auto a = parse_value(row[0], o), b = parse_value(row[1], o);
  if (!a || !b) return false;
  return a->compare(*b) == 1 && b->compare(*a) == -1 && a->compare(*a) == 0 &&
         b->compare(*b) == 0 && *a > *b && *a >= *b && *b < *a && *b <= *a && !(*a == *b) &&
         *a != *b && *a == *a && *b == *b;
}

bool equality(const json& row) {
  Options o = options_from(at(row, 2));
  auto a = parse_value(row[0], o), b = parse_value(row[1], o);
  if (!a || !b) return false;
  return a->compare(*b) == 0 && b->compare(*a) == 0 && *a == *b && !(*a != *b) && !(*a < *b) &&
         !(*a > *b) && *a <= *b && *a >= *b;
}

bool valid_versions(const json& row) {
  std::string text = row[0];
  auto v = Version::parse(text);
  if (!v || v->major() != row[1].get<uint64_t>() || v->minor() != row[2].get<uint64_t>() ||
      v->patch() != row[3].get<uint64_t>() || v->raw() != text) {
    return false;
  }
  std::vector<Identifier> pre = v->prerelease();
  if (pre.size() != row[4].size()) return false;
  for (size_t i = 0; i < pre.size(); ++i) {
    const json& want = row[4][i];
    if (want.is_number()) {
      if (!pre[i].is_number() || pre[i].number() != want.get<uint64_t>()) return false;
    } else if (pre[i].is_number() || pre[i].text != want.get<std::string>()) {
      return false;
    }
  }
  std::vector<std::string_view> build = v->build();
  if (build.size() != row[5].size()) return false;
  for (size_t i = 0; i < build.size(); ++i) {
    if (build[i] != row[5][i].get<std::string>()) return false;
  }
  return true;
}

bool invalid_versions(const json& row) {
  Options o = options_from(at(row, 2));
  if (parse_value(row[0], o)) return false;
  return !row[0].is_string() || !valid(row[0].get<std::string>(), o);
}

bool increments(const json& row) {
  std::string version = row[0], release = row[1];
  json options = at(row, 3), identifier = at(row, 4), base = at(row, 5);
  // semver.inc(v, release, 'id', base) takes a string third argument as the identifier.
  if (options.is_string()) {
    base = identifier;
    identifier = options;
    options = json();
  }
  IdentifierBase b = IdentifierBase::kZero;
  if (base.is_boolean() && !base.get<bool>()) {
    b = IdentifierBase::kNone;
  } else if ((base.is_string() && base.get<std::string>() == "1") ||
             (base.is_number() && base.get<double>() == 1)) {
    b = IdentifierBase::kOne;
  }
  std::string id = identifier.is_string() ? identifier.get<std::string>() : std::string();
  return to_json(inc(version, release, options_from(options), id, b)) == row[2];
}

bool truncations(const json& row) {
  return to_json(truncate(row[0].get<std::string>(), row[1].get<std::string>())) == row[2];
}

RowCheck outside_check(bool greater, bool expected) {
  return [=](const json& row) {
    std::string range = row[0], version = row[1];
    Options o = options_from(at(row, 2));
    auto r = greater ? gtr(version, range, o) : ltr(version, range, o);
    return r.has_value() && *r == expected;
  };
}

bool comparator_intersection(const json& row) {
  auto c0 = Comparator::parse(row[0].get<std::string>());
  auto c1 = Comparator::parse(row[1].get<std::string>());
  if (!c0 || !c1) return false;
  bool expected = row[2];
  bool include_prerelease = truthy(at(row, 3));
  for (bool loose : {false, true}) {
    Options o{loose, include_prerelease};
    if (c0->intersects(*c1, o) != expected || c1->intersects(*c0, o) != expected) return false;
  }
  return true;
}

bool range_intersection(const json& row) {
  std::string r0 = row[0], r1 = row[1];
  bool expected = row[2];
  for (bool loose : {false, true}) {
    Options o{loose, false};
    auto ab = intersects(r0, r1, o), ba = intersects(r1, r0, o);
    if (!ab || !ba || *ab != expected || *ba != expected) return false;
  }
  return true;
}

bool max_satisfying_case(const json& c) {
  std::vector<std::string> versions = c["versions"];
  auto best = max_satisfying(versions, c["range"].get<std::string>());
  json got = best ? json(versions[*best]) : json(nullptr);
  return got == c["expected"];
}

struct Tally {
  size_t ran = 0;
  size_t passed = 0;
};

Tally run_rows(const std::string& file, const json& rows, const RowCheck& check) {
  Tally t;
  for (size_t i = 0; i < rows.size(); ++i) {
    bool ok = check(rows[i]);
    ++t.ran;
    if (ok) ++t.passed;
    INFO(file << " row " << i << ": " << rows[i].dump());
    CHECK(ok);
  }
  return t;
}

}  // namespace

TEST_CASE("semver conformance: every shared node-semver table passes", "[semver][conformance]") {
  const std::map<std::string, RowCheck> runners = {
      {"range-include.json", range_include},
      {"range-exclude.json", range_exclude},
      {"range-parse.json", range_parse},
      {"comparisons.json", comparisons},
      {"equality.json", equality},
      {"valid-versions.json", valid_versions},
      {"invalid-versions.json", invalid_versions},
      {"increments.json", increments},
      {"truncations.json", truncations},
      {"version-gt-range.json", outside_check(true, true)},
      {"version-not-gt-range.json", outside_check(true, false)},
      {"version-lt-range.json", outside_check(false, true)},
      {"version-not-lt-range.json", outside_check(false, false)},
      {"comparator-intersection.json", comparator_intersection},
      {"range-intersection.json", range_intersection},
      {"max-satisfying.json", max_satisfying_case},
  };

  REQUIRE(fs::is_directory(kTables));
  size_t files = 0, total = 0, total_passed = 0;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(kTables)) paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  for (const fs::path& path : paths) {
    std::string name = path.filename().string();
    if (path.extension() != ".json") continue;  // README.md
    INFO("table " << name);
    auto runner = runners.find(name);
    REQUIRE(runner != runners.end());  // a new table needs a runner: none may be skipped
    json doc = load(path);
    const json& rows = name == "max-satisfying.json" ? doc["cases"] : doc;
    REQUIRE(rows.is_array());
    REQUIRE(!rows.empty());
    if (name == "max-satisfying.json") CHECK(rows.size() == doc["count"].get<size_t>());
    Tally t = run_rows(name, rows, runner->second);
    WARN(name << ": " << t.passed << "/" << t.ran << " rows passed");
    ++files;
    total += t.ran;
    total_passed += t.passed;
  }
  WARN("semver conformance: " << files << " tables, " << total_passed << "/" << total
                              << " rows passed");
  CHECK(files == runners.size());
  CHECK(total_passed == total);
}
