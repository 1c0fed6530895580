#!/usr/bin/env bash
# Does bf16 + channels-last train students as well as fp32? A paired accuracy check: one teacher
# (fp32), then the same students (same seeds, views, configs) at f = 0.1 and 1.0, once in fp32
# and once with train.amp=bf16 train.channels_last=true; per f the mean and standard deviation of
# the students' best top-1 over seeds, the paired differences (bf16 - fp32), and two verdicts:
# two-sided, bf16's mean within the fp32 seeds' spread (|mean difference| <= fp32's std); and the
# one the defaults follow, one-sided: bf16's mean not below fp32's by more than that spread
# (mean difference >= -fp32's std; bf16 must not cost accuracy, docs/training.md).
#   KDPRUNE_BUILD_DIR=build DEVICE=cpu SEEDS=0,1,2 EPOCHS=15 bash bench/precision_check.sh
# Environment: DATA (fashion-mnist; DATA_ROOT its folder), FRACTIONS (0.1,1), ALPHA (0.5),
# ARCH (resnet8), TEACHER (resnet20), TEACHER_EPOCHS (EPOCHS), THREADS (CPU threads per run),
# PRECISIONS (fp32 bf16: which halves to train), OUT (kept folder).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
kdprune="$build/kdprune"
DEVICE=${DEVICE:-cpu}; SEEDS=${SEEDS:-0,1,2}; EPOCHS=${EPOCHS:-15}; FRACTIONS=${FRACTIONS:-0.1,1}
ALPHA=${ALPHA:-0.5}; ARCH=${ARCH:-resnet8}; TEACHER=${TEACHER:-resnet20}; DATA=${DATA:-fashion-mnist}
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
data=(data.name="$DATA"); [ -z "${DATA_ROOT:-}" ] || data+=(data.root="$DATA_ROOT")
threads=(); [ -z "${THREADS:-}" ] || threads=(run.threads="$THREADS" run.adapt_threads=false)
common=(run.root="$out" run.device="$DEVICE" "${data[@]}" "${threads[@]}" train.epochs="$EPOCHS" train.schedule=cosine
  train.checkpoint_every=0)
echo "== teacher $TEACHER (fp32, ${TEACHER_EPOCHS:-$EPOCHS} epochs)" >&2
[ -f "$out/teacher/summary.json" ] || "$kdprune" train-teacher --config "$root/configs/fashion_mnist/teacher.yaml" \
  "${common[@]}" train.amp=off train.channels_last=false run.name=teacher model.arch="$TEACHER" train.epochs="${TEACHER_EPOCHS:-$EPOCHS}" >"$out/teacher.log" 2>&1 \
  || { tail -20 "$out/teacher.log"; exit 1; }
# One experiment per precision over the same teacher: students of every f and seed, one process each.
# PRECISIONS=fp32 and PRECISIONS=bf16 with one OUT run the two halves side by side (THREADS=1 each on
# a 2-core CPU); a precision whose results.csv exists is not trained again.
for prec in ${PRECISIONS:-fp32 bf16}; do
  [ ! -f "$out/$prec/results.csv" ] || continue
  flags=(train.amp=off train.channels_last=false)  # explicit: the default (auto) is bf16 on some CPUs
  [ "$prec" = fp32 ] || flags=(train.amp=bf16 train.channels_last=true)
  echo "== students, $prec" >&2
  "$kdprune" run --config "$root/configs/fashion_mnist/distill.yaml" "${common[@]}" "${flags[@]}" run.name="$prec" \
    model.arch="$ARCH" "experiment.teacher_models=[$out/teacher/model.pt]" "experiment.pruners=[random]" \
    "experiment.fractions=[$FRACTIONS]" "experiment.alphas=[$ALPHA]" "experiment.seeds=[$SEEDS]" >"$out/$prec.log" 2>&1 \
    || { tail -20 "$out/$prec.log"; exit 1; }
done
[ -f "$out/fp32/results.csv" ] && [ -f "$out/bf16/results.csv" ] || exit 0  # the other half still runs
python3 - "$out" <<'EOF'
import csv, statistics, sys
out = sys.argv[1]
rows = {p: list(csv.DictReader(open(f"{out}/{p}/results.csv"))) for p in ("fp32", "bf16")}
def key(r): return (float(r["f"]), int(r["seed"]))
acc = {p: {key(r): float(r["best_top1"]) for r in rs} for p, rs in rows.items()}
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
print("bf16 + channels-last:", "not below fp32 by more than its seed spread at any f (the default may follow it)"
      if all(verdicts) else "below fp32 by more than its seed spread at some f (the default stays fp32)")
EOF
