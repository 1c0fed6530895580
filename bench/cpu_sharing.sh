#!/usr/bin/env bash
# Trainings sharing the cores (a sweep with JOBS=2, or a shared machine): each run's images/s next
# to its solo speed, for three settings, in one invocation:
#   fixed threads     the default (run.adapt_threads=false): THREADS OpenMP threads whatever else runs
#   adaptive          run.adapt_threads=true: the thread count follows the free cores (src/system/cpu_share.cpp)
#   fixed + passive   run.adapt_threads=false with OMP_WAIT_POLICY=PASSIVE (threads sleep at once)
# and one run beside a busy single-threaded process. Each run: train-teacher on synthetic 1x28x28
# images (Fashion-MNIST's shape), THREADS threads each. The last column says whether the runs
# that shared the CPU ended with the solo run's weights (model.pt byte for byte).
#   IMAGES=2048 EPOCHS=2 ARCH=resnet20 THREADS=2 bench/cpu_sharing.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="${KDPRUNE_BIN:-$root/build/kdprune}"
IMAGES=${IMAGES:-2048}; EPOCHS=${EPOCHS:-2}; ARCH=${ARCH:-resnet20}; THREADS=${THREADS:-2}; BATCH=${BATCH:-128}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

run_one() {  # NAME ENV ARGS: starts a run in the background
  local name=$1 envs=$2 args=$3
  # shellcheck disable=SC2086
  env $envs "$bin" train-teacher run.root="$work" run.name="$name" run.threads="$THREADS" $args \
    data.name=synthetic data.synthetic.train_size="$IMAGES" data.synthetic.test_size=256 \
    data.synthetic.channels=1 data.synthetic.height=28 data.synthetic.width=28 data.synthetic.classes=10 \
    model.arch="$ARCH" train.epochs="$EPOCHS" train.batch_size="$BATCH" train.schedule=constant \
    train.eval_every=1000 train.checkpoint_every=0 train.amp=off train.channels_last=false >"$work/$name.out" 2>&1 &
}
ips() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['images_per_second'])" "$work/$1/summary.json"; }

printf "%s threads per run, %s on %s images x %s epochs, batch %s, %s cores\n" "$THREADS" "$ARCH" "$IMAGES" "$EPOCHS" "$BATCH" "$(nproc)"
printf "%-16s %11s %24s %16s %22s %13s %16s\n" setting "solo img/s" "two runs: img/s each" "kept of solo" "beside a busy process" "kept of solo" "solo's weights"
for setting in "fixed threads||" "adaptive||run.adapt_threads=true" "fixed + passive|OMP_WAIT_POLICY=PASSIVE|"; do
  IFS='|' read -r label envs args <<<"$setting"
  tag=${label// /_}; tag=${tag//+/p}
  run_one "$tag-solo" "$envs" "$args"; wait
  run_one "$tag-a" "$envs" "$args"; run_one "$tag-b" "$envs" "$args"; wait
  ( while :; do :; done ) & hog=$!
  run_one "$tag-hog" "$envs" "$args"; wait $!
  kill "$hog"; wait "$hog" 2>/dev/null || true
  solo=$(ips "$tag-solo"); a=$(ips "$tag-a"); b=$(ips "$tag-b"); h=$(ips "$tag-hog")
  same=0
  for r in a b hog; do cmp -s "$work/$tag-solo/model.pt" "$work/$tag-$r/model.pt" && same=$((same + 1)); done
  awk -v l="$label" -v s="$solo" -v a="$a" -v b="$b" -v h="$h" -v same="$same" 'BEGIN {
    printf "%-16s %11.1f %11.1f / %-10.1f %6.0f%% / %-6s %22.1f %12.0f%% %12s of 3\n", l, s, a, b, 100*a/s, sprintf("%.0f%%", 100*b/s), h, 100*h/s, same }'
done
