#include "cli/script_settings.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <unordered_set>

namespace lade::cli {

namespace fs = std::filesystem;

bool config_flag(const registry::Config& config, const char* key) {
  auto v = config.get(key);
  return v && !v->empty() && *v != "false" && *v != "0" && *v != "null" && *v != "no";
}

util::Result<ScriptRules> script_rules(const registry::Config& config, const manifest::Json& package_json,
                                       std::vector<std::string>& warnings) {
  installer::ScriptPolicyInputs inputs;
  for (const auto& layer : config.layers()) {
    auto v = layer.values.find("allow-scripts");
    if (v == layer.values.end()) continue;
    std::string joined;
    for (const auto& part : v->second) joined += part + "\n";
    if (joined.find_first_not_of(", \t\r\n") == std::string::npos) continue;
    if (layer.name == "cli" || layer.name == "env") {
      if (!inputs.command_line) inputs.command_line = joined;
    } else if (!inputs.npmrc) {
      inputs.npmrc = joined;
    }
  }
  if (auto member = package_json.find("allowScripts"); member != package_json.end()) inputs.package_json = &*member;
  ScriptRules rules;
  rules.policy = LADE_TRY(installer::resolve_script_policy(inputs, warnings));
  rules.allow_all = config_flag(config, "dangerously-allow-all-scripts");
  rules.strict = config_flag(config, "strict-allow-scripts");
  rules.fingerprint = "allow-scripts=" + inputs.npmrc.value_or("") + ";";
  if (rules.allow_all) rules.fingerprint += "allow-all-scripts;";
  if (rules.strict) rules.fingerprint += "strict-allow-scripts;";
  return rules;
}

std::vector<std::pair<std::string, std::string>> npm_config_env(const registry::Config& config,
                                                                const fs::path& project_dir) {
  std::vector<std::pair<std::string, std::string>> out;
  std::unordered_set<std::string> seen;
  auto add = [&](const std::string& key, std::string value) {
    if (!seen.insert(key).second) return;
    std::string name = "npm_config_" + key;
    for (char& c : name) c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.emplace_back(std::move(name), std::move(value));
  };
  for (const auto& layer : config.layers()) {
    for (const auto& [key, values] : layer.values) {
      if (key.empty() || key[0] == '/' || key[0] == '@' || key[0] == '_' || key.find(':') != std::string::npos) continue;
      if (layer.name == "env") {
        seen.insert(key);
        continue;
      }
      std::string value;
      for (const auto& v : values) value += (value.empty() ? "" : "\n\n") + v;
      add(key, std::move(value));
    }
  }
  const registry::Settings& s = config.settings();
  add("local-prefix", project_dir.string());
  add("user-agent", s.user_agent);
  if (!s.npm_version.empty()) add("npm-version", s.npm_version);
  add("cache", s.cache.string());
  if (!s.userconfig.empty()) add("userconfig", s.userconfig.string());
  if (!s.globalconfig.empty()) add("globalconfig", s.globalconfig.string());
  return out;
}

std::string unreviewed_to_state(const std::vector<installer::UnreviewedPackage>& list) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& p : list) {
    nlohmann::json scripts = nlohmann::json::array();
    for (const auto& [event, command] : p.scripts) scripts.push_back({event, command});
    j.push_back({p.name, p.version, p.location, scripts});
  }
  return j.dump();
}

std::vector<installer::UnreviewedPackage> unreviewed_from_state(std::string_view text) {
  std::vector<installer::UnreviewedPackage> out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& p : j) {
    if (!p.is_array() || p.size() != 4 || !p[0].is_string() || !p[1].is_string() || !p[2].is_string() ||
        !p[3].is_array()) {
      continue;
    }
    installer::UnreviewedPackage u{p[0].get<std::string>(), p[1].get<std::string>(), p[2].get<std::string>(), {}};
    for (const auto& e : p[3]) {
      if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        u.scripts.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
      }
    }
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace lade::cli
