#!/usr/bin/env bash
# Data-parallel gradient reduction on this machine: images/s of 2 ranks (scripts/launch_local.sh,
# Gloo over loopback, THREADS threads each) with the gradients reduced after backward, or in
# buckets started during backward (train.grad_overlap, train.grad_bucket_mb), next to one process
# with the whole batch on 2 x THREADS threads. Each run: train-teacher on synthetic 3xSIZExSIZE
# images, the images/s of its last epoch (the first warms up). One invocation, runs one after
# another; small images make the step's compute small next to ResNet-18's 45 MB of gradients:
#   IMAGES=2048 EPOCHS=2 ARCH=resnet18 SIZE=32 BATCH=32 THREADS=1 REPEATS=1 bench/grad_overlap.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="${KDPRUNE_BIN:-$root/build/kdprune}"
IMAGES=${IMAGES:-2048}; EPOCHS=${EPOCHS:-2}; ARCH=${ARCH:-resnet18}; BATCH=${BATCH:-32}; THREADS=${THREADS:-1}; SIZE=${SIZE:-32}
REPEATS=${REPEATS:-1}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

common=(data.name=synthetic data.synthetic.train_size="$IMAGES" data.synthetic.test_size=64
        data.synthetic.channels=3 data.synthetic.height="$SIZE" data.synthetic.width="$SIZE" data.synthetic.classes=10
        model.arch="$ARCH" train.epochs="$EPOCHS" train.schedule=constant train.eval_every=1000 train.checkpoint_every=0
        train.amp=off train.channels_last=false)
last_ips() { tail -1 "$work/$1/metrics.csv" | awk -F, '{ print $8 }'; }  # images_per_s of the last epoch

run() {  # NAME RANKS THREADS BATCH ARGS...
  local name=$1 ranks=$2 threads=$3 batch=$4; shift 4
  if [ "$ranks" = 1 ]; then
    "$bin" train-teacher run.root="$work" run.name="$name" run.threads="$threads" train.batch_size="$batch" "${common[@]}" "$@" >"$work/$name.out" 2>&1
  else
    KDPRUNE="$bin" MASTER_PORT=$((29600 + RANDOM % 300)) bash "$root/scripts/launch_local.sh" "$ranks" train-teacher run.root="$work" \
      run.name="$name" run.threads="$threads" train.batch_size="$batch" "${common[@]}" "$@" >"$work/$name.out" 2>&1
  fi || { echo "run $name failed:" >&2; tail -5 "$work/$name.out" >&2; exit 1; }
  grep -m1 -o 'gradients in [0-9]* bucket(s)' "$work/$name.out" | grep -o '[0-9]*' || echo "-"
}

printf "%s on %sx%s, %s images x %s epochs, global batch %s, %s thread(s) per rank, %s cores; last epoch's img/s\n" \
  "$ARCH" "$SIZE" "$SIZE" "$IMAGES" "$EPOCHS" $((2 * BATCH)) "$THREADS" "$(nproc)"
printf "%-40s %8s %10s %8s\n" setting buckets "img/s" "ratio"
base=""
for rep in $(seq "$REPEATS"); do
  for setting in "1 process, batch $((2 * BATCH)), $((2 * THREADS)) threads|1|" \
                 "2 ranks, reduced after backward|2|train.grad_overlap=false" \
                 "2 ranks, during backward, 25 MiB buckets|2|train.grad_overlap=true train.grad_bucket_mb=25" \
                 "2 ranks, during backward, 5 MiB buckets|2|train.grad_overlap=true train.grad_bucket_mb=5"; do
    IFS='|' read -r label ranks args <<<"$setting"
    name="r$rep-$(echo "$label" | tr -c 'a-z0-9' '_')"
    # shellcheck disable=SC2086
    if [ "$ranks" = 1 ]; then b=$(run "$name" 1 $((2 * THREADS)) $((2 * BATCH)) $args); else b=$(run "$name" 2 "$THREADS" "$BATCH" $args); fi
    ips=$(last_ips "$name")
    [ "$ranks" = 2 ] && [ -z "$base" ] && base=$ips
    [ "$ranks" = 2 ] && ratio=$(awk -v a="$ips" -v b="$base" 'BEGIN { printf "%.3f", a / b }') || ratio="-"
    printf "%-40s %8s %10.1f %8s\n" "$label" "$b" "$ips" "$ratio"
  done
  base=""
done
echo "ratio: against '2 ranks, reduced after backward' of the same repeat"
