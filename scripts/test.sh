#!/usr/bin/env bash
# Builds lade and runs the whole test suite (unit, end-to-end, compatibility) with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DLADE_WERROR=ON
cd build
ctest --output-on-failure -j 2 "$@"
