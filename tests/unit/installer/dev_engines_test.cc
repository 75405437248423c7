#include "installer/dev_engines.h"

#include <catch2/catch.hpp>

namespace lade::installer {
namespace {

manifest::Json json(const char* text) { return manifest::parse_json(text, "test").value(); }

DevEnginesEnv here() {
  DevEnginesEnv env;
  env.node_version = "v20.11.0";
  env.npm_version = "11.6.2";
  env.os_version = "6.1.0";
  return env;
}

TEST_CASE("devEngines: matching entries pass, any one of a list is enough", "[installer][devengines]") {
  std::vector<std::string> warnings;
  CHECK(check_dev_engines(json(R"({"runtime": {"name": "node", "version": ">=18"},
                                   "packageManager": [{"name": "pnpm"}, {"name": "npm", "version": "11.x"}],
                                   "os": {"name": "linux"}, "cpu": {"name": "x64"}, "libc": {"name": "glibc"}})"),
                          here(), false, warnings)
            .ok());
  CHECK(warnings.empty());
}

TEST_CASE("devEngines: onFail decides between an error, a warning and nothing", "[installer][devengines]") {
  std::vector<std::string> warnings;
  auto st = check_dev_engines(json(R"({"runtime": {"name": "node", "version": "^22"}})"), here(), false, warnings);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == "EBADDEVENGINES");
  CHECK(st.error().message.find("Invalid semver version \"^22\" does not match \"v20.11.0\" for \"runtime\"") !=
        std::string::npos);
  CHECK(check_dev_engines(json(R"({"os": {"name": "darwin", "onFail": "warn"}})"), here(), false, warnings).ok());
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("Invalid name \"darwin\" does not match \"linux\" for \"os\"") != std::string::npos);
  CHECK(check_dev_engines(json(R"({"cpu": {"name": "arm64", "onFail": "ignore"}})"), here(), false, warnings).ok());
  CHECK(warnings.size() == 1);
  // A version that is no range must equal the current one exactly.
  CHECK_FALSE(check_dev_engines(json(R"({"os": {"name": "linux", "version": "5.x-custom"}})"), here(), false, warnings)
                  .ok());
  // --force: errors become warnings.
  CHECK(check_dev_engines(json(R"({"runtime": {"name": "deno"}})"), here(), true, warnings).ok());
  CHECK(warnings.size() == 2);
}

TEST_CASE("devEngines: what npm cannot read fails", "[installer][devengines]") {
  std::vector<std::string> warnings;
  CHECK_FALSE(check_dev_engines(json(R"({"browser": {"name": "x"}})"), here(), false, warnings).ok());
  CHECK_FALSE(check_dev_engines(json(R"({"runtime": {"version": "20"}})"), here(), false, warnings).ok());
  CHECK_FALSE(check_dev_engines(json(R"({"runtime": {"name": "node", "onFail": "explode"}})"), here(), false, warnings)
                  .ok());
  CHECK_FALSE(check_dev_engines(json(R"([1])"), here(), false, warnings).ok());
  CHECK(check_dev_engines(json(R"({"runtime": []})"), here(), false, warnings).ok());
}

}  // namespace
}  // namespace lade::installer
