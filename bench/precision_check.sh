#!/usr/bin/env bash
# Does bf16 + channels-last train students as well as fp32? A paired accuracy check: one teacher
# (fp32), then the same students (same seeds, views, configs) at each f, in fp32 and with
# train.amp=bf16 train.channels_last=true, all of them in one `kdprune run` (the precision is a
# grid axis, `train.amp: [off, bf16]` with channels_last=auto; each precision's students form
# cohorts of their own). Per f: the mean and standard deviation of the students' final top-1 over
# seeds (the test split is evaluated once, after the last epoch: no epoch is chosen on it), the
# paired differences (bf16 - fp32), and two verdicts: two-sided, bf16's mean within the fp32 seeds'
# spread (|mean difference| <= fp32's std); and the one the defaults follow, one-sided: bf16's mean
# not below fp32's by more than that spread (mean difference >= -fp32's std; bf16 must not cost
# accuracy, docs/training.md).
#   KDPRUNE_BUILD_DIR=build DEVICE=cuda SEEDS=0,1,2,3,4 EPOCHS=15 bash bench/precision_check.sh
# Environment: DATA (fashion-mnist; DATA_ROOT its folder), FRACTIONS (0.1,0.3,1), SEEDS
# (0,1,2,3,4), ALPHA (0.5), ARCH (resnet8), TEACHER (resnet20), TEACHER_EPOCHS (EPOCHS), THREADS
# (CPU threads), PRECISIONS ("off bf16": the axis's values), EXTRA (further key=value overrides,
# space-separated), OUT (kept folder).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
kdprune="$build/kdprune"
DEVICE=${DEVICE:-cpu}; SEEDS=${SEEDS:-0,1,2,3,4}; EPOCHS=${EPOCHS:-15}; FRACTIONS=${FRACTIONS:-0.1,0.3,1}
ALPHA=${ALPHA:-0.5}; ARCH=${ARCH:-resnet8}; TEACHER=${TEACHER:-resnet20}; DATA=${DATA:-fashion-mnist}
PRECISIONS=${PRECISIONS:-off bf16}
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
data=(data.name="$DATA"); [ -z "${DATA_ROOT:-}" ] || data+=(data.root="$DATA_ROOT")
threads=(); [ -z "${THREADS:-}" ] || threads=(run.threads="$THREADS" run.adapt_threads=false)
common=(run.root="$out" run.device="$DEVICE" "${data[@]}" "${threads[@]}" train.epochs="$EPOCHS" train.schedule=cosine
  train.checkpoint_every=0)
# shellcheck disable=SC2206
[ -z "${EXTRA:-}" ] || common+=($EXTRA)  # further overrides, space-separated (a smoke run's data sizes)
echo "== teacher $TEACHER (fp32, ${TEACHER_EPOCHS:-$EPOCHS} epochs)" >&2
[ -f "$out/teacher/summary.json" ] || "$kdprune" train-teacher --config "$root/configs/fashion_mnist/teacher.yaml" \
  "${common[@]}" train.amp=off train.channels_last=false run.name=teacher model.arch="$TEACHER" train.epochs="${TEACHER_EPOCHS:-$EPOCHS}" >"$out/teacher.log" 2>&1 \
  || { tail -20 "$out/teacher.log"; exit 1; }
# One experiment: every precision, f and seed in one process over the same teacher.
echo "== students: train.amp in [${PRECISIONS// /, }] x f in [$FRACTIONS] x seeds [$SEEDS], one process" >&2
if [ ! -f "$out/students/results.csv" ]; then
  SECONDS=0
  "$kdprune" run --config "$root/configs/fashion_mnist/distill.yaml" "${common[@]}" run.name=students \
    model.arch="$ARCH" train.channels_last=auto train.eval_every="$EPOCHS" "experiment.teacher_models=[$out/teacher/model.pt]" \
    "experiment.pruners=[random]" "experiment.fractions=[$FRACTIONS]" "experiment.alphas=[$ALPHA]" \
    "experiment.seeds=[$SEEDS]" "experiment.axes={train.amp: [${PRECISIONS// /, }]}" >"$out/students.log" 2>&1 \
    || { tail -20 "$out/students.log"; exit 1; }
  echo "   the students' run took $SECONDS s (grouping: $(grep -m1 -o '[0-9]* students train together in [0-9]* cohort(s)' "$out/students.log"))" >&2
fi
python3 - "$out" "$EPOCHS" <<'EOF'
import csv, statistics, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/students/results.csv")))
def key(r): return (float(r["f"]), int(r["seed"]))
# fp32 is the axis value off; the other value (bf16 + channels-last) is compared with it.
other = sorted({r["train.amp"] for r in rows} - {"off"})
if "off" not in {r["train.amp"] for r in rows} or len(other) != 1:
    sys.exit(f"precision_check: expected train.amp off and one other value, found {sorted({r['train.amp'] for r in rows})}")
acc = {p: {key(r): float(r["top1"]) for r in rows if r["train.amp"] == a} for p, a in (("fp32", "off"), ("bf16", other[0]))}
print(f"{'f':>6} {'seeds':>5} {'fp32 mean±std':>16} {'bf16 mean±std':>16} {'bf16-fp32 (paired)':>22}  verdict")
verdicts = []
for f in sorted({k[0] for k in acc["fp32"]}):
    seeds = sorted(s for (ff, s) in acc["fp32"] if ff == f and (ff, s) in acc["bf16"])
    a = [acc["fp32"][(f, s)] for s in seeds]; b = [acc["bf16"][(f, s)] for s in seeds]
    d = [y - x for x, y in zip(a, b)]
    sa = statistics.stdev(a) if len(a) > 1 else 0.0
    sb = statistics.stdev(b) if len(b) > 1 else 0.0
    within = abs(statistics.mean(d)) <= sa
    no_loss = statistics.mean(d) >= -sa
    verdicts.append(no_loss)
    where = "within the fp32 spread" if within else ("above" if no_loss else "below") + " the fp32 spread"
    print(f"{f:>6.3g} {len(seeds):>5} {statistics.mean(a):>9.2f} ± {sa:<4.2f} {statistics.mean(b):>9.2f} ± {sb:<4.2f}"
          f" {statistics.mean(d):>+10.2f} ({', '.join(f'{x:+.2f}' for x in d)})  {where}")
print(f"final top-1 after {sys.argv[2]} epochs;", "bf16 + channels-last:", "not below fp32 by more than its seed spread at any f (the default may follow it)"
      if all(verdicts) else "below fp32 by more than its seed spread at some f (the default stays fp32)")
EOF
