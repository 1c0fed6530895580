#!/usr/bin/env bash
# Fig. 8: KD when the teacher's data and the student's data are disjoint. The training set is
# split (experiment.disjoint_split, default 0.5); students are pruned from the "student" part.
# Two experiments, same students (same subsets, seeds): "<NAME>" with teachers trained on the
# other part (disjoint), "<NAME>-shared" with teachers trained on the students' own part (the
# control, same amount of teacher data). Merged (scripts/lib/merge_results.py):
#   runs/<NAME>-all.csv          one row per student; the no-KD students, the same runs in both
#                                experiments, once
#   runs/<NAME>-all-summary.csv  one row per condition: mean, std and n over the seeds
#   runs/<NAME>-all.md           the table it prints: one column per condition, the teacher named
# Rows are averaged only over seeds: every other column that differs (the teacher's part, arch,
# f_t, alpha, ...) makes its own column.
#   scripts/disjoint.sh [overrides...]
#   CONFIG=configs/cifar100/disjoint.yaml NAME=c100-disjoint JOBS=2 scripts/disjoint.sh
#   METRIC=last: the final epoch's accuracy instead of the best over the evaluated epochs.
# Works from any directory; CONFIG and KDPRUNE_RUNS (default runs) are relative to the current one.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/jobs.sh"
source "$root/scripts/lib/experiment.sh"
source "$root/scripts/lib/locate.sh"
source "$root/scripts/lib/python.sh"
kdprune=$(find_kdprune)
config="${CONFIG:-$root/configs/fashion_mnist/disjoint.yaml}"
name="${NAME:-fmnist-disjoint}"
runs="${KDPRUNE_RUNS:-runs}"
run_experiment "$config" run.root="$runs" experiment.name="$name" experiment.teacher_part=teacher "$@"
run_experiment "$config" run.root="$runs" experiment.name="$name-shared" experiment.teacher_part=student "$@"
[ "${PRINT:-0}" = 1 ] && exit 0
echo
echo "disjoint ($name) and control ($name-shared) merged:"
"$(any_python)" "$root/scripts/lib/merge_results.py" "$runs/$name/results.csv" "$runs/$name-shared/results.csv" \
  --metric "${METRIC:-best}" --out "$runs/$name-all.csv" --summary "$runs/$name-all-summary.csv" --table "$runs/$name-all.md"
echo "merged results: $runs/$name-all.csv (per condition: $runs/$name-all-summary.csv, table: $runs/$name-all.md)"
