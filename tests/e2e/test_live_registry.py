#!/usr/bin/env python3
"""The demo project, pinned by its committed package-lock.json, installed by lade from the live
npm registry and run with node. The registry URL is asked of npm at run time."""

import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

suite = h.Suite("live registry")
L = h.LadeConventions
DEMO = os.path.join(h.SOURCE_DIR, "demo")


def live_registry():
    out = subprocess.run(["npm", "config", "get", "registry"], capture_output=True, text=True,
                         timeout=60)
    url = out.stdout.strip()
    h.check(out.returncode == 0 and url.startswith("http"), "npm config get registry failed: %r" % url)
    return url


def demo_project(ctx):
    proj = ctx.project(name="demo")
    for f in ("package.json", "package-lock.json", "index.js"):
        shutil.copy(os.path.join(DEMO, f), proj.path(f))
    return proj


@suite.test
def ci_installs_the_pinned_demo_and_node_runs_it(ctx):
    registry = live_registry()
    proj = demo_project(ctx)
    lock_before = proj.read_bytes("package-lock.json")
    r = ctx.lade(L.ci, proj, registry=registry)
    h.check_exit(r, 0, "lade ci against the live registry")
    lock = proj.lockfile()
    for key, entry in lock["packages"].items():
        if key.startswith("node_modules/"):
            h.check_equal(proj.installed_version(key[len("node_modules/"):]), entry["version"],
                          "installed version of " + key, r)
    h.check_equal(proj.read_bytes("package-lock.json"), lock_before, "lade ci leaves the lockfile alone")
    run = subprocess.run(["node", "index.js"], cwd=proj.root, capture_output=True, text=True, timeout=60)
    h.check(run.returncode == 0, "node index.js failed:\n" + run.stderr)
    h.check("maxSatisfying(^1.2.0) = 1.9.0" in run.stdout, "unexpected demo output: " + run.stdout)


@suite.test
def install_with_the_pinned_lockfile_keeps_it(ctx):
    registry = live_registry()
    proj = demo_project(ctx)
    lock_before = proj.read_bytes("package-lock.json")
    r = ctx.lade(L.install, proj, registry=registry)
    h.check_exit(r, 0, "lade install against the live registry")
    h.check_equal(proj.read_bytes("package-lock.json"), lock_before,
                  "a lockfile that satisfies package.json is kept byte for byte")
    r2 = ctx.lade(L.install, proj, registry=registry)
    h.check_exit(r2, 0, "second lade install")
    h.check_output_contains(r2, "up to date")


if __name__ == "__main__":
    suite.main()
