#!/usr/bin/env bash
# The test command: installs what is missing, builds (incrementally), runs the whole suite.
# Works on a fresh Debian 12 machine by itself; a second run reinstalls and rebuilds nothing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
bash "$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j "${KDPRUNE_JOBS:-$(nproc)}"
# The fuzzers, briefly: each harness from its seed corpus with a fixed libFuzzer seed, so that a
# run is repeatable (long campaigns: scripts/fuzz.sh SECONDS). KDPRUNE_FUZZ_SECONDS=0 skips.
fuzz_seconds="${KDPRUNE_FUZZ_SECONDS:-20}"
if [ "$fuzz_seconds" != 0 ]; then
  KDPRUNE_FUZZ_ARGS="-seed=1 ${KDPRUNE_FUZZ_ARGS:-}" KDPRUNE_FUZZ_BUILD_DIR="${KDPRUNE_FUZZ_BUILD_DIR:-$root/build-fuzz}" \
    bash "$root/scripts/fuzz.sh" "$fuzz_seconds"
fi
