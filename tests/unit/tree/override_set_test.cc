// OverrideSet against arborist's override-set.js: every expectation below is what npm 11's
// OverrideSet answered for the same "overrides" object and the same edges.
#include "tree/override_set.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

using lade::manifest::Json;
using lade::tree::OverrideSet;

namespace {

std::unique_ptr<OverrideSet> parse(const char* text) {
  auto r = OverrideSet::parse(Json::parse(text));
  REQUIRE(r.ok());
  return std::move(r).value();
}

/// "key|name|keySpec|value", or "(root)", as the arborist comparison printed them.
std::string show(const OverrideSet* s) {
  if (!s) return "(null)";
  if (s->is_root()) return "(root)";
  return s->key() + "|" + s->name() + "|" + s->key_spec() + "|" + s->value();
}

std::vector<std::string> show_all(const std::vector<const OverrideSet*>& sets) {
  std::vector<std::string> out;
  for (const OverrideSet* s : sets) out.push_back(show(s));
  return out;
}

const char* kOverrides = R"({
  "leaf": "1.0.0",
  "leaf@^2.0.0": "3.0.0",
  "a": { ".": "1.0.0", "b": "2.0.0", "c": { "d": "" } },
  "e": { "leaf": "$leaf" },
  "@s/x@1": "npm:y@2",
  "10": "1.0.0",
  "2": "1.0.0"
})";

}  // namespace

TEST_CASE("overrides: rules, key specs and values", "[tree][overrides]") {
  auto root = parse(kOverrides);
  CHECK(root->is_root());
  CHECK(root->name().empty());
  CHECK(root->value().empty());
  std::vector<std::string> kids;
  for (const auto& c : root->children()) kids.push_back(show(c.get()));
  // Integer-like keys come first, as Object.entries orders them.
  CHECK(kids == std::vector<std::string>{"2|2|*|1.0.0", "10|10|*|1.0.0", "leaf|leaf|*|1.0.0",
                                         "leaf@^2.0.0|leaf|^2.0.0|3.0.0", "a|a|*|1.0.0",
                                         "e|e|*|*", "@s/x@1|@s/x|1|npm:y@2"});
  const OverrideSet* a = root->child("a");
  REQUIRE(a);
  CHECK(show(a->child("b")) == "b|b|*|2.0.0");
  // No "." means the key's own spec; an empty "." means "*".
  CHECK(show(a->child("c")) == "c|c|*|*");
  CHECK(show(a->child("c")->child("d")) == "d|d|*|*");
  CHECK(a->child("c")->parent() == a);
}

TEST_CASE("overrides: a rule's ruleset sees its own rules first, then its ancestors'",
          "[tree][overrides]") {
  auto root = parse(kOverrides);
  const OverrideSet* a = root->child("a");
  const OverrideSet* c = a->child("c");
  CHECK(show_all(root->ruleset()) ==
        std::vector<std::string>{"2|2|*|1.0.0", "10|10|*|1.0.0", "leaf|leaf|*|1.0.0",
                                 "leaf@^2.0.0|leaf|^2.0.0|3.0.0", "a|a|*|1.0.0", "e|e|*|*",
                                 "@s/x@1|@s/x|1|npm:y@2"});
  CHECK(show_all(a->ruleset()) ==
        std::vector<std::string>{"b|b|*|2.0.0", "c|c|*|*", "a|a|*|1.0.0", "2|2|*|1.0.0",
                                 "10|10|*|1.0.0", "leaf|leaf|*|1.0.0",
                                 "leaf@^2.0.0|leaf|^2.0.0|3.0.0", "e|e|*|*",
                                 "@s/x@1|@s/x|1|npm:y@2"});
  CHECK(show_all(c->ruleset()).size() == 10);
  CHECK(show_all(c->ruleset()).front() == "d|d|*|*");
  CHECK(show_all(c->ruleset())[1] == "c|c|*|*");
}

TEST_CASE("overrides: edge rules by name, first matching rule wins", "[tree][overrides]") {
  auto root = parse(kOverrides);
  // The bare "leaf" rule comes first, so it takes every leaf edge whatever its spec.
  for (const char* spec : {"^1.0.0", "^2.1.0", "3.x", "latest", "npm:other@^2",
                           "github:u/r#semver:^2", "github:u/r#main", "file:../x"}) {
    CAPTURE(spec);
    CHECK(show(root->edge_rule("leaf", spec)) == "leaf|leaf|*|1.0.0");
  }
  CHECK(show(root->edge_rule("@s/x", "^1.2.0")) == "@s/x@1|@s/x|1|npm:y@2");
  CHECK(show(root->edge_rule("@s/x", "^2.0.0")) == "(root)");
  CHECK(show(root->edge_rule("zzz", "1")) == "(root)");
  const OverrideSet* a = root->child("a");
  const OverrideSet* c = a->child("c");
  CHECK(show(a->edge_rule("b", "^1")) == "b|b|*|2.0.0");
  CHECK(show(a->edge_rule("leaf", "^2")) == "leaf|leaf|*|1.0.0");
  CHECK(show(c->edge_rule("d", "^1")) == "d|d|*|*");
  // Nothing for x below c: the set stays c's.
  CHECK(show(c->edge_rule("x", "^1")) == "c|c|*|*");
}

TEST_CASE("overrides: keys with a range match the declared spec", "[tree][overrides]") {
  auto root = parse(R"({"leaf@^2.0.0": "3.0.0", "leaf@1.1.0": "1.0.0"})");
  struct Case {
    const char* spec;
    const char* rule;
  };
  const Case cases[] = {
      {"^1.0.0", "leaf@1.1.0|leaf|1.1.0|1.0.0"},
      {"1.0.0", "(root)"},
      {"^2.1.0", "leaf@^2.0.0|leaf|^2.0.0|3.0.0"},
      {"3.x", "(root)"},
      {">=1.2.0 <2", "(root)"},
      // Tags, files and URLs cannot be compared: the first rule for the name takes them.
      {"latest", "leaf@^2.0.0|leaf|^2.0.0|3.0.0"},
      {"file:../x", "leaf@^2.0.0|leaf|^2.0.0|3.0.0"},
      {"https://registry.example/leaf.tgz", "leaf@^2.0.0|leaf|^2.0.0|3.0.0"},
      {"", "leaf@^2.0.0|leaf|^2.0.0|3.0.0"},
      {"*", "leaf@^2.0.0|leaf|^2.0.0|3.0.0"},
      // An alias is judged by its target range, git by its #semver: range (none: no match).
      {"npm:other@^2", "leaf@^2.0.0|leaf|^2.0.0|3.0.0"},
      {"npm:other@^3", "(root)"},
      {"github:u/r#semver:^2", "leaf@^2.0.0|leaf|^2.0.0|3.0.0"},
      {"github:u/r#semver:^4", "(root)"},
      {"github:u/r#main", "(root)"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.spec);
    CHECK(show(root->edge_rule("leaf", c.spec)) == c.rule);
  }
}

TEST_CASE("overrides: equality is structural", "[tree][overrides]") {
  auto root = parse(kOverrides);
  auto same = parse(kOverrides);
  auto other = parse(R"({"a": {".": "1.0.0", "b": "2.0.0", "c": {"d": ""}}})");
  CHECK(root->is_equal(same.get()));
  CHECK(root->child("a")->is_equal(same->child("a")));
  // Same rule, but under a root with other rules.
  CHECK_FALSE(root->child("a")->is_equal(other->child("a")));
  CHECK_FALSE(root->is_equal(nullptr));
  CHECK_FALSE(root->child("a")->is_equal(root->child("e")));
}

TEST_CASE("overrides: the more specific of two sets, and conflicts", "[tree][overrides]") {
  auto root = parse(kOverrides);
  const OverrideSet* a = root->child("a");
  const OverrideSet* c = a->child("c");
  const OverrideSet* e = root->child("e");
  CHECK(OverrideSet::find_specific(a, c) == c);
  CHECK(OverrideSet::find_specific(c, a) == c);
  // Siblings without conflicting rules meet at their common ancestor.
  CHECK(OverrideSet::find_specific(a, e) == root.get());

  auto r = parse(R"({"p": {"z": "1.0.0"}, "q": {"z": "2.0.0"}, "r": {"z": "^1.0.0"}})");
  const OverrideSet* p = r->child("p");
  const OverrideSet* q = r->child("q");
  const OverrideSet* rr = r->child("r");
  CHECK(OverrideSet::find_specific(p, q) == nullptr);
  CHECK(OverrideSet::conflict(*p, *q));
  CHECK(OverrideSet::find_specific(p, rr) == r.get());
  CHECK_FALSE(OverrideSet::conflict(*p, *rr));
  CHECK_FALSE(OverrideSet::conflict(*p, *r));

  // References are left for resolution to settle.
  auto refs = parse(R"({"p": {"z": "$z"}, "q": {"z": "2.0.0"}})");
  CHECK_FALSE(OverrideSet::conflict(*refs->child("p"), *refs->child("q")));
}

TEST_CASE("overrides: malformed keys and other shapes", "[tree][overrides]") {
  auto bad = OverrideSet::parse(Json::parse(R"({"./foo": "1.0.0"})"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code.empty());  // as npm's: no code
  CHECK(bad.error().message == "Override without name: ./foo");

  auto nested_bad = OverrideSet::parse(Json::parse(R"({"a": {"../x": "1"}})"));
  CHECK_FALSE(nested_bad.ok());

  // A string at the top is the root's "."; it has no rules.
  auto str = OverrideSet::parse(Json("1.0.0"));
  REQUIRE(str.ok());
  CHECK((*str)->children().empty());
  CHECK(show((*str)->edge_rule("leaf", "^1")) == "(root)");

  // Key specs as npm-package-arg prints them without the name.
  auto kinds = parse(R"({"leaf@latest": "1.0.0", "leaf@npm:foo@1": "2.0.0", "leaf@": "3.0.0"})");
  CHECK(show(kinds->child("leaf@latest")) == "leaf@latest|leaf|latest|1.0.0");
  CHECK(show(kinds->child("leaf@npm:foo@1")) == "leaf@npm:foo@1|leaf|npm:foo@1|2.0.0");
  CHECK(show(kinds->child("leaf@")) == "leaf@|leaf|*|3.0.0");

  // A rule whose value is neither string nor object keeps its key spec.
  auto odd = parse(R"({"leaf@^1": 5})");
  CHECK(show(odd->child("leaf@^1")) == "leaf@^1|leaf|^1|^1");
}
