#pragma once
// Package name rules of npm's validate-npm-package-name.
#include <string>
#include <string_view>
#include <vector>

namespace lade::manifest {

struct NameValidation {
  /// No errors and no warnings: a name the registry accepts for a new package.
  bool valid_for_new_packages = false;
  /// No errors: a name that may exist from before the current rules (capitals, > 214
  /// characters, core module names, ~'!()*). npm-package-arg accepts these.
  bool valid_for_old_packages = false;
  std::vector<std::string>
      warnings;  // npm's wording, e.g. "name can no longer contain capital letters"
  std::vector<std::string> errors;  // e.g. "name can only contain URL-friendly characters"
};

NameValidation validate_package_name(std::string_view name);

}  // namespace lade::manifest
