// lade's entry point: parses the command line and hands a plain InstallRequest to the install
// pipeline. Exit codes: 0 success, 1 an install error (npm's), 2 a usage error.
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli/install_command.h"
#include "cli/npm_args.h"
#include "cli/reporter.h"
#include "manifest/spec.h"

namespace {

void add_common_flags(CLI::App& app, lade::cli::InstallRequest& req, std::string& omit_resolved) {
  app.add_option("--registry", req.registry, "Registry base URL");
  app.add_option("--prefix", req.prefix, "Project folder (default: nearest folder with package.json)");
  // Values npm does not know are dropped with a warning (see drop_invalid), as npm does.
  // One value per flag (npm's [String, Array] options): `--omit dev pkg` adds pkg.
  app.add_option("--omit", req.omit, "Leave out dependency types: dev, optional, peer")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--include", req.include, "Include dependency types despite --omit")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  // Checked with the other settings: another value is warned about and ignored, as by npm.
  app.add_option("--lockfile-version", req.lockfile_version, "1, 2 or 3 (default: 3, or the lockfile's own 2)");
  app.add_flag_callback("--production",
                        [&req] {
                          req.production = true;
                          req.flag_warnings.push_back("config production Use `--omit=dev` instead.");
                        },
                        "Same as --omit=dev");
  app.add_flag("--ignore-scripts", req.ignore_scripts, "Do not run lifecycle scripts");
  app.add_flag("--package-lock-only", req.package_lock_only,
               "Only update package-lock.json; do not touch node_modules");
  app.add_flag("--legacy-peer-deps", req.legacy_peer_deps, "Ignore peerDependencies, as npm 6 did");
  app.add_flag("--strict-peer-deps", req.strict_peer_deps, "Treat peer conflicts as errors");
  app.add_option("--install-strategy", req.install_strategy,
                 "hoisted (default), nested (no hoisting) or shallow (only direct dependencies at the top)")
      ->check(CLI::IsMember({"hoisted", "nested", "shallow", "linked"}));
  app.add_flag_callback("--global-style", [&req] { req.install_strategy = "shallow"; },
                        "Same as --install-strategy=shallow");
  app.add_flag_callback("--legacy-bundling", [&req] { req.install_strategy = "nested"; },
                        "Same as --install-strategy=nested");
  app.add_flag("--prefer-dedupe", req.prefer_dedupe, "Reuse a version already in the tree where it fits");
  app.add_flag("-f,--force", req.force, "Accept peer conflicts and unsupported engines/platforms");
  app.add_flag("--engine-strict", req.engine_strict, "Refuse packages whose engines exclude this node");
  app.add_flag("--prefer-offline", req.prefer_offline, "Use cached metadata without revalidating");
  app.add_flag("--offline", req.offline, "Use only cached metadata and tarballs");
  app.add_flag("--timing", req.timing, "Print where the time went");
  app.add_flag("--json", req.json, "Print the result as JSON");
  app.add_flag("--prefer-online", req.prefer_online, "Revalidate cached metadata, however fresh");
  app.add_flag("--dry-run", req.dry_run, "Resolve and report, but write nothing");
  app.add_flag("-l,--long", req.long_listing, "List every package added, changed and removed");
  app.add_flag("--bin-links,!--no-bin-links", req.bin_links, "Link packages' bins into node_modules/.bin");
  app.add_flag("--package-lock{true},--no-package-lock{false}", req.package_lock,
               "Read and write package-lock.json (--no-package-lock: neither)");
  // npm's older spellings of --omit and --include, with npm's words about them.
  app.add_flag_callback("--no-optional",
                        [&req] {
                          req.omit.push_back("optional");
                          req.flag_warnings.push_back(
                              "config optional Use `--omit=optional` to exclude optional dependencies, or\n"
                              "config `--include=optional` to include them.\nconfig\n"
                              "config       Default value does install optional deps unless otherwise omitted.");
                        },
                        "Same as --omit=optional");
  app.add_option_function<std::string>(
      "--only",
      [&req](const std::string& v) {
        if (v == "prod" || v == "production") {
          req.omit.push_back("dev");
          req.flag_warnings.push_back("config only Use `--omit=dev` to omit dev dependencies from the install.");
        } else {
          req.flag_warnings.push_back("invalid config only=\"" + v +
                                      "\" set in command line options\ninvalid config Must be one of: null, "
                                      "prod, production");
        }
      },
      "prod or production: same as --omit=dev");
  app.add_option_function<std::string>(
      "--also",
      [&req](const std::string& v) {
        if (v == "dev" || v == "development") {
          req.include.push_back("dev");
          req.flag_warnings.push_back("config also Please use --include=dev instead.");
        } else {
          req.flag_warnings.push_back("invalid config also=\"" + v +
                                      "\" set in command line options\ninvalid config Must be one of: null, dev, "
                                      "development");
        }
      },
      "dev or development: same as --include=dev");
  // npm options about its own output, audits and updates: accepted, nothing to change here.
  for (const char* name : {"audit", "fund", "progress", "update-notifier", "unsafe-perm",
                           "foreground-scripts", "yes"}) {
    app.add_flag(std::string("--") + name + ",!--no-" + name, req.npm_compat_ignored,
                 "Accepted for npm compatibility");
  }
  app.add_flag("--color{true},!--no-color", req.color, "Accepted for npm compatibility");
  app.add_flag("-y", req.npm_compat_ignored, "Accepted for npm compatibility (--yes)");
  app.add_option("--loglevel", req.loglevel, "silent, error, warn, notice, http, info, verbose, silly");
  app.add_flag_callback("-q,--quiet", [&req] { req.loglevel = "warn"; }, "Same as --loglevel=warn");
  app.add_flag_callback("-d,--verbose", [&req] { req.loglevel = "verbose"; },
                        "Same as --loglevel=verbose");
  app.add_flag("-s,--silent", req.silent, "Print nothing, errors included (the exit status tells)");
  app.add_option("--cache", req.cache_dir, "lade's cache folder (default $LADE_CACHE_DIR)");
  app.add_option("--link-mode", req.link_mode, "auto, reflink, hardlink or copy");
  app.add_flag("--omit-lockfile-registry-resolved{true},--no-omit-lockfile-registry-resolved{false}",
               omit_resolved, "Leave registry tarball URLs out of package-lock.json");
  // One value per -w, as npm's [String, Array] option: `-w a pkg` adds pkg to workspace a.
  app.add_option("-w,--workspace", req.workspaces, "Only this workspace (name or folder); repeatable")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("--workspaces", req.all_workspaces, "Every workspace (not the root unless asked)");
  app.add_flag("--include-workspace-root", req.include_workspace_root,
               "With -w or --workspaces: the root's own dependencies too");
}

/// npm only warns about a value its list options do not know, and goes on without it.
void drop_invalid(std::vector<std::string>& values, const char* key,
                  std::initializer_list<const char*> allowed) {
  std::erase_if(values, [&](const std::string& v) {
    for (const char* a : allowed) {
      if (v == a) return false;
    }
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
    std::fprintf(stderr, "lade warn: invalid config %s=\"%s\" set in command line options; must be "
                 "one or more of: %s\n", key, v.c_str(), list.c_str());
    return true;
  });
}

void raise_open_file_limit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  // An unlimited hard limit still stops at the kernel's nr_open (1048576 by default).
  limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : limit.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

/// Grows the process's file table to `slots` now, while the process has a single thread.
///
/// The kernel grows the table by doubling as higher descriptors are opened, and in a process
/// with threads each growth first waits for an RCU grace period (expand_fdtable ->
/// synchronize_rcu), which took 6-16 ms each time here. A warm-cache install keeps a file open
/// for every packument it reads (see registry/packument_cache.h), so its table grew from the
/// default 64 slots while resolution ran, on the resolver's thread: a warm install of the
/// small benchmark fixture resolved in 5 ms, or in 15-30 ms whenever its parent process had
/// handed it the default table (as GNU time does). Growing it here costs one allocation.
void presize_file_table(int slots) {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < static_cast<rlim_t>(slots)) {
    slots = static_cast<int>(limit.rlim_cur);
  }
  int base = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (base < 0) return;
  const int top = ::fcntl(base, F_DUPFD_CLOEXEC, slots - 1);
  if (top >= 0) ::close(top);
  ::close(base);
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives each thread that allocates its own arena, and memory freed in one is kept for
  // it. lade's threads (network, metadata, file pool) pass big buffers between them, so freed
  // documents and tarballs piled up in arenas nobody reused: peak RSS of a clean install of the
  // medium benchmark fixture 199-201 MB with the default, 151-176 MB with two arenas, at the
  // same speed. (Not above the user's own MALLOC_ARENA_MAX: mallopt runs after the
  // environment is read, so an explicit setting is honoured by skipping this.)
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
  // Blocks above 256 KiB (packument bodies, tarballs in flight) mapped, and given back when
  // freed. glibc's default threshold follows the largest block freed so far (up to 32 MiB):
  // after the first big packument, those buffers came from the arenas and stayed there. Peak
  // RSS of a clean install of the medium benchmark fixture, four alternating runs each:
  // 145-162 MB -> 124-144 MB. (Again not over the user's own setting.)
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_") && !(tunables && std::strstr(tunables, "mmap_threshold"))) {
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  }
  // A fixed mmap threshold also fixes the trim threshold at 128 KiB: an arena gave back the
  // free top of its heap whenever it passed that, and the next transfer's buffers (curl takes
  // about 200 KiB per transfer) touched fresh pages again. A page fault costs tens of
  // microseconds on some virtual machines. Clean install of the medium benchmark fixture, two
  // runs each: 69,000-78,000 -> 52,000-55,000 page faults, the same peak RSS within its noise.
  if (!std::getenv("MALLOC_TRIM_THRESHOLD_") && !(tunables && std::strstr(tunables, "trim_threshold"))) {
    mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
  }
  // As node does at startup: the soft limit on open files raised to the hard limit. A warm
  // cache keeps each packument's file open and reads versions from it only when picked (see
  // registry/packument_cache.h); a project reads a thousand and more.
  raise_open_file_limit();
  presize_file_table(4096);
  CLI::App app{"lade: a fast package manager for JavaScript, compatible with npm", "lade"};
  app.set_version_flag("-v,--version", LADE_VERSION, "Print lade's version");
  app.require_subcommand(0, 1);
  app.fallthrough(false);

  lade::cli::InstallRequest req;
  req.argv0 = argv[0];
  // --omit-lockfile-registry-resolved[=bool]: unset unless given.
  std::string omit_resolved;

  auto* install = app.add_subcommand("install", "Install dependencies (with specs: add them)");
  install->alias("i");
  install->alias("add");
  install->add_option("specs", req.specs, "Packages to add: name, name@range, name@tag, npm:alias...");
  install->add_flag("-D,--save-dev", req.save_dev, "Save to devDependencies");
  install->add_flag("-O,--save-optional", req.save_optional, "Save to optionalDependencies");
  install->add_flag("-P,--save-prod", req.save_prod, "Save to dependencies");
  install->add_flag("--save-peer", req.save_peer, "Save to peerDependencies");
  install->add_flag("-E,--save-exact", req.save_exact, "Save the exact version instead of a ^range");
  install->add_flag("-B,--save-bundle", req.save_bundle, "Also list the added packages in bundleDependencies");
  install->add_flag("--save,!--no-save", req.save, "Write package.json and package-lock.json (default)");

  auto* uninstall = app.add_subcommand("uninstall", "Remove packages from package.json and node_modules");
  for (const char* alias : {"remove", "rm", "r", "un", "unlink"}) uninstall->alias(alias);
  uninstall->add_option("names", req.remove, "Packages to remove, by name");
  // npm accepts the save-type flags here too; they change nothing.
  for (const char* flag : {"-D,--save-dev", "-O,--save-optional", "-P,--save-prod", "--save-peer",
                           "-E,--save-exact", "-B,--save-bundle"}) {
    uninstall->add_flag(flag, req.npm_compat_ignored, "Accepted for npm compatibility");
  }
  uninstall->add_flag("--save,!--no-save", req.save, "Write package.json and package-lock.json (default)");

  auto* update = app.add_subcommand("update", "Update packages to the newest versions their ranges allow");
  for (const char* alias : {"up", "upgrade", "udpate"}) update->alias(alias);
  update->add_option("names", req.update_names, "Packages to update, by name (none: all)");
  bool update_save = false;
  auto* update_save_flag =
      update->add_flag("--save,!--no-save", update_save, "Also write the new versions into package.json");
  update->add_flag("-E,--save-exact", req.save_exact, "With --save: the exact versions, not ^ranges");
  for (const char* flag : {"-D,--save-dev", "-O,--save-optional", "-P,--save-prod"}) {
    update->add_flag(flag, req.npm_compat_ignored, "Accepted for npm compatibility");
  }

  auto* ci = app.add_subcommand("ci", "Clean install exactly what package-lock.json says");
  ci->alias("clean-install");
  ci->allow_extras();  // npm ci installs the lockfile whatever else is named

  // npm's command line as nopt reads it (see cli/npm_args.h); the parser then sees the command
  // first. Settings such as --save-prefix and --fetch-retries go to the config layers.
  lade::cli::NpmArgs npm_args = lade::cli::normalize_npm_args(std::vector<std::string>(argv + 1, argv + argc));
  for (const auto& w : npm_args.warnings) std::fprintf(stderr, "lade warn: %s\n", w.c_str());
  if (npm_args.error) {
    std::fprintf(stderr, "lade: EUSAGE %s\n", npm_args.error->c_str());
    return 1;  // npm's status for usage errors
  }
  // The shared flags go to the command being run only: CLI11 checks each new option against
  // every one before it, and building all four commands' flags was a quarter of the
  // instructions of an up-to-date install (callgrind: 5.3 of 21.9 million).
  for (CLI::App* command : {install, uninstall, update, ci}) {
    if (!npm_args.argv.empty() && command->check_name(npm_args.argv.front())) {
      add_common_flags(*command, req, omit_resolved);
    }
  }
  req.cli_settings = std::move(npm_args.settings);
  try {
    std::vector<std::string> reversed(npm_args.argv.rbegin(), npm_args.argv.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "lade: EUSAGE %s\nRun 'lade --help' for usage.\n", e.what());
    return 1;
  }

  if (!omit_resolved.empty()) {
    req.omit_lockfile_registry_resolved = omit_resolved != "false" && omit_resolved != "0";
  }
  drop_invalid(req.omit, "omit", {"dev", "optional", "peer"});
  drop_invalid(req.include, "include", {"prod", "dev", "optional", "peer"});
  if (req.dry_run) {
    // Resolution only, and nothing written: not package.json, not the lockfile.
    req.package_lock_only = true;
    req.save = false;
  }
  if (install->parsed()) {
    req.command = lade::cli::Command::Install;
  } else if (uninstall->parsed()) {
    if (req.remove.empty()) {
      std::fprintf(stderr, "lade: EUSAGE Must provide a package name to remove\n");
      return 1;
    }
    req.command = lade::cli::Command::Install;
  } else if (update->parsed()) {
    for (const std::string& name : req.update_names) {
      // As npm: only bare names ("lodash", "@s/x"), no ranges, tags or other specs.
      auto spec = lade::manifest::parse_spec(name);
      if (!spec || spec->name != name) {
        std::fprintf(stderr, "lade: EUPDATEARGS Update arguments must only contain package names, eg:\n"
                             "    lade update %s\n", spec ? spec->name.c_str() : name.c_str());
        return 1;
      }
    }
    req.update = true;
    // npm's update leaves package.json alone unless --save is given.
    req.update_save = update_save_flag->count() > 0 && update_save && !req.dry_run;
    req.save = req.update_save;
    req.command = lade::cli::Command::Install;
  } else if (ci->parsed()) {
    req.command = lade::cli::Command::Ci;
  } else {
    std::cout << app.help();
    return 0;
  }
  return lade::cli::run_install(req);
}
