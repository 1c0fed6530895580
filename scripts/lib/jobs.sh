# Shared by the sweep scripts: every job is one kdprune command line.
#   PRINT=1  only print the command lines (pipe them into GNU parallel or a Slurm array file)
#   JOBS=N   run N command lines at once (default 1), each on nproc/N threads
# A job whose run directory already holds summary.json is skipped, so a sweep that was stopped
# continues where it left off.

# run_jobs < lines: run (or print) the command lines read from stdin.
run_jobs() {
  local lines
  lines=$(cat)
  [ -z "$lines" ] && return 0
  if [ "${PRINT:-0}" = 1 ]; then
    printf '%s\n' "$lines"
    return 0
  fi
  # N jobs at once share the cores: each gets its share as a fixed run.threads (unless its line
  # sets one), so none spins on a core another holds and each result is still reproducible.
  local jobs=${JOBS:-1} extra=""
  if [ "$jobs" -gt 1 ]; then
    local share=$(( $(nproc) / jobs ))
    extra=" run.threads=$(( share > 0 ? share : 1 ))"
  fi
  printf '%s\n' "$lines" | while IFS= read -r line; do
    case "$line" in *run.threads=*) printf '%s\n' "$line" ;; *) printf '%s%s\n' "$line" "$extra" ;; esac
  done | xargs -d '\n' -P "$jobs" -I{} bash -c '{}'
}

# done_run DIR: true when DIR is a finished run directory.
done_run() { [ -f "$1/summary.json" ]; }

# q ARG...: shell-quote arguments into one string for a job line.
q() { printf '%q ' "$@"; }
