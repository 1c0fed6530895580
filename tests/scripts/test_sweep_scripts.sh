#!/usr/bin/env bash
# The sweep scripts on a tiny synthetic experiment: PRINT=1 lists one command line per student
# (after running the shared stages), JOBS=2 runs them two at a time, a second call collects
# results.csv with everything reused; disjoint.sh merges its two experiments.
# Usage: test_sweep_scripts.sh KDPRUNE_BINARY
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export KDPRUNE=${1:?usage: test_sweep_scripts.sh KDPRUNE_BINARY}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/exp.yaml" <<YAML
run: {root: $tmp/runs, name: sweep, threads: 1}
data:
  name: synthetic
  synthetic: {train_size: 128, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}
model: {arch: resnet8}
train: {epochs: 1, batch_size: 32, lr: 0.05, schedule: constant, eval_every: 100}
experiment:
  pruners: [random]
  fractions: [0.25, 0.5]
  alphas: [0, 0.5]
  disjoint_split: 0.5
YAML
fail() { echo "FAIL: $*"; exit 1; }
cd "$root"
PRINT=1 CONFIG="$tmp/exp.yaml" scripts/sweep_alpha_f.sh > "$tmp/jobs.txt" 2> "$tmp/err.txt" || { cat "$tmp/err.txt"; fail "PRINT=1"; }
[ "$(grep -c ' distill ' "$tmp/jobs.txt")" = 4 ] || { cat "$tmp/jobs.txt"; fail "expected 4 student command lines"; }
[ -f "$tmp/runs/sweep/teacher-resnet8/summary.json" ] || fail "the shared stages did not run first"
[ ! -e "$tmp/runs/sweep/results.csv" ] || fail "results before the students ran"
JOBS=2 CONFIG="$tmp/exp.yaml" scripts/sweep_alpha_f.sh > "$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt"; fail "JOBS=2"; }
[ "$(wc -l < "$tmp/runs/sweep/results.csv")" = 5 ] || fail "results.csv should have 4 rows"
grep -q "random / KD" "$tmp/out.txt" || { cat "$tmp/out.txt"; fail "no table"; }
CONFIG="$tmp/exp.yaml" scripts/sweep_alpha_f.sh > "$tmp/again.txt" 2>&1
grep -q "0 stages run, 7 reused" "$tmp/again.txt" || { cat "$tmp/again.txt"; fail "a second call should reuse everything"; }
CONFIG="$tmp/exp.yaml" NAME=dj KDPRUNE_RUNS="$tmp/runs" scripts/disjoint.sh > "$tmp/dj.txt" 2>&1 || { cat "$tmp/dj.txt"; fail "disjoint.sh"; }
[ "$(wc -l < "$tmp/runs/dj-all.csv")" = 9 ] || { cat "$tmp/runs/dj-all.csv"; fail "merged disjoint CSV should have 8 rows"; }
grep -q ",resnet8,1,teacher,student," "$tmp/runs/dj-all.csv" || fail "no disjoint rows"
grep -q ",resnet8,1,student,student," "$tmp/runs/dj-all.csv" || fail "no control rows"
echo "sweep scripts: ok"
