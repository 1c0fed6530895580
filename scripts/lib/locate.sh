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

# in_checkout: whether $root is a source checkout (it can build kdprune); otherwise it is an
# installed copy, <prefix>/share/kdprune, whose binary is <prefix>/bin/kdprune.
in_checkout() { [ -f "$root/CMakeLists.txt" ]; }

# default_runs: where a script's outputs go unless KDPRUNE_RUNS says: runs/ of the checkout, or,
# for an installed copy (its prefix is no place for outputs), runs/ under the current directory.
default_runs() {
  if in_checkout; then printf '%s\n' "$root/runs"; else printf '%s\n' "$PWD/runs"; fi
}

# find_kdprune: prints the kdprune binary to use, in this order:
#   $KDPRUNE (a path, relative to the current directory, or a command name on PATH);
#   kdprune in the build directory beside the script ($KDPRUNE_BUILD_DIR, default $root/build);
#   an installed copy's own binary (<prefix>/bin/kdprune for scripts in <prefix>/share/kdprune);
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
  b="$root/../../bin/kdprune"
  if ! in_checkout && [ -x "$b" ]; then
    (cd "$root/../../bin" && printf '%s/kdprune\n' "$PWD")
    return 0
  fi
  if command -v kdprune 2>/dev/null; then return 0; fi
  if in_checkout; then
    echo "no kdprune binary: not \$KDPRUNE, not ${KDPRUNE_BUILD_DIR:-$root/build}/kdprune (build it: $root/scripts/build.sh), not on PATH" >&2
  else
    echo "no kdprune binary: not \$KDPRUNE, not $b (this installed copy's), not on PATH; set KDPRUNE=/path/to/kdprune" >&2
  fi
  return 1
}

