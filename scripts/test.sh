#!/usr/bin/env bash
# The test command: installs what is missing, builds (incrementally, through ccache where
# installed), runs the whole suite, then each fuzzer briefly. Works on a fresh Debian 12 machine
# by itself; a second run reinstalls and rebuilds nothing. Prints how long each phase took.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
start=$SECONDS
phase() { printf 'test.sh: %s took %d s\n' "$1" "$((SECONDS - $2))"; }
t=$SECONDS; bash "$root/scripts/build.sh"; phase "install + build" "$t"
# Slow tests (several processes, training runs: ctest -L slow lists them) run too; -j covers them.
t=$SECONDS; ctest --test-dir "$build" --output-on-failure -j "${KDPRUNE_JOBS:-$(nproc)}"; phase "ctest" "$t"
# The fuzzers, briefly: each harness from its seed corpus with a fixed libFuzzer seed, so that a
# run is repeatable; the regressions they found are replayed by the unit tests (tests/base,
# tests/core read fuzz/regressions/). Long campaigns: scripts/fuzz.sh SECONDS. KDPRUNE_FUZZ_SECONDS=0 skips.
fuzz_seconds="${KDPRUNE_FUZZ_SECONDS:-5}"
if [ "$fuzz_seconds" != 0 ]; then
  t=$SECONDS
  KDPRUNE_FUZZ_ARGS="-seed=1 ${KDPRUNE_FUZZ_ARGS:-}" KDPRUNE_FUZZ_BUILD_DIR="${KDPRUNE_FUZZ_BUILD_DIR:-$root/build-fuzz}" \
    bash "$root/scripts/fuzz.sh" "$fuzz_seconds"
  phase "fuzz build + ${fuzz_seconds} s per harness" "$t"
fi
phase "the test command" "$start"
