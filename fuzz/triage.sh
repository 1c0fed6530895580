#!/usr/bin/env bash
# Re-runs saved fuzz inputs one by one and prints a one-line signature for each: what escaped
# (exception type and message, sanitizer report, invariant, timeout, out-of-memory) and the first
# kdprune frame. Groups of identical signatures are one bug.
#
#   fuzz/triage.sh HARNESS [INPUT...]     (default inputs: <build>/findings/HARNESS/*)
#   fuzz/triage.sh HARNESS fuzz/regressions/HARNESS/*
# Exit status: 0 when every input passes (is refused with a kdprune::Error or accepted), 1 otherwise.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_FUZZ_BUILD_DIR:-$root/build-fuzz}"
[ $# -ge 1 ] || { echo "usage: fuzz/triage.sh HARNESS [INPUT...]" >&2; exit 2; }
h=$1; shift
exe="$build/bin/fuzz_$h"
[ -x "$exe" ] || { echo "triage.sh: $exe is not built (scripts/fuzz.sh 0 $h)" >&2; exit 2; }
inputs=("$@")
[ ${#inputs[@]} -gt 0 ] || inputs=("$build"/findings/"$h"/*)
timeout_s=${KDPRUNE_FUZZ_TIMEOUT:-10}
status=0
for f in "${inputs[@]}"; do
  [ -f "$f" ] || continue
  out=$(ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" timeout $((timeout_s * 3)) "$exe" -timeout="$timeout_s" \
        -rss_limit_mb=2048 -malloc_limit_mb=1024 "$f" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then
    sig="passes"
  else
    status=1
    what=$(grep -m1 -oE "terminate called after throwing an instance of '[^']+'|ERROR: AddressSanitizer: [a-z-]+|[^ ]+: runtime error: .{0,90}|INVARIANT VIOLATED: .{0,120}|ERROR: libFuzzer: (timeout|out-of-memory \(malloc\([0-9]+\)\)|out-of-memory|deadly signal)|ERROR: LeakSanitizer: .*" <<<"$out")
    msg=$(grep -A1 -m1 "terminate called after" <<<"$out" | tail -1 | sed 's/^ *what(): *//' | cut -c1-110)
    [ -n "$msg" ] && [[ "$what" == terminate* ]] && what="$what: $msg"
    # first frame in the project's sources (src/), else the first frame outside libFuzzer/sanitizers
    frame=$(grep -E '^ +#[0-9]+ ' <<<"$out" | grep -m1 -E '/src/[a-z_/]+\.cpp' | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in //; s/\(anonymous namespace\)//g; s/std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >/std::string/g' | cut -c1-140)
    [ -n "$frame" ] || frame=$(grep -E '^ +#[0-9]+ ' <<<"$out" | grep -vE 'sanitizer|fuzzer::|libc\.so|libstdc\+\+|__asan|__ubsan|raise|abort' | head -1 | sed -E 's/^ +#[0-9]+ 0x[0-9a-f]+ in //' | cut -c1-140)
    sig="${what:-exit $rc} @ ${frame:-?}"
  fi
  printf '%s\t%s\n' "$(basename "$f")" "$sig"
done
# scratch directories of the crashed runs (fuzz_common.h removes them only on a clean exit)
for d in /dev/shm/kdprune-fuzz-"$h"-* "${TMPDIR:-/tmp}"/kdprune-fuzz-"$h"-*; do
  [ -d "$d" ] || continue
  pid=${d##*-}
  [[ "$pid" =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null && rm -rf "$d"
done
exit $status
