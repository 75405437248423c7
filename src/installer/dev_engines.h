#pragma once
// package.json's devEngines, checked as npm checks it before install and ci
// (npm-install-checks' checkDevEngines): the runtime, package manager, os, cpu and libc the
// project's developers ask for.
#include <string>
#include <vector>

#include "manifest/manifest.h"
#include "util/result.h"

namespace lade::installer {

/// What this machine is, in devEngines' terms (npm's currentEnv.devEngines).
struct DevEnginesEnv {
  std::string node_version;  // "v20.1.0"
  std::string npm_version;   // the npm lade answers as; empty when unknown
  std::string os = "linux";
  std::string os_version;    // uname's release
  std::string cpu = "x64";
  std::string libc = "glibc";
};

/// EBADDEVENGINES for an engine none of whose entries match, when its last entry's onFail is
/// "error" (the default) or "download"; "warn" ones go to `warnings` instead, and so do errors
/// under `force`. A devEngines npm cannot read fails the same way.
util::Status check_dev_engines(const manifest::Json& dev_engines, const DevEnginesEnv& current, bool force,
                               std::vector<std::string>& warnings);

}  // namespace lade::installer
