#!/usr/bin/env bash
# scripts/run_gpus.sh on the CPU: GPU numbers stand in (run.device=cpu), two workers train a tiny
# synthetic grid, the collect step writes results.csv; a failing worker is named with its log and
# the script exits non-zero; bad --gpus is one line.
# Usage: test_run_gpus.sh KDPRUNE_BINARY
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp"
cat > g.yaml <<YAML
run: {root: $tmp/runs, name: g, threads: 1, device: cpu}
data:
  name: synthetic
  synthetic: {train_size: 64, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}
model: {arch: resnet8}
train: {epochs: 1, batch_size: 16, schedule: constant, eval_every: 100}
experiment:
  teacher: {train.epochs: 1}
  fractions: [0.25, 0.5]
  alphas: [0, 0.5]
  seeds: [0]
YAML
KDPRUNE=$bin "$root/scripts/run_gpus.sh" --gpus 0,1 --config g.yaml run.device=cpu > out.txt 2>&1 || { cat out.txt; fail "run_gpus.sh"; }
[ -f runs/g/results.csv ] || { cat out.txt; fail "no results.csv"; }
[ "$(wc -l < runs/g/results.csv)" = 5 ] || { cat runs/g/results.csv; fail "expected 4 students"; }
for i in 0 1; do grep -q "worker $i/2 done\|results:" "logs/worker-$i-of-2.log" || { cat "logs/worker-$i-of-2.log"; fail "worker $i's log"; }; done
grep -q "0 stages run, .* reused; results:" out.txt || { cat out.txt; fail "the collect step should reuse everything"; }

# A worker that fails: named with its log, non-zero exit, no collect step.
cat > fake <<EOF2
#!/bin/bash
case " \$* " in *" --worker 1/2 "*) echo "kdprune: error: boom"; exit 1 ;; esac
exec "$bin" "\$@"
EOF2
chmod +x fake
rm -rf runs logs
if KDPRUNE=./fake "$root/scripts/run_gpus.sh" --gpus 0,1 --config g.yaml > bad.txt 2>&1; then fail "a failed worker went unnoticed"; fi
grep -q "run_gpus.sh: 1 failed: worker 1/2 (GPU 1, exit 1): $tmp/logs/worker-1-of-2.log" bad.txt || { cat bad.txt; fail "the failed worker and its log"; }
grep -q "boom" bad.txt || { cat bad.txt; fail "the failed worker's last lines"; }
[ ! -f runs/g/results.csv ] || fail "collected despite a failed worker"

if "$root/scripts/run_gpus.sh" --gpus 0,x --config g.yaml > gpus.txt 2>&1; then fail "--gpus 0,x accepted"; fi
grep -q "expected comma-separated GPU numbers" gpus.txt || { cat gpus.txt; fail "bad --gpus message"; }
echo "run_gpus.sh: ok"
