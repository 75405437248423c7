#!/usr/bin/env python3
"""Differential test: npm and lade on the same input must produce the same package-lock.json
(byte for byte) and the same node_modules tree.

For each folder under scenarios/:
  1. copies it twice (placeholders filled in), then runs on the copies
       npm  install --package-lock-only --ignore-scripts --registry <loopback>  (own cache)
       lade install --package-lock-only --ignore-scripts --registry <loopback>
     and compares the exit status, package-lock.json and package.json bytes;
  2. installs both: `npm ci --ignore-scripts` on npm's copy, `lade install --ignore-scripts` on
     lade's, and compares node_modules (relative path -> version, links, .bin entries).

A scenario folder holds a package.json and whatever else the project needs (package-lock.json to
start from, workspace members, a local package, .npmrc), plus optional files the harness reads
and does not copy:
  args    extra arguments for both tools in both steps (whitespace separated)
  notes   what the scenario is about (free text)
  expect  directives, one per line:
            fail            both tools must fail in step 1 (step 2 is skipped)
            error CODE      ... and both outputs must mention CODE (e.g. ERESOLVE)
            npm-install     step 2 runs `npm install` instead of `npm ci` on npm's copy
            no-install      skip step 2
Placeholders in copied text files: {{REGISTRY}} (base URL, with the trailing slash),
{{REGISTRY_HOST}} (127.0.0.1:PORT), {{TOKEN}} (the @private scope's token),
{{GIT:name}} (path of a bare git repository made from fixtures/git/<name>/),
{{INTEGRITY:name@version}} (the fixture tarball's sha512 SRI).

npm and lade both read the machine's HOME and user .npmrc (the same configuration a user has);
each gets its own fresh cache. Usage:
  test_compat.py [--jobs N] [--list] [--keep] [NAME_SUBSTRING...]
LADE_BIN=$(command -v npm) runs npm against itself (checks that every scenario is deterministic).
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import harness as h  # noqa: E402

SCENARIOS_DIR = os.path.join(HERE, "scenarios")
META_FILES = {"args", "notes", "expect"}
L = h.LadeConventions


class Scenario:
    def __init__(self, name, path):
        self.name = name
        self.path = path
        self.args = self._read("args").split()
        self.notes = self._read("notes").strip()
        self.expect_fail = False
        self.error_codes = []
        self.npm_install = False
        self.no_install = False
        for line in self._read("expect").splitlines():
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "fail":
                self.expect_fail = True
            elif words[0] == "error":
                self.error_codes += words[1:]
            elif words[0] == "npm-install":
                self.npm_install = True
            elif words[0] == "no-install":
                self.no_install = True
            else:
                raise ValueError("%s/expect: unknown directive %r" % (name, words[0]))

    def _read(self, fn):
        p = os.path.join(self.path, fn)
        if not os.path.exists(p):
            return ""
        with open(p) as f:
            return f.read()


def load_scenarios(selection=()):
    out = []
    for name in sorted(os.listdir(SCENARIOS_DIR)):
        p = os.path.join(SCENARIOS_DIR, name)
        if not os.path.isfile(os.path.join(p, "package.json")):
            continue
        if selection and not any(s in name for s in selection):
            continue
        out.append(Scenario(name, p))
    return out


class Placeholders:
    """Fills {{...}} placeholders; git repositories and integrities are made/looked up once."""

    def __init__(self, registry, git_dir):
        self.registry = registry
        self.git_dir = git_dir
        self.lock = threading.Lock()
        self.integrities = {}

    def integrity(self, spec):
        name, _, version = spec.rpartition("@")
        with self.lock:
            if spec not in self.integrities:
                status, _, body = self.registry.get("/" + name.replace("/", "%2f"))
                if status != 200:
                    raise RuntimeError("no packument for %s" % name)
                doc = json.loads(body)
                self.integrities[spec] = doc["versions"][version]["dist"]["integrity"]
            return self.integrities[spec]

    def git(self, name):
        with self.lock:
            return h.make_git_repo(name, self.git_dir)

    def fill(self, text):
        reg = self.registry
        text = text.replace("{{REGISTRY}}", reg.url).replace("{{REGISTRY_HOST}}", reg.host)
        text = text.replace("{{TOKEN}}", h.PRIVATE_TOKEN)
        text = re.sub(r"\{\{GIT:([\w.-]+)\}\}", lambda m: self.git(m.group(1)), text)
        text = re.sub(r"\{\{INTEGRITY:([^}]+)\}\}", lambda m: self.integrity(m.group(1)), text)
        return text


def copy_scenario(scenario, dest, placeholders):
    def ignore(d, names):
        return [n for n in names if d == scenario.path and n in META_FILES]

    shutil.copytree(scenario.path, dest, symlinks=True, ignore=ignore)
    for dirpath, _, files in os.walk(dest):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                with open(p, encoding="utf-8", newline="") as fh:
                    text = fh.read()
            except UnicodeDecodeError:
                continue
            if "{{" in text:
                with open(p, "w", encoding="utf-8", newline="") as fh:
                    fh.write(placeholders.fill(text))
    return h.Project(dest)


# A project's lockfile is package-lock.json, or npm-shrinkwrap.json when it has one; npm writes
# a yarn.lock beside it again (see the yarn-lock scenario).
LOCKFILES = ("package-lock.json", "npm-shrinkwrap.json", "yarn.lock")


def read_or_none(project, rel):
    if not project.exists(rel):
        return None
    text = project.read_text(rel)
    # npm writes a workspace's dependency spec into yarn.lock with the folder's absolute path.
    return text.replace(os.path.realpath(project.root), "<project>") if rel == "yarn.lock" else text


def run_scenario(scenario, registry, placeholders, keep):
    """Returns (passed, report lines)."""
    sandbox = h.Sandbox(prefix="lade-compat-%s-" % scenario.name, isolate_home=False, keep=keep)
    problems = []
    timings = {}
    try:
        npm_proj = copy_scenario(scenario, sandbox.path("npm"), placeholders)
        lade_proj = copy_scenario(scenario, sandbox.path("lade"), placeholders)
        pj_before = npm_proj.read_text("package.json")
        lock_args = ["install", "--package-lock-only", "--ignore-scripts"] + scenario.args
        n1 = h.run_npm(sandbox, lock_args, npm_proj.root, registry=registry)
        l1 = h.run_lade(sandbox, L.install + h.lockfile_only_args() + scenario.args,
                        lade_proj.root, registry=registry)
        timings["npm lock"], timings["lade lock"] = n1.duration, l1.duration

        if scenario.expect_fail:
            if n1.ok:
                problems.append("npm was expected to fail but succeeded (the scenario is stale)\n"
                                + n1.describe())
            if l1.ok or l1.timed_out:
                problems.append("lade should fail like npm (exit %s)\n%s" % (
                    n1.returncode, l1.describe()))
            for code in scenario.error_codes:
                if code not in n1.output:
                    problems.append("npm's output does not mention %s (the scenario is stale)\n%s"
                                    % (code, n1.describe()))
                if code not in l1.output:
                    problems.append("lade's output does not mention %s\n%s" % (code, l1.describe()))
            return not problems, problems, timings

        if not n1.ok:
            problems.append("npm failed (the scenario is broken)\n" + n1.describe())
            return False, problems, timings
        if not l1.ok:
            problems.append("lade failed where npm succeeded\n" + l1.describe())
        else:
            for lock_name in LOCKFILES:
                npm_lock = read_or_none(npm_proj, lock_name)
                lade_lock = read_or_none(lade_proj, lock_name)
                if lade_lock != npm_lock:
                    problems.append("%s differs (-npm +lade):\n" % lock_name + h.text_diff(
                        npm_lock or "(none)\n", lade_lock or "(none)\n", "npm", "lade"))
            lade_pj = lade_proj.read_text("package.json")
            npm_pj = npm_proj.read_text("package.json")
            if lade_pj != npm_pj:
                problems.append("package.json differs (-npm +lade):\n" +
                                h.text_diff(npm_pj, lade_pj, "npm", "lade"))
            if npm_pj != pj_before:
                problems.append("note: npm rewrote package.json")

        if scenario.no_install or not l1.ok:
            return not problems, problems, timings

        npm_cmd = ((["install"] if scenario.npm_install else ["ci"]) + ["--ignore-scripts"] +
                   scenario.args)
        n2 = h.run_npm(sandbox, npm_cmd, npm_proj.root, registry=registry)
        l2 = h.run_lade(sandbox, L.install + [L.ignore_scripts] + scenario.args, lade_proj.root,
                        registry=registry)
        timings["npm install"], timings["lade install"] = n2.duration, l2.duration
        if not n2.ok:
            problems.append("npm %s failed (the scenario is broken)\n%s" % (
                npm_cmd[0], n2.describe()))
            return False, problems, timings
        if not l2.ok:
            problems.append("lade install failed\n" + l2.describe())
            return False, problems, timings
        # npm ci never writes the lockfile, and npm install on a lockfile it just wrote leaves
        # it as it is: so lade's must still match npm's byte for byte.
        for lock_name in LOCKFILES:
            npm_lock = read_or_none(npm_proj, lock_name)
            lade_lock = read_or_none(lade_proj, lock_name)
            if lade_lock != npm_lock:
                problems.append("%s after install differs (-npm +lade):\n" % lock_name +
                                h.text_diff(npm_lock or "(none)\n", lade_lock or "(none)\n",
                                            "npm", "lade"))
        # node_modules/.package-lock.json: what the next install compares node_modules with.
        npm_hidden = read_or_none(npm_proj, "node_modules/.package-lock.json")
        lade_hidden = read_or_none(lade_proj, "node_modules/.package-lock.json")
        if lade_hidden != npm_hidden:
            problems.append("node_modules/.package-lock.json differs (-npm +lade):\n" + h.text_diff(
                npm_hidden or "(none)\n", lade_hidden or "(none)\n", "npm", "lade"))
        npm_tree, lade_tree = npm_proj.tree(), lade_proj.tree()
        if npm_tree != lade_tree:
            problems.append("node_modules differs (-npm +lade):\n" + h.text_diff(
                json.dumps(npm_tree, indent=1, sort_keys=True) + "\n",
                json.dumps(lade_tree, indent=1, sort_keys=True) + "\n", "npm", "lade"))
        return not problems, problems, timings
    except Exception as e:  # a harness problem: report it as this scenario's failure
        import traceback
        problems.append("harness error: %s\n%s" % (e, traceback.format_exc()))
        return False, problems, timings
    finally:
        sandbox.cleanup()


def load_known_gaps():
    """Scenarios lade is known not to match yet, with the reason (tests/compat/known_gaps.txt:
    `name: reason` lines). Their failures are reported but do not fail the suite; a known gap that
    passes is reported so the line can go."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "known_gaps.txt")
    gaps = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and ":" in line:
                    name, reason = line.split(":", 1)
                    gaps[name.strip()] = reason.strip()
    return gaps


def main(argv=None):
    ap = argparse.ArgumentParser(description="npm vs lade on every scenario")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("LADE_COMPAT_JOBS", "2")))
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    ap.add_argument("--keep", action="store_true", help="keep the work dirs")
    ap.add_argument("names", nargs="*", help="run only scenarios whose name contains one of these")
    args = ap.parse_args(argv)

    scenarios = load_scenarios(args.names)
    if args.list:
        for s in scenarios:
            print("%-36s %s" % (s.name, s.notes.splitlines()[0] if s.notes else ""))
        print("%d scenarios" % len(scenarios))
        return 0
    if not L.binary():
        print("note: %s is not set and no built lade was found: every scenario will fail"
              % L.bin_env)
    elif L.is_npm_oracle():
        print("note: oracle mode, npm against npm (%s)" % L.binary())
    print("running %d scenarios with %d jobs" % (len(scenarios), args.jobs), flush=True)

    print_lock = threading.Lock()
    results = {}
    start = time.time()
    git_dir = tempfile.mkdtemp(prefix="lade-compat-git-")
    try:
        with h.FixtureRegistry() as registry:
            placeholders = Placeholders(registry, git_dir)

            def job(s):
                ok, problems, timings = run_scenario(s, registry, placeholders, args.keep)
                t = ", ".join("%s %.1fs" % kv for kv in timings.items())
                with print_lock:
                    print("%s %s (%s)" % ("PASS" if ok else "FAIL", s.name, t), flush=True)
                    for p in problems:
                        print(h._indent(p.rstrip() + "\n"), end="", flush=True)
                results[s.name] = ok

            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                list(pool.map(job, scenarios))
    finally:
        shutil.rmtree(git_dir, ignore_errors=True)
    gaps = load_known_gaps()
    passed = sum(1 for ok in results.values() if ok)
    known = sorted(n for n, ok in results.items() if not ok and n in gaps)
    failed_names = sorted(n for n, ok in results.items() if not ok and n not in gaps)
    fixed = sorted(n for n, ok in results.items() if ok and n in gaps)
    print("%d scenarios in %.0fs" % (len(results), time.time() - start))
    for n in known:
        print("known gap %s: %s" % (n, gaps[n]))
    for n in fixed:
        print("note: %s passes now; remove it from known_gaps.txt" % n)
    if failed_names:
        print("failed: " + " ".join(failed_names))
    print("%d passed, %d failed, %d skipped" % (passed, len(failed_names), len(known)))
    return 1 if failed_names else 0


if __name__ == "__main__":
    sys.exit(main())
