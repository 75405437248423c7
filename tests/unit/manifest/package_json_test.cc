// package.json editing, compared byte for byte with what npm 11 wrote for the same input
// (`npm install|uninstall --package-lock-only <args>` in a scratch project; the operation column
// is the lade call that corresponds to the npm command line).
#include "manifest/package_json.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "util/fs.h"

namespace lade::manifest {
namespace {

const char* const kObserved = R"JSON([
{"case": "crlf_four_spaces_unsorted_no_final_newline", "input": "{\r\n    \"name\": \"a\",\r\n    \"version\": \"1.0.0\",\r\n    \"dependencies\": {\r\n        \"is-number\": \"^7.0.0\",\r\n        \"has-flag\": \"^4.0.0\"\r\n    }\r\n}", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\r\n    \"name\": \"a\",\r\n    \"version\": \"1.0.0\",\r\n    \"dependencies\": {\r\n        \"has-flag\": \"^4.0.0\",\r\n        \"is-number\": \"^7.0.0\",\r\n        \"ms\": \"^2.1.3\"\r\n    }\r\n}\r\n"},
{"case": "tabs_dev_moves_from_prod", "input": "{\n\t\"name\": \"b\",\n\t\"dependencies\": {\n\t\t\"ms\": \"^2.0.0\",\n\t\t\"is-number\": \"^7.0.0\"\n\t},\n\t\"devDependencies\": {\n\t\t\"has-flag\": \"^4.0.0\"\n\t}\n}\n", "op": "set", "kind": "dev", "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n\t\"name\": \"b\",\n\t\"dependencies\": {\n\t\t\"is-number\": \"^7.0.0\"\n\t},\n\t\"devDependencies\": {\n\t\t\"has-flag\": \"^4.0.0\",\n\t\t\"ms\": \"^2.1.3\"\n\t}\n}\n"},
{"case": "compact_single_line", "input": "{\"name\":\"d\",\"dependencies\":{\"is-number\":\"^7.0.0\"}}", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\"name\":\"d\",\"dependencies\":{\"is-number\":\"^7.0.0\",\"ms\":\"^2.1.3\"}}"},
{"case": "empty_object", "input": "{}", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"dependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "blank_line_after_brace", "input": "{\n\n  \"name\": \"e2\"\n}\n", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n\n  \"name\": \"e2\",\n\n  \"dependencies\": {\n\n    \"ms\": \"^2.1.3\"\n\n  }\n\n}\n\n"},
{"case": "peer_only_inferred_stays_peer", "input": "{\n  \"name\": \"p\",\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  }\n}\n", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"p\",\n  \"peerDependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "peer_kept_when_saved_dev", "input": "{\n  \"name\": \"p\",\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  }\n}\n", "op": "set", "kind": "dev", "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"p\",\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"devDependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "prod_and_peer_inferred_prod_drops_peer", "input": "{\n  \"name\": \"p\",\n  \"dependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  }\n}\n", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"p\",\n  \"dependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "optional_peer_inferred", "input": "{\n  \"name\": \"p\",\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"peerDependenciesMeta\": {\n    \"ms\": {\"optional\": true}\n  }\n}\n", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"p\",\n  \"peerDependencies\": {\n    \"ms\": \"^2.1.3\"\n  },\n  \"peerDependenciesMeta\": {\n    \"ms\": {\n      \"optional\": true\n    }\n  }\n}\n"},
{"case": "save_optional_moves_from_prod", "input": "{\n  \"name\": \"o\",\n  \"dependencies\": {\n    \"ms\": \"^2.0.0\",\n    \"is-number\": \"^7.0.0\"\n  }\n}\n", "op": "set", "kind": "optional", "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"o\",\n  \"dependencies\": {\n    \"is-number\": \"^7.0.0\"\n  },\n  \"optionalDependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "optional_also_in_prod_is_dropped_from_prod", "input": "{\n  \"name\": \"o\",\n  \"optionalDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"dependencies\": {\n    \"ms\": \"^2.0.0\",\n    \"is-number\": \"^7.0.0\"\n  }\n}\n", "op": "set", "kind": null, "name": "is-number", "spec": "^7.0.0", "written": true, "expected": "{\n  \"name\": \"o\",\n  \"optionalDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"dependencies\": {\n    \"is-number\": \"^7.0.0\"\n  }\n}\n"},
{"case": "save_peer", "input": "{\n  \"name\": \"o\"\n}\n", "op": "set", "kind": "peer", "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"o\",\n  \"peerDependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "empty_dev_removed_optional_sorted", "input": "{\n  \"name\": \"x\",\n  \"devDependencies\": {},\n  \"optionalDependencies\": {\n    \"is-number\": \"^7.0.0\",\n    \"has-flag\": \"^4.0.0\"\n  }\n}\n", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"optionalDependencies\": {\n    \"has-flag\": \"^4.0.0\",\n    \"is-number\": \"^7.0.0\"\n  },\n  \"dependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "bundled_dependencies_spelling_gains_bundle_dependencies", "input": "{\n  \"name\": \"x\",\n  \"bundledDependencies\": [\"has-flag\"],\n  \"dependencies\": {\n    \"has-flag\": \"^4.0.0\"\n  }\n}\n", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"bundledDependencies\": [\n    \"has-flag\"\n  ],\n  \"dependencies\": {\n    \"has-flag\": \"^4.0.0\",\n    \"ms\": \"^2.1.3\"\n  },\n  \"bundleDependencies\": [\n    \"has-flag\"\n  ]\n}\n"},
{"case": "bundle_dependencies_true_expanded", "input": "{\n  \"name\": \"x\",\n  \"bundleDependencies\": true,\n  \"dependencies\": {\n    \"has-flag\": \"^4.0.0\"\n  }\n}\n", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"bundleDependencies\": [\n    \"has-flag\"\n  ],\n  \"dependencies\": {\n    \"has-flag\": \"^4.0.0\",\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "prod_and_peer_take_peer_spec", "input": "{\n  \"name\": \"x\",\n  \"dependencies\": {\n    \"ms\": \"^1.0.0\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  }\n}\n", "op": "set", "kind": null, "name": "is-number", "spec": "^7.0.0", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"dependencies\": {\n    \"is-number\": \"^7.0.0\",\n    \"ms\": \"^2.0.0\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  }\n}\n"},
{"case": "save_prod_keeps_peer_meta", "input": "{\n  \"name\": \"x\",\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"peerDependenciesMeta\": {\n    \"ms\": {\"optional\": true}\n  }\n}\n", "op": "set", "kind": "prod", "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"peerDependenciesMeta\": {\n    \"ms\": {\n      \"optional\": true\n    }\n  },\n  \"dependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "dev_inferred_updates_non_intersecting_only", "input": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"optionalDependencies\": {\n    \"ms\": \"^1.0.0\"\n  }\n}\n", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"^2.1.3\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"optionalDependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "dev_inferred_rewrites_old_peer", "input": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^1.0.0\"\n  }\n}\n", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"^2.1.3\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "locale_sorted_sections", "input": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"lodash.merge\": \"^4.6.2\",\n    \"lodash-es\": \"^4.17.21\",\n    \"lodash\": \"^4.17.21\",\n    \"@types/ms\": \"^2.1.0\"\n  }\n}\n", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"@types/ms\": \"^2.1.0\",\n    \"lodash\": \"^4.17.21\",\n    \"lodash-es\": \"^4.17.21\",\n    \"lodash.merge\": \"^4.6.2\"\n  },\n  \"dependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "uninstall_everywhere_and_bundle", "input": "{\n  \"name\": \"x\",\n  \"dependencies\": {\n    \"ms\": \"^2.0.0\",\n    \"is-number\": \"^7.0.0\",\n    \"has-flag\": \"^4.0.0\"\n  },\n  \"devDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"bundleDependencies\": [\"ms\", \"is-number\"]\n}", "op": "rm", "name": "ms", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"dependencies\": {\n    \"has-flag\": \"^4.0.0\",\n    \"is-number\": \"^7.0.0\"\n  },\n  \"bundleDependencies\": [\n    \"is-number\"\n  ]\n}\n"},
{"case": "uninstall_last_dependency", "input": "{\n  \"name\": \"x\",\n  \"dependencies\": {\n    \"ms\": \"^2.0.0\"\n  }\n}\n", "op": "rm", "name": "ms", "written": true, "expected": "{\n  \"name\": \"x\"\n}\n"},
{"case": "save_peer_copies_requested_spec_to_dev_bare", "input": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"^2.0.0\"\n  }\n}\n", "op": "set", "kind": "peer", "name": "ms", "spec": "^2.1.3", "requested": "*", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"*\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "save_peer_copies_requested_spec_to_dev_range", "input": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"^2.0.0\"\n  }\n}\n", "op": "set", "kind": "peer", "name": "ms", "spec": "^2.1.3", "requested": "^2.1.0", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"^2.1.0\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "save_peer_copies_requested_spec_to_dev_tag", "input": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"^2.0.0\"\n  }\n}\n", "op": "set", "kind": "peer", "name": "ms", "spec": "^2.1.3", "requested": "2.1.3", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"2.1.3\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "save_peer_bare_keeps_old_peer_for_dev", "input": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.0.0\"\n  }\n}\n", "op": "set", "kind": "peer", "name": "ms", "spec": "^2.1.3", "requested": "*", "written": true, "expected": "{\n  \"name\": \"x\",\n  \"devDependencies\": {\n    \"ms\": \"^2.0.0\"\n  },\n  \"peerDependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n"},
{"case": "unchanged_file_not_rewritten", "input": "{\n  \"name\": \"x\",\n  \"dependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}", "op": "set", "kind": null, "name": "ms", "spec": "^2.1.3", "written": false, "expected": "{\n  \"name\": \"x\",\n  \"dependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}"}
])JSON";

std::optional<DependencyKind> kind_of(const nlohmann::json& k) {
  if (k.is_null()) return std::nullopt;
  const std::string s = k;
  if (s == "dev") return DependencyKind::kDev;
  if (s == "optional") return DependencyKind::kOptional;
  if (s == "peer") return DependencyKind::kPeer;
  return DependencyKind::kProd;
}

TEST_CASE("package.json edits match npm byte for byte", "[manifest][package_json]") {
  const auto rows = nlohmann::json::parse(kObserved);
  REQUIRE(rows.size() >= 20);
  for (const auto& row : rows) {
    INFO("case " << row["case"].get<std::string>());
    auto pj = PackageJson::from_text(row["input"].get<std::string>(), "/nonexistent/package.json");
    REQUIRE(pj.ok());
    if (row["op"] == "set") {
      pj->set_dependency(kind_of(row["kind"]), row["name"].get<std::string>(),
                         row["spec"].get<std::string>(), row.value("requested", std::string()));
    } else {
      pj->remove_dependency(row["name"].get<std::string>());
    }
    CHECK(pj->changed() == row["written"].get<bool>());
    if (row["written"].get<bool>()) CHECK(pj->serialize() == row["expected"].get<std::string>());
  }
}

TEST_CASE("detect_json_format reads npm's indent and newline", "[manifest][package_json]") {
  auto f = detect_json_format("{\r\n    \"a\": 1\r\n}");
  CHECK(f.indent == "    ");
  CHECK(f.newline == "\r\n");
  f = detect_json_format("\xEF\xBB\xBF{\n\t\"a\": 1\n}\n");
  CHECK(f.indent == "\t");
  CHECK(f.newline == "\n");
  f = detect_json_format("{\"a\":1}");
  CHECK(f.indent.empty());
  CHECK(f.newline.empty());
  f = detect_json_format("{}\r\n");
  CHECK(f.indent == "  ");
  CHECK(f.newline == "\r\n");
  f = detect_json_format("  [\n\n   1]");
  CHECK(f.indent == "   ");
  CHECK(f.newline == "\n\n");
}

TEST_CASE("PackageJson saves atomically and only when changed", "[manifest][package_json]") {
  auto dir = util::TempDir::create();
  REQUIRE(dir.ok());
  const auto file = dir->path() / "package.json";
  const std::string original =
      "{\n    \"name\": \"app\",\n    \"dependencies\": {\n        \"b\": \"1\"\n    }\n}";
  REQUIRE(util::write_file_atomic(file, original).ok());

  auto pj = PackageJson::load(dir->path());
  REQUIRE(pj.ok());
  CHECK(pj->content()["name"] == "app");
  CHECK(pj->format().indent == "    ");
  auto unchanged = pj->save();
  REQUIRE(unchanged.ok());
  CHECK_FALSE(*unchanged);
  CHECK(*util::read_file(file) == original);  // untouched, even without a final newline

  pj->set_dependency(DependencyKind::kProd, "a", "^2.0.0");
  auto wrote = pj->save();
  REQUIRE(wrote.ok());
  CHECK(*wrote);
  CHECK(*util::read_file(file) ==
        "{\n    \"name\": \"app\",\n    \"dependencies\": {\n        \"a\": \"^2.0.0\",\n"
        "        \"b\": \"1\"\n    }\n}\n");
  auto again = pj->save();
  REQUIRE(again.ok());
  CHECK_FALSE(*again);

  pj->remove_dependency("a");
  pj->remove_dependency("b");
  REQUIRE(pj->save().ok());
  CHECK(*util::read_file(file) == "{\n    \"name\": \"app\"\n}\n");
}

TEST_CASE("PackageJson load errors", "[manifest][package_json]") {
  auto dir = util::TempDir::create();
  REQUIRE(dir.ok());
  auto missing = PackageJson::load(dir->path());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "ENOENT");

  auto created = PackageJson::load_or_create(dir->path());
  REQUIRE(created.ok());
  created->set_dependency(std::nullopt, "ms", "^2.1.3");
  REQUIRE(created->save().ok());
  CHECK(*util::read_file(dir->path() / "package.json") ==
        "{\n  \"dependencies\": {\n    \"ms\": \"^2.1.3\"\n  }\n}\n");

  REQUIRE(util::write_file_atomic(dir->path() / "package.json", "{\n  \"name\": \"x\",\n}\n").ok());
  auto broken = PackageJson::load(dir->path());
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == "EJSONPARSE");
  CHECK(broken.error().message.find("package.json") != std::string::npos);
  CHECK(broken.error().message.find("line 3, column 1") != std::string::npos);
}

TEST_CASE("set_dependency with a peer save keeps a dev entry in step", "[manifest][package_json]") {
  auto pj = PackageJson::from_text("{\n  \"devDependencies\": {\n    \"x\": \"^1.0.0\"\n  }\n}\n",
                                   "package.json");
  REQUIRE(pj.ok());
  pj->set_dependency(DependencyKind::kPeer, "x", "^1.2.0");
  CHECK(pj->serialize() ==
        "{\n  \"devDependencies\": {\n    \"x\": \"^1.2.0\"\n  },\n"
        "  \"peerDependencies\": {\n    \"x\": \"^1.2.0\"\n  }\n}\n");
}

}  // namespace
}  // namespace lade::manifest
