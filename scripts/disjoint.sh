#!/usr/bin/env bash
# Fig. 8: KD when the teacher's data and the student's data are disjoint. The training set is
# split (experiment.disjoint_split, default 0.5); students are pruned from the "student" part.
# Two experiments, same students (same subsets, seeds): "<NAME>" with teachers trained on the
# other part (disjoint), "<NAME>-shared" with teachers trained on the students' own part (the
# control, same amount of teacher data). One merged CSV: runs/<NAME>-all.csv.
#   scripts/disjoint.sh [overrides...]
#   CONFIG=configs/cifar100/disjoint.yaml NAME=c100-disjoint JOBS=2 scripts/disjoint.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/jobs.sh"
source "$root/scripts/lib/experiment.sh"
kdprune="${KDPRUNE:-${KDPRUNE_BUILD_DIR:-$root/build}/kdprune}"
config="${CONFIG:-configs/fashion_mnist/disjoint.yaml}"
name="${NAME:-fmnist-disjoint}"
runs="${KDPRUNE_RUNS:-runs}"
run_experiment "$config" run.root="$runs" experiment.name="$name" experiment.teacher_part=teacher "$@"
run_experiment "$config" run.root="$runs" experiment.name="$name-shared" experiment.teacher_part=student "$@"
[ "${PRINT:-0}" = 1 ] && exit 0
"$kdprune" results "$runs/$name" "$runs/$name-shared" --out "$runs/$name-all.csv"
echo "merged results: $runs/$name-all.csv"
