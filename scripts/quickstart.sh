#!/usr/bin/env bash
# The main job on the built-in default (Fashion-MNIST): build, train a small teacher, evaluate it.
# Outputs go to runs/quickstart-teacher (KDPRUNE_RUNS overrides runs/).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
runs="${KDPRUNE_RUNS:-$root/runs}"
bash "$root/scripts/build.sh" kdprune
kdprune="$build/kdprune"
cd "$root"
"$kdprune" info --dataset fashion-mnist
"$kdprune" train-teacher --config configs/fashion_mnist/teacher.yaml --force \
  run.root="$runs" run.name=quickstart-teacher model.arch=resnet8 train.epochs=3 "$@"
"$kdprune" eval --checkpoint "$runs/quickstart-teacher/model.pt"
echo "quickstart done: $runs/quickstart-teacher (metrics.csv, summary.json, model.pt, eval.json)"
