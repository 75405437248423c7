#include "lockfile/ci_check.h"

#include <algorithm>
#include <unordered_map>

#include "util/collate.h"

namespace lade::lockfile {
namespace {

const std::string& version_of(const tree::Node& node) {
  return node.is_link && node.target ? node.target->version() : node.version();
}

}  // namespace

std::vector<std::string> lockfile_mismatches(const tree::Tree& virtual_tree,
                                             const std::vector<const tree::Node*>& ideal_nodes) {
  std::unordered_map<std::string, const tree::Node*> lock;
  for (const tree::Node* n : virtual_tree.inventory()) lock.emplace(n->location(), n);

  std::vector<std::string> errors;
  for (const tree::Node* entry : ideal_nodes) {
    auto it = lock.find(entry->location());
    if (it == lock.end()) {
      errors.push_back("Missing: " + entry->name + "@" + version_of(*entry) + " from lock file");
      continue;
    }
    const tree::Node* locked = it->second;
    if (version_of(*entry) != version_of(*locked)) {
      errors.push_back("Invalid: lock file's " + locked->name + "@" + version_of(*locked) +
                       " does not satisfy " + entry->name + "@" + version_of(*entry));
    }
  }
  return errors;
}

std::vector<std::string> lockfile_mismatches(const tree::Tree& virtual_tree,
                                             const tree::Tree& ideal_tree,
                                             const std::unordered_set<const tree::Node*>& not_in_npms_tree) {
  // npm lists them in its inventory's order: what it read from the lockfile in the lockfile's
  // order (links after the rest), then what resolution placed, in the order it placed it.
  std::vector<std::pair<std::string, const tree::Node*>> keyed;
  for (const tree::Node* n : ideal_tree.inventory()) {
    if (!not_in_npms_tree.count(n)) keyed.emplace_back(n->location(), n);
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    const tree::Node &x = *a.second, &y = *b.second;
    if (x.from_lockfile != y.from_lockfile) return x.from_lockfile;
    if (!x.from_lockfile) return x.created_order() < y.created_order();
    if (x.is_link != y.is_link) return y.is_link;
    return util::locale_compare(a.first, b.first) < 0;
  });
  std::vector<const tree::Node*> nodes;
  nodes.reserve(keyed.size());
  for (const auto& [_, n] : keyed) nodes.push_back(n);
  return lockfile_mismatches(virtual_tree, nodes);
}

util::Error ci_lockfile_error(const std::vector<std::string>& mismatches,
                              std::string_view program) {
  const std::string cmd(program);
  std::string message = "`" + cmd +
                        " ci` can only install packages when your package.json and "
                        "package-lock.json or npm-shrinkwrap.json are in sync. Please update "
                        "your lock file with `" +
                        cmd + " install` before continuing.\n";
  for (const std::string& e : mismatches) message += "\n" + e;
  return util::make_error("EUSAGE", message);
}

util::Status check_ci_lockfile(const tree::Tree& virtual_tree, const tree::Tree& ideal_tree,
                               std::string_view program,
                               const std::unordered_set<const tree::Node*>& not_in_npms_tree) {
  std::vector<std::string> errors = lockfile_mismatches(virtual_tree, ideal_tree, not_in_npms_tree);
  if (errors.empty()) return {};
  return ci_lockfile_error(errors, program);
}

}  // namespace lade::lockfile
