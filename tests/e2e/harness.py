"""Test harness for lade's end-to-end and compatibility tests (Python 3 standard library only).

What it offers:
  * `FixtureRegistry` — starts fixtures/registry.py on 127.0.0.1 (ephemeral port) as a child
    process (context manager), with helpers for its control endpoint and request log.
  * `Sandbox` — a temp dir with an isolated HOME, lade cache and npm cache for one test.
  * `Project` — a temp project dir made from a dict of files or a folder; read its lockfile,
    list its node_modules tree (relative path -> version).
  * `run_lade()` / `run_npm()` — run the tools with the sandbox's environment, capture
    exit code, stdout and stderr.
  * assertion helpers that print clear diffs, and a tiny test runner (`Suite`) that prints
    `N passed, N failed` and exits non-zero on failure, so each test file is one ctest test.

Conventions for driving lade live in `LadeConventions` below: change them there when the CLI moves.

Setting LADE_BIN to an npm executable (e.g. `LADE_BIN=$(command -v npm)`) runs the lade tests
against npm itself ("oracle mode"): a way to check that a test's expectations are right.
"""

import contextlib
import difflib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("LADE_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
FIXTURES_DIR = os.path.join(SOURCE_DIR, "fixtures")
REGISTRY_SCRIPT = os.path.join(FIXTURES_DIR, "registry.py")
TLS_DIR = os.path.join(FIXTURES_DIR, "tls")  # a test CA and a 127.0.0.1 certificate it signed
TLS_CA = os.path.join(TLS_DIR, "ca.pem")

# Token that the fixture registry requires for the @private scope (see FixtureRegistry).
PRIVATE_SCOPE = "@private"
PRIVATE_TOKEN = "fixture-private-token"


# ----------------------------------------------------------------------------------------------
# How lade is driven. Everything a CLI change would touch is here.


class LadeConventions:
    """The lade CLI as the tests expect it. Adjust here, not in the tests."""

    bin_env = "LADE_BIN"  # path of the lade executable
    source_env = "LADE_SOURCE_DIR"  # repository root
    cache_env = "LADE_CACHE_DIR"  # lade's cache/store directory
    default_bin_candidates = ("build/lade", "build/src/cli/lade")  # relative to the source dir

    # Commands and flags (npm's spelling).
    install = ["install"]
    ci = ["ci"]
    add = ["add"]
    registry_flag = "--registry"
    package_lock_only = "--package-lock-only"
    ignore_scripts = "--ignore-scripts"

    @staticmethod
    def binary():
        b = os.environ.get(LadeConventions.bin_env)
        if b:
            return b
        for rel in LadeConventions.default_bin_candidates:
            p = os.path.join(SOURCE_DIR, rel)
            if os.access(p, os.X_OK):
                return p
        return None

    @staticmethod
    def is_npm_oracle():
        """True when LADE_BIN points at npm: the tests then check their expectations on npm."""
        b = LadeConventions.binary()
        return bool(b) and os.path.basename(b) in ("npm", "npm-cli.js")

    @staticmethod
    def env(sandbox):
        """Environment entries lade gets besides the sandbox's common ones. Retries keep npm's
        count but wait milliseconds instead of npm's 10 s / 60 s, so fault tests stay quick."""
        return {LadeConventions.cache_env: sandbox.lade_cache,
                "npm_config_fetch_retry_mintimeout": "200",
                "npm_config_fetch_retry_maxtimeout": "1000"}

    @staticmethod
    def extra_args(sandbox):
        """Arguments appended to every lade invocation (in oracle mode: npm's cache)."""
        if LadeConventions.is_npm_oracle():
            return ["--cache", sandbox.lade_cache]
        return []


# ----------------------------------------------------------------------------------------------
# Results and assertions


class Result:
    def __init__(self, args, cwd, returncode, stdout, stderr, duration, timed_out=False):
        self.args = args
        self.cwd = cwd
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.duration = duration
        self.timed_out = timed_out

    @property
    def output(self):
        return self.stdout + "\n" + self.stderr

    @property
    def ok(self):
        return self.returncode == 0

    def describe(self, limit=4000):
        def tail(s):
            s = s.rstrip()
            if len(s) <= limit:
                return s
            head = limit // 3
            return s[:head] + "\n[... %d characters ...]\n" % (len(s) - limit) + s[-(limit - head):]
        return ("$ %s\n  (cwd %s) -> exit %s%s in %.1fs\n--- stdout\n%s\n--- stderr\n%s\n---" % (
            " ".join(_quote(a) for a in self.args), self.cwd, self.returncode,
            " (TIMED OUT)" if self.timed_out else "", self.duration, tail(self.stdout),
            tail(self.stderr)))


def _quote(a):
    return a if re.match(r"^[\w@%+=:,./^~<>*-]+$", a) else "'" + a.replace("'", "'\\''") + "'"


class CheckFailed(AssertionError):
    pass


def fail(message, result=None):
    if result is not None:
        message += "\n" + result.describe()
    raise CheckFailed(message)


def check(cond, message, result=None):
    if not cond:
        fail(message, result)


def text_diff(expected, actual, expected_name="expected", actual_name="actual"):
    return "".join(difflib.unified_diff(
        expected.splitlines(True), actual.splitlines(True), expected_name, actual_name))


def _pretty(v):
    if isinstance(v, (bytes, bytearray)):
        return v.decode("utf-8", "replace")
    if isinstance(v, str):
        return v
    return json.dumps(v, indent=2, sort_keys=True) + "\n"


def check_equal(actual, expected, what, result=None, expected_name="expected",
                actual_name="actual"):
    """Passes when actual == expected; otherwise fails with a unified diff."""
    if actual == expected:
        return
    a, e = _pretty(actual), _pretty(expected)
    if not a.endswith("\n"):
        a += "\n\\ no newline at end\n"
    if not e.endswith("\n"):
        e += "\n\\ no newline at end\n"
    fail("%s differs (-%s +%s):\n%s" % (what, expected_name, actual_name,
                                        text_diff(e, a, expected_name, actual_name)), result)


def check_exit(result, expected=0, what=None):
    """expected: an int, or 'nonzero'."""
    label = what or "exit code"
    if expected == "nonzero":
        if result.returncode == 0 or result.timed_out:
            fail("%s: expected a non-zero exit" % label, result)
    elif result.returncode != expected:
        fail("%s: expected %s, got %s" % (label, expected, result.returncode), result)


def check_output_contains(result, *needles, ignore_case=False):
    text = result.output
    for n in needles:
        hay, needle = (text.lower(), n.lower()) if ignore_case else (text, n)
        if needle not in hay:
            fail("output does not mention %r" % n, result)


def check_output_matches(result, pattern, what=None):
    if not re.search(pattern, result.output):
        fail("output does not match /%s/%s" % (pattern, " (%s)" % what if what else ""), result)


def check_exists(path, what=None):
    if not os.path.lexists(path):
        fail("%s: %s does not exist" % (what or "missing path", path))


def check_not_exists(path, what=None):
    if os.path.lexists(path):
        fail("%s: %s exists" % (what or "unexpected path", path))


def check_executable(path):
    check_exists(path, "bin")
    real = os.path.realpath(path)
    if not os.access(real, os.X_OK):
        fail("%s (-> %s) is not executable (mode %o)" % (path, real, os.stat(real).st_mode))


# ----------------------------------------------------------------------------------------------
# Fixture registry


class FixtureRegistry:
    """The loopback fixture registry as a child process. Use as a context manager:

        with FixtureRegistry() as reg:
            reg.url            # 'http://127.0.0.1:PORT/'
            reg.fault(path='/leaf', kind='status', status=500, count=2)
            reg.log()          # list of request records

    The child exits when this process exits (parent pid watch + stdin EOF) or after
    max_lifetime seconds.
    """

    def __init__(self, auth=None, mode="normal", gzip=True, etag=True, faults=(),
                 bad_integrity=(), packages_dir=None, max_lifetime=1200, log_file=None, tls=False):
        self.auth = {PRIVATE_SCOPE: PRIVATE_TOKEN} if auth is None else dict(auth)
        self.options = dict(mode=mode, gzip=gzip, etag=etag, faults=list(faults),
                            bad_integrity=list(bad_integrity), packages_dir=packages_dir,
                            max_lifetime=max_lifetime, log_file=log_file, tls=tls)
        self.proc = None
        self.url = None
        handlers = [urllib.request.ProxyHandler({})]
        if tls:  # HTTPS with a certificate of fixtures/tls/ca.pem
            handlers.append(urllib.request.HTTPSHandler(
                context=ssl.create_default_context(cafile=TLS_CA)))
        self._opener = urllib.request.build_opener(*handlers)

    # ---- lifecycle

    def start(self):
        o = self.options
        cmd = [sys.executable, REGISTRY_SCRIPT, "--parent-pid", str(os.getpid()),
               "--exit-on-stdin-eof", "--max-lifetime", str(o["max_lifetime"]), "--mode", o["mode"]]
        if o["packages_dir"]:
            cmd += ["--packages", o["packages_dir"]]
        if not o["gzip"]:
            cmd.append("--no-gzip")
        if not o["etag"]:
            cmd.append("--no-etag")
        if o["tls"]:
            cmd.append("--tls")
        for scope, token in self.auth.items():
            cmd += ["--auth", "%s=%s" % (scope, token)]
        for f in o["faults"]:
            cmd += ["--fault", json.dumps(f)]
        for b in o["bad_integrity"]:
            cmd += ["--bad-integrity", b]
        if o["log_file"]:
            cmd += ["--log-file", o["log_file"]]
        # stderr goes to a file, not a pipe nobody drains (a full pipe would stall the server).
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"LADE_FIXTURE_REGISTRY (\S+)", line or "")
        if not m:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self._stderr.seek(0)
            err = self._stderr.read()
            self.stop()
            raise RuntimeError("fixture registry did not start: %r %s" % (line, err))
        self.url = m.group(1)
        return self

    def stop(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for s in (self.proc.stdout, self._stderr):
            try:
                s.close()
            except OSError:
                pass
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- addresses

    @property
    def port(self):
        return int(self.url.rsplit(":", 1)[1].strip("/"))

    @property
    def host(self):
        """'127.0.0.1:PORT'"""
        return "127.0.0.1:%d" % self.port

    @property
    def nerf(self):
        """The .npmrc key prefix for this registry: '//127.0.0.1:PORT/'"""
        return "//%s/" % self.host

    def tarball_url(self, name, version):
        return "%s%s/-/%s-%s.tgz" % (self.url, name, name.split("/")[-1], version)

    def npmrc_token_line(self, token=PRIVATE_TOKEN):
        return "%s:_authToken=%s\n" % (self.nerf, token)

    # ---- control plane

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path.lstrip("/"), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with self._opener.open(req, timeout=10) as r:
            return json.loads(r.read().decode() or "null")

    def get(self, path, headers=None):
        """A raw GET for registry self-tests: returns (status, headers, body bytes)."""
        req = urllib.request.Request(self.url + path.lstrip("/"), headers=headers or {})
        try:
            with self._opener.open(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def control(self, **changes):
        """See RegistryState.apply_control in fixtures/registry.py for the keys."""
        return self._call("POST", "/-/control", changes)

    def fault(self, **rule):
        """Adds one fault rule, e.g. fault(path='/leaf', kind='status', status=500, count=2)."""
        return self.control(faults=[rule])

    def reset(self):
        return self._call("POST", "/-/reset", {})

    def log(self, since=0):
        return self._call("GET", "/-/log?since=%d" % since)

    def clear_log(self):
        return self._call("DELETE", "/-/log")

    def requests(self, kind=None, path=None, method=None):
        """Logged requests filtered by kind ('packument', 'tarball', 'manifest'), exact path
        (URL-decoded comparison) or method."""
        out = []
        for e in self.log():
            if kind and e.get("kind") != kind:
                continue
            if method and e["method"] != method:
                continue
            if path and urllib.request.unquote(e["path"]).lower() != path.lower():
                continue
            out.append(e)
        return out


def closed_port():
    """A loopback port with nothing listening on it (best effort)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ----------------------------------------------------------------------------------------------
# Sandbox, projects, trees


class Sandbox:
    """A temp dir with home/, lade-cache/, npm-cache/ and room for projects.

    isolate_home=False keeps the machine's HOME (and so its user .npmrc): the compatibility
    tests want npm and lade to read the same user configuration the machine has.
    """

    def __init__(self, prefix="lade-test-", isolate_home=True, keep=False):
        self.root = tempfile.mkdtemp(prefix=prefix)
        self.keep = keep or bool(os.environ.get("LADE_TEST_KEEP"))
        self.isolate_home = isolate_home
        self.home = os.path.join(self.root, "home") if isolate_home else os.path.expanduser("~")
        self.lade_cache = os.path.join(self.root, "lade-cache")
        self.npm_cache = os.path.join(self.root, "npm-cache")
        os.makedirs(self.lade_cache)
        os.makedirs(self.npm_cache)
        if isolate_home:
            os.makedirs(self.home)
            # Keep npm quiet and off the network for things the tests do not exercise.
            with open(os.path.join(self.home, ".npmrc"), "w") as f:
                f.write("fund=false\naudit=false\nupdate-notifier=false\n")
        self._counter = 0

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def new_dir(self, name="dir"):
        self._counter += 1
        p = os.path.join(self.root, "%s-%d" % (name, self._counter))
        os.makedirs(p)
        return p

    def project(self, files=None, folder=None, name="project"):
        """A new project dir from a folder (copied) and/or a dict of files."""
        root = self.new_dir(name)
        if folder:
            shutil.rmtree(root)
            shutil.copytree(folder, root, symlinks=True)
        p = Project(root)
        for rel, content in (files or {}).items():
            p.write(rel, content)
        return p

    def base_env(self):
        """The environment both tools run with: inherited, minus npm config and proxies."""
        env = {k: v for k, v in os.environ.items()
               if not k.lower().startswith("npm_config_") and
               k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
        env["HOME"] = self.home
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env.pop("LADE_CACHE_DIR", None)
        return env

    def cleanup(self):
        if self.keep:
            print("  (kept %s)" % self.root)
            return
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


class Project:
    def __init__(self, root):
        self.root = root

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def write(self, rel, content):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if isinstance(content, (dict, list)):
            content = json.dumps(content, indent=2) + "\n"
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(p, mode) as f:
            f.write(content)
        return p

    def read_bytes(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read()

    def read_text(self, rel):
        return self.read_bytes(rel).decode("utf-8")

    def read_json(self, rel):
        return json.loads(self.read_text(rel))

    def exists(self, rel):
        return os.path.lexists(self.path(rel))

    def lockfile(self):
        """Parsed package-lock.json, or None when absent."""
        if not self.exists("package-lock.json"):
            return None
        return self.read_json("package-lock.json")

    def package_json(self):
        return self.read_json("package.json")

    def installed_version(self, name, under="node_modules"):
        p = self.path(under, name, "package.json")
        if not os.path.exists(p):
            return None
        with open(p) as f:
            return json.load(f).get("version")

    def tree(self, bins=True):
        return node_modules_tree(self.root, bins=bins)

    def copy(self, sandbox, name="copy", include_node_modules=False):
        root = sandbox.new_dir(name)
        shutil.rmtree(root)
        ignore = None if include_node_modules else shutil.ignore_patterns("node_modules")
        shutil.copytree(self.root, root, symlinks=True, ignore=ignore)
        return Project(root)


def node_modules_tree(project_root, bins=True):
    """{relative path: version} for every package under node_modules (recursively), plus
    'link:<target>' entries for symlinked packages and 'bin:<target>' for .bin entries.
    Workspace/link targets inside the project are walked too (their own node_modules)."""
    out = {}
    project_root = os.path.realpath(project_root)
    seen_roots = set()

    def rel(p):
        return os.path.relpath(p, project_root).replace(os.sep, "/")

    def walk_node_modules(nm):
        if not os.path.isdir(nm) or os.path.realpath(nm) in seen_roots:
            return
        seen_roots.add(os.path.realpath(nm))
        for entry in sorted(os.listdir(nm)):
            full = os.path.join(nm, entry)
            if entry == ".bin":
                if bins:
                    for b in sorted(os.listdir(full)):
                        bp = os.path.join(full, b)
                        target = os.readlink(bp) if os.path.islink(bp) else "(file)"
                        out[rel(bp)] = "bin:" + target
                continue
            if entry.startswith("."):
                continue
            if entry.startswith("@") and not os.path.islink(full):
                for sub in sorted(os.listdir(full)):
                    visit_package(os.path.join(full, sub))
                continue
            visit_package(full)

    def visit_package(pdir):
        if os.path.islink(pdir):
            target = os.path.realpath(pdir)
            out[rel(pdir)] = "link:" + rel(target)
            if target.startswith(project_root + os.sep):
                walk_node_modules(os.path.join(target, "node_modules"))
            return
        pj = os.path.join(pdir, "package.json")
        version = None
        if os.path.exists(pj):
            try:
                with open(pj) as f:
                    version = json.load(f).get("version")
            except ValueError:
                version = "(unparsable package.json)"
        out[rel(pdir)] = version if version is not None else "(no version)"
        walk_node_modules(os.path.join(pdir, "node_modules"))

    walk_node_modules(os.path.join(project_root, "node_modules"))
    return out


def versions_only(tree):
    """The tree without bin entries."""
    return {k: v for k, v in tree.items() if not v.startswith("bin:")}


# ----------------------------------------------------------------------------------------------
# Running the tools


def _run(args, cwd, env, timeout, stdin_text=None):
    start = time.time()
    try:
        p = subprocess.run(args, cwd=cwd, env=env, input=stdin_text, capture_output=True,
                           text=True, timeout=timeout, start_new_session=True)
        return Result(args, cwd, p.returncode, p.stdout, p.stderr, time.time() - start)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return Result(args, cwd, -signal.SIGKILL, out, err, time.time() - start, timed_out=True)
    except FileNotFoundError as e:
        return Result(args, cwd, 127, "", str(e), time.time() - start)


def run_lade(sandbox, args, cwd, registry=None, env=None, timeout=180):
    """Runs lade with the sandbox's HOME and cache. registry: a FixtureRegistry or URL string
    passed as --registry (None = don't pass one). Returns a Result."""
    b = LadeConventions.binary()
    if not b:
        return Result(["lade"] + list(args), cwd, 127, "",
                      "lade binary not found: set %s" % LadeConventions.bin_env, 0.0)
    full, e = _lade_command(sandbox, b, args, registry, env)
    return _run(full, cwd, e, timeout)


def _lade_command(sandbox, binary, args, registry, env):
    """The command line and environment run_lade and start_lade use."""
    full = [binary] + list(args)
    if registry is not None:
        full += [LadeConventions.registry_flag, _url(registry)]
    full += LadeConventions.extra_args(sandbox)
    e = sandbox.base_env()
    e.update(LadeConventions.env(sandbox))
    e.update(env or {})
    return full, e


def start_lade(sandbox, args, cwd, registry=None, env=None):
    """Starts lade as run_lade would, without waiting: returns the subprocess.Popen (its own
    session, output discarded), for tests that signal it."""
    full, e = _lade_command(sandbox, LadeConventions.binary(), args, registry, env)
    return subprocess.Popen(full, cwd=cwd, env=e, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def npm_binary():
    return os.environ.get("LADE_TEST_NPM") or shutil.which("npm") or "npm"


def run_npm(sandbox, args, cwd, registry=None, env=None, timeout=300, cache=None):
    """Runs npm with its own cache in the sandbox (never lade's)."""
    full = [npm_binary()] + list(args)
    if registry is not None:
        full += ["--registry", _url(registry)]
    full += ["--cache", cache or sandbox.npm_cache]
    e = sandbox.base_env()
    e.update(env or {})
    return _run(full, cwd, e, timeout)


def _url(registry):
    return registry.url if isinstance(registry, FixtureRegistry) else str(registry)


def lockfile_only_args():
    return [LadeConventions.package_lock_only, LadeConventions.ignore_scripts]


# ----------------------------------------------------------------------------------------------
# Git fixtures


GIT_SOURCES = os.path.join(FIXTURES_DIR, "git")


def make_git_repo(name, dest_dir):
    """Creates a bare repository DEST_DIR/<name>.git holding one commit of
    fixtures/git/<name>/ (fixed author and dates, so the commit id is the same every time).
    Returns the bare repository's absolute path."""
    src = os.path.join(GIT_SOURCES, name)
    work = os.path.join(dest_dir, name + "-work")
    bare = os.path.join(dest_dir, name + ".git")
    if os.path.exists(bare):
        return bare
    shutil.copytree(src, work)
    env = dict(os.environ)
    env.update({
        "GIT_AUTHOR_NAME": "Fixture", "GIT_AUTHOR_EMAIL": "fixture@example.invalid",
        "GIT_COMMITTER_NAME": "Fixture", "GIT_COMMITTER_EMAIL": "fixture@example.invalid",
        "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
        "GIT_CONFIG_NOSYSTEM": "1", "HOME": dest_dir,
    })

    def git(*a, cwd=work):
        subprocess.run(["git"] + list(a), cwd=cwd, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "fixture " + name)
    git("clone", "-q", "--bare", work, bare, cwd=dest_dir)
    shutil.rmtree(work)
    return bare


# ----------------------------------------------------------------------------------------------
# A tiny test runner: one file = one ctest test.


class Context:
    """What a test function receives."""

    def __init__(self, suite, sandbox):
        self.suite = suite
        self.sandbox = sandbox

    @property
    def registry(self):
        return self.suite.shared_registry()

    def project(self, files=None, folder=None, name="project"):
        return self.sandbox.project(files, folder, name)

    def lade(self, args, cwd, registry="default", **kw):
        if registry == "default":
            registry = self.registry
        if isinstance(cwd, Project):
            cwd = cwd.root
        return run_lade(self.sandbox, args, cwd, registry=registry, **kw)

    def npm(self, args, cwd, registry="default", **kw):
        if registry == "default":
            registry = self.registry
        if isinstance(cwd, Project):
            cwd = cwd.root
        return run_npm(self.sandbox, args, cwd, registry=registry, **kw)


class Suite:
    """Collects tests (`@suite.test`), runs them in order, prints PASS/FAIL lines and a final
    `N passed, N failed`, and exits non-zero when any failed. Command-line arguments select
    tests by substring. A test marked lade_only is skipped in npm-oracle mode."""

    def __init__(self, name):
        self.name = name
        self.tests = []
        self._registry = None

    def test(self, fn=None, lade_only=False):
        def register(f):
            self.tests.append((f.__name__, f, lade_only))
            return f
        return register(fn) if fn else register

    def shared_registry(self):
        if self._registry is None:
            self._registry = FixtureRegistry().start()
        return self._registry

    def run(self, argv=None):
        argv = sys.argv[1:] if argv is None else argv
        selected = [t for t in self.tests if not argv or any(a in t[0] for a in argv)]
        oracle = LadeConventions.is_npm_oracle()
        if not LadeConventions.binary():
            print("note: %s is not set and no built lade was found; tests that run lade will "
                  "fail" % LadeConventions.bin_env)
        elif oracle:
            print("note: oracle mode, running the expectations against npm (%s)" %
                  LadeConventions.binary())
        passed = failed = skipped = 0
        try:
            for name, fn, lade_only in selected:
                if lade_only and oracle:
                    print("SKIP %s (lade only)" % name)
                    skipped += 1
                    continue
                sandbox = Sandbox(prefix="lade-e2e-%s-" % name)
                start = time.time()
                try:
                    if self._registry is not None:
                        self._registry.reset()
                    fn(Context(self, sandbox))
                    print("PASS %s (%.1fs)" % (name, time.time() - start), flush=True)
                    passed += 1
                except CheckFailed as e:
                    print("FAIL %s (%.1fs)\n%s" % (name, time.time() - start, _indent(str(e))),
                          flush=True)
                    failed += 1
                except Exception:
                    print("FAIL %s (%.1fs) with an exception\n%s" % (
                        name, time.time() - start, _indent(traceback.format_exc())), flush=True)
                    failed += 1
                finally:
                    sandbox.cleanup()
        finally:
            if self._registry is not None:
                self._registry.stop()
        extra = ", %d skipped" % skipped if skipped else ""
        print("%s: %d passed, %d failed%s" % (self.name, passed, failed, extra))
        return 1 if failed else 0

    def main(self):
        sys.exit(self.run())


def _indent(s, prefix="    "):
    return "".join(prefix + line for line in s.splitlines(True))


@contextlib.contextmanager
def registries(n, **kw):
    """n fixture registries at once (for precedence and token-scoping tests)."""
    regs = []
    try:
        for _ in range(n):
            regs.append(FixtureRegistry(**kw).start())
        yield regs
    finally:
        for r in regs:
            r.stop()


def semver_like(s):
    return re.match(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", s.strip()) is not None
