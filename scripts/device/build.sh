#!/usr/bin/env bash
# Builds kdprune on a GPU machine without network access (one command):
#   [TARGETS="kdprune kdprune_core_tests"] bash scripts/device/build.sh [build-dir]   (default build-gpu)
# 1. unpacks the Debian packages carried in .devdeps/ (scripts/device/pack-deps.sh made them) under
#    /tmp/deps, re-pointing links the image cannot resolve (Debian's libz.so names a file the GPU
#    image lacks) to the machine's own libraries;
# 2. configures against that machine's own torch package (TORCH_PKG_DIR: the python3 that holds
#    torch), the carried fmt 9 for the spdlog shim, SVHN's matio off (it needs HDF5);
#    KDPRUNE_CMAKE_ARGS: more CMake arguments (e.g. -DKDPRUNE_WITH_NCCL=OFF);
# 3. builds everything and writes <build-dir>/device-env.sh: `source` it before running kdprune or
#    its tests there (library path, Fashion-MNIST).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="${1:-$root/build-gpu}"
cd "$root"
ls .devdeps/*.deb >/dev/null 2>&1 || { echo "scripts/device/build.sh: no .devdeps/*.deb; run scripts/device/pack-deps.sh here first and carry .devdeps" >&2; exit 1; }
mkdir -p /tmp/deps
for f in .devdeps/*.deb; do dpkg -x "$f" /tmp/deps; done
for l in /tmp/deps/usr/lib/x86_64-linux-gnu/*.so; do
  [ -e "$l" ] || ln -sf "/lib/x86_64-linux-gnu/$(basename "$l").1" "$l"
done
py="${PYTHON:-python3}"
torch_pkg=$("$py" -c 'import os, torch; print(os.path.dirname(torch.__file__))')
mkdir -p "$build"
cat >"$build/device-env.sh" <<ENV
export LD_LIBRARY_PATH=/tmp/deps/usr/lib/x86_64-linux-gnu:\${LD_LIBRARY_PATH:-}
export PATH=/tmp/deps/usr/bin:\$PATH
export KDPRUNE_FASHION_MNIST=/tmp/deps/usr/share/datasets/fashion-mnist
ENV
# shellcheck disable=SC1091
source "$build/device-env.sh"
export FMT_INCLUDE_DIR=/tmp/deps/usr/include
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$root" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DKDPRUNE_WITH_MATIO=OFF \
  -DTORCH_PKG_DIR="$torch_pkg" -DCMAKE_PREFIX_PATH=/tmp/deps/usr -DKDPRUNE_VENV="$(dirname "$(dirname "$(command -v "$py")")")" ${KDPRUNE_CMAKE_ARGS:-}
targets=(); for t in ${TARGETS:-}; do targets+=(--target "$t"); done   # TARGETS="a b": only those
cmake --build "$build" -j "$(nproc)" "${targets[@]}"
"$build/kdprune" info
