#!/usr/bin/env python3
"""Dependencies that no registry serves, and workspaces: lade against npm on the same input.
Git repositories are made in the sandbox (bare, with fixed dates so commit ids are stable) and
reached with git+file:// URLs."""

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

suite = h.Suite("links")
L = h.LadeConventions


def git_repo(sandbox, name, commits):
    """A bare repository <sandbox>/git/<name>.git; `commits` is a list of (files, tags), each
    files dict written over the previous state. Returns its git+file:// URL."""
    work = sandbox.path("git", name + "-work")
    bare = sandbox.path("git", name + ".git")
    os.makedirs(work)
    env = dict(os.environ)
    env.update({
        "GIT_AUTHOR_NAME": "Fixture", "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
        "GIT_COMMITTER_NAME": "Fixture", "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
        "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
        "GIT_CONFIG_NOSYSTEM": "1", "HOME": sandbox.path("git"),
    })

    def git(*a, cwd=work):
        subprocess.run(["git"] + list(a), cwd=cwd, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    for i, (files, tags) in enumerate(commits):
        for rel, content in files.items():
            p = os.path.join(work, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(json.dumps(content, indent=2) + "\n" if isinstance(content, dict) else content)
        git("add", "-A")
        git("commit", "-q", "-m", "commit %d" % i)
        for tag in tags:
            git("tag", "-a", tag, "-m", tag)
    git("clone", "-q", "--bare", work, bare, cwd=sandbox.path("git"))
    return "git+file://" + bare


def pkg(name, version="1.0.0", **fields):
    d = {"name": name, "version": version}
    d.update(fields)
    return d


def workspaces_project():
    return {
        "package.json": pkg("root", private=True, workspaces=["packages/*"],
                            dependencies={"leaf": "^1.0.0"}),
        "packages/ws-a/package.json": pkg("ws-a", dependencies={"leaf": "^1.0.0", "shared": "^1.0.0"}),
        "packages/ws-b/package.json": pkg("ws-b", dependencies={"ws-a": "^1.0.0", "leaf": "^2.0.0"},
                                          devDependencies={"dev-tool": "^1.0.0"}),
    }


def same_as_npm(ctx, files, lade_args, npm_args, what, compare=("package-lock.json",)):
    """Runs lade and npm on two copies of `files`; returns (lade project, npm project)."""
    proj = ctx.project(files, name="lade")
    other = ctx.project(files, name="npm")
    r = ctx.lade(lade_args, proj)
    h.check_exit(r, 0, what)
    h.check_exit(ctx.npm(npm_args, other), 0, what + " (npm)")
    for rel in compare:
        h.check_equal(proj.read_text(rel), other.read_text(rel), rel, r, expected_name="npm",
                      actual_name="lade")
    return proj, other


def same_installed_tree(proj, other, after, r):
    """node_modules and its hidden lockfile in lade's project are npm's."""
    h.check_equal(proj.tree(), other.tree(), "node_modules after " + after, r,
                  expected_name="npm", actual_name="lade")
    h.check_equal(proj.read_text("node_modules/.package-lock.json"),
                  other.read_text("node_modules/.package-lock.json"),
                  "hidden lockfile after " + after, r, expected_name="npm", actual_name="lade")


@suite.test
def workspace_folders_survive_ci_and_reinstall(ctx):
    proj, other = same_as_npm(ctx, workspaces_project(), L.install, ["install"], "install")
    h.check_equal(proj.tree(), other.tree(), "node_modules", expected_name="npm", actual_name="lade")
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, 0, "ci")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install after ci")
    for ws in ("packages/ws-a/package.json", "packages/ws-b/package.json"):
        h.check_exists(proj.path(ws), "workspace kept: " + ws)
    h.check_equal(proj.tree(), other.tree(), "node_modules after ci and install",
                  expected_name="npm", actual_name="lade")


@suite.test
def bins_whose_files_are_missing_get_no_link(ctx):
    # bin-links skips a bin whose file the package lacks (and no .bin folder is made for it
    # alone); a registry package's bin with its file is linked as usual.
    files = {
        "package.json": pkg("root", workspaces=["ws/a"], dependencies={"loc": "file:./loc", "bin-string": "^1.0.0"}),
        "ws/a/package.json": pkg("a", bin={"a-missing": "nope.js", "a-ok": "ok.js"}),
        "ws/a/ok.js": "#!/usr/bin/env node\n",
        "loc/package.json": pkg("loc", bin={"loc-missing": "bin/nope.js"}),
    }
    proj, other = same_as_npm(ctx, files, L.install, ["install", "--ignore-scripts"], "install")
    bins = sorted(os.listdir(proj.path("node_modules", ".bin")))
    h.check_equal(bins, sorted(os.listdir(other.path("node_modules", ".bin"))), "node_modules/.bin",
                  expected_name="npm", actual_name="lade")
    h.check("a-missing" not in bins and "loc-missing" not in bins and "a-ok" in bins,
            "links for missing bins: %s" % bins)
    same_installed_tree(proj, other, "install", None)


@suite.test
def linked_folders_run_their_scripts_on_every_install(ctx):
    # npm's reify rebuilds the links it manages from the project on every install, changed or
    # not: their preinstall, prepare, install and postinstall run, also when nothing changed.
    log = 'node -e "require(\'fs\').appendFileSync(process.env.INIT_CWD + \'/log.txt\', process.argv[1] + \' \')" '
    files = {
        "package.json": pkg("root", workspaces=["packages/ws-a"],
                            dependencies={"loc": "file:./loc", "leaf": "1.0.0"}),
        "packages/ws-a/package.json": pkg("ws-a", scripts={"prepare": log + "ws-a-prepare",
                                                            "postinstall": log + "ws-a-postinstall"}),
        "loc/package.json": pkg("loc", scripts={"preinstall": log + "loc-preinstall"}),
    }
    proj = ctx.project(files)
    runs = ["loc-preinstall", "ws-a-prepare", "ws-a-postinstall"]
    h.check_exit(ctx.lade(L.install, proj), 0, "first install")
    h.check_equal(sorted(proj.read_text("log.txt").split()), sorted(runs), "scripts of the first install")
    os.remove(proj.path("log.txt"))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install with nothing to change")
    h.check(os.path.exists(proj.path("log.txt")), "no script ran", r)
    h.check_equal(sorted(proj.read_text("log.txt").split()), sorted(runs), "scripts when nothing changed", r)
    os.remove(proj.path("log.txt"))
    proj.write("package.json", pkg("root", workspaces=["packages/ws-a"],
                                   dependencies={"loc": "file:./loc", "leaf": "1.1.0"}))
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install that changes leaf")
    h.check_equal(sorted(proj.read_text("log.txt").split()), sorted(runs), "scripts when leaf changed", r)
    os.remove(proj.path("log.txt"))
    r = ctx.lade(L.install + ["--ignore-scripts"], proj)
    h.check_exit(r, 0, "install --ignore-scripts")
    h.check_not_exists(proj.path("log.txt"), "a script ran with --ignore-scripts")


@suite.test
def add_to_a_workspace(ctx):
    files = workspaces_project()
    proj, other = same_as_npm(ctx, files, L.install + [L.package_lock_only],
                              ["install", "--package-lock-only"], "lock")
    # -w takes one value: the names after it are packages to add (and the second -w's too).
    args = ["-w", "ws-b", "chain-a", "--workspace=ws-b", "leaf@^1.0.0"]
    r = ctx.lade(L.add + args, proj)
    h.check_exit(r, 0, "add -w ws-b chain-a ...")
    h.check_exit(ctx.npm(["install"] + args, other), 0, "npm install -w")
    h.check("chain-a" in proj.read_json("packages/ws-b/package.json").get("dependencies", {}),
            "chain-a not added to ws-b", r)
    for rel in ("package.json", "packages/ws-b/package.json", "package-lock.json"):
        h.check_equal(proj.read_text(rel), other.read_text(rel), rel, r, expected_name="npm",
                      actual_name="lade")
    h.check_equal(proj.tree(), other.tree(), "node_modules", expected_name="npm", actual_name="lade")


@suite.test
def add_to_a_workspace_leaves_the_root_package_json_alone(ctx):
    # npm saves only the package.json it added to: a root written by hand (a one-line array)
    # keeps its bytes.
    files = workspaces_project()
    files["package.json"] = ('{\n  "name": "root",\n  "version": "1.0.0",\n  "private": true,\n'
                             '  "workspaces": ["packages/*"],\n  "dependencies": {"leaf": "^1.0.0"}\n}\n')
    proj = ctx.project(files)
    r = ctx.lade(L.add + ["-w", "ws-a", "chain-a", L.package_lock_only], proj)
    h.check_exit(r, 0, "add -w ws-a chain-a")
    h.check_equal(proj.read_text("package.json"), files["package.json"], "root package.json bytes", r)
    h.check("chain-a" in proj.read_json("packages/ws-a/package.json")["dependencies"], "chain-a added to ws-a", r)


@suite.test
def filtered_install_places_the_named_workspace_first(ctx):
    # Without a lockfile, npm queues the workspaces named with -w before the root: their
    # dependencies are placed first (leaf 2 at the top for ws-z), the others' after the links
    # are resolved (ws-a's leaf 1 nested).
    files = {
        "package.json": pkg("root", private=True, workspaces=["packages/*"]),
        "packages/ws-a/package.json": pkg("ws-a", dependencies={"leaf": "^1.0.0"}),
        "packages/ws-z/package.json": pkg("ws-z", dependencies={"leaf": "^2.0.0"}),
    }
    proj, other = same_as_npm(ctx, files, L.install + [L.package_lock_only, "-w", "ws-z"],
                              ["install", "--package-lock-only", "-w", "ws-z"], "install -w ws-z")
    lock = proj.lockfile()["packages"]
    h.check_equal(lock["node_modules/leaf"]["version"], "2.0.0", "leaf at the top")
    h.check_equal(lock["packages/ws-a/node_modules/leaf"]["version"], "1.1.0", "leaf nested in ws-a")


@suite.test
def install_one_workspace(ctx):
    proj, other = same_as_npm(ctx, workspaces_project(), L.install + ["-w", "ws-a"],
                              ["install", "-w", "ws-a"], "install -w ws-a")
    h.check_equal(proj.tree(), other.tree(), "node_modules", expected_name="npm", actual_name="lade")
    # (No .lade-state either: a filtered install never vouches for the whole tree.)
    h.check_equal(sorted(os.listdir(proj.path("node_modules"))),
                  [".package-lock.json", "leaf", "shared", "ws-a"],
                  "node_modules entries (no ws-b, no dev-tool)")
    # The hidden lockfile lists every workspace folder, selected or not, as npm's does.
    h.check_equal(proj.read_text("node_modules/.package-lock.json"),
                  other.read_text("node_modules/.package-lock.json"), "hidden lockfile",
                  expected_name="npm", actual_name="lade")


@suite.test
def ci_of_selected_workspaces(ctx):
    # npm ci -w installs what the named workspaces need (and with --include-workspace-root the
    # root's own dependencies), and --workspaces every workspace but not the root's: the same
    # selection as install.
    for args in (["-w", "ws-a"], ["-w", "ws-b", "--include-workspace-root"], ["--workspaces"]):
        files = workspaces_project()
        proj = ctx.project(files, name="lade")
        other = ctx.project(files, name="npm")
        h.check_exit(ctx.npm(["install", "--package-lock-only"], other), 0, "npm lock")
        proj.write("package-lock.json", other.read_text("package-lock.json"))
        r = ctx.lade(L.ci + args, proj)
        h.check_exit(r, 0, "ci " + " ".join(args))
        h.check_exit(ctx.npm(["ci"] + args, other), 0, "npm ci " + " ".join(args))
        same_installed_tree(proj, other, "ci " + " ".join(args), r)


@suite.test
def full_install_after_a_filtered_one_installs_the_rest(ctx):
    # install -w ws-a leaves ws-b's dependencies out: the next plain install is not "up to date".
    proj = ctx.project(workspaces_project())
    h.check_exit(ctx.lade(L.install + ["-w", "ws-a"], proj), 0, "install -w ws-a")
    h.check_not_exists(proj.path("node_modules/ws-b"), "ws-b after install -w ws-a")
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install")
    h.check_exists(proj.path("node_modules/ws-b"), "ws-b after the full install")
    h.check_exists(proj.path("node_modules/dev-tool"), "ws-b's dev-tool after the full install")


@suite.test
def filtered_install_removes_what_the_workspace_no_longer_needs(ctx):
    # install -w removes what the selected workspaces reached in the installed tree and the new
    # tree drops: chain-a's dependencies when ws-a's "dep" moves from chain-a to leaf, ws-b's
    # devDependency with --omit=dev.
    files = workspaces_project()
    files["packages/ws-a/package.json"] = pkg("ws-a", dependencies={"dep": "npm:chain-a@1.0.0"})
    proj = ctx.project(files, name="lade")
    other = ctx.project(files, name="npm")
    h.check_exit(ctx.lade(L.install, proj), 0, "install")
    h.check_exit(ctx.npm(["install"], other), 0, "npm install")
    h.check_exists(proj.path("node_modules/chain-b"), "chain-b (chain-a's dependency)")
    steps = ((["-w", "ws-a", "dep@npm:leaf@1.0.0"], "chain-b"), (["-w", "ws-b", "--omit=dev"], "dev-tool"))
    for args, gone in steps:
        r = ctx.lade(L.install + args, proj)
        h.check_exit(r, 0, "install " + " ".join(args))
        h.check_exit(ctx.npm(["install"] + args, other), 0, "npm install " + " ".join(args))
        h.check_not_exists(proj.path("node_modules", gone), gone + " after install " + " ".join(args))
        same_installed_tree(proj, other, "install " + " ".join(args), r)


@suite.test
def workspace_folder_selects_itself_and_its_children_only(ctx):
    # npm's -w <folder> matches the workspace at that folder and those directly inside it, not
    # a workspace nested deeper.
    files = {
        "package.json": pkg("root", private=True, workspaces=["packages/*", "packages/a/packages/*"]),
        "packages/a/package.json": pkg("a"),
        "packages/a/packages/inner/package.json": pkg("inner"),
    }
    for arg in ("packages/a", "packages"):
        proj = ctx.project(files, name="lade")
        r = ctx.lade(L.install + ["-w", arg, "leaf@1.0.0", "--package-lock-only"], proj)
        h.check_exit(r, 0, "install -w %s leaf@1.0.0" % arg)
        h.check_equal(proj.read_json("packages/a/package.json").get("dependencies"), {"leaf": "^1.0.0"},
                      "a's dependencies", r)
        h.check_equal(proj.read_json("packages/a/packages/inner/package.json").get("dependencies"), None,
                      "inner's dependencies (not selected by -w %s)" % arg, r)


@suite.test
def adding_a_workspace_by_its_folder_saves_its_version(ctx):
    proj, other = same_as_npm(ctx, workspaces_project(), L.install + ["./packages/ws-a"],
                              ["install", "./packages/ws-a"], "install ./packages/ws-a",
                              compare=("package.json", "package-lock.json"))
    h.check_equal(proj.read_json("package.json")["dependencies"].get("ws-a"), "^1.0.0",
                  "saved spec of ws-a")


@suite.test
def no_save_add_to_a_workspace_keeps_the_spec_as_asked(ctx):
    files = workspaces_project()
    proj = ctx.project(files, name="lade")
    other = ctx.project(files, name="npm")
    h.check_exit(ctx.lade(L.install, proj), 0, "install")
    h.check_exit(ctx.npm(["install"], other), 0, "npm install")
    args = ["-w", "ws-a", "--no-save", "chain-d@1.0.0"]
    r = ctx.lade(L.install + args, proj)
    h.check_exit(r, 0, "install " + " ".join(args))
    h.check_exit(ctx.npm(["install"] + args, other), 0, "npm install " + " ".join(args))
    for rel in ("packages/ws-a/package.json", "package-lock.json", "node_modules/.package-lock.json"):
        h.check_equal(proj.read_text(rel), other.read_text(rel), rel, r, expected_name="npm", actual_name="lade")


@suite.test
def ci_with_an_override_of_a_workspace_dependency(ctx):
    # The lockfile's workspace folder gets the root's override set too: ci must not see leaf
    # 1.0.0 as out of sync with the workspace's ^1.0.0 (newest 1.1.0).
    files = {
        "package.json": pkg("root", private=True, workspaces=["packages/*"],
                            dependencies={"leaf": "1.0.0"},
                            overrides={"leaf": "$leaf", "shared": "1.0.0"}),
        "packages/ws-a/package.json": pkg("ws-a", dependencies={"leaf": "^1.0.0",
                                                                "shared": "^1.0.0"}),
    }
    proj = ctx.project(files)
    h.check_exit(ctx.npm(["install", "--package-lock-only", "--ignore-scripts"], proj), 0, "npm lock")
    lock = proj.read_text("package-lock.json")
    r = ctx.lade(L.ci, proj)
    h.check_exit(r, 0, "ci with the override")
    h.check_equal(proj.installed_version("leaf"), "1.0.0", "leaf", r)
    h.check_equal(proj.read_text("package-lock.json"), lock, "package-lock.json after ci")
    shutil.rmtree(proj.path("node_modules"))
    r = ctx.lade(L.install + ["--workspaces"], proj)
    h.check_exit(r, 0, "install --workspaces")
    h.check_equal(proj.read_text("package-lock.json"), lock, "package-lock.json after --workspaces")


@suite.test
def include_workspace_root_adds_the_root_not_the_other_workspaces(ctx):
    proj, other = same_as_npm(ctx, workspaces_project(), L.install + [L.package_lock_only],
                              ["install", "--package-lock-only"], "lock")
    r = ctx.lade(L.install + ["-w", "ws-a", "--include-workspace-root"], proj)
    h.check_exit(r, 0, "install -w ws-a --include-workspace-root")
    h.check_exit(ctx.npm(["install", "-w", "ws-a", "--include-workspace-root"], other), 0, "npm")
    h.check_equal(proj.tree(), other.tree(), "node_modules", expected_name="npm", actual_name="lade")
    h.check_not_exists(proj.path("node_modules/dev-tool"), "ws-b's dev dependency installed")


@suite.test
def add_with_include_workspace_root_saves_to_the_root_too(ctx):
    proj, other = same_as_npm(ctx, workspaces_project(), L.install + [L.package_lock_only],
                              ["install", "--package-lock-only"], "lock")
    args = ["-w", "ws-a", "--include-workspace-root", "chain-a"]
    r = ctx.lade(L.add + args, proj)
    h.check_exit(r, 0, "add -w ws-a --include-workspace-root chain-a")
    h.check_exit(ctx.npm(["install"] + args, other), 0, "npm install of the same")
    h.check("chain-a" in proj.read_json("package.json").get("dependencies", {}), "chain-a not added to the root", r)
    for rel in ("package.json", "packages/ws-a/package.json", "package-lock.json"):
        h.check_equal(proj.read_text(rel), other.read_text(rel), rel, r, expected_name="npm", actual_name="lade")
    h.check_equal(proj.tree(), other.tree(), "node_modules", expected_name="npm", actual_name="lade")


@suite.test
def inside_a_workspace_folder(ctx):
    files = workspaces_project()
    proj = ctx.project(files, name="lade")
    other = ctx.project(files, name="npm")
    for args in (L.install, L.add + ["chain-a"]):
        r = ctx.lade(args, proj.path("packages/ws-a"))
        h.check_exit(r, 0, " ".join(args) + " in packages/ws-a")
    for args in (["install"], ["install", "chain-a"]):
        h.check_exit(ctx.npm(args, other.path("packages/ws-a")), 0, "npm " + " ".join(args))
    h.check(not os.path.exists(proj.path("packages/ws-a/package-lock.json")), "no lockfile in the workspace")
    for rel in ("package-lock.json", "packages/ws-a/package.json", "package.json"):
        h.check_equal(proj.read_text(rel), other.read_text(rel), rel, r, expected_name="npm",
                      actual_name="lade")
    h.check_equal(proj.tree(), other.tree(), "node_modules", expected_name="npm", actual_name="lade")


@suite.test
def removed_workspace_leaves_the_lockfile(ctx):
    proj, other = same_as_npm(ctx, workspaces_project(), L.install, ["install"], "install")
    for p in (proj, other):
        subprocess.run(["rm", "-rf", p.path("packages/ws-b")], check=True)
    r = ctx.lade(L.install, proj)
    h.check_exit(r, 0, "install without ws-b")
    h.check_exit(ctx.npm(["install"], other), 0, "npm install without ws-b")
    h.check_equal(proj.read_text("package-lock.json"), other.read_text("package-lock.json"),
                  "package-lock.json", r, expected_name="npm", actual_name="lade")
    h.check_equal(proj.tree(), other.tree(), "node_modules", expected_name="npm", actual_name="lade")


@suite.test
def add_folders_tarballs_and_urls(ctx):
    reg = ctx.registry
    tgz = ctx.sandbox.path("t.tgz")
    src = ctx.project({"package.json": pkg("packed", "4.5.6", dependencies={"leaf": "^2.0.0"},
                                           bin={"packed-cli": "cli.js"}),
                       "cli.js": "#!/usr/bin/env node\n"}, name="packed-src")
    h.check_exit(ctx.npm(["pack", "--pack-destination", ctx.sandbox.path()], src), 0, "npm pack")
    os.rename(ctx.sandbox.path("packed-4.5.6.tgz"), tgz)
    files = {"package.json": pkg("app"),
             "local/thing/package.json": pkg("thing", "0.1.0", dependencies={"shared": "^1.0.0"})}
    proj = ctx.project(files, name="lade")
    other = ctx.project(files, name="npm")
    specs = ["./local/thing", "file:" + os.path.relpath(tgz, proj.root),
             reg.tarball_url("remote-only", "1.0.0")]
    r = ctx.lade(L.add + specs, proj)
    h.check_exit(r, 0, "add a folder, a tarball and a URL")
    h.check_exit(ctx.npm(["install"] + specs, other), 0, "npm install of the same")
    for rel in ("package.json", "package-lock.json"):
        h.check_equal(proj.read_text(rel), other.read_text(rel), rel, r, expected_name="npm",
                      actual_name="lade")
    h.check_equal(proj.tree(), other.tree(), "node_modules", expected_name="npm", actual_name="lade")


@suite.test
def add_paths_are_relative_to_where_the_user_stands(ctx):
    # From a subfolder of the project, `add ../local/thing` names <project>/local/thing, and is
    # saved relative to the project ("file:local/thing"), as npm does.
    tgz = ctx.sandbox.path("t.tgz")
    src = ctx.project({"package.json": pkg("packed", "4.5.6")}, name="packed-src")
    h.check_exit(ctx.npm(["pack", "--pack-destination", ctx.sandbox.path()], src), 0, "npm pack")
    os.rename(ctx.sandbox.path("packed-4.5.6.tgz"), tgz)
    files = {"package.json": pkg("app"), "src/index.js": "\n",
             "local/thing/package.json": pkg("thing", "0.1.0")}
    proj = ctx.project(files, name="lade")
    other = ctx.project(files, name="npm")
    specs = ["../local/thing", os.path.relpath(tgz, proj.path("src"))]
    r = ctx.lade(L.add + specs, proj.path("src"))
    h.check_exit(r, 0, "add from a subfolder")
    h.check_exit(ctx.npm(["install"] + specs, other.path("src")), 0, "npm install from a subfolder")
    h.check_equal(proj.package_json()["dependencies"], other.package_json()["dependencies"],
                  "saved specs", r, expected_name="npm", actual_name="lade")
    h.check_equal(proj.package_json()["dependencies"].get("thing"), "file:local/thing", "saved folder", r)


@suite.test
def git_refs_tags_and_semver_ranges(ctx):
    url = git_repo(ctx.sandbox, "gd", [
        ({"package.json": pkg("gd", "1.0.0"), "index.js": "1\n"}, ["v1.0.0"]),
        ({"package.json": pkg("gd", "1.1.0"), "index.js": "2\n"}, ["v1.1.0"]),
        ({"package.json": pkg("gd", "2.0.0", dependencies={"leaf": "^1.0.0"}), "index.js": "3\n"}, []),
    ])
    files = {"package.json": pkg("app", dependencies={
        "gd": url + "#semver:^1.0.0", "gd-tag": url + "#v1.0.0", "gd-head": url})}
    proj, other = same_as_npm(ctx, files, L.install + [L.ignore_scripts],
                              ["install", "--ignore-scripts"], "install")
    h.check_equal(proj.tree(), other.tree(), "node_modules", expected_name="npm", actual_name="lade")
    # A ref changed in package.json is resolved again, though the lockfile still satisfies it.
    for p in (proj, other):
        d = p.package_json()
        d["dependencies"]["gd-tag"] = url + "#v1.1.0"
        p.write("package.json", d)
    r = ctx.lade(L.install + [L.ignore_scripts], proj)
    h.check_exit(r, 0, "install after the ref changed")
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], other), 0, "npm install after the ref changed")
    h.check_equal(proj.read_text("package-lock.json"), other.read_text("package-lock.json"),
                  "package-lock.json", r, expected_name="npm", actual_name="lade")
    h.check_equal(proj.installed_version("gd-tag"), "1.1.0", "gd-tag", r)


@suite.test(lade_only=True)
def packing_a_git_dependency_loads_libarchive(ctx):
    # lade loads libarchive on first use (test_install.py checks that installs of registry
    # tarballs do not): packing a folder is one. LD_DEBUG=files makes the dynamic loader name
    # every library it opens.
    url = git_repo(ctx.sandbox, "gl", [({"package.json": pkg("gl"), "index.js": "1\n"}, [])])
    proj = ctx.project({"package.json": pkg("app", dependencies={"gl": url})})
    r = ctx.lade(L.install + [L.ignore_scripts], proj, env={"LD_DEBUG": "files"})
    h.check_exit(r, 0, "install")
    h.check_output_contains(r, "libarchive.so")
    h.check_equal(proj.read_text("node_modules/gl/index.js"), "1\n", "gl/index.js", r)


@suite.test
def git_dependency_is_prepared_unless_scripts_are_ignored(ctx):
    url = git_repo(ctx.sandbox, "gp", [({
        "package.json": pkg("gp", scripts={"prepare": "mkdir -p dist && ls node_modules > dist/deps.txt"},
                            devDependencies={"leaf": "^2.0.0"}, files=["dist/"]),
    }, [])])
    files = {"package.json": pkg("app", dependencies={"gp": url})}
    proj, other = same_as_npm(ctx, files, L.install, ["install"], "install")
    h.check_equal(proj.read_text("node_modules/gp/dist/deps.txt"), "leaf\n",
                  "prepare ran with the dev dependencies installed")
    h.check_equal(proj.tree(), other.tree(), "node_modules", expected_name="npm", actual_name="lade")
    plain = ctx.project(files, name="plain")
    r = ctx.lade(L.install + [L.ignore_scripts], plain)
    h.check_exit(r, 0, "install --ignore-scripts")
    h.check_not_exists(plain.path("node_modules/gp/dist"), "dist without prepare")


# loop-pine's project, and where its dependency loop is linked to an ancestor.
LOOP_PROJECT = {"package.json": {"name": "app", "version": "1.0.0", "dependencies": {"loop-pine": "^1.2.0-0"}}}
LOOP_LINK = "node_modules/loop-oscar/node_modules/loop-victor/node_modules/loop-moss/node_modules/loop-oscar"


@suite.test
def dependency_loop_is_linked_to_the_ancestor_as_npm_does(ctx):
    # loop-pine -> loop-moss -> loop-oscar 3 -> loop-pine 3 -> loop-victor, which nests
    # loop-oscar 2 and a loop-moss that needs loop-oscar 3: arborist links that moss's
    # loop-oscar to the hoisted copy (an ancestor) instead of nesting the loop again.
    files, link = LOOP_PROJECT, LOOP_LINK
    theirs = ctx.project(files, name="npm")
    h.check_exit(ctx.npm(["install", "--ignore-scripts"], theirs), 0, "npm install")
    for command in (L.install, L.ci):
        ours = ctx.project(files, name="lade")
        if command == L.ci:
            ours.write("package-lock.json", theirs.read_text("package-lock.json"))
        r = ctx.lade(command + ["--ignore-scripts"], ours)
        h.check_exit(r, 0, " ".join(command))
        h.check(os.path.islink(ours.path(link)), "no link at " + link, r)
        h.check_equal(os.readlink(ours.path(link)), os.readlink(theirs.path(link)), "the link's target", r,
                      expected_name="npm", actual_name="lade")
        h.check_equal(ours.read_text("package-lock.json"), theirs.read_text("package-lock.json"),
                      "package-lock.json after " + " ".join(command), r, expected_name="npm", actual_name="lade")
        same_installed_tree(ours, theirs, " ".join(command), r)


@suite.test
def a_link_inside_a_package_folder_waits_for_the_folder(ctx):
    # The loop's link goes inside loop-moss's folder, which the linking threads build apart
    # and rename into place. Made while they ran, the link raced that rename: now and then an
    # install failed with ENOENT, or crashed. Bounded: 16 rounds of 4 concurrent `ci` runs.
    files, link = LOOP_PROJECT, LOOP_LINK
    locked = ctx.project(files, name="locked")
    h.check_exit(ctx.lade(L.install + ["--ignore-scripts"], locked), 0, "install")
    projects = []
    for i in range(4):
        proj = ctx.project(files, name="ci-%d" % i)
        proj.write("package-lock.json", locked.read_text("package-lock.json"))
        projects.append(proj)
    with concurrent.futures.ThreadPoolExecutor(len(projects)) as pool:
        for round_number in range(16):
            for proj, r in zip(projects, pool.map(lambda p: ctx.lade(L.ci + ["--ignore-scripts"], p), projects)):
                what = "ci, round %d" % (round_number + 1)
                h.check_exit(r, 0, what)
                h.check(os.path.islink(proj.path(link)), "no link at " + link + " after " + what, r)


if __name__ == "__main__":
    suite.main()
