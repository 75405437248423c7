#!/usr/bin/env python3
"""lade's failures: non-zero exits with messages that name the problem (npm's error codes)."""

import json
import os
import re
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

suite = h.Suite("errors")
L = h.LadeConventions


# npm retries connection errors and integrity failures with a 10 s minimum back-off; in oracle
# mode that is switched off so the suite stays quick. lade is run as it is.
NO_RETRY = ["--fetch-retries=0"] if L.is_npm_oracle() else []


def app(deps):
    return {"package.json": {"name": "app", "version": "1.0.0", "dependencies": deps}}


@suite.test
def malformed_package_json(ctx):
    bad = ('{\n  "name": "app",\n  "version": "1.0.0",\n  "dependencies": {\n'
           '    "leaf": "^1.0.0",\n  }\n}\n')
    proj = ctx.project({"package.json": bad})
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install with a malformed package.json")
    h.check_output_contains(r, "EJSONPARSE", "package.json")
    h.check_output_matches(r, r"(?i)(position|line|column|offset)\s*:?\s*\d+", "gives a position")
    h.check_not_exists(proj.path("node_modules"), "node_modules made")
    h.check_not_exists(proj.path("package-lock.json"), "lockfile written")


@suite.test
def malformed_lockfile(ctx):
    files = app({"leaf": "^1.0.0"})
    files["package-lock.json"] = '{"lockfileVersion": 3, "packages": {'
    proj = ctx.project(files)
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, "nonzero", "ci with a malformed lockfile")
    h.check_output_contains(r, "package-lock.json")


@suite.test
def unknown_package_is_e404(ctx):
    proj = ctx.project(app({"leaf": "^1.0.0", "no-such-package-anywhere": "^1.0.0"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install of an unknown package")
    h.check_output_contains(r, "E404", "no-such-package-anywhere")
    h.check_not_exists(proj.path("package-lock.json"), "lockfile written")
    # Nothing half-installed: packages placed (and linked) before the failure go again.
    h.check_not_exists(proj.path("node_modules"), "node_modules left behind")


@suite.test
def json_error_has_npm_keys(ctx):
    # npm's --json error: {"error": {"code", "summary", "detail"}} on stdout.
    proj = ctx.project(app({"no-such-package-anywhere": "^1.0.0"}))
    r = ctx.lade(L.install + ["--json"], proj)
    h.check_exit(r, "nonzero", "install --json of an unknown package")
    start = r.stdout.find("{")
    h.check(start >= 0, "no JSON on stdout", r)
    err = json.loads(r.stdout[start:]).get("error", {})
    h.check_equal(sorted(err), ["code", "detail", "summary"], "error keys", r)
    h.check_equal(err.get("code"), "E404", "error code", r)


@suite.test
def unsupported_platform_message_is_npms(ctx):
    # npm's EBADPLATFORM text: the keys the package lists (arrays joined), the current value of
    # those keys only, then "Valid"/"Actual" lines.
    proj = ctx.project(app({"only-aix": "^1.0.0"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install of an aix-only package")
    h.check_output_contains(r, 'Unsupported platform for only-aix@1.0.0: wanted {"os":"aix"} (current: {"os":"linux"})',
                            "Valid os:  aix", "Actual os: linux")


@suite.test
def unknown_scoped_package_is_e404(ctx):
    proj = ctx.project(app({"@fx/nope": "^1.0.0"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install of an unknown scoped package")
    h.check_output_contains(r, "E404", "@fx/nope")


@suite.test
def unsatisfiable_range_is_etarget(ctx):
    proj = ctx.project(app({"leaf": "^9.0.0"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install of an unsatisfiable range")
    h.check_output_contains(r, "ETARGET", "leaf", "^9.0.0")
    if not L.is_npm_oracle():
        # lade says who wants it (npm does not).
        h.check_output_contains(r, 'wanted by the root project: "leaf": "^9.0.0"')


@suite.test
def unknown_dist_tag_is_etarget(ctx):
    proj = ctx.project(app({"leaf": "nightly"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, "nonzero", "install of an unknown dist-tag")
    h.check_output_contains(r, "ETARGET", "leaf")


@suite.test(lade_only=True)
def a_tree_that_never_settles_is_eresolve(ctx):
    # rpc-bravo needs rpc-foxtrot@2, whose optional peer brings rpc-xray@1.3; that one's peer
    # wants rpc-foxtrot@1, which replaces the 2, which rpc-bravo wants back, and so on: npm
    # replaces them in turn for ever (it never ends on this tree). lade stops and says why.
    proj = ctx.project(app({"rpc-bravo": "1.0.0"}))
    r = ctx.lade(L.install + ["--json"], proj, timeout=60)
    h.check_exit(r, 1, "install of a tree that never settles")
    h.check_equal(json.loads(r.stdout)["error"]["code"], "ERESOLVE", "the error code", r)
    h.check_output_contains(r, "never settles", "rpc-")
    h.check_not_exists(proj.path("node_modules"), "node_modules")


@suite.test
def ci_with_a_lockfile_that_does_not_parse(ctx):
    # npm ci takes a lockfile it cannot read for none (EUSAGE); install writes it anew.
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    proj.write("package-lock.json", '{"name": "app", "lockfileVersion": 3, "packages": {,}}\n')
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, 1, "ci with a broken lockfile")
    h.check_output_contains(r, "EUSAGE")
    h.check_output_matches(r, r"can only install with an existing package-lock\.json", "says what ci needs")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with the same lockfile")
    h.check_equal(proj.lockfile()["packages"]["node_modules/leaf"]["version"], "1.1.0", "leaf in the new lockfile", r)


@suite.test
def ci_when_an_override_conflicts_with_a_direct_dependency(ctx):
    # install says EOVERRIDE. npm ci meets the conflict while it loads the lockfile's tree, and
    # reports anything that goes wrong there as its usage error.
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    h.check_exit(ctx.lade(L.install, proj), 0, "install")
    conflicting = app({"leaf": "1.0.0"})["package.json"]
    conflicting["overrides"] = {"leaf": "1.1.0"}
    proj.write("package.json", conflicting)
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 1, "install with the conflicting override")
    h.check_output_contains(r, "EOVERRIDE")
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, 1, "ci with the conflicting override")
    h.check_output_contains(r, "EUSAGE")
    h.check_output_matches(r, r"can only install with an existing package-lock\.json", "says what ci needs")


@suite.test
def an_override_naming_an_undeclared_dependency_has_no_code(ctx):
    # npm's error for a "$name" no root dependency declares carries no code; a script that
    # reads the code finds none in either tool.
    files = app({"uses-leaf-1": "^1.0.0"})
    files["package.json"]["overrides"] = {"leaf": "$nope"}
    proj = ctx.project(files)
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 1, "install with the dangling reference")
    h.check_output_contains(r, "Unable to resolve reference $nope")
    h.check(not re.search(r"\bE[A-Z]{3,}\b", r.stdout + r.stderr), "no error code is printed", r)


@suite.test
def node_modules_that_is_a_file_is_replaced(ctx):
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    proj.write("node_modules", "not a folder\n")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install where node_modules is a file")
    h.check_output_matches(r, r"warn.*Removing non-directory", "says it removed the file")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf", r)


@suite.test
def forms_npm_warns_about_but_accepts(ctx):
    # npm ignores what follows `ci`, warns about a lockfile version it does not know and about
    # the old spellings of --omit, and installs.
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    r = ctx.lade(L.install + ["--lockfile-version", "4"], proj)
    h.check_exit(r, 0, "install --lockfile-version 4")
    h.check_output_matches(r, r'warn.*invalid config lockfile-version="4"', "warns about the version")
    h.check_equal(proj.lockfile().get("lockfileVersion"), 3, "lockfileVersion written", r)
    r = ctx.lade(L.ci + ["leaf"], proj)
    h.check_exit(r, 0, "ci with a package named")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf after ci", r)
    for flag, words in (("--production", r"config production Use `--omit=dev` instead"),
                        ("--only=prod", r"config only Use `--omit=dev`"),
                        ("--also=dev", r"config also Please use --include=dev instead"),
                        ("--no-optional", r"config optional Use `--omit=optional`")):
        r = ctx.lade(L.install + [flag], proj)
        h.check_exit(r, 0, "install " + flag)
        h.check_output_matches(r, r"warn.*" + words, "npm's warning about " + flag)


@suite.test
def git_failure_exits_with_gits_status(ctx):
    # @npmcli/git makes git's exit status the error's code, and npm exits with it.
    missing = ctx.sandbox.path("no-such-repo")
    proj = ctx.project(app({"gone": "git+file://" + missing}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 128, "install of a git dependency whose repository is missing")
    h.check_output_matches(r, r"ls-remote", "names the git command")


@suite.test
def silent_prints_nothing_even_for_an_error(ctx):
    proj = ctx.project(app({"no-such-package-here": "^1.0.0"}))
    r = ctx.lade(L.install + ["--silent"], proj)
    h.check_exit(r, 1, "install --silent of a package that does not exist")
    h.check_equal((r.stdout + r.stderr).strip(), "", "output of install --silent", r)


@suite.test
def unreachable_registry(ctx):
    port = h.closed_port()
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    r = ctx.lade(L.install + NO_RETRY, proj, registry="http://127.0.0.1:%d/" % port, timeout=120)
    h.check(not r.timed_out, "install against a closed port hung", r)
    # 1, not 256 - ECONNREFUSED: npm's fetch errors carry their code as a string errno.
    h.check_exit(r, 1, "install against a closed port")
    h.check_output_matches(r, r"(?i)ECONNREFUSED|connection refused|could(n't| not) connect",
                           "says the connection was refused")
    h.check_output_contains(r, "127.0.0.1:%d" % port)
    h.check_not_exists(proj.path("package-lock.json"), "lockfile written")


@suite.test
def integrity_mismatch(ctx):
    reg = ctx.registry
    reg.control(bad_integrity=["leaf@1.1.0"])
    proj = ctx.project(app({"leaf": "^1.0.0", "shared": "^1.0.0"}))
    r = ctx.lade(L.install + NO_RETRY, proj)
    h.check_exit(r, "nonzero", "install with a wrong integrity in the packument")
    h.check_output_contains(r, "EINTEGRITY")
    h.check_output_contains(r, "leaf")
    h.check_not_exists(proj.path("node_modules/leaf"), "leaf (or part of it) is in node_modules")


@suite.test
def integrity_mismatch_from_lockfile(ctx):
    reg = ctx.registry
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    h.check_exit(ctx.npm(["install", "--package-lock-only", "--ignore-scripts"], proj), 0,
                 "npm lock")
    lock = proj.read_text("package-lock.json")
    good = proj.lockfile()["packages"]["node_modules/leaf"]["integrity"]
    other = ctx.npm(["view", "host@1.0.0", "dist.integrity"], proj).stdout.strip()
    h.check(other.startswith("sha512-"), "could not read another integrity")
    proj.write("package-lock.json", lock.replace(good, other))
    r = ctx.lade(L.ci + NO_RETRY, proj)
    h.check_exit(r, "nonzero", "ci with a wrong integrity in the lockfile")
    h.check_output_contains(r, "EINTEGRITY")
    h.check_not_exists(proj.path("node_modules/leaf"), "leaf (or part of it) is in node_modules")


@suite.test
def unknown_cli_flag(ctx):
    # npm only warns about an option it does not know and installs; so does lade (a script
    # passing an npm option lade lacks still works). The word after it stays an argument.
    proj = ctx.project(app({"leaf": "^1.0.0"}))
    r = ctx.lade(L.install + ["--no-such-flag-xyz", "shared"], proj)
    h.check_exit(r, 0, "unknown flag")
    h.check_output_contains(r, "such-flag-xyz")
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "leaf installed", r)
    h.check_equal(proj.package_json()["dependencies"].get("shared"), "^1.1.0", "shared added", r)


@suite.test(lade_only=True)
def unknown_command(ctx):
    proj = ctx.project(app({}))
    r = ctx.lade(["frobnicate"], proj)
    h.check_exit(r, 1, "unknown command (npm exits 1)")
    h.check_output_contains(r, "frobnicate")


@suite.test
def missing_package_json(ctx):
    cwd = ctx.sandbox.new_dir("empty")
    r = ctx.lade(L.ci, cwd)
    h.check_exit(r, "nonzero", "ci without package.json")
    h.check_output_matches(r, r"package\.json|package-lock\.json", "names the missing file")


@suite.test
def exit_status_is_npms(ctx):
    # npm exits with 256 + errno for a system error (ENOENT: 254) and with a failed script's
    # own exit code; scripts that call an installer can tell these apart.
    proj = ctx.project(app({"gone": "file:../no-such.tgz"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 254, "install of a tarball file that does not exist")
    h.check_output_contains(r, "ENOENT")
    root = ctx.project({"package.json": {"name": "app", "version": "1.0.0",
                                         "scripts": {"postinstall": "exit 7"}}}, name="root-script")
    r = ctx.lade(L.install, root)
    h.check_exit(r, 7, "install whose root postinstall exits 7")


if __name__ == "__main__":
    suite.main()
