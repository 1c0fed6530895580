# shellcheck shell=bash
# Where things are, for scripts called from any directory. Source it after setting
#   root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)     # the checkout (or install) the script is in
# The repository's own files (configs/, scripts/, the build) are found from $root; paths the user
# passes (CONFIG=, KDPRUNE_RUNS=, TEACHER=, overrides) keep their meaning: relative to the user's
# working directory, which the scripts never leave.

# abs_path PATH: PATH made absolute against the current directory (it need not exist).
abs_path() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$PWD/$1" ;;
  esac
}

# find_kdprune: prints the kdprune binary to use, in this order:
#   $KDPRUNE (a path, relative to the current directory, or a command name on PATH);
#   kdprune in the build directory beside the script ($KDPRUNE_BUILD_DIR, default $root/build);
#   kdprune on PATH.
# Fails with one line saying what was tried.
find_kdprune() {
  local b
  if [ -n "${KDPRUNE:-}" ]; then
    case "$KDPRUNE" in
      */*) [ -x "$KDPRUNE" ] || { echo "KDPRUNE=$KDPRUNE: not an executable file" >&2; return 1; }
           abs_path "$KDPRUNE" ;;
      *) command -v "$KDPRUNE" || { echo "KDPRUNE=$KDPRUNE: not found on PATH" >&2; return 1; } ;;
    esac
    return 0
  fi
  b="${KDPRUNE_BUILD_DIR:-$root/build}/kdprune"
  if [ -x "$b" ]; then
    abs_path "$b"
    return 0
  fi
  if command -v kdprune 2>/dev/null; then return 0; fi
  echo "no kdprune binary: not \$KDPRUNE, not $b (build it: $root/scripts/build.sh), not on PATH" >&2
  return 1
}

