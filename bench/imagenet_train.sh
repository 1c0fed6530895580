#!/usr/bin/env bash
# ImageNet-style training throughput on one device, side by side in one invocation: kdprune
# train-teacher on a streamed image folder (data.imagefolder.stream: decode + RandomResizedCrop(224)
# + flip on the host's cores, a step ahead) against the PyTorch users' loop (bench/imagenet_train.py:
# DataLoader with WORKERS processes, torchvision's transforms and ResNet), ResNet-18 and ResNet-50,
# fp32 and bf16 + channels-last. Images/s of the last of EPOCHS epochs, each side's epoch timed
# whole, data waits included (kdprune's from metrics.csv). The JPEGs are generated (500x375,
# bench/imagefolder_load.py).
#   DEVICE=cuda IMAGES=6400 BATCH=128 WORKERS=16 bench/imagenet_train.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
py="${PYTHON:-$HOME/.cache/kdprune/venv/bin/python}"
DEVICE=${DEVICE:-cuda}; IMAGES=${IMAGES:-6400}; BATCH=${BATCH:-128}; WORKERS=${WORKERS:-$(nproc)}
ARCHS=${ARCHS:-"resnet18 resnet50"}; MODES=${MODES:-"fp32 bf16+CL"}
EPOCHS=${EPOCHS:-2}  # both sides report the last epoch's images/s
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
"$py" "$root/bench/imagefolder_load.py" make "$dir/data" "$IMAGES"
kd() {  # arch mode
  local extra="train.amp=off train.channels_last=false"  # fp32 stated: auto is bf16 on some CPUs
  [ "$2" = "bf16+CL" ] && extra="train.amp=bf16 train.channels_last=true"
  # shellcheck disable=SC2086
  "$build/kdprune" train-teacher run.root="$dir/runs" run.name="$1-$2" --force data.name=imagefolder data.root="$dir/data" \
    data.imagefolder.stream=true data.imagefolder.size=224 data.imagefolder.threads="$WORKERS" model.arch="$1" \
    train.epochs="$EPOCHS" train.batch_size="$BATCH" train.lr=0.1 train.schedule=cosine train.eval_every="$EPOCHS" \
    run.device="$DEVICE" $extra >"$dir/$1-$2.log" 2>&1 || { echo "kdprune $1 $2 failed:" >&2; tail -5 "$dir/$1-$2.log" >&2; }
  # metrics.csv: epoch,lr,train_loss,train_acc,...,images_per_second,seconds; the last epoch's row
  # only (nan when the run did not get there).
  awk -F, -v e="$EPOCHS" '$1 == e { v = $8 } END { print (v == "" ? "nan" : v) }' "$dir/runs/$1-$2/metrics.csv" 2>/dev/null || echo nan
}
printf "ImageNet-style training, %s images of 500x375 -> 224, batch %s, %s loader threads/workers, device %s\n" \
  "$IMAGES" "$BATCH" "$WORKERS" "$DEVICE"
[ "$DEVICE" = cuda ] && "$py" -c "import torch; print(torch.cuda.get_device_name())" || lscpu | sed -n 's/^Model name: *//p'
printf "%-9s %-8s %12s %16s %8s\n" model mode kdprune PyTorch-loop ratio
for arch in $ARCHS; do
  for mode in $MODES; do
    k=$(kd "$arch" "$mode")
    p=$("$py" "$root/bench/imagenet_train.py" "$dir/data" "$arch" "$BATCH" "$WORKERS" "$EPOCHS" "$DEVICE" "$mode") || p=""
    awk -v a="$arch" -v m="$mode" -v k="$k" -v p="$p" 'BEGIN {
      if (k == "nan" || p == "") printf "%-9s %-8s %12s %16s %8s\n", a, m, k, p, "-"
      else printf "%-9s %-8s %12.1f %16.1f %7.2fx\n", a, m, k, p, k / p }'
  done
done
