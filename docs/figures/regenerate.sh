#!/usr/bin/env bash
# Redraws the PNGs of docs/figures/ from the results CSVs beside them (scripts/plot_figures.py),
# each figure named after its CSV: docs/figures/regenerate.sh, from any directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/scripts/lib/python.sh"
py=$(plot_python)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# draw CSV FIGURE NAME [FIGURE NAME ...]: plot_figures.py on CSV, FIGURE.png copied to NAME.png.
draw() {
  local csv=$1; shift
  "$py" "$root/scripts/plot_figures.py" "$here/$csv" --out "$tmp/$csv" > /dev/null
  while [ $# -gt 0 ]; do
    cp "$tmp/$csv/$1.png" "$here/.$2.png.tmp" && mv "$here/.$2.png.tmp" "$here/$2.png"
    echo "$here/$2.png"
    shift 2
  done
}
draw fmnist_pruners_results.csv fig3_accuracy_vs_f fmnist_pruners_fig3
draw fmnist_alpha_f_results.csv fig6_accuracy_vs_alpha fmnist_alpha_f_fig6
draw fmnist_teacher_capacity_full_results.csv fig7_teacher_capacity fmnist_teacher_capacity_full_fig7
draw fmnist_teacher_fraction_full_results.csv fig5_teacher_fraction_resnet20 fmnist_teacher_fraction_full_fig5
draw fmnist_teacher_fraction_results.csv fig5_teacher_fraction_resnet20 fmnist_teacher_fraction_fig5
draw fmnist_disjoint_full_results.csv fig8_disjoint fmnist_disjoint_full_fig8
draw fmnist_disjoint_results.csv fig8_disjoint fmnist_disjoint_fig8
draw fmnist_table1_results.csv table1 fmnist_table1 table1_bars fmnist_table1_bars
draw fmnist_fig11_tau_results.csv fig11_tau fmnist_fig11_tau
draw fmnist_fig12_levels_results.csv fig3_accuracy_vs_f fmnist_fig12_levels_fig3
# Theorem 3.1 (docs/theory.md): the table is `kdprune theory ridge --out docs/figures/theory_ridge.csv`.
"$py" "$root/scripts/plot_theory.py" "$here/theory_ridge.csv" --out "$here/theory_ridge.png"
