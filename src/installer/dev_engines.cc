#include "installer/dev_engines.h"

#include <algorithm>
#include <optional>

#include "semver/functions.h"

namespace lade::installer {

namespace {

using manifest::Json;

constexpr const char* kLead = "The developer of this package has specified the following through devEngines";

bool one_of(const std::string& s, std::initializer_list<const char*> list) {
  return std::any_of(list.begin(), list.end(), [&](const char* x) { return s == x; });
}

util::Error invalid(const std::string& message) { return util::make_error("EBADDEVENGINES", message); }

/// checkDependency: nullopt when `wanted` matches, else why not. A malformed entry is an error.
util::Result<std::optional<std::string>> check_dependency(const Json& wanted, const std::string& engine,
                                                          const std::string& name, const std::string& version) {
  if (!wanted.is_object()) return invalid("Invalid non-object value for \"" + engine + "\"");
  for (const auto& [prop, _] : wanted.items()) {
    if (!one_of(prop, {"name", "version", "onFail"})) {
      return invalid("Invalid property \"" + prop + "\" for \"" + engine + "\"");
    }
  }
  if (!wanted.contains("name")) return invalid("Missing \"name\" property for \"" + engine + "\"");
  if (!wanted["name"].is_string()) {
    return invalid("Invalid non-string value for \"name\" within \"" + engine + "\"");
  }
  if (name.empty()) return invalid("Unable to determine \"name\" for \"" + engine + "\"");
  if (wanted.contains("onFail")) {
    if (!wanted["onFail"].is_string()) {
      return invalid("Invalid non-string value for \"onFail\" within \"" + engine + "\"");
    }
    const std::string on_fail = wanted["onFail"].get<std::string>();
    if (!one_of(on_fail, {"ignore", "warn", "error", "download"})) {
      return invalid("Invalid onFail value \"" + on_fail + "\" for \"" + engine + "\"");
    }
  }
  const std::string wanted_name = wanted["name"].get<std::string>();
  if (wanted_name != name) {
    return std::optional<std::string>("Invalid name \"" + wanted_name + "\" does not match \"" + name + "\" for \"" +
                                      engine + "\"");
  }
  if (wanted.contains("version")) {
    if (!wanted["version"].is_string()) {
      return invalid("Invalid non-string value for \"version\" within \"" + engine + "\"");
    }
    if (version.empty()) {
      return invalid("Unable to determine \"version\" for \"" + engine + "\" \"" + wanted_name + "\"");
    }
    const std::string range = wanted["version"].get<std::string>();
    if (semver::valid_range(range)) {
      if (!semver::satisfies(version, range)) {
        return std::optional<std::string>("Invalid semver version \"" + range + "\" does not match \"" + version +
                                          "\" for \"" + engine + "\"");
      }
    } else if (range != version) {
      return std::optional<std::string>("Invalid version \"" + range + "\" does not match \"" + version +
                                        "\" for \"" + engine + "\"");
    }
  }
  return std::optional<std::string>();
}

}  // namespace

util::Status check_dev_engines(const Json& dev_engines, const DevEnginesEnv& current, bool force,
                               std::vector<std::string>& warnings) {
  if (!dev_engines.is_object()) return invalid("Invalid non-object value for \"devEngines\"");
  struct Current {
    std::string name, version;
  };
  auto current_of = [&](const std::string& engine) -> Current {
    if (engine == "packageManager") return {"npm", current.npm_version};
    if (engine == "runtime") return {"node", current.node_version};
    if (engine == "os") return {current.os, current.os_version};
    if (engine == "cpu") return {current.cpu, ""};
    return {current.libc, ""};
  };
  std::optional<util::Error> first_error;
  for (const auto& [engine, authored] : dev_engines.items()) {
    if (!one_of(engine, {"packageManager", "runtime", "cpu", "libc", "os"})) {
      return invalid("Invalid property \"devEngines." + engine + "\"");
    }
    const Json entries = authored.is_array() ? authored : Json::array({authored});
    if (entries.empty()) continue;
    const Current now = current_of(engine);
    std::vector<std::string> failures;
    for (const Json& entry : entries) {
      auto result = check_dependency(entry, engine, now.name, now.version);
      if (!result) return result.take_error();
      if (*result) failures.push_back(**result);
    }
    if (failures.size() != entries.size()) continue;  // one entry matches
    const Json& last = entries.back();
    std::string on_fail = last.is_object() && last.contains("onFail") ? last["onFail"].get<std::string>() : "error";
    if (on_fail == "download") on_fail = "error";
    if (on_fail == "ignore") continue;
    std::string message = "Invalid devEngines." + engine;
    for (const auto& f : failures) message += "\n" + f;
    if (on_fail == "warn" || force) {
      warnings.push_back("EBADDEVENGINES " + std::string(kLead) + "\n" + message);
    } else if (!first_error) {
      first_error = util::make_error("EBADDEVENGINES", std::string(kLead) + "\n" + message);
    }
  }
  if (first_error) return *first_error;
  return {};
}

}  // namespace lade::installer
