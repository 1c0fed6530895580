#!/usr/bin/env bash
# One GPU session in one command: build (scripts/device/build.sh), the tests that need CUDA, a CLI
# run on the GPU, and the KD-step bench table (bench/gpu_kd_step.sh). Prepared so a lent GPU's few
# minutes go to one call:
#   bash scripts/device/check.sh [build-dir]      (carry .devdeps; default build-gpu)
# Environment: SKIP_BENCH=1; the bench's IMAGES, REPEATS, MODES, COUNTS (bench/gpu_kd_step.sh);
# IMAGENET=1 adds bench/imagenet_train.sh (ResNet-18/50 at 224 from a streamed folder against the
# DataLoader loop; its IMAGENET_IMAGES, default 3200). DEBUG_TESTS=<gtest filter> runs those tests
# under cuda-gdb (the GPU image has no gdb; cuda-gdb debugs host code too) and prints the stack of
# a crash with symbols, where the test binary's own crash trace shows addresses only.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="${1:-$root/build-gpu}"
section() { printf '\n== %s (%s s)\n' "$1" "$SECONDS"; }
section build
TARGETS="${TARGETS:-kdprune kdprune_core_tests train_throughput students_together}" \
  bash "$root/scripts/device/build.sh" "$build" >"$build.log" 2>&1 || { tail -40 "$build.log"; exit 1; }
tail -3 "$build.log"
# shellcheck disable=SC1091
source "$build/device-env.sh"
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv,noheader || true
section "CUDA tests"
"$build/tests/kdprune_core_tests" --gtest_brief=1 \
  --gtest_filter='CudaGraph.*:FitGroup.*:DeviceStep.*:DeviceSGD.*:EpochPlan.*:GradReducer.*' >"$build.tests.log" 2>&1 \
  || echo "CUDA tests FAILED (exit $?; the full log: $build.tests.log)"
grep -v '^\[20' "$build.tests.log" | tail -25
if [ -n "${DEBUG_TESTS:-}" ] && command -v cuda-gdb >/dev/null; then
  section "cuda-gdb: $DEBUG_TESTS"
  timeout 180 cuda-gdb -q -batch -ex run -ex bt -ex 'info threads' \
    --args "$build/tests/kdprune_core_tests" --gtest_filter="$DEBUG_TESTS" 2>&1 | grep -v '^\[20\|New Thread\|exited' | tail -60
fi
section "CLI on the GPU"
tmp=$(mktemp -d)
common=(run.root="$tmp" run.device=cuda data.name=synthetic data.synthetic.train_size=2048 data.synthetic.test_size=512
  train.epochs=2 model.arch=resnet8)
"$build/kdprune" train-teacher "${common[@]}" run.name=teacher 2>&1 | tail -2
"$build/kdprune" distill --alphas 0,0.5,0.9 "${common[@]}" run.name=group kd.teacher="$tmp/teacher/model.pt" 2>&1 | tail -8
section bench
[ "${SKIP_BENCH:-0}" = 1 ] || KDPRUNE_BUILD_DIR="$build" bash "$root/bench/gpu_kd_step.sh"
if [ "${IMAGENET:-0}" = 1 ]; then
  section "ImageNet-style bench"
  KDPRUNE_BUILD_DIR="$build" DEVICE=cuda IMAGES="${IMAGENET_IMAGES:-3200}" bash "$root/bench/imagenet_train.sh"
fi
section done
