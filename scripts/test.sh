#!/usr/bin/env bash
# Builds lade and runs the whole test suite (unit, end-to-end, compatibility) with ctest, then the
# unit tests once more under AddressSanitizer + UndefinedBehaviorSanitizer (a package manager
# parses untrusted bytes all day). LADE_SKIP_SANITIZERS=1 skips the second pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DLADE_WERROR=ON
(cd build && ctest --output-on-failure -j 2 "$@")
if [ "${LADE_SKIP_SANITIZERS:-0}" != 1 ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLADE_SANITIZE=ON -DLADE_WERROR=ON >/dev/null
  cmake --build build-asan -j "$(nproc)" --target lade_unit_tests
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    build-asan/tests/lade_unit_tests
fi
