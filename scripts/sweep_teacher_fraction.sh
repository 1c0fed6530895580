#!/usr/bin/env bash
# Fig. 5: student accuracy vs the teacher's training fraction f_t at each f (random pruning):
# a teacher trained on more data should help more.
#   scripts/sweep_teacher_fraction.sh [overrides...]
#   CONFIG=configs/cifar100/sweep_teacher_fraction.yaml scripts/sweep_teacher_fraction.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/jobs.sh"
source "$root/scripts/lib/experiment.sh"
kdprune="${KDPRUNE:-${KDPRUNE_BUILD_DIR:-$root/build}/kdprune}"
run_experiment "${CONFIG:-configs/fashion_mnist/sweep_teacher_fraction.yaml}" "$@"
