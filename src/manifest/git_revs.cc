#include "manifest/git_revs.h"

#include <algorithm>
#include <regex>

#include "semver/functions.h"
#include "semver/version.h"

namespace lade::manifest {

namespace {

std::string ref_type(const std::string& raw) {
  if (raw.rfind("refs/tags/", 0) == 0) return "tag";
  if (raw.rfind("refs/heads/", 0) == 0) return "branch";
  if (raw.rfind("refs/pull/", 0) == 0) return "pull";
  if (raw == "HEAD") return "head";
  return "other";
}

std::optional<GitRef> ref_from_line(std::string_view line) {
  size_t b = line.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return std::nullopt;
  line.remove_prefix(b);
  size_t ws = line.find_first_of(" \t");
  if (ws == std::string_view::npos) return std::nullopt;
  GitRef doc;
  doc.sha = std::string(line.substr(0, ws));
  std::string_view rest = line.substr(ws);
  size_t rb = rest.find_first_not_of(" \t");
  if (rb == std::string_view::npos) return std::nullopt;
  rest.remove_prefix(rb);
  size_t re = rest.find_first_of(" \t\r");
  doc.raw_ref = std::string(rest.substr(0, re));
  doc.type = ref_type(doc.raw_ref);
  if (doc.type == "tag") {
    doc.ref = doc.raw_ref.substr(10);
  } else if (doc.type == "branch") {
    doc.ref = doc.raw_ref.substr(11);
  } else if (doc.type == "pull") {
    doc.ref = doc.raw_ref.substr(5);
    if (doc.ref.size() > 5 && doc.ref.compare(doc.ref.size() - 5, 5, "/head") == 0)
      doc.ref.resize(doc.ref.size() - 5);
  } else if (doc.type == "head") {
    doc.ref = "HEAD";
  } else {
    doc.ref = doc.raw_ref;
  }
  return doc;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The "latest" of lines-to-revs' synthetic dist-tags: the version on a `latest` branch, else
/// the one HEAD points at.
std::optional<std::string> latest_version(const GitRevs& revs) {
  auto head = revs.refs.find("HEAD");
  auto latest = revs.refs.find("latest");
  for (const auto& [v, doc] : revs.versions) {
    if (latest != revs.refs.end() && doc.sha == latest->second.sha) return v;
  }
  if (latest == revs.refs.end() && head != revs.refs.end()) {
    for (const auto& [v, doc] : revs.versions) {
      if (doc.sha == head->second.sha) return v;
    }
  }
  return std::nullopt;
}

}  // namespace

GitRevs parse_ls_remote(std::string_view output) {
  GitRevs revs;
  static const std::regex kVersionTag(R"(v?(\d+\.\d+\.\d+(?:[-+].+)?)$)");
  size_t start = 0;
  while (start < output.size()) {
    size_t nl = output.find('\n', start);
    std::string_view line =
        output.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? output.size() : nl + 1;
    auto doc = ref_from_line(line);
    if (!doc) continue;
    revs.refs[doc->ref] = *doc;
    revs.refs[doc->raw_ref] = *doc;
    if (doc->type == "tag" && !ends_with(doc->ref, "^{}")) {
      std::smatch m;
      if (std::regex_search(doc->ref, m, kVersionTag)) {
        semver::Options loose{true, false};
        if (auto v = semver::Version::parse(m[1].str(), loose))
          revs.versions[std::string(v->str())] = *doc;
      }
    }
  }
  // Annotated tags: the peeled "^{}" entry names the commit.
  std::vector<std::string> peeled;
  for (const auto& [name, doc] : revs.refs) {
    if (ends_with(name, "^{}")) peeled.push_back(name);
  }
  for (const std::string& name : peeled) {
    std::string base = name.substr(0, name.size() - 3);
    auto it = revs.refs.find(base);
    if (it == revs.refs.end()) continue;
    const std::string sha = revs.refs[name].sha;
    it->second.sha = sha;
    // The same doc is reachable by its other name, and from the versions.
    const std::string other = it->second.ref == base ? it->second.raw_ref : it->second.ref;
    if (auto o = revs.refs.find(other); o != revs.refs.end()) o->second.sha = sha;
    for (auto& [v, doc] : revs.versions) {
      if (doc.raw_ref == it->second.raw_ref) doc.sha = sha;
    }
    revs.refs.erase(name);
  }
  for (const auto& [name, doc] : revs.refs) {
    auto& list = revs.shas[doc.sha];
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
  }
  return revs;
}

std::optional<std::string> find_commit(const GitRevs& revs, const std::string& committish) {
  const std::string ref = committish.empty() ? "HEAD" : committish;
  if (auto it = revs.refs.find(ref); it != revs.refs.end()) return it->second.sha;
  if (auto it = revs.shas.find(ref); it != revs.shas.end()) return ref;
  return std::nullopt;
}

std::optional<std::string> find_semver_commit(const GitRevs& revs, const std::string& range) {
  semver::Options loose{true, false};
  if (auto latest = latest_version(revs); latest && semver::satisfies(*latest, range, loose)) {
    return revs.versions.at(*latest).sha;
  }
  std::vector<std::string> versions;
  for (const auto& [v, _] : revs.versions) versions.push_back(v);
  auto best = semver::max_satisfying(versions, range, loose);
  if (!best) return std::nullopt;
  return revs.versions.at(versions[*best]).sha;
}

}  // namespace lade::manifest
