#!/usr/bin/env bash
# Run here, in the project's root, before sending the tree to a GPU machine without network
# access: downloads the Debian packages that machine lacks into .devdeps/ (ignored by git), which
# then travels with the tree (the device tool's `carry`). scripts/device/build.sh unpacks them there.
#   scripts/device/pack-deps.sh [extra-package ...]      (WITH_FASHION_MNIST= to leave the dataset out)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
dir=.devdeps
mkdir -p "$dir"
pkgs=(libyaml-cpp-dev libyaml-cpp0.7 libspdlog-dev libspdlog1.10 libfmt-dev libfmt9
      nlohmann-json3-dev libcli11-dev libgtest-dev googletest zlib1g-dev
      libjpeg62-turbo-dev libjpeg62-turbo libpng-dev libpng16-16
      libprotobuf-dev libprotobuf32 libprotobuf-lite32 libprotoc32 protobuf-compiler
      libgloo-dev "$@")  # libgloo-dev: headers for c10d Gloo (torch has the library)
[ -n "${WITH_FASHION_MNIST-1}" ] && pkgs+=(dataset-fashion-mnist)
(cd "$dir" && apt-get download "${pkgs[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
du -sh "$dir"
