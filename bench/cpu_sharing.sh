#!/usr/bin/env bash
# Two trainings sharing the cores (a sweep with JOBS=2, or a shared machine): each run's images/s
# next to its solo speed, for three OpenMP wait settings, in one invocation:
#   libgomp default  GOMP_SPINCOUNT=300000 (what kdprune ran with before it set its own)
#   kdprune          no variable set: kdprune re-executes itself with GOMP_SPINCOUNT=10000
#   passive          OMP_WAIT_POLICY=PASSIVE (threads sleep at once)
# and one run beside a busy single-threaded process. Each run: train-teacher on synthetic
# 1x28x28 images (Fashion-MNIST's shape), THREADS threads each.
#   IMAGES=2048 EPOCHS=2 ARCH=resnet20 THREADS=2 bench/cpu_sharing.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="${KDPRUNE_BIN:-$root/build/kdprune}"
IMAGES=${IMAGES:-2048}; EPOCHS=${EPOCHS:-2}; ARCH=${ARCH:-resnet20}; THREADS=${THREADS:-2}; BATCH=${BATCH:-128}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

run_one() {  # name env... -> starts a run in the background, prints nothing
  local name=$1; shift
  env "$@" "$bin" train-teacher run.root="$work" run.name="$name" run.threads="$THREADS" \
    data.name=synthetic data.synthetic.train_size="$IMAGES" data.synthetic.test_size=256 \
    data.synthetic.channels=1 data.synthetic.height=28 data.synthetic.width=28 data.synthetic.classes=10 \
    model.arch="$ARCH" train.epochs="$EPOCHS" train.batch_size="$BATCH" train.schedule=constant \
    train.eval_every=1000 train.checkpoint_every=0 >"$work/$name.out" 2>&1 &
}
ips() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['images_per_second'])" "$work/$1/summary.json"; }

printf "%s threads per run, %s on %s images x %s epochs, batch %s, %s cores\n" "$THREADS" "$ARCH" "$IMAGES" "$EPOCHS" "$BATCH" "$(nproc)"
printf "%-18s %12s %24s %14s %22s %12s\n" setting "solo img/s" "two runs: img/s each" "kept of solo" "beside busy proc img/s" "kept of solo"
for setting in "libgomp default:GOMP_SPINCOUNT=300000" "kdprune:" "passive:OMP_WAIT_POLICY=PASSIVE"; do
  label=${setting%%:*}; vars=${setting#*:}; tag=${label// /_}
  envs=(); [ -n "$vars" ] && envs=("$vars")
  run_one "$tag-solo" "${envs[@]}"; wait
  run_one "$tag-a" "${envs[@]}"; run_one "$tag-b" "${envs[@]}"; wait
  ( while :; do :; done ) & hog=$!
  run_one "$tag-hog" "${envs[@]}"; wait $!
  kill "$hog"; wait "$hog" 2>/dev/null || true
  solo=$(ips "$tag-solo"); a=$(ips "$tag-a"); b=$(ips "$tag-b"); h=$(ips "$tag-hog")
  awk -v l="$label" -v s="$solo" -v a="$a" -v b="$b" -v h="$h" 'BEGIN {
    printf "%-18s %12.1f %11.1f / %-10.1f %6.0f%% / %-5.0f%% %22.1f %11.0f%%\n", l, s, a, b, 100*a/s, 100*b/s, h, 100*h/s }'
done
