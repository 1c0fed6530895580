#!/usr/bin/env bash
# One GPU session in one command: build (scripts/device/build.sh), the tests that need CUDA, a CLI
# run on the GPU, and the KD-step bench table (bench/gpu_kd_step.sh). Prepared so a lent GPU's few
# minutes go to one call:
#   bash scripts/device/check.sh [build-dir]      (carry .devdeps; default build-gpu)
# Environment: SKIP_BENCH=1; the bench's IMAGES, REPEATS, MODES, COUNTS (bench/gpu_kd_step.sh);
# IMAGENET=1 adds bench/imagenet_train.sh (ResNet-18/50 at 224 from a streamed folder against the
# DataLoader loop; its IMAGENET_IMAGES, default 12800: 100 steps of 128 per epoch, so the loop's
# refill at each epoch's start, one worker decoding a whole batch, weighs little). DEBUG_TESTS=<gtest filter> runs those tests
# under cuda-gdb (the GPU image has no gdb; cuda-gdb debugs host code too) and prints the stack of
# a crash with symbols, where the test binary's own crash trace shows addresses only.
# GRID=1 adds bench/grid.sh (the Fig. 6 grid, 25 students on CIFAR-100-sized synthetic data, timed
# (a) in one process, (b) one process per student, (c) the DataLoader loop per student; GRID_EPOCHS,
# default 2; GRID_AMPS, default "off bf16"; GRID_GROUPED=0 skips (a), GRID_SEQUENTIAL=0 skips (b),
# GRID_SEQ_AMPS the precisions (b) times, GRID_SEQ_SAMPLE=1 one (b) process per f and kind,
# GRID_LOOP=0 skips (c), GRID_LOOP_AT=<f> times the loop once at that f). PRECISION=1 adds
# bench/precision_check.sh (fp32 against bf16 + channels-last in one `kdprune run`, seeds 0..4,
# f = 0.1, 0.3 and 1 on the carried Fashion-MNIST; PRECISION_EPOCHS, default 15; PRECISION_SEEDS,
# PRECISION_FRACTIONS); it runs before the grid. CEILING=1 adds the ceiling the grid is read
# against: 8 ResNet-32 students in one CUDA graph (bench/students_together, fp32 and bf16 + CL,
# CEILING_IMAGES per epoch, default 10000), and, with GRID=1, each (a) row's student images/s as a
# share of it.
# SKIP_BUILD=1 uses the build an earlier call left on a warm machine (no rebuild after the copy);
# SKIP_TESTS=1 skips the CUDA tests, TESTS=<gtest filter> picks them; SKIP_CLI=1 skips the CLI and
# two-rank runs (a second call on a warm machine needs neither).
# COMPARE=<tar.gz of another commit's tree, top folder tree/> (carry it: made here with
#   mkdir -p .compare && git archive --format=tar.gz --prefix=tree/ <commit> -o .compare/<commit>.tar.gz)
# builds that tree's train_throughput too and runs the eager KD-step rows of both builds, alternating,
# COMPARE_REPEATS times (default 3): which commit made the eager step slower or faster.
set -uo pipefail
# The benches keep their runs in OUT when it is set; the device tool's OUT is for files to bring back.
unset OUT
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="${1:-$root/build-gpu}"
section() { printf '\n== %s (%s s)\n' "$1" "$SECONDS"; }
section build
export TARGETS="${TARGETS:-kdprune kdprune_core_tests train_throughput students_together}"
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -x "$build/kdprune" ] && [ -d /tmp/deps ]; then
  echo "SKIP_BUILD=1: the build of an earlier call on this machine"  # no rebuild if the copy touched the sources
elif ! bash "$root/scripts/device/build.sh" "$build" >"$build.log" 2>&1; then
  # NCCL is the part most tied to that machine's torch: say why, and go on without it.
  grep -m3 -A4 -E "error|undefined" "$build.log" | cut -c1-300
  echo "the build failed; again with -DKDPRUNE_WITH_NCCL=OFF"
  KDPRUNE_CMAKE_ARGS=-DKDPRUNE_WITH_NCCL=OFF bash "$root/scripts/device/build.sh" "$build" >"$build.log" 2>&1 \
    || { tail -40 "$build.log"; exit 1; }
fi
if [ -f "$build.log" ]; then grep -m1 "kdprune: .*NCCL" "$build.log"; tail -3 "$build.log"; fi
# shellcheck disable=SC1091
source "$build/device-env.sh"
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv,noheader || true
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  section "CUDA tests"
  "$build/tests/kdprune_core_tests" --gtest_brief=1 \
    --gtest_filter="${TESTS:-CudaGraph.*:FitGroup.*:TeacherFirst.*:DeviceStep.*:DeviceSGD.*:EpochPlan.*:GradReducer.*:NcclCollective.*:LinkOrder.*:GroupMemory.*:PrecisionAuto.*}" \
    >"$build.tests.log" 2>&1 || echo "CUDA tests FAILED (exit $?; the full log: $build.tests.log)"
  grep -v '^\[20' "$build.tests.log" | tail -25
fi
if [ -n "${DEBUG_TESTS:-}" ] && command -v cuda-gdb >/dev/null; then
  section "cuda-gdb: $DEBUG_TESTS"
  timeout 180 cuda-gdb -q -batch -ex run -ex bt -ex 'info threads' \
    --args "$build/tests/kdprune_core_tests" --gtest_filter="$DEBUG_TESTS" 2>&1 | grep -v '^\[20\|New Thread\|exited' | tail -60
fi
if [ "${SKIP_CLI:-0}" != 1 ]; then
  section "CLI on the GPU"
  tmp=$(mktemp -d)
  common=(run.root="$tmp" run.device=cuda data.name=synthetic data.synthetic.train_size=2048 data.synthetic.test_size=512
    train.epochs=2 model.arch=resnet8)
  "$build/kdprune" train-teacher "${common[@]}" run.name=teacher 2>&1 | tail -2
  "$build/kdprune" distill --alphas 0,0.5,0.9 "${common[@]}" run.name=group kd.teacher="$tmp/teacher/model.pt" 2>&1 | tail -8
  section "2 ranks on one GPU (both LOCAL_RANK 0): NCCL refuses with one line, Gloo trains"
  for backend in nccl gloo; do
    port=$((29600 + RANDOM % 1000))
    for r in 0 1; do
      RANK=$r WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port KDPRUNE_DIST_TIMEOUT=60 timeout 150 \
        "$build/kdprune" train-teacher "${common[@]}" run.name="two-$backend" train.epochs=1 train.dist_backend=$backend \
        >"$tmp/$backend.$r.log" 2>&1 &
    done
    wait
    echo "-- train.dist_backend=$backend:"
    grep -hE "reduce over|NCCL|Error|error|rank 0 of 2,|epoch 1/" "$tmp/$backend".*.log | cut -c1-320 | head -8
  done
fi
section bench
[ "${SKIP_BENCH:-0}" = 1 ] || KDPRUNE_BUILD_DIR="$build" bash "$root/bench/gpu_kd_step.sh"
if [ "${IMAGENET:-0}" = 1 ]; then
  section "ImageNet-style bench"
  # The machine's own python (torch, torchvision), as scripts/device/build.sh uses it.
  PYTHON="$(command -v "${PYTHON:-python3}")" KDPRUNE_BUILD_DIR="$build" DEVICE=cuda IMAGES="${IMAGENET_IMAGES:-12800}" \
    bash "$root/bench/imagenet_train.sh"
fi
if [ "${PRECISION:-0}" = 1 ]; then
  section "fp32 against bf16 + channels-last (Fashion-MNIST, paired seeds)"
  KDPRUNE_BUILD_DIR="$build" DEVICE=cuda DATA_ROOT="$KDPRUNE_FASHION_MNIST" EPOCHS="${PRECISION_EPOCHS:-15}" \
    SEEDS="${PRECISION_SEEDS:-0,1,2,3,4}" FRACTIONS="${PRECISION_FRACTIONS:-0.1,0.3,1}" \
    bash "$root/bench/precision_check.sh" 2>&1 | grep -v "^== " || echo "precision check FAILED"
fi
declare -A ceiling=()
if [ "${CEILING:-0}" = 1 ]; then
  section "ceiling: 8 ResNet-32 students in one CUDA graph"
  for prec in fp32 bf16+CL; do
    flags=(); [ "$prec" = fp32 ] || flags=(--amp bf16 --channels-last)
    row=$("$build/bench/students_together" --device cuda --cuda-graph on --no-alone --student resnet32 --teacher resnet32 \
      --batch 64 --images "${CEILING_IMAGES:-10000}" --epochs 3 --counts 8 "${flags[@]}" | awk '$1 == 8')
    ceiling[$prec]=$(awk '{print $3}' <<<"$row")
    echo "8 students in one graph, $prec: ${ceiling[$prec]} student images/s"
  done
fi
if [ "${GRID:-0}" = 1 ]; then
  section "grid bench"
  PYTHON="$(command -v "${PYTHON:-python3}")" KDPRUNE_BUILD_DIR="$build" DEVICE=cuda EPOCHS="${GRID_EPOCHS:-2}" \
    AMPS="${GRID_AMPS:-off bf16}" SEQ_AMPS="${GRID_SEQ_AMPS:-${GRID_AMPS:-off bf16}}" SEQ_SAMPLE="${GRID_SEQ_SAMPLE:-0}" \
    GROUPED="${GRID_GROUPED:-1}" SEQUENTIAL="${GRID_SEQUENTIAL:-1}" LOOP="${GRID_LOOP:-1}" LOOP_AT="${GRID_LOOP_AT:-}" \
    bash "$root/bench/grid.sh" >"$build.grid.log" 2>&1 || echo "grid bench FAILED"
  grep -v "^== \|^   f=" "$build.grid.log"
  # (a)'s student images/s against the ceiling of its precision (the grid's cohorts hold 5 students).
  for prec in fp32 bf16+CL; do
    [ -n "${ceiling[$prec]:-}" ] || continue
    grep -F "measured: (a) kdprune run, one process, $prec:" "$build.grid.log" | sed -E 's/.* at ([0-9.]+) images\/s.*/\1/' | while read -r ips; do
      awk -v a="$ips" -v c="${ceiling[$prec]}" -v p="$prec" \
        'BEGIN { printf "(a) %s: %.0f student images/s = %.0f %% of the 8-students-in-one-graph ceiling (%.0f)\n", p, a, 100 * a / c, c }'
    done
  done
fi
if [ -n "${COMPARE:-}" ]; then
  section "eager KD step: this tree against $COMPARE"
  other=$(mktemp -d); tar -xzf "$COMPARE" -C "$other"; ln -s "$root/.devdeps" "$other/tree/.devdeps"
  (cd "$other/tree" && TARGETS=train_throughput bash scripts/device/build.sh "$other/build") >"$other/build.log" 2>&1 \
    || { echo "the other tree did not build:"; tail -20 "$other/build.log"; }
  for rep in $(seq "${COMPARE_REPEATS:-3}"); do
    for b in "$build" "$other/build"; do
      [ -x "$b/bench/train_throughput" ] || continue
      r=$("$b/bench/train_throughput" --device cuda --teacher resnet32 --models resnet32 --batches 64 --images 10000 \
        --epochs 3 --repeats 1 --modes fp32,bf16 2>/dev/null | tail -1)
      printf '%-8s repeat %s: %s\n' "$([ "$b" = "$build" ] && echo this || basename "$COMPARE" .tar.gz)" "$rep" "$r"
    done
  done
fi
section done
