#!/usr/bin/env bash
# The install step and the design's usage line: `cmake --install` into a fresh prefix, then the
# installed kdprune, from an unrelated directory, finds a shipped config by name and resolves the
# config's relative paths by the documented rule (file-relative; ${run.root}; overrides from cwd).
# Usage: test_install.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: test_install.sh BUILD_DIR}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
[ -x "$tmp/prefix/bin/kdprune" ] || fail "no bin/kdprune"
[ -f "$tmp/prefix/share/kdprune/configs/cifar100/f0.1.yaml" ] || fail "no shipped configs"
mkdir -p "$tmp/elsewhere" && cd "$tmp/elsewhere"
out=$("$tmp/prefix/bin/kdprune" config --config cifar100_f0.1.yaml run.root=myruns 2>&1) || { echo "$out"; fail "config by name"; }
echo "$out" | grep -q "using the shipped config $tmp/prefix/share/kdprune/configs/cifar100/f0.1.yaml" \
  || { echo "$out"; fail "the installed copy should be used"; }
echo "$out" | grep -q 'teacher: "myruns/cifar100-teacher-resnet32/model.pt"' || { echo "$out"; fail '${run.root} in kd.teacher'; }
out=$("$tmp/prefix/bin/kdprune" config --config fashion_mnist_teacher 2>&1) || { echo "$out"; fail "name without .yaml"; }
out=$("$tmp/prefix/bin/kdprune" config --config no_such_config.yaml 2>&1) && fail "an unknown name was accepted"
echo "$out" | grep -q "is neither a file nor a shipped config" || { echo "$out"; fail "unknown name message"; }
info=$("$tmp/prefix/bin/kdprune" info 2>&1)
grep -q "cifar100_f0.1.yaml" <<<"$info" || { echo "$info"; fail "info does not list the shipped configs"; }
# README and the docs are where --help says they are, with README's links intact.
doc="$tmp/prefix/share/doc/kdprune"
[ -f "$doc/README.md" ] && [ -f "$doc/docs/config.md" ] && [ -f "$doc/docs/experiments.md" ] || fail "README.md and docs/ not under $doc"
help=$("$tmp/prefix/bin/kdprune" --help 2>&1)
grep -q "Docs: $doc/README.md, $doc/docs/config.md (every key)" <<<"$help" || { echo "$help"; fail "--help should name the installed docs"; }
help=$("$tmp/prefix/bin/kdprune" distill --help 2>&1)
grep -q "Docs: $doc/docs/distillation.md" <<<"$help" || { echo "$help"; fail "distill --help should name the installed page"; }

# The installed quickstart from another directory, scaled down: it finds the installed binary by
# itself (no KDPRUNE, no build, kdprune not on PATH) and writes under the current directory.
if (source "$src/scripts/lib/python.sh"; plot_python >/dev/null 2>&1); then
  synthetic='{train_size: 128, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}'
  (cd "$tmp/elsewhere" && env -u KDPRUNE -u KDPRUNE_RUNS PATH=/usr/bin:/bin bash "$tmp/prefix/share/kdprune/scripts/quickstart.sh" \
     run.threads=1 data.name=synthetic "data.synthetic=$synthetic" train.epochs=1 score.epochs=1 \
     'experiment.teacher={train.epochs: 1}' > qs.txt 2>&1) || { cat "$tmp/elsewhere/qs.txt"; fail "the installed quickstart.sh"; }
  [ -f "$tmp/elsewhere/runs/quickstart/results.csv" ] && [ -f "$tmp/elsewhere/runs/quickstart/figures/fig3_accuracy_vs_f.png" ] \
    || { cat "$tmp/elsewhere/qs.txt"; fail "the installed quickstart.sh: no results/figure under ./runs"; }
  [ ! -e "$tmp/prefix/share/kdprune/runs" ] || fail "the installed quickstart wrote into the prefix"
  # Without its binary it says what to set, not a CMake error.
  mv "$tmp/prefix/bin/kdprune" "$tmp/prefix/bin/kdprune.moved"
  if (cd "$tmp/elsewhere" && env -u KDPRUNE PATH=/usr/bin:/bin bash "$tmp/prefix/share/kdprune/scripts/quickstart.sh" > nobin.txt 2>&1); then
    fail "the installed quickstart ran without a binary"
  fi
  grep -q "set KDPRUNE=/path/to/kdprune" "$tmp/elsewhere/nobin.txt" || { cat "$tmp/elsewhere/nobin.txt"; fail "no clear message without the binary"; }
  mv "$tmp/prefix/bin/kdprune.moved" "$tmp/prefix/bin/kdprune"
else
  echo "(the installed quickstart not run: no python3 with matplotlib and pandas)"
fi
echo "install: ok"
