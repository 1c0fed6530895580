#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), configures once and builds incrementally.
#   KDPRUNE_BUILD_DIR  build directory (default: build/ in the clone)
#   KDPRUNE_JOBS       parallel compile jobs (default: number of cores)
#   Extra CMake arguments for the first configure: KDPRUNE_CMAKE_ARGS="-DTorch_DIR=..."
#   KDPRUNE_CCACHE=0   compile without ccache (default: through it where installed; its cache,
#                      ~/.cache/ccache, is shared by every clone, so a fresh clone recompiles little)
#   Targets to build: arguments (default: all)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
bash "$root/scripts/setup.sh"
if [ ! -f "$build/CMakeCache.txt" ]; then
  gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  # shellcheck disable=SC1091
  source "$root/scripts/lib/ccache.sh"
  # shellcheck disable=SC2086
  cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release "${ccache_args[@]}" ${KDPRUNE_CMAKE_ARGS:-}
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$build" -j "${KDPRUNE_JOBS:-$(nproc)}" "${targets[@]}"
