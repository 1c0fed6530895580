#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) and runs each for a bounded time on its seed corpus.
#
#   scripts/fuzz.sh [SECONDS_PER_HARNESS] [HARNESS...]
#       SECONDS_PER_HARNESS  default 60; 0 only builds
#       HARNESS              idx cifar svhn npy config pickle image model_file checkpoint torch_save (default: all built)
#
# Environment:
#   KDPRUNE_FUZZ_BUILD_DIR  build directory (default: build-fuzz/ in the clone)
#   KDPRUNE_JOBS            parallel compile jobs (default 2)
#   KDPRUNE_FUZZ_TORCH      ON/OFF: build the LibTorch harnesses (first configure only; default ON)
#   KDPRUNE_FUZZ_FORK       1: libFuzzer fork mode (-fork=1 -ignore_crashes=1 ...): keep fuzzing after
#                           a finding and collect several; default 0: stop at the first finding
#   KDPRUNE_FUZZ_ARGS       extra libFuzzer arguments for every harness
#   KDPRUNE_FUZZ_NO_BUILD   1: run what is built, do not build
#
# The generated corpus (new coverage) collects in <build>/corpus/<harness>/ and persists between
# runs; the seeds in fuzz/corpus/<harness>/ are read but never written. Findings (crash-*,
# leak-*, timeout-*, oom-* inputs) go to <build>/findings/<harness>/, logs to <build>/logs/.
# Exit status: 0 when no harness found anything, 1 when one did, 2 on a build or usage error.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-60}"
[ $# -gt 0 ] && shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_HARNESS] [HARNESS...]" >&2
  exit 2
fi
all=(idx cifar svhn npy config pickle image model_file checkpoint torch_save)
harnesses=("$@")

# ---- build (configure once, incremental after) ----
if [ "${KDPRUNE_FUZZ_NO_BUILD:-0}" != 1 ]; then
  if [ ! -f "$build/CMakeCache.txt" ]; then
    gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
    # shellcheck disable=SC1091
    source "$root/scripts/lib/ccache.sh"
    cmake -S "$root/fuzz" -B "$build" "${gen[@]}" -DCMAKE_CXX_COMPILER="${CXX_FUZZ:-clang++}" "${ccache_args[@]}" \
      -DKDPRUNE_FUZZ_TORCH="${KDPRUNE_FUZZ_TORCH:-ON}" >/dev/null || exit 2
  fi
  targets=()
  for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
  start=$(date +%s)
  cmake --build "$build" -j "${KDPRUNE_JOBS:-2}" "${targets[@]}" || exit 2
  echo "fuzz.sh: build took $(( $(date +%s) - start )) s"
fi
[ "$seconds" -eq 0 ] && exit 0
if [ ${#harnesses[@]} -eq 0 ]; then
  for h in "${all[@]}"; do [ -x "$build/bin/fuzz_$h" ] && harnesses+=("$h"); done
fi

# Scratch directories of fuzzer processes that died without cleaning up (fuzz_common.h).
cleanup_scratch() {
  local d pid
  for d in /dev/shm/kdprune-fuzz-* "${TMPDIR:-/tmp}"/kdprune-fuzz-*; do
    [ -d "$d" ] || continue
    pid=${d##*-}
    [[ "$pid" =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null && rm -rf "$d"
  done
  return 0
}

# Per harness: libFuzzer options, and the seed directories (its own first, then related ones).
opts_for() {
  case "$1" in
    model_file|checkpoint)
      # LibTorch is not instrumented and keeps global state; no per-input leak checks there.
      echo "-timeout=30 -rss_limit_mb=3072 -malloc_limit_mb=1024 -detect_leaks=0 -dict=$root/fuzz/dicts/torch.dict" ;;
    config) echo "-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=16384 -dict=$root/fuzz/dicts/config.dict" ;;
    npy) echo "-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=4096 -dict=$root/fuzz/dicts/npy.dict" ;;
    *) echo "-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024" ;;
  esac
}
seeds_for() {
  case "$1" in
    model_file) echo "$root/fuzz/corpus/model_file $root/fuzz/corpus/checkpoint" ;;
    checkpoint) echo "$root/fuzz/corpus/checkpoint $root/fuzz/corpus/model_file" ;;
    *) echo "$root/fuzz/corpus/$1" ;;
  esac
}

# allocator_may_return_null: an impossible allocation becomes std::bad_alloc (what a release
# build would throw, and a finding when it escapes) rather than an AddressSanitizer abort.
export ASAN_OPTIONS="${ASAN_OPTIONS:-allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
summary=()
for h in "${harnesses[@]}"; do
  exe="$build/bin/fuzz_$h"
  if [ ! -x "$exe" ]; then
    echo "fuzz.sh: $exe is not built" >&2
    exit 2
  fi
  corpus="$build/corpus/$h"
  findings="$build/findings/$h"
  log="$build/logs/$h.log"
  mkdir -p "$corpus" "$findings" "$build/logs"
  before=$(find "$findings" -maxdepth 1 -type f | wc -l)
  fork=()
  if [ "${KDPRUNE_FUZZ_FORK:-0}" = 1 ]; then
    fork=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  fi
  echo "fuzz.sh: $h for ${seconds}s ..."
  rc=0
  # shellcheck disable=SC2046,SC2086  # word splitting of the option lists is intended
  # (the braces keep bash's "Aborted" job message about a crashing fuzzer out of the output)
  # GNU timeout signals its whole process group: also fork-mode workers, and a fuzzer stuck in
  # libFuzzer's out-of-memory heap profile (which can take minutes on a heap of small objects).
  { (cd "$build" && exec timeout -k 15 $((seconds + 90)) "$exe" "$corpus" $(seeds_for "$h") $(opts_for "$h") -max_total_time="$seconds" \
      -print_final_stats=1 -artifact_prefix="$findings/" "${fork[@]}" ${KDPRUNE_FUZZ_ARGS:-}) >"$log" 2>&1; } 2>/dev/null || rc=$?
  cleanup_scratch
  # executions: the final stats (plain mode) or the last status line (fork mode)
  execs=$(grep -E '^stat::number_of_executed_units:' "$log" | tail -1 | awk '{print $2}' || true)
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  new=$(( $(find "$findings" -maxdepth 1 -type f | wc -l) - before ))
  kinds=$(grep -oE '^==[0-9]+==ERROR: [A-Za-z]+: [a-z-]+|^SUMMARY: [A-Za-z]+: [^ ]+|terminate called after throwing an instance of .*|INVARIANT VIOLATED: .{0,80}|ERROR: libFuzzer: [a-z-]+|out-of-memory \(malloc\([0-9]+\)\)' "$log" \
    | sed -E 's/^==[0-9]+==//' | sort | uniq -c | sort -rn | head -5 | sed 's/^ */    /' || true)
  line=$(printf '%-11s executions %-9s %-22s new findings %s (exit %s)' "$h" "${execs:-?}" "${cov:-cov: ?}" "$new" "$rc")
  summary+=("$line")
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    summary+=("    killed: still running ${seconds}+90 s after it started (a hang outside libFuzzer's -timeout)")
  fi
  [ -n "$kinds" ] && summary+=("$kinds")
  if [ "$new" -gt 0 ] || [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] || { [ "$rc" -ne 0 ] && [ "${KDPRUNE_FUZZ_FORK:-0}" != 1 ]; }; then
    status=1
    summary+=("    inputs: $findings/   log: $log")
  fi
done

echo
echo "fuzz.sh: ${seconds}s per harness, build dir $build"
printf '%s\n' "${summary[@]}"
exit "$status"
