#!/usr/bin/env bash
# Fig. 5: student accuracy vs the teacher's training fraction f_t at each f (random pruning):
# a teacher trained on more data should help more.
#   scripts/sweep_teacher_fraction.sh [overrides...]
#   CONFIG=configs/cifar100/sweep_teacher_fraction.yaml scripts/sweep_teacher_fraction.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/jobs.sh"
source "$root/scripts/lib/experiment.sh"
source "$root/scripts/lib/locate.sh"
kdprune=$(find_kdprune)
run_experiment "${CONFIG:-$root/configs/fashion_mnist/sweep_teacher_fraction.yaml}" "$@"
