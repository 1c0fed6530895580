#!/usr/bin/env bash
# The Fig. 6 grid end to end: every alpha x f student (ResNet-32 <- ResNet-32, the shipped
# cifar100 configs' models and recipe) on CIFAR-100-sized synthetic data (50,000 x 3 x 32 x 32,
# 100 classes; the GPU machine has no internet), for EPOCHS epochs, timed three ways:
#   (a) `kdprune run`: the whole grid in one process, students of every f packed into groups
#   (b) one `kdprune distill` process per student, one after another (the commands of --print-jobs)
#   (c) the RepDistiller-style DataLoader loop (bench/gpu_kd_step.py --mode loop), one student
#       after another, fp32 as RepDistiller trains (LOOP_AMP): its speed is timed once per f (the
#       loop runs the teacher for every alpha, so alpha does not change its work) and summed over
#       the grid's students
# and the projected wall time of the full 240-epoch grid for each. One fp32 teacher is trained
# first (1 epoch), then each precision's subsets; neither is timed.
# Projection (bench/grid_clock.py reads each run's metrics.csv): a process's setup (its wall time
# minus its training clock) once, its one-off cost (cuDNN's search, the CUDA graphs' capture) once,
# and its steady epoch 240 times. (b), one student per process: the steady epoch is the mean of
# epochs 2..E, the one-off cost the first epoch's excess over it. (a), cohorts stepped in turn, each
# through its own epochs: the grid is trained twice, for 1 and for EPOCHS epochs; the steady epoch is
# the difference of their training clocks over EPOCHS - 1. With EPOCHS=1 the first epoch stands for
# all. images/s is the steady epoch's student images over its seconds, each epoch's test
# evaluation included. (c) counts the loop's training epochs alone (no process start, no
# evaluation), which favours (c).
#   KDPRUNE_BUILD_DIR=build-gpu DEVICE=cuda EPOCHS=2 bash bench/grid.sh
# Environment: FRACTIONS (default 0.1,0.3,0.5,0.7,1), ALPHAS (0,0.25,0.5,0.75,1), SIZE (50000),
# CLASSES (100), TEST_SIZE (10000), ARCH (resnet32), TEACHER (resnet32),
# AMPS ("off bf16"; bf16 adds channels-last; each precision is a row of (a) and of (b)),
# GROUPED=0 skips (a), SEQUENTIAL=0 skips (b), SEQ_AMPS (which precisions (b) times; AMPS),
# SEQ_SAMPLE=1: (b) times one process per f and kind (alpha = 0 trains without the teacher, alpha
#   > 0 with it) and counts it for each student of that f and kind, as (c) does,
# LOOP=0 skips (c) (CUDA only; LOOP=force runs it on any DEVICE, for a test's stub PYTHON), LOOP_AMP (off), LOOP_REPEATS (timed loop epochs per f after a
# warm-up one; 1), LOOP_AT=<f>: time the loop once, on f x SIZE images, and count every student at
# that speed (the loop's per-epoch refill weighs less on more images, so LOOP_AT=1 favours (c)),
# THREADS (run.threads), PYTHON, WORKERS (8), OUT (a folder kept).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
kdprune="$build/kdprune"
py="${PYTHON:-python3}"
DEVICE=${DEVICE:-cuda}; EPOCHS=${EPOCHS:-2}; SIZE=${SIZE:-50000}; CLASSES=${CLASSES:-100}
FRACTIONS=${FRACTIONS:-0.1,0.3,0.5,0.7,1}; ALPHAS=${ALPHAS:-0,0.25,0.5,0.75,1}
ARCH=${ARCH:-resnet32}; TEACHER=${TEACHER:-resnet32}; AMPS=${AMPS:-${AMP:-off bf16}}; SEQ_AMPS=${SEQ_AMPS:-$AMPS}
FULL_EPOCHS=240
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
common=(run.root="$out" run.device="$DEVICE" data.name=synthetic data.synthetic.train_size="$SIZE"
  data.synthetic.test_size="${TEST_SIZE:-10000}" data.synthetic.channels=3 data.synthetic.height=32 data.synthetic.width=32
  data.synthetic.classes="$CLASSES" model.arch="$ARCH" train.epochs="$EPOCHS" train.checkpoint_every=0 ${THREADS:+run.threads=$THREADS}
  "experiment.pruners=[random]" "experiment.fractions=[$FRACTIONS]" "experiment.alphas=[$ALPHAS]" "experiment.seeds=[0]")
cfg="$root/configs/cifar100/sweep_alpha_f.yaml"
now() { date +%s.%N; }
calc() { awk "BEGIN { print ($*) }"; }  # floating-point arithmetic without bc (GPU images may lack it)
precision_flags() { [ "$1" = off ] && echo "train.amp=off train.channels_last=false" || echo "train.amp=$1 train.channels_last=true"; }
label() { [ "$1" = off ] && echo fp32 || echo "$1+CL"; }
# One process's projection from its wall time and clock: "projected_s steady_epoch_s images_per_epoch".
project() {  # wall "t1 tE E images"
  local t1 te e im; read -r t1 te e im <<<"$2"
  calc "($1 - $te) + $t1 + ($e > 1 ? ($te - $t1) / ($e - 1) : $t1) * ($FULL_EPOCHS - 1)" | tr '\n' ' '
  calc "$e > 1 ? ($te - $t1) / ($e - 1) : $t1" | tr '\n' ' '
  echo "$im"
}

echo "== teacher (fp32, 1 epoch, not timed)" >&2
"$kdprune" run --config "$cfg" "${common[@]}" run.name=teacher --only teacher \
  "experiment.teacher={model.arch: $TEACHER, train.epochs: 1, train.amp: off, train.channels_last: false}" >"$out/teacher.log" 2>&1 \
  || { tail -20 "$out/teacher.log"; exit 1; }
teacher=$(ls "$out"/teacher/teacher-*/model.pt | head -1)
common+=("experiment.teacher_models=[$teacher]")

rows=()  # "name|wall|projected|steady|images"
add_row() {  # also said at once: a lease's time limit may stop the script before its table
  rows+=("$1")
  local name wall p s im; IFS='|' read -r name wall p s im <<<"$1"
  printf 'measured: %s: %.1f s, %d student images per epoch at %.0f images/s, 240 epochs %.2f h (%.3f s)\n' "$name" "$wall" \
    "$im" "$(calc "$im / $s")" "$(calc "$p / 3600")" "$p" >&2
}
for amp in $AMPS; do
  # shellcheck disable=SC2046
  grid=("${common[@]}" $(precision_flags "$amp") run.name="grid-$amp")
  echo "== $(label "$amp"): subsets (not timed)" >&2
  "$kdprune" run --config "$cfg" "${grid[@]}" --only prune >"$out/prune-$amp.log" 2>&1 || { tail -20 "$out/prune-$amp.log"; exit 1; }
  "$kdprune" run --config "$cfg" "${grid[@]}" --print-jobs >"$out/jobs-$amp.txt" 2>"$out/jobs-$amp.log"
  grep " distill " "$out/jobs-$amp.txt" >"$out/distill-$amp.txt"
  students=$(wc -l <"$out/distill-$amp.txt")
  if [ "${GROUPED:-1}" = 1 ]; then
    # A group steps its cohorts in turn, in proportion to their lengths, and its students evaluate
    # one after another at their epochs' ends: no one student's epoch clock is the grid's epoch.
    # Two runs, of 1 and EPOCHS epochs, tell the one-off cost (capture, cuDNN's search) from it.
    group_clock() {  # epochs run-name: trains the grid's students; "wall training_clock images"
      local g=("${grid[@]}" train.epochs="$1" run.name="$2") t0 wall
      "$kdprune" run --config "$cfg" "${g[@]}" --only prune >"$out/prune-$2.log" 2>&1 || { tail -20 "$out/prune-$2.log" >&2; return 1; }
      t0=$(now)
      "$kdprune" run --config "$cfg" "${g[@]}" --only student >"$out/$2.log" 2>&1 || { tail -30 "$out/$2.log" >&2; return 1; }
      wall=$(calc "$(now) - $t0")
      local c; c=$("$py" "$root/bench/grid_clock.py" --log "$out/$2.log" "$out/$2"/student-*) || return 1
      echo "$wall $(cut -d' ' -f2,4 <<<"$c")"
    }
    echo "== (a) $(label "$amp"): kdprune run, the grid in one process" >&2
    clock=$(group_clock "$EPOCHS" "grid-$amp") || exit 1
    read -r wall te im <<<"$clock"
    if [ "$EPOCHS" -gt 1 ]; then
      clock=$(group_clock 1 "grid-$amp-1epoch") || exit 1
      read -r wall1 t1 _ <<<"$clock"
      steady=$(calc "($te - $t1) / ($EPOCHS - 1)")
      [ "$(calc "$steady > 0")" = 1 ] || { echo "grid.sh: the $EPOCHS-epoch grid trained no longer than the 1-epoch one ($te s, $t1 s)" >&2; exit 1; }
      p=$(calc "($wall - $te) + ($t1 - $steady) + $steady * $FULL_EPOCHS")
      echo "   1 epoch: wall ${wall1} s, training clock $t1 s; $EPOCHS epochs: wall $wall s, training clock $te s" >&2
    else
      steady=$te; p=$(calc "($wall - $te) + $te * $FULL_EPOCHS")
    fi
    add_row "(a) kdprune run, one process, $(label "$amp")|$wall|$p|$steady|$im"
    # Which step each cohort took (a CUDA graph or eagerly) is in the cohort line.
    grep "students train together\|cohort\|not captured" "$out/grid-$amp.log" | cut -c1-400 >&2 || true
  fi
  if [ "${SEQUENTIAL:-1}" = 1 ] && [[ " $SEQ_AMPS " == *" $amp "* ]]; then
    echo "== (b) $(label "$amp"): one kdprune process per student" >&2
    # Each line's kind: its subset, and whether it trains with the teacher (kdprune run gives the
    # students with alpha = 0 an empty kd.teacher).
    awk '{ k = "ce"; s = ""; for (i = 1; i <= NF; i++) { if ($i ~ /^data.subset=/) s = $i; if ($i ~ /^kd.teacher=./) k = "kd" }
           print s ":" k "\t" $0 }' "$out/distill-$amp.txt" >"$out/kinds-$amp.txt"
    rm -f "$out/timed-$amp.txt"
    wall_b=0; proj_b=0; steady_b=0; images_b=0; timed=0; i=0
    while IFS=$'\t' read -r kind line; do
      weight=1
      if [ "${SEQ_SAMPLE:-0}" = 1 ]; then
        grep -qxF "$kind" "$out/timed-$amp.txt" 2>/dev/null && continue
        echo "$kind" >>"$out/timed-$amp.txt"
        weight=$(cut -f1 "$out/kinds-$amp.txt" | grep -cxF "$kind")
      fi
      i=$((i + 1)); name=seq$i
      start=$(now)
      # shellcheck disable=SC2086
      eval "${line/#*kdprune /$kdprune } run.root=$out/seq-$amp run.name=$name" </dev/null >"$out/seq-$amp-$i.log" 2>&1 \
        || { tail -20 "$out/seq-$amp-$i.log"; exit 1; }
      took=$(calc "$(now) - $start")
      clock=$("$py" "$root/bench/grid_clock.py" "$out/seq-$amp/$name") || exit 1
      read -r p s im <<<"$(project "$took" "$clock")"
      echo "   $name: ${kind##*:} at ${kind%:*}, counted x$weight, wall $took s" >&2
      wall_b=$(calc "$wall_b + $took"); timed=$((timed + 1))
      proj_b=$(calc "$proj_b + $weight * $p"); steady_b=$(calc "$steady_b + $weight * $s"); images_b=$((images_b + weight * im))
    done <"$out/kinds-$amp.txt"
    note=""; [ "$timed" = "$students" ] || note=" ($timed of $students timed)"
    add_row "(b) one process per student, $(label "$amp")$note|$wall_b|$proj_b|$steady_b|$images_b"
  fi
done

if { [ "${LOOP:-1}" = 1 ] && [ "$DEVICE" != cpu ]; } || [ "${LOOP:-1}" = force ]; then
  echo "== (c) the DataLoader loop, one student after another (timed once per f${LOOP_AT:+, or once at f=$LOOP_AT})" >&2
  IFS=, read -ra fs <<<"$FRACTIONS"; IFS=, read -ra as <<<"$ALPHAS"
  loop_ips() {  # the loop's images/s on n images
    "$py" -W ignore "$root/bench/gpu_kd_step.py" --mode loop --student "$ARCH" --teacher "$TEACHER" --images "$1" \
      --classes "$CLASSES" --workers "${WORKERS:-8}" --repeats "${LOOP_REPEATS:-1}" --amp "${LOOP_AMP:-off}"
  }
  images_of() { calc "int($1 * $SIZE + 0.5) > 0 ? int($1 * $SIZE + 0.5) : 1"; }
  steady_c=0; images_c=0; t0=$(now)
  [ -z "${LOOP_AT:-}" ] || { ips=$(loop_ips "$(images_of "$LOOP_AT")"); echo "   f=$LOOP_AT: $ips img/s" >&2; }
  for f in "${fs[@]}"; do
    n=$(images_of "$f")
    [ -n "${LOOP_AT:-}" ] || { ips=$(loop_ips "$n"); echo "   f=$f: $ips img/s" >&2; }
    steady_c=$(calc "$steady_c + ${#as[@]} * $n / $ips"); images_c=$((images_c + ${#as[@]} * n))
  done
  wall_c=$(calc "$(now) - $t0")
  add_row "(c) DataLoader loop, one student at a time, $(label "${LOOP_AMP:-off}")|$wall_c|$(calc "$steady_c * $FULL_EPOCHS")|$steady_c|$images_c"
fi

dev=$([ "$DEVICE" = cpu ] && echo "CPU $(nproc) cores" || nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
printf "grid: %s students (f %s x alpha %s), %s <- %s, %s images, %s epochs timed; %s\n" \
  "$students" "$FRACTIONS" "$ALPHAS" "$ARCH" "$TEACHER" "$SIZE" "$EPOCHS" "$dev"
printf "%-56s %9s %12s %15s %8s\n" "how" "wall s" "images/s" "240 epochs (h)" "vs (c)"
loop_projected=""
for r in "${rows[@]}"; do [[ "$r" != "(c)"* ]] || loop_projected=$(cut -d'|' -f3 <<<"$r"); done
for r in "${rows[@]}"; do
  IFS='|' read -r name wall p s im <<<"$r"
  printf "%-56s %9.1f %12.0f %15.2f %8s\n" "$name" "$wall" "$(calc "$im / $s")" "$(calc "$p / 3600")" \
    "$([ -n "$loop_projected" ] && printf '%.2fx' "$(calc "$loop_projected / $p")" || echo -)"
done
echo "teacher: $teacher; runs kept in $out" >&2
