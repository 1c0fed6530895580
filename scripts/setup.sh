#!/usr/bin/env bash
# Installs what kdprune needs, idempotently: Debian packages and a Python virtualenv
# holding the pinned torch wheel (the source of LibTorch). Prints nothing to do when all is there.
#   KDPRUNE_VENV     virtualenv location (default ~/.cache/kdprune/venv, outside the clone so
#                    fresh clones and CI reuse it)
#   KDPRUNE_TORCH    pinned torch version (default 2.15.0)
#   KDPRUNE_SKIP_TORCH=1  use a LibTorch given through Torch_DIR/CMAKE_PREFIX_PATH instead
set -euo pipefail

TORCH_VERSION="${KDPRUNE_TORCH:-2.15.0}"
NUMPY_VERSION="2.3.5"
TENSORBOARD_VERSION="2.21.0"
PILLOW_VERSION="13.0.0"
VENV="${KDPRUNE_VENV:-$HOME/.cache/kdprune/venv}"
APT_PKGS=(cmake ninja-build g++ pkg-config python3-venv ccache
  libyaml-cpp-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgloo-dev
  libmatio-dev zlib1g-dev dataset-fashion-mnist
  libjpeg62-turbo-dev libpng-dev      # the imagefolder dataset's JPEG and PNG decoding
  libprotobuf-dev protobuf-compiler   # TensorBoard event files
  python3-matplotlib python3-pandas   # scripts/plot_figures.py
  clang libclang-rt-14-dev)           # scripts/fuzz.sh: libFuzzer and the sanitizers

log() { echo "[setup] $*" >&2; }

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${KDPRUNE_SKIP_TORCH:-0}" != 1 ]; then
  have=""
  [ -x "$VENV/bin/python" ] && have=$("$VENV/bin/python" -c 'import torch,sys; sys.stdout.write(torch.__version__.split("+")[0])' 2>/dev/null || true)
  if [ "$have" != "$TORCH_VERSION" ]; then
    log "installing torch==$TORCH_VERSION into $VENV (a few GB, once)"
    PY=$(command -v python3)
    [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "torch==$TORCH_VERSION"
  fi
  # numpy: the interop tests write PyTorch checkpoints that carry numpy scalars, as RepDistiller's do.
  # tensorboard: the tests read kdprune's event files back with TensorBoard's own reader.
  # pillow: the imagefolder tests write JPEG/PNG files and decode and resize them as torchvision does.
  if ! "$VENV/bin/python" -c 'import numpy, tensorboard, PIL' 2>/dev/null; then
    log "installing numpy==$NUMPY_VERSION tensorboard==$TENSORBOARD_VERSION pillow==$PILLOW_VERSION into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "numpy==$NUMPY_VERSION" \
      "tensorboard==$TENSORBOARD_VERSION" "pillow==$PILLOW_VERSION"
  fi
fi
log "dependencies ready (venv: $VENV)"
