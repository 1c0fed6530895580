# run_experiment CONFIG [overrides...]: the three steps every sweep script takes with `kdprune run`.
#   1. the shared stages (teachers, scores, subsets), in order, in this process;
#   2. the students: with JOBS=1 (the default) in this process, where kdprune run trains compatible
#      students together (experiment.group_students); else one command line each: JOBS=N runs N at
#      once; PRINT=1 only prints them (feed them to GNU parallel or scripts/slurm/array.sbatch, then
#      run the script again);
#   3. everything is finished: kdprune run reuses it all and writes results.csv and the table.
# Needs scripts/lib/jobs.sh and $kdprune, the binary (scripts/lib/locate.sh: find_kdprune).
run_experiment() {
  local config=$1; shift
  "$kdprune" run --config "$config" --only teacher,score,prune "$@" >&2
  if [ "${JOBS:-1}" = 1 ] && [ "${PRINT:-0}" != 1 ]; then
    # One process: kdprune run trains the students that can share batches and teacher forwards
    # together (experiment.group_students), then writes results.csv and the table.
    "$kdprune" run --config "$config" "$@"
    return 0
  fi
  "$kdprune" run --config "$config" --print-jobs "$@" | run_jobs
  if [ "${PRINT:-0}" = 1 ]; then
    echo "# run the lines above, then this script again to collect results.csv" >&2
    return 0
  fi
  "$kdprune" run --config "$config" "$@"
}
