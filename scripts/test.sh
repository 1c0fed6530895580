#!/usr/bin/env bash
# The test command: installs what is missing, builds (incrementally), runs the whole suite.
# Works on a fresh Debian 12 machine by itself; a second run reinstalls and rebuilds nothing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
bash "$root/scripts/build.sh"
ctest --test-dir "$build" --output-on-failure -j "${KDPRUNE_JOBS:-$(nproc)}"
