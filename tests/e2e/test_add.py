#!/usr/bin/env python3
"""lade add: package.json must be edited byte for byte as npm edits it (npm runs on a copy of the
same project against the same registry)."""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

suite = h.Suite("add")
L = h.LadeConventions

BASE = {"name": "app", "version": "1.0.0", "description": "demo",
        "dependencies": {"shared": "^1.0.0"}, "license": "MIT"}


def same_as_npm(ctx, add_args, package_json_text, files=None, check_lock=True):
    """Runs `lade add ARGS` and `npm install ARGS` on two copies of a project and compares
    package.json bytes (and the lockfile). Returns (lade project, lade result)."""
    base_files = {"package.json": package_json_text}
    base_files.update(files or {})
    lade_proj = ctx.project(base_files, name="lade")
    npm_proj = ctx.project(base_files, name="npm")
    r = ctx.lade(L.add + list(add_args) + ["--ignore-scripts"], lade_proj)
    h.check_exit(r, 0, "lade add %s" % " ".join(add_args))
    n = ctx.npm(["install"] + list(add_args) + ["--ignore-scripts"], npm_proj)
    h.check_exit(n, 0, "npm install %s" % " ".join(add_args))
    h.check_equal(lade_proj.read_text("package.json"), npm_proj.read_text("package.json"),
                  "package.json after add %s" % " ".join(add_args), r,
                  expected_name="npm", actual_name="lade")
    if check_lock and npm_proj.exists("package-lock.json"):
        h.check_equal(lade_proj.read_text("package-lock.json"),
                      npm_proj.read_text("package-lock.json"), "package-lock.json", r,
                      expected_name="npm", actual_name="lade")
    h.check_equal(lade_proj.tree(), npm_proj.tree(), "node_modules", r,
                  expected_name="npm", actual_name="lade")
    return lade_proj, r


def text(obj, indent=2):
    return json.dumps(obj, indent=indent) + "\n"


@suite.test
def add_caret_range(ctx):
    proj, r = same_as_npm(ctx, ["leaf@^1"], text(BASE))
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "installed leaf", r)


@suite.test
def add_explicit_tag_installs_the_tagged_version(ctx):
    # npm turns an explicit tag into the version it names before resolving: host@latest is
    # host@2.0.0, which plugin-a's peer range (^1) refuses (ERESOLVE), not a host@1 that the
    # peer placed and the tag edge would accept.
    files = {"package.json": text({"name": "app", "version": "1.0.0", "devDependencies": {"plugin-a": "^1.0.0"}})}
    proj = ctx.project(files)
    r = ctx.lade(L.add + ["host@latest", "--package-lock-only"], proj)
    h.check(r.returncode != 0, "host@latest against a peer range ^1 must fail", r)
    h.check_output_contains(r, "ERESOLVE")
    h.check_equal(proj.package_json().get("dependencies"), None, "package.json unchanged", r)
    # --force takes it, as npm does, saved as the version the tag named.
    r = ctx.lade(L.add + ["host@latest", "--package-lock-only", "--force"], proj)
    h.check_exit(r, 0, "add host@latest --force")
    h.check_equal(proj.package_json()["dependencies"], {"host": "^2.0.0"}, "saved spec", r)


@suite.test
def add_without_range_saves_caret_latest(ctx):
    proj, r = same_as_npm(ctx, ["lagging"], text(BASE))
    h.check_equal(proj.package_json()["dependencies"].get("lagging"), "^1.1.0",
                  "saved spec (latest tag is 1.1.0, highest is 2.0.0)", r)


@suite.test
def add_bare_name_keeps_the_declared_range(ctx):
    # npm sets "*" only where the package is not declared yet: naming it again updates it
    # within its range (leaf ^1: 1.1.0, not the latest 3.0.0), and a range the new caret range
    # would widen stays as written (shared ~1.0.0).
    base = {"name": "app", "version": "1.0.0", "dependencies": {"leaf": "^1.0.0"},
            "devDependencies": {"shared": "~1.0.0"}}
    proj, r = same_as_npm(ctx, ["leaf", "shared"], text(base))
    h.check_equal(proj.package_json()["dependencies"].get("leaf"), "^1.1.0", "saved leaf", r)
    h.check_equal(proj.package_json()["devDependencies"].get("shared"), "~1.0.0", "saved shared", r)
    h.check_equal(proj.installed_version("leaf"), "1.1.0", "installed leaf", r)


@suite.test
def add_optional_as_npm_locks_it(ctx):
    # npm copies the requested spec into the lockfile root's "dependencies" ("for previous npm
    # versions"); package.json drops it, and so does the next install's lockfile.
    for spec in ("leaf", "leaf@^1.0.0", "leaf@latest"):
        proj, r = same_as_npm(ctx, ["-O", spec], text(BASE))
        r2 = ctx.lade(L.install + ["--ignore-scripts"], proj)
        h.check_exit(r2, 0, "install after add -O " + spec)
        root = proj.lockfile()["packages"][""]
        h.check("leaf" not in root.get("dependencies", {}),
                "the copy stays in the lockfile after the next install", r2)
        h.check("leaf" in root.get("optionalDependencies", {}), "the optional dependency", r2)


@suite.test
def add_save_bundle(ctx):
    base = dict(BASE, bundleDependencies=["shared"])
    proj, r = same_as_npm(ctx, ["-B", "leaf@^1", "chain-a"], text(base))
    h.check_equal(proj.package_json().get("bundleDependencies"), ["chain-a", "leaf", "shared"],
                  "bundleDependencies, sorted", r)


@suite.test
def add_dev(ctx):
    proj, r = same_as_npm(ctx, ["-D", "dev-tool@^1"], text(BASE))
    h.check("dev-tool" in proj.package_json().get("devDependencies", {}),
            "not in devDependencies", r)


@suite.test
def add_exact(ctx):
    proj, r = same_as_npm(ctx, ["-E", "leaf@^1"], text(BASE))
    h.check_equal(proj.package_json()["dependencies"].get("leaf"), "1.1.0",
                  "saved exact version", r)


@suite.test
def add_scoped_and_several(ctx):
    same_as_npm(ctx, ["@fx/scoped-a", "host@1.0.0", "multi@~1.0.0"], text(BASE))


@suite.test
def add_moves_between_dependency_types(ctx):
    pj = dict(BASE, devDependencies={"leaf": "^1.0.0"})
    # Without a type flag npm updates the entry where it is...
    proj, r = same_as_npm(ctx, ["leaf@^2"], text(pj))
    h.check_equal(proj.package_json()["devDependencies"].get("leaf"), "^2.0.0",
                  "leaf stays in devDependencies", r)
    # ...and -P moves it to dependencies.
    proj, r = same_as_npm(ctx, ["-P", "leaf@^2"], text(pj))
    h.check("leaf" not in proj.package_json().get("devDependencies", {}),
            "leaf should have moved out of devDependencies", r)


@suite.test
def add_keeps_formatting(ctx):
    # four-space indent, no trailing newline, unusual key order
    pj = {"version": "1.0.0", "name": "app", "scripts": {"test": "true"},
          "dependencies": {"shared": "^1.0.0"}}
    same_as_npm(ctx, ["leaf@^1"], json.dumps(pj, indent=4))
    # tab indent and CRLF line endings
    crlf = json.dumps(pj, indent="\t").replace("\n", "\r\n") + "\r\n"
    same_as_npm(ctx, ["leaf@^1"], crlf)


@suite.test
def add_to_project_without_dependencies(ctx):
    same_as_npm(ctx, ["leaf@^1"], text({"name": "bare", "version": "0.0.0"}))


@suite.test
def add_no_save(ctx):
    pj = text(BASE)
    lade_proj = ctx.project({"package.json": pj}, name="lade")
    h.check_exit(ctx.lade(L.install + ["--ignore-scripts"], lade_proj), 0, "initial install")
    lock_before = lade_proj.read_bytes("package-lock.json")
    r = ctx.lade(L.add + ["leaf@^1", "--no-save", "--ignore-scripts"], lade_proj)
    h.check_exit(r, 0, "lade add --no-save")
    h.check_equal(lade_proj.read_text("package.json"), pj, "package.json after --no-save", r)
    h.check_equal(lade_proj.read_bytes("package-lock.json"), lock_before,
                  "package-lock.json after --no-save", r)
    h.check_equal(lade_proj.installed_version("leaf"), "1.1.0", "leaf installed", r)
    # npm behaves the same way.
    npm_proj = ctx.project({"package.json": pj}, name="npm")
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], npm_proj), 0, "npm initial install")
    h.check_exit(ctx.npm(["install", "leaf@^1", "--no-save", "--ignore-scripts"], npm_proj), 0,
                 "npm install --no-save")
    h.check_equal(lade_proj.read_text("package-lock.json"), npm_proj.read_text("package-lock.json"),
                  "lockfile", expected_name="npm", actual_name="lade")
    h.check_equal(lade_proj.tree(), npm_proj.tree(), "node_modules",
                  expected_name="npm", actual_name="lade")


@suite.test
def add_with_an_empty_save_prefix_saves_exact_versions(ctx):
    # `--save-prefix=` is an empty prefix, not an option waiting for the next argument.
    proj, r = same_as_npm(ctx, ["--save-prefix=", "leaf@^1", "lagging"], text(BASE))
    deps = proj.package_json()["dependencies"]
    h.check_equal((deps.get("leaf"), deps.get("lagging")), ("1.1.0", "1.1.0"), "saved specs", r)


@suite.test
def add_save_peer(ctx):
    # --save-peer saves to peerDependencies (and updates a devDependencies entry of the same
    # name, as add-rm-pkg-deps does); the peer is installed.
    proj, r = same_as_npm(ctx, ["--save-peer", "leaf@^1"], text(BASE))
    h.check_equal(proj.package_json().get("peerDependencies"), {"leaf": "^1.1.0"}, "peerDependencies", r)
    with_dev = dict(BASE, devDependencies={"leaf": "^1.0.0"})
    proj, r = same_as_npm(ctx, ["--save-peer", "leaf@^1.1.0"], text(with_dev))
    h.check_equal(proj.package_json().get("devDependencies"), {"leaf": "^1.1.0"}, "devDependencies", r)


@suite.test
def add_prod_for_an_optional_dependency_keeps_its_range(ctx):
    # `-P leaf` with leaf in optionalDependencies: npm's "*" loses to the optional range, which
    # is resolved (as an optional edge) and saved to dependencies.
    proj, r = same_as_npm(ctx, ["-P", "leaf"], text(dict(BASE, optionalDependencies={"leaf": "^1.0.0"})))
    h.check_equal(proj.package_json()["dependencies"].get("leaf"), "^1.1.0", "saved range", r)


@suite.test
def add_warns_when_a_package_changes_section(ctx):
    # add-rm-pkg-deps warns for each section a package leaves.
    proj = ctx.project({"package.json": text(dict(BASE, dependencies={"leaf": "^1.0.0"}))})
    r = ctx.lade(L.add + ["-D", "leaf", "--ignore-scripts"], proj)
    h.check_exit(r, 0, "add -D leaf")
    h.check_output_contains(r, "Removing dependencies.leaf in favor of devDependencies.leaf")


@suite.test
def npm_command_line_forms(ctx):
    # Options before the command, an unknown option, an empty --omit= (which must not swallow
    # --ignore-scripts), npm's -S and `in` alias: npm installs and only warns.
    proj = ctx.project({"package.json": text(BASE)})
    r = ctx.lade(["--foo-bar", "in", "--omit=", "--ignore-scripts", "-S", "has-postinstall"], proj)
    h.check_exit(r, 0, "install with npm's command-line forms")
    h.check_equal(proj.package_json()["dependencies"].get("has-postinstall"), "^1.0.0", "saved", r)
    h.check_not_exists(proj.path("node_modules/has-postinstall/postinstall-ran.txt"),
                       "--ignore-scripts lost: the postinstall script ran")
    # Two save types at once: npm refuses, and nothing changes.
    before = proj.read_text("package.json")
    r = ctx.lade(["install", "-D", "-O", "leaf"], proj)
    h.check(r.returncode != 0, "-D with -O accepted", r)
    h.check_output_matches(r, r"--save-optional cannot be provided when using --save-dev", "message")
    h.check_equal(proj.read_text("package.json"), before, "package.json after the refusal", r)


@suite.test
def add_unknown_package_leaves_package_json_alone(ctx):
    pj = text(BASE)
    proj = ctx.project({"package.json": pj})
    r = ctx.lade(L.add + ["no-such-package-anywhere@^1"], proj)
    h.check_exit(r, "nonzero", "lade add of an unknown package")
    h.check_output_contains(r, "E404", "no-such-package-anywhere")
    h.check_equal(proj.read_text("package.json"), pj, "package.json after a failed add")
    h.check_not_exists(proj.path("package-lock.json"), "lockfile after a failed add")


def uninstall_same_as_npm(ctx, base_files, args, what):
    """Installs `base_files` with npm, copies the result, runs `uninstall ARGS` with lade in one
    copy and npm in the other, and compares package.json files, lockfiles and node_modules."""
    npm_proj = ctx.project(base_files, name="npm")
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], npm_proj), 0, "npm install (the start)")
    lade_proj = npm_proj.copy(ctx.sandbox, "lade", include_node_modules=True)
    r = ctx.lade(["uninstall"] + args, lade_proj)
    h.check_exit(r, 0, "uninstall " + " ".join(args))
    n = ctx.npm(["uninstall"] + args, npm_proj)
    h.check_exit(n, 0, "npm uninstall " + " ".join(args))
    files = [f for f in base_files if f.endswith("package.json")]
    for f in files + ["package-lock.json", "node_modules/.package-lock.json"]:
        h.check_equal(lade_proj.exists(f) and lade_proj.read_text(f), npm_proj.exists(f) and npm_proj.read_text(f),
                      "%s after %s" % (f, what), r, expected_name="npm", actual_name="lade")
    h.check_equal(lade_proj.tree(), npm_proj.tree(), "node_modules after " + what, r,
                  expected_name="npm", actual_name="lade")
    return lade_proj, r


@suite.test
def uninstall_takes_a_package_out_of_every_section(ctx):
    pj = {"name": "app", "version": "1.0.0",
          "dependencies": {"shared": "^1.0.0", "uses-leaf-1": "^1.0.0", "sort-a": "1.0.0"},
          "devDependencies": {"chain-a": "^1.0.0", "sort-z": "1.0.0"},
          "optionalDependencies": {"leaf": "^1.0.0"},
          "peerDependencies": {"sort-a": "1.0.0"}, "peerDependenciesMeta": {"sort-a": {"optional": True}},
          "bundleDependencies": ["shared", "sort-a"]}
    proj, r = uninstall_same_as_npm(ctx, {"package.json": text(pj)}, ["sort-a", "chain-a", "leaf", "shared"],
                                    "uninstall from four sections")
    h.check_output_matches(r, r"removed \d+ packages", "the summary")
    h.check_not_exists(proj.path("node_modules/chain-b"), "chain-a's dependency still installed")
    # The next install has nothing to do, and agrees with the lockfile.
    again = ctx.lade(L.install, proj)
    h.check_output_contains(again, "up to date")
    # The other spellings, and a name that is not there.
    for spelling in ("rm", "remove", "un"):
        proj.write("package.json", text(dict(pj, dependencies={"sort-a": "1.0.0", "uses-leaf-1": "^1.0.0"})))
        h.check_exit(ctx.lade(L.install, proj), 0, "install before " + spelling)
        r = ctx.lade([spelling, "uses-leaf-1", "--ignore-scripts"], proj)
        h.check_exit(r, 0, spelling)
        h.check_equal(sorted(proj.read_json("package.json").get("dependencies", {})), ["sort-a"],
                      "dependencies after " + spelling, r)
        h.check_not_exists(proj.path("node_modules/uses-leaf-1"), "uses-leaf-1 after " + spelling)
    before = proj.read_text("package.json")
    r = ctx.lade(["uninstall", "not-a-dependency"], proj)
    h.check_exit(r, 0, "uninstall of a name package.json lacks")
    h.check_output_contains(r, "up to date")
    h.check_equal(proj.read_text("package.json"), before, "package.json after removing nothing", r)
    r = ctx.lade(["uninstall"], proj)
    h.check_exit(r, 1, "uninstall without a name")
    h.check_output_contains(r, "Must provide a package name to remove")


@suite.test
def uninstall_no_save_and_in_a_workspace(ctx):
    base = {"package.json": text({"name": "root", "version": "1.0.0", "workspaces": ["packages/*"],
                                  "dependencies": {"shared": "^1.0.0", "leaf": "^1.0.0"}}),
            "packages/a/package.json": text({"name": "a", "version": "1.0.0",
                                             "dependencies": {"uses-leaf-2": "^1.0.0", "sort-z": "1.0.0"}})}
    uninstall_same_as_npm(ctx, base, ["-w", "a", "uses-leaf-2"], "uninstall -w a")
    uninstall_same_as_npm(ctx, base, ["leaf", "--no-save"], "uninstall --no-save")
    # The workspace's last devDependency: its package.json and its lockfile entry keep no
    # empty devDependencies.
    dev_only = dict(base)
    dev_only["packages/a/package.json"] = text({"name": "a", "version": "1.0.0",
                                                "dependencies": {"sort-z": "1.0.0"},
                                                "devDependencies": {"uses-leaf-2": "^1.0.0"}})
    uninstall_same_as_npm(ctx, dev_only, ["-w", "a", "uses-leaf-2"], "uninstall -w a of its last devDependency")


@suite.test
def uninstall_leaves_the_emptied_scope_folder_as_npm_does(ctx):
    # npm removes the package's folder and nothing above it: node_modules/@fx stays, empty.
    base = {"package.json": text({"name": "app", "version": "1.0.0",
                                  "dependencies": {"@fx/scoped-b": "^1.0.0", "leaf": "^1.0.0"}})}
    proj, r = uninstall_same_as_npm(ctx, base, ["@fx/scoped-b"], "uninstall of the scope's last package")
    h.check(os.path.isdir(proj.path("node_modules/@fx")), "node_modules/@fx is kept", r)
    h.check_equal(os.listdir(proj.path("node_modules/@fx")), [], "what node_modules/@fx holds", r)
    again = ctx.lade(L.install, proj)
    h.check_output_contains(again, "up to date")


@suite.test
def update_resolves_packages_again_as_npm_does(ctx):
    # npm update leaves package.json alone and writes the lockfile: with names, every
    # dependency on them is resolved again wherever it is; without, the whole tree is.
    locked = {"name": "app", "version": "1.0.0",
              "dependencies": {"leaf": "1.0.0", "shared": "1.0.0", "multi": "1.0.0", "@fx/scoped-a": "^1.0.0",
                               "@fx/scoped-b": "1.0.0", "uses-leaf-1": "^1.0.0"}}
    widened = dict(locked, dependencies={"leaf": "^1.0.0", "shared": "^1.0.0", "multi": "^1.0.0",
                                         "@fx/scoped-a": "^1.0.0", "uses-leaf-1": "^1.0.0"},
                   devDependencies={"sort-z": "1.0.0", "host": ">=1.0.0 <2.0.0"})
    start = ctx.project({"package.json": text(locked)}, name="start")
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], start), 0, "npm install (the start)")
    start.write("package.json", text(widened))
    for args in (["leaf"], ["@fx/scoped-b"], ["shared", "multi"], [], ["--dry-run"], ["--save"],
                 ["multi", "--save"], ["--save", "--dry-run"], ["--save", "-E"]):
        what = "update " + " ".join(args)
        ours = start.copy(ctx.sandbox, "lade", include_node_modules=True)
        theirs = start.copy(ctx.sandbox, "npm", include_node_modules=True)
        r = ctx.lade(["update"] + args + ["--ignore-scripts"], ours)
        h.check_exit(r, 0, what)
        h.check_exit(ctx.npm(["update"] + args + ["--ignore-scripts"], theirs), 0, "npm " + what)
        for f in ("package.json", "package-lock.json", "node_modules/.package-lock.json"):
            h.check_equal(ours.read_text(f), theirs.read_text(f), "%s after %s" % (f, what), r,
                          expected_name="npm", actual_name="lade")
        h.check_equal(ours.tree(), theirs.tree(), "node_modules after " + what, r,
                      expected_name="npm", actual_name="lade")
        if args == ["leaf"]:
            h.check_equal(ours.installed_version("leaf"), "1.1.0", "leaf after " + what, r)
            h.check_equal(ours.installed_version("shared"), "1.0.0", "shared after " + what, r)
        if not args:
            h.check_equal(ours.installed_version("multi"), "1.2.0", "multi after " + what, r)
            again = ctx.lade(L.install, ours)
            h.check_output_contains(again, "up to date")
    r = ctx.lade(["update", "leaf@^1.1.0"], start)
    h.check_exit(r, 1, "update with a range")
    h.check_output_contains(r, "EUPDATEARGS")
    # --save leaves a range alone when some package depends on exactly the version installed
    # (loop-moss 1.2.2 wants loop-oscar "3.3.1").
    exact = ctx.project({"package.json": text({"name": "app", "version": "1.0.0",
                                               "dependencies": {"loop-oscar": ">=2.0.0", "loop-moss": "^1.2.2"}})},
                        name="exact")
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], exact), 0, "npm install (exact)")
    ours, theirs = exact.copy(ctx.sandbox, "lade-x", True), exact.copy(ctx.sandbox, "npm-x", True)
    r = ctx.lade(["update", "--save", "--ignore-scripts"], ours)
    h.check_exit(ctx.npm(["update", "--save", "--ignore-scripts"], theirs), 0, "npm update --save")
    h.check_equal(ours.read_text("package.json"), theirs.read_text("package.json"),
                  "package.json after update --save with an exact edge", r, expected_name="npm", actual_name="lade")



@suite.test
def update_save_in_a_workspaces_project(ctx):
    # Without -w, npm update --save saves the root's and every workspace's direct dependencies
    # (sorted, as npm saves). With -w only that workspace's package.json is saved.
    start = ctx.project({"package.json": text({"name": "root", "version": "1.0.0", "workspaces": ["packages/*"],
                                               "dependencies": {"leaf": "1.0.0", "multi": "1.0.0"}}),
                         "packages/a/package.json": text({"name": "a", "version": "1.0.0",
                                                          "dependencies": {"multi": "1.0.0", "shared": "1.0.0"}}),
                         "packages/b/package.json": text({"name": "b", "version": "1.0.0"})}, name="start")
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], start), 0, "npm install (the start)")
    start.write("package.json", text({"name": "root", "version": "1.0.0", "workspaces": ["packages/*"],
                                      "dependencies": {"leaf": "^1.0.0", "multi": "^1.0.0"}}))
    start.write("packages/a/package.json", text({"name": "a", "version": "1.0.0",
                                                 "dependencies": {"shared": "^1.0.0", "multi": "^1.0.0",
                                                                  "leaf": "1.0.0"}}))
    ours, theirs = start.copy(ctx.sandbox, "lade", True), start.copy(ctx.sandbox, "npm", True)
    r = ctx.lade(["update", "--save", "--ignore-scripts"], ours)
    h.check_exit(r, 0, "update --save in a workspaces project")
    h.check_exit(ctx.npm(["update", "--save", "--ignore-scripts"], theirs), 0, "npm update --save")
    for f in ("package.json", "packages/a/package.json", "packages/b/package.json", "package-lock.json",
              "node_modules/.package-lock.json"):
        h.check_equal(ours.read_text(f), theirs.read_text(f), f + " after update --save", r,
                      expected_name="npm", actual_name="lade")
    h.check_equal(ours.read_json("packages/a/package.json")["dependencies"]["multi"], "^1.2.0",
                  "a's saved range for multi", r)
    h.check_output_contains(ctx.lade(L.install, ours), "up to date")
    # -w a: a's package.json only.
    only_a = start.copy(ctx.sandbox, "lade-w", True)
    r = ctx.lade(["update", "-w", "a", "--save", "--ignore-scripts"], only_a)
    h.check_exit(r, 0, "update -w a --save")
    h.check_equal(only_a.read_text("package.json"), start.read_text("package.json"), "root package.json after -w a", r)
    h.check_equal(only_a.read_json("packages/a/package.json")["dependencies"],
                  {"leaf": "1.0.0", "multi": "^1.2.0", "shared": "^1.1.0"}, "a's dependencies after -w a", r)

if __name__ == "__main__":
    suite.main()
