#include "registry/npmrc.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "util/fs.h"
#include "util/hash.h"

namespace lade::registry {
namespace {

/// A whole machine in a temp dir: home, project, node prefix. Nothing of the real machine leaks
/// in: the environment is explicit and no command runs unless a test provides a runner.
struct Machine {
  util::TempDir root = util::TempDir::create().value();
  fs::path home = root.path() / "home";
  fs::path project = root.path() / "project";
  fs::path prefix = root.path() / "prefix";

  Machine() {
    fs::create_directories(home);
    fs::create_directories(project);
    fs::create_directories(prefix / "etc");
  }

  void write(const fs::path& path, std::string_view text) {
    REQUIRE(util::write_file_atomic(path, text).ok());
  }

  ConfigInputs inputs() const {
    ConfigInputs in;
    in.env = {{"HOME", home.string()}};
    in.project_dir = project;
    in.node.global_prefix = prefix;
    return in;
  }
};

Config load(const ConfigInputs& in) {
  auto config = Config::load(in);
  INFO((config.ok() ? std::string() : config.error().message));
  REQUIRE(config.ok());
  return std::move(config).value();
}

TEST_CASE("config: defaults match npm's", "[registry][npmrc]") {
  Machine m;
  Config c = load(m.inputs());
  const Settings& s = c.settings();
  CHECK(s.registry.empty());
  CHECK(s.strict_ssl);
  CHECK(s.save_prefix == "^");
  CHECK(s.package_lock);
  CHECK_FALSE(s.lockfile_version);
  CHECK(s.audit);
  CHECK(s.fund);
  CHECK(s.install_strategy == "hoisted");
  CHECK(s.omit.empty());
  CHECK(s.fetch_retries == 2);
  CHECK(s.fetch_retry_factor == 10);
  CHECK(s.fetch_retry_mintimeout == std::chrono::milliseconds(10000));
  CHECK(s.fetch_retry_maxtimeout == std::chrono::milliseconds(60000));
  CHECK(s.fetch_timeout == std::chrono::milliseconds(300000));
  CHECK(s.maxsockets == 15);
  CHECK(s.cache == m.home / ".npm");
  CHECK(s.lade_cache == m.home / ".npm" / "_lade");
  CHECK(s.userconfig == m.home / ".npmrc");
  CHECK(s.globalconfig == m.prefix / "etc" / "npmrc");
  CHECK(c.warnings().empty());
}

TEST_CASE("config: each layer overrides the ones below it", "[registry][npmrc]") {
  Machine m;
  fs::path builtin = m.root.path() / "npm" / "npmrc";
  m.write(builtin, "fetch-retries=1\nmaxsockets=1\n");
  m.write(m.prefix / "etc" / "npmrc", "fetch-retries=2\nmaxsockets=2\nfund=false\n");
  m.write(m.home / ".npmrc", "fetch-retries=3\nmaxsockets=3\n");
  m.write(m.project / ".npmrc", "fetch-retries=4\naudit=false\n");
  ConfigInputs in = m.inputs();
  in.node.npm_builtin_rc = builtin;

  SECTION("files: project > user > global > builtin") {
    Config c = load(in);
    CHECK(c.settings().fetch_retries == 4);
    CHECK(c.settings().maxsockets == 3);
    CHECK_FALSE(c.settings().fund);
    CHECK_FALSE(c.settings().audit);
  }
  SECTION("env > files") {
    in.env["npm_config_fetch_retries"] = "5";
    CHECK(load(in).settings().fetch_retries == 5);
  }
  SECTION("cli > env") {
    in.env["npm_config_fetch_retries"] = "5";
    in.cli = {{"fetch-retries", "6"}};
    CHECK(load(in).settings().fetch_retries == 6);
  }
  SECTION("the builtin file is the lowest file layer") {
    fs::remove(m.prefix / "etc" / "npmrc");
    fs::remove(m.home / ".npmrc");
    CHECK(load(in).settings().maxsockets == 1);
  }
}

TEST_CASE("config: npm_config_* names are case-insensitive, '_' means '-'", "[registry][npmrc]") {
  Machine m;
  ConfigInputs in = m.inputs();
  in.env["NPM_CONFIG_FETCH_RETRY_MINTIMEOUT"] = "25";
  in.env["npm_config_Strict_SSL"] = "false";
  in.env["npm_config_@myscope:registry"] = "http://127.0.0.1:4874";
  in.env["npm_config_//127.0.0.1:4874/:_authToken"] = "env-token";
  in.env["npm_config_save_exact"] = "";  // empty values are skipped, as npm does
  Config c = load(in);
  CHECK(c.settings().fetch_retry_mintimeout == std::chrono::milliseconds(25));
  CHECK_FALSE(c.settings().strict_ssl);
  CHECK_FALSE(c.settings().save_exact);
  auto reg = c.registry_for("@myscope/pkg");
  REQUIRE(reg.ok());
  CHECK(*reg == "http://127.0.0.1:4874/");
  CHECK(c.auth_for("http://127.0.0.1:4874/@myscope%2fpkg").token == "env-token");
}

TEST_CASE("config: userconfig and globalconfig can be moved", "[registry][npmrc]") {
  Machine m;
  fs::path alt_user = m.root.path() / "alt-user-rc";
  fs::path alt_global = m.root.path() / "alt-global-rc";
  m.write(alt_user, "maxsockets=7\nglobalconfig=" + alt_global.string() + "\n");
  m.write(alt_global, "fetch-retries=9\n");
  m.write(m.home / ".npmrc", "maxsockets=3\n");
  ConfigInputs in = m.inputs();

  SECTION("userconfig from the environment; globalconfig from the user config") {
    in.env["npm_config_userconfig"] = alt_user.string();
    Config c = load(in);
    CHECK(c.settings().userconfig == alt_user);
    CHECK(c.settings().maxsockets == 7);
    CHECK(c.settings().globalconfig == alt_global);
    CHECK(c.settings().fetch_retries == 9);
  }
  SECTION("globalconfig follows `prefix`, then $PREFIX, then node's prefix") {
    fs::path p2 = m.root.path() / "p2";
    m.write(p2 / "etc" / "npmrc", "fetch-retries=0\n");
    in.cli = {{"prefix", p2.string()}};
    CHECK(load(in).settings().globalconfig == p2 / "etc" / "npmrc");
    CHECK(load(in).settings().fetch_retries == 0);
    in.cli.clear();
    in.env["PREFIX"] = p2.string();
    CHECK(load(in).settings().globalconfig == p2 / "etc" / "npmrc");
  }
  SECTION("without node on PATH, npm is asked for its globalconfig") {
    in.node.global_prefix.clear();
    int runs = 0;
    in.run_command = [&](const std::vector<std::string>& argv,
                         const fs::path&) -> util::Result<std::string> {
      ++runs;
      CHECK(argv == std::vector<std::string>{"npm", "config", "get", "globalconfig"});
      return alt_global.string() + "\n";
    };
    Config c = load(in);
    CHECK(runs == 1);
    CHECK(c.settings().globalconfig == alt_global);
  }
}

TEST_CASE("config: a project in the home directory is not read twice", "[registry][npmrc]") {
  Machine m;
  m.write(m.home / ".npmrc", "maxsockets=3\n");
  ConfigInputs in = m.inputs();
  in.project_dir = m.home;
  Config c = load(in);
  CHECK(c.settings().maxsockets == 3);
  CHECK(c.layers()[2].name == "project");
  CHECK(c.layers()[2].values.empty());
}

TEST_CASE("config: ${VAR} expansion in keys and values, ~ in paths", "[registry][npmrc]") {
  Machine m;
  m.write(m.project / ".npmrc",
          "//127.0.0.1:${REG_PORT}/:_authToken=${NPM_TOKEN}\n"
          "cache=~/my-cache\n"
          "cafile=certs/ca.pem\n"
          "user-agent=agent/{npm-version} ${WHO?}x\n");
  ConfigInputs in = m.inputs();
  in.env["REG_PORT"] = "4873";
  in.env["NPM_TOKEN"] = "tok-123";
  in.lade_version = "9.9.9";
  Config c = load(in);
  CHECK(c.auth_for("http://127.0.0.1:4873/pkg").token == "tok-123");
  CHECK(c.settings().cache == m.home / "my-cache");
  CHECK(c.settings().lade_cache == m.home / "my-cache" / "_lade");
  CHECK(c.settings().cafile == m.project / "certs" / "ca.pem");
  CHECK(c.settings().user_agent == "agent/9.9.9 x");
}

TEST_CASE("config: the node version named in the user agent after loading", "[registry][npmrc]") {
  Machine m;
  ConfigInputs in = m.inputs();
  in.lade_version = "9.9.9";
  Config c = load(in);
  CHECK(c.settings().user_agent.starts_with("lade/9.9.9 "));
  CHECK(c.settings().user_agent.find("node/") == std::string::npos);
  c.set_node_version("v20.1.0");
  CHECK(c.settings().user_agent.starts_with("lade/9.9.9 node/v20.1.0 "));
  CHECK(c.settings().user_agent.ends_with(" workspaces/false"));

  // A user-agent setting keeps its own shape; only its placeholder is filled.
  m.write(m.home / ".npmrc", "user-agent=x/{npm-version} n={node-version}\n");
  Config set = load(in);
  set.set_node_version("v22.0.0");
  CHECK(set.settings().user_agent == "x/9.9.9 n=v22.0.0");
}

TEST_CASE("config: typed values, lists and invalid settings", "[registry][npmrc]") {
  Machine m;
  m.write(m.home / ".npmrc",
          "fetch-retries=abc\n"
          "install-strategy=sideways\n"
          "lockfile-version=3\n"
          "save-exact=true\n"
          "save-prefix=~\n"
          "ca[]=CERT-A\n"
          "ca[]=CERT-B\n"
          "strict-ssl=0\n");
  m.write(m.prefix / "etc" / "npmrc", "fetch-retries=4\ninstall-strategy=nested\n");
  ConfigInputs in = m.inputs();
  Config c = load(in);
  const Settings& s = c.settings();
  CHECK(s.fetch_retries == 4);  // the invalid user value falls through to the global one
  CHECK(s.install_strategy == "nested");
  CHECK(s.lockfile_version == 3);
  CHECK(s.save_exact);
  CHECK(s.save_prefix.empty());  // save-exact wins, as npm flattens it
  CHECK(s.ca == std::vector<std::string>{"CERT-A", "CERT-B"});
  CHECK_FALSE(s.strict_ssl);
  CHECK(c.warnings().size() == 2);

  SECTION("lists from the command line and the environment") {
    in.cli = {{"omit", "dev"}, {"omit", "peer"}, {"include", "peer"}};
    Config c2 = load(in);
    CHECK(c2.settings().omit == std::vector<std::string>{"dev"});
    in.cli.clear();
    in.env["npm_config_ca"] = "ONE\n\nTWO";
    CHECK(load(in).settings().ca == std::vector<std::string>{"ONE", "TWO"});
  }
  SECTION("NODE_ENV=production omits dev unless included") {
    in.env["NODE_ENV"] = "production";
    CHECK(load(in).settings().omit == std::vector<std::string>{"dev"});
    in.cli = {{"include", "dev"}};
    CHECK(load(in).settings().omit.empty());
  }
}

TEST_CASE("config: registry URLs always end in '/'", "[registry][npmrc]") {
  Machine m;
  m.write(m.project / ".npmrc",
          "registry=http://127.0.0.1:4873/npm\n"
          "@scoped:registry=http://127.0.0.1:4874/x\n");
  Config c = load(m.inputs());
  CHECK(c.settings().registry == "http://127.0.0.1:4873/npm/");
  CHECK(c.registry_for("plain").value() == "http://127.0.0.1:4873/npm/");
  CHECK(c.registry_for("@scoped/pkg").value() == "http://127.0.0.1:4874/x/");
  CHECK(c.registry_for("@other/pkg").value() == "http://127.0.0.1:4873/npm/");
}

TEST_CASE("config: without a registry setting, npm's default is asked for once and cached",
          "[registry][npmrc]") {
  Machine m;
  ConfigInputs in = m.inputs();
  int runs = 0;
  std::string answer = "http://127.0.0.1:4999\n";
  in.run_command = [&](const std::vector<std::string>& argv,
                       const fs::path& cwd) -> util::Result<std::string> {
    ++runs;
    CHECK(argv == std::vector<std::string>{"npm", "config", "get", "registry"});
    CHECK(cwd == m.project);
    return answer;
  };
  auto t0 = std::chrono::system_clock::now();
  in.now = [&] { return t0; };

  Config first = load(in);
  CHECK(runs == 0);  // lazily: loading alone never runs npm
  CHECK(first.default_registry().value() == "http://127.0.0.1:4999/");
  CHECK(first.registry_for("x").value() == "http://127.0.0.1:4999/");
  CHECK(runs == 1);
  CHECK(fs::exists(first.settings().lade_cache / "npm-default-registry"));

  Config second = load(in);
  CHECK(second.default_registry().value() == "http://127.0.0.1:4999/");
  CHECK(runs == 1);  // answered from the cache file

  in.now = [&] { return t0 + std::chrono::hours(25); };
  answer = "http://127.0.0.1:5000/";
  Config later = load(in);
  CHECK(later.default_registry().value() == "http://127.0.0.1:5000/");
  CHECK(runs == 2);

  // Written "after" a clock read just before is fine (above, the frozen t0 precedes the file);
  // a file hours in the future means the clock was set back: npm is asked again.
  in.now = [&] { return t0 - std::chrono::hours(2); };
  Config earlier = load(in);
  CHECK(earlier.default_registry().value() == "http://127.0.0.1:5000/");
  CHECK(runs == 3);
}

TEST_CASE("config: no registry anywhere is ENOREGISTRY with a hint", "[registry][npmrc]") {
  Machine m;
  ConfigInputs in = m.inputs();
  SECTION("no way to ask npm") {
    auto r = load(in).default_registry();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "ENOREGISTRY");
    CHECK_THAT(r.error().message, Catch::Contains("--registry <url>"));
  }
  SECTION("npm fails") {
    in.run_command = [](const std::vector<std::string>&,
                        const fs::path&) -> util::Result<std::string> {
      return util::make_error("ECOMMAND", "cannot run npm: No such file or directory");
    };
    auto r = load(in).registry_for("pkg");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "ENOREGISTRY");
    CHECK_THAT(r.error().message, Catch::Contains("registry=<url>"));
  }
}

TEST_CASE("config: un-scoped auth in a config file is refused like npm does", "[registry][npmrc]") {
  Machine m;
  m.write(m.home / ".npmrc", "registry=http://127.0.0.1:4873/\n_authToken=abc\n");
  auto c = Config::load(m.inputs());
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code == "ERR_INVALID_AUTH");
  CHECK_THAT(c.error().message,
             Catch::Contains("`_authToken` must be renamed to `//127.0.0.1:4873/:_authToken` in "
                             "user config"));
}

TEST_CASE("auth_for: tokens go only where they are configured", "[registry][npmrc][auth]") {
  Machine m;
  std::string password_b64 = util::base64_encode("pa:ss");
  m.write(m.project / ".npmrc",
          "registry=http://127.0.0.1:4873/\n"
          "//127.0.0.1:4873/:_authToken=root-token\n"
          "//127.0.0.1:4873/private/:_authToken=private-token\n"
          "//127.0.0.1:4875/basic:_auth=dXNlcjpwdw==\n"
          "//127.0.0.1:4876/:username=alice\n"
          "//127.0.0.1:4876/:_password=" +
              password_b64 +
              "\n"
              "//127.0.0.1:4877/npm/:_authToken=npm-path-token\n");
  Config c = load(m.inputs());

  SECTION("the longest matching prefix wins") {
    CHECK(c.auth_for("http://127.0.0.1:4873/pkg").token == "root-token");
    CHECK(c.auth_for("http://127.0.0.1:4873/private/pkg").token == "private-token");
    CHECK(c.auth_for("http://127.0.0.1:4873/private/pkg").reg_key == "//127.0.0.1:4873/private/");
    CHECK(c.auth_for("http://127.0.0.1:4873/privateer/pkg").token == "root-token");
    CHECK(c.auth_for("http://127.0.0.1:4873/pkg").authorization() == "Bearer root-token");
  }
  SECTION("another port or host gets nothing") {
    CHECK(c.auth_for("http://127.0.0.1:4874/pkg").empty());
    CHECK(c.auth_for("http://127.0.0.2:4873/pkg").empty());
    CHECK(c.auth_for("http://localhost:4873/pkg").empty());
  }
  SECTION("a key without trailing slash matches its path too") {
    auto cred = c.auth_for("http://127.0.0.1:4875/basic/pkg");
    CHECK(cred.basic == "dXNlcjpwdw==");
    CHECK(cred.authorization() == "Basic dXNlcjpwdw==");
    CHECK(c.auth_for("http://127.0.0.1:4875/other/pkg").empty());
  }
  SECTION("username and base64 _password make basic auth") {
    auto cred = c.auth_for("http://127.0.0.1:4876/pkg/-/pkg-1.0.0.tgz");
    CHECK(cred.basic == util::base64_encode("alice:pa:ss"));
  }
  SECTION("a tarball on the registry's host outside its path uses the registry's credentials") {
    const std::string registry = "http://127.0.0.1:4877/npm/";
    CHECK(c.auth_for("http://127.0.0.1:4877/tarballs/pkg.tgz").empty());
    CHECK(c.auth_for("http://127.0.0.1:4877/tarballs/pkg.tgz", registry).token == "npm-path-token");
    CHECK(c.auth_for("http://127.0.0.1:4878/tarballs/pkg.tgz", registry).empty());
  }
}

TEST_CASE("config: global-style and legacy-bundling set the install strategy",
          "[registry][npmrc]") {
  Machine m;
  m.write(m.home / ".npmrc", "global-style=true\n");
  CHECK(load(m.inputs()).settings().install_strategy == "shallow");
  m.write(m.home / ".npmrc", "legacy-bundling=true\ninstall-strategy=shallow\n");
  CHECK(load(m.inputs()).settings().install_strategy == "nested");
  m.write(m.home / ".npmrc", "global-style=false\ninstall-strategy=shallow\n");
  CHECK(load(m.inputs()).settings().install_strategy == "shallow");
}

TEST_CASE("config: npm-version is the version of the npm on PATH", "[registry][npmrc]") {
  Machine m;
  // As a global npm install lays itself out: <prefix>/bin/npm -> ../lib/node_modules/npm/bin/npm-cli.js
  const fs::path npm_dir = m.prefix / "lib" / "node_modules" / "npm";
  m.write(npm_dir / "bin" / "npm-cli.js", "#!/usr/bin/env node\n");
  ::chmod((npm_dir / "bin" / "npm-cli.js").c_str(), 0755);
  fs::create_directories(m.prefix / "bin");
  fs::create_symlink("../lib/node_modules/npm/bin/npm-cli.js", m.prefix / "bin" / "npm");
  Environment env = {{"PATH", (m.prefix / "bin").string()}};

  SECTION("read from npm's package.json") {
    m.write(npm_dir / "package.json", R"({"version": "11.2.3", "name": "npm", "bin": {"npm": "bin/npm-cli.js"}})");
    NodeInstall found = discover_node_install(env);
    CHECK(found.npm_builtin_rc == fs::canonical(npm_dir) / "npmrc");
    CHECK(found.npm_version == "11.2.3");
    ConfigInputs in = m.inputs();
    in.node = found;
    CHECK(load(in).settings().npm_version == "11.2.3");
  }
  SECTION("not npm's package.json: no version") {
    m.write(npm_dir / "package.json", R"({"name": "not-npm", "version": "1.0.0"})");
    CHECK(discover_node_install(env).npm_version.empty());
  }
  SECTION("no npm on PATH: no version") {
    CHECK(discover_node_install(Environment{{"PATH", m.home.string()}}).npm_version.empty());
  }
}

}  // namespace
}  // namespace lade::registry
