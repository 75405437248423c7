#!/usr/bin/env python3
"""Differential fuzzer of the installed tree: npm and lade on random small registries.

Each seed makes one case (same seed, same case): 6-16 packages named with NATO words, 1-4
versions each, dependencies with every kind of range, dist-tags, peers (some optional, some
conflicting), optional and platform-bound packages, bundled dependencies, deprecated versions,
cycles; a root package.json with dev/optional/peer dependencies, overrides and aliases now and
then. The case is served by its own loopback fixture registry (fixtures/registry.py) and run
three times on a copy for each tool, each with its own caches:

  step1  install                        fresh: no lockfile, no node_modules, empty cache
  step2  install                        after a deterministic change to package.json
  step3  ci                             after node_modules is removed

After each step the exit status (zero or not), the error code, package-lock.json,
node_modules/.package-lock.json, package.json, the node_modules tree (path -> version) and its
empty folders must be the same. One line per seed: `SEED PASS` or `SEED DIFF <signature>`.
A differing case stays under OUT/cases/SEED/ (registry sources, both projects, both tools'
output, report.txt); passing ones go unless --keep.

  tree_fuzz.py --lade BIN START COUNT [--jobs 2] [--out DIR] [--keep]
  tree_fuzz.py --lade BIN --show SEED          the case, then a fresh run's differences
  tree_fuzz.py --lade $(command -v npm) 1 20   npm on both sides: every seed must pass
"""

import argparse
import concurrent.futures
import json
import os
import random
import re
import shutil
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "fixtures"))
import harness as h  # noqa: E402
from registry import semver_key  # noqa: E402

NATO = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
        "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu"]

RELEASES = ["1.0.0", "1.0.1", "1.1.0", "1.2.0", "1.2.3", "1.3.0", "2.0.0", "2.0.1", "2.1.0",
            "2.3.0"]
ZERO = ["0.1.0", "0.1.2", "0.2.0", "0.3.1"]
PRERELEASES = ["2.0.0-beta.1", "3.0.0-rc.1", "1.1.0-alpha.0", "2.1.0-beta.0"]

# Constraints no Linux x64 machine meets: the package is locked but never installed.
FOREIGN_PLATFORMS = [{"os": ["win32"]}, {"os": ["darwin"]}, {"cpu": ["arm64"]},
                     {"os": ["!linux"]}, {"cpu": ["s390x", "ppc64"]}]

STEPS = (("step1", "install"), ("step2", "install"), ("step3", "ci"))
TOOL_TIMEOUT = 300


# ---------------------------------------------------------------------------------------------
# generator


def vparts(v):
    core, _, pre = v.partition("-")
    major, minor, patch = (int(x) for x in core.split("."))
    return major, minor, patch, pre


def gen_versions(rng):
    k = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
    vs = rng.sample(RELEASES, k)
    if rng.random() < 0.15:
        vs[rng.randrange(k)] = rng.choice(ZERO)
    if rng.random() < 0.12:
        vs[rng.randrange(k)] = rng.choice(PRERELEASES)
    return sorted(set(vs), key=semver_key)


BIN_NAMES = ("fz-cli", "fz-tool", "fz-run")


class Gen:
    """One case. Every random choice goes through self.rng in a fixed order, and nothing is
    iterated in set or hash order, so a seed always gives the same bytes."""

    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)
        self.features = []

    # ---- ranges

    def spec(self, name, tags_ok=True):
        rng = self.rng
        pkg = self.pkgs[name]
        versions = pkg["versions"]
        releases = [v for v in versions if not vparts(v)[3]] or versions
        v = rng.choice(versions if rng.random() < 0.2 else releases)
        M, m, p, pre = vparts(v)
        majors = sorted({vparts(x)[0] for x in versions})
        kinds = [("caret", 30), ("tilde", 12), ("exact", 10), ("x", 8), ("star", 4),
                 ("empty", 3), ("gte", 5), ("or", 5), ("hyphen", 4), ("latest", 3),
                 ("tag", 3), ("missing", 0.15)]
        if not tags_ok:
            kinds = [k for k in kinds if k[0] not in ("latest", "tag")]
        kind = _weighted(rng, kinds)
        if pre and kind in ("x", "gte", "or", "hyphen"):
            # built from a prerelease these match nothing: most would be ETARGET
            if releases == versions:
                kind = "caret"
            else:
                M, m, p, pre = vparts(rng.choice(releases))
        if kind == "caret":
            return "^" + v
        if kind == "tilde":
            return "~" + v
        if kind == "exact":
            return v
        if kind == "x":
            return rng.choice(["%d.x" % M, "%d.%d.x" % (M, m), "%d" % M, "%d.%d" % (M, m)])
        if kind == "star":
            return "*"
        if kind == "empty":
            return ""
        if kind == "gte":
            return ">=%d.%d.0 <%d" % (M, m, M + 1)
        if kind == "or":
            other = rng.choice([x for x in majors if x != M] or [M + 1])
            return "%d || %d" % tuple(sorted((M, other)))
        if kind == "hyphen":
            return rng.choice(["%d.0.0 - %d.%d.0" % (M, M, m + 1), "%d - %d" % (M, M + 1)])
        if kind == "latest":
            return "latest"
        if kind == "tag":
            tags = sorted(t for t in pkg["tags"] if t != "latest")
            return rng.choice(tags) if tags else "latest"
        self.features.append("missing-range")
        return "^9.0.0"

    # ---- registry

    def make_packages(self):
        rng = self.rng
        n = rng.randint(6, 16)
        self.names = rng.sample(NATO, n)  # list order = depth: edges mostly point later
        self.pkgs = {}
        for name in self.names:
            self.pkgs[name] = {"versions": gen_versions(rng), "tags": {}, "manifests": {},
                               "meta": {}, "platform": None}
        for name in self.names:
            pkg = self.pkgs[name]
            vs = pkg["versions"]
            rel = [v for v in vs if not vparts(v)[3]]
            if len(rel) >= 2 and rng.random() < 0.12:
                pkg["tags"]["latest"] = rng.choice(rel[:-1])
            if rng.random() < 0.15:
                pkg["tags"]["next"] = vs[-1]
            pre = [v for v in vs if vparts(v)[3]]
            if pre and rng.random() < 0.5:
                pkg["tags"]["beta"] = pre[-1]

        self.platform = None
        if rng.random() < 0.3:
            self.platform = rng.choice(self.names[n // 2:])
            self.pkgs[self.platform]["platform"] = rng.choice(FOREIGN_PLATFORMS)
            self.features.append("platform")

        self.conflict = None
        if rng.random() < 0.2:
            self.make_conflict()

        peer_of = {}
        for name in self.names:
            if rng.random() < 0.15:
                cands = [x for x in self.names if x != name and x != self.platform]
                target = rng.choice(cands)
                peer_of[name] = (target, self.spec(target, tags_ok=False),
                                 rng.random() < 0.3)

        for i, name in enumerate(self.names):
            later = self.names[i + 1:]
            base = []
            if later:
                count = min(len(later), rng.choice([0, 1, 1, 2, 2, 3]))
                for t in rng.sample(later, count):
                    base.append((t, self.spec(t)))
            pkg = self.pkgs[name]
            for v in pkg["versions"]:
                pkg["manifests"][v] = self.make_manifest(name, v, base, later, peer_of.get(name))

        if rng.random() < 0.15:
            self.make_cycle()
        if self.conflict:
            self.apply_conflict_peers()
        for name in self.names:
            pkg = self.pkgs[name]
            if pkg["tags"]:
                pkg["meta"]["dist-tags"] = dict(sorted(pkg["tags"].items()))

    def make_manifest(self, name, v, base, later, peer):
        rng = self.rng
        pkg = self.pkgs[name]
        m = {"name": name, "version": v, "description": "%s %s" % (name, v), "main": "index.js",
             "license": "MIT"}
        deps, opt = {}, {}
        for t, spec in base:
            if rng.random() < 0.2:
                continue
            if rng.random() < 0.35:
                spec = self.spec(t)
            if t == self.platform and rng.random() < 0.9:
                opt[t] = spec
            else:
                deps[t] = spec
        if later and rng.random() < 0.12:
            t = rng.choice(later)
            opt[t] = self.spec(t)
            deps.pop(t, None)
            self.features.append("optional")
        if peer and rng.random() < 0.8:
            target, spec, optional = peer
            m["peerDependencies"] = {target: spec}
            if optional:
                m["peerDependenciesMeta"] = {target: {"optional": True}}
            self.features.append("peer")
        bundle_cands = sorted(t for t in deps if t != self.platform)
        if bundle_cands and rng.random() < 0.08:
            d = rng.choice(bundle_cands)
            dv = rng.choice(self.pkgs[d]["versions"])
            deps[d] = rng.choice(["^" + dv, dv, "~" + dv])
            m["bundleDependencies"] = [d]
            pkg["meta"].setdefault("bundle", {})[v] = {d: dv}
            self.features.append("bundle")
        if deps:
            m["dependencies"] = deps
        if opt:
            m["optionalDependencies"] = opt
        if pkg["platform"]:
            m.update(pkg["platform"])
        if rng.random() < 0.07:
            pkg["meta"].setdefault("deprecated", {})[v] = "%s %s is deprecated" % (name, v)
            self.features.append("deprecated")
        self.add_bin(m)
        return m

    def add_bin(self, m):
        """Some packages have a bin, from a few shared names so that packages contend for them
        (and now and then a bin whose file the package lacks). Drawn from a generator of its
        own: the rest of the case is what the seed gave before bins were added."""
        r = random.Random("%d/%s/%s" % (self.seed, m["name"], m["version"]))
        if r.random() < 0.3:
            m["bin"] = {r.choice(BIN_NAMES): "index.js" if r.random() < 0.9 else "missing.js"}
            self.features.append("bin")

    def make_cycle(self):
        rng = self.rng
        edges = []
        for name in self.names:
            for v, m in self.pkgs[name]["manifests"].items():
                for t in m.get("dependencies", {}):
                    edges.append((name, t))
        if not edges:
            return
        src, dst = rng.choice(sorted(set(edges)))
        for v, m in self.pkgs[dst]["manifests"].items():
            if rng.random() < 0.7:
                m.setdefault("dependencies", {})[src] = self.spec(src, tags_ok=False)
        self.features.append("cycle")

    def make_conflict(self):
        """A peer that cannot agree with the root (ERESOLVE), or one that has to nest."""
        rng = self.rng
        cands = [x for x in self.names if x != self.platform]
        q = rng.choice(cands[1:])
        qv = self.pkgs[q]["versions"]
        for must in ("1.0.0", "2.0.0"):
            if not any(vparts(v)[0] == vparts(must)[0] and not vparts(v)[3] for v in qv):
                qv.append(must)
        self.pkgs[q]["versions"] = sorted(set(qv), key=semver_key)
        others = [x for x in cands if x != q]
        kind = rng.choice(["root-peer", "root-peer", "two-peers", "nested-peer"])
        ps = rng.sample(others, 2)
        self.conflict = {"kind": kind, "q": q, "p": ps[0], "p2": ps[1]}
        self.features.append("conflict-" + kind)

    def apply_conflict_peers(self):
        c = self.conflict
        q = c["q"]
        lo = "^1.0.0" if self.rng.random() < 0.5 else "1.x"
        for v, m in self.pkgs[c["p"]]["manifests"].items():
            m["peerDependencies"] = {q: lo}
            m.pop("peerDependenciesMeta", None)
        if c["kind"] == "two-peers":
            for v, m in self.pkgs[c["p2"]]["manifests"].items():
                m["peerDependencies"] = {q: "^2.0.0"}
                m.pop("peerDependenciesMeta", None)
        if c["kind"] == "nested-peer":
            # p reaches the tree only through p2, so its peer can nest with it
            for v, m in self.pkgs[c["p2"]]["manifests"].items():
                m.setdefault("dependencies", {})[c["p"]] = "*"
                m.get("peerDependencies", {}).pop(c["p"], None)
        for name in (c["p"], c["p2"]):
            # an optional edge to q beside the peer would be a different case from the one meant
            for v, m in self.pkgs[name]["manifests"].items():
                m.get("optionalDependencies", {}).pop(q, None)

    # ---- root project

    def make_root(self):
        rng = self.rng
        n = len(self.names)
        top = self.names[:max(2, n // 2)]
        root = {"name": "fuzz-root", "version": "1.0.0", "private": True}
        deps = {}
        for name in rng.sample(top, min(len(top), rng.randint(1, 4))):
            if name == self.platform:
                continue
            deps[name] = self.spec(name)
        if self.conflict:
            c = self.conflict
            if c["kind"] in ("root-peer", "nested-peer"):
                deps[c["p"] if c["kind"] == "root-peer" else c["p2"]] = "*"
                deps[c["q"]] = "^2.0.0"
            else:
                deps[c["p"]] = "*"
                deps[c["p2"]] = "*"
        if not deps:
            deps[self.names[0]] = self.spec(self.names[0])
        root["dependencies"] = dict(sorted(deps.items()))
        rest = [x for x in self.names if x not in deps]
        if rest and rng.random() < 0.3:
            dev = {}
            for name in rng.sample(rest, min(len(rest), rng.randint(1, 2))):
                dev[name] = self.spec(name)
            if rng.random() < 0.15:
                same = rng.choice(sorted(deps))
                dev[same] = deps[same]
                self.features.append("dev-and-prod")
            root["devDependencies"] = dict(sorted(dev.items()))
            self.features.append("root-dev")
        if rng.random() < 0.2:
            pick = self.platform if self.platform and rng.random() < 0.5 else rng.choice(self.names)
            root["optionalDependencies"] = {pick: self.spec(pick)}
            self.features.append("root-optional")
        if rng.random() < 0.12:
            pick = rng.choice([x for x in self.names if x != self.platform])
            root["peerDependencies"] = {pick: self.spec(pick, tags_ok=False)}
            self.features.append("root-peer")
        if rng.random() < 0.1:
            target = rng.choice([x for x in self.names if x != self.platform])
            spec = self.spec(target) or "*"
            root["dependencies"]["%s-alias" % target] = "npm:%s@%s" % (target, spec)
            root["dependencies"] = dict(sorted(root["dependencies"].items()))
            self.features.append("alias")
        if rng.random() < 0.3:
            ov = self.make_overrides(root)
            if ov:
                root["overrides"] = ov
        return root

    def make_overrides(self, root):
        rng = self.rng
        ov = {}
        declared = self._registry_deps(root)
        rest = [x for x in self.names if x not in declared]
        if rest and rng.random() < 0.7:
            x = rng.choice(rest)
            v = rng.choice(self.pkgs[x]["versions"])
            ov[x] = rng.choice([v, "^" + v, str(vparts(v)[0])])
            self.features.append("override-flat")
        parents = [x for x in self.names
                   if any(m.get("dependencies") for m in self.pkgs[x]["manifests"].values())]
        if parents and rng.random() < 0.5:
            p = rng.choice(parents)
            kids = sorted({k for m in self.pkgs[p]["manifests"].values()
                           for k in m.get("dependencies", {})})
            c = rng.choice(kids)
            cv = rng.choice(self.pkgs[c]["versions"])
            inner = {c: rng.choice([cv, str(vparts(cv)[0]), "^" + cv])}
            if p not in declared and rng.random() < 0.3:
                inner = dict({".": rng.choice(self.pkgs[p]["versions"])}, **inner)
            ov[p] = inner
            self.features.append("override-nested")
        if declared and rng.random() < 0.2:
            d = rng.choice(declared)
            if rng.random() < 0.5:
                ov[d] = "$" + d
                self.features.append("override-reference")
            else:
                ov[d] = rng.choice(self.pkgs[d]["versions"])
                self.features.append("override-root-dep")
        return ov

    # ---- step 2

    def mutate(self, root):
        """The package.json of step 2: one or two edits a user makes between installs."""
        rng = self.rng
        new = json.loads(json.dumps(root))
        done = []
        wanted = 1 if rng.random() < 0.7 else 2
        for _ in range(12):
            if len(done) >= wanted:
                break
            kind = rng.choice(["bump", "narrow", "add", "remove", "overrides", "to-dev"])
            desc = getattr(self, "_mut_" + kind.replace("-", "_"))(new)
            if desc:
                done.append(desc)
        if not done:
            name = next(x for x in self.names if x != self.platform)
            new.setdefault("dependencies", {})[name] = "*"
            done.append("add %s *" % name)
        return new, done

    def _registry_deps(self, root):
        return sorted(k for k, v in root.get("dependencies", {}).items()
                      if not v.startswith("npm:"))

    def _mut_bump(self, root):
        return self._respec(root, "bump", lambda d: self.spec(d))

    def _mut_narrow(self, root):
        return self._respec(root, "narrow", lambda d: self.rng.choice(self.pkgs[d]["versions"]))

    def _respec(self, root, what, new_spec):
        """Gives one registry dependency of the root the spec `new_spec` picks for it."""
        deps = self._registry_deps(root)
        if not deps:
            return None
        d = self.rng.choice(deps)
        old = root["dependencies"][d]
        new = new_spec(d)
        if new == old:
            return None
        root["dependencies"][d] = new
        return "%s %s %r -> %r" % (what, d, old, new)

    def _mut_add(self, root):
        have = set(root.get("dependencies", {})) | set(root.get("devDependencies", {}))
        cands = [x for x in self.names if x not in have]
        if not cands:
            return None
        d = self.rng.choice(cands)
        root.setdefault("dependencies", {})[d] = self.spec(d)
        root["dependencies"] = dict(sorted(root["dependencies"].items()))
        return "add %s %r" % (d, root["dependencies"][d])

    def _mut_remove(self, root):
        deps = sorted(root.get("dependencies", {}))
        if len(deps) < 2:
            return None
        d = self.rng.choice(deps)
        del root["dependencies"][d]
        return "remove %s" % d

    def _mut_to_dev(self, root):
        deps = self._registry_deps(root)
        if len(deps) < 2:
            return None
        d = self.rng.choice(deps)
        spec = root["dependencies"].pop(d)
        root.setdefault("devDependencies", {})[d] = spec
        root["devDependencies"] = dict(sorted(root["devDependencies"].items()))
        return "move %s to devDependencies" % d

    def _mut_overrides(self, root):
        rng = self.rng
        ov = root.get("overrides")
        if ov and rng.random() < 0.4:
            k = rng.choice(sorted(ov))
            del ov[k]
            if not ov:
                del root["overrides"]
            return "drop override %s" % k
        declared = set(root.get("dependencies", {}))
        cands = [x for x in self.names if x not in declared]
        if not cands:
            return None
        x = rng.choice(cands)
        v = rng.choice(self.pkgs[x]["versions"])
        spec = rng.choice([v, "^" + v, str(vparts(v)[0])])
        root.setdefault("overrides", {})[x] = spec
        return "override %s %r" % (x, spec)

    # ---- all of it

    def build(self):
        self.make_packages()
        self.root = self.make_root()
        self.root2, self.mutations = self.mutate(self.root)
        packages = {}
        for name in sorted(self.pkgs):
            pkg = self.pkgs[name]
            packages[name] = {"versions": {v: pkg["manifests"][v] for v in pkg["versions"]},
                              "meta": pkg["meta"]}
        return {"seed": self.seed, "features": sorted(set(self.features)),
                "packages": packages, "root": self.root, "root2": self.root2,
                "mutations": self.mutations}


def _weighted(rng, items):
    total = sum(w for _, w in items)
    x = rng.random() * total
    for k, w in items:
        x -= w
        if x < 0:
            return k
    return items[-1][0]


# --scopes: some packages of each case move into a scope (chosen by a second generator, so
# that a seed gives the same case as without the option, names aside).
SCOPE = "@fz/"
SCOPED = False


def scope_some(case):
    rng = random.Random(case["seed"] * 7919 + 17)
    names = list(case["packages"])
    moved = {n: SCOPE + n for n in names if rng.random() < 0.4}
    if not moved:
        return case

    def name(n):
        return moved.get(n, n)

    def deps(obj):
        return {name(k): v for k, v in obj.items()}

    def spec(v):
        # aliases (npm:alpha@^1) and override references ($alpha) name packages too
        if isinstance(v, str) and v.startswith("npm:"):
            target, at, rest = v[4:].partition("@")
            return "npm:" + name(target) + at + rest
        if isinstance(v, str) and v.startswith("$"):
            return "$" + name(v[1:])
        return v

    def overrides(ov):
        if not isinstance(ov, dict):
            return spec(ov)
        return {(k if k == "." else name(k)): overrides(v) for k, v in ov.items()}

    def manifest(m):
        m = dict(m)
        if "name" in m:
            m["name"] = name(m["name"])
        for key in ("dependencies", "devDependencies", "optionalDependencies",
                    "peerDependencies", "peerDependenciesMeta"):
            if key in m:
                m[key] = {name(k): spec(v) for k, v in m[key].items()}
        if "bundleDependencies" in m:
            m["bundleDependencies"] = [name(n) for n in m["bundleDependencies"]]
        if "overrides" in m:
            m["overrides"] = overrides(m["overrides"])
        return m

    packages = {}
    for n in sorted(names, key=name):
        pkg = case["packages"][n]
        meta = dict(pkg["meta"])
        if "bundle" in meta:
            meta["bundle"] = {v: deps(b) for v, b in meta["bundle"].items()}
        packages[name(n)] = {"versions": {v: manifest(m) for v, m in pkg["versions"].items()},
                             "meta": meta}
    out = dict(case, packages=packages, root=manifest(case["root"]),
               root2=manifest(case["root2"]), features=sorted(set(case["features"] + ["scoped"])))
    return out


def generate(seed):
    case = Gen(seed).build()
    return scope_some(case) if SCOPED else case


def dumps(obj):
    return json.dumps(obj, indent=2) + "\n"


def write_registry(case, dest):
    for name, pkg in case["packages"].items():
        for v, manifest in pkg["versions"].items():
            d = os.path.join(dest, name, v)
            os.makedirs(d)
            with open(os.path.join(d, "package.json"), "w") as f:
                f.write(dumps(manifest))
            with open(os.path.join(d, "index.js"), "w") as f:
                f.write("module.exports = %s;\n" % json.dumps("%s@%s" % (name, v)))
        if pkg["meta"]:
            with open(os.path.join(dest, name, "meta.json"), "w") as f:
                f.write(dumps(pkg["meta"]))


def describe_case(case):
    lines = ["seed %d  features: %s" % (case["seed"], " ".join(case["features"]) or "-"),
             "packages:"]
    for name, pkg in case["packages"].items():
        meta = pkg["meta"]
        for v, m in pkg["versions"].items():
            bits = []
            for field, label in (("dependencies", "deps"), ("optionalDependencies", "opt"),
                                 ("peerDependencies", "peer")):
                if m.get(field):
                    bits.append("%s %s" % (label, ", ".join(
                        "%s@%s" % (k, json.dumps(s)) for k, s in m[field].items())))
            if m.get("peerDependenciesMeta"):
                bits.append("peer-optional %s" % ",".join(m["peerDependenciesMeta"]))
            if m.get("bundleDependencies"):
                bits.append("bundles %s" % json.dumps(meta.get("bundle", {}).get(v)))
            for key in ("os", "cpu"):
                if key in m:
                    bits.append("%s %s" % (key, ",".join(m[key])))
            if v in meta.get("deprecated", {}):
                bits.append("DEPRECATED")
            lines.append("  %-22s %s" % ("%s@%s" % (name, v), "; ".join(bits)))
        if meta.get("dist-tags"):
            lines.append("  %-22s dist-tags %s" % (name, json.dumps(meta["dist-tags"])))
    lines.append("root package.json, step 1:")
    lines.append(dumps(case["root"]).rstrip())
    lines.append("step 2 and 3 (%s):" % "; ".join(case["mutations"]))
    lines.append(dumps(case["root2"]).rstrip())
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# running the tools


class Interrupted(Exception):
    pass


class Procs:
    """Every child this fuzzer starts, so that Ctrl-C can end exactly those."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = set()
        self.registries = set()
        self.stop = threading.Event()
        self.stop_lock = threading.Lock()

    def run(self, argv, cwd, env, timeout=TOOL_TIMEOUT):
        if self.stop.is_set():
            raise Interrupted()
        start = time.time()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        with self.lock:
            self.running.add(p)
        timed_out = False
        try:
            try:
                out, err = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(p)
                out, err = p.communicate()
        finally:
            with self.lock:
                self.running.discard(p)
        if self.stop.is_set():
            raise Interrupted()
        rc = "timeout" if timed_out else p.returncode
        return h.Result(argv, cwd, rc, out, err, time.time() - start, timed_out)

    def start_registry(self, packages_dir):
        if self.stop.is_set():
            raise Interrupted()
        reg = h.FixtureRegistry(auth={}, packages_dir=packages_dir, max_lifetime=3600)
        with self.lock:
            self.registries.add(reg)
        reg.start()
        if self.stop.is_set():
            self.stop_registry(reg)
            raise Interrupted()
        return reg

    def stop_registry(self, reg):
        # a worker and Ctrl-C may both get here, and FixtureRegistry.stop is not reentrant
        with self.stop_lock:
            reg.stop()
        with self.lock:
            self.registries.discard(reg)

    def kill_all(self):
        self.stop.set()
        with self.lock:
            running = list(self.running)
            regs = list(self.registries)
        for p in running:
            _kill_group(p)
        for reg in regs:
            try:
                self.stop_registry(reg)
            except Exception:
                pass


def _kill_group(p):
    # each tool runs in a session of its own: its pid is the group id of npm's node children
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def tool_env(lade_cache=None):
    env = {k: v for k, v in os.environ.items()
           if not k.lower().startswith("npm_config_") and
           k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.pop("LADE_CACHE_DIR", None)
    if lade_cache:
        env["LADE_CACHE_DIR"] = lade_cache
        env["npm_config_fetch_retry_mintimeout"] = "200"
        env["npm_config_fetch_retry_maxtimeout"] = "1000"
    return env


COMMON_ARGS = ["--ignore-scripts", "--no-audit", "--no-fund"]

# --vary-flags: each seed runs with one of these (chosen from the seed alone), on every step.
FLAG_SETS = [[], [], ["--legacy-peer-deps"], ["--install-strategy=nested"],
             ["--install-strategy=shallow"], ["--prefer-dedupe"], ["--omit=dev"],
             ["--omit=optional"], ["--force"], ["--strict-peer-deps"],
             ["--omit-lockfile-registry-resolved=false"]]


def flags_for(seed, vary, extra):
    chosen = random.Random(seed * 7919 + 17).choice(FLAG_SETS) if vary else []
    return chosen + extra


class Tools:
    def __init__(self, lade_bin, npm_bin):
        self.lade = lade_bin
        self.npm = npm_bin
        self.lade_is_npm = os.path.basename(lade_bin) in ("npm", "npm-cli.js")

    def command(self, tool, cmd, registry_url, cache, flags=()):
        if tool == "npm":
            return ([self.npm, cmd] + COMMON_ARGS + list(flags) +
                    ["--registry", registry_url, "--cache", cache], tool_env())
        argv = [self.lade, cmd] + COMMON_ARGS + list(flags) + ["--registry", registry_url]
        if self.lade_is_npm:
            argv += ["--cache", cache]
        return argv, tool_env(lade_cache=cache)


# ---------------------------------------------------------------------------------------------
# comparing

ERROR_CODE_RES = [re.compile(r"^npm (?:error|ERR!) code (\S+)", re.M),
                  re.compile(r"^lade: (E[A-Z0-9_]+)\b", re.M)]


def error_code(result):
    for rx in ERROR_CODE_RES:
        m = rx.search(result.stderr) or rx.search(result.stdout)
        if m:
            return m.group(1)
    return "-"


def error_lines(result, limit=12):
    lines = [ln for ln in (result.stderr + "\n" + result.stdout).splitlines()
             if ln.startswith(("npm error", "npm ERR!", "lade:", "lade error"))]
    if len(lines) > limit:
        lines = lines[:limit] + ["... %d more" % (len(lines) - limit)]
    return lines


def empty_dirs(project):
    out = []
    nm = os.path.join(project, "node_modules")
    if not os.path.isdir(nm) or os.path.islink(nm):
        return out
    for dirpath, dirnames, filenames in os.walk(nm):
        dirnames.sort()
        if not dirnames and not filenames:
            out.append(os.path.relpath(dirpath, project).replace(os.sep, "/"))
    return out


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return None


def snapshot(project, result):
    return {
        "ok": result.returncode == 0,
        "exit": result.returncode,
        "code": "-" if result.returncode == 0 else error_code(result),
        "lockfile": read_text(os.path.join(project, "package-lock.json")),
        "hidden": read_text(os.path.join(project, "node_modules", ".package-lock.json")),
        "package.json": read_text(os.path.join(project, "package.json")),
        "tree": h.node_modules_tree(project),
        "empty-dirs": empty_dirs(project),
        "node_modules": os.path.isdir(os.path.join(project, "node_modules")),
        "errors": error_lines(result),
    }


ARTIFACTS = ("lockfile", "hidden", "package.json", "tree", "empty-dirs")


def as_text(kind, value):
    if value is None:
        return "(none)\n"
    if isinstance(value, str):
        return value if value.endswith("\n") else value + "\n\\ no newline at end\n"
    return json.dumps(value, indent=1, sort_keys=True) + "\n"


def compare(step, n, l):
    """(signature parts, report text) for one step."""
    parts, report = [], []
    if n["ok"] != l["ok"]:
        parts.append("exit npm=%s lade=%s" % (n["exit"], l["exit"]))
    elif not n["ok"] and n["code"] != l["code"]:
        parts.append("code %s/%s" % (n["code"], l["code"]))
    if n["node_modules"] != l["node_modules"]:
        parts.append("node_modules npm=%s lade=%s" % (
            "yes" if n["node_modules"] else "no", "yes" if l["node_modules"] else "no"))
    for kind in ARTIFACTS:
        if n[kind] != l[kind]:
            parts.append(kind)
            report.append("%s %s differs (-npm +lade):\n%s" % (step, kind, h.text_diff(
                as_text(kind, n[kind]), as_text(kind, l[kind]), "npm", "lade")))
    return parts, report


def step_summary(step, cmd, n, l):
    lines = ["%s %s: npm exit %s code %s | lade exit %s code %s" % (
        step, cmd, n["exit"], n["code"], l["exit"], l["code"])]
    for tool, s in (("npm", n), ("lade", l)):
        if not s["ok"]:
            lines += ["  %s| %s" % (tool, ln) for ln in s["errors"]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# one case


def run_case(seed, tools, procs, out_dir, keep, flags=()):
    """Returns (signature or None, report text, case dir kept or None, npm's outcome of each
    step)."""
    case = generate(seed)
    case_dir = os.path.join(out_dir, "cases", str(seed))
    if os.path.exists(case_dir):
        shutil.rmtree(case_dir)
    os.makedirs(case_dir)
    packages_dir = os.path.join(case_dir, "packages")
    logs = os.path.join(case_dir, "logs")
    os.makedirs(logs)
    with open(os.path.join(case_dir, "case.json"), "w") as f:
        f.write(dumps(case))
    write_registry(case, packages_dir)
    projects = {t: os.path.join(case_dir, t) for t in ("npm", "lade")}
    caches = {t: os.path.join(case_dir, "cache-" + t) for t in ("npm", "lade")}
    for t in ("npm", "lade"):
        os.makedirs(projects[t])
        os.makedirs(caches[t])
        with open(os.path.join(projects[t], "package.json"), "w") as f:
            f.write(dumps(case["root"]))

    signature, report, outcome = [], [], []
    try:
        reg = procs.start_registry(packages_dir)
    except Interrupted:
        shutil.rmtree(case_dir, ignore_errors=True)
        raise
    try:
        for step, cmd in STEPS:
            if step == "step2":
                for t in ("npm", "lade"):
                    with open(os.path.join(projects[t], "package.json"), "w") as f:
                        f.write(dumps(case["root2"]))
            if step == "step3":
                if not any(os.path.exists(os.path.join(projects[t], "package-lock.json"))
                           for t in ("npm", "lade")):
                    report.append("step3 ci: skipped, neither tool wrote a lockfile\n")
                    outcome.append("skip")
                    break
                for t in ("npm", "lade"):
                    shutil.rmtree(os.path.join(projects[t], "node_modules"), ignore_errors=True)
            snaps = {}
            for t in ("npm", "lade"):
                argv, env = tools.command(t, cmd, reg.url, caches[t], flags)
                r = procs.run(argv, projects[t], env)
                for stream in ("stdout", "stderr"):
                    with open(os.path.join(logs, "%s-%s.%s" % (step, t, stream[3:])), "w") as f:
                        f.write("$ %s\n" % " ".join(h._quote(a) for a in argv) if stream ==
                                "stdout" else "")
                        f.write(getattr(r, stream))
                snaps[t] = snapshot(projects[t], r)
                for kind in ("lockfile", "hidden"):
                    if snaps[t][kind] is not None:
                        with open(os.path.join(logs, "%s-%s.%s.json" % (step, t, kind)), "w") as f:
                            f.write(snaps[t][kind])
            parts, diffs = compare(step, snaps["npm"], snaps["lade"])
            outcome.append("ok" if snaps["npm"]["ok"] else snaps["npm"]["code"])
            report.append(step_summary(step, cmd, snaps["npm"], snaps["lade"]))
            report += diffs
            if parts:
                signature.append("%s %s" % (step, ",".join(parts)))
    except Interrupted:
        procs.stop_registry(reg)
        if not keep:
            shutil.rmtree(case_dir, ignore_errors=True)
        raise
    finally:
        procs.stop_registry(reg)

    text = "".join(report)
    with open(os.path.join(case_dir, "report.txt"), "w") as f:
        f.write(text)
    sig = "; ".join(signature) or None
    for t in ("npm", "lade"):
        # npm's debug logs (named in its error output) stay with a kept case; the packages go
        for entry in os.listdir(caches[t]):
            if entry != "_logs" or not (sig or keep):
                full = os.path.join(caches[t], entry)
                if os.path.isdir(full):
                    shutil.rmtree(full, ignore_errors=True)
                else:
                    os.remove(full)
        if not os.listdir(caches[t]):
            os.rmdir(caches[t])
    if sig is None and not keep:
        shutil.rmtree(case_dir, ignore_errors=True)
        return sig, text, None, outcome
    return sig, text, case_dir, outcome


# ---------------------------------------------------------------------------------------------
# main


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="npm against lade on random small registries (seeded, deterministic)")
    ap.add_argument("--lade", default=os.environ.get("LADE") or os.environ.get("LADE_BIN"),
                    help="lade binary (default: $LADE); npm's path runs npm on both sides")
    ap.add_argument("--npm", default=h.npm_binary(), help="npm executable")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", help="work dir (default: a new dir under the temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep passing cases too")
    ap.add_argument("--show", type=int, metavar="SEED",
                    help="print the case and the differences of a fresh run")
    ap.add_argument("--print-case", type=int, metavar="SEED",
                    help="print the generated case only (no tool runs)")
    ap.add_argument("--vary-flags", action="store_true",
                    help="run each seed with flags chosen from the seed (--legacy-peer-deps, "
                    "--install-strategy=nested, --omit=dev, --force, ...)")
    ap.add_argument("--scopes", action="store_true",
                    help="move some packages of each case into a scope (@fz/...)")
    ap.add_argument("--extra-args", default="", metavar="ARGS",
                    help="more arguments for both tools on every step")
    ap.add_argument("start", type=int, nargs="?")
    ap.add_argument("count", type=int, nargs="?")
    args = ap.parse_args(argv)

    global SCOPED
    SCOPED = args.scopes
    if args.print_case is not None:
        sys.stdout.write(describe_case(generate(args.print_case)))
        return 0
    if not args.lade:
        ap.error("--lade BIN (or $LADE) is required")
    if args.show is None and (args.start is None or args.count is None):
        ap.error("START and COUNT are required (or --show SEED)")
    args.lade = os.path.abspath(args.lade) if os.sep in args.lade else args.lade

    made_out = args.out is None
    out_dir = args.out or tempfile.mkdtemp(prefix="lade-tree-fuzz-")
    os.makedirs(os.path.join(out_dir, "cases"), exist_ok=True)
    tools = Tools(args.lade, args.npm)
    procs = Procs()

    def on_term(signum, frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_term)
    # a shell starts background jobs with SIGINT ignored; Ctrl-C or kill -INT must still stop us
    signal.signal(signal.SIGINT, signal.default_int_handler)

    seeds = [args.show] if args.show is not None else list(
        range(args.start, args.start + args.count))
    if args.show is not None:
        sys.stdout.write(describe_case(generate(args.show)))
        sys.stdout.flush()
    else:
        print("tree_fuzz: seeds %d..%d, %d jobs, npm %s vs %s%s; out %s" % (
            seeds[0], seeds[-1], args.jobs, args.npm, args.lade,
            " (npm on both sides)" if tools.lade_is_npm else "", out_dir), flush=True)

    extra = shlex.split(args.extra_args)
    results = {}
    print_lock = threading.Lock()
    start = time.time()

    def job(seed):
        t0 = time.time()
        try:
            sig, text, _, outcome = run_case(seed, tools, procs, out_dir, args.keep,
                                             flags_for(seed, args.vary_flags, extra))
        except Interrupted:
            return
        except Exception as e:
            sig, text, outcome = "harness-error %s" % type(e).__name__, traceback.format_exc(), []
        results[seed] = sig
        with print_lock:
            if args.show is not None:
                print("\n" + text.rstrip())
            flags = flags_for(seed, args.vary_flags, extra)
            print("%d %s  (%.0fs; npm %s%s)" % (seed, "PASS" if sig is None else "DIFF " + sig,
                                                time.time() - t0, " ".join(outcome) or "-",
                                                "; " + " ".join(flags) if flags else ""),
                  flush=True)
            if sig and sig.startswith("harness-error"):
                print(h._indent(text), end="", flush=True)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs))
    interrupted = False
    try:
        futures = [pool.submit(job, s) for s in seeds]
        for f in futures:
            while True:
                try:
                    f.result(timeout=0.5)
                    break
                except concurrent.futures.TimeoutError:
                    continue
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: stopping the tools and registries", flush=True)
        procs.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
    finally:
        pool.shutdown(wait=True)
        procs.kill_all()

    passed = sorted(s for s, sig in results.items() if sig is None)
    diffs = sorted(s for s, sig in results.items() if sig is not None)
    elapsed = time.time() - start
    if args.show is None or interrupted:
        print("%d cases in %.0fs: %d passed, %d differ%s" % (
            len(results), elapsed, len(passed), len(diffs),
            " (interrupted)" if interrupted else ""))
        for s in diffs:
            print("  %d DIFF %s" % (s, results[s]))
    if diffs or args.keep:
        print("cases kept under %s" % os.path.join(out_dir, "cases"))
    elif made_out:
        shutil.rmtree(out_dir, ignore_errors=True)
    if interrupted:
        return 130
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
