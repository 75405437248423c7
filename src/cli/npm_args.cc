#include "cli/npm_args.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace lade::cli {

namespace {

bool one_of(std::string_view s, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

/// The command a word names (npm's aliases and the misspellings npm accepts), or empty.
std::string_view command_named(std::string_view word) {
  if (one_of(word, {"install", "i", "in", "ins", "inst", "insta", "instal", "isnt", "isnta", "isntal", "isntall",
                    "add"})) {
    return "install";
  }
  if (one_of(word, {"ci", "clean-install", "ic", "install-clean", "isntall-clean"})) return "ci";
  if (one_of(word, {"uninstall", "unlink", "remove", "rm", "r", "un"})) return "uninstall";
  if (one_of(word, {"update", "up", "upgrade", "udpate"})) return "update";
  return {};
}

/// Options the parser knows that take a value.
bool takes_value(std::string_view key) {
  return one_of(key, {"registry", "prefix", "omit", "include", "lockfile-version", "install-strategy", "only",
                      "also", "loglevel", "cache", "link-mode", "workspace"});
}

/// Boolean options the parser knows, and whether it knows their --no- form too.
enum class Flag { None, Plain, WithNegation };
Flag known_flag(std::string_view key) {
  if (one_of(key, {"save", "bin-links", "package-lock", "audit", "fund", "progress", "update-notifier",
                   "unsafe-perm", "foreground-scripts", "yes", "color", "omit-lockfile-registry-resolved"})) {
    return Flag::WithNegation;
  }
  if (one_of(key, {"save-dev", "save-optional", "save-prod", "save-exact", "save-bundle", "production",
                   "ignore-scripts", "package-lock-only", "legacy-peer-deps", "strict-peer-deps", "global-style",
                   "legacy-bundling", "force", "engine-strict", "prefer-offline", "offline", "timing", "json",
                   "prefer-online", "dry-run", "quiet", "verbose", "silent", "workspaces", "include-workspace-root",
                   "help", "version", "prefer-dedupe", "no-optional", "save-peer", "long"})) {
    return Flag::Plain;
  }
  return Flag::None;
}

/// npm settings lade reads from its config layers: given on the command line, they go there.
bool is_setting(std::string_view key) {
  return one_of(key, {"save-prefix", "fetch-retries", "fetch-retry-factor", "fetch-retry-mintimeout",
                      "fetch-retry-maxtimeout", "fetch-timeout", "maxsockets", "userconfig", "globalconfig",
                      "cafile", "user-agent", "allow-scripts", "os", "cpu", "libc",
                      "before", "min-release-age", "min-release-age-exclude"});
}
bool is_boolean_setting(std::string_view key) {
  return one_of(key, {"strict-ssl", "strict-allow-scripts", "dangerously-allow-all-scripts", "foreground-scripts"});
}

/// npm options lade does not act on yet: accepted with a warning so that a script passing them
/// still installs. The first group takes a value.
bool unsupported_with_value(std::string_view key) {
  return one_of(key, {"allow-git", "tag"});
}
bool unsupported_flag(std::string_view key) { return one_of(key, {"install-links"}); }

bool falsy(std::string_view v) { return v == "false" || v == "0" || v == "no" || v == "null"; }

/// Flags that are settings too: turned off on the command line (--no-offline, --offline=false),
/// they must override a config file or the environment that turns them on, as npm's do.
bool overridable_setting(std::string_view key) {
  return one_of(key, {"offline", "prefer-offline", "prefer-online", "legacy-peer-deps", "strict-peer-deps",
                      "engine-strict", "force", "ignore-scripts", "package-lock-only", "save-exact",
                      "global-style", "legacy-bundling", "production"});
}

/// The long option a single-letter shorthand stands for ("" when unknown).
std::string_view shorthand(char c) {
  switch (c) {
    case 'D': return "save-dev";
    case 'O': return "save-optional";
    case 'P': return "save-prod";
    case 'E': return "save-exact";
    case 'B': return "save-bundle";
    case 'S': return "save";
    case 'f': return "force";
    case 'q': return "quiet";
    case 'd': return "verbose";
    case 'l': return "long";
    case 's': return "silent";
    case 'y': return "yes";
    case 'h': return "help";
    case 'v': return "version";
    case 'g': return "global";
    case 'w': return "workspace";
    default: return {};
  }
}

}  // namespace

NpmArgs normalize_npm_args(const std::vector<std::string>& args) {
  NpmArgs out;
  std::string command;
  std::vector<std::string> rest;
  std::vector<std::string> save_types;  // in the order given, for npm's exclusivity check
  bool positional_only = false;

  // `--key=value`, so that the parser takes exactly one value; an empty one as a word of its
  // own (`--key=` would make it take the next argument instead).
  auto emit_long = [&](std::string_view key, const std::optional<std::string>& value) {
    if (value && !value->empty()) {
      rest.push_back("--" + std::string(key) + "=" + *value);
      return;
    }
    rest.push_back("--" + std::string(key));
    if (value) rest.push_back(*value);
  };

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool is_option = !positional_only && arg.size() > 1 && arg[0] == '-';
    if (!is_option) {
      if (command.empty() && !positional_only) {
        if (auto c = command_named(arg); !c.empty()) {
          command = c;
          continue;
        }
      }
      rest.push_back(arg);
      continue;
    }
    if (arg == "--") {
      positional_only = true;
      rest.push_back(arg);
      continue;
    }

    // Short options: one letter, a cluster of flags (-DE), or -w with its value.
    std::vector<std::pair<std::string, std::optional<std::string>>> longs;  // key, =value
    if (arg[1] != '-') {
      std::string_view letters = std::string_view(arg).substr(1);
      if (letters == "dd" || letters == "ddd") letters = "d";
      bool all_known = true;
      for (char c : letters) all_known = all_known && !shorthand(c).empty();
      if (!all_known) {
        out.warnings.push_back("unknown option \"" + arg + "\" (ignored)");
        continue;
      }
      for (char c : letters) longs.emplace_back(std::string(shorthand(c)), std::nullopt);
    } else {
      const size_t eq = arg.find('=');
      std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      std::optional<std::string> value;
      if (eq != std::string::npos) value = arg.substr(eq + 1);
      longs.emplace_back(std::move(key), std::move(value));
    }

    for (auto& [key, inline_value] : longs) {
      // The value of an option that takes one: after '=' (possibly empty), else the next word.
      auto take_value = [&]() -> std::optional<std::string> {
        if (inline_value) return inline_value;
        if (i + 1 < args.size()) return args[++i];
        return std::nullopt;
      };
      const bool negated = key.starts_with("no-") && known_flag(key) == Flag::None;
      const std::string base = negated ? key.substr(3) : key;

      if (takes_value(key)) {
        emit_long(key, take_value());
      } else if (is_setting(key)) {
        if (auto v = take_value()) out.settings.emplace_back(key, *v);
      } else if (is_boolean_setting(base)) {
        out.settings.emplace_back(base, negated || (inline_value && falsy(*inline_value)) ? "false" : "true");
      } else if (base == "global" || key == "location") {
        const bool global = key == "location" ? take_value().value_or("") == "global"
                                              : !negated && !(inline_value && falsy(*inline_value));
        if (global) {
          out.error = "global installs are not supported: lade installs into a project's node_modules "
                      "(run it in the project's folder, or pass --prefix <dir>)";
        }
      } else if (base == "dev") {
        // npm's deprecated --dev: --include=dev.
        if (!negated && !(inline_value && falsy(*inline_value))) emit_long("include", std::string("dev"));
      } else if (base == "shrinkwrap") {
        // npm's older name for package-lock.
        if (negated || (inline_value && falsy(*inline_value))) emit_long("no-package-lock", std::nullopt);
      } else if (unsupported_with_value(key)) {
        (void)take_value();
        out.warnings.push_back("--" + key + " is not supported by lade yet; ignored");
      } else if (unsupported_flag(base)) {
        out.warnings.push_back("--" + base + " is not supported by lade yet; ignored");
      } else if (known_flag(key) != Flag::None) {
        if (one_of(key, {"save-dev", "save-optional", "save-prod", "save-peer"}) &&
            !(inline_value && falsy(*inline_value))) {
          save_types.push_back(key);
        }
        if (inline_value && falsy(*inline_value) && overridable_setting(key)) {
          out.settings.emplace_back(key, "false");
          continue;
        }
        rest.push_back("--" + key + (inline_value ? "=" + *inline_value : std::string()));
      } else if (negated && known_flag(base) == Flag::WithNegation) {
        rest.push_back("--" + key);
      } else if (negated && known_flag(base) != Flag::None) {
        // --no-<flag> for a flag whose default is off: nothing to turn off, except a setting
        // the config files or the environment may have turned on.
        if (overridable_setting(base)) out.settings.emplace_back(base, "false");
      } else {
        out.warnings.push_back("unknown option \"--" + key + "\" (ignored)");
      }
    }
  }

  // npm's config refuses two save types at once: "--save-optional cannot be provided when
  // using --save-dev".
  for (size_t a = 0; a < save_types.size() && !out.error; ++a) {
    for (size_t b = a + 1; b < save_types.size(); ++b) {
      if (save_types[a] != save_types[b]) {
        out.error = "--" + save_types[b] + " cannot be provided when using --" + save_types[a];
        break;
      }
    }
  }

  // npm prints its version for -v wherever it stands (`npm install -v`).
  if (std::find(rest.begin(), rest.end(), "--version") != rest.end()) {
    out.argv = {"--version"};
    return out;
  }
  if (!command.empty()) out.argv.push_back(command);
  out.argv.insert(out.argv.end(), rest.begin(), rest.end());
  return out;
}

}  // namespace lade::cli
