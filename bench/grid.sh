#!/usr/bin/env bash
# The Fig. 6 grid end to end: every alpha x f student (ResNet-32 <- ResNet-32, the shipped
# cifar100 configs' models and recipe) on CIFAR-100-sized synthetic data (50,000 x 3 x 32 x 32,
# 100 classes; the GPU machine has no internet), for EPOCHS epochs, timed three ways:
#   (a) `kdprune run`: the whole grid in one process, students of every f packed into groups
#   (b) one `kdprune distill` process per student, one after another (the commands of --print-jobs)
#   (c) the RepDistiller-style DataLoader loop (bench/gpu_kd_step.py --mode loop), one student
#       after another: its speed is timed once per f (the loop runs the teacher for every alpha,
#       so alpha does not change its work) and summed over the grid's students
# and the projected wall time of the full 240-epoch grid for each. The teacher is trained first
# (1 epoch) with the subsets, and not timed. Projection: each process's setup (wall time - the training time its
# metrics.csv records) once, plus its training time x 240 / EPOCHS; a group's cohorts end in the
# same proportions at any epoch count, so its training time scales linearly.
#   KDPRUNE_BUILD_DIR=build-gpu DEVICE=cuda EPOCHS=2 bash bench/grid.sh
# Environment: FRACTIONS (default 0.1,0.3,0.5,0.7,1), ALPHAS (0,0.25,0.5,0.75,1), SIZE (50000),
# CLASSES (100), TEST_SIZE (10000), ARCH (resnet32), TEACHER (resnet32), AMP (off|bf16; bf16 adds channels-last),
# SEQUENTIAL=0 skips (b), LOOP=0 skips (c) (CUDA only), PYTHON, WORKERS (8), OUT (a folder kept).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
kdprune="$build/kdprune"
py="${PYTHON:-python3}"
DEVICE=${DEVICE:-cuda}; EPOCHS=${EPOCHS:-2}; SIZE=${SIZE:-50000}; CLASSES=${CLASSES:-100}
FRACTIONS=${FRACTIONS:-0.1,0.3,0.5,0.7,1}; ALPHAS=${ALPHAS:-0,0.25,0.5,0.75,1}
ARCH=${ARCH:-resnet32}; TEACHER=${TEACHER:-resnet32}; AMP=${AMP:-off}
FULL_EPOCHS=240
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
precision=(train.amp="$AMP"); [ "$AMP" = off ] || precision+=(train.channels_last=true)
common=(run.root="$out" run.device="$DEVICE" data.name=synthetic data.synthetic.train_size="$SIZE"
  data.synthetic.test_size="${TEST_SIZE:-10000}" data.synthetic.channels=3 data.synthetic.height=32 data.synthetic.width=32
  data.synthetic.classes="$CLASSES" model.arch="$ARCH" train.epochs="$EPOCHS" train.checkpoint_every=0 "${precision[@]}"
  "experiment.pruners=[random]" "experiment.fractions=[$FRACTIONS]" "experiment.alphas=[$ALPHAS]" "experiment.seeds=[0]"
  "experiment.teacher={model.arch: $TEACHER, train.epochs: 1}")
cfg="$root/configs/cifar100/sweep_alpha_f.yaml"
now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }  # floating-point arithmetic without bc (GPU images may lack it)
# A run directory's training seconds: the last row of metrics.csv, column `seconds`.
train_seconds() { tail -1 "$1/metrics.csv" | awk -F, '{print $9}'; }

echo "== teacher and subsets (not timed)" >&2
"$kdprune" run --config "$cfg" "${common[@]}" run.name=grid --only teacher,prune >"$out/teacher.log" 2>&1 \
  || { tail -20 "$out/teacher.log"; exit 1; }
teacher_dir=$(ls -d "$out"/grid/teacher-* | head -1)

echo "== (a) kdprune run: the grid in one process" >&2
"$kdprune" run --config "$cfg" "${common[@]}" run.name=grid --print-jobs >"$out/jobs.txt" 2>"$out/jobs.log"
students=$(grep -c " distill " "$out/jobs.txt" || true)
t0=$(now)
"$kdprune" run --config "$cfg" "${common[@]}" run.name=grid --only student >"$out/grid.log" 2>&1 \
  || { tail -30 "$out/grid.log"; exit 1; }
wall_a=$(calc "$(now) - $t0")
images=0; train_a=0
for d in "$out"/grid/student-*; do
  n=$(python3 -c "import json,sys; s=json.load(open('$d/summary.json')); print(s['subset_size'])")
  images=$((images + n * EPOCHS))
  train_a=$(calc "($(train_seconds "$d") > $train_a) ? $(train_seconds "$d") : $train_a")
done
grep -m3 "students train together\|cohort" "$out/grid.log" | cut -c1-220 >&2 || true

wall_b=""; train_b=0; setup_b=0
if [ "${SEQUENTIAL:-1}" = 1 ]; then
  echo "== (b) one kdprune process per student" >&2
  t0=$(now)
  i=0
  while read -r line; do
    i=$((i + 1))
    [ -n "$line" ] || continue
    name=seq$i
    start=$(now)
    # shellcheck disable=SC2086
    eval "${line/#kdprune/$kdprune} run.root=$out/seq run.name=$name" >"$out/seq$i.log" 2>&1 || { tail -20 "$out/seq$i.log"; exit 1; }
    took=$(calc "$(now) - $start")
    t=$(train_seconds "$out/seq/$name")
    train_b=$(calc "$train_b + $t"); setup_b=$(calc "$setup_b + $took - $t")
  done < <(grep " distill " "$out/jobs.txt")
  wall_b=$(calc "$(now) - $t0")
fi

loop_seconds=""
if [ "${LOOP:-1}" = 1 ] && [ "$DEVICE" != cpu ]; then
  echo "== (c) the DataLoader loop, one student after another (timed once per f)" >&2
  loop_seconds=0
  IFS=, read -ra fs <<<"$FRACTIONS"; IFS=, read -ra as <<<"$ALPHAS"
  for f in "${fs[@]}"; do
    n=$(python3 -c "print(max(1, round($f * $SIZE)))")
    ips=$("$py" -W ignore "$root/bench/gpu_kd_step.py" --mode loop --student "$ARCH" --teacher "$TEACHER" --images "$n" \
      --classes "$CLASSES" --workers "${WORKERS:-8}" --repeats "$EPOCHS" --amp "$AMP")
    echo "   f=$f: $ips img/s" >&2
    loop_seconds=$(calc "$loop_seconds + ${#as[@]} * $n / $ips")
  done
fi

dev=$([ "$DEVICE" = cpu ] && echo "CPU $(nproc) cores" || nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
printf "grid: %s students (f %s x alpha %s), %s <- %s, %s images, amp %s, %s epochs timed; %s\n" \
  "$students" "$FRACTIONS" "$ALPHAS" "$ARCH" "$TEACHER" "$SIZE" "$AMP" "$EPOCHS" "$dev"
printf "%-44s %12s %12s %16s %8s\n" "how" "wall s" "images/s" "240 epochs (h)" "vs (c)"
row() {  # name wall train setup
  local proj ips
  proj=$(calc "($3) * $FULL_EPOCHS / $EPOCHS + ($4)")
  ips=$(calc "$images / ($3)")
  printf "%-44s %12.1f %12.0f %16.2f %8s\n" "$1" "$2" "$ips" "$(calc "$proj / 3600")" \
    "$([ -n "$loop_seconds" ] && printf '%.2fx' "$(calc "$loop_seconds * $FULL_EPOCHS / $EPOCHS / $proj")" || echo -)"
}
row "(a) kdprune run, grid in one process" "$wall_a" "$train_a" "$(calc "$wall_a - $train_a")"
[ -z "$wall_b" ] || row "(b) kdprune, one process per student" "$wall_b" "$train_b" "$setup_b"
[ -z "$loop_seconds" ] || row "(c) DataLoader loop, one student at a time" "$loop_seconds" "$loop_seconds" 0
echo "teacher: $teacher_dir; runs kept in $out" >&2
