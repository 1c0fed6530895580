# plot_python: a Python 3 that has matplotlib and pandas (Debian's /usr/bin/python3 first: a
# pyenv or venv python3 earlier on PATH usually lacks them). Prints its path; fails when none.
plot_python() {
  local p
  for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import matplotlib, pandas" >/dev/null 2>&1; then
      echo "$p"
      return 0
    fi
  done
  echo "no python3 with matplotlib and pandas (Debian: apt-get install python3-matplotlib python3-pandas)" >&2
  return 1
}

# any_python: a Python 3 for the standard-library helpers (scripts/lib/*.py): Debian's first.
any_python() {
  local p
  for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1; then
      echo "$p"
      return 0
    fi
  done
  echo "no python3 (Debian: apt-get install python3)" >&2
  return 1
}
