#pragma once
// Config: npm's layered settings, read the way npm reads them.
//
//   command-line flags > npm_config_* environment > project .npmrc > user .npmrc
//     > global npmrc > npm's builtin npmrc > defaults
//
// Everything Config reads from the outside (flags, environment, home, node's install prefix, a
// way to run npm) comes in through ConfigInputs, so tests describe a whole machine in a few lines.
// Stages read typed fields from Settings; only keys that are names by nature (`@scope:registry`,
// `//host/path/:_authToken`) are looked up by string, through registry_for() and auth_for().
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/host_environment.h"
#include "registry/ini.h"
#include "util/result.h"

namespace lade::registry {

/// Everything Config reads from outside the files it opens.
struct ConfigInputs {
  /// Command-line settings in the order given, without leading dashes: {"registry", "http://..."}.
  /// A list setting given more than once (`--omit dev --omit peer`) keeps every value; for the
  /// others the last one wins. `--no-foo` should be passed as {"foo", "false"}.
  std::vector<std::pair<std::string, std::string>> cli;
  /// The environment: npm_config_* variables, ${VAR} expansion, HOME, PREFIX, NODE_ENV.
  Environment env;
  /// The project root (npm's local prefix); its .npmrc is the project layer.
  fs::path project_dir;
  /// Base for relative paths in settings; defaults to project_dir.
  fs::path cwd;
  /// Home directory for `~/`; defaults to env HOME.
  fs::path home;
  /// Where node/npm are installed. Tests set it explicitly; the CLI uses discover_node_install().
  NodeInstall node;
  /// Runs npm to learn its defaults (`npm config get registry|globalconfig`) when no setting says.
  /// Empty: never run anything (then a missing registry is an ENOREGISTRY error).
  CommandRunner run_command;
  /// For the user agent (node's version comes later: Config::set_node_version).
  std::string lade_version = "0.1.0";
  /// The clock used for the 24h lifetime of the cached npm default registry.
  std::function<std::chrono::system_clock::time_point()> now = std::chrono::system_clock::now;
};

/// The settings lade uses, with npm's defaults. Field names follow the npm keys.
struct Settings {
  /// `registry` as configured (always ending in '/'); empty when no layer sets it, in which
  /// case Config::default_registry() asks npm. Use Config::registry_for() to pick a registry.
  std::string registry;

  // TLS
  bool strict_ssl = true;
  fs::path cafile;              // empty: none
  std::vector<std::string> ca;  // PEM certificates given inline
  // Where the system's trusted CAs are, as OpenSSL's SSL_CERT_FILE and SSL_CERT_DIR say (a
  // bundle file; a folder of hashed links). Empty: where libcurl was built to look.
  fs::path ssl_cert_file;
  fs::path ssl_cert_dir;

  // Lockfile and package.json writing
  bool omit_lockfile_registry_resolved = false;
  bool save_exact = false;
  std::string save_prefix = "^";  // already "" when save_exact, as npm flattens it
  bool package_lock = true;
  /// package-lock-only: the lockfile is written, node_modules is left alone.
  bool package_lock_only = false;
  /// save: package.json and the lockfile are written (npm's --no-save turns it off).
  bool save = true;
  std::optional<int> lockfile_version;  // 1, 2 or 3 when set

  // Resolution
  bool legacy_peer_deps = false;
  bool strict_peer_deps = false;
  bool force = false;
  bool engine_strict = false;
  std::string install_strategy = "hoisted";  // hoisted | nested | shallow | linked
  /// npm's os, cpu and libc: the platform packages' os/cpu/libc fields are checked against
  /// (empty: the running machine's).
  std::string os, cpu, libc;
  /// npm's before (a date), or now minus min-release-age days: versions published later are
  /// not installed, in milliseconds since the epoch; nullopt: no limit.
  std::optional<int64_t> before_ms;
  /// min-release-age-exclude: package names or globs exempt from before_ms.
  std::vector<std::string> before_exempt;
  /// npm's loglevel (silent, error, warn, notice, http, info, verbose, silly).
  std::string loglevel = "notice";
  /// Dependency types to leave out ("dev", "optional", "peer"), after `include` is taken away
  /// and NODE_ENV=production is applied, as npm's buildOmitList does.
  std::vector<std::string> omit;
  std::vector<std::string> include;

  bool ignore_scripts = false;
  bool audit = true;
  bool fund = true;

  // Network
  bool offline = false;
  bool prefer_offline = false;
  bool prefer_online = false;
  bool bin_links = true;
  int fetch_retries = 2;
  double fetch_retry_factor = 10;
  std::chrono::milliseconds fetch_retry_mintimeout{10000};
  std::chrono::milliseconds fetch_retry_maxtimeout{60000};
  std::chrono::milliseconds fetch_timeout{5 * 60 * 1000};
  int maxsockets = 15;
  /// The User-Agent header, placeholders already substituted.
  std::string user_agent;
  /// npm's `npm-version`: the version of the npm on PATH (empty when there is none). npm
  /// avoids versions whose engines.npm it does not satisfy, so lade answers as that npm would.
  std::string npm_version;
  /// npm's bundled node-gyp.js, which scripts run for `node-gyp` (npm's run-script passes it
  /// whatever the `node-gyp` setting says), and the folder of npm's `node-gyp` shim that scripts
  /// find on PATH after the node_modules/.bin folders. Empty without npm.
  fs::path node_gyp;
  fs::path node_gyp_bin;

  // Files
  fs::path cache;       // npm's `cache` (default ~/.npm)
  fs::path lade_cache;  // lade's own cache: <cache>/_lade (packuments-v1/, ...)
  fs::path userconfig;
  fs::path globalconfig;
};

/// Credentials for one URL, from the nerf-darted settings that match it.
struct Credentials {
  /// The matching settings prefix, e.g. "//registry.example/npm/"; empty when none matched.
  std::string reg_key;
  std::string token;  // `:_authToken`   -> Authorization: Bearer <token>
  std::string basic;  // `:_auth`, or `:username` + `:_password` -> Authorization: Basic <basic>
  fs::path certfile;  // `:certfile` + `:keyfile`: a client certificate
  fs::path keyfile;

  bool empty() const { return token.empty() && basic.empty() && certfile.empty(); }
  /// The Authorization header value ("Bearer ..." / "Basic ..."), or empty.
  std::string authorization() const;
};

class Config {
 public:
  /// Reads every layer. Errors: ERR_INVALID_AUTH when a config file still has npm's retired
  /// un-scoped auth settings (`_authToken`, `_auth`, `username`/`_password` without a
  /// `//host/:` prefix) — npm refuses to run with those too.
  static util::Result<Config> load(ConfigInputs inputs);

  const Settings& settings() const { return settings_; }
  /// Names node ("v20.1.0") in the user agent, for a version learned after loading: finding it
  /// may take running node, and where the answer is remembered is itself a setting (`cache`).
  void set_node_version(std::string_view node_version);

  /// `registry` with '/' at the end. When no layer sets it: npm's own answer to
  /// `npm config get registry`, remembered in <lade_cache>/npm-default-registry for 24 hours.
  /// Error ENOREGISTRY when that fails too. Thread-safe; npm runs at most once per Config.
  util::Result<std::string> default_registry() const;

  /// The registry for a package name: `@scope:registry` for scoped names when set, else the
  /// default registry. Always ends in '/'.
  util::Result<std::string> registry_for(std::string_view package_name) const;

  /// npm's getAuth without a registry context: the longest nerf dart ("//host[:port]/path/")
  /// prefix of `url` that has credentials.
  Credentials auth_for(std::string_view url) const;
  /// With the registry the request belongs to: when nothing matches `url` itself but it is on the
  /// same host as `registry` (a tarball path outside the registry path), the registry's
  /// credentials apply, as in npm-registry-fetch.
  Credentials auth_for(std::string_view url, std::string_view registry) const;

  /// The raw value of a key from the highest layer that sets it (lists joined with "\n\n").
  /// For keys lade has no typed field for; prefer settings().
  std::optional<std::string> get(std::string_view key) const;

  /// Settings that were ignored, one sentence each ("invalid config fetch-retries=abc set in
  /// /home/x/.npmrc"); the CLI prints them as npm prints its warnings.
  const std::vector<std::string>& warnings() const { return warnings_; }

  /// One loaded layer, highest precedence first in layers().
  struct Layer {
    std::string name;    // cli | env | project | user | global | builtin
    std::string source;  // file path, "environment" or "command line"
    std::map<std::string, std::vector<std::string>, std::less<>> values;
  };
  const std::vector<Layer>& layers() const { return layers_; }

 private:
  struct RegistryFallback;
  Config() = default;

  const std::vector<std::string>* find(std::string_view key) const;
  std::string find_string(std::string_view key) const;
  Credentials credentials_for_key(const std::string& reg_key) const;
  util::Result<std::string> ask_npm_for_registry() const;

  std::vector<Layer> layers_;
  Settings settings_;
  std::vector<std::string> warnings_;
  Environment env_;
  fs::path project_dir_;
  CommandRunner run_command_;
  std::function<std::chrono::system_clock::time_point()> now_;
  std::shared_ptr<RegistryFallback> fallback_;
  std::optional<std::string> user_agent_setting_;  // npm's user-agent, when a layer sets it
  std::string lade_version_;
};

}  // namespace lade::registry
