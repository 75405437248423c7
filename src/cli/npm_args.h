#pragma once
// npm's command line, as nopt reads it, turned into one lade's parser takes: the command may
// come after options (`--prefix app ci`), `--key=` gives an empty value rather than taking the
// next argument, npm's aliases and shorthands are understood, and an option npm would only warn
// about is dropped with a warning instead of failing the run.
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lade::cli {

struct NpmArgs {
  /// The command first ("install" or "ci"), then the options and arguments in their order.
  std::vector<std::string> argv;
  /// npm settings given on the command line that go to the config layers as they are
  /// ({"save-prefix", ""}, {"fetch-retries", "0"}), in the order given.
  std::vector<std::pair<std::string, std::string>> settings;
  std::vector<std::string> warnings;
  /// A command line lade must refuse (a global install, conflicting save types).
  std::optional<std::string> error;
};

/// `args` without the program name.
NpmArgs normalize_npm_args(const std::vector<std::string>& args);

}  // namespace lade::cli
