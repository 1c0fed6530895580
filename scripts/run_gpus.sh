#!/usr/bin/env bash
# One experiment on one machine's GPUs: one `kdprune run --worker i/n` per GPU (CUDA_VISIBLE_DEVICES
# set to that GPU), then a plain `kdprune run` that collects results.csv and the table.
#   scripts/run_gpus.sh --gpus 0,1,2,3 --config configs/cifar100/sweep_alpha_f.yaml run.device=cuda data.root=~/data
# Each worker's output goes to $KDPRUNE_LOGS/worker-<i>-of-<n>.log (default ./logs, relative to the
# current directory). If a worker fails, the others run on (their students are theirs alone), and
# the script exits non-zero naming each failed worker and its log; rerun it to finish (finished
# students are reused, a killed worker's resume from their checkpoints). KDPRUNE picks the binary
# (default: this checkout's build, an installed copy's own, or kdprune on PATH).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/locate.sh"
usage="usage: run_gpus.sh --gpus 0,1,... --config CONFIG [overrides...]"
gpus= config=
while [ $# -gt 0 ]; do
  case $1 in
    --gpus) gpus=${2:-}; shift 2 || { echo "$usage" >&2; exit 2; } ;;
    --gpus=*) gpus=${1#--gpus=}; shift ;;
    --config) config=${2:-}; shift 2 || { echo "$usage" >&2; exit 2; } ;;
    --config=*) config=${1#--config=}; shift ;;
    *) break ;;
  esac
done
[ -n "$gpus" ] && [ -n "$config" ] || { echo "$usage" >&2; exit 2; }
IFS=, read -r -a ids <<< "$gpus"
for g in "${ids[@]}"; do
  [[ $g =~ ^[0-9]+$ ]] || { echo "run_gpus.sh: --gpus '$gpus': expected comma-separated GPU numbers, e.g. 0,1,2,3" >&2; exit 2; }
done
kdprune=$(find_kdprune) || exit 1
logs=$(abs_path "${KDPRUNE_LOGS:-logs}")
mkdir -p "$logs"
n=${#ids[@]}
pids=()
for ((i = 0; i < n; i++)); do
  CUDA_VISIBLE_DEVICES=${ids[$i]} "$kdprune" run --config "$config" --worker "$i/$n" "$@" > "$logs/worker-$i-of-$n.log" 2>&1 &
  pids+=($!)
done
echo "run_gpus.sh: $n workers on GPUs $gpus; logs in $logs/worker-<i>-of-$n.log"
failed=()
for ((i = 0; i < n; i++)); do
  wait "${pids[$i]}" || failed+=("worker $i/$n (GPU ${ids[$i]}, exit $?): $logs/worker-$i-of-$n.log")
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'run_gpus.sh: %s failed: %s\n' "${#failed[@]}" "$(IFS=';'; echo "${failed[*]}")" >&2
  for f in "${failed[@]}"; do tail -n 3 "${f##*: }" | sed 's/^/  | /' >&2; done
  exit 1
fi
# Every worker ended: the plain run reuses all of it and writes results.csv and the table.
exec "$kdprune" run --config "$config" "$@"
