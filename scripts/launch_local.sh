#!/usr/bin/env bash
# Data-parallel kdprune on one machine: N ranks, torchrun's environment, one process each.
#   scripts/launch_local.sh N train-teacher --config configs/imagenet/teacher.yaml run.name=rn50
# Environment: KDPRUNE (the binary; default build/kdprune or kdprune on PATH), MASTER_PORT (29500),
# KDPRUNE_DIST_TIMEOUT (seconds a rank waits for the others; 600). Rank 0 writes the run directory;
# rank r also logs to log.rank<r>.txt there. If any rank fails, the others are stopped and the
# exit status is the first failure's.
set -uo pipefail
n=${1:?usage: launch_local.sh N <kdprune args...>}
shift
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "launch_local.sh: N='$n': expected a positive integer" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${KDPRUNE:-}
[ -n "$bin" ] || { [ -x "$root/build/kdprune" ] && bin=$root/build/kdprune || bin=kdprune; }
pids=()
for ((r = 0; r < n; r++)); do
  RANK=$r WORLD_SIZE=$n LOCAL_RANK=$r LOCAL_WORLD_SIZE=$n MASTER_ADDR=${MASTER_ADDR:-127.0.0.1} \
    MASTER_PORT=${MASTER_PORT:-29500} "$bin" "$@" &
  pids+=($!)
done
status=0
# The ranks still running, from bash's own job table (not `kill -0`: a rank's PID, once it has
# ended, may be another process's).
live() { printf ' %s ' $(jobs -rp); }
stop_others() { for p in $(jobs -rp); do kill "$p" 2>/dev/null; done; }
trap 'stop_others; exit 130' INT TERM
# Poll rather than `wait -n -p` (bash >= 5.1 only): bash reaps its children as they end and keeps
# their status for `wait PID`.
running=("${pids[@]}")
while ((${#running[@]} > 0)); do
  still=()
  now=$(live)
  for p in "${running[@]}"; do
    if [[ $now == *" $p "* ]]; then still+=("$p"); continue; fi
    wait "$p"; rc=$?
    if ((rc != 0 && status == 0)); then
      status=$rc
      echo "launch_local.sh: a rank (pid $p) failed with status $rc; stopping the others" >&2
      stop_others
    fi
  done
  running=(${still[@]+"${still[@]}"})  # an empty array under set -u on bash < 4.4 too
  ((${#running[@]} > 0)) && sleep 0.2
done
exit $status
