#!/usr/bin/env bash
# Side by side, in one invocation on one machine: the Python reference loop (bench/reference_train.py,
# torch from the project's virtualenv) and kdprune's trainer (bench/train_throughput), same model,
# batch, image count and thread count. Prints images/s and the ratios.
#   MODELS="resnet20 resnet32 resnet56" BATCHES="64 128" IMAGES=1024 REPEATS=3 bench/train_vs_python.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
py="${KDPRUNE_VENV:-$HOME/.cache/kdprune/venv}/bin/python"
MODELS=${MODELS:-"resnet20 resnet32 resnet56"}; BATCHES=${BATCHES:-"64 128"}
IMAGES=${IMAGES:-1024}; REPEATS=${REPEATS:-3}; THREADS=${THREADS:-$(nproc)}
cmake --build "$build" --target train_throughput >/dev/null
printf "device cpu, %s threads, %s images/epoch, median of %s (warm-up excluded)\n" "$THREADS" "$IMAGES" "$REPEATS"
printf "%-10s %6s %14s %16s %18s %10s %10s\n" model batch "python img/s" "kdprune fp32" "kdprune bf16+CL" "fp32/py" "bf16/py"
for m in $MODELS; do for b in $BATCHES; do
  ref=$("$py" -W ignore "$root/bench/reference_train.py" --arch "$m" --batch "$b" --images "$IMAGES" --repeats "$REPEATS" --threads "$THREADS")
  row=$("$build/bench/train_throughput" --models "$m" --batches "$b" --images "$IMAGES" --repeats "$REPEATS" --threads "$THREADS" --device cpu | tail -1)
  fp32=$(echo "$row" | awk '{print $3}'); bf16=$(echo "$row" | awk '{print $4}')
  awk -v m="$m" -v b="$b" -v r="$ref" -v f="$fp32" -v h="$bf16" \
    'BEGIN { printf "%-10s %6s %14.1f %16.1f %18.1f %9.2fx %9.2fx\n", m, b, r, f, h, f/r, h/r }'
done; done
