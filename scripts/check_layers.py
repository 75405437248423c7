#!/usr/bin/env python3
"""Checks that each stage under src/ includes only the stages it may use (ARCHITECTURE.md)."""
import pathlib
import re
import sys

ALLOWED = {
    "util": set(),
    "semver": {"util"},
    "manifest": {"util", "semver"},
    "tree": {"util", "semver", "manifest"},
    "registry": {"util", "manifest"},
    "store": {"util", "manifest"},
    "resolver": {"util", "semver", "manifest", "tree"},
    "lockfile": {"util", "semver", "manifest", "tree"},
    "installer": {"util", "semver", "manifest", "tree", "store", "lockfile"},
    "cli": {"util", "semver", "manifest", "tree", "registry", "store", "resolver", "lockfile", "installer"},
}

root = pathlib.Path(__file__).resolve().parent.parent / "src"
include = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')
problems = []
for stage, allowed in ALLOWED.items():
    for path in sorted((root / stage).glob("*")):
        if path.suffix not in (".h", ".cc"):
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            m = include.match(line)
            if m and m.group(1) != stage and m.group(1) not in allowed:
                problems.append(f"{path.relative_to(root)}:{lineno}: {stage}/ may not include {m.group(1)}/")
for p in problems:
    print(p)
print(f"layering: {len(problems)} violations in {len(ALLOWED)} stages")
sys.exit(1 if problems else 0)
