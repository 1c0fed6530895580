#!/usr/bin/env bash
# Fig. 7: student accuracy vs teacher architecture at each f (random pruning): at low f,
# smaller teachers should do better.
#   scripts/sweep_teacher_capacity.sh [overrides...]
#   CONFIG=configs/cifar100/sweep_teacher_capacity.yaml scripts/sweep_teacher_capacity.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/jobs.sh"
source "$root/scripts/lib/experiment.sh"
kdprune="${KDPRUNE:-${KDPRUNE_BUILD_DIR:-$root/build}/kdprune}"
run_experiment "${CONFIG:-configs/fashion_mnist/sweep_teacher_capacity.yaml}" "$@"
