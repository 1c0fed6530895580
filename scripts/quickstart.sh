#!/usr/bin/env bash
# The main job on the built-in default (Fashion-MNIST), under ten minutes on a 2-core CPU: build,
# then `kdprune run` the experiment of configs/fashion_mnist/quickstart.yaml (a resnet8 teacher on
# all the data; forgetting scores; random and forgetting pruning at f = 0.1 and 0.3; students
# without and with KD), print the accuracy table, and draw the figure.
# Outputs under runs/quickstart of this checkout, or of the current directory when run from an
# installed copy (<prefix>/share/kdprune/scripts/quickstart.sh); KDPRUNE_RUNS overrides runs/ (a
# relative KDPRUNE_RUNS is relative to the current directory): a run directory per stage,
# results.csv, table.md and figures/fig3_accuracy_vs_f.png. Running it again reuses every finished
# stage. Extra arguments go to `kdprune run` as overrides (e.g. run.device=cuda). Works from any
# directory. KDPRUNE=BINARY uses that kdprune and skips the build; an installed copy uses its own
# <prefix>/bin/kdprune and builds nothing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/python.sh"
source "$root/scripts/lib/locate.sh"
runs="${KDPRUNE_RUNS:-$(default_runs)}"
if [ -z "${KDPRUNE:-}" ] && in_checkout; then
  bash "$root/scripts/build.sh" kdprune
fi
kdprune=$(find_kdprune)
"$kdprune" run --config "$root/configs/fashion_mnist/quickstart.yaml" run.root="$runs" "$@"
exp="$runs/quickstart"
py=$(plot_python)
"$py" "$root/scripts/plot_figures.py" "$exp/results.csv" --out "$exp/figures"
echo "results: $exp/results.csv  table: $exp/table.md  figures: $exp/figures/"
