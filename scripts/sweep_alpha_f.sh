#!/usr/bin/env bash
# Fig. 6: student accuracy over alpha x f (forgetting pruning by default), the data behind the
# alpha(f) schedule: does the best alpha fall as f grows?
#   scripts/sweep_alpha_f.sh [overrides...]       e.g. 'experiment.fractions=[0.1,0.5]' run.device=cuda
#   CONFIG=configs/cifar100/sweep_alpha_f.yaml JOBS=2 scripts/sweep_alpha_f.sh
# Output: runs/<name>/results.csv (+ table.md); draw with scripts/plot_figures.py.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/jobs.sh"
source "$root/scripts/lib/experiment.sh"
source "$root/scripts/lib/locate.sh"
kdprune=$(find_kdprune)
run_experiment "${CONFIG:-$root/configs/fashion_mnist/sweep_alpha_f.yaml}" "$@"
