#!/usr/bin/env bash
# Fig. 7: student accuracy vs teacher architecture at each f (random pruning): at low f,
# smaller teachers should do better.
#   scripts/sweep_teacher_capacity.sh [overrides...]
#   CONFIG=configs/cifar100/sweep_teacher_capacity.yaml scripts/sweep_teacher_capacity.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/jobs.sh"
source "$root/scripts/lib/experiment.sh"
source "$root/scripts/lib/locate.sh"
kdprune=$(find_kdprune)
run_experiment "${CONFIG:-$root/configs/fashion_mnist/sweep_teacher_capacity.yaml}" "$@"
