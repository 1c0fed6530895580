#!/usr/bin/env bash
# How evenly `kdprune run --worker i/n` deals an experiment: for each config and n, each worker's
# estimated share of the grid's cost (kept fraction x epochs x step MACs) and the largest share over
# the mean (1.0 = perfectly even), from the plan alone (--dry-run: nothing is trained or loaded).
#   bench/worker_balance.sh                       # the shipped CIFAR-100 Fig. 6 and Fig. 7 experiments
#   CONFIGS="a.yaml b.yaml" WORKERS="2 4 8 16" bench/worker_balance.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/locate.sh"
kdprune=$(find_kdprune)
configs=${CONFIGS:-"cifar100_sweep_alpha_f.yaml cifar100_sweep_teacher_capacity.yaml"}
workers=${WORKERS:-"2 4 8"}
echo "| config | students | n | students per worker | each worker's share of the cost | largest/mean |"
echo "|---|---|---|---|---|---|"
for c in $configs; do
  for n in $workers; do
    counts=() line=
    for ((i = 0; i < n; i++)); do
      line=$("$kdprune" run --config "$c" --dry-run --worker "$i/$n" 2>/dev/null | grep "^worker $i/$n: ") \
        || { echo "worker_balance.sh: $c --worker $i/$n: no plan (kdprune run --config $c --dry-run fails?)" >&2; exit 1; }
      counts+=("$(sed 's/^worker [0-9]*\/[0-9]*: \([0-9]*\) students.*/\1/' <<< "$line")")
    done
    total=0; for k in "${counts[@]}"; do total=$((total + k)); done
    shares=$(sed 's/.*each worker: \(.*\) (plan.*/\1/' <<< "$line")
    ratio=$(sed 's/.*largest\/mean \([0-9.]*\);.*/\1/' <<< "$line")
    echo "| $c | $total | $n | ${counts[*]} | $shares | $ratio |"
  done
done
