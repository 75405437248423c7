#include "registry/npmrc.h"

#include <pwd.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <set>

#include "registry/url.h"
#include "util/date.h"
#include "util/fs.h"
#include "util/hash.h"

namespace lade::registry {

using util::make_error;
using util::Result;

struct Config::RegistryFallback {
  std::mutex mu;
  std::optional<Result<std::string>> answer;
};

namespace {

constexpr std::string_view kEnvPrefix = "npm_config_";
constexpr auto kNpmRegistryCacheLifetime = std::chrono::hours(24);
constexpr std::string_view kNpmRegistryCacheFile = "npm-default-registry";

/// Keys whose values are lists; for these an environment value is split on blank lines (npm
/// puts lists in the environment separated by "\n\n") and repeated flags accumulate.
bool is_list_key(std::string_view key) { return key == "ca" || key == "omit" || key == "include"; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_blank_lines(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    size_t sep = s.find("\n\n", pos);
    out.emplace_back(trim(s.substr(pos, sep == std::string_view::npos ? sep : sep - pos)));
    if (sep == std::string_view::npos) break;
    pos = sep + 2;
  }
  return out;
}

/// nopt's Boolean: "false"/"null" and numbers equal to 0 are false, anything else true.
bool parse_bool(std::string_view raw) {
  std::string_view v = trim(raw);
  if (v == "false" || v == "null" || v == "undefined") return false;
  if (v.empty() || v == "true") return true;
  char* end = nullptr;
  std::string s(v);
  double d = std::strtod(s.c_str(), &end);
  if (end && *end == '\0') return d != 0;
  return true;
}

std::optional<double> parse_number(std::string_view raw) {
  std::string s(trim(raw));
  if (s.empty()) return 0.0;  // JavaScript: +"" === 0
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (!end || *end != '\0' || std::isnan(d)) return std::nullopt;
  return d;
}

std::string os_platform() { return "linux"; }

std::string node_arch() {
  struct utsname u {};
  if (::uname(&u) != 0) return "unknown";
  std::string m = u.machine;
  if (m == "x86_64") return "x64";
  if (m == "aarch64") return "arm64";
  if (m == "i386" || m == "i686") return "ia32";
  if (m.rfind("arm", 0) == 0) return "arm";
  return m;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  // Case-insensitive, like npm's /\{node-version\}/gi.
  std::string lower_s = lower(s);
  std::string lower_from = lower(from);
  size_t pos = 0;
  std::string out;
  for (;;) {
    size_t hit = lower_s.find(lower_from, pos);
    out.append(s, pos, hit == std::string::npos ? std::string::npos : hit - pos);
    if (hit == std::string::npos) break;
    out += to;
    pos = hit + from.size();
  }
  s = std::move(out);
}

fs::path home_dir(const ConfigInputs& in) {
  if (!in.home.empty()) return in.home;
  if (auto it = in.env.find("HOME"); it != in.env.end() && !it->second.empty()) return it->second;
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "/";
}

Config::Layer layer_from_ini(std::string name, const fs::path& file, std::string_view text,
                             const Environment& env) {
  Config::Layer layer{std::move(name), file.string(), {}};
  for (auto& entry : parse_ini(text)) {
    std::vector<std::string> values;
    for (auto& v : entry.values) values.push_back(replace_env(v, env));
    layer.values[replace_env(entry.key, env)] = std::move(values);
  }
  return layer;
}

}  // namespace

std::string Credentials::authorization() const {
  if (!token.empty()) return "Bearer " + token;
  if (!basic.empty()) return "Basic " + basic;
  return {};
}

const std::vector<std::string>* Config::find(std::string_view key) const {
  for (const auto& layer : layers_) {
    if (auto it = layer.values.find(key); it != layer.values.end()) return &it->second;
  }
  return nullptr;
}

std::string Config::find_string(std::string_view key) const {
  const auto* v = find(key);
  return v && !v->empty() ? v->back() : std::string{};
}

std::optional<std::string> Config::get(std::string_view key) const {
  const auto* v = find(key);
  if (!v) return std::nullopt;
  std::string joined;
  for (size_t i = 0; i < v->size(); ++i) {
    if (i) joined += "\n\n";
    joined += (*v)[i];
  }
  return joined;
}

namespace {

/// npm's user agent: `setting` (npm's user-agent) with its placeholders filled in, or npm's
/// default, which names node only when its version is known.
std::string render_user_agent(const std::optional<std::string>& setting, std::string_view lade_version,
                              std::string_view node_version) {
  std::string agent = setting                ? *setting
                      : node_version.empty() ? "lade/{lade-version} {platform} {arch} workspaces/{workspaces}"
                                             : "lade/{lade-version} node/{node-version} {platform} {arch} "
                                               "workspaces/{workspaces}";
  replace_all(agent, "{lade-version}", lade_version);
  replace_all(agent, "{npm-version}", lade_version);
  replace_all(agent, "{node-version}", node_version);
  replace_all(agent, "{platform}", os_platform());
  replace_all(agent, "{arch}", node_arch());
  replace_all(agent, "{workspaces}", "false");
  replace_all(agent, "{ci}", "");
  return std::string(trim(agent));
}

}  // namespace

void Config::set_node_version(std::string_view node_version) {
  settings_.user_agent = render_user_agent(user_agent_setting_, lade_version_, node_version);
}

Result<Config> Config::load(ConfigInputs in) {
  Config config;
  config.env_ = in.env;
  config.run_command_ = in.run_command;
  config.now_ = in.now ? in.now : std::chrono::system_clock::now;
  config.fallback_ = std::make_shared<RegistryFallback>();
  const Environment& env = in.env;
  const fs::path home = home_dir(in);
  const fs::path cwd = !in.cwd.empty()           ? in.cwd
                       : !in.project_dir.empty() ? in.project_dir
                                                 : fs::current_path();
  config.project_dir_ = in.project_dir.empty() ? cwd : in.project_dir;
  auto& warnings = config.warnings_;

  // Layers in precedence order; file layers are filled in as their locations become known.
  Layer cli{"cli", "command line", {}};
  for (const auto& [raw_key, raw_value] : in.cli) {
    std::string key = replace_env(raw_key, env);
    std::string value = replace_env(raw_value, env);
    auto& slot = cli.values[key];
    if (is_list_key(key)) {
      slot.push_back(std::move(value));
    } else {
      slot.assign(1, std::move(value));
    }
  }
  Layer env_layer{"env", "environment", {}};
  for (const auto& [name, value] : env) {
    if (name.size() <= kEnvPrefix.size() ||
        lower(name.substr(0, kEnvPrefix.size())) != kEnvPrefix || value.empty()) {
      continue;
    }
    std::string key = name.substr(kEnvPrefix.size());
    if (!key.starts_with("//")) {  // nerf-darted keys are kept as written
      for (size_t i = 1; i < key.size(); ++i) {
        if (key[i] == '_') key[i] = '-';
      }
      key = lower(key);
    }
    key = replace_env(key, env);
    std::string v = replace_env(value, env);
    env_layer.values[key] = is_list_key(key) ? split_blank_lines(v) : std::vector<std::string>{v};
  }
  config.layers_ = {std::move(cli),        std::move(env_layer),    Layer{"project", "", {}},
                    Layer{"user", "", {}}, Layer{"global", "", {}}, Layer{"builtin", "", {}}};
  enum { kCli, kEnv, kProject, kUser, kGlobal, kBuiltin };

  auto resolve_path = [&](std::string_view raw) -> fs::path {
    std::string_view v = trim(raw);
    if (v.starts_with("~/")) return (home / fs::path(std::string(v.substr(2)))).lexically_normal();
    fs::path p{std::string(v)};
    return (p.is_absolute() ? p : cwd / p).lexically_normal();
  };
  auto load_file = [&](int index, const fs::path& file) {
    Layer& layer = config.layers_[static_cast<size_t>(index)];
    layer.source = file.string();
    auto text = util::read_file(file);
    if (!text.ok()) {
      // A missing file is the normal case; anything else npm only logs, and so do we.
      if (text.error().code != "ENOENT") warnings.push_back(text.error().message);
      return;
    }
    layer = layer_from_ini(layer.name, file, *text, env);
  };

  if (!in.node.npm_builtin_rc.empty()) load_file(kBuiltin, in.node.npm_builtin_rc);

  auto userconfig_path = [&] {
    const auto* v = config.find("userconfig");
    return v && !v->empty() ? resolve_path(v->back()) : home / ".npmrc";
  };

  // Project config, unless in global mode or when it is the user config (a project in ~).
  bool global_mode = false;
  if (const auto* g = config.find("global"); g && !g->empty()) global_mode = parse_bool(g->back());
  if (const auto* l = config.find("location"); l && !l->empty() && l->back() == "global") {
    global_mode = true;
  }
  fs::path project_rc = config.project_dir_ / ".npmrc";
  if (!global_mode && project_rc.lexically_normal() != userconfig_path()) {
    load_file(kProject, project_rc);
  }

  config.settings_.userconfig = userconfig_path();
  load_file(kUser, config.settings_.userconfig);

  // globalconfig: explicit setting, else <prefix>/etc/npmrc with npm's default prefix.
  if (const auto* v = config.find("globalconfig"); v && !v->empty() && !trim(v->back()).empty()) {
    config.settings_.globalconfig = resolve_path(v->back());
  } else {
    fs::path prefix;
    if (const auto* p = config.find("prefix"); p && !p->empty() && !trim(p->back()).empty()) {
      prefix = resolve_path(p->back());
    } else if (auto it = env.find("PREFIX"); it != env.end() && !it->second.empty()) {
      prefix = it->second;
    } else if (!in.node.global_prefix.empty()) {
      prefix = in.node.global_prefix;
      if (auto d = env.find("DESTDIR"); d != env.end() && !d->second.empty()) {
        prefix = fs::path(d->second) / prefix.relative_path();
      }
    }
    if (!prefix.empty()) {
      config.settings_.globalconfig = prefix / "etc" / "npmrc";
    } else if (in.run_command) {
      // node is not on PATH: only npm itself knows where its global config is.
      auto answer = in.run_command({"npm", "config", "get", "globalconfig"}, config.project_dir_);
      if (answer.ok() && !trim(*answer).empty()) {
        config.settings_.globalconfig = std::string(trim(*answer));
      }
    }
  }
  if (!config.settings_.globalconfig.empty()) load_file(kGlobal, config.settings_.globalconfig);

  // ---- typed settings: the highest layer with a valid value wins ----
  Settings& s = config.settings_;
  auto invalid = [&](const Layer& layer, std::string_view key, std::string_view value) {
    warnings.push_back("invalid config " + std::string(key) + "=\"" + std::string(value) +
                       "\" set in " + layer.source);
  };
  // Calls `accept(values)` for each layer that sets `key` until it returns true.
  auto pick = [&](std::string_view key, auto accept) {
    for (const auto& layer : config.layers_) {
      auto it = layer.values.find(key);
      if (it == layer.values.end() || it->second.empty()) continue;
      if (accept(it->second)) return;
      invalid(layer, key, it->second.back());
    }
  };
  auto pick_bool = [&](std::string_view key, bool& out) {
    pick(key, [&](const std::vector<std::string>& v) {
      out = parse_bool(v.back());
      return true;
    });
  };
  auto pick_number = [&](std::string_view key, auto& out, double min_value) {
    pick(key, [&](const std::vector<std::string>& v) {
      auto d = parse_number(v.back());
      if (!d || *d < min_value) return false;
      out = static_cast<std::remove_reference_t<decltype(out)>>(*d);
      return true;
    });
  };
  auto pick_millis = [&](std::string_view key, std::chrono::milliseconds& out) {
    pick(key, [&](const std::vector<std::string>& v) {
      auto d = parse_number(v.back());
      if (!d || *d < 0) return false;
      out = std::chrono::milliseconds(static_cast<long long>(*d));
      return true;
    });
  };
  auto pick_list = [&](std::string_view key, std::vector<std::string>& out,
                       std::initializer_list<std::string_view> allowed) {
    pick(key, [&](const std::vector<std::string>& v) {
      out.clear();
      for (const auto& item : v) {
        if (item == "null") continue;
        if (allowed.size() && std::find(allowed.begin(), allowed.end(), item) == allowed.end()) {
          warnings.push_back("invalid config " + std::string(key) + "=\"" + item + "\"");
          continue;
        }
        out.push_back(item);
      }
      return true;
    });
  };

  pick("registry", [&](const std::vector<std::string>& v) {
    if (!parse_url(v.back())) return false;
    s.registry = with_trailing_slash(trim(v.back()));
    return true;
  });
  pick_bool("strict-ssl", s.strict_ssl);
  pick("cafile", [&](const std::vector<std::string>& v) {
    s.cafile = v.back() == "null" || trim(v.back()).empty() ? fs::path{} : resolve_path(v.back());
    return true;
  });
  pick_list("ca", s.ca, {});
  pick_bool("omit-lockfile-registry-resolved", s.omit_lockfile_registry_resolved);
  pick_bool("save-exact", s.save_exact);
  pick("save-prefix", [&](const std::vector<std::string>& v) {
    s.save_prefix = v.back();
    return true;
  });
  if (s.save_exact) s.save_prefix.clear();
  pick_bool("package-lock", s.package_lock);
  pick_bool("package-lock-only", s.package_lock_only);
  if (s.package_lock_only) s.package_lock = true;
  pick_bool("save", s.save);
  pick("lockfile-version", [&](const std::vector<std::string>& v) {
    std::string_view t = trim(v.back());
    if (t == "null") {
      s.lockfile_version.reset();
      return true;
    }
    if (t != "1" && t != "2" && t != "3") return false;
    s.lockfile_version = t[0] - '0';
    return true;
  });
  pick_bool("legacy-peer-deps", s.legacy_peer_deps);
  pick_bool("strict-peer-deps", s.strict_peer_deps);
  pick_bool("force", s.force);
  pick_bool("engine-strict", s.engine_strict);
  pick("loglevel", [&](const std::vector<std::string>& v) {
    static const std::set<std::string, std::less<>> kLevels = {"silent", "error", "warn", "notice",
                                                               "http", "info", "verbose", "silly"};
    if (!kLevels.count(trim(v.back()))) return false;
    s.loglevel = std::string(trim(v.back()));
    return true;
  });
  // npm's os, cpu and libc: install optional packages for that platform instead of this one.
  for (auto [key, field] : {std::pair{"os", &s.os}, std::pair{"cpu", &s.cpu}, std::pair{"libc", &s.libc}}) {
    pick(key, [&, field = field](const std::vector<std::string>& v) {
      if (trim(v.back()).empty()) return false;
      *field = std::string(trim(v.back()));
      return true;
    });
  }
  // before: a date. min-release-age: days before now, unless the command line gives before
  // (npm's flatten: `age != null && !Object.hasOwn(cli, 'before')`; an age of 0 is no limit).
  pick("before", [&](const std::vector<std::string>& v) {
    auto ms = util::parse_iso_date(v.back());
    if (!ms) return false;
    s.before_ms = *ms;
    return true;
  });
  const bool cli_before = !config.layers_.empty() && config.layers_.front().name == "cli" &&
                          config.layers_.front().values.count("before") > 0;
  pick("min-release-age", [&](const std::vector<std::string>& v) {
    auto days = parse_number(v.back());
    if (!days || *days < 0) return false;
    if (cli_before) return true;
    if (*days == 0) {
      s.before_ms.reset();
    } else {
      const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 config.now_().time_since_epoch()).count();
      s.before_ms = now_ms - static_cast<int64_t>(*days * 86400000.0);
    }
    return true;
  });
  pick("min-release-age-exclude", [&](const std::vector<std::string>& v) {
    for (const auto& entry : v) {
      size_t start = 0;
      while (start <= entry.size()) {
        size_t end = entry.find_first_of(",\n", start);
        if (end == std::string::npos) end = entry.size();
        std::string_view part = trim(std::string_view(entry).substr(start, end - start));
        if (!part.empty()) s.before_exempt.emplace_back(part);
        start = end + 1;
      }
    }
    return true;
  });
  pick("install-strategy", [&](const std::vector<std::string>& v) {
    static const std::set<std::string, std::less<>> kStrategies = {"hoisted", "nested", "shallow",
                                                                   "linked"};
    if (!kStrategies.count(trim(v.back()))) return false;
    s.install_strategy = std::string(trim(v.back()));
    return true;
  });
  // npm's older spellings, still honoured by npm 11: each sets the strategy when true.
  bool global_style = false;
  bool legacy_bundling = false;
  pick_bool("global-style", global_style);
  pick_bool("legacy-bundling", legacy_bundling);
  if (global_style) s.install_strategy = "shallow";
  if (legacy_bundling) s.install_strategy = "nested";
  for (auto [name, field] : {std::pair{"SSL_CERT_FILE", &s.ssl_cert_file}, std::pair{"SSL_CERT_DIR", &s.ssl_cert_dir}}) {
    if (auto it = env.find(name); it != env.end() && !it->second.empty()) *field = it->second;
  }
  if (auto it = env.find("NODE_ENV"); it != env.end() && it->second == "production") {
    s.omit = {"dev"};
  }
  pick_list("omit", s.omit, {"dev", "optional", "peer"});
  // npm 6's production=true, still honoured (with a deprecation warning) as omit=dev.
  bool production = false;
  pick_bool("production", production);
  if (production && std::find(s.omit.begin(), s.omit.end(), "dev") == s.omit.end()) {
    s.omit.push_back("dev");
  }
  pick_list("include", s.include, {"prod", "dev", "optional", "peer"});
  {
    std::vector<std::string> omit;
    for (const auto& o : s.omit) {
      if (std::find(omit.begin(), omit.end(), o) == omit.end() &&
          std::find(s.include.begin(), s.include.end(), o) == s.include.end()) {
        omit.push_back(o);
      }
    }
    s.omit = std::move(omit);
  }
  pick_bool("ignore-scripts", s.ignore_scripts);
  pick_bool("audit", s.audit);
  pick_bool("fund", s.fund);
  pick_bool("offline", s.offline);
  pick_bool("prefer-offline", s.prefer_offline);
  pick_bool("prefer-online", s.prefer_online);
  pick_bool("bin-links", s.bin_links);
  pick_number("fetch-retries", s.fetch_retries, 0);
  pick_number("fetch-retry-factor", s.fetch_retry_factor, 0);
  pick_millis("fetch-retry-mintimeout", s.fetch_retry_mintimeout);
  pick_millis("fetch-retry-maxtimeout", s.fetch_retry_maxtimeout);
  pick_millis("fetch-timeout", s.fetch_timeout);
  pick_number("maxsockets", s.maxsockets, 1);

  std::optional<std::string> agent;  // npm's default unless user-agent is set
  pick("user-agent", [&](const std::vector<std::string>& v) {
    agent = v.back();
    return true;
  });
  config.user_agent_setting_ = agent;
  config.lade_version_ = in.lade_version;
  s.user_agent = render_user_agent(agent, in.lade_version, "");
  s.npm_version = in.node.npm_version;
  // npm's run-script uses its own node-gyp for dependencies' scripts whatever `node-gyp` says.
  if (!in.node.npm_builtin_rc.empty()) {
    const fs::path npm_dir = in.node.npm_builtin_rc.parent_path();
    std::error_code ec;
    if (fs::path js = npm_dir / "node_modules" / "node-gyp" / "bin" / "node-gyp.js"; fs::exists(js, ec)) s.node_gyp = js;
    if (fs::path bin = npm_dir / "node_modules" / "@npmcli" / "run-script" / "lib" / "node-gyp-bin";
        fs::exists(bin / "node-gyp", ec)) {
      s.node_gyp_bin = bin;
    }
  }

  s.cache = home / ".npm";
  pick("cache", [&](const std::vector<std::string>& v) {
    if (trim(v.back()).empty()) return false;
    s.cache = resolve_path(v.back());
    return true;
  });
  s.lade_cache = s.cache / "_lade";

  // npm refuses to run while a config file has auth settings not scoped to a registry.
  std::vector<std::string> problems;
  for (int index : {kProject, kUser, kGlobal}) {
    const Layer& layer = config.layers_[static_cast<size_t>(index)];
    auto has = [&](std::string_view key) {
      auto it = layer.values.find(key);
      return it != layer.values.end() && !it->second.empty() && !it->second.back().empty();
    };
    for (std::string_view key : {"_authtoken", "-authtoken"}) {
      if (has(key)) {
        problems.push_back("`" + std::string(key) + "` is not allowed in " + layer.name +
                           " config");
      }
    }
    for (std::string_view key : {"_auth", "_authToken", "username", "_password"}) {
      if (!has(key)) continue;
      if ((key == "username" && !has("_password")) || (key == "_password" && !has("username"))) {
        problems.push_back("`" + std::string(key) + "` is not allowed in " + layer.name +
                           " config");
        continue;
      }
      auto registry = config.default_registry();
      std::string nerfed = registry.ok() ? nerf_dart(*registry) : "//<registry host>/";
      problems.push_back("`" + std::string(key) + "` must be renamed to `" + nerfed + ":" +
                         std::string(key) + "` in " + layer.name + " config");
    }
  }
  if (!problems.empty()) {
    std::string message = "Invalid auth configuration found: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? ", " : "") + problems[i];
    message += "\nPlease run `npm config fix` to repair your configuration.";
    return make_error("ERR_INVALID_AUTH", message);
  }
  return config;
}

Result<std::string> Config::default_registry() const {
  if (!settings_.registry.empty()) return settings_.registry;
  std::lock_guard lock(fallback_->mu);
  if (!fallback_->answer) fallback_->answer = ask_npm_for_registry();
  return *fallback_->answer;
}

Result<std::string> Config::ask_npm_for_registry() const {
  const fs::path cache_file = settings_.lade_cache / kNpmRegistryCacheFile;
  struct stat st {};
  if (::stat(cache_file.c_str(), &st) == 0) {
    auto mtime = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) +
            std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    auto age = now_() - mtime;
    // A little "from the future" is clock granularity (a clock read just before the file was
    // written); a file far in the future means the clock was set back, and is not trusted.
    if (age > -std::chrono::minutes(1) && age < kNpmRegistryCacheLifetime) {
      if (auto text = util::read_file(cache_file); text.ok() && parse_url(trim(*text))) {
        return with_trailing_slash(trim(*text));
      }
    }
  }

  const std::string how_to_fix =
      "Set one with `--registry <url>` or a `registry=<url>` line in .npmrc.";
  if (!run_command_) {
    return make_error("ENOREGISTRY", "No registry is configured. " + how_to_fix);
  }
  auto out = run_command_({"npm", "config", "get", "registry"}, project_dir_);
  if (!out.ok()) {
    return make_error("ENOREGISTRY",
                      "No registry is configured and asking npm for its default "
                      "failed (" +
                          out.error().message + "). " + how_to_fix);
  }
  std::string_view answer = trim(*out);
  if (!parse_url(answer)) {
    return make_error("ENOREGISTRY", "No registry is configured and npm's default registry \"" +
                                         std::string(answer) + "\" is not a URL. " + how_to_fix);
  }
  std::string registry = with_trailing_slash(answer);
  (void)util::write_file_atomic(cache_file, registry + "\n");  // only a speed-up when it works
  return registry;
}

Result<std::string> Config::registry_for(std::string_view package_name) const {
  if (package_name.starts_with('@')) {
    size_t slash = package_name.find('/');
    if (slash != std::string_view::npos) {
      std::string key = std::string(package_name.substr(0, slash)) + ":registry";
      std::string scoped = find_string(key);
      if (!trim(scoped).empty()) return with_trailing_slash(trim(scoped));
    }
  }
  return default_registry();
}

Credentials Config::credentials_for_key(const std::string& reg_key) const {
  Credentials c;
  c.reg_key = reg_key;
  std::string token = find_string(reg_key + ":_authToken");
  std::string auth = find_string(reg_key + ":_auth");
  std::string username = find_string(reg_key + ":username");
  std::string password = find_string(reg_key + ":_password");
  if (!token.empty()) {
    c.token = token;
  } else if (!auth.empty()) {
    c.basic = auth;
  } else if (!username.empty() && !password.empty()) {
    // _password is stored base64-encoded in .npmrc.
    auto decoded = util::base64_decode(password);
    c.basic = util::base64_encode(username + ":" + (decoded.ok() ? *decoded : password));
  }
  std::string certfile = find_string(reg_key + ":certfile");
  std::string keyfile = find_string(reg_key + ":keyfile");
  if (!certfile.empty() && !keyfile.empty()) {
    c.certfile = certfile;
    c.keyfile = keyfile;
  }
  return c;
}

Credentials Config::auth_for(std::string_view url) const {
  auto parsed = parse_url(url);
  if (!parsed) return {};
  auto has_auth = [&](const std::string& key) {
    return !find_string(key + ":_authToken").empty() || !find_string(key + ":_auth").empty() ||
           (!find_string(key + ":username").empty() && !find_string(key + ":_password").empty()) ||
           (!find_string(key + ":certfile").empty() && !find_string(key + ":keyfile").empty());
  };
  // Walk up "//host/a/b/c" -> "//host/a/b/" -> "//host/a/b" -> ... -> "//host", so both
  // "//host/path/:_authToken" and "//host/path:_authToken" spellings match.
  std::string key = "//" + parsed->host + parsed->pathname;
  while (key.size() > 2) {
    if (has_auth(key)) return credentials_for_key(key);
    if (key.back() == '/') {
      key.pop_back();
    } else {
      key.erase(key.rfind('/') + 1);
    }
  }
  return {};
}

Credentials Config::auth_for(std::string_view url, std::string_view registry) const {
  Credentials direct = auth_for(url);
  if (!direct.reg_key.empty() || registry.empty() || url == registry) return direct;
  if (same_host(url, registry)) return auth_for(registry);
  return direct;
}

}  // namespace lade::registry
