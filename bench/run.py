#!/usr/bin/env python3
"""Install benchmark: lade against npm, pnpm and bun on the live npm registry.

Not a test. Every tool installs the same projects in the same five scenarios (after pnpm's
public benchmark), tools interleaved run by run, each with its own cache and lockfile format.
Wall time and peak RSS are measured per command; state for a scenario (warm caches,
lockfiles, node_modules) is prepared outside the timed region.

Output (in --out): results.md (tables of medians, min-max and lade/peer ratios), results.json
(every raw measurement), chart.png (needs matplotlib, see chart.py) and logs/ (one log per
command). The registry URL is read from `npm config get registry` at run time and is redacted
from everything written.

Python 3 standard library only. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_FIXTURES = REPO_ROOT.parent / "shared" / "bench" / "fixtures"
DEFAULT_LADE = "build/src/cli/lade"  # relative to the repository root
ALL_TOOLS = ("lade", "npm", "pnpm", "bun")
PEERS = ("npm", "pnpm", "bun")
# Projects on which npm (and so lade, which follows npm's peer rules) stops with ERESOLVE
# unless peer conflicts are tolerated; pnpm's own benchmark passes the flag too.
LEGACY_PEER_DEPS_PROJECTS = {"alotta-files"}


@dataclass(frozen=True)
class Scenario:
    number: int
    name: str
    lockfile: bool
    warm_cache: bool
    node_modules: bool


SCENARIOS = {
    1: Scenario(1, "clean", lockfile=False, warm_cache=False, node_modules=False),
    2: Scenario(2, "CI", lockfile=True, warm_cache=True, node_modules=False),
    3: Scenario(3, "lockfile only", lockfile=True, warm_cache=False, node_modules=False),
    4: Scenario(4, "up to date", lockfile=True, warm_cache=True, node_modules=True),
    5: Scenario(5, "cache only", lockfile=False, warm_cache=True, node_modules=False),
}


# ----------------------------------------------------------------------------------------------
# Small helpers


class Redactor:
    """Replaces the registry's URL and host in text that leaves the process (logs, messages)."""

    def __init__(self, registry_url: str):
        self._needles = []
        host = urllib.parse.urlsplit(registry_url).netloc
        for needle in (registry_url.rstrip("/"), host):
            if needle and needle not in self._needles:
                self._needles.append(needle)

    def text(self, s: str) -> str:
        for needle in self._needles:
            s = s.replace(needle, "<registry>")
        return s

    def file(self, path: Path) -> None:
        try:
            data = path.read_text(errors="replace")
        except OSError:
            return
        cleaned = self.text(data)
        if cleaned != data:
            path.write_text(cleaned)


def remove_tree(path: Path) -> None:
    """rm -rf that also copes with read-only directories (package stores make some)."""

    def make_writable_and_retry(func, failed_path, _exc):
        try:
            os.chmod(os.path.dirname(failed_path), stat.S_IRWXU)
            if os.path.isdir(failed_path) and not os.path.islink(failed_path):
                os.chmod(failed_path, stat.S_IRWXU)
            func(failed_path)
        except FileNotFoundError:
            pass

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        # rm is several times faster than rmtree on trees of 100k files (npm caches, pnpm stores).
        rm = shutil.which("rm")
        if rm:
            done = subprocess.run([rm, "-rf", "--", str(path)], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if done.returncode == 0:
                return
        shutil.rmtree(path, onerror=make_writable_and_retry)


def cpu_has_avx2() -> Optional[bool]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return "avx2" in line.split()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def tool_version(exe: Path, name: str, timeout: float = 60) -> Optional[str]:
    """`<exe> --version`, without a leading repetition of the tool's name."""
    text = quick_output([str(exe), "--version"], timeout=timeout)
    if text:
        text = text.splitlines()[0].strip()
        if text.lower().startswith(name + " "):
            text = text[len(name) + 1:].strip()
    return text or None


def quick_output(cmd: list[str], timeout: float = 60, env: Optional[dict] = None) -> Optional[str]:
    """stdout of a short command, or None if it fails in any way."""
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, env=env)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip()


# ----------------------------------------------------------------------------------------------
# Measuring one command


@dataclass
class Measurement:
    exit_code: Optional[int]
    wall_s: float
    max_rss_kb: Optional[int]
    user_s: Optional[float]
    sys_s: Optional[float]
    timed_out: bool


GNU_TIME = shutil.which("time", path="/usr/bin:/bin")


def build_measurer(work: Path) -> Optional[Path]:
    """Compiles bench/measure.cc (a C++ compiler is there wherever lade is built); None if not.

    It spawns the command itself and reports its own wall time, peak RSS and CPU times. Python
    and GNU time still start it, but outside the timed span: GNU time alone took about 6 ms
    here, a quarter of an up-to-date install, on every tool's every run.
    """
    compiler = shutil.which("c++") or shutil.which("g++")
    if not compiler:
        return None
    exe = work / "measure"
    try:
        done = subprocess.run([compiler, "-std=c++20", "-O2", "-o", str(exe), str(BENCH_DIR / "measure.cc")],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return exe if done.returncode == 0 and exe.exists() else None


def run_measured(cmd: list[str], cwd: Path, env: dict, log_path: Path,
                 timeout: float, measurer: Optional[Path] = None) -> Measurement:
    """Runs cmd in its own process group; output goes to log_path.

    With `measurer` (see build_measurer) the figures are the ones it reports: wall time from
    just before it spawns cmd to the moment it reaps it. Otherwise wall time is taken here, from
    just before the fork to the moment wait4 returns, and peak RSS and CPU times come from the
    wait4 rusage of the child, which on Linux covers the descendants it waited for (ru_maxrss
    is the largest single process, as GNU time reports it). On timeout or Ctrl-C the whole
    group is killed. The blocking wait4 runs in a helper thread so that the main thread stays
    interruptible and no polling delay enters the measurement.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # ru_maxrss survives exec: a child forked from this Python process starts with Python's
    # resident size (~20 MB) as its floor, which hides every tool's true peak below that. The
    # measurer, or GNU time when installed, forks the tool from a small process instead.
    report_file = log_path.with_suffix(".measure")
    rss_file = log_path.with_suffix(".rss")
    if measurer:
        report_file.unlink(missing_ok=True)
        cmd = [str(measurer), str(report_file)] + cmd
    elif GNU_TIME:
        rss_file.unlink(missing_ok=True)
        cmd = [GNU_TIME, "-f", "%M", "-o", str(rss_file), "--"] + cmd
    with open(log_path, "wb") as log:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            log.write(f"cannot start: {e}\n".encode())
            return Measurement(None, 0.0, None, None, None, False)
        reaped: dict = {}
        done = threading.Event()

        def reap():
            _, status, usage = os.wait4(proc.pid, 0)
            reaped.update(end=time.perf_counter(), status=status, usage=usage)
            done.set()

        def kill_group():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

        threading.Thread(target=reap, daemon=True).start()
        timed_out = False
        try:
            if not done.wait(timeout):
                timed_out = True
                kill_group()
                done.wait()
        except BaseException:
            kill_group()
            done.wait(10)
            raise
        proc.returncode = os.waitstatus_to_exitcode(reaped["status"])
        # Stragglers (a forked helper that outlived its parent) must not disturb the next run.
        kill_group()
    usage = reaped["usage"]
    wall_s, max_rss_kb = reaped["end"] - start, usage.ru_maxrss
    user_s, sys_s = usage.ru_utime, usage.ru_stime
    if measurer:
        try:
            wall_ns, rss_kb, user_us, sys_us = (int(f) for f in report_file.read_text().split())
            wall_s, max_rss_kb, user_s, sys_s = wall_ns / 1e9, rss_kb, user_us / 1e6, sys_us / 1e6
        except (OSError, ValueError):
            pass  # killed before it reported: keep the figures taken here
    elif GNU_TIME:
        try:
            max_rss_kb = int(rss_file.read_text().split()[-1])
        except (OSError, ValueError, IndexError):
            pass  # killed before time wrote it: keep the (floored) figure from wait4
    return Measurement(proc.returncode, wall_s, max_rss_kb, user_s, sys_s, timed_out)


# ----------------------------------------------------------------------------------------------
# Tools


@dataclass
class Tool:
    name: str
    exe: Optional[Path]
    version: str
    lockfiles: tuple[str, ...]  # names the tool may write; any one present counts
    build_command: Callable[[Path, "Project"], list[str]]  # (cache dir, project) -> argv
    build_env: Callable[[Path], dict]  # cache dir -> extra environment
    unavailable: Optional[str] = None  # why the tool cannot run at all


def install_peers(prefix: Path, wanted: list[str], redact: Redactor, timeout: float) -> None:
    """npm install --prefix <prefix> <peers>, skipping those already there."""
    missing = [p for p in wanted if not (prefix / "node_modules" / p / "package.json").exists()]
    if not missing:
        return
    npm = shutil.which("npm")
    if not npm:
        raise SystemExit("error: npm is needed to install the peer tools and is not on PATH")
    prefix.mkdir(parents=True, exist_ok=True)
    print(f"installing {' '.join(missing)} into the tools prefix ...", flush=True)
    # Lifecycle scripts stay on here: pnpm and bun put their native binaries in place in one.
    cmd = [npm, "install", "--prefix", str(prefix), "--ignore-scripts=false", "--no-audit",
           "--no-fund", "--loglevel=error", *missing]
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"error: installing peers timed out after {timeout:.0f} s")
    if done.returncode != 0:
        raise SystemExit("error: installing peers failed:\n" +
                         redact.text(done.stdout + done.stderr)[-4000:])


def package_version(prefix: Path, name: str) -> Optional[str]:
    try:
        pj = json.loads((prefix / "node_modules" / name / "package.json").read_text())
        return pj.get("version")
    except (OSError, ValueError):
        return None


def locate_bun(prefix: Path, timeout: float) -> tuple[Optional[Path], str]:
    """Finds a bun binary that runs here; returns (path, version or reason).

    The `bun` npm package lists each platform build as an optional dependency
    (`@oven/bun-linux-x64`, ...) and its postinstall links the matching one over
    node_modules/bun/bin/bun.exe. The default x64 build needs AVX2; the `-baseline` builds are
    aliases the postinstall never picks, so on a CPU without AVX2 we install that one ourselves.
    """
    nm = prefix / "node_modules"
    candidates: list[Path] = []
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64") and cpu_has_avx2() is False:
        version = package_version(prefix, "bun") or "latest"
        baseline = "@oven/bun-linux-x64-baseline"
        if not (nm / baseline / "package.json").exists():
            print(f"CPU lacks AVX2: installing {baseline}@{version} ...", flush=True)
            cmd = [shutil.which("npm") or "npm", "install", "--prefix", str(prefix), "--no-save",
                   "--no-audit", "--no-fund", "--loglevel=error", f"{baseline}@{version}"]
            try:
                subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                pass
        candidates.append(nm / baseline / "bin" / "bun")
    candidates.append(nm / "bun" / "bin" / "bun.exe")  # where the postinstall puts it
    candidates.extend(sorted((nm / "@oven").glob("bun-*/bin/bun")))
    tried = []
    for candidate in candidates:
        if not candidate.is_file():
            continue
        version = tool_version(candidate, "bun")
        if version:
            return candidate, version
        tried.append(candidate.name)
    return None, "no working bun binary (postinstall did not run, or the CPU needs a " \
                 "baseline build)" + (f"; tried {len(tried)} candidates" if tried else "")


def make_tools(names: list[str], prefix: Path, lade_path: Path, lade_args: list[str],
               registry: str, redact: Redactor, timeout: float) -> dict[str, Tool]:
    peers = [n for n in names if n in PEERS]
    if peers:
        install_peers(prefix, peers, redact, timeout)
    bin_dir = prefix / "node_modules" / ".bin"
    tools: dict[str, Tool] = {}

    def legacy(project: "Project") -> list[str]:
        return ["--legacy-peer-deps"] if project.legacy_peer_deps else []

    for name in names:
        if name == "npm":
            exe = bin_dir / "npm"
            tools[name] = Tool(
                name, exe, tool_version(exe, name) or "?", ("package-lock.json",),
                lambda cache, proj, exe=exe: [
                    str(exe), "install", "--ignore-scripts", "--no-audit", "--no-fund",
                    "--no-progress", "--no-update-notifier", "--loglevel=warn",
                    f"--cache={cache}", f"--registry={registry}", *legacy(proj)],
                lambda cache: {})
        elif name == "pnpm":
            exe = bin_dir / "pnpm"
            # pnpm's defaults (isolated node_modules, its own peer rules) as in its benchmark.
            # --no-frozen-lockfile: pnpm freezes the lockfile when it detects CI; we want the
            # behaviour of a developer machine in every environment.
            tools[name] = Tool(
                name, exe, tool_version(exe, name) or "?", ("pnpm-lock.yaml",),
                lambda cache, proj, exe=exe: [
                    str(exe), "install", "--ignore-scripts", "--no-frozen-lockfile",
                    "--reporter=append-only", f"--store-dir={cache / 'store'}",
                    f"--config.cache-dir={cache / 'metadata'}",
                    f"--config.state-dir={cache / 'state'}", f"--registry={registry}"],
                lambda cache: {})
        elif name == "bun":
            exe, version = locate_bun(prefix, timeout)
            tools[name] = Tool(
                name, exe, version if exe else "?", ("bun.lock", "bun.lockb"),
                lambda cache, proj, exe=exe: [
                    str(exe), "install", "--ignore-scripts", "--no-progress",
                    f"--registry={registry}"],
                lambda cache: {"BUN_INSTALL_CACHE_DIR": str(cache)},
                unavailable=None if exe else version)
        elif name == "lade":
            unavailable = None
            version = "?"
            if not lade_path.is_file():
                unavailable = "binary not found"
            elif not os.access(lade_path, os.X_OK):
                unavailable = "binary not executable"
            else:
                version = tool_version(lade_path, "lade", timeout=20) or "? (--version failed)"
            tools[name] = Tool(
                name, lade_path, version, ("package-lock.json",),
                lambda cache, proj: [str(lade_path), *lade_args, *legacy(proj)],
                lambda cache: {"LADE_CACHE_DIR": str(cache)},
                unavailable=unavailable)
        if name in PEERS and tools[name].unavailable is None and tools[name].version == "?":
            tools[name].unavailable = f"{name} --version failed"
    return tools


# ----------------------------------------------------------------------------------------------
# Projects and per-(project, tool) state


@dataclass
class Project:
    name: str
    source: Path
    legacy_peer_deps: bool
    direct_deps: list[str]


def load_project(name: str, source: Path, legacy_names: set[str]) -> Project:
    pj_path = source / "package.json"
    try:
        pj = json.loads(pj_path.read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: {pj_path}: {e}")
    deps = sorted(set(pj.get("dependencies", {})) | set(pj.get("devDependencies", {})))
    return Project(name, source, name in legacy_names, deps)


# Whatever a tool leaves behind is not source: a scenario decides which of these exist.
NOT_SOURCE_ANYWHERE = {"node_modules", ".git"}
NOT_SOURCE_AT_ROOT = {"package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "bun.lock",
                      "bun.lockb", "yarn.lock"}


def copy_source(source: Path, dest: Path) -> None:
    """Copies a project folder whole (workspace folders, file: dependencies, .npmrc), so that
    every tool installs the same project; symlinks are kept as links."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = NOT_SOURCE_ANYWHERE & set(names)
        if Path(folder) == source:
            skipped |= NOT_SOURCE_AT_ROOT & set(names)
        return skipped
    shutil.copytree(source, dest, symlinks=True, ignore=ignore)


@dataclass
class Lane:
    """One tool on one project: its directories and what state they are in."""
    tool: Tool
    project: Project
    root: Path
    warm_done: bool = False
    warm_error: Optional[str] = None
    warm_error_log: Optional[Path] = None
    ready_up_to_date: bool = False  # node_modules + lockfile + warm cache are consistent
    # When the warm cache's registry metadata was last fetched (time.monotonic()), and how often
    # it was fetched again before a cache-only run (see Bench.refresh_metadata).
    metadata_fetched_at: float = 0.0
    metadata_refreshes: int = 0

    @property
    def proj(self) -> Path:
        return self.root / "project"

    @property
    def warm_cache(self) -> Path:
        return self.root / "cache-warm"

    @property
    def cold_cache(self) -> Path:
        return self.root / "cache-cold"

    @property
    def saved(self) -> Path:
        return self.root / "saved-lockfile"

    def reset_project(self) -> None:
        """A fresh copy of the project's source: no node_modules, no lockfile of any tool."""
        remove_tree(self.proj)
        copy_source(self.project.source, self.proj)
        self.ready_up_to_date = False

    def save_lockfile(self) -> bool:
        remove_tree(self.saved)
        self.saved.mkdir(parents=True)
        found = False
        for name in self.tool.lockfiles:
            if (self.proj / name).is_file():
                shutil.copy2(self.proj / name, self.saved / name)
                found = True
        return found

    def restore_lockfile(self) -> None:
        for name in self.tool.lockfiles:
            if (self.saved / name).is_file():
                shutil.copy2(self.saved / name, self.proj / name)

    def check_install(self) -> Optional[str]:
        """Why the project dir does not look installed, or None. Run outside the timed region."""
        if not any((self.proj / name).is_file() for name in self.tool.lockfiles):
            return "exit 0 but no lockfile written"
        nm = self.proj / "node_modules"
        if not nm.is_dir():
            return "exit 0 but no node_modules"
        missing = [d for d in self.project.direct_deps if not (nm / d / "package.json").exists()]
        if missing:
            return f"exit 0 but node_modules lacks {len(missing)} direct deps (e.g. {missing[0]})"
        return None


class Bench:
    def __init__(self, args, tools: dict[str, Tool], projects: list[Project], registry: str,
                 redact: Redactor, work: Path, out: Path):
        self.args = args
        self.tools = tools
        self.projects = projects
        self.registry = registry
        self.redact = redact
        self.work = work
        self.out = out
        self.records: list[dict] = []
        self.metadata_refreshes: dict[str, int] = {}  # "project/tool" -> count
        self.path_prefix = str(Path(args.tools_prefix or work / "tools") / "node_modules" / ".bin")
        self.measurer = build_measurer(work)
        print("timing: " + ("bench/measure.cc" if self.measurer else
                            "GNU time" if GNU_TIME else "wait4 from Python") + " (see bench/README.md)")

    def env_for(self, tool: Tool, cache: Path) -> dict:
        env = dict(os.environ)
        env["PATH"] = self.path_prefix + os.pathsep + env.get("PATH", "")
        env["npm_config_registry"] = self.registry  # for lade, which reads npm's settings
        env["npm_config_update_notifier"] = "false"
        env["NO_UPDATE_NOTIFIER"] = "1"
        env.update(tool.build_env(cache))
        return env

    def log_path(self, lane: Lane, label: str) -> Path:
        return self.out / "logs" / lane.project.name / f"{lane.tool.name}-{label}.log"

    def run_install(self, lane: Lane, cache: Path,
                    label: str) -> tuple[Measurement, Optional[str], Path]:
        """Runs the tool's install in lane.proj; returns (measurement, error or None, log)."""
        cache.mkdir(parents=True, exist_ok=True)
        cmd = lane.tool.build_command(cache, lane.project)
        log = self.log_path(lane, label)
        m = run_measured(cmd, lane.proj, self.env_for(lane.tool, cache), log, self.args.timeout,
                         self.measurer)
        self.redact.file(log)
        if m.timed_out:
            return m, f"timeout after {self.args.timeout:.0f} s", log
        if m.exit_code is None:
            return m, "could not start", log
        if m.exit_code != 0:
            return m, f"exit {m.exit_code}", log
        return m, lane.check_install(), log

    def ensure_warm(self, lane: Lane) -> Optional[str]:
        """Once per lane: an untimed clean install that fills the warm cache and makes the
        tool's own lockfile, saved for the scenarios that start from one."""
        if lane.warm_done:
            return None
        if lane.warm_error:
            return lane.warm_error
        lane.reset_project()
        remove_tree(lane.warm_cache)
        lane.metadata_fetched_at = time.monotonic()
        _, error, log = self.run_install(lane, lane.warm_cache, "prepare")
        if error is None and not lane.save_lockfile():
            error = "no lockfile written"
        if error:
            lane.warm_error = f"preparing failed: {error}"
            lane.warm_error_log = log
            self.say(f"  {lane.project.name} {lane.tool.name}: {lane.warm_error} "
                     f"(log: {log.relative_to(self.out)})")
            return lane.warm_error
        lane.warm_done = True
        lane.ready_up_to_date = True
        return None

    def refresh_metadata(self, lane: Lane) -> Optional[tuple[str, Path]]:
        """Scenario 5 means a cache whose registry metadata is still fresh. The registry says how
        long a packument stays fresh (max-age), and every tool fetches a stale one again in full
        (the registry answers no conditional request with 304), so a cache filled longer ago than
        that measures downloading, not the cache. Rounds with npm in them take minutes, so before
        a cache-only run, a warm cache whose metadata is older than --metadata-age is filled again
        from empty by an untimed install, the same for every tool. From empty: an install into
        the old cache fetches only what is already stale, and what is still fresh then goes stale
        during the timed run (a medium-fixture cache-only run of 1.6 s against 0.5 s). Returns
        (error, log) on failure."""
        limit = self.args.metadata_age
        if limit <= 0 or time.monotonic() - lane.metadata_fetched_at <= limit:
            return None
        lane.reset_project()
        remove_tree(lane.warm_cache)
        started = time.monotonic()
        _, error, log = self.run_install(lane, lane.warm_cache,
                                         f"refresh-metadata-{lane.metadata_refreshes + 1}")
        if error:
            return f"refreshing the cache failed: {error}", log
        lane.metadata_fetched_at = started
        lane.metadata_refreshes += 1
        self.metadata_refreshes[f"{lane.project.name}/{lane.tool.name}"] = lane.metadata_refreshes
        return None

    def prepare(self, lane: Lane, scenario: Scenario) -> tuple[Optional[Path], Optional[str],
                                                                Optional[Path]]:
        """Puts the lane into the scenario's starting state.

        Returns (cache dir, None, None), or (None, error, log of the failed preparation)."""
        if scenario.lockfile or scenario.warm_cache:
            error = self.ensure_warm(lane)
            if error:
                return None, error, lane.warm_error_log
        if scenario.node_modules:
            if not lane.ready_up_to_date:
                lane.reset_project()
                lane.restore_lockfile()
                _, error, log = self.run_install(lane, lane.warm_cache, "prepare-up-to-date")
                if error:
                    return None, f"preparing failed: {error}", log
                lane.ready_up_to_date = True
            return lane.warm_cache, None, None
        if scenario.warm_cache and not scenario.lockfile:
            failed = self.refresh_metadata(lane)
            if failed:
                return None, failed[0], failed[1]
        lane.reset_project()
        if scenario.lockfile:
            lane.restore_lockfile()
        if scenario.warm_cache:
            return lane.warm_cache, None, None
        remove_tree(lane.cold_cache)
        return lane.cold_cache, None, None

    def measure(self, lane: Lane, scenario: Scenario, run: int) -> dict:
        record = {"project": lane.project.name, "tool": lane.tool.name,
                  "scenario": scenario.number, "run": run, "ok": False, "wall_s": None,
                  "max_rss_kb": None, "user_s": None, "sys_s": None, "exit_code": None,
                  "error": None, "log": None}
        if lane.tool.unavailable:
            record["error"] = lane.tool.unavailable
            return record
        cache, error, prep_log = self.prepare(lane, scenario)
        if error:
            record["error"] = error
            record["log"] = str(prep_log.relative_to(self.out)) if prep_log else None
            return record
        label = f"s{scenario.number}-run{run}"
        m, error, log = self.run_install(lane, cache, label)
        record.update(wall_s=round(m.wall_s, 4), max_rss_kb=m.max_rss_kb,
                      user_s=None if m.user_s is None else round(m.user_s, 3),
                      sys_s=None if m.sys_s is None else round(m.sys_s, 3),
                      exit_code=m.exit_code, error=error, ok=error is None,
                      log=str(log.relative_to(self.out)))
        # A successful install on the warm cache leaves exactly the "up to date" state.
        lane.ready_up_to_date = error is None and scenario.warm_cache
        if not scenario.warm_cache:
            remove_tree(lane.cold_cache)
            lane.ready_up_to_date = False
        return record

    def say(self, line: str) -> None:
        print(self.redact.text(line), flush=True)

    def run(self) -> None:
        scenarios = [SCENARIOS[n] for n in self.args.scenario_list]
        for project in self.projects:
            lanes = [Lane(self.tools[t], project, self.work / "projects" / project.name / t)
                     for t in self.args.tool_list]
            self.say(f"\n== {project.name} ({len(project.direct_deps)} direct deps"
                     f"{', --legacy-peer-deps for npm/lade' if project.legacy_peer_deps else ''})")
            # Every tool's untimed install that fills its warm cache comes first, also when no
            # scenario needs one: the registry's own cache then holds this project's documents
            # for every tool alike. Otherwise the first tool of the first round meets it cold: a
            # document nobody asked for lately starts arriving 20-150 ms later than the next time.
            for lane in lanes:
                self.ensure_warm(lane)
            for run in range(1, self.args.runs + 1):
                for scenario in scenarios:
                    for lane in lanes:  # interleaved: a b c d, a b c d, ...
                        record = self.measure(lane, scenario, run)
                        self.records.append(record)
                        self.say(progress_line(record, self.args.runs))
            for lane in lanes:
                remove_tree(lane.root)  # keep disk use bounded across projects


def progress_line(r: dict, runs: int) -> str:
    sc = SCENARIOS[r["scenario"]]
    head = f"  run {r['run']}/{runs}  {sc.number} {sc.name:<13} {r['tool']:<5}"
    if r["ok"]:
        rss = f"{r['max_rss_kb'] / 1024:7.0f} MB" if r["max_rss_kb"] else "      ? MB"
        return f"{head} {r['wall_s']:8.2f} s {rss}"
    wall = f"{r['wall_s']:8.2f} s" if r["wall_s"] is not None else " " * 10
    return f"{head} {wall}  FAILED: {r['error']}"


# ----------------------------------------------------------------------------------------------
# Summaries and the report


def summarize(records: list[dict]) -> list[dict]:
    cells: dict[tuple, list[dict]] = {}
    for r in records:
        cells.setdefault((r["project"], r["tool"], r["scenario"]), []).append(r)
    out = []
    for (project, tool, scenario), rs in cells.items():
        ok = [r for r in rs if r["ok"]]
        walls = [r["wall_s"] for r in ok]
        rss = [r["max_rss_kb"] for r in ok if r["max_rss_kb"] is not None]
        errors = [r["error"] for r in rs if not r["ok"]]
        out.append({
            "project": project, "tool": tool, "scenario": scenario,
            "runs": len(rs), "ok_runs": len(ok),
            "median_s": statistics.median(walls) if walls else None,
            "min_s": min(walls) if walls else None,
            "max_s": max(walls) if walls else None,
            "median_rss_mb": round(statistics.median(rss) / 1024, 1) if rss else None,
            "error": errors[0] if errors else None,
            "failed_log": next((r["log"] for r in rs if not r["ok"] and r["log"]), None),
        })
    return out


def fmt_seconds(s: float) -> str:
    if s < 0.1:
        return f"{s:.3f}"
    return f"{s:.2f}" if s < 10 else f"{s:.1f}"


def md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def time_cell(c: Optional[dict]) -> str:
    if c is None:
        return "–"
    if c["ok_runs"] == 0:
        return md_escape(f"✗ FAILED ({c['error']})")
    text = fmt_seconds(c["median_s"])
    if c["runs"] > 1 and c["ok_runs"] > 1:
        text += f" ({fmt_seconds(c['min_s'])}–{fmt_seconds(c['max_s'])})"
    if c["ok_runs"] < c["runs"]:
        text += f" ⚠ {c['ok_runs']}/{c['runs']} ok"
    return text


def ratio_cell(lade: Optional[dict], peer: Optional[dict], peer_name: str) -> str:
    if lade is None or peer is None:
        return "–"
    if lade["ok_runs"] == 0:
        return "✗ lade failed"
    if peer["ok_runs"] == 0:
        return f"n/a ({peer_name} failed)"
    if not peer["median_s"]:
        return "n/a"
    ratio = lade["median_s"] / peer["median_s"]
    partial = " ⚠" if lade["ok_runs"] < lade["runs"] else ""
    return f"**{ratio:.2f}×**{partial}" if ratio < 1 else f"{ratio:.2f}×{partial}"


def render_markdown(meta: dict, summary: list[dict], tools: list[str], scenarios: list[int],
                    projects: list[str]) -> str:
    index = {(c["project"], c["tool"], c["scenario"]): c for c in summary}
    lines = ["# lade install benchmark", ""]
    lines.append(f"{meta['date']} · {meta['cpu']} · {meta['logical_cpus']} logical CPUs · "
                 f"{meta['runs']} run(s) per cell, tools interleaved · load average "
                 f"{meta['load_average_1min'][0]} at start, {meta['load_average_1min'][1]} at end")
    lines.append("")
    lines.append("Versions: " + ", ".join(f"{t} {v}" for t, v in meta["versions"].items()))
    lines.append("")
    lines.append("Wall time in seconds: median of the successful runs, (min–max) when there "
                 "are several. Ratio = lade median / peer median; **bold** below 1 means lade "
                 "was faster. ✗ marks a cell with no successful run.")
    if 5 in scenarios:
        if meta.get("metadata_age_s", 0) > 0:
            refreshed = meta.get("metadata_refreshes", {})
            lines += ["", f"Cache only: a warm cache whose registry metadata was fetched more than "
                      f"{meta['metadata_age_s']:.0f} s earlier was brought up to date by an untimed "
                      f"install first ({sum(refreshed.values())} such refreshes"
                      + (": " + ", ".join(f"{k} {v}" for k, v in sorted(refreshed.items()))
                         if refreshed else "") + ")."]
        else:
            lines += ["", "Cache only: caches as they were (`--metadata-age 0`), stale metadata "
                      "included."]
    ratio_peers = [p for p in PEERS if p in tools] if "lade" in tools else []
    for project in projects:
        lines += ["", f"## {project}", ""]
        header = ["scenario", *tools, *[f"lade/{p}" for p in ratio_peers]]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for s in scenarios:
            sc = SCENARIOS[s]
            row = [f"{s} {sc.name}"]
            row += [time_cell(index.get((project, t, s))) for t in tools]
            row += [ratio_cell(index.get((project, "lade", s)), index.get((project, p, s)), p)
                    for p in ratio_peers]
            lines.append("| " + " | ".join(row) + " |")
        lines += ["", "Peak RSS (MB, median):", ""]
        lines.append("| scenario | " + " | ".join(tools) + " |")
        lines.append("|" + "---|" * (len(tools) + 1))
        for s in scenarios:
            row = [f"{s} {SCENARIOS[s].name}"]
            for t in tools:
                c = index.get((project, t, s))
                row.append("✗" if not c or c["median_rss_mb"] is None else
                           f"{c['median_rss_mb']:.0f}")
            lines.append("| " + " | ".join(row) + " |")
        failures = [c for c in summary if c["project"] == project and c["error"]]
        if failures:
            lines += ["", "Failures:", ""]
            for c in sorted(failures, key=lambda c: (c["scenario"], c["tool"])):
                where = f" — log: `{c['failed_log']}`" if c["failed_log"] else ""
                lines.append(f"- {c['tool']}, scenario {c['scenario']}: "
                             f"{c['runs'] - c['ok_runs']}/{c['runs']} failed: "
                             f"{md_escape(c['error'])}{where}")
    lines.append("")
    return "\n".join(lines)


def make_chart(results_json: Path, png: Path) -> str:
    """Draws the PNG with chart.py, in this interpreter if it has matplotlib, else in the
    system's python3 (where Debian's python3-matplotlib installs). Returns a status line."""
    sys.path.insert(0, str(BENCH_DIR))
    sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
    try:
        import chart  # noqa: E402  (bench/chart.py)
        if chart.matplotlib_available():
            chart.render(json.loads(results_json.read_text()), png)
            return f"chart: {png}"
    except Exception as e:  # the report must not be lost to a plotting problem
        return f"chart: failed ({e})"
    finally:
        sys.path.pop(0)
    system_python = Path("/usr/bin/python3")
    if system_python.exists() and str(system_python) != sys.executable:
        done = subprocess.run([str(system_python), str(BENCH_DIR / "chart.py"), str(results_json),
                               "-o", str(png)], capture_output=True, text=True)
        if done.returncode == 0:
            return f"chart: {png}"
    return ("chart: skipped — needs matplotlib (Debian: `apt-get install python3-matplotlib`, "
            f"then `/usr/bin/python3 bench/chart.py {results_json}`)")


# ----------------------------------------------------------------------------------------------
# Command line


def parse_list(text: str, allowed, what: str) -> list:
    items = [x.strip() for x in text.split(",") if x.strip()]
    bad = [x for x in items if x not in allowed]
    if bad:
        raise SystemExit(f"error: unknown {what}: {', '.join(bad)} (known: "
                         f"{', '.join(str(a) for a in allowed)})")
    return items


def parse_args(argv: list[str]):
    p = argparse.ArgumentParser(
        description="Benchmark `lade install` against npm, pnpm and bun on the live registry.",
        epilog="Scenarios: " + "; ".join(f"{s.number} {s.name}" for s in SCENARIOS.values()))
    p.add_argument("project_dirs", nargs="*", type=Path,
                   help="extra project directories (each with a package.json) to benchmark")
    p.add_argument("--tools", default=",".join(ALL_TOOLS), help="default: %(default)s")
    p.add_argument("--scenarios", default="1,2,3,4,5", help="default: %(default)s")
    p.add_argument("--projects", default=None,
                   help="fixture names, comma separated (default: every fixture; 'none' for "
                        "only the project_dirs)")
    p.add_argument("--runs", type=int, default=3, help="runs per cell (default: %(default)s)")
    p.add_argument("--lade", default=None,
                   help=f"lade binary (default: {DEFAULT_LADE} in the repository)")
    p.add_argument("--lade-args", default="install --ignore-scripts --no-audit --no-fund",
                   help="arguments for lade (default: '%(default)s')")
    p.add_argument("--out", type=Path, default=None,
                   help="output directory (default: a new lade-bench-results-* in the temp dir)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per command "
                   "(default: %(default)s)")
    p.add_argument("--metadata-age", type=float, default=150,
                   help="before a cache-only run, refresh (untimed) a warm cache whose registry "
                   "metadata was fetched more than this many seconds ago; 0: never, to measure "
                   "stale metadata (default: %(default)s; the registry's max-age is 300)")
    p.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES,
                   help="fixtures directory (default: ../shared/bench/fixtures beside the repo)")
    p.add_argument("--legacy-peer-deps", default="",
                   help="more project names for which npm and lade get --legacy-peer-deps "
                        f"(always: {', '.join(sorted(LEGACY_PEER_DEPS_PROJECTS))})")
    p.add_argument("--tools-prefix", type=Path, default=None,
                   help="npm prefix for npm/pnpm/bun; reused when they are already installed "
                        "there (default: inside the work dir, installed afresh)")
    p.add_argument("--work", type=Path, default=None, help="work directory (default: temp)")
    p.add_argument("--keep-work", action="store_true", help="do not delete the work directory")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    args = p.parse_args(argv)
    args.tool_list = parse_list(args.tools, ALL_TOOLS, "tool")
    args.scenario_list = [int(s) for s in parse_list(args.scenarios, [str(n) for n in SCENARIOS],
                                                      "scenario")]
    if args.runs < 1:
        raise SystemExit("error: --runs must be at least 1")
    return args


def pick_projects(args) -> list[Project]:
    legacy = LEGACY_PEER_DEPS_PROJECTS | {x.strip() for x in args.legacy_peer_deps.split(",")
                                          if x.strip()}
    fixtures = sorted(d.name for d in args.fixtures.iterdir()
                      if (d / "package.json").is_file()) if args.fixtures.is_dir() else []
    if args.projects is None:
        names = fixtures
    elif args.projects == "none":
        names = []
    else:
        names = parse_list(args.projects, fixtures, "project")
    projects = [load_project(n, args.fixtures / n, legacy) for n in names]
    taken = set(names)
    for d in args.project_dirs:
        d = d.resolve()
        if not (d / "package.json").is_file():
            raise SystemExit(f"error: {d} has no package.json")
        name = d.name
        while name in taken:
            name += "+"
        taken.add(name)
        projects.append(load_project(name, d, legacy))
    if not projects:
        raise SystemExit(f"error: no projects (fixtures dir: {args.fixtures})")
    return projects


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    projects = pick_projects(args)
    registry = quick_output(["npm", "config", "get", "registry"])
    if not registry or "://" not in registry:
        raise SystemExit("error: `npm config get registry` gave no registry URL")
    redact = Redactor(registry)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = (args.out or Path(tempfile.gettempdir()) / f"lade-bench-results-{stamp}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = (args.work.resolve() if args.work else
            Path(tempfile.mkdtemp(prefix="lade-bench-work-")))
    work.mkdir(parents=True, exist_ok=True)
    lade_path = Path(args.lade).expanduser().resolve() if args.lade else REPO_ROOT / DEFAULT_LADE
    prefix = (args.tools_prefix.resolve() if args.tools_prefix else work / "tools")
    args.tools_prefix = prefix

    started = time.time()
    load_start = os.getloadavg()[0]
    bench = None
    try:
        tools = make_tools(args.tool_list, prefix, lade_path, args.lade_args.split(), registry,
                           redact, args.timeout)
        for t in tools.values():
            state = f"  ({t.unavailable}: {t.exe})" if t.unavailable else ""
            print(f"{t.name:<5} {t.version}{state}")
        bench = Bench(args, tools, projects, registry, redact, work, out)
        bench.run()
    except KeyboardInterrupt:
        print("\ninterrupted: writing what was measured", file=sys.stderr)
    finally:
        if not args.keep_work:
            remove_tree(work)
        elif bench:
            print(f"work dir kept: {work}")

    if bench is None:
        return 1
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(), "logical_cpus": os.cpu_count(), "avx2": cpu_has_avx2(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(), "runs": args.runs,
        "timeout_s": args.timeout, "elapsed_s": round(time.time() - started, 1),
        "metadata_age_s": args.metadata_age, "metadata_refreshes": bench.metadata_refreshes,
        "load_average_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "versions": {name: (f"n/a ({bench.tools[name].unavailable})"
                            if bench.tools[name].unavailable else bench.tools[name].version)
                     for name in args.tool_list},
        "lade": args.lade or DEFAULT_LADE, "lade_args": args.lade_args,
        "tools": args.tool_list, "scenarios": args.scenario_list,
        "scenario_names": {s.number: s.name for s in SCENARIOS.values()},
        "projects": [p.name for p in projects],
    }
    summary = summarize(bench.records)
    results = {"meta": meta, "summary": summary, "runs": bench.records}
    results_json = out / "results.json"
    results_json.write_text(redact.text(json.dumps(results, indent=1)) + "\n")
    report = render_markdown(meta, summary, args.tool_list, args.scenario_list,
                             [p.name for p in projects])
    (out / "results.md").write_text(redact.text(report))
    print("\n" + redact.text(report))
    if not args.no_chart:
        print(make_chart(results_json, out / "chart.png"))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
