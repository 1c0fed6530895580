#!/usr/bin/env bash
# Pruner comparison (the paper's Fig. 3 / Table 1 shape): for each pruner, keep a fraction f of the
# training set, then train the student with each alpha (0 = no KD) and seed.
#
#   PRUNERS="random forgetting:runs/score-forgetting/scores.npy:hard moderate:runs/score-moderate/scores.npy:moderate" \
#   TEACHER=runs/fmnist-teacher-resnet20/model.pt scripts/compare_pruners.sh [overrides...]
#
# Environment (defaults in brackets):
#   PRUNERS    space-separated NAME[:SCORES[:LEVEL]]; NAME random / class_balanced_random need no
#              scores; LEVEL is hard, easy or moderate [random]
#   FRACTIONS  kept fractions f [0.1 0.5]        ALPHAS  [0 0.5]      SEEDS  [0]
#   CONFIG     student config [configs/fashion_mnist/distill.yaml of this checkout]
#   TEACHER    teacher model.pt (needed when an alpha is not 0)
#   PREFIX     run-name prefix [cmp]            KDPRUNE_RUNS  run root [runs]
#   KDPRUNE    the binary [build/kdprune of this checkout, else kdprune on PATH]
#   JOBS, PRINT  see scripts/lib/jobs.sh
# Works from any directory: paths you give (CONFIG, TEACHER, scores, KDPRUNE_RUNS) are relative to
# the current directory, as are the runs.
# Overrides after the options go to every distill (e.g. train.epochs=15 train.amp=bf16).
# Runs: $KDPRUNE_RUNS/$PREFIX-prune-NAME-fF (subset) and $PREFIX-NAME-fF-aA-sS (students);
# collect them with `kdprune results $KDPRUNE_RUNS/$PREFIX-*`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/jobs.sh"
source "$root/scripts/lib/locate.sh"
kdprune=$(find_kdprune)
runs="${KDPRUNE_RUNS:-runs}"
prefix="${PREFIX:-cmp}"
config="${CONFIG:-$root/configs/fashion_mnist/distill.yaml}"

for spec in ${PRUNERS:-random}; do
  IFS=: read -r name scores level <<<"$spec"
  level=${level:-hard}
  for f in ${FRACTIONS:-0.1 0.5}; do
    subset_run="$prefix-prune-$name-f$f"
    subset=""
    if [ -n "$scores" ]; then
      subset="$runs/$subset_run/subset.npy"
      if ! done_run "$runs/$subset_run" && [ "${PRINT:-0}" != 1 ]; then
        "$kdprune" prune --scores "$scores" --force run.root="$runs" run.name="$subset_run" \
          prune.fraction="$f" prune.level="$level" >/dev/null
      fi
    fi
    for alpha in ${ALPHAS:-0 0.5}; do
      for seed in ${SEEDS:-0}; do
        run="$prefix-$name-f$f-a$alpha-s$seed"
        done_run "$runs/$run" && continue
        if [ -n "$subset" ]; then
          data=(prune.method=random prune.fraction=1 data.subset="$subset")
        else
          data=(prune.method="$name" prune.fraction="$f" prune.seed="$seed")
        fi
        # alpha = 0 trains on CE only; the teacher, when given, is still recorded in summary.json.
        [ "$alpha" != 0 ] && : "${TEACHER:?set TEACHER to a teacher model.pt}"
        kd=(kd.alpha="$alpha" kd.teacher="${TEACHER:-}")
        q "$kdprune" distill --config "$config" --force run.root="$runs" run.name="$run" \
          run.seed="$seed" "${data[@]}" "${kd[@]}" "$@"
        echo
      done
    done
  done
done | run_jobs
