#!/usr/bin/env bash
# The main job on the built-in default (Fashion-MNIST), small enough for a 2-core CPU in a few
# minutes: build, train a small teacher on the full training set, then train the same student on
# a random 10 % of the data without and with KD from that teacher, and evaluate.
# Outputs: runs/quickstart-{teacher,nokd,kd} (KDPRUNE_RUNS overrides runs/). Extra arguments are
# passed to every kdprune command as overrides (e.g. run.device=cuda).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
runs="${KDPRUNE_RUNS:-$root/runs}"
bash "$root/scripts/build.sh" kdprune
kdprune="$build/kdprune"
cd "$root"
"$kdprune" info --dataset fashion-mnist
common=(run.root="$runs" train.schedule=cosine train.warmup_epochs=0)
"$kdprune" train-teacher --config configs/fashion_mnist/teacher.yaml --force "${common[@]}" \
  run.name=quickstart-teacher model.arch=resnet8 train.epochs=3 "$@"
"$kdprune" eval --checkpoint "$runs/quickstart-teacher/model.pt" "$@"
for alpha in 0 0.5; do
  name=quickstart-kd; [ "$alpha" = 0 ] && name=quickstart-nokd
  "$kdprune" distill --config configs/fashion_mnist/distill.yaml --force "${common[@]}" \
    run.name=$name kd.teacher="$runs/quickstart-teacher/model.pt" kd.alpha=$alpha train.epochs=8 "$@"
done
python3 - "$runs" <<'PY'
import json, sys
runs = sys.argv[1]
t = json.load(open(f"{runs}/quickstart-teacher/summary.json"))
print(f"\nteacher {t['arch']} on all {t['subset_size']} images: top1 {t['top1']:.2f}%")
for name in ("quickstart-nokd", "quickstart-kd"):
    s = json.load(open(f"{runs}/{name}/summary.json"))
    print(f"student {s['arch']} on f={s['f']:.2f} ({s['subset_size']} images), alpha={s['alpha']}: top1 {s['top1']:.2f}%")
print(f"run directories under {runs}/")
PY
