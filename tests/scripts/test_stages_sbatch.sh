#!/usr/bin/env bash
# scripts/slurm/stages.sbatch run by bash in a fake Slurm environment: sbatch runs a spool copy of
# the script in the job's working directory, so the checkout comes from KDPRUNE_ROOT, scontrol's
# Command= or the submit directory, and CONFIG (and a relative KDPRUNE) is relative to
# $SLURM_SUBMIT_DIR, also when the job runs elsewhere (sbatch --chdir). A stub kdprune records its
# arguments and working directory; with KDPRUNE_BINARY, the real one also plans (--dry-run) the
# stages of a tiny synthetic experiment from a spool copy in another directory.
# Usage: test_stages_sbatch.sh [KDPRUNE_BINARY]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=
if [ -n "${1:-}" ]; then bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ ! -f "$tmp/err" ] || cat "$tmp/err"; exit 1; }
unset KDPRUNE KDPRUNE_ROOT KDPRUNE_BUILD_DIR SLURM_SUBMIT_DIR SLURM_JOB_ID

mkdir -p "$tmp/spool" "$tmp/submit/cfg" "$tmp/submit/tools" "$tmp/other" "$tmp/fakebuild" "$tmp/stubs" "$tmp/nostubs"
cp "$root/scripts/slurm/stages.sbatch" "$tmp/spool/slurm_script"   # what slurmd runs
echo "experiment: {}" > "$tmp/submit/cfg/exp.yaml"
# The stub kdprune: its working directory, then one argument per line.
cat > "$tmp/fakebuild/kdprune" <<EOF
#!/bin/bash
{ echo "cwd=\$PWD"; printf '%s\n' "\$@"; } > "$tmp/args"
EOF
chmod +x "$tmp/fakebuild/kdprune"
cp "$tmp/fakebuild/kdprune" "$tmp/submit/tools/kdprune"
# scontrol as on a cluster: the submitted script's absolute path in Command=.
cat > "$tmp/stubs/scontrol" <<EOF
#!/bin/bash
[ "\$*" = "show job -o 42" ] || exit 1
echo "JobId=42 JobName=kdprune-stages UserId=u(1) Command=$root/scripts/slurm/stages.sbatch WorkDir=$tmp/submit StdOut=x"
EOF
chmod +x "$tmp/stubs/scontrol"
printf '#!/bin/bash\nexit 1\n' > "$tmp/nostubs/scontrol"; chmod +x "$tmp/nostubs/scontrol"
base_path=/usr/local/bin:/usr/bin:/bin

# expect ARGS...: the stub saw exactly these lines (cwd=..., then the arguments).
expect() {
  local want
  want=$(printf '%s\n' "$@")
  [ "$(cat "$tmp/args")" = "$want" ] || { printf 'got:\n%s\nwant:\n%s\n' "$(cat "$tmp/args")" "$want"; fail "$case"; }
  rm -f "$tmp/args"
}

# 1. Under sbatch, submitted from elsewhere than the checkout: the checkout from scontrol.
case="checkout from scontrol's Command="
(cd "$tmp/submit" && PATH=$tmp/stubs:$base_path SLURM_SUBMIT_DIR=$tmp/submit SLURM_JOB_ID=42 \
  KDPRUNE_BUILD_DIR=$tmp/fakebuild bash "$tmp/spool/slurm_script" cfg/exp.yaml data.root=d run.device=cuda) 2> "$tmp/err" \
  || fail "$case"
expect "cwd=$tmp/submit" run --config "$tmp/submit/cfg/exp.yaml" --only teacher,score,prune data.root=d run.device=cuda
grep -q "checkout: $root;" "$tmp/err" || fail "$case: the log line should name the checkout $root"

# 2. The job runs in another directory (sbatch --chdir): CONFIG still from the submit directory.
case="sbatch --chdir"
(cd "$tmp/other" && PATH=$tmp/stubs:$base_path SLURM_SUBMIT_DIR=$tmp/submit SLURM_JOB_ID=42 \
  KDPRUNE_BUILD_DIR=$tmp/fakebuild bash "$tmp/spool/slurm_script" cfg/exp.yaml) 2> "$tmp/err" || fail "$case"
expect "cwd=$tmp/other" run --config "$tmp/submit/cfg/exp.yaml" --only teacher,score,prune

# 3. KDPRUNE_ROOT given (relative to the submit directory), scontrol unusable; KDPRUNE relative
#    to the submit directory; a shipped config's name passes through unchanged.
case="KDPRUNE_ROOT and KDPRUNE relative to the submit directory"
rel_root=$(realpath --relative-to="$tmp/submit" "$root")
(cd "$tmp/other" && PATH=$tmp/nostubs:$base_path SLURM_SUBMIT_DIR=$tmp/submit SLURM_JOB_ID=42 \
  KDPRUNE_ROOT=$rel_root KDPRUNE=tools/kdprune bash "$tmp/spool/slurm_script" cifar100_f0.1.yaml) 2> "$tmp/err" \
  || fail "$case"
expect "cwd=$tmp/other" run --config cifar100_f0.1.yaml --only teacher,score,prune
grep -q "checkout: $root;" "$tmp/err" || fail "$case: the log line should name the checkout $root"
(cd "$tmp/other" && PATH=$tmp/nostubs:$base_path SLURM_SUBMIT_DIR=$tmp/submit KDPRUNE_ROOT=$tmp/other \
  bash "$tmp/spool/slurm_script" cfg/exp.yaml) 2> "$tmp/err" && fail "KDPRUNE_ROOT not a checkout was accepted"
grep -q "KDPRUNE_ROOT=$tmp/other: not a kdprune checkout" "$tmp/err" || fail "no clear message for a wrong KDPRUNE_ROOT"

# 4. Submitted from the checkout itself, no scontrol: the submit directory is the checkout.
case="submitted from the checkout"
(cd "$tmp/other" && PATH=$tmp/nostubs:$base_path SLURM_SUBMIT_DIR=$root SLURM_JOB_ID=42 \
  KDPRUNE_BUILD_DIR=$tmp/fakebuild bash "$tmp/spool/slurm_script" configs/fashion_mnist/table1.yaml) 2> "$tmp/err" \
  || fail "$case"
expect "cwd=$tmp/other" run --config "$root/configs/fashion_mnist/table1.yaml" --only teacher,score,prune

# 5. Run with bash, not under Slurm, from another directory: paths relative to the current one.
case="plain bash"
(cd "$tmp/other" && PATH=$base_path KDPRUNE_BUILD_DIR=$tmp/fakebuild bash "$root/scripts/slurm/stages.sbatch" \
  ../submit/cfg/exp.yaml) 2> "$tmp/err" || fail "$case"
expect "cwd=$tmp/other" run --config "$tmp/other/../submit/cfg/exp.yaml" --only teacher,score,prune

# 5b. workers.sbatch: each array task is `kdprune run --worker i/n`, under Slurm from a spool copy
#     (stages.sbatch found through scontrol's Command=, which names the submitted workers.sbatch).
case="workers.sbatch array task"
cp "$root/scripts/slurm/workers.sbatch" "$tmp/spool/workers_script"
cat > "$tmp/stubs/scontrol" <<EOF2
#!/bin/bash
echo "JobId=43 JobName=kdprune-workers UserId=u(1) Command=$root/scripts/slurm/workers.sbatch WorkDir=$tmp/submit StdOut=x"
EOF2
(cd "$tmp/submit" && PATH=$tmp/stubs:$base_path SLURM_SUBMIT_DIR=$tmp/submit SLURM_JOB_ID=43 SLURM_ARRAY_TASK_ID=1 \
  SLURM_ARRAY_TASK_COUNT=3 KDPRUNE_BUILD_DIR=$tmp/fakebuild bash "$tmp/spool/workers_script" cfg/exp.yaml run.device=cuda) \
  2> "$tmp/err" || fail "$case"
expect "cwd=$tmp/submit" run --config "$tmp/submit/cfg/exp.yaml" --worker 1/3 run.device=cuda
(cd "$tmp/submit" && PATH=$base_path bash "$root/scripts/slurm/workers.sbatch" cfg/exp.yaml) 2> "$tmp/err" && fail "workers.sbatch ran outside an array"
grep -q "submit it as an array" "$tmp/err" || fail "workers.sbatch outside an array: no clear message"
# The collect step: a plain run of everything (KDPRUNE_COLLECT=1).
(cd "$tmp/submit" && PATH=$base_path KDPRUNE_COLLECT=1 KDPRUNE_BUILD_DIR=$tmp/fakebuild bash "$root/scripts/slurm/stages.sbatch" cfg/exp.yaml) \
  2> "$tmp/err" || fail "collect step"
expect "cwd=$tmp/submit" run --config "$tmp/submit/cfg/exp.yaml"

# 6. No checkout found and no kdprune: one clear line, nothing run.
if ! PATH=$base_path command -v kdprune > /dev/null; then
  (cd "$tmp/other" && PATH=$tmp/nostubs:$base_path SLURM_SUBMIT_DIR=$tmp/submit SLURM_JOB_ID=42 \
    bash "$tmp/spool/slurm_script" cfg/exp.yaml) 2> "$tmp/err" && fail "ran without a kdprune"
  grep -q "stages.sbatch: no kdprune" "$tmp/err" || fail "no clear message without a kdprune"
  [ ! -e "$tmp/args" ] || fail "something ran without a kdprune"
fi

# 7. The real binary plans the shared stages of a config given relative to the submit directory.
if [ -n "$bin" ]; then
  cat > "$tmp/submit/cfg/real.yaml" <<'YAML'
run: {name: st, threads: 1}
data:
  name: synthetic
  synthetic: {train_size: 64, test_size: 16, channels: 1, height: 8, width: 8, classes: 4}
model: {arch: resnet8}
train: {epochs: 1, batch_size: 32}
score: {epochs: 1}
experiment:
  name: st
  pruners: [forgetting]
  fractions: [0.5]
  alphas: [0, 1]
  seeds: [0]
YAML
  (cd "$tmp/other" && PATH=$tmp/stubs:$base_path SLURM_SUBMIT_DIR=$tmp/submit SLURM_JOB_ID=42 KDPRUNE=$bin \
    bash "$tmp/spool/slurm_script" cfg/real.yaml run.root=myruns --dry-run) > "$tmp/plan" 2> "$tmp/err" \
    || { cat "$tmp/plan"; fail "the real kdprune's --dry-run"; }
  grep -q "teacher-resnet8" "$tmp/plan" || { cat "$tmp/plan"; fail "no teacher stage in the plan"; }
  grep -q "run.root=myruns/st" "$tmp/plan" || { cat "$tmp/plan"; fail "run.root not relative to the job's directory"; }
  if [ -e "$tmp/other/myruns" ] || [ -e "$tmp/submit/myruns" ]; then fail "--dry-run wrote a run directory"; fi
fi
echo "stages.sbatch: ok"
