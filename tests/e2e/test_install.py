#!/usr/bin/env python3
"""lade install / ci: the Foundation behaviour, checked against the loopback fixture registry and,
where it applies, against npm on the same input."""

import json
import re
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

suite = h.Suite("install")
L = h.LadeConventions


def pkg_json(deps=None, dev=None, name="app", **extra):
    d = {"name": name, "version": "1.0.0"}
    if deps is not None:
        d["dependencies"] = deps
    if dev is not None:
        d["devDependencies"] = dev
    d.update(extra)
    return {"package.json": d}


def install_as_npm_does(ctx, ours, theirs, what, compare=("package-lock.json",)):
    """`install --ignore-scripts` with lade in `ours` and with npm in `theirs`: both succeed and
    leave the files `compare` byte for byte the same. Returns lade's result."""
    r = ctx.lade(L.install + ["--ignore-scripts"], ours)
    n = ctx.npm(["install", "--ignore-scripts"], theirs)
    h.check_exit(r, 0, what)
    h.check_exit(n, 0, "npm: " + what)
    for rel in compare:
        h.check_equal(ours.read_text(rel), theirs.read_text(rel), what + ": " + rel, r,
                      expected_name="npm", actual_name="lade")
    return r


BOTH_LOCKFILES = ("package-lock.json", "node_modules/.package-lock.json")


def summary_line(result):
    """The install's summary ("added 2 packages, and changed 1 package in "), without the time."""
    return re.search(r"^(added|changed|removed|up to date).*? in ", result.stdout, re.M).group(0)


def twin_projects(ctx, files, npmrc=None):
    """The same project twice, with `npmrc` as its .npmrc when given: (lade's, npm's)."""
    if npmrc is not None:
        files = dict(files, **{".npmrc": npmrc})
    return ctx.project(files, name="lade"), ctx.project(files, name="npm")


def ci_in_both(ctx, ours, theirs):
    """Removes node_modules from both projects, then runs `ci --ignore-scripts` with lade in
    `ours` and with npm in `theirs`. Returns (lade's result, npm's result)."""
    for proj in (ours, theirs):
        shutil.rmtree(proj.path("node_modules"))
    return ctx.lade(L.ci + ["--ignore-scripts"], ours), ctx.npm(["ci", "--ignore-scripts"], theirs)


@suite.test
def install_from_package_json(ctx):
    proj = ctx.project(pkg_json({"leaf": "^1.0.0", "bin-string": "^1.0.0", "bin-object": "^1.0.0",
                                 "@fx/scoped-bin": "^1.0.0", "@fx/scoped-a": "^1.0.0"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "lade install")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "node_modules/leaf version", r)
    h.check_equal(proj.installed_version("@fx/scoped-b"), "1.1.0", "transitive scoped dep", r)
    for b in ("bin-string", "bin-one", "bin-two", "scoped-bin"):
        h.check_executable(proj.path("node_modules", ".bin", b))
    lock = proj.lockfile()
    h.check(lock is not None, "no package-lock.json written", r)
    h.check_equal(lock.get("lockfileVersion"), 3, "lockfileVersion")
    h.check_equal(lock["packages"]["node_modules/leaf"]["version"], "1.1.0", "locked leaf")
    # npm accepts lade's lockfile as it is.
    copy = proj.copy(ctx.sandbox, "npm-ci")
    r2 = ctx.npm(["ci", "--ignore-scripts"], copy)
    h.check_exit(r2, 0, "npm ci on lade's lockfile")
    h.check_exit(ctx.npm(["ls", "--all"], copy), 0, "npm ls --all")
    h.check_equal(proj.tree(), copy.tree(), "node_modules (lade vs npm ci)",
                  expected_name="npm", actual_name="lade")
    h.check_equal(copy.read_bytes("package-lock.json"), proj.read_bytes("package-lock.json"),
                  "npm ci must leave the lockfile as lade wrote it")


@suite.test
def install_from_npm_lockfile_keeps_locked_versions(ctx):
    reg = ctx.registry
    proj = ctx.project(pkg_json({"leaf": "1.0.0", "uses-leaf-1": "^1.0.0", "shared": "1.0.0"}))
    h.check_exit(ctx.npm(["install", "--package-lock-only", "--ignore-scripts"], proj), 0,
                 "npm writes the lockfile")
    # Loosen the ranges: the lockfile still satisfies them, so its (older) versions must win.
    proj.write("package.json", pkg_json({"leaf": "^1.0.0", "uses-leaf-1": "^1.0.0",
                                         "shared": "^1.0.0"})["package.json"])
    npm_lock = proj.read_bytes("package-lock.json")
    npm_lock_json = proj.lockfile()
    reg.clear_log()
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "lade install")
    h.check_equal(proj.installed_version("leaf"), "1.0.0",
                  "leaf (locked 1.0.0, newest ^1 is 1.1.0)", r)
    h.check_equal(proj.installed_version("shared"), "1.0.0", "shared", r)
    h.check_equal(proj.lockfile()["packages"]["node_modules/leaf"],
                  npm_lock_json["packages"]["node_modules/leaf"], "lockfile entry for leaf")
    # Only the root's ranges changed in package.json; npm would rewrite just those lines.
    copy = ctx.project({"package.json": proj.read_text("package.json"),
                        "package-lock.json": npm_lock})
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], copy), 0, "npm install on the same input")
    h.check_equal(proj.read_text("package-lock.json"), copy.read_text("package-lock.json"),
                  "lockfile after install", expected_name="npm", actual_name="lade")


@suite.test
def satisfied_lockfile_needs_no_packuments(ctx):
    """A lockfile with resolved+integrity that satisfies package.json costs zero metadata
    requests (DESIGN: performance principles; npm does the same)."""
    reg = ctx.registry
    proj = ctx.project(pkg_json({"chain-a": "^1.0.0", "@fx/scoped-a": "^1.0.0"}))
    h.check_exit(ctx.npm(["install", "--package-lock-only", "--ignore-scripts",
                          "--omit-lockfile-registry-resolved=false"], proj), 0, "npm lockfile")
    reg.clear_log()
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "lade install")
    packuments = [e["path"] for e in reg.log() if e.get("kind") == "packument"]
    h.check_equal(packuments, [], "packument requests", r)
    tarballs = sorted(e["path"] for e in reg.log() if e.get("kind") == "tarball")
    h.check_equal(len(tarballs), 7, "tarball requests (%s)" % tarballs, r)


@suite.test
def ci_removes_node_modules_first(ctx):
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    h.check_exit(ctx.npm(["install", "--package-lock-only", "--ignore-scripts"], proj), 0,
                 "npm lock")
    proj.write("node_modules/stray.txt", "left over\n")
    proj.write("node_modules/extraneous-pkg/package.json",
               {"name": "extraneous-pkg", "version": "9.9.9"})
    proj.write("node_modules/leaf/package.json", {"name": "leaf", "version": "0.0.1"})
    lock_before = proj.read_bytes("package-lock.json")
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, 0, "lade ci")
    h.check_not_exists(proj.path("node_modules/stray.txt"), "ci keeps stray files")
    h.check_not_exists(proj.path("node_modules/extraneous-pkg"), "ci keeps extraneous packages")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf after ci", r)
    h.check_equal(proj.read_bytes("package-lock.json"), lock_before,
                  "ci must not touch the lockfile")


@suite.test
def ci_fails_when_lockfile_and_package_json_disagree(ctx):
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    h.check_exit(ctx.npm(["install", "--package-lock-only", "--ignore-scripts"], proj), 0,
                 "npm lock")
    proj.write("package.json", pkg_json({"leaf": "^1.0.0", "shared": "^1.0.0"})["package.json"])
    lock_before = proj.read_bytes("package-lock.json")
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, "nonzero", "lade ci with a stale lockfile")
    h.check_output_contains(r, "shared")
    h.check_output_matches(r, r"(?i)(sync|lock ?file)", "says why")
    h.check_not_exists(proj.path("node_modules/leaf"), "installed anyway")
    h.check_equal(proj.read_bytes("package-lock.json"), lock_before, "lockfile changed")
    # npm agrees.
    copy = proj.copy(ctx.sandbox, "npm-copy")
    h.check_exit(ctx.npm(["ci", "--ignore-scripts"], copy), "nonzero", "npm ci")
    # Range no longer satisfied by the locked version.
    proj.write("package.json", pkg_json({"leaf": "^2.0.0"})["package.json"])
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, "nonzero", "lade ci with a locked version outside the range")
    h.check_output_contains(r, "leaf")


@suite.test
def ci_fails_on_an_override_reference_nothing_declares_as_install_does(ctx):
    # npm ci calls whatever goes wrong while it reads the lockfile's tree a usage error (EUSAGE,
    # "can only install with an existing package-lock.json"). A `$name` override is resolved
    # later, when a dependency's spec is read: orf-user 2, placed because the locked 1 no
    # longer satisfies the root, depends on leaf with an empty spec, and the root no longer
    # declares leaf. ci fails with the message install gives.
    ours, theirs = twin_projects(ctx, pkg_json({"leaf": "^1.0.0", "orf-user": "^1.0.0"},
                                               overrides={"leaf": "$leaf"}))
    install_as_npm_does(ctx, ours, theirs, "first install")
    for proj in (ours, theirs):
        proj.write("package.json", pkg_json({"orf-user": "^2.0.0"}, overrides={"leaf": "$leaf"})["package.json"])
    r, n = ci_in_both(ctx, ours, theirs)
    h.check_exit(n, 1, "npm ci")
    h.check_output_contains(n, "Unable to resolve reference $leaf")
    h.check_exit(r, 1, "ci")
    h.check_output_contains(r, "Unable to resolve reference $leaf")
    h.check(not re.search(r"EUSAGE|can only install", r.output), "ci called it a usage error", r)


@suite.test
def ci_lists_what_the_lockfile_lacks_in_npm_order(ctx):
    # npm's validateLockfile walks the ideal tree's inventory: the lockfile's packages in its
    # order, then what resolution placed in the order it placed it (not alphabetically).
    proj = ctx.project(pkg_json({"sort-z": "1.0.0", "leaf": "1.0.0"}))
    h.check_exit(ctx.npm(["install", "--package-lock-only", "--ignore-scripts"], proj), 0, "npm lock")
    proj.write("package.json", pkg_json({"sort-z": "1.0.0", "leaf": "^2.0.0", "uses-leaf-1": "1.0.0",
                                         "chain-a": "1.0.0", "shared": "1.0.0"})["package.json"])
    copy = proj.copy(ctx.sandbox, "npm-copy")

    def mismatches(r):
        return [l for l in (r.stdout + r.stderr).replace("npm error ", "").splitlines()
                if l.startswith(("Missing:", "Invalid:"))]
    r, n = ctx.lade(L.ci, proj), ctx.npm(["ci", "--ignore-scripts"], copy)
    h.check_exit(r, "nonzero", "lade ci with a stale lockfile")
    h.check_exit(n, "nonzero", "npm ci with a stale lockfile")
    h.check(len(mismatches(n)) >= 5, "npm lists fewer mismatches than expected", n)
    h.check_equal(mismatches(r), mismatches(n), "ci's mismatch lines", expected_name="npm", actual_name="lade")


@suite.test
def ci_trusts_the_lockfiles_unmet_optional_peers_as_npm_does(ctx):
    # npm install leaves peerq-delta's dependency on peerq-cedar@latest unmet here (the optional
    # peer on peerq-cedar@2.2.2-0 keeps undoing it); npm ci, which saves nothing, does not resolve
    # that optional peer again, places peerq-cedar and then finds the lockfile lacks it.
    proj = ctx.project(pkg_json({"peerq-hazel": "0.3.0 - 2.0.0"}))
    h.check_exit(ctx.npm(["install", "--package-lock-only", "--ignore-scripts"], proj), 0, "npm lock")
    h.check("node_modules/peerq-cedar" not in proj.lockfile()["packages"], "npm's lockfile changed shape", None)
    copy = proj.copy(ctx.sandbox, "npm-copy")

    def mismatches(r):
        return [l for l in (r.stdout + r.stderr).replace("npm error ", "").splitlines()
                if l.startswith(("Missing:", "Invalid:"))]
    r, n = ctx.lade(L.ci, proj), ctx.npm(["ci", "--ignore-scripts"], copy)
    h.check_exit(n, 1, "npm ci")
    h.check_exit(r, 1, "lade ci")
    h.check_equal(mismatches(r), mismatches(n), "ci's mismatch lines", r, expected_name="npm", actual_name="lade")
    # An install keeps the lockfile as npm wrote it.
    before = proj.read_text("package-lock.json")
    h.check_exit(ctx.lade(L.install + ["--package-lock-only"], proj), 0, "install --package-lock-only")
    h.check_equal(proj.read_text("package-lock.json"), before, "package-lock.json after install")


@suite.test
def old_lockfile_installs_what_npm_6_recorded(ctx):
    # A lockfileVersion 1 from npm 6 records neither peers nor the dependencies of an optional
    # package skipped on its platform. npm 11 looks for missing edges in it before it fetches
    # the manifests it lacks, so neither ci nor the first install resolves them (ci accepts the
    # lockfile); the next install, from the version 3 it wrote, adds the peer. The metadata of
    # a file: tarball comes from the tarball; an alias is looked up under its own name, which
    # the registry does not have, so it keeps the lockfile's little (and gets no bin link).
    import base64
    import hashlib
    src = ctx.project({"package.json": {"name": "local-tool", "version": "1.0.0", "license": "MIT",
                                        "bin": {"ltool": "cli.js"}, "engines": {"node": ">=10"}},
                       "cli.js": "#!/usr/bin/env node\n"}, name="local-tool-src")
    h.check_exit(ctx.npm(["pack", "--pack-destination", ctx.sandbox.path()], src), 0, "npm pack")
    with open(ctx.sandbox.path("local-tool-1.0.0.tgz"), "rb") as f:
        tgz = f.read()

    def locked(name, version, **extra):
        doc = json.loads(ctx.registry.get("/" + name)[2])
        entry = {"version": version, "resolved": ctx.registry.tarball_url(name, version),
                 "integrity": doc["versions"][version]["dist"]["integrity"]}
        entry.update(extra)
        return entry
    alias = locked("bin-string", "1.0.0")
    alias["version"] = "npm:bin-string@1.0.0"
    lock = {"name": "app", "version": "1.0.0", "lockfileVersion": 1, "requires": True, "dependencies": {
        "bins1": alias,
        "fs-watch": dict(locked("fs-watch", "1.0.0", requires={"leaf": "^1.0.0", "watcher-mac": "^1.0.0"}),
                         dependencies={"watcher-mac": locked("watcher-mac", "1.0.0", optional=True)}),
        "leaf": locked("leaf", "1.0.0"),
        "local-tool": {"version": "file:local-tool-1.0.0.tgz",
                       "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()},
        "plugin-a": locked("plugin-a", "1.0.0")}}
    files = pkg_json({"bins1": "npm:bin-string@1.0.0", "fs-watch": "1.0.0", "plugin-a": "1.0.0",
                      "local-tool": "file:local-tool-1.0.0.tgz"})
    files["package-lock.json"] = lock
    start = ctx.project(files, name="start")
    start.write("local-tool-1.0.0.tgz", tgz)
    for steps in (["ci"], ["install", "install"]):
        ours, theirs = start.copy(ctx.sandbox, "lade-" + steps[0]), start.copy(ctx.sandbox, "npm-" + steps[0])
        for i, step in enumerate(steps):
            what = "%s %d from an old lockfile" % (step, i + 1)
            r = ctx.lade([step, "--ignore-scripts"], ours)
            h.check_exit(r, 0, what)
            h.check_exit(ctx.npm([step, "--ignore-scripts"], theirs), 0, "npm " + what)
            h.check_equal(ours.read_text("package-lock.json"), theirs.read_text("package-lock.json"),
                          "package-lock.json after " + what, r, expected_name="npm", actual_name="lade")
            h.check_equal(ours.tree(), theirs.tree(), "node_modules after " + what, r,
                          expected_name="npm", actual_name="lade")
        h.check_executable(ours.path("node_modules/.bin/ltool"))
        h.check_equal(os.path.exists(ours.path("node_modules/host")), steps[0] == "install",
                      "the unrecorded peer after " + " and ".join(steps), r)


@suite.test
def ci_without_lockfile_fails(ctx):
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, "nonzero", "lade ci without a lockfile")
    h.check_output_matches(r, r"(?i)(package-lock\.json|lockfile|shrinkwrap)", "names the lockfile")
    h.check_not_exists(proj.path("package-lock.json"), "ci wrote a lockfile")


@suite.test
def omit_dev(ctx):
    files = pkg_json({"uses-leaf-1": "^1.0.0"}, dev={"dev-tool": "^1.0.0", "host": "^2.0.0"})
    proj = ctx.project(files)
    r = ctx.lade(L.install + ["--omit=dev"], proj)
    h.check_exit(r, 0, "lade install --omit=dev")
    tree = h.versions_only(proj.tree())
    h.check_equal(tree, {"node_modules/leaf": "1.1.0", "node_modules/uses-leaf-1": "1.0.0"},
                  "installed packages", r)
    lock = proj.lockfile()
    h.check_equal(lock["packages"].get("node_modules/dev-tool", {}).get("dev"), True,
                  "dev deps stay in the lockfile", r)
    copy = ctx.project(files)
    h.check_exit(ctx.npm(["install", "--omit=dev", "--ignore-scripts"], copy), 0, "npm")
    h.check_equal(proj.read_text("package-lock.json"), copy.read_text("package-lock.json"),
                  "lockfile", expected_name="npm", actual_name="lade")
    h.check_equal(proj.tree(), copy.tree(), "tree", expected_name="npm", actual_name="lade")


@suite.test
def omitted_packages_are_not_checked_for_platform(ctx):
    # npm 11 checks engines and platforms of the packages it installs: a dev dependency built for
    # another system does not stop an install that omits dev (nor a ci), and does stop one that
    # keeps it.
    proj = ctx.project(pkg_json({"leaf": "1.0.0"}, dev={"only-aix": "1.0.0"}))
    r = ctx.lade(L.install + ["--omit=dev"], proj)
    h.check_exit(r, 0, "install --omit=dev")
    h.check_equal(h.versions_only(proj.tree()), {"node_modules/leaf": "1.0.0"}, "installed", r)
    r = ctx.lade(L.ci + ["--omit=dev"], proj)
    h.check_exit(r, 0, "ci --omit=dev")
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, 1, "ci with dev")
    h.check_output_contains(r, "EBADPLATFORM")


@suite.test
def ci_checks_the_platform_before_the_lockfile_is_compared(ctx):
    # npm ci builds the tree an install would, which ends with the platform check, and only then
    # compares it with the lockfile: a package for another system is what it reports, even when
    # the lockfile is out of date too.
    proj = ctx.project(pkg_json({"leaf": "1.0.0"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install")
    proj.write("package.json", pkg_json({"leaf": "1.0.0", "only-aix": "1.0.0"})["package.json"])
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, 1, "ci")
    h.check_output_contains(r, "EBADPLATFORM")
    h.check("in sync" not in r.output, "the lockfile comparison ran first", r)


@suite.test
def ignore_scripts_and_scripts(ctx):
    marker = "node_modules/has-postinstall/postinstall-ran.txt"
    proj = ctx.project(pkg_json({"has-postinstall": "^1.0.0"}))
    r = ctx.lade(L.install + ["--ignore-scripts"], proj)
    h.check_exit(r, 0, "lade install --ignore-scripts")
    h.check_exists(proj.path("node_modules/has-postinstall/package.json"), "package")
    h.check_not_exists(proj.path(marker), "postinstall ran despite --ignore-scripts")
    entry = proj.lockfile()["packages"]["node_modules/has-postinstall"]
    h.check_equal(entry.get("hasInstallScript"), True, "hasInstallScript in the lockfile")
    proj2 = ctx.project(pkg_json({"has-postinstall": "^1.0.0"}))
    r = ctx.lade(L.install, proj2)
    h.check_exit(r, 0, "lade install")
    h.check_exists(proj2.path(marker), "postinstall did not run")


@suite.test
def package_lock_only(ctx):
    proj = ctx.project(pkg_json({"chain-a": "^1.0.0"}))
    reg = ctx.registry
    r = ctx.lade(L.install + [L.package_lock_only], proj)
    h.check_exit(r, 0, "lade install --package-lock-only")
    h.check_not_exists(proj.path("node_modules"), "node_modules made")
    lock = proj.lockfile()
    h.check(lock and lock["lockfileVersion"] == 3, "no v3 lockfile", r)
    h.check_equal(sorted(lock["packages"]), ["", "node_modules/chain-a", "node_modules/chain-b",
                                             "node_modules/chain-c", "node_modules/chain-d",
                                             "node_modules/leaf"], "lockfile packages")
    h.check_equal([e["path"] for e in reg.log() if e.get("kind") == "tarball"], [],
                  "tarballs fetched for a lockfile-only run")


@suite.test
def bundled_package_for_another_platform_is_checked_only_in_a_complete_tree(ctx):
    # npm opens a bundling package's tarball before its platform check only for
    # --package-lock-only; a full install learns of the bundled packages when it unpacks them,
    # and the tarball brings them whatever they were built for.
    proj = ctx.project(pkg_json({"bundles-only-aix": "1.0.0"}))
    r = ctx.lade(L.install + [L.package_lock_only], proj)
    h.check_exit(r, 1, "lockfile-only: the bundled package is checked")
    h.check_output_contains(r, "EBADPLATFORM")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "full install")
    h.check_equal(proj.installed_version("bundles-only-aix/node_modules/only-aix"), "1.0.0",
                  "the bundled package, from the tarball", r)
    # From the lockfile it is a package like any other: npm ci fails on it, and so does lade.
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, 1, "ci from that lockfile")
    h.check_output_contains(r, "EBADPLATFORM")


@suite.test
def bundled_packages_of_an_optional_left_out_stay_locked_when_a_lockfile_lists_them(ctx):
    # obx-native (aix only) is optional here. An install that resolves it never unpacks it, so
    # knows nothing of what it bundles and locks none of it; --package-lock-only opens the
    # tarball and locks obx-inner, and an install from that lockfile keeps it there.
    files = pkg_json(None, optionalDependencies={"obx-native": "1.0.0"})
    inner = "node_modules/obx-native/node_modules/obx-inner"
    for mode in ("resolved", "from a lockfile"):
        ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
        if mode == "from a lockfile":
            h.check_exit(ctx.lade(L.install + [L.package_lock_only], ours), 0, "lade: lockfile only")
            h.check_exit(ctx.npm(["install", "--package-lock-only"], theirs), 0, "npm: lockfile only")
        r = install_as_npm_does(ctx, ours, theirs, "install, " + mode)
        h.check_equal(inner in ours.lockfile()["packages"], mode == "from a lockfile", "obx-inner locked, " + mode, r)
        h.check_not_exists(ours.path("node_modules/obx-native"), "obx-native")


@suite.test
def ci_names_no_bundled_package_npm_has_not_unpacked(ctx):
    # npm ci compares the lockfile with a tree whose new bundling packages are still unopened:
    # bundler is missing from the lockfile, the bundled-dep inside it is not named.
    proj = ctx.project(pkg_json({"leaf": "1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "install")
    proj.write("package.json", pkg_json({"leaf": "1.0.0", "bundler": "1.0.0"})["package.json"])
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, 1, "ci")
    h.check_output_contains(r, "Missing: bundler@1.0.0 from lock file")
    h.check("bundled-dep" not in r.output, "the bundled package is named", r)


@suite.test
def platform_is_checked_before_a_bundle_makes_an_optional_package_required(ctx):
    # only-aix is opb-user's optional dependency. The bundled opb-inner, once opb-host is
    # unpacked, has a peer edge to it, and the lockfile then flags it required; npm checked
    # platforms before that, found it optional and left it out: the install succeeds.
    files = pkg_json({"opb-user": "1.0.0", "opb-host": "1.0.0"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    r = install_as_npm_does(ctx, ours, theirs, "install", ("package-lock.json", "node_modules/.package-lock.json"))
    h.check_not_exists(ours.path("node_modules/only-aix"), "only-aix")
    h.check_equal(ours.lockfile()["packages"]["node_modules/only-aix"].get("optional"), None,
                  "only-aix's optional flag in the lockfile", r)


@suite.test
def dry_run_writes_nothing(ctx):
    proj = ctx.project(pkg_json({"chain-a": "^1.0.0"}))
    before = proj.read_text("package.json")
    r = ctx.lade(L.install + ["--dry-run"], proj)
    h.check_exit(r, 0, "install --dry-run")
    h.check_output_matches(r, r"added 5 packages", "reports what it would add")
    h.check_not_exists(proj.path("node_modules"), "node_modules made")
    h.check_not_exists(proj.path("package-lock.json"), "lockfile written")
    # Optional packages for other platforms are not counted (img-tool's freebsd and wasm32
    # builds, and what only they need).
    plat = ctx.project(pkg_json({"img-tool": "^1.0.0", "leaf": "^2.0.0"}), name="plat")
    r = ctx.lade(L.install + ["--dry-run"], plat)
    h.check_exit(r, 0, "install --dry-run with optional packages for other platforms")
    h.check_output_matches(r, r"added 3 packages", "counts only what would be installed")
    r = ctx.lade(L.install + ["--dry-run", "leaf@^2.0.0"], proj)
    h.check_exit(r, 0, "install --dry-run leaf")
    h.check_equal(proj.read_text("package.json"), before, "package.json after a dry run")
    h.check_not_exists(proj.path("package-lock.json"), "lockfile written by the dry add")


@suite.test
def no_package_lock_neither_reads_nor_writes_it(ctx):
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install + [L.package_lock_only], proj), 0, "lock")
    lock = proj.read_text("package-lock.json")
    proj.write("package-lock.json", lock.replace('"version": "1.1.0"', '"version": "1.0.0"', 1))
    edited = proj.read_text("package-lock.json")
    r = ctx.lade(L.install + ["--no-package-lock"], proj)
    h.check_exit(r, 0, "install --no-package-lock")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf (the lockfile's 1.0.0 is not read)", r)
    h.check_equal(proj.read_text("package-lock.json"), edited, "package-lock.json rewritten")
    r = ctx.lade(L.install + ["--no-package-lock", "shared@^1.0.0"], proj)
    h.check_exit(r, 0, "add with --no-package-lock")
    h.check("shared" in proj.read_json("package.json")["dependencies"], "package.json not saved", r)
    h.check_equal(proj.read_text("package-lock.json"), edited, "package-lock.json rewritten by the add")


@suite.test
def yarn_lock_versions_used_only_when_starting_from_nothing(ctx):
    # npm's checkYarnLock (compared with npm by the compat yarn-lock scenarios): with no
    # package-lock.json and nothing installed, yarn's version is taken; a packument whose
    # integrity differs from yarn's is EINTEGRITY; with packages installed, yarn.lock is only
    # written again.
    reg = ctx.registry
    yarn = ('leaf@^1.0.0:\n  version "1.0.0"\n  resolved "%s"\n  integrity %s\n'
            % (reg.tarball_url("leaf", "1.0.0"), "%s"))
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    good = ctx.lade(L.install + [L.package_lock_only], proj)  # to learn leaf 1.0.0's integrity
    h.check_exit(good, 0, "lock without yarn.lock")
    h.check_equal(proj.lockfile()["packages"]["node_modules/leaf"]["version"], "1.1.0", "newest leaf")
    os.remove(proj.path("package-lock.json"))

    proj.write("yarn.lock", yarn % "sha512-AAAA")
    r = ctx.lade(L.install, proj)
    h.check(r.returncode != 0 and "EINTEGRITY" in r.stderr, "a yarn.lock integrity the package lacks "
            "must fail with EINTEGRITY", r)
    h.check(not os.path.exists(proj.path("node_modules", "leaf")), "nothing installed after EINTEGRITY", r)

    proj.write("yarn.lock", 'leaf@^1.0.0:\n  version "1.0.0"\n  resolved "%s"\n' % reg.tarball_url("leaf", "1.0.0"))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with yarn.lock")
    h.check_equal(proj.installed_version("leaf"), "1.0.0", "yarn's leaf", r)
    written = proj.read_text("yarn.lock")
    h.check(written.startswith("# THIS IS AN AUTOGENERATED FILE") and 'version "1.0.0"' in written,
            "yarn.lock written again in npm's form", r)

    # Installed packages are where npm starts from: yarn's versions are not looked at.
    other = ctx.project(pkg_json({"shared": "^1.0.0"}), name="installed")
    h.check_exit(ctx.lade(L.install, other), 0, "install shared")
    os.remove(other.path("package-lock.json"))
    other.write("package.json", pkg_json({"leaf": "^1.0.0", "shared": "^1.0.0"})["package.json"])
    other.write("yarn.lock", 'leaf@^1.0.0:\n  version "1.0.0"\n  resolved "%s"\n' % reg.tarball_url("leaf", "1.0.0"))
    r = ctx.lade(L.install, other)
    h.check_exit(r, 0, "install with node_modules present")
    h.check_equal(other.installed_version("leaf"), "1.1.0", "leaf resolved anew (node_modules not empty)", r)
    h.check('leaf@^1.0.0:\n  version "1.1.0"' in other.read_text("yarn.lock"), "yarn.lock follows the tree", r)


@suite.test
def yarn_lock_after_add_names_the_saved_spec_as_npm_does(ctx):
    # npm's tree takes the saved package.json before yarn.lock is written: `add shared@1`
    # saves "shared": "^1.1.0", and yarn.lock's key is "shared@^1.1.0", not "shared@1".
    reg = ctx.registry
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    proj.write("yarn.lock", 'leaf@^1.0.0:\n  version "1.0.0"\n  resolved "%s"\n' % reg.tarball_url("leaf", "1.0.0"))
    npm_copy = proj.copy(ctx.sandbox, "npm")
    r = ctx.lade(L.install + [L.package_lock_only, "shared@1"], proj)
    h.check_exit(r, 0, "lade add with yarn.lock")
    h.check_exit(ctx.npm(["install", "--package-lock-only", "--ignore-scripts", "shared@1"], npm_copy), 0, "npm add")
    h.check_equal(proj.read_text("package.json"), npm_copy.read_text("package.json"), "package.json (npm vs lade)")
    h.check_equal(proj.read_text("yarn.lock"), npm_copy.read_text("yarn.lock"), "yarn.lock (npm vs lade)",
                  expected_name="npm", actual_name="lade")
    h.check("shared@^1.1.0:" in proj.read_text("yarn.lock"), "yarn.lock keys the saved spec", r)


def install_from_a_warm_store(ctx, proj):
    """Installs `proj` once, removes node_modules and the lockfile, and installs it again with
    --timing, from a warm store (early linking is then not outrun by resolution). Returns the
    second run and its linked_early counter (None when it is missing)."""
    h.check_exit(ctx.lade(L.install + [L.ignore_scripts], proj), 0, "first install")
    shutil.rmtree(proj.path("node_modules"))
    os.remove(proj.path("package-lock.json"))
    r = ctx.lade(L.install + [L.ignore_scripts, "--timing"], proj)
    h.check_exit(r, 0, "install")
    early = re.search(r"linked_early\s+(\d+)", r.stdout + r.stderr)
    return r, int(early.group(1)) if early else None


@suite.test
def package_with_a_folder_dependency_is_not_linked_early(ctx):
    # local-inner depends on "file:./inner", a folder inside its own tarball. npm resolves it
    # before anything is extracted, so it finds no package there (a link to an entry with no
    # version). Linked while resolution went on, the folder could already be there and lade
    # would read it, depending on timing: such a package waits for the install proper.
    proj = ctx.project(pkg_json({"local-inner": "^1.0.0", "leaf": "^1.0.0"}))
    npm_copy = proj.copy(ctx.sandbox, "npm")
    r, early = install_from_a_warm_store(ctx, proj)
    h.check(early is not None and early <= 1, "local-inner linked early (only leaf may be)", r)
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], npm_copy), 0, "npm install")
    h.check_equal(proj.read_text("package-lock.json"), npm_copy.read_text("package-lock.json"),
                  "package-lock.json (npm vs lade)", expected_name="npm", actual_name="lade")


@suite.test
def what_waits_to_be_linked_when_resolution_ends_is_linked_early(ctx):
    # From a warm store every package is ready as soon as it is placed, faster than one thread
    # links: what is still waiting when resolution ends is linked then, by every thread, rather
    # than left to the install proper (which waited for the link under way first).
    names = ["cnb-leaf", "host", "hrz-leaf", "leaf", "licensed", "multi"]
    proj = ctx.project(pkg_json({name: "^1.0.0" for name in names}))
    r, early = install_from_a_warm_store(ctx, proj)
    # The last one placed may still be on its way out of the store when resolution ends (then
    # the install proper links it).
    h.check(early is not None and early >= len(names) - 1, "linked early", r)
    for name in names:
        h.check(proj.exists("node_modules/%s/package.json" % name), name + " installed", r)


@suite.test
def packages_with_tilde_ranges_are_linked_early(ctx):
    # "~1.0.0" is a range: only "~/" names a folder (in the home directory), which would keep a
    # package from being linked while resolution goes on (see
    # package_with_a_folder_dependency_is_not_linked_early).
    proj = ctx.project(pkg_json({"tilde-range-b": "^1.0.0", "tilde-range-c": "^1.0.0"}))
    r, early = install_from_a_warm_store(ctx, proj)
    # Of the four, three depend through a tilde range; the last one placed may still be on its
    # way out of the store when resolution ends (then the install proper links it).
    h.check(early is not None and early >= 3, "the packages with tilde ranges linked early", r)
    for name in ["tilde-range-a", "tilde-range-b", "tilde-range-c", "leaf"]:
        h.check(proj.exists("node_modules/%s/index.js" % name), name + " installed", r)


@suite.test
def bin_with_windows_line_ending_runs(ctx):
    # A "#!/usr/bin/env node\r\n" line would make the kernel look for "node\r".
    proj = ctx.project(pkg_json({"crlf-bin": "^1.0.0"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install")
    with open(proj.path("node_modules/crlf-bin/cli.js"), "rb") as f:
        h.check_equal(f.readline(), b"#!/usr/bin/env node\n", "first line of the bin")
    h.check_executable(proj.path("node_modules/.bin/crlf-bin"))
    if shutil.which("node"):
        run = subprocess.run([proj.path("node_modules/.bin/crlf-bin")], cwd=proj.root,
                             capture_output=True, text=True, timeout=60)
        h.check_equal(run.stdout.strip(), "crlf-bin ran", "the bin's output: " + run.stderr)
    # The store keeps the file as it was packed: a second project gets it fixed too.
    other = ctx.project(pkg_json({"crlf-bin": "^1.0.0"}), name="other")
    h.check_exit(ctx.lade(L.install, other), 0, "second install")
    with open(other.path("node_modules/crlf-bin/cli.js"), "rb") as f:
        h.check_equal(f.readline(), b"#!/usr/bin/env node\n", "first line in the second project")


@suite.test
def npmrc_switches_of_the_install(ctx):
    base = pkg_json({"leaf": "^1.0.0"}, dev={"shared": "^1.0.0"})
    proj = ctx.project(dict(base, **{".npmrc": "save=false\n"}), name="nosave")
    before = proj.read_text("package.json")
    h.check_exit(ctx.lade(L.install + ["host@^1.0.0"], proj), 0, "install host with save=false")
    h.check_equal(proj.read_text("package.json"), before, "package.json with save=false")
    h.check_not_exists(proj.path("package-lock.json"), "lockfile with save=false")
    h.check_equal(proj.installed_version("host"), "1.1.0", "host installed anyway")

    proj = ctx.project(dict(base, **{".npmrc": "package-lock-only=true\n"}), name="lockonly")
    h.check_exit(ctx.lade(L.install, proj), 0, "install with package-lock-only=true")
    h.check(proj.exists("package-lock.json"), "no lockfile with package-lock-only=true")
    h.check_not_exists(proj.path("node_modules"), "node_modules with package-lock-only=true")

    proj = ctx.project(dict(base, **{".npmrc": "production=true\n"}), name="production")
    h.check_exit(ctx.lade(L.install, proj), 0, "install with production=true")
    h.check_not_exists(proj.path("node_modules/shared"), "dev dependency with production=true")

    proj = ctx.project(dict(base, **{".npmrc": "lockfile-version=2\n"}), name="v2")
    h.check_exit(ctx.lade(L.install + [L.package_lock_only], proj), 0, "lockfile-version=2")
    lock = proj.lockfile()
    h.check(lock["lockfileVersion"] == 2 and "dependencies" in lock, "not a v2 lockfile")

    proj = ctx.project(base, name="flags")
    r = ctx.lade(L.install + ["--save-prefix=~", "--omit=nonsense", "host@^1.0.0"], proj)
    h.check_exit(r, 0, "--save-prefix=~ --omit=nonsense (npm warns about the omit value)")
    h.check_equal(proj.package_json()["dependencies"].get("host"), "~1.1.0", "saved with ~")


@suite.test
def prefix_flag(ctx):
    proj = ctx.project(pkg_json({"leaf": "^2.0.0"}))
    elsewhere = ctx.sandbox.new_dir("elsewhere")
    r = ctx.lade(L.install + ["--prefix", proj.root], elsewhere)
    h.check_exit(r, 0, "lade install --prefix")
    h.check_equal(proj.installed_version("leaf"), "2.0.0", "installed under the prefix", r)
    h.check(proj.exists("package-lock.json"), "lockfile under the prefix")
    h.check_equal(os.listdir(elsewhere), [], "files written in the cwd")


@suite.test
def registry_setting_precedence(ctx):
    # flag > npm_config_registry env > project .npmrc (> user .npmrc)
    with h.registries(4) as (flag_reg, env_reg, proj_reg, user_reg):
        with open(os.path.join(ctx.sandbox.home, ".npmrc"), "a") as f:
            f.write("registry=%s\n" % user_reg.url)
        cases = [
            ("flag", {"registry": flag_reg, "env": env_reg, "npmrc": proj_reg}, flag_reg),
            ("env", {"registry": None, "env": env_reg, "npmrc": proj_reg}, env_reg),
            ("project .npmrc", {"registry": None, "env": None, "npmrc": proj_reg}, proj_reg),
            ("user .npmrc", {"registry": None, "env": None, "npmrc": None}, user_reg),
        ]
        for label, setup, winner in cases:
            files = pkg_json({"leaf": "^1.0.0"})
            if setup["npmrc"]:
                files[".npmrc"] = "registry=%s\n" % setup["npmrc"].url
            proj = ctx.project(files)
            env = {"npm_config_registry": setup["env"].url} if setup["env"] else {}
            for reg in (flag_reg, env_reg, proj_reg, user_reg):
                reg.clear_log()
            r = ctx.lade(L.install, proj, registry=setup["registry"], env=env)
            h.check_exit(r, 0, "lade install (%s)" % label)
            for reg, name in ((flag_reg, "flag"), (env_reg, "env"), (proj_reg, "project"),
                              (user_reg, "user")):
                n = len(reg.log())
                if reg is winner:
                    h.check(n > 0, "%s: the %s registry got no request" % (label, name), r)
                else:
                    h.check_equal(n, 0, "%s: requests to the %s registry" % (label, name), r)


@suite.test
def version_flag(ctx):
    cwd = ctx.sandbox.new_dir("cwd")
    r = ctx.lade(["--version"], cwd, registry=None)
    h.check_exit(r, 0, "--version")
    first = r.stdout.strip().splitlines()[0] if r.stdout.strip() else ""
    h.check(h.semver_like(first), "--version should print a bare version", r)
    # npm prints its version for -v wherever it stands, also after the command.
    r = ctx.lade(["install", "-v"], cwd, registry=None)
    h.check_exit(r, 0, "install -v")
    h.check(h.semver_like(r.stdout.strip()), "install -v should print a bare version", r)


@suite.test(lade_only=True)
def help_flag(ctx):
    # npm exits 1 after printing its usage; lade follows the usual convention of 0.
    cwd = ctx.sandbox.new_dir("cwd")
    for flag in ("-h", "--help"):
        r = ctx.lade([flag], cwd, registry=None)
        h.check_exit(r, 0, flag)
        h.check_output_contains(r, "install", "ci")
        h.check_output_matches(r, r"(?i)usage", "prints usage")


@suite.test
def json_summary_has_npms_keys_in_npms_order(ctx):
    proj = ctx.project(pkg_json({"uses-leaf-1": "^1.0.0"}))
    r = ctx.lade(L.install + ["--json"], proj)
    h.check_exit(r, 0, "install --json")
    doc = json.loads(r.stdout, object_pairs_hook=lambda pairs: pairs)
    keys = [k for k, _ in doc]
    h.check_equal(keys, ["add", "added", "audited", "change", "changed", "funding", "remove", "removed"],
                  "top-level keys", r)
    add = dict(doc)["add"]
    h.check_equal(len(add), 2, "packages added", r)
    h.check_equal([k for k, _ in add[0]], ["name", "version", "path"], "keys of an added package", r)


@suite.test
def second_install_is_up_to_date(ctx):
    reg = ctx.registry
    proj = ctx.project(pkg_json({"chain-a": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    lock = proj.read_bytes("package-lock.json")
    tree = proj.tree()
    reg.clear_log()
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install")
    h.check_equal([e["path"] for e in reg.log() if e.get("kind") == "tarball"], [],
                  "tarballs fetched by a no-op install", r)
    h.check_equal(proj.read_bytes("package-lock.json"), lock, "lockfile changed by a no-op install")
    h.check_equal(proj.tree(), tree, "tree changed by a no-op install")


@suite.test
def nested_package_removed_by_hand_is_put_back(ctx):
    # Removing node_modules/a/node_modules/b changes only the nested folder: the up-to-date
    # check must still see it (npm compares every package folder with its hidden lockfile).
    proj = ctx.project(pkg_json({"leaf": "1.0.0", "uses-leaf-2": "1.0.0", "@fx/scoped-a": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    h.check_exit(ctx.lade(L.install, proj), 0, "second install")
    nested = "uses-leaf-2/node_modules/leaf"
    shutil.rmtree(proj.path("node_modules", nested))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install after removing node_modules/" + nested)
    h.check_equal(proj.installed_version(nested), "2.0.0", nested + " put back", r)
    h.check_output_matches(r, r"added 1 package", "reports the package it put back")
    r = ctx.lade(L.install, proj)
    h.check_output_matches(r, r"up to date", "then up to date")


@suite.test
def command_line_turns_off_what_config_turns_on(ctx):
    # --no-offline (or --offline=false) beats offline=true from .npmrc or the environment.
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    proj.write(".npmrc", "offline=true\n")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install with offline=true and an empty cache")
    h.check_output_contains(r, "ENOTCACHED")
    r = ctx.lade(L.install + ["--no-offline"], proj)
    h.check_exit(r, 0, "install --no-offline")
    proj.write(".npmrc", "")
    shutil.rmtree(proj.path("node_modules"))
    os.remove(proj.path("package-lock.json"))
    r = ctx.lade(L.install + ["--offline=false", "--prefer-online"], proj, env={"npm_config_offline": "true"})
    h.check_exit(r, 0, "install --offline=false with npm_config_offline=true")


@suite.test
def npmrc_change_is_not_up_to_date(ctx):
    # Settings from .npmrc change what an install leaves behind, as flags do: omit=dev added
    # after an install takes the dev packages away on the next one.
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}, dev={"dev-tool": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    h.check(proj.installed_version("dev-tool") is not None, "dev-tool installed")
    proj.write(".npmrc", "omit=dev\n")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with omit=dev in .npmrc")
    h.check_equal(sorted(h.versions_only(proj.tree())), ["node_modules/leaf"],
                  "installed packages after omit=dev", r)
    proj.write(".npmrc", "")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install after omit=dev is gone")
    h.check(proj.installed_version("dev-tool") is not None, "dev-tool back", r)


@suite.test
def flags_that_change_an_installed_tree_are_not_up_to_date(ctx):
    # After a full install, each of these flags changes the result although package.json,
    # the lockfile and node_modules do not: the "nothing to do" check must not skip them.
    proj = ctx.project(pkg_json({"plugin-a": "^1.0.0", "engine-future": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    h.check(proj.installed_version("host") is not None, "host installed as plugin-a's peer")
    r = ctx.lade(L.install + ["--engine-strict"], proj)
    h.check_exit(r, "nonzero", "install --engine-strict with engine-future installed")
    h.check_output_contains(r, "EBADENGINE")
    r = ctx.lade(L.install + ["--lockfile-version", "2"], proj)
    h.check_exit(r, 0, "install --lockfile-version 2")
    h.check_equal(proj.lockfile().get("lockfileVersion"), 2, "lockfileVersion after it", r)
    r = ctx.lade(L.install + ["--legacy-peer-deps"], proj)
    h.check_exit(r, 0, "install --legacy-peer-deps")
    h.check_not_exists(proj.path("node_modules/host"), "host (a peer legacy-peer-deps leaves out)")


@suite.test
def install_after_ci_updates_a_lockfile_ci_accepted(ctx):
    # ci accepts a lockfile whose locked version still satisfies a range changed in
    # package.json; the install after it writes the new range into the lockfile, as npm's does.
    proj = ctx.project(pkg_json({"leaf": "^1.1.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "install")
    proj.write("package.json", pkg_json({"leaf": "^1.0.0"})["package.json"])
    h.check_exit(ctx.lade(L.ci, proj), 0, "ci with the wider range")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install after ci")
    h.check_equal(proj.lockfile()["packages"][""]["dependencies"]["leaf"], "^1.0.0",
                  "the root's range in the lockfile", r)


@suite.test(lade_only=True)
def node_version_is_remembered_per_executable(ctx):
    # Asking node for its version costs a process start on every install; lade keeps the answer
    # with the identity of the executable, and asks again of anything else (a script: version
    # managers' shims pick a version per project behind one unchanging file). The answer is kept
    # under npm's cache folder (~/.npm/_lade), not in the package cache: a clean install, which
    # starts with an empty package cache, need not ask again.
    real_node = shutil.which("node")
    h.check(real_node, "node is on PATH (npm needs it too)")
    bin_dir = ctx.sandbox.new_dir("node-bin")
    os.symlink(os.path.realpath(real_node), os.path.join(bin_dir, "node"))
    path = bin_dir + os.pathsep + os.environ.get("PATH", "")
    proj = ctx.project(pkg_json({"engine-picky": "1.0.0"}))  # wants node >=99

    first = ctx.lade(L.install, proj, env={"PATH": path})
    h.check_exit(first, 0, "first install")
    h.check_output_contains(first, "EBADENGINE")
    remembered = os.path.join(ctx.sandbox.home, ".npm", "_lade", "node-version")
    h.check_exists(remembered, "the remembered version")
    h.check(not os.path.exists(os.path.join(ctx.sandbox.lade_cache, "node-version")),
            "nothing remembered in the package cache", first)
    with open(remembered) as f:
        line = f.read()
    identity, version = line.rstrip("\n").rsplit("\t", 1)
    h.check(version in first.stdout + first.stderr, "the remembered version is node's", first)

    # The same executable: the remembered answer is used (node is not asked), so a version
    # written there instead decides the engines check.
    with open(remembered, "w") as f:
        f.write(identity + "\t99.1.0\n")
    shutil.rmtree(proj.path("node_modules"))
    os.remove(proj.path("package-lock.json"))
    second = ctx.lade(L.install, proj, env={"PATH": path})
    h.check_exit(second, 0, "second install")
    h.check("EBADENGINE" not in second.stdout + second.stderr, "the remembered 99.1.0 was used", second)

    # A script named node is asked every time, whatever is remembered.
    shim_dir = ctx.sandbox.new_dir("shim-bin")
    shim = os.path.join(shim_dir, "node")
    with open(shim, "w") as f:
        f.write("#!/bin/sh\necho v98.0.0\n")
    os.chmod(shim, 0o755)
    shutil.rmtree(proj.path("node_modules"))
    os.remove(proj.path("package-lock.json"))
    third = ctx.lade(L.install, proj, env={"PATH": shim_dir + os.pathsep + path})
    h.check_exit(third, 0, "install with a shim")
    h.check_output_contains(third, "EBADENGINE", "v98.0.0")


@suite.test(lade_only=True)
def loglevel_http_prints_a_line_per_request(ctx):
    # npm's `--loglevel http` prints "npm http fetch GET 200 <url> 52ms" for every request it
    # makes; lade prints the same lines with its own name, on stderr, and none by default.
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    quiet = ctx.lade(L.install, proj)
    h.check_exit(quiet, 0, "install")
    h.check("lade http" not in quiet.output, "no request lines by default", quiet)

    shutil.rmtree(proj.path("node_modules"))
    os.remove(proj.path("package-lock.json"))
    shutil.rmtree(ctx.sandbox.lade_cache)
    os.makedirs(ctx.sandbox.lade_cache)
    r = ctx.lade(L.install + ["--loglevel", "http"], proj)
    h.check_exit(r, 0, "install --loglevel http")
    lines = [l for l in r.stderr.splitlines() if l.startswith("lade http ")]
    base = ctx.registry.url.rstrip("/")
    packument = re.compile(r"^lade http fetch GET 200 %s/leaf \d+ms$" % re.escape(base))
    tarball = re.compile(r"^lade http fetch GET 200 %s/leaf/-/leaf-1\.1\.0\.tgz \d+ms$" % re.escape(base))
    h.check(any(packument.match(l) for l in lines), "a line for the packument", r)
    h.check(any(tarball.match(l) for l in lines), "a line for the tarball", r)
    h.check("lade http" not in r.stdout, "request lines go to stderr, not stdout", r)


@suite.test(lade_only=True)
def no_network_no_libcurl(ctx):
    # libcurl and what it pulls in cost milliseconds and megabytes at start-up; lade loads it
    # only when a request is made. LD_DEBUG=files makes the dynamic loader name every library it
    # opens.
    proj = ctx.project(pkg_json({"chain-a": "^1.0.0"}))
    first = ctx.lade(L.install, proj, env={"LD_DEBUG": "files"})
    h.check_exit(first, 0, "first install")
    h.check_output_contains(first, "libcurl.so")  # a network install does load it
    for args, what in ((L.install, "an up-to-date install"), (["--version"], "--version")):
        r = ctx.lade(args, proj, env={"LD_DEBUG": "files"})
        h.check_exit(r, 0, what)
        h.check("libcurl.so" not in r.stdout + r.stderr, what + " loads libcurl", r)


@suite.test(lade_only=True)
def own_tar_reader_no_libarchive(ctx):
    # libarchive and the compression libraries behind it cost milliseconds and megabytes at
    # start-up; lade loads it only for tarballs its own reader leaves to it and to pack folders
    # (test_links.py checks that packing a git dependency does load it). The fixture registry's
    # tarballs are the kind npm publishes, which lade's own reader handles.
    proj = ctx.project(pkg_json({"chain-a": "^1.0.0"}))
    for args, what in ((L.install, "a first install"), (L.install, "an up-to-date install"),
                       (["--version"], "--version")):
        r = ctx.lade(args, proj, env={"LD_DEBUG": "files"})
        h.check_exit(r, 0, what)
        h.check("libarchive.so" not in r.stdout + r.stderr, what + " loads libarchive", r)


@suite.test
def missing_bin_link_is_made_again(ctx):
    # npm's diff takes a package whose bin link is gone for changed: the link comes back and the
    # package is counted.
    proj = ctx.project(pkg_json({"bin-string": "^1.0.0", "leaf": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "install")
    os.remove(proj.path("node_modules/.bin/bin-string"))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install after the bin link was removed")
    h.check_executable(proj.path("node_modules", ".bin", "bin-string"))
    h.check_output_matches(r, r"changed 1 package", "counts the package whose link was made again")


@suite.test
def bins_of_removed_packages_go_with_them(ctx):
    proj = ctx.project(pkg_json({"bin-string": "^1.0.0"}, dev={"bin-object": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    h.check_executable(proj.path("node_modules/.bin/bin-one"))
    r = ctx.lade(L.install + ["--omit=dev"], proj)
    h.check_exit(r, 0, "install --omit=dev")
    for b in ("bin-one", "bin-two"):
        h.check(not os.path.lexists(proj.path("node_modules/.bin", b)),
                "the dev package's bin %s is left behind" % b, r)
    h.check_executable(proj.path("node_modules/.bin/bin-string"))
    proj.write("package.json", pkg_json({})["package.json"])
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install without dependencies")
    h.check(not os.path.lexists(proj.path("node_modules/.bin/bin-string")),
            "the removed package's bin is left behind", r)


@suite.test
def only_added_and_changed_packages_get_their_bins_linked(ctx):
    # npm's rebuild links the bins of what the install adds or changes. Two packages claim one
    # bin name: the first in path order takes it. When that one goes, the link goes with it;
    # the other, unchanged, does not take it back. Its link missing makes it changed at the next
    # install, which links it again. A package added then takes the name from one left as it was,
    # even though it sorts after it.
    alpha, omega, yankee, zulu = (packed(ctx, name, "1.0.0", bin={"shared-cli": "cli.js"})
                                  for name in ("alpha", "omega", "yankee", "zulu"))
    proj = ctx.project(pkg_json({"alpha": "file:" + alpha, "omega": "file:" + omega}))
    link = proj.path("node_modules/.bin/shared-cli")
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    h.check_equal(os.readlink(link), "../alpha/cli.js", "the bin, of the first in path order")
    proj.write("package.json", pkg_json({"omega": "file:" + omega})["package.json"])
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install without alpha")
    h.check(not os.path.lexists(link), "the bin of the removed package was linked to omega", r)
    proj.write("package.json", pkg_json({"omega": "file:" + omega, "zulu": "file:" + zulu})["package.json"])
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with zulu")
    h.check_output_matches(r, r"added 1 package, and changed 1 package", "omega, its link missing, is changed")
    h.check_equal(os.readlink(link), "../omega/cli.js", "the bin, of the first of those installed", r)
    proj.write("package.json", pkg_json({"omega": "file:" + omega, "yankee": "file:" + yankee,
                                         "zulu": "file:" + zulu})["package.json"])
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with yankee")
    h.check_output_matches(r, r"added 1 package in", "only yankee is installed")
    h.check_equal(os.readlink(link), "../yankee/cli.js", "the bin, of the package added", r)


@suite.test
def a_package_left_in_a_changed_folder_brings_back_the_link_at_its_bin_name(ctx):
    # mbk-host 1 has mbk-a 1 and mbk-b 1 nested, both claiming mbk-cli; mbk-a, first, has the
    # link. mbk-host 2 keeps mbk-b only. npm moves mbk-host's folder aside whole, then moves
    # mbk-b back with the link at its bin's name, still leading to mbk-a, which is gone.
    first = pkg_json({"mbk-a": "2.0.0", "mbk-b": "2.0.0", "mbk-host": "1.0.0"})
    ours, theirs = twin_projects(ctx, first)
    install_as_npm_does(ctx, ours, theirs, "first install")
    link = "node_modules/mbk-host/node_modules/.bin/mbk-cli"
    h.check_equal(os.readlink(ours.path(link)), "../mbk-a/cli.js", "the bin")
    for proj in (ours, theirs):
        proj.write("package.json", pkg_json({"mbk-a": "2.0.0", "mbk-b": "2.0.0", "mbk-host": "2.0.0"})["package.json"])
    r = install_as_npm_does(ctx, ours, theirs, "install with mbk-host 2")
    h.check(os.path.islink(ours.path(link)), "the bin link was not brought back", r)
    h.check_equal(os.readlink(ours.path(link)), "../mbk-a/cli.js", "the bin, brought back", r)
    h.check_equal(ours.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")


@suite.test
def a_package_whose_bin_link_is_missing_runs_its_install_script_again(ctx):
    # npm's diff takes a package whose bin link is missing for changed, and its rebuild runs
    # the install scripts of what changed.
    tool = packed(ctx, "alpha", "1.0.0", bin={"alpha-cli": "cli.js"},
                  scripts={"install": "echo ran >> ../../ran.txt"})
    ours, theirs = twin_projects(ctx, pkg_json({"alpha": "file:" + tool}))
    for proj, run in ((ours, lambda p: ctx.lade(L.install, p)), (theirs, lambda p: ctx.npm(["install"], p))):
        h.check_exit(run(proj), 0, "first install")
        os.unlink(proj.path("node_modules/.bin/alpha-cli"))
        r = run(proj)
        h.check_exit(r, 0, "install with the bin link missing")
        h.check_equal(proj.read_text("ran.txt"), "ran\nran\n", "the install script's runs", r)
        h.check_exists(proj.path("node_modules/.bin/alpha-cli"), "the bin link, made again")


@suite.test
def an_added_bundler_gives_back_the_bin_links_a_changed_package_took_aside(ctx):
    # npm moves a package it changes aside with the links at its bins' names, whichever
    # package they lead to. When the install also adds a bundler, npm diffs again once the
    # bundle is open: omega, left as it was, has lost its link by then, counts as changed, and
    # gets its link back. (Without a bundler it stays without one: see
    # only_added_and_changed_packages_get_their_bins_linked.)
    alpha1 = packed(ctx, "alpha", "1.0.0", bin={"shared-cli": "cli.js"})
    alpha2 = packed(ctx, "alpha", "2.0.0")
    omega = packed(ctx, "omega", "1.0.0", bin={"shared-cli": "cli.js"})
    ours, theirs = twin_projects(ctx, pkg_json({"alpha": "file:" + alpha1, "omega": "file:" + omega}))
    install_as_npm_does(ctx, ours, theirs, "first install")
    h.check_equal(os.readlink(ours.path("node_modules/.bin/shared-cli")), "../alpha/cli.js", "the bin")
    second = pkg_json({"alpha": "file:" + alpha2, "bbo-host": "1.0.0", "omega": "file:" + omega})
    for proj in (ours, theirs):
        proj.write("package.json", second["package.json"])
    r = ctx.lade(L.install + ["--ignore-scripts"], ours)
    n = ctx.npm(["install", "--ignore-scripts"], theirs)
    h.check_exit(r, 0, "install with a bundler added")
    h.check_exit(n, 0, "npm: install with a bundler added")
    h.check_equal(summary_line(r), summary_line(n), "summary", r, expected_name="npm", actual_name="lade")
    h.check_equal(os.readlink(ours.path("node_modules/.bin/shared-cli")), "../omega/cli.js", "the bin", r)
    h.check_equal(ours.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")


@suite.test
def a_changed_bundler_leaves_nothing_of_its_old_bundle(ctx):
    # npm moves a changed bundler's folder aside whole and unpacks the new one: rbx-inner 1's
    # old-only.js does not stay in rbx-host 2's bundled rbx-inner 2. Its second diff counts the
    # bundled package as changed. rbx-host 3 bundles nothing: its rbx-inner 2 comes from the
    # registry, and the bundled copy of the same version in its place is changed too.
    ours, theirs = twin_projects(ctx, pkg_json({"rbx-host": "1.0.0"}))
    install_as_npm_does(ctx, ours, theirs, "first install")
    for deps in ({"rbx-host": "2.0.0"}, {"rbx-host": "3.0.0", "rbx-inner": "1.0.0"}):
        for proj in (ours, theirs):
            proj.write("package.json", pkg_json(deps)["package.json"])
        r = ctx.lade(L.install + ["--ignore-scripts"], ours)
        n = ctx.npm(["install", "--ignore-scripts"], theirs)
        h.check_exit(r, 0, "install %s" % deps)
        h.check_exit(n, 0, "npm: install %s" % deps)
        h.check_not_exists(ours.path("node_modules/rbx-host/node_modules/rbx-inner/old-only.js"),
                           "a file of the old bundle")
        h.check_equal(summary_line(r), summary_line(n), "summary", r, expected_name="npm", actual_name="lade")
        for rel in ("package-lock.json", "node_modules/.package-lock.json"):
            h.check_equal(ours.read_text(rel), theirs.read_text(rel), rel, r, expected_name="npm", actual_name="lade")
        h.check_equal(ours.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")


@suite.test
def a_bundled_package_takes_a_bin_name_in_path_order(ctx):
    # bbo-host bundles bbo-alpha and has bbo-zed 2 nested beside it (the root has bbo-zed 1);
    # both claim bbo-cli. npm's rebuild sorts its bin queue, bundled packages among the rest:
    # bbo-alpha comes first and keeps the name.
    ours, theirs = twin_projects(ctx, pkg_json({"bbo-host": "1.0.0", "bbo-zed": "1.0.0"}))
    r = install_as_npm_does(ctx, ours, theirs, "install")
    h.check_equal(os.readlink(ours.path("node_modules/bbo-host/node_modules/.bin/bbo-cli")),
                  "../bbo-alpha/cli.js", "bbo-host's bin", r)
    h.check_equal(ours.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")


@suite.test
def a_changed_package_whose_bin_was_never_linked_leaves_a_bin_folder(ctx):
    # npm moves a package it changes or removes aside with its bin links. A link that is not
    # there (the bin's file is missing from the package, so it never got one) fails to move, and
    # npm makes the .bin folder before it tries again: the folder stays, empty.
    alpha1 = packed(ctx, "alpha", "1.0.0", bin={"alpha-cli": "missing.js"})
    alpha2 = packed(ctx, "alpha", "2.0.0")
    proj = ctx.project(pkg_json({"alpha": "file:" + alpha1}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    h.check_not_exists(proj.path("node_modules/.bin"), "a .bin folder for a bin without its file")
    proj.write("package.json", pkg_json({"alpha": "file:" + alpha2})["package.json"])
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install of alpha 2")
    h.check(os.path.isdir(proj.path("node_modules/.bin")), "no .bin folder after alpha 1 went", r)
    h.check_equal(os.listdir(proj.path("node_modules/.bin")), [], "node_modules/.bin", r)


@suite.test
def unknown_folders_in_node_modules_are_removed(ctx):
    # Not in the hidden lockfile, not wanted: npm finds them on disk and removes them.
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    proj.write("node_modules/stray/package.json", {"name": "stray", "version": "1.0.0",
                                                   "bin": {"stray": "cli.js"}})
    proj.write("node_modules/stray/cli.js", "#!/usr/bin/env node\n")
    os.makedirs(proj.path("node_modules/.bin"), exist_ok=True)
    os.symlink("../stray/cli.js", proj.path("node_modules/.bin/stray"))
    proj.write("node_modules/@scope/stray/package.json", {"name": "@scope/stray", "version": "1.0.0"})
    # Packages inside an unknown folder go with it, and npm counts them.
    proj.write("node_modules/stray/node_modules/inner/package.json", {"name": "inner", "version": "1.0.0"})
    proj.write("node_modules/stray/node_modules/inner/node_modules/deeper/package.json",
               {"name": "deeper", "version": "1.0.0"})
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install")
    h.check_output_matches(r, r"removed 4 packages", "stray, @scope/stray and the two inside stray")
    h.check_not_exists(proj.path("node_modules/stray"), "unknown folder kept")
    h.check_not_exists(proj.path("node_modules/@scope/stray"), "unknown scoped folder kept")
    h.check(not os.path.lexists(proj.path("node_modules/.bin/stray")), "its bin kept", r)
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)


@suite.test
def second_install_drops_what_the_first_marked_extraneous(ctx):
    # The first install locks an optional peer placed for a conflict as "extraneous"; the next
    # one starts from that lockfile and drops it, as npm does, even with nothing else changed.
    proj = ctx.project(pkg_json({"uses-leaf-1": "^1.0.0", "wraps-optpeer-leaf-2": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    extraneous = [k for k, v in proj.lockfile()["packages"].items() if v.get("extraneous")]
    h.check_equal(extraneous, ["node_modules/wraps-optpeer-leaf-2/node_modules/leaf"],
                  "extraneous entries after the first install")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install")
    h.check_output_matches(r, r"removed 1 package", "reports the removal")
    h.check(not any(v.get("extraneous") for v in proj.lockfile()["packages"].values()),
            "an extraneous entry is still in the lockfile", r)
    h.check_not_exists(proj.path("node_modules/wraps-optpeer-leaf-2/node_modules/leaf"),
                       "the extraneous package is still installed")


@suite.test
def without_a_lockfile_installed_packages_that_still_fit_are_kept(ctx):
    # npm starts from node_modules when there is no lockfile: what is installed and still
    # satisfies package.json stays (flags as they were), only the rest is resolved.
    reg = ctx.registry
    proj = ctx.project(pkg_json({"leaf": "1.0.0", "shared": "1.0.0"}, dev={"uses-leaf-1": "1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    proj.write("package.json", pkg_json({"leaf": "^1.0.0", "shared": "^1.0.0"})["package.json"])
    os.remove(proj.path("package-lock.json"))
    reg.clear_log()
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install without the lockfile")
    h.check_equal(proj.installed_version("leaf"), "1.0.0", "leaf (installed 1.0.0, newest ^1 is 1.1.0)", r)
    h.check_equal(proj.installed_version("shared"), "1.0.0", "shared", r)
    packages = proj.lockfile()["packages"]
    h.check_equal(packages["node_modules/leaf"]["version"], "1.0.0", "locked leaf", r)
    # uses-leaf-1 left package.json but nothing changed in the tree: npm keeps it as it was.
    h.check_equal(packages.get("node_modules/uses-leaf-1", {}).get("dev"), True,
                  "uses-leaf-1 kept with its dev flag", r)
    h.check_equal([e["path"] for e in reg.log() if e.get("kind") == "packument"], [],
                  "packument requests", r)
    # A change to the tree recomputes the flags: what nothing needs goes.
    proj.write("package.json", pkg_json({"leaf": "^1.0.0", "shared": "^1.0.0", "chain-d": "^1.0.0"})["package.json"])
    os.remove(proj.path("package-lock.json"))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with a new dependency")
    packages = proj.lockfile()["packages"]
    h.check_equal(packages["node_modules/leaf"]["version"], "1.0.0", "locked leaf after the change", r)
    h.check("node_modules/uses-leaf-1" not in packages, "uses-leaf-1 still locked", r)
    h.check_not_exists(proj.path("node_modules/uses-leaf-1"), "uses-leaf-1 still installed")


@suite.test
def node_modules_from_another_tool_is_the_starting_tree(ctx):
    # No hidden lockfile (another tool, an npm older than 7, or an install cut short): npm reads
    # the package folders themselves, keeps what still fits and removes what nothing needs.
    reg = ctx.registry
    proj = ctx.project(pkg_json({"leaf": "^1.0.0", "uses-leaf-2": "^1.0.0"}))
    def package(folder, name, version, deps=None):
        data = {"name": name, "version": version}
        if deps:
            data["dependencies"] = deps
        proj.write(folder + "/package.json", json.dumps(data))
        proj.write(folder + "/index.js", "module.exports = %r\n" % version)
    package("node_modules/leaf", "leaf", "1.0.0")
    package("node_modules/uses-leaf-2", "uses-leaf-2", "1.0.0", {"leaf": "^2.0.0"})
    package("node_modules/uses-leaf-2/node_modules/leaf", "leaf", "2.0.0")
    package("node_modules/shared", "shared", "1.0.0")  # nothing depends on it
    proj.write("node_modules/junk/readme.txt", "not a package")
    reg.clear_log()
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install over a node_modules without a hidden lockfile")
    h.check_equal(proj.installed_version("leaf"), "1.0.0", "leaf (1.0.0 on disk, newest ^1 is 1.1.0)", r)
    h.check_equal(proj.installed_version("uses-leaf-2/node_modules/leaf"), "2.0.0", "nested leaf", r)
    h.check_equal(proj.read_text("node_modules/leaf/index.js"), "module.exports = '1.0.0'\n",
                  "leaf's folder (kept as it was)", r)
    h.check_not_exists(proj.path("node_modules/shared"), "shared (extraneous)")
    h.check_not_exists(proj.path("node_modules/junk"), "junk (no package)")
    packages = proj.lockfile()["packages"]
    h.check_equal(packages["node_modules/leaf"]["version"], "1.0.0", "locked leaf", r)
    h.check_equal(packages["node_modules/uses-leaf-2/node_modules/leaf"]["version"], "2.0.0",
                  "locked nested leaf", r)
    h.check_equal([e["path"] for e in reg.log() if e.get("kind") == "tarball"], [],
                  "tarball requests (every package there fits)", r)
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install")
    h.check_output_matches(r, r"up to date", "second install is up to date")


@suite.test
def npm_linked_layout_becomes_a_hoisted_tree(ctx):
    # npm's install-strategy=linked puts packages in node_modules/.store and links them from
    # node_modules. A hoisted install over it replaces the links with folders (they are no
    # packages of the new tree, even where name and version agree) and empties the store.
    proj = ctx.project(pkg_json({"uses-leaf-1": "1.0.0", "leaf": "1.0.0"}))
    h.check_exit(ctx.npm(["install", "--install-strategy=linked", "--ignore-scripts"], proj), 0,
                 "npm install --install-strategy=linked")
    h.check(os.path.islink(proj.path("node_modules/leaf")), "npm's linked layout has no link for leaf")
    r = ctx.lade(L.install + ["--ignore-scripts"], proj)
    h.check_exit(r, 0, "install over npm's linked layout")
    for name in ("leaf", "uses-leaf-1"):
        h.check(not os.path.islink(proj.path("node_modules", name)) and
                os.path.isdir(proj.path("node_modules", name)), "node_modules/%s is still a link" % name, r)
        h.check_equal(proj.installed_version(name), "1.0.0", name, r)
    h.check_not_exists(proj.path("node_modules/.store"), "node_modules/.store")
    h.check_output_matches(r, r"removed 3 packages, and changed 2 packages",
                           "the store's two packages and one link removed, two links replaced")
    r = ctx.lade(L.install + ["--ignore-scripts"], proj)
    h.check_output_matches(r, r"up to date", "then up to date")


@suite.test
def overridden_peer_dependency_is_warned_about(ctx):
    # --force takes a peer conflict and installs anyway; npm says which peer it overrode.
    proj = ctx.project(pkg_json({"host": "^2.0.0", "plugin-a": "^1.0.0"}))
    r = ctx.lade(L.install + ["--force", "--package-lock-only"], proj)
    h.check_exit(r, 0, "install --force with a peer conflict")
    h.check_output_matches(r, r"warn.*ERESOLVE overriding peer dependency", "the ERESOLVE warning")
    h.check_output_matches(r, r"warn.*Found: host@2\.0\.0", "what the tree has")
    h.check_output_matches(r, r'warn.*peer host@"\^1\.0\.0" from plugin-a@1\.', "the peer it could not meet")


def eresolve_explanation(r):
    """The lines of an ERESOLVE explanation, without the tool's prefixes and npm's log lines."""
    out = []
    for line in (r.stdout + r.stderr).splitlines():
        if line.strip() in ("npm error", "npm warn", "lade warn:"):
            continue
        for prefix in ("npm error ", "npm warn ", "lade warn: ", "lade: "):
            if line.startswith(prefix):
                line = line[len(prefix):]
                break
        if line.startswith(("code ", "A complete log", "For a full report", "/")) or not line.strip():
            continue
        if re.search(r" in [0-9.]+m?s$", line):  # the summary line
            continue
        out.append(line.rstrip())
    return out


@suite.test
def peer_conflicts_are_explained_as_npm_explains_them(ctx):
    # npm's ERESOLVE report: what was being resolved, what the tree has and the dependency it
    # could not meet, each with the dependents that hold it there; as a warning with --force.
    files = pkg_json({"host": "^2.0.0", "plugin-a": "^1.0.0"})
    # A project without a version reads "app@undefined" in npm's report.
    unversioned = {"package.json": {"name": "app", "dependencies": {"host": "^2.0.0", "plugin-a": "^1.0.0"}}}
    # So does a workspace without one, in the dependents' lines ("from w@undefined").
    workspace = {"package.json": {"name": "app", "version": "1.0.0", "workspaces": ["w"]},
                 "w/package.json": {"name": "w", "dependencies": {"host": "^2.0.0", "plugin-a": "^1.0.0"}}}
    # A version of the project's own that does not exist: npm's "Found: host@undefined" names the
    # project's dependency on it (a prod one, then a dev one).
    missing = pkg_json({"host": "9.0.0", "plugin-a": "^1.0.0"})
    missing_dev = pkg_json({"plugin-a": "^1.0.0"}, dev={"host": "9.0.0"})
    for extra, files in (([], files), (["--force"], files), ([], unversioned), ([], workspace), ([], missing),
                         ([], missing_dev)):
        ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
        r = ctx.lade(L.install + ["--package-lock-only"] + extra, ours)
        n = ctx.npm(["install", "--package-lock-only"] + extra, theirs)
        h.check_exit(r, 0 if extra else 1, "install " + " ".join(extra))
        h.check_equal(eresolve_explanation(r), eresolve_explanation(n), "the explanation " + " ".join(extra), r,
                      expected_name="npm", actual_name="lade")
        h.check_output_contains(r, "Could not resolve dependency:")


@suite.test
def a_conflict_explained_before_bundles_are_opened_names_no_bundled_dependent(ctx):
    # bxp-host's optional peer wants bxp-peer 1, the project has 3. bxp-inner, only in
    # bxp-host's bundle, depends back on bxp-host. npm's install opens bundles after resolving,
    # so its report does not list bxp-inner among bxp-host's dependents; --package-lock-only
    # opens them while resolving, and its report does.
    files = pkg_json({"bxp-host": ">=1.0.0"}, peerDependencies={"bxp-peer": ">=3.0.0"})
    for extra in ([], ["--package-lock-only"]):
        ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
        r = ctx.lade(L.install + extra, ours)
        n = ctx.npm(["install"] + extra, theirs)
        h.check_exit(r, 1, "install " + " ".join(extra))
        h.check_equal(eresolve_explanation(r), eresolve_explanation(n), "the explanation " + " ".join(extra), r,
                      expected_name="npm", actual_name="lade")
        bundled_dependent = 'bxp-host@"<=1.2.0" from bxp-inner@0.2.0'
        if extra:
            h.check_output_contains(r, bundled_dependent)
        else:
            h.check(bundled_dependent not in r.stdout + r.stderr, "no bundled dependent before bundles open", r)


def warned_as_npm_warns(ctx, files, args):
    """`install <args>` with lade and with npm on the same project: lade succeeds, and its
    ERESOLVE warnings read as npm's. Returns (lade's result, lade's project, npm's project)."""
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    r = ctx.lade(L.install + args, ours)
    n = ctx.npm(["install"] + args, theirs)
    what = " ".join(["install"] + args)
    h.check_exit(r, 0, what)
    h.check_equal(eresolve_explanation(r), eresolve_explanation(n), "the warnings of " + what, r,
                  expected_name="npm", actual_name="lade")
    return r, ours, theirs


@suite.test
def a_peer_override_npm_cannot_explain_prints_its_heading_alone(ctx):
    # peerover-inner, below peerover-register, wants a peerover-core newer than the project's:
    # npm places it over the project's anyway, and its explanation names no conflicting peer,
    # so npm's printing of it fails after the heading line, which is all that shows.
    files = pkg_json(dev={"peerover-register": "~1.9.0", "peerover-core": "~1.5.0"})
    r, ours, theirs = warned_as_npm_warns(ctx, files, ["--package-lock-only"])
    h.check_output_matches(r, r"warn.*ERESOLVE overriding peer dependency", "the heading")
    h.check_equal(ours.read_text("package-lock.json"), theirs.read_text("package-lock.json"), "lockfile", r,
                  expected_name="npm", actual_name="lade")


@suite.test
def a_later_peer_warning_shows_a_package_as_it_was_first_explained(ctx):
    # With --force, fex-aplugin's peer conflict over fex-eslint is explained while fex-eslint
    # has two dependents. fex-eu, which fex-eslint brings, adds a third before fex-parser's
    # conflict is explained. arborist keeps a node's first explanation, so npm's second
    # warning still lists two ("1 more (fex-import)"), not three.
    files = pkg_json(dev={"fex-aplugin": "^6.0.0", "fex-eslint": "^9.0.0", "fex-import": "^2.0.0",
                          "fex-parser": "^6.0.0"})
    r, ours, theirs = warned_as_npm_warns(ctx, files, ["--force"])
    text = "\n".join(eresolve_explanation(r))
    h.check_equal(text.count("While resolving: fex-parser@6.0.0"), 1, "fex-parser's warning", r)
    h.check("1 more (fex-import)" in text.split("While resolving: fex-parser@6.0.0")[1],
            "fex-eslint's first explanation in fex-parser's warning", r)
    h.check_equal(ours.read_text("package-lock.json"), theirs.read_text("package-lock.json"), "lockfile", r,
                  expected_name="npm", actual_name="lade")


@suite.test
def root_project_install_scripts_run_in_order(ctx):
    # npm install without packages named, and npm ci, run the root's own install scripts last,
    # in npm's order, also when nothing changed; not with --ignore-scripts, not for an add.
    events = ["preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare"]
    scripts = {e: "node -e \"require('fs').appendFileSync('ran.txt', '%s ' + process.env.npm_lifecycle_event + '\\\\n')\"" % e
               for e in events}
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}, scripts=scripts))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install")
    want = "".join("%s %s\n" % (e, e) for e in events)
    h.check_equal(proj.read_text("ran.txt"), want, "root scripts run by install", r)
    h.check_output_matches(r, r"> app@1.0.0 postinstall", "npm's banner")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install (nothing to do)")
    h.check_equal(proj.read_text("ran.txt"), want * 2, "root scripts run again when up to date", r)
    os.remove(proj.path("ran.txt"))
    h.check_exit(ctx.lade(L.install + ["--ignore-scripts"], proj), 0, "install --ignore-scripts")
    h.check(not proj.exists("ran.txt"), "root scripts ran despite --ignore-scripts")
    h.check_exit(ctx.lade(L.add + ["shared@^1.0.0"], proj), 0, "add")
    h.check(not proj.exists("ran.txt"), "root scripts ran for an add")
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, 0, "ci")
    h.check_equal(proj.read_text("ran.txt"), want, "root scripts run by ci", r)
    # A failing root script fails the install.
    proj.write("package.json", pkg_json({"leaf": "^1.0.0"}, scripts={"postinstall": "exit 3"})["package.json"])
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install with a failing postinstall")


@suite.test
def failed_install_leaves_no_node_modules_behind(ctx):
    # A postinstall that fails ends the install; npm rolls back what it added, so a project
    # that had no node_modules has none afterwards (and ci leaves none either).
    src = ctx.project({"package.json": {"name": "failing", "version": "1.0.0",
                                        "scripts": {"postinstall": "exit 3"}}}, name="failing-src")
    h.check_exit(ctx.npm(["pack", "--pack-destination", ctx.sandbox.path()], src), 0, "npm pack")
    tgz = ctx.sandbox.path("failing-1.0.0.tgz")
    proj = ctx.project(pkg_json({"leaf": "^1.0.0", "failing": "file:" + tgz}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install with a failing postinstall")
    h.check_not_exists(proj.path("node_modules"), "node_modules left half-installed")
    h.check_exit(ctx.lade(L.install + ["--ignore-scripts"], proj), 0, "install --ignore-scripts")
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, "nonzero", "ci with a failing postinstall")
    left = os.listdir(proj.path("node_modules")) if os.path.isdir(proj.path("node_modules")) else []
    h.check_equal(left, [], "left in node_modules by ci (npm keeps the folder, empty)", r)


@suite.test
def failed_download_leaves_existing_node_modules_as_it_was(ctx):
    # npm's reify rolls back what it changed when a package cannot be installed. Nothing is
    # removed or replaced before every package the new tree needs is in hand, so a download
    # that fails its integrity check leaves the old tree and its hidden lockfile as they were.
    reg = ctx.registry
    reg.control(bad_integrity=["leaf@1.1.0"])  # before the packument is first read (and cached)
    proj = ctx.project(pkg_json({"leaf": "1.0.0", "shared": "1.0.0", "bin-string": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install + ["--ignore-scripts"], proj), 0, "first install")
    hidden_before = proj.read_bytes("node_modules/.package-lock.json")
    tree_before = proj.tree()
    proj.write("package.json", pkg_json({"leaf": "^1.1.0", "chain-a": "^1.0.0"})["package.json"])
    retry = ["--fetch-retries=0"] if L.is_npm_oracle() else []
    r = ctx.lade(L.install + ["--ignore-scripts"] + retry, proj)
    h.check_exit(r, "nonzero", "install whose new leaf fails its integrity check")
    h.check_output_contains(r, "EINTEGRITY")
    h.check_equal(proj.installed_version("leaf"), "1.0.0", "leaf after the failed install", r)
    h.check_equal(proj.installed_version("shared"), "1.0.0", "shared (no longer wanted) after it", r)
    h.check_not_exists(proj.path("node_modules/chain-a"), "chain-a (new) after the failed install")
    h.check_equal(proj.read_bytes("node_modules/.package-lock.json"), hidden_before,
                  "hidden lockfile after the failed install")
    h.check_equal(proj.tree(), tree_before, "node_modules after the failed install")
    reg.reset()
    r = ctx.lade(L.install + ["--ignore-scripts", "--prefer-online"], proj)
    h.check_exit(r, 0, "the same install once the registry is right")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf after the good install", r)
    h.check_not_exists(proj.path("node_modules/shared"), "shared after the good install")


def packed(ctx, name, version, **fields):
    """A tarball of a small package, made with npm pack (its path, for a file: spec)."""
    src = ctx.project({"package.json": dict({"name": name, "version": version}, **fields),
                       "cli.js": "#!/usr/bin/env node\nconsole.log(%r)\n" % (name + "@" + version)},
                      name="%s-%s-src" % (name, version))
    h.check_exit(ctx.npm(["pack", "--pack-destination", ctx.sandbox.path()], src), 0, "npm pack")
    return ctx.sandbox.path("%s-%s.tgz" % (name, version))


@suite.test
def scripts_of_bundled_packages_run(ctx):
    # npm's rebuild builds the packages a bundle brings too: inner, bundled in bundler's
    # tarball, runs its install script (before bundler's postinstall: the deeper first).
    log = 'node -e "require(\'fs\').appendFileSync(process.env.INIT_CWD + \'/log.txt\', process.argv[1] + \' \')" '
    src = ctx.project({
        "package.json": {"name": "bundler", "version": "1.0.0", "dependencies": {"inner": "1.0.0"},
                         "bundleDependencies": ["inner"], "scripts": {"postinstall": log + "bundler-postinstall"}},
        "node_modules/inner/package.json": {"name": "inner", "version": "1.0.0",
                                            "scripts": {"install": log + "inner-install"}},
    }, name="bundler-src")
    h.check_exit(ctx.npm(["pack", "--pack-destination", ctx.sandbox.path()], src), 0, "npm pack")
    proj = ctx.project(pkg_json({"bundler": "file:" + ctx.sandbox.path("bundler-1.0.0.tgz")}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with scripts")
    h.check_equal(proj.read_text("log.txt").split(), ["inner-install", "bundler-postinstall"],
                  "scripts run", r)


@suite.test
def dependency_scripts_run_event_by_event(ctx):
    # npm's rebuild runs every preinstall, then every install, then every postinstall: alpha's
    # postinstall (alpha needs zed) comes after zed's install, though alpha sorts first.
    log = 'node -e "require(\'fs\').appendFileSync(process.env.INIT_CWD + \'/log.txt\', process.argv[1] + \' \')" '
    zed = packed(ctx, "zed", "1.0.0", scripts={"install": log + "zed-install", "postinstall": log + "zed-postinstall"})
    alpha = packed(ctx, "alpha", "1.0.0", dependencies={"zed": "file:" + zed},
                   scripts={"preinstall": log + "alpha-preinstall", "postinstall": log + "alpha-postinstall"})
    proj = ctx.project(pkg_json({"alpha": "file:" + alpha, "zed": "file:" + zed}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with scripts")
    h.check_equal(proj.read_text("log.txt").split(),
                  ["alpha-preinstall", "zed-install", "alpha-postinstall", "zed-postinstall"],
                  "order of the dependencies' scripts", r)


@suite.test
def failed_script_puts_the_old_node_modules_back(ctx):
    # A dependency's install script fails after the new tree is in place: npm's reify puts back
    # the folders it moved aside and removes what it added, so the project is as before.
    tool1 = packed(ctx, "tool", "1.0.0", bin={"tool": "cli.js"})
    tool2 = packed(ctx, "tool", "2.0.0", bin={"tool": "cli.js", "tool-two": "cli.js"})
    failing = packed(ctx, "failing", "1.0.0", scripts={"postinstall": "exit 3"})
    proj = ctx.project(pkg_json({"leaf": "1.0.0", "shared": "1.0.0", "bin-string": "^1.0.0",
                                 "uses-leaf-2": "^1.0.0", "tool": "file:" + tool1}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    before = {f: proj.read_bytes(f) for f in ("package-lock.json", "node_modules/.package-lock.json",
                                              "node_modules/tool/cli.js")}
    tree_before = proj.tree()
    entries_before = sorted(os.listdir(proj.path("node_modules")))
    proj.write("package.json", pkg_json({"leaf": "^1.1.0", "tool": "file:" + tool2, "chain-a": "^1.0.0",
                                         "uses-leaf-2": "^1.0.0", "failing": "file:" + failing})["package.json"])
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install with a failing postinstall")
    tree_after = proj.tree()
    # npm's rollback leaves the link of the bin only tool 2 has (to tool 1's file); lade removes
    # it with the rest of what the failed install made.
    if L.is_npm_oracle():
        tree_after.pop("node_modules/.bin/tool-two", None)
    h.check_equal(tree_after, tree_before, "node_modules after the failed install (packages and bins)")
    for f, data in before.items():
        h.check_equal(proj.read_bytes(f), data, f + " after the failed install")
    h.check_equal(sorted(os.listdir(proj.path("node_modules"))), entries_before,
                  "entries of node_modules after the failed install")
    r = ctx.lade(L.install + ["--ignore-scripts"], proj)
    h.check_exit(r, 0, "the same install without scripts")
    h.check_equal(proj.installed_version("tool"), "2.0.0", "tool after it", r)
    h.check_not_exists(proj.path("node_modules/shared"), "shared after it")


@suite.test
def lockfile_version_and_integrity_that_disagree_fail(ctx):
    # A lockfile edited by hand (or merged badly): leaf's version says 1.1.0, its integrity is
    # still 1.0.0's. npm fetches 1.1.0 and fails its integrity check; installing the 1.0.0 the
    # integrity names (from the store) would leave a tree that is not the one locked.
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install + ["leaf@1.0.0"], proj), 0, "install leaf 1.0.0")
    proj.write("package.json", pkg_json({"leaf": "^1.0.0"})["package.json"])
    lock = proj.lockfile()
    lock["packages"]["node_modules/leaf"]["version"] = "1.1.0"
    lock["packages"]["node_modules/leaf"].pop("resolved", None)
    proj.write("package-lock.json", json.dumps(lock, indent=2) + "\n")
    retry = ["--fetch-retries=0"] if L.is_npm_oracle() else []
    for command in (L.install, L.ci):
        r = ctx.lade(command + ["--ignore-scripts"] + retry, proj)
        h.check_exit(r, "nonzero", " ".join(command) + " with leaf 1.1.0 locked to 1.0.0's integrity")
        h.check_output_contains(r, "EINTEGRITY")


@suite.test(lade_only=True)
def signal_during_an_upgrade_puts_the_old_tree_back(ctx):
    # SIGTERM while a dependency's postinstall runs, in an install that upgrades an existing
    # tree: the install stops, puts the old tree back (npm's reify rolls back on a signal too),
    # and ends by the signal.
    slow = packed(ctx, "slow", "1.0.0", scripts={"postinstall": "node -e \"setTimeout(() => {}, 1500)\""})
    proj = ctx.project(pkg_json({"leaf": "1.0.0", "shared": "1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    before = proj.read_bytes("node_modules/.package-lock.json")
    tree_before = proj.tree()
    proj.write("package.json", pkg_json({"leaf": "^1.1.0", "slow": "file:" + slow})["package.json"])
    p = h.start_lade(ctx.sandbox, L.install, proj.root, registry=ctx.registry)
    deadline = time.time() + 20
    while time.time() < deadline and not os.path.exists(proj.path("node_modules/slow/package.json")):
        time.sleep(0.02)
    time.sleep(0.3)  # inside the postinstall
    p.send_signal(15)
    p.wait(timeout=30)
    h.check_equal(p.returncode, -15, "exit by SIGTERM")
    h.check_equal(proj.tree(), tree_before, "node_modules after the signal")
    h.check_equal(proj.read_bytes("node_modules/.package-lock.json"), before, "hidden lockfile after the signal")
    h.check_equal(sorted(n for n in os.listdir(proj.path("node_modules")) if n.startswith(".lade-undo")), [],
                  "what was set aside is gone")


@suite.test
def lockfile_with_merge_conflicts_or_cut_short(ctx):
    # npm merges a lockfile with git's conflict markers (our side's changes applied on theirs)
    # and installs without a lockfile it cannot parse, writing it anew; lade must end where npm
    # does.
    def lock_for(leaf):
        p = ctx.project(pkg_json({"leaf": leaf, "shared": "^1.0.0"}), name="lock-" + leaf)
        h.check_exit(ctx.npm(["install", "--package-lock-only", "--ignore-scripts"], p), 0, "npm lockfile")
        return p.path("package-lock.json")
    # Ours pins the older leaf: a merge keeps it, where resolving afresh would give 1.1.0.
    base, ours, theirs = lock_for("3.0.0"), lock_for("1.0.0"), lock_for("1.1.0")
    merged = subprocess.run(["git", "merge-file", "-p", "--diff3", ours, base, theirs],
                            stdout=subprocess.PIPE, text=True).stdout
    h.check("<<<<<<<" in merged, "git merge-file made no conflict")
    files = pkg_json({"leaf": "^1.0.0", "shared": "^1.0.0"})
    for name, text in (("conflict", merged), ("cut-short", merged.replace("<<<<<<<", "")[:200])):
        proj = ctx.project(dict(files, **{"package-lock.json": text}), name="lade-" + name)
        other = ctx.project(dict(files, **{"package-lock.json": text}), name="npm-" + name)
        r = ctx.lade(L.install, proj)
        h.check_exit(r, 0, "install with a lockfile " + name)
        h.check_exit(ctx.npm(["install", "--ignore-scripts"], other), 0, "npm install, lockfile " + name)
        h.check_equal(proj.read_text("package-lock.json"), other.read_text("package-lock.json"),
                      "package-lock.json after a lockfile " + name, r, expected_name="npm", actual_name="lade")
        h.check_equal(proj.tree(), other.tree(), "node_modules", r, expected_name="npm", actual_name="lade")
        if name == "conflict":
            h.check_equal(proj.installed_version("leaf"), "1.0.0", "leaf from the merged lockfile", r)


@suite.test
def loglevel_error_hides_warnings(ctx):
    # engine-picky wants node >=99: a warning, which --loglevel=error (flag or .npmrc) hides.
    proj = ctx.project(pkg_json({"engine-picky": "^1.0.0"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install")
    h.check_output_matches(r, r"EBADENGINE", "the warning, by default")
    shutil.rmtree(proj.path("node_modules"))
    r = ctx.lade(L.install + ["--loglevel=error"], proj)
    h.check_exit(r, 0, "install --loglevel=error")
    h.check("EBADENGINE" not in r.stderr + r.stdout, "warning printed with --loglevel=error", r)
    shutil.rmtree(proj.path("node_modules"))
    proj.write(".npmrc", "loglevel=error\n")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with loglevel=error in .npmrc")
    h.check("EBADENGINE" not in r.stderr + r.stdout, "warning printed with .npmrc loglevel=error", r)


SCRIPTED = {"script-pre": "^2.0.0", "needs-script-pre": "^1.0.0", "has-postinstall": "^1.0.0",
            "leaf": "^1.0.0"}


def script_markers(proj):
    found = []
    for top, _, files in os.walk(proj.path("node_modules")):
        found += [os.path.relpath(os.path.join(top, f), proj.path()) for f in files if f.endswith("-ran.txt")]
    return sorted(found)


@suite.test
def allow_scripts_policy_denies_and_lists_unreviewed(ctx):
    # npm 11.19's allowScripts (package.json) or allow-scripts (.npmrc): a denied package keeps
    # its bins but runs no install script; those not named run and are listed in a warning.
    proj = ctx.project(pkg_json(SCRIPTED, allowScripts={"script-pre@1.0.0": False, "has-postinstall": True}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with an allowScripts policy")
    h.check_equal(script_markers(proj), ["node_modules/has-postinstall/postinstall-ran.txt",
                                         "node_modules/script-pre/install-ran.txt",
                                         "node_modules/script-pre/preinstall-ran.txt"],
                  "scripts that ran (script-pre@1.0.0 denied)", r)
    h.check_output_matches(r, r"1 package has install scripts not yet covered by allowScripts",
                           "the unreviewed warning")
    h.check_output_matches(r, r"script-pre@2\.0\.0 \(preinstall: node -e .*; install: node -e",
                           "the unreviewed package and its scripts")
    # Nothing to do the second time, and npm still warns.
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install")
    h.check_output_matches(r, r"up to date", "nothing to do")
    h.check_output_matches(r, r"1 package has install scripts not yet covered", "warned again")
    # A list in .npmrc allows them all; package.json's own field would win over it.
    other = ctx.project(pkg_json(SCRIPTED), name="npmrc-policy")
    other.write(".npmrc", "allow-scripts=has-postinstall, script-pre\n")
    r = ctx.lade(L.install + ["--json"], other)
    h.check_exit(r, 0, "install with allow-scripts in .npmrc")
    h.check("unreviewedScripts" not in r.stdout, "all allowed: nothing unreviewed", r)
    h.check_equal(len(script_markers(other)), 5, "every script ran", r)


@suite.test
def unreviewed_scripts_in_npms_order(ctx):
    # npm lists them in its inventory's order: placement order without a lockfile (zz, a root
    # dependency, before script-pre, placed for needs-script-pre), location order with one.
    proj = ctx.project(pkg_json({"zz": "npm:has-postinstall@^1.0.0", "needs-script-pre": "^1.0.0"}))
    names = lambda r: re.findall(r"warn:?.*  ((?:has-postinstall|script-pre)@1\.0\.0) \(", r.stderr)
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install without a lockfile")
    h.check_equal(names(r), ["has-postinstall@1.0.0", "script-pre@1.0.0"], "order without a lockfile", r)
    shutil.rmtree(proj.path("node_modules"))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install from the lockfile")
    h.check_equal(names(r), ["script-pre@1.0.0", "has-postinstall@1.0.0"], "order from the lockfile", r)


@suite.test
def allow_scripts_strict_mode_and_command_line(ctx):
    proj = ctx.project(pkg_json(SCRIPTED, allowScripts={"has-postinstall": True}))
    proj.write(".npmrc", "strict-allow-scripts=true\n")
    r = ctx.lade(L.install, proj)
    h.check(r.returncode != 0, "strict-allow-scripts with unreviewed packages must fail", r)
    h.check_output_matches(r, r"ESTRICTALLOWSCRIPTS", "the error code")
    h.check_output_matches(r, r"2 package\(s\) have install scripts not covered by allowScripts",
                           "the packages counted")
    h.check(not os.path.exists(proj.path("node_modules")), "nothing installed", r)
    proj.write("package.json", json.dumps(pkg_json(SCRIPTED, allowScripts={
        "has-postinstall": True, "script-pre": False})["package.json"]))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "strict mode with every package reviewed")
    h.check_equal(script_markers(proj), ["node_modules/has-postinstall/postinstall-ran.txt"],
                  "only the allowed script ran", r)
    # A command-line list has no place in a project install.
    other = ctx.project(pkg_json({"leaf": "^1.0.0"}), name="cli-list")
    r = ctx.lade(L.install + ["--allow-scripts=leaf"], other)
    h.check(r.returncode != 0, "--allow-scripts in a project must fail", r)
    h.check_output_matches(r, r"EALLOWSCRIPTS", "the error code")
    r = ctx.lade(L.install + ["--dangerously-allow-all-scripts"], proj)
    h.check_exit(r, 0, "--dangerously-allow-all-scripts")
    h.check("not yet covered" not in r.stderr + r.stdout, "no warning when all are allowed", r)


@suite.test
def binding_gyp_gets_node_gyp_rebuild_and_npm_settings_reach_scripts(ctx):
    # A package with a binding.gyp and no install script gets npm's default one, `node-gyp
    # rebuild` (here the project's own node-gyp bin, which PATH finds before npm's), and its
    # lockfile entries say hasInstallScript. Scripts see npm's settings and package fields as
    # npm_config_* / npm_package_* variables.
    dump = ("node -e \"const e=process.env; require('fs').writeFileSync('env.txt', "
            "[e.npm_config_nodedir, e.npm_config_some_setting, e.npm_package_config_port, "
            "e.npm_package_engines_node, e.npm_package_name].join('|'))\"")
    proj = ctx.project(pkg_json({"gyp-addon": "^1.0.0", "fake-node-gyp": "^1.0.0"}, config={"port": "8080"},
                                engines={"node": ">=8"}, scripts={"postinstall": dump}))
    proj.write(".npmrc", "nodedir=/opt/node-headers\nsome-setting=on\n")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install of a package with a binding.gyp")
    h.check_equal(proj.read_text("node_modules/gyp-addon/gyp-ran.txt"), "rebuild nodedir=/opt/node-headers",
                  "node-gyp rebuild ran with npm's settings", r)
    for lock in ("package-lock.json", "node_modules/.package-lock.json"):
        entry = json.loads(proj.read_text(lock))["packages"]["node_modules/gyp-addon"]
        h.check_equal(entry.get("hasInstallScript"), True, lock + " hasInstallScript", r)
    h.check_equal(proj.read_text("env.txt"), "/opt/node-headers|on|8080|>=8|app",
                  "npm_config_* and npm_package_* in a script", r)


@suite.test
def dependency_script_output_shows_only_when_it_fails(ctx):
    # npm keeps a dependency's script output to itself unless the script fails.
    tgzs = {}
    for name, script in (("chatty-ok", "echo CHATTY-$((40+2))"), ("chatty-fail", "echo CHATTY-$((40+3)); exit 4")):
        src = ctx.project({"package.json": {"name": name, "version": "1.0.0", "scripts": {"postinstall": script}}},
                          name=name + "-src")
        h.check_exit(ctx.npm(["pack", "--pack-destination", ctx.sandbox.path()], src), 0, "npm pack " + name)
        tgzs[name] = ctx.sandbox.path(name + "-1.0.0.tgz")
    proj = ctx.project(pkg_json({"chatty-ok": "file:" + tgzs["chatty-ok"]}), name="quiet")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with a script that prints")
    h.check("CHATTY-42" not in r.stdout + r.stderr, "a script's output was shown", r)
    proj = ctx.project(pkg_json({"chatty-fail": "file:" + tgzs["chatty-fail"]}), name="loud")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 4, "install whose dependency's script exits 4")
    h.check("CHATTY-43" in r.stdout + r.stderr, "the failed script's output is not shown", r)


@suite.test
def os_and_cpu_settings_pick_another_platforms_optionals(ctx):
    # npm's --os/--cpu (and os= in .npmrc): optional packages for that platform, not this one.
    proj = ctx.project(pkg_json({"platform-tool": "^1.0.0"}))
    r = ctx.lade(L.install + ["--os=darwin", "--cpu=arm64"], proj)
    h.check_exit(r, 0, "install --os=darwin --cpu=arm64")
    h.check_equal(sorted(os.listdir(proj.path("node_modules", "@plat"))), ["tool-darwin-arm64"],
                  "platform packages installed", r)
    proj.write(".npmrc", "os=win32\ncpu=x64\n")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with os=win32 in .npmrc")
    h.check_equal(sorted(os.listdir(proj.path("node_modules", "@plat"))), ["tool-win32-x64"],
                  "platform packages after the .npmrc change", r)


@suite.test
def before_and_min_release_age_hold_back_new_versions(ctx):
    # npm's before (a date) and min-release-age (days): versions published later are not
    # installed; min-release-age-exclude exempts packages by name.
    proj = ctx.project(pkg_json({"leaf": "*", "shared": "^1.0.0"}))
    r = ctx.lade(L.install + ["--before=2020-01-02T12:00:00Z"], proj)
    h.check_exit(r, 0, "install --before")
    h.check_equal(h.versions_only(proj.tree()), {"node_modules/leaf": "1.1.0", "node_modules/shared": "1.1.0"},
                  "versions published by 2020-01-02 12:00", r)
    fresh = ctx.project(pkg_json({}), name="fresh")
    fresh.write(".npmrc", "min-release-age=1\n")
    r = ctx.lade(L.install + ["fresh-release"], fresh)
    h.check_exit(r, 0, "add with min-release-age=1")
    h.check_equal(fresh.installed_version("fresh-release"), "1.0.0", "the release old enough", r)
    h.check_equal(fresh.package_json()["dependencies"], {"fresh-release": "^1.0.0"}, "saved spec", r)
    fresh.write(".npmrc", "min-release-age=1\nmin-release-age-exclude=fresh-*\n")
    r = ctx.lade(L.install + ["fresh-release@latest"], fresh)
    h.check_exit(r, 0, "add with the package exempt")
    h.check_equal(fresh.installed_version("fresh-release"), "1.1.0", "exempt: the newest", r)


@suite.test
def invalid_settings_are_warned_about(ctx):
    # npm warns about a setting it cannot read and goes on without it.
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
    proj.write(".npmrc", "fetch-retries=abc\n")
    r = ctx.lade(L.install + ["--before=yesterday"], proj)
    h.check_exit(r, 0, "install with settings it cannot read")
    h.check_output_matches(r, r"invalid config before=\"?yesterday", "the --before warning")
    h.check_output_matches(r, r"invalid config fetch-retries=\"?abc", "the .npmrc warning")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "installed as without them", r)


@suite.test
def bundled_package_bins_from_directories_bin(ctx):
    # npm reads a bundled package's package.json from the tarball and turns its directories.bin
    # into bins (npm 7's own bundled sshpk has no "bin" of its own).
    files = pkg_json({"bundles-dirbin": "^1.0.0"})
    proj = ctx.project(files)
    r = ctx.lade(L.install + [L.package_lock_only], proj)
    h.check_exit(r, 0, "install --package-lock-only")
    entry = proj.lockfile()["packages"]["node_modules/bundles-dirbin/node_modules/dirbin-tool"]
    h.check_equal(entry.get("bin"), {"dirbin-a": "bin/dirbin-a", "dirbin-b": "bin/dirbin-b"},
                  "bins of the bundled package", r)


@suite.test
def optional_package_whose_script_fails_is_left_out(ctx):
    # npm removes an optional package whose install script fails, with what only it needed:
    # not on disk, not in the hidden lockfile, not counted; package-lock.json keeps it.
    marker = ctx.sandbox.path("failing-opt-ran.txt")
    src = ctx.project({"package.json": {"name": "failing-opt", "version": "1.0.0",
                                        "dependencies": {"chain-d": "^1.0.0"},
                                        "scripts": {"postinstall": "echo ran >> '%s'; exit 3" % marker}}},
                      name="failing-src")
    h.check_exit(ctx.npm(["pack", "--pack-destination", ctx.sandbox.path()], src), 0, "npm pack")
    tgz = ctx.sandbox.path("failing-opt-1.0.0.tgz")
    proj = ctx.project(pkg_json({"shared": "^1.0.0"}, optionalDependencies={"failing-opt": "file:" + tgz}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with a failing optional postinstall")
    h.check_output_matches(r, r"added 1 package", "count without the failed optional set")
    for gone in ("failing-opt", "chain-d"):
        h.check_not_exists(proj.path("node_modules", gone), gone + " left on disk")
    hidden = json.loads(proj.read_text("node_modules/.package-lock.json"))["packages"]
    h.check_equal(sorted(hidden), ["node_modules/shared"], "hidden lockfile entries", r)
    h.check("node_modules/failing-opt" in proj.lockfile()["packages"], "dropped from package-lock.json", r)
    # Not "up to date" for good: the next install tries the optional package again.
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install")
    with open(marker) as f:
        h.check_equal(f.read(), "ran\nran\n", "the failing script's runs", r)


@suite.test
def json_output_lists_what_changed_as_npm_does(ctx):
    # npm's --json: add, added, audited, change, changed, funding, remove, removed, with each
    # package's name, version and path; --dry-run prints "add <name> <version>" lines.
    proj = ctx.project(pkg_json({"leaf": "1.0.0", "shared": "1.0.0"}))
    r = ctx.lade(L.install + ["--json"], proj)
    h.check_exit(r, 0, "install --json")
    out = json.loads(r.stdout)
    for key in ("add", "added", "audited", "change", "changed", "funding", "remove", "removed"):
        h.check(key in out, "--json output lacks %r" % key, r)
    root = os.path.realpath(proj.root)
    h.check_equal(sorted((a["name"], a["version"], os.path.realpath(a["path"])) for a in out["add"]),
                  [("leaf", "1.0.0", os.path.join(root, "node_modules/leaf")),
                   ("shared", "1.0.0", os.path.join(root, "node_modules/shared"))], "add list", r)
    proj.write("package.json", pkg_json({"leaf": "1.1.0", "uses-leaf-1": "1.0.0"})["package.json"])
    r = ctx.lade(L.install + ["--dry-run"], proj)
    h.check_exit(r, 0, "install --dry-run")
    for line in ("add uses-leaf-1 1.0.0", "change leaf 1.0.0 => 1.1.0", "remove shared 1.0.0"):
        h.check(line in r.stdout.splitlines(), "--dry-run does not print %r" % line, r)
    r = ctx.lade(L.install + ["--json"], proj)
    h.check_exit(r, 0, "second install --json")
    out = json.loads(r.stdout)
    h.check_equal([(a["name"], a["version"]) for a in out["add"]], [("uses-leaf-1", "1.0.0")], "add", r)
    h.check_equal([(c["from"]["version"], c["to"]["version"]) for c in out["change"]], [("1.0.0", "1.1.0")],
                  "change", r)
    h.check_equal([(a["name"], a["version"]) for a in out["remove"]], [("shared", "1.0.0")], "remove", r)
    h.check_equal((out["added"], out["changed"], out["removed"]), (1, 1, 1), "counts", r)


@suite.test
def listed_changes_come_in_npm_diff_order(ctx):
    # npm walks its diff tree depth first from the last entry: --dry-run and --long lines and
    # --json's lists come in that order (last placed first, nested packages after their
    # parent; over an existing tree, what it had first, then what is new).
    def lines(r):
        return [l for l in r.stdout.splitlines() if l.split(" ")[0] in ("add", "change", "remove")]

    def json_lists(r, proj):
        out = json.loads(r.stdout[r.stdout.index("{"):])
        rel = lambda p: os.path.relpath(os.path.realpath(p), os.path.realpath(proj.root))
        return {k: [rel(e["path"] if "path" in e else e["to"]["path"]) for e in out[k]]
                for k in ("add", "change", "remove")}

    first = pkg_json({"uses-leaf-2": "1.0.0", "leaf": "1.0.0", "chain-a": "1.0.0", "shared": "1.0.0",
                      "sort-z": "1.0.0", "sort-a": "1.0.0"})
    ours = ctx.project(first, name="lade")
    theirs = ctx.project(first, name="npm")
    r, n = ctx.lade(L.install + ["--dry-run"], ours), ctx.npm(["install", "--dry-run"], theirs)
    h.check_exit(r, 0, "install --dry-run")
    h.check_exit(n, 0, "npm install --dry-run")
    h.check_equal(lines(r), lines(n), "--dry-run lines of a fresh resolution",
                  expected_name="npm", actual_name="lade")
    # The whole output, the empty line before the summary included.
    shape = lambda res: [re.sub(r" in [0-9.]+m?s$", " in T", l) for l in res.stdout.splitlines()]
    h.check_equal(shape(r), shape(n), "--dry-run output", r, expected_name="npm", actual_name="lade")
    r, n = ctx.lade(L.install + ["--long"], ours), ctx.npm(["install", "--long"], theirs)
    h.check_exit(r, 0, "install --long")
    h.check_exit(n, 0, "npm install --long")
    h.check_equal(lines(r), lines(n), "--long lines", expected_name="npm", actual_name="lade")
    h.check(len(lines(r)) > 6, "--long lists nothing", r)
    r, n = ctx.lade(L.install, ours), ctx.npm(["install"], theirs)
    h.check_equal(shape(r), shape(n), "the output of an install with nothing to do", r,
                  expected_name="npm", actual_name="lade")

    second = pkg_json({"uses-leaf-2": "1.0.0", "leaf": "1.1.0", "uses-leaf-1": "1.0.0", "sort-a": "1.0.0",
                       "@fx/scoped-a": "^1.0.0"})["package.json"]
    ours.write("package.json", second)
    theirs.write("package.json", second)
    r, n = ctx.lade(L.install + ["--dry-run"], ours), ctx.npm(["install", "--dry-run"], theirs)
    h.check_equal(lines(r), lines(n), "--dry-run lines over an existing tree",
                  expected_name="npm", actual_name="lade")
    h.check(any(l.startswith("remove") for l in lines(r)) and any(l.startswith("change") for l in lines(r)),
            "the second install should remove and change packages", r)
    r = ctx.lade(L.install + ["--dry-run", "--json"], ours)
    n = ctx.npm(["install", "--dry-run", "--json"], theirs)
    h.check_equal(json_lists(r, ours), json_lists(n, theirs), "--json lists over an existing tree",
                  expected_name="npm", actual_name="lade")
    # A link removed with packages: listed first (links come last in npm's tree), with its
    # folder's version.
    third = dict(second, dependencies=dict(second["dependencies"], local="file:local"))
    for proj in (ours, theirs):
        proj.write("local/package.json", {"name": "local", "version": "1.2.3"})
        proj.write("package.json", third)
        h.check_exit(ctx.lade(L.install, proj) if proj is ours else ctx.npm(["install"], proj), 0, "install")
    r, n = ctx.lade(["uninstall", "local", "uses-leaf-2", "-l"], ours), ctx.npm(["uninstall", "local", "uses-leaf-2", "-l"], theirs)
    h.check_equal(lines(r), lines(n), "uninstall -l lines with a link", r, expected_name="npm", actual_name="lade")
    h.check("remove local 1.2.3" in lines(r), "the link's line", r)


@suite.test
def package_lock_only_turns_package_lock_back_on(ctx):
    # npm's flattening: package-lock-only sets package-lock, so the lockfile is written even
    # with --no-package-lock or package-lock=false.
    for flag in ("--no-package-lock", "--package-lock=false"):
        proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
        r = ctx.lade(L.install + [L.package_lock_only, flag], proj)
        h.check_exit(r, 0, "install --package-lock-only " + flag)
        h.check(proj.lockfile() is not None, "no package-lock.json with --package-lock-only " + flag, r)
        h.check_not_exists(proj.path("node_modules"), "node_modules made")


@suite.test
def hidden_lockfile_names_the_project_only_with_a_lockfile(ctx):
    # npm's node_modules/.package-lock.json has the top-level name and version only when
    # package-lock.json was read or written by the install.
    for flags, named in (([], True), (["--no-package-lock"], False), (["--no-save"], False)):
        proj = ctx.project(pkg_json({"leaf": "^1.0.0"}))
        r = ctx.lade(L.install + flags, proj)
        h.check_exit(r, 0, "install " + " ".join(flags))
        hidden = json.loads(proj.read_text("node_modules/.package-lock.json"))
        h.check_equal("name" in hidden, named, "hidden lockfile has a name after install " + " ".join(flags), r)


@suite.test
def dev_engines_are_checked_before_installing(ctx):
    # npm refuses to install when package.json's devEngines wants another runtime (onFail
    # "error", the default), warns with onFail "warn", and goes on with --force.
    proj = ctx.project(pkg_json({"leaf": "^1.0.0"}, devEngines={"runtime": {"name": "node", "version": ">=99"}}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install with devEngines.runtime node >=99")
    h.check_output_contains(r, "EBADDEVENGINES", "Invalid devEngines.runtime")
    h.check_not_exists(proj.path("node_modules"), "installed despite devEngines")
    r = ctx.lade(L.install + ["--force"], proj)
    h.check_exit(r, 0, "install --force")
    h.check_output_contains(r, "EBADDEVENGINES")
    proj.write("package.json", pkg_json({"leaf": "^1.0.0"}, devEngines={
        "runtime": [{"name": "bun"}, {"name": "node", "version": ">=99", "onFail": "warn"}],
        "packageManager": {"name": "npm", "onFail": "error"}})["package.json"])
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with a warn-only devEngines")
    h.check_output_contains(r, "EBADDEVENGINES")


@suite.test
def install_repairs_a_damaged_tree(ctx):
    proj = ctx.project(pkg_json({"uses-leaf-1": "^1.0.0", "bin-string": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    shutil.rmtree(proj.path("node_modules/leaf"))
    os.remove(proj.path("node_modules/.bin/bin-string"))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "removed package restored", r)
    h.check_executable(proj.path("node_modules/.bin/bin-string"))


@suite.test
def install_notices_package_folders_changed_behind_its_back(ctx):
    # npm trusts its hidden lockfile only while no package folder is newer; a folder replaced
    # by hand (or by another tool) is read as it is, and set right.
    proj = ctx.project(pkg_json({"uses-leaf-1": "^1.0.0", "shared": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    time.sleep(0.05)
    shutil.rmtree(proj.path("node_modules/leaf"))
    proj.write("node_modules/leaf/package.json", {"name": "leaf", "version": "1.0.0"})
    os.remove(proj.path("node_modules/shared/package.json"))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf replaced by 1.0.0 by hand", r)
    h.check_equal(proj.installed_version("shared"), "1.1.0", "shared without its package.json", r)
    h.check(proj.exists("node_modules/leaf/index.js"), "leaf reinstalled without its files", r)


@suite.test
def install_removes_a_folder_put_into_a_nested_node_modules(ctx):
    # npm reads every node_modules folder on disk: a package folder nobody installed is
    # extraneous wherever it is, and goes.
    proj = ctx.project(pkg_json({"uses-leaf-2": "^1.0.0", "leaf": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    h.check(proj.exists("node_modules/uses-leaf-2/node_modules/leaf"), "the fixture nests leaf@2")
    proj.write("node_modules/uses-leaf-2/node_modules/stray/package.json", {"name": "stray", "version": "1.0.0"})
    proj.write("node_modules/uses-leaf-2/node_modules/@s/stray/package.json", {"name": "@s/stray", "version": "1.0.0"})
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install")
    h.check_not_exists(proj.path("node_modules/uses-leaf-2/node_modules/stray"), "the stray folder")
    h.check_not_exists(proj.path("node_modules/uses-leaf-2/node_modules/@s/stray"), "the scoped stray folder")
    h.check(proj.exists("node_modules/uses-leaf-2/node_modules/leaf/package.json"), "the nested leaf stays", r)
    h.check_output_matches(r, r"removed 2 packages", "both counted")


@suite.test
def package_replaced_during_resolution_leaves_no_bundled_folder_behind(ctx):
    # swap-bundler 1.2.0 (bundling bundled-dep) is placed for aa-swap-user, then replaced by
    # 0.1.0 for zz-swap-peer's peer. lade may have linked 1.2.0 already while it resolved; what
    # its tarball bundled goes with it.
    proj = ctx.project(pkg_json({"aa-swap-user": "1.0.0", "zz-swap-host": "1.0.0"}))
    for attempt in range(3):
        shutil.rmtree(proj.path("node_modules"), ignore_errors=True)
        if proj.exists("package-lock.json"):
            os.remove(proj.path("package-lock.json"))
        r = ctx.lade(L.install + ["--ignore-scripts"], proj)
        h.check_exit(r, 0, "install, attempt %d" % attempt)
        h.check_equal(proj.installed_version("swap-bundler"), "0.1.0", "swap-bundler", r)
        h.check_equal(sorted(proj.lockfile()["packages"]), ["", "node_modules/aa-swap-user", "node_modules/swap-bundler",
                                                           "node_modules/zz-swap-host", "node_modules/zz-swap-peer"],
                      "the lockfile's packages", r)
        h.check_not_exists(proj.path("node_modules/swap-bundler/node_modules"),
                           "swap-bundler 1.2.0's bundled folder, attempt %d" % attempt)


@suite.test
def install_leaves_unmet_what_a_newly_bundled_package_lacks(ctx):
    # npm's install resolves the tree first and opens bundles after, when it extracts them: what
    # bnd-inner (bundled by bnd-host) needs and the bundle lacks stays unmet, even once bnd-user
    # puts a bnd-leaf it does not accept at the top. --package-lock-only opens bundles while it
    # resolves, and places a bnd-leaf 1 for it.
    deps = {"bnd-host": "1.0.0", "bnd-user": "1.0.0"}
    proj = ctx.project(pkg_json(deps))
    r = ctx.lade(L.install + ["--ignore-scripts"], proj)
    h.check_exit(r, 0, "install")
    h.check_equal(sorted(proj.lockfile()["packages"]),
                  ["", "node_modules/bnd-host", "node_modules/bnd-host/node_modules/bnd-inner",
                   "node_modules/bnd-leaf", "node_modules/bnd-user"], "the lockfile's packages", r)
    h.check_equal(proj.installed_version("bnd-leaf"), "2.0.0", "bnd-leaf at the top", r)
    h.check_not_exists(proj.path("node_modules/bnd-host/node_modules/bnd-leaf"), "a bnd-leaf for bnd-inner")
    lock_only = ctx.project(pkg_json(deps))
    r = ctx.lade(L.install + ["--package-lock-only"], lock_only)
    h.check_exit(r, 0, "install --package-lock-only")
    h.check_equal(lock_only.lockfile()["packages"].get("node_modules/bnd-host/node_modules/bnd-leaf", {}).get("version"),
                  "1.0.0", "the bnd-leaf locked for bnd-inner", r)


@suite.test
def the_install_after_resolves_what_a_newly_bundled_package_lacks(ctx):
    # npm's next install reads bnd-inner from the lockfile like any other package and resolves
    # its unmet bnd-leaf, though nothing changed. Placed in bnd-host for a bundled package, that
    # bnd-leaf counts as bundled: it is locked, but npm installs no bundled package of a bundler
    # that stays.
    files = pkg_json({"bnd-host": "1.0.0", "bnd-user": "1.0.0"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    for what in ("first install", "second install"):
        r = install_as_npm_does(ctx, ours, theirs, what)
    h.check_equal(ours.lockfile()["packages"]["node_modules/bnd-host/node_modules/bnd-leaf"].get("inBundle"),
                  True, "bnd-inner's bnd-leaf, locked", r)
    h.check_not_exists(ours.path("node_modules/bnd-host/node_modules/bnd-leaf"), "bnd-inner's bnd-leaf")
    r = ctx.lade(L.install + ["--ignore-scripts"], ours)
    h.check_exit(r, 0, "third install")
    h.check_output_matches(r, r"up to date", "the third install")


@suite.test
def what_a_bundled_package_lacks_is_resolved_once_it_is_locked(ctx):
    # sbx-inner 1.0.0, bundled by sbx-host, needs sbx-helper 1, which the project's sbx-helper 2
    # does not satisfy. The first install leaves that unresolved; the second places sbx-helper 1
    # in sbx-host (locked as bundled, so not installed), whose peer sbx-inner 1.1 conflicts
    # with the bundled copy: npm warns and keeps it. The third has nothing to do.
    files = pkg_json({"sbx-host": "1.0.0", "sbx-helper": "2.0.0"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    for what in ("first install", "second install", "third install"):
        r = install_as_npm_does(ctx, ours, theirs, what, ("package-lock.json", "node_modules/.package-lock.json"))
        if what == "second install":
            h.check_output_contains(r, 'peer sbx-inner@"1.1.x" from sbx-helper@1.0.0')
    h.check_equal(ours.installed_version("sbx-host/node_modules/sbx-inner"), "1.0.0", "the bundled sbx-inner", r)
    h.check_not_exists(ours.path("node_modules/sbx-host/node_modules/sbx-helper"), "sbx-helper 1 in sbx-host")
    h.check_output_matches(r, r"up to date", "the third install")


@suite.test
def a_bundling_package_placed_inside_a_bundle_is_not_opened(ctx):
    # The second install resolves nbb-mid's unmet nbb-sub 1 and places it inside nbb-host, where
    # it counts as bundled: npm never unpacks it, so never learns of the nbb-leaf it bundles,
    # and locks none.
    files = pkg_json({"nbb-host": "1.0.0", "nbb-sub": "2.0.0"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    for what in ("first install", "second install"):
        r = install_as_npm_does(ctx, ours, theirs, what)
    packages = ours.lockfile()["packages"]
    h.check_equal(packages["node_modules/nbb-host/node_modules/nbb-sub"].get("version"), "1.0.0", "nbb-sub 1, locked", r)
    h.check("node_modules/nbb-host/node_modules/nbb-sub/node_modules/nbb-leaf" not in packages,
            "what nbb-sub 1 bundles is locked", r)


@suite.test
def install_flags_the_tree_it_resolved_before_opening_bundles(ctx):
    # npm's install computes the lockfile's flags on the tree it resolved, bundles unopened:
    # there bfl-host's edge to the bfl-shared it bundles reaches the root's peer bfl-shared 2,
    # which is then no peer's alone. --package-lock-only opens the bundle first.
    files = {"package.json": {"name": "p", "version": "1.0.0", "dependencies": {"bfl-host": "1.0.0"},
                              "peerDependencies": {"bfl-shared": "2.0.0"}}}
    proj = ctx.project(files)
    r = ctx.lade(L.install + ["--ignore-scripts"], proj)
    h.check_exit(r, 0, "install")
    packages = proj.lockfile()["packages"]
    h.check_equal(packages["node_modules/bfl-shared"].get("version"), "2.0.0", "bfl-shared at the top", r)
    h.check_equal(packages["node_modules/bfl-shared"].get("peer"), None, "the top bfl-shared's peer flag", r)
    h.check_equal(packages["node_modules/bfl-host/node_modules/bfl-shared"].get("inBundle"), True,
                  "the bundled bfl-shared", r)
    lock_only = ctx.project(files)
    r = ctx.lade(L.install + ["--package-lock-only"], lock_only)
    h.check_exit(r, 0, "install --package-lock-only")
    h.check_equal(lock_only.lockfile()["packages"]["node_modules/bfl-shared"].get("peer"), True,
                  "the top bfl-shared's peer flag with --package-lock-only", r)


@suite.test
def flags_after_a_bundle_opens_go_on_from_the_ones_before(ctx):
    # Bundles unopened, dvo-bundler's edge to the dvo-plugin it bundles reaches the project's
    # dev dvo-plugin 1, which is then no dev's alone, and its optional peer dvo-target is
    # reached both from dev and as an optional: devOptional. npm's walk from the opened
    # bundler clears flags further but sets none back, so they stay so in its lockfile.
    files = pkg_json({"dvo-bundler": "1.0.0"}, dev={"dvo-plugin": "1.0.0", "dvo-target": "*"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    r = ctx.lade(L.install + ["--ignore-scripts"], ours)
    n = ctx.npm(["install", "--ignore-scripts"], theirs)
    h.check_exit(r, 0, "install")
    h.check_exit(n, 0, "npm install")
    packages = ours.lockfile()["packages"]
    h.check_equal(packages["node_modules/dvo-target"].get("devOptional"), True, "dvo-target's devOptional", r)
    h.check_equal(packages["node_modules/dvo-plugin"].get("dev"), None, "dvo-plugin's dev flag", r)
    h.check_equal(packages["node_modules/dvo-bundler/node_modules/dvo-plugin"].get("inBundle"), True,
                  "the bundled dvo-plugin", r)
    h.check_equal(ours.read_text("package-lock.json"), theirs.read_text("package-lock.json"), "lockfile", r,
                  expected_name="npm", actual_name="lade")
    # npm's next install reads the lockfile back and flags the whole tree, bundle in place:
    # dvo-plugin 1 and dvo-target are dev's alone then, and it rewrites the lockfile so.
    r = ctx.lade(L.install + ["--ignore-scripts"], ours)
    n = ctx.npm(["install", "--ignore-scripts"], theirs)
    h.check_exit(r, 0, "second install")
    h.check_equal(ours.lockfile()["packages"]["node_modules/dvo-target"].get("dev"), True,
                  "dvo-target's dev flag after the second install", r)
    h.check_equal(ours.read_text("package-lock.json"), theirs.read_text("package-lock.json"),
                  "lockfile after the second install", r, expected_name="npm", actual_name="lade")
    h.check_equal(ours.read_text("node_modules/.package-lock.json"), theirs.read_text("node_modules/.package-lock.json"),
                  "hidden lockfile after the second install", r, expected_name="npm", actual_name="lade")
    r = ctx.lade(L.install + ["--ignore-scripts"], ours)
    h.check_exit(r, 0, "third install")
    h.check_output_matches(r, r"up to date", "the third install")


@suite.test
def omit_leaves_out_what_was_dev_before_a_bundle_opened(ctx):
    # Bundles unopened, ovb-devtool 1.2.0 is the project's dev dependency alone, and npm's diff
    # leaves it out with --omit=dev. The bundled ovb-inner, which lacks the ovb-devtool 1.0.x
    # it needs, reaches it once ovb-bundler is unpacked: the lockfile then has it as no dev's,
    # but it stays out of node_modules and the hidden lockfile.
    files = pkg_json({"ovb-bundler": "1.0.0"}, dev={"ovb-devtool": "^1.2.0"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    r = ctx.lade(L.install + ["--omit=dev", "--ignore-scripts"], ours)
    n = ctx.npm(["install", "--omit=dev", "--ignore-scripts"], theirs)
    h.check_exit(r, 0, "install --omit=dev")
    h.check_exit(n, 0, "npm install --omit=dev")
    h.check_not_exists(ours.path("node_modules/ovb-devtool"), "the omitted ovb-devtool 1.2.0")
    h.check_equal(ours.lockfile()["packages"]["node_modules/ovb-devtool"].get("dev"), None,
                  "ovb-devtool's dev flag once the bundle is open", r)
    h.check_equal(ours.tree(), theirs.tree(), "tree", r, expected_name="npm", actual_name="lade")
    for name in ("package-lock.json", "node_modules/.package-lock.json"):
        h.check_equal(ours.read_text(name), theirs.read_text(name), name, r,
                      expected_name="npm", actual_name="lade")


@suite.test
def a_bundle_left_closed_by_omit_is_opened_when_the_bundler_is_installed(ctx):
    # --omit=optional leaves ocb-bundler out: nothing unpacks it, and the lockfile lists no
    # bundled package of it. The next install adds it, and npm reads its bundle as it unpacks
    # it: ocb-leaf joins both lockfiles.
    ours, theirs = twin_projects(ctx, pkg_json(optionalDependencies={"ocb-bundler": "1.0.0"}))
    for proj in (ours, theirs):
        proj.write(".npmrc", "omit=optional\n")
    install_as_npm_does(ctx, ours, theirs, "install --omit=optional")
    leaf = "node_modules/ocb-bundler/node_modules/ocb-leaf"
    h.check(leaf not in ours.lockfile()["packages"], "no " + leaf + " at first")
    for proj in (ours, theirs):
        os.remove(proj.path(".npmrc"))
    r = install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    h.check_equal(ours.lockfile()["packages"].get(leaf, {}).get("inBundle"), True, leaf, r)
    r = install_as_npm_does(ctx, ours, theirs, "install once more", BOTH_LOCKFILES)
    h.check_output_contains(r, "up to date")


@suite.test
def the_hidden_lockfile_bundles_nothing_through_a_package_left_out(ctx):
    # hib-bundler's own hib-shared 1 is bundled in package-lock.json: the peer edge of hib-plat,
    # which the bundled hib-inner reaches, makes it so. hib-plat is not for linux and is left
    # out; npm takes it out of the tree before it writes the hidden lockfile, where hib-shared
    # is then no bundled package.
    ours, theirs = twin_projects(ctx, pkg_json({"hib-bundler": "1.0.0", "hib-plat": "2.0.0", "hib-shared": "2.0.0"}))
    r = install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    shared = "node_modules/hib-bundler/node_modules/hib-shared"
    h.check_equal(ours.lockfile()["packages"][shared].get("inBundle"), True, "hib-shared in package-lock.json", r)
    hidden = json.loads(ours.read_text("node_modules/.package-lock.json"))["packages"]
    h.check_equal(hidden[shared].get("inBundle"), None, "hib-shared in the hidden lockfile", r)
    h.check_not_exists(ours.path("node_modules/hib-bundler/node_modules/hib-plat"), "hib-plat 1")


@suite.test
def optional_dependency_that_fails_stays_optional_whatever_a_bundle_needs(ctx):
    # bfo-host's optional bfo-missing@^5 does not exist. npm prunes it before it opens the
    # bundle whose bfo-inner asks for the same without being optional: the install succeeds.
    proj = ctx.project(pkg_json({"bfo-host": "1.0.0"}))
    r = ctx.lade(L.install + ["--ignore-scripts"], proj)
    h.check_exit(r, 0, "install")
    h.check_equal(sorted(proj.lockfile()["packages"]),
                  ["", "node_modules/bfo-host", "node_modules/bfo-host/node_modules/bfo-inner"],
                  "the lockfile's packages", r)
    h.check_not_exists(proj.path("node_modules/bfo-missing"), "bfo-missing")


@suite.test
def a_bundler_that_stays_keeps_its_bundled_packages_as_installed(ctx):
    # tbf-bundler, first reached only as the project's peer, is installed with its bundled
    # tbf-inner, both peer. When package.json then makes it a prod dependency (through
    # tbf-user), npm leaves the unchanged bundler in place and takes its bundled packages from
    # node_modules, flagged as the installed tree (still without tbf-user) flags them: tbf-inner
    # stays peer. The install after that flags it from the new tree, and writes it prod.
    files = pkg_json(None, peerDependencies={"tbf-bundler": "1.0.0"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    inner = "node_modules/tbf-bundler/node_modules/tbf-inner"

    def both(what):
        return install_as_npm_does(ctx, ours, theirs, what, ("package-lock.json", "node_modules/.package-lock.json"))

    r = both("first install")
    h.check_equal(ours.lockfile()["packages"][inner].get("peer"), True, "tbf-inner at first", r)
    changed = pkg_json({"tbf-user": "1.0.0"}, peerDependencies={"tbf-bundler": "1.0.0"})["package.json"]
    ours.write("package.json", changed)
    theirs.write("package.json", changed)
    r = both("install after package.json changed")
    packages = ours.lockfile()["packages"]
    h.check_equal(packages["node_modules/tbf-bundler"].get("peer"), None, "tbf-bundler, now prod", r)
    h.check_equal(packages[inner].get("peer"), True, "tbf-inner, as installed", r)
    r = both("the install after")
    h.check_equal(ours.lockfile()["packages"][inner].get("peer"), None, "tbf-inner, flagged again", r)
    r = ctx.lade(L.install + ["--ignore-scripts"], ours)
    h.check_exit(r, 0, "fourth install")
    h.check_output_matches(r, r"up to date", "the fourth install")


@suite.test
def a_bundler_that_stays_keeps_its_bundle_as_installed_whatever_was_placed_in_it(ctx):
    # The second install resolves bpi-inner's unmet bpi-leaf 1 and places it inside bpi-inner
    # (bpi-host's peer bpi-leaf 2 keeps it out of bpi-host). npm then puts the installed
    # bpi-inner, with nothing inside it, in place of the one resolution filled: the lockfile
    # stays as the first install wrote it, every time.
    files = pkg_json({"bpi-host": "1.0.0", "bpi-leaf": "2.0.0"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    first = None
    for what in ("first install", "second install", "third install"):
        r = install_as_npm_does(ctx, ours, theirs, what, ("package-lock.json", "node_modules/.package-lock.json"))
        first = first or ours.read_text("package-lock.json")
        h.check_equal(ours.read_text("package-lock.json"), first, what + ": the lockfile as first written", r)


@suite.test
def what_a_failed_optional_alone_needed_goes_with_it_before_a_bundle_needs_it(ctx):
    # ifo-opt (optional) needs leaf@99, which does not exist, and ifo-shared. npm prunes
    # ifo-opt with what only it needs while bundles are still closed: ifo-shared goes too, and
    # stays out after the bundled ifo-bundled turns up needing it. The lockfile lists it, as a
    # required package, all the same.
    files = pkg_json({"ifo-bundler": "1.0.0"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    r = install_as_npm_does(ctx, ours, theirs, "install", ("package-lock.json", "node_modules/.package-lock.json"))
    h.check_not_exists(ours.path("node_modules/ifo-shared"), "ifo-shared")
    h.check_not_exists(ours.path("node_modules/ifo-opt"), "ifo-opt")
    h.check_equal(ours.installed_version("ifo-bundler/node_modules/ifo-bundled"), "1.0.0", "the bundled package", r)
    h.check_equal(ours.lockfile()["packages"]["node_modules/ifo-shared"].get("optional"), None,
                  "ifo-shared's optional flag in the lockfile", r)


@suite.test
def a_bundle_is_closed_while_the_tree_is_placed(ctx):
    # dbo-host@2.1.0 bundles dbo-shared@2.1.0. npm opens that bundle only when it unpacks the
    # package, after placing the tree, so until then dbo-host's edge reaches the root's
    # dbo-shared@2.1.0. That edge keeps dbo-host@0.1.0's optional peer dbo-shared@1 from
    # replacing it: the peer is placed beside dbo-host@0.1.0, under dbo-mid.
    # The pass that prunes what the opened bundle shadows then clears the extraneous flag
    # of that peer (its dependent is outside the shadowed set), so the lockfile lists it as
    # optional and peer rather than as extraneous.
    files = pkg_json({"dbo-shared": "<=2.1.0"}, dev={"dbo-host": ">0.1.0"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    r = install_as_npm_does(ctx, ours, theirs, "install", ("package-lock.json", "node_modules/.package-lock.json"))
    h.check_equal(ours.installed_version("dbo-shared"), "2.1.0", "the root's dbo-shared", r)
    h.check_equal(ours.installed_version("dbo-mid/node_modules/dbo-shared"), "1.2.0", "the peer beside dbo-host@0.1.0", r)
    h.check_equal(ours.installed_version("dbo-host/node_modules/dbo-shared"), "2.1.0", "the bundled dbo-shared", r)
    entry = ours.lockfile()["packages"]["node_modules/dbo-mid/node_modules/dbo-shared"]
    h.check_equal((entry.get("optional"), entry.get("peer"), entry.get("extraneous")), (True, True, None),
                  "the peer's flags in the lockfile", r)


@suite.test
def what_a_new_bundle_shadows_is_pruned(ctx):
    # pbm-host@1 needs pbm-leaf@1.1.0, installed beside it with pbm-sub. pbm-host@2 bundles
    # pbm-leaf@1.0.0: once that bundle is open nothing needs the root's pbm-leaf or pbm-sub
    # any more, and npm's reify prunes both (#pruneBundledMetadeps).
    files = pkg_json({"pbm-host": "1.0.0"})
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    both = ("package-lock.json", "node_modules/.package-lock.json")
    install_as_npm_does(ctx, ours, theirs, "first install", both)
    h.check_equal(ours.installed_version("pbm-sub"), "1.0.0", "pbm-sub after the first install")
    for proj in (ours, theirs):
        proj.write("package.json", pkg_json({"pbm-host": "2.0.0"})["package.json"])
    r = install_as_npm_does(ctx, ours, theirs, "install after pbm-host@2", both)
    h.check_equal(ours.installed_version("pbm-host/node_modules/pbm-leaf"), "1.0.0", "the bundled pbm-leaf", r)
    h.check_not_exists(ours.path("node_modules/pbm-leaf"), "the root's pbm-leaf")
    h.check_not_exists(ours.path("node_modules/pbm-sub"), "pbm-sub")


@suite.test
def a_replaced_package_keeps_no_empty_node_modules(ctx):
    # rnm-host@1 gets leaf@2 nested below it (the root has leaf@1); rnm-host@2 needs nothing.
    # npm retires the old folder whole and moves back only the nested packages that stay, so
    # the new rnm-host has no node_modules folder at all.
    files = pkg_json({"leaf": "^1.0.0", "rnm-host": "1.0.0"})
    proj = ctx.project(files)
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    h.check_equal(proj.installed_version("rnm-host/node_modules/leaf"), "2.0.0", "the nested leaf")
    proj.write("package.json", pkg_json({"leaf": "^1.0.0", "rnm-host": "2.0.0"})["package.json"])
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install of rnm-host@2")
    h.check_equal(proj.installed_version("rnm-host"), "2.0.0", "rnm-host", r)
    h.check_not_exists(proj.path("node_modules/rnm-host/node_modules"), "rnm-host's emptied node_modules")


@suite.test
def a_bundler_the_install_leaves_out_keeps_its_locked_bundle(ctx):
    # hrz-plat (s390x only) is optional and needs hrz-host by the tag "latest"; hrz-outer
    # bundles its own hrz-host, which the root's copy stood in for until that bundle was open.
    # So the first install keeps the root's hrz-host (and its bundled hrz-leaf) with nothing
    # installed depending on it: npm's hidden lockfile then records its "resolved" even where
    # registry URLs are omitted. An install from that lockfile places hrz-host again (a tag
    # is met only by a package with a tarball URL), finds it left out with hrz-plat, and never
    # unpacks it: the locked hrz-leaf stays in the lockfile, now optional.
    files = pkg_json({"hrz-outer": "1.0.0"}, optionalDependencies={"hrz-plat": "1.0.0"})
    files[".npmrc"] = "omit-lockfile-registry-resolved=true\n"
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    both = ("package-lock.json", "node_modules/.package-lock.json")
    install_as_npm_does(ctx, ours, theirs, "first install", both)
    h.check_exists(ours.path("node_modules/hrz-host/node_modules/hrz-leaf"), "the bundled hrz-leaf")
    for proj in (ours, theirs):
        proj.write("package.json", pkg_json({"hrz-outer": "1.0.0", "leaf": "^1.0.0"},
                                            optionalDependencies={"hrz-plat": "1.0.0"})["package.json"])
    r = install_as_npm_does(ctx, ours, theirs, "install after adding leaf", both)
    h.check_not_exists(ours.path("node_modules/hrz-host"), "hrz-host, left out with hrz-plat")
    # Both hrz-host and the hrz-leaf in its folder are removed, and npm counts both.
    h.check_output_matches(r, r"added 1 package, and removed 2 packages", "the summary")
    for proj in (ours, theirs):
        shutil.rmtree(proj.path("node_modules"))
    r = install_as_npm_does(ctx, ours, theirs, "install from the lockfile alone", both)
    lock = ours.lockfile()["packages"]
    h.check_equal(lock.get("node_modules/hrz-host/node_modules/hrz-leaf", {}).get("optional"), True,
                  "the locked hrz-leaf, optional", r)


@suite.test
def what_a_lockfile_left_extraneous_goes_before_bundles_open(ctx):
    # The lockfile lists pxo-e as extraneous, and only pxo-s's optional peer reaches it.
    # pxo-user needs pxo-host by a tag, which no locked package without a tarball URL meets,
    # so pxo-host is placed again and its bundle (a pxo-s of its own) opened once installed.
    # npm drops pxo-e while it builds the tree, before any bundle is opened; opening pxo-host
    # takes the root's pxo-s back from the bundle's shadow with all it reaches, and must not
    # bring pxo-e back with it.
    files = pkg_json({"pxo-s": "1.0.0", "pxo-user": "1.0.0"})
    files[".npmrc"] = "omit-lockfile-registry-resolved=true\n"
    ours, theirs = ctx.project(files, name="lade"), ctx.project(files, name="npm")
    both = ("package-lock.json", "node_modules/.package-lock.json")
    install_as_npm_does(ctx, ours, theirs, "first install", both)
    for proj in (ours, theirs):
        lock = proj.lockfile()
        lock["packages"]["node_modules/pxo-e"] = {"version": "1.0.0", "extraneous": True, "license": "MIT"}
        lock["packages"] = dict(sorted(lock["packages"].items()))
        proj.write("package-lock.json", json.dumps(lock, indent=2) + "\n")
        shutil.rmtree(proj.path("node_modules"))
    r = install_as_npm_does(ctx, ours, theirs, "install from a lockfile with pxo-e extraneous", both)
    h.check("node_modules/pxo-e" not in ours.lockfile()["packages"], "pxo-e is gone from the lockfile", r)


@suite.test
def flags_are_not_computed_again_after_extraneous_packages_go(ctx):
    # The lockfile has the root's dev fdx-p@1, and below fdx-w both fdx-x and fdx-p@2,
    # extraneous: only fdx-x's optional peer reaches it. npm computes the flags with that copy
    # still there, then drops it, and computes nothing again: the root's fdx-p, which fdx-x's
    # peer edge reaches once the nested copy is gone, stays a dev dependency.
    ours, theirs = (ctx.project(pkg_json({"fdx-w": "1.0.0"}), name=n) for n in ("lade", "npm"))
    both = ("package-lock.json", "node_modules/.package-lock.json")
    install_as_npm_does(ctx, ours, theirs, "first install", both)
    for proj in (ours, theirs):
        lock = proj.lockfile()
        packages = lock["packages"]
        packages[""]["devDependencies"] = {"fdx-p": "1.0.0"}
        packages["node_modules/fdx-w/node_modules/fdx-x"] = packages.pop("node_modules/fdx-x")
        packages["node_modules/fdx-p"] = {"version": "1.0.0", "dev": True, "license": "MIT"}
        packages["node_modules/fdx-w/node_modules/fdx-p"] = {
            "version": "2.0.0", "extraneous": True, "license": "MIT"}
        lock["packages"] = dict(sorted(packages.items()))
        proj.write("package-lock.json", json.dumps(lock, indent=2) + "\n")
        shutil.rmtree(proj.path("node_modules"))
        proj.write("package.json", pkg_json({"fdx-w": "1.0.0", "leaf": "^1.0.0"},
                                            dev={"fdx-p": "1.0.0"})["package.json"])
    r = install_as_npm_does(ctx, ours, theirs, "install after adding leaf", both)
    lock = ours.lockfile()["packages"]
    h.check_equal(lock["node_modules/fdx-p"].get("dev"), True, "the root's fdx-p is dev", r)
    h.check("node_modules/fdx-w/node_modules/fdx-p" not in lock, "the extraneous fdx-p is gone", r)


@suite.test
def a_package_placed_into_a_new_bundle_leaves_its_folder(ctx):
    # ebd-host needs ebd-dep@2, placed below it (the root has ebd-dep@1). Once ebd-host's
    # bundle is open, its bundled ebd-inner needs that copy too, which makes it bundled, and
    # npm never unpacks it: the folder npm made for it before opening the bundle stays, empty.
    # From the lockfile (ci) the copy is bundled from the start and gets no folder.
    ours, theirs = twin_projects(ctx, pkg_json({"ebd-dep": "1.0.0", "ebd-host": "1.0.0"}))
    r = install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    nested = "node_modules/ebd-host/node_modules/ebd-dep"
    h.check_equal(os.path.isdir(ours.path(nested)), os.path.isdir(theirs.path(nested)),
                  "a folder at " + nested + " (lade vs npm)", r)
    r, n = ci_in_both(ctx, ours, theirs)
    h.check_exit(r, 0, "ci")
    h.check_exit(n, 0, "npm ci")
    h.check_equal(os.path.isdir(ours.path(nested)), os.path.isdir(theirs.path(nested)),
                  "after ci, a folder at " + nested + " (lade vs npm)", r)


@suite.test
def a_package_a_bundle_held_when_resolution_ended_gets_no_folder(ctx):
    # As above, but ebt-inner needs ebt-dep by the tag "latest", which only a package with a
    # tarball URL meets. The lockfile omits the URLs, so ci places ebt-host's ebt-dep again,
    # below the ebt-inner the lockfile bundled: it was in the bundle before any was opened,
    # and npm makes no folder for it.
    ours, theirs = twin_projects(ctx, pkg_json({"ebt-dep": "1.0.0", "ebt-host": "1.0.0"}),
                                 npmrc="omit-lockfile-registry-resolved=true\n")
    install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    nested = "node_modules/ebt-host/node_modules/ebt-dep"
    h.check_equal(ours.lockfile()["packages"].get(nested, {}).get("inBundle"), True,
                  "the lockfile's " + nested + ", bundled")
    r, n = ci_in_both(ctx, ours, theirs)
    h.check_exit(r, 0, "ci")
    h.check_exit(n, 0, "npm ci")
    h.check_equal(os.path.isdir(ours.path(nested)), os.path.isdir(theirs.path(nested)),
                  "after ci, a folder at " + nested + " (lade vs npm)", r)
    h.check_not_exists(ours.path(nested), "a folder at " + nested)


@suite.test
def ci_compares_the_lockfile_with_the_tree_before_bundles_open(ctx):
    # cnb-host bundles cnb-inner without the cnb-leaf it needs. Installed nested, the lockfile
    # has the bundled cnb-inner and no cnb-leaf. In ci, cnb-host is placed again (the root asks
    # for it by a tag, and the lockfile omits URLs), and the missing cnb-leaf below the locked
    # cnb-inner is resolved too. npm compares that tree with the lockfile before it unpacks
    # cnb-host, whose bundle would replace cnb-inner and take cnb-leaf away: the lockfile
    # misses cnb-leaf, and ci fails.
    ours, theirs = twin_projects(ctx, pkg_json({"cnb-host": "latest"}),
                                 npmrc="omit-lockfile-registry-resolved=true\ninstall-strategy=nested\n")
    install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    r, n = ci_in_both(ctx, ours, theirs)
    h.check_equal(r.returncode, n.returncode, "ci's exit status (lade vs npm)", r)
    h.check_exit(r, 1, "ci")
    h.check_output_contains(r, "EUSAGE", "Missing: cnb-leaf@1.0.0 from lock file")


@suite.test
def a_package_resolved_into_a_locked_bundle_gives_way_to_the_tarballs_copy(ctx):
    # obs-host bundles obs-kilo, and the root overrides obs-kilo below obs-host. Installed
    # shallow, the lockfile's edge from the bundled obs-delta to obs-kilo does not count as met
    # (its override set differs), so an install from the lockfile resolves obs-kilo again, from
    # the registry. npm then unpacks obs-host and takes obs-kilo from its tarball: no integrity
    # in either lockfile. (With node_modules in place, obs-host is not unpacked again.)
    files = pkg_json({"obs-host": "^1.2.3"}, overrides={"obs-host": {"obs-kilo": "2.0.0"}})
    ours, theirs = twin_projects(ctx, files, npmrc="install-strategy=shallow\n")
    install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    kilo = "node_modules/obs-host/node_modules/obs-kilo"
    r, n = ci_in_both(ctx, ours, theirs)
    h.check_exit(r, 0, "ci")
    h.check_exit(n, 0, "npm ci")
    hidden = json.loads(ours.read_text("node_modules/.package-lock.json"))["packages"]
    h.check_equal(hidden[kilo].get("integrity"), None, "after ci, the integrity of " + kilo, r)
    h.check_equal(ours.read_text("node_modules/.package-lock.json"),
                  theirs.read_text("node_modules/.package-lock.json"), "ci: hidden lockfile", r,
                  expected_name="npm", actual_name="lade")
    for proj in (ours, theirs):
        shutil.rmtree(proj.path("node_modules"))
    r = install_as_npm_does(ctx, ours, theirs, "install from the lockfile alone", BOTH_LOCKFILES)
    h.check_equal(ours.lockfile()["packages"][kilo].get("integrity"), None,
                  "after an install from the lockfile, the integrity of " + kilo, r)
    h.check_equal(ours.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")


@suite.test
def a_missing_dependency_of_a_locked_bundled_package_fails_before_the_bundle_is_opened(ctx):
    # etb-bundler bundles etb-inner, which wants an etb-gone 9 the registry lacks. The first
    # install takes etb-inner from the tarball and resolves nothing for it. Once package.json
    # changes, npm resolves etb-inner's missing dependency from the lockfile, and gives up
    # (ETARGET) before its reify would unpack etb-bundler and replace etb-inner with the
    # bundle's copy. lade used to unpack it first and carry on without the failed package.
    ours, theirs = twin_projects(ctx, pkg_json({"etb-bundler": "^1.0.0", "etb-other": "1.0.0"}))
    install_as_npm_does(ctx, ours, theirs, "install")
    changed = pkg_json({"etb-bundler": "^1.0.0", "etb-other": "^1.0.0"})["package.json"]
    for proj in (ours, theirs):
        proj.write("package.json", changed)
        shutil.rmtree(proj.path("node_modules"))
    lock_before = ours.read_text("package-lock.json")
    for command in (["install", "--ignore-scripts"], ["ci", "--ignore-scripts"]):
        what = " ".join(command[:1])
        r = ctx.lade(command, ours)
        n = ctx.npm(command, theirs)
        h.check_exit(n, 1, "npm " + what)
        h.check_output_contains(n, "ETARGET")
        h.check_exit(r, 1, what)
        h.check_output_contains(r, "ETARGET")
        h.check_output_contains(r, "No matching version found for etb-gone@^9.0.0")
        h.check_not_exists(ours.path("node_modules/etb-bundler"), "etb-bundler installed by " + what)
        h.check_equal(ours.read_text("package-lock.json"), lock_before, "lockfile after " + what, r)


@suite.test
def a_package_that_failed_to_load_is_not_replaced_by_a_peer(ctx):
    # ldf-alone's only version is a deprecated prerelease, which "*" does not pick: its node
    # fails to load (ETARGET). ldf-wants then brings that version as a peer. Its edge from the
    # root would take it ("*" takes any version), but a package that failed to load has no
    # package name in arborist, so nothing can replace it: a conflict, ERESOLVE for the
    # project's own dependency. With --force npm warns, then stops with the ETARGET.
    files = pkg_json({"ldf-alone": "*", "ldf-wants": "^2.0.0"})
    for flags, code in (([], "ERESOLVE"), (["--force"], "ETARGET")):
        ours, theirs = twin_projects(ctx, files)
        what = " ".join(["install"] + flags)
        r = ctx.lade(L.install + flags, ours)
        n = ctx.npm(["install"] + flags, theirs)
        h.check_exit(n, 1, "npm " + what)
        h.check_output_contains(n, "code " + code)
        h.check_exit(r, 1, what)
        h.check_output_contains(r, code)
        h.check_not_exists(ours.path("node_modules/ldf-alone"), "ldf-alone installed by " + what)
        if flags:
            h.check_output_matches(r, r"warn.*ERESOLVE overriding peer dependency", "the warning before the error")
        else:
            h.check_equal(eresolve_explanation(r), eresolve_explanation(n), "the explanation", r,
                          expected_name="npm", actual_name="lade")
            h.check_output_contains(r, "Found: ldf-alone@undefined")


@suite.test
def legacy_peer_deps_reflags_the_installed_tree_when_the_root_has_peers(ctx):
    # With legacy-peer-deps the root's peerDependencies make no edges, so npm finds the
    # installed tree's root out of step with package.json and computes its flags again, from
    # the edges. nbb-o, moved to devDependencies, stays installed, and its bundled nbb-q is
    # written as the installed tree now flags it: dev.
    files = pkg_json({"nbb-o": "1.0.0"}, peerDependencies={"leaf": "^1.0.0"})
    ours, theirs = twin_projects(ctx, files, npmrc="legacy-peer-deps=true\n")
    install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    moved = pkg_json({}, dev={"nbb-o": "1.0.0"}, peerDependencies={"leaf": "^1.0.0"})["package.json"]
    for proj in (ours, theirs):
        proj.write("package.json", moved)
    r = install_as_npm_does(ctx, ours, theirs, "install after moving nbb-o to devDependencies",
                            BOTH_LOCKFILES)
    inner = ours.lockfile()["packages"]["node_modules/nbb-o/node_modules/nbb-q"]
    h.check_equal(inner.get("dev"), True, "the bundled nbb-q is dev", r)


@suite.test
def a_replaced_bundler_hands_its_override_set_to_the_package_above(ctx):
    # rpo-golf 1.3.0, below rpo-yankee, bundles rpo-delta 1.1.0; rpo-yankee has rpo-delta
    # 1.2.3 too. An override then replaces rpo-golf with 1.0.0. arborist moves the old copy's
    # children over one at a time, and each move sends the old copy's edge up to rpo-yankee's
    # rpo-delta, which takes rpo-golf's override set. With the same set on both, rpo-delta
    # 1.2.3 can replace the copy moved below the new rpo-golf, which is deduplicated away.
    for strategy in ("nested", "shallow"):
        npmrc = "install-strategy=%s\n" % strategy
        ours, theirs = twin_projects(ctx, pkg_json({"rpo-yankee": "^2.0.0"}), npmrc=npmrc)
        install_as_npm_does(ctx, ours, theirs, strategy + ": install", BOTH_LOCKFILES)
        overridden = pkg_json({"rpo-yankee": "^2.0.0"}, overrides={"rpo-golf": "1.0.0"})["package.json"]
        for proj in (ours, theirs):
            proj.write("package.json", overridden)
        r = install_as_npm_does(ctx, ours, theirs, strategy + ": install with the override", BOTH_LOCKFILES)
        packages = ours.lockfile()["packages"]
        h.check_equal(packages["node_modules/rpo-yankee/node_modules/rpo-golf"]["version"], "1.0.0",
                      strategy + ": rpo-golf", r)
        h.check("node_modules/rpo-yankee/node_modules/rpo-golf/node_modules/rpo-delta" not in packages,
                strategy + ": rpo-delta left below rpo-golf", r)
        h.check_equal(ours.tree(), theirs.tree(), strategy + ": node_modules", r,
                      expected_name="npm", actual_name="lade")


@suite.test
def a_package_moved_below_a_replacing_one_takes_override_sets_anew(ctx):
    # Nested: krp-whiskey 2.3.0 holds krp-delta, krp-juliett, krp-papa and krp-sierra.
    # krp-delta is the peer of both krp-sierras, one of them below krp-juliett, whose override
    # makes krp-papa "1"; krp-delta keeps its krp-papa 2.0.1 below it. Then krp-whiskey
    # 2.0.1 replaces 2.3.0. arborist moves the children over one at a time into the new
    # copy, not yet in the tree: each loses the override sets of the edges that reached it
    # and takes those that reach it there, in that order. krp-delta ends under krp-juliett's
    # krp-papa rule, its krp-papa 2.0.1 is replaced, and krp-whiskey's krp-papa 1.2.0 serves.
    def project(whiskey):
        return pkg_json({"krp-whiskey": whiskey},
                        overrides={"krp-juliett": {"krp-papa": "1"}, "krp-whiskey": "$krp-whiskey"})
    ours, theirs = twin_projects(ctx, project("*"), npmrc="install-strategy=nested\n")
    install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    below_delta = "node_modules/krp-whiskey/node_modules/krp-delta/node_modules/krp-papa"
    h.check(below_delta in ours.lockfile()["packages"], "krp-papa below krp-delta at first")
    for proj in (ours, theirs):
        proj.write("package.json", project("~2.0.1")["package.json"])
    r = install_as_npm_does(ctx, ours, theirs, "install krp-whiskey 2.0.1", BOTH_LOCKFILES)
    h.check(below_delta not in ours.lockfile()["packages"], "no krp-papa below krp-delta", r)
    h.check_equal(ours.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")


def olo_installs_three_times(ctx, major, npmrc=None):
    """Installs the olo-* project for olo-j/olo-l@`major` three times with lade and with npm,
    each leaving both lockfiles as npm's: the second nests olo-w@2.3.0 below olo-l, the third
    has nothing to do and lade vouches for the tree (writes its up-to-date state)."""
    files = pkg_json({"olo-j": "^%d.0.0" % major, "olo-k": "^2.0.0", "olo-l": "^%d.0.0" % major},
                     overrides={"olo-w": "1", "olo-j": {"olo-v": "^%d.0.0" % (major - 1)}})
    ours, theirs = twin_projects(ctx, files, npmrc)
    install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    nested = "node_modules/olo-l/node_modules/olo-w"
    h.check(nested not in ours.lockfile()["packages"], "no " + nested + " at first")
    r = install_as_npm_does(ctx, ours, theirs, "install from the lockfile", BOTH_LOCKFILES)
    h.check_equal(ours.lockfile()["packages"].get(nested, {}).get("version"), "2.3.0", nested, r)
    h.check_equal(ours.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")
    r = install_as_npm_does(ctx, ours, theirs, "install once more", BOTH_LOCKFILES)
    h.check_output_contains(r, "up to date")
    if not L.is_npm_oracle():
        # Read back as npm reads it, the lockfile meets every dependency as the install did.
        h.check(ours.exists("node_modules/.lade-state"), "the up-to-date state is written", r)


@suite.test
def overrides_as_npm_leaves_them_after_reading_the_lockfile(ctx):
    # npm reads the lockfile entry by entry. olo-v's nested olo-l takes over olo-v's edge only
    # when it is read, after olo-v's nested olo-k, which nothing reaches yet: the top olo-l
    # loses the override set it had through olo-v and ends with none. Its olo-w is then wanted
    # as its own "^2.0.0", not as the override's "1": the next install nests olo-w@2.3.0 below
    # it, and the one after has nothing to do.
    olo_installs_three_times(ctx, 2)


@suite.test
def an_edge_that_stays_put_keeps_its_override_set_while_the_lockfile_is_read(ctx):
    # As above, with olo-l@3 wanting olo-w by the tag "latest" and a lockfile without registry
    # URLs (no package meets a tag then). olo-l/node_modules/olo-w is read right after olo-l,
    # while olo-l still has its set: the edge takes the override "1". npm reloads an edge of
    # that name later only where it would resolve elsewhere, so this one keeps "1" after olo-l
    # loses its set. Read so, the third lockfile meets each dependency as the third install
    # did: that install vouches for the tree.
    olo_installs_three_times(ctx, 3, npmrc="omit-lockfile-registry-resolved=true\n")


@suite.test
def a_bundler_that_stays_below_a_changed_package_keeps_its_bundle(ctx):
    # Installed nested, kbc-bundler sits in kbc-top's folder with its bundled kbc-inner, whose
    # kbc-leaf the tarball lacks. Moving to kbc-top@1.1.0 changes kbc-top but not kbc-bundler:
    # npm's diff goes on below kbc-top and takes kbc-bundler's bundle as installed, so the
    # kbc-leaf that resolution found missing and placed below kbc-inner is dropped again.
    ours, theirs = twin_projects(ctx, pkg_json({"kbc-top": "1.0.0"}),
                                 npmrc="install-strategy=nested\n")
    install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    for proj in (ours, theirs):
        proj.write("package.json", pkg_json({"kbc-top": "1.1.0"})["package.json"])
    r = install_as_npm_does(ctx, ours, theirs, "install of kbc-top@1.1.0", BOTH_LOCKFILES)
    inner = "node_modules/kbc-top/node_modules/kbc-bundler/node_modules/kbc-inner"
    h.check(inner in ours.lockfile()["packages"], "the bundled kbc-inner is locked", r)
    h.check(inner + "/node_modules/kbc-leaf" not in ours.lockfile()["packages"],
            "no kbc-leaf below the bundled kbc-inner", r)


@suite.test
def a_bundled_package_for_another_platform_is_not_recorded_as_installed(ctx):
    # The lockfile lists a darwin-only ibd-mac in ibd-host's bundle (optional). The install
    # leaves it out, and npm detaches it before it writes the hidden lockfile: that one lists
    # only what is installed, while package-lock.json keeps it.
    ours, theirs = twin_projects(ctx, pkg_json({"ibd-host": "1.0.0"}))
    install_as_npm_does(ctx, ours, theirs, "first install", BOTH_LOCKFILES)
    mac = "node_modules/ibd-host/node_modules/ibd-mac"
    for proj in (ours, theirs):
        lock = proj.lockfile()
        lock["packages"][mac] = {"version": "1.0.0", "inBundle": True, "license": "MIT",
                                 "optional": True, "os": ["darwin"]}
        lock["packages"] = dict(sorted(lock["packages"].items()))
        proj.write("package-lock.json", json.dumps(lock, indent=2) + "\n")
        shutil.rmtree(proj.path("node_modules"))
    r = install_as_npm_does(ctx, ours, theirs, "install from the lockfile", BOTH_LOCKFILES)
    h.check(mac in ours.lockfile()["packages"], "package-lock.json keeps ibd-mac", r)
    hidden = ours.read_json("node_modules/.package-lock.json")["packages"]
    h.check(mac not in hidden, "the hidden lockfile leaves ibd-mac out", r)


@suite.test
def a_loop_link_to_a_package_placed_again_keeps_its_path(ctx):
    # dlr-x@2 and dlr-y@1 need each other's other major, so the tree has a dependency loop: a
    # link below node_modules/dlr-x back to it. In ci the root's dlr-x, asked for by a tag
    # with no URL in the lockfile, is placed again; the link still leads to node_modules/dlr-x
    # (it led lade to the project folder itself).
    ours, theirs = twin_projects(ctx, pkg_json({"dlr-x": "latest", "dlr-y": "1.0.0"}),
                                 npmrc="omit-lockfile-registry-resolved=true\n")
    install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    link = "node_modules/dlr-x/node_modules/dlr-x/node_modules/dlr-x"
    h.check(os.path.islink(ours.path(link)), link + " is a link")
    r, n = ci_in_both(ctx, ours, theirs)
    h.check_exit(r, 0, "ci")
    h.check_exit(n, 0, "npm ci")
    h.check_equal(os.readlink(ours.path(link)), os.readlink(theirs.path(link)),
                  "where " + link + " leads (lade vs npm)", r)
    h.check_equal(os.path.realpath(ours.path(link)), os.path.realpath(ours.path("node_modules/dlr-x")),
                  "the folder " + link + " leads to", r)


@suite.test
def a_tag_met_only_by_a_tarball_url_is_resolved_again_next_time(ctx):
    # tgu-user needs tgu-x by the tag "latest"; the root's tgu-x@1 meets it at first, as any
    # registry package meets a tag. The lockfile omits registry URLs, so when the next install
    # reads it, that tgu-x meets the tag no more and tgu-x@2 is placed below tgu-user: that
    # install is not one with nothing to do.
    ours, theirs = twin_projects(ctx, pkg_json({"tgu-user": "1.0.0", "tgu-x": "1.0.0"}),
                                 npmrc="omit-lockfile-registry-resolved=true\n")
    install_as_npm_does(ctx, ours, theirs, "first install", BOTH_LOCKFILES)
    r = install_as_npm_does(ctx, ours, theirs, "second install", BOTH_LOCKFILES)
    h.check_equal(ours.installed_version("tgu-user/node_modules/tgu-x"), "2.0.0", "tgu-x below tgu-user", r)
    r = install_as_npm_does(ctx, ours, theirs, "third install", BOTH_LOCKFILES)
    h.check_output_matches(r, r"up to date", "the third install")


@suite.test
def a_bundler_another_bundle_takes_in_is_unpacked_to_read_its_bundle(ctx):
    # Installed nested, nbb-x has its own nbb-o beside the nbb-w its tarball bundles; that
    # nbb-w needs nbb-o too, which makes nbb-o bundled once nbb-x is unpacked, though the
    # tarball does not hold it. nbb-o bundles nbb-q: npm unpacks every bundler it adds to read
    # its bundle, so nbb-o is installed there with its nbb-q.
    ours, theirs = twin_projects(ctx, pkg_json({"nbb-x": "1.0.0"}),
                                 npmrc="install-strategy=nested\n")
    r = install_as_npm_does(ctx, ours, theirs, "install", BOTH_LOCKFILES)
    inner = "nbb-x/node_modules/nbb-o"
    h.check_equal(ours.installed_version(inner), theirs.installed_version(inner),
                  "the " + inner + " installed (lade vs npm)", r)
    h.check_equal(ours.installed_version(inner + "/node_modules/nbb-q"), "1.0.0", "its bundled nbb-q", r)


@suite.test(lade_only=True)
def up_to_date_check_sees_entries_added_after_the_last_install(ctx):
    # The check reads again only the node_modules folders whose change time moved since the
    # last install listed them (.lade-listings); an entry added anywhere moves it.
    proj = ctx.project(pkg_json({"uses-leaf-2": "^1.0.0", "leaf": "^1.0.0", "bin-string": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    h.check(proj.exists("node_modules/uses-leaf-2/node_modules/leaf"), "the fixture nests leaf@2")
    h.check(proj.exists("node_modules/.lade-listings"), "the install keeps what node_modules listed")

    def fast_path(what):
        r = ctx.lade(L.install + ["--timing"], proj)
        h.check_exit(r, 0, what)
        return re.search(r"\n  check +\d+ ms\n", r.stdout + r.stderr) is not None, r

    fast, r = fast_path("install with nothing changed")
    h.check(fast, "nothing changed, but the install did not stop at the check", r)
    for where in ("node_modules/stray", "node_modules/uses-leaf-2/node_modules/stray",
                  "node_modules/.bin/stray"):
        proj.write(where + "/package.json", {"name": "stray", "version": "1.0.0"})
        fast, r = fast_path("install after adding " + where)
        h.check(not fast, "%s added by hand, and the install found nothing to do" % where, r)
        if where != "node_modules/.bin/stray":
            h.check_not_exists(proj.path(where), where + " (extraneous)")
        else:
            shutil.rmtree(proj.path(where))
            h.check_exit(ctx.lade(L.install, proj), 0, "install after removing the stray bin")
        fast, r = fast_path("install after the one that set it right")
        h.check(fast, "set right after %s, but the next install did not stop at the check" % where, r)


@suite.test
def install_clears_package_folders_it_has_no_record_of(ctx):
    # node_modules is there but its hidden lockfile is not: every package is installed again, and
    # what is in the way (stale files, a folder's symlink, a bin pointing elsewhere) must go.
    proj = ctx.project(pkg_json({"uses-leaf-1": "^1.0.0", "bin-string": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    tree = proj.tree()
    os.remove(proj.path("node_modules/.package-lock.json"))
    proj.write("node_modules/leaf/stale.js", "left over\n")
    shutil.rmtree(proj.path("node_modules/uses-leaf-1"))
    os.makedirs(proj.path("elsewhere"))
    os.symlink(proj.path("elsewhere"), proj.path("node_modules/uses-leaf-1"))
    os.remove(proj.path("node_modules/.bin/bin-string"))
    os.symlink("../leaf/package.json", proj.path("node_modules/.bin/bin-string"))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "second install")
    h.check(not os.path.exists(proj.path("node_modules/leaf/stale.js")), "stale file kept", r)
    h.check(not os.path.islink(proj.path("node_modules/uses-leaf-1")), "symlink kept", r)
    h.check_equal(os.listdir(proj.path("elsewhere")), [], "written through the symlink", r)
    h.check_equal(proj.tree(), tree, "tree after the second install", r)
    h.check_executable(proj.path("node_modules/.bin/bin-string"))


@suite.test(lade_only=True)
def second_install_takes_every_tarball_from_the_store(ctx):
    import json
    proj = ctx.project(pkg_json({"uses-leaf-1": "^1.0.0", "bin-string": "^1.0.0"}))
    r1 = ctx.lade(L.install + ["--json", "--timing"], proj)
    h.check_exit(r1, 0, "first install")
    first = json.loads(r1.stdout)
    h.check(first["counters"]["tarballs_downloaded"] > 0, "first install downloads tarballs", r1)
    shutil.rmtree(proj.path("node_modules"))
    r2 = ctx.lade(L.install + ["--json", "--timing"], proj)
    h.check_exit(r2, 0, "second install")
    second = json.loads(r2.stdout)
    h.check_equal(second["counters"]["tarballs_downloaded"], 0, "tarballs downloaded again", r2)
    h.check_equal(second["counters"]["store_hits"], first["counters"]["tarballs_downloaded"],
                  "packages linked from the store", r2)
    h.check_equal(second["added"], first["added"], "packages added by the second install", r2)
    # Up to date: --timing still says where the time went.
    r3 = ctx.lade(L.install + ["--timing"], proj)
    h.check_output_contains(r3, "up to date")
    h.check_output_matches(r3, r"\n  check +\d+ ms\n", "the up-to-date check's time")


@suite.test
def no_package_lock_resolves_from_package_json_alone(ctx):
    # package-lock=false: npm's ideal tree starts from package.json, not from node_modules, so
    # a range widened since the last install takes the newest version (the lockfile is not
    # read or written).
    start = ctx.project(pkg_json({"leaf": "1.0.0", "shared": "1.0.0"}), name="start")
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], start), 0, "npm install (the start)")
    start.write("package.json", pkg_json({"leaf": "^1.0.0", "shared": "^1.0.0"})["package.json"])
    ours = start.copy(ctx.sandbox, "lade", include_node_modules=True)
    theirs = start.copy(ctx.sandbox, "npm", include_node_modules=True)
    r = ctx.lade(L.install + ["--no-package-lock"], ours)
    h.check_exit(r, 0, "install --no-package-lock")
    h.check_exit(ctx.npm(["install", "--ignore-scripts", "--no-package-lock"], theirs), 0, "npm")
    h.check_equal(ours.installed_version("leaf"), "1.1.0", "leaf", r)
    h.check_equal(ours.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")
    h.check_equal(ours.read_text("package-lock.json"), start.read_text("package-lock.json"),
                  "package-lock.json (not written)", r)


@suite.test
def packages_linked_while_resolving_count_as_added(ctx):
    # A lockfile, no node_modules, package.json edited: packages are linked while the rest is
    # resolved, and every one of them is added (not found in place), as npm counts them.
    first = pkg_json({"leaf": "1.0.0", "uses-leaf-1": "1.0.0", "chain-a": "1.0.0", "sort-a": "1.0.0"})
    ours = ctx.project(first, name="lade")
    h.check_exit(ctx.lade(L.install, ours), 0, "first install")
    theirs = ours.copy(ctx.sandbox, "npm")
    second = pkg_json({"leaf": "^1.0.0", "uses-leaf-1": "1.0.0", "chain-a": "1.0.0", "sort-a": "1.0.0",
                       "shared": "^1.0.0", "uses-leaf-2": "1.0.0"})["package.json"]
    for proj in (ours, theirs):
        shutil.rmtree(proj.path("node_modules"), ignore_errors=True)
        proj.write("package.json", second)
    # The new dependency's document comes late: the locked packages are linked meanwhile.
    ctx.registry.fault(path="/uses-leaf-2", kind="delay", delay=1.0, count=1)
    r = ctx.lade(L.install + ["--json"], ours)
    n = ctx.npm(["install", "--json", "--ignore-scripts"], theirs)
    h.check_exit(r, 0, "install --json")
    counts = lambda res: (lambda d: (d["added"], d["changed"], d["removed"]))(json.loads(res.stdout[res.stdout.index("{"):]))
    h.check_equal(counts(r), counts(n), "added, changed, removed", r, expected_name="npm", actual_name="lade")
    h.check_equal(ours.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")


@suite.test
def a_replaced_bundler_leaves_nothing_of_its_bundle(ctx):
    # rbl-a places rbl-shared 1.0.0 (the latest tag), which bundles rbl-inner 1.0.0. rbl-c
    # needs ^1.1.0: once rbl-c's other dependency has come (late), 1.1.0 replaces it, and
    # when rbl-shared 1.1.0's own have come, rbl-inner 2.0.0 nests below it (the root has
    # 1.0.0). The first rbl-shared's tarball comes after that, while resolution still waits
    # for rbl-zzslow. npm never unpacks the replaced version: its bundled rbl-inner must not
    # end up in the nested one's folder.
    files = pkg_json({"rbl-a": "1.0.0", "rbl-c": "1.0.0", "rbl-inner": "1.0.0"})
    ours, theirs = twin_projects(ctx, files)
    # Every request is delayed: a request late enough is sent a second time.
    for path, delay in (("/rbl-aslow", 0.5), ("/rbl-zslow", 1.0), ("/rbl-shared/-/rbl-shared-1.0.0.tgz", 1.5),
                        ("/rbl-zzslow", 1.5)):
        ctx.registry.fault(path=path, kind="delay", delay=delay)
    r = install_as_npm_does(ctx, ours, theirs, "install")
    h.check_equal(ours.installed_version("rbl-shared"), "1.1.0", "rbl-shared", r)
    h.check_equal(ours.installed_version("rbl-shared/node_modules/rbl-inner"), "2.0.0",
                  "rbl-inner below rbl-shared", r)
    h.check_equal(ours.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")


@suite.test
def optional_package_left_out_leaves_no_empty_folders(ctx):
    # opt-broken-nests has no tarball; its dependency leaf@2 nests under it (the root has leaf
    # 1) and may be linked while the rest is resolved. Left out, it takes that folder with it:
    # nothing under node_modules/opt-broken-nests stays behind.
    files = pkg_json({"leaf": "^1.0.0"}, optionalDependencies={"opt-broken-nests": "^1.0.0"})
    theirs = ctx.project(files, name="npm")
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], theirs), 0, "npm install")
    for attempt in range(3):
        proj = ctx.project(files, name="try%d" % attempt)
        if attempt == 2:  # over an existing node_modules: everything is fetched first
            proj.write("package.json", pkg_json({"leaf": "^1.0.0"})["package.json"])
            h.check_exit(ctx.lade(L.install, proj), 0, "first install")
            proj.write("package.json", files["package.json"])
        r = ctx.lade(L.install, proj)
        h.check_exit(r, 0, "install with an optional package that cannot be fetched")
        h.check_not_exists(proj.path("node_modules/opt-broken-nests"), "what the left-out package held")
        h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)
        h.check_output_matches(r, r"(added 1 package|up to date) in", "the count leaves it out")
        h.check_equal(proj.tree(), theirs.tree(), "node_modules", r, expected_name="npm", actual_name="lade")
        h.check_equal(proj.read_text("node_modules/.package-lock.json"),
                      theirs.read_text("node_modules/.package-lock.json"), "hidden lockfile", r,
                      expected_name="npm", actual_name="lade")


if __name__ == "__main__":
    suite.main()
