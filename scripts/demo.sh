#!/usr/bin/env bash
# The main job: build lade, install the demo project's dependencies from the npm registry with
# lade, and run the demo with node.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp demo/package.json demo/index.js "$work/"
build/src/cli/lade install --prefix "$work"
node "$work/index.js"
