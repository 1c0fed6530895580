#!/usr/bin/env bash
# The KD training step on one GPU, side by side in one invocation: PyTorch as users run it
# (bench/gpu_kd_step.py: RepDistiller's DataLoader loop, GPU-resident eager, CUDA graph) and
# kdprune's trainer (bench/train_throughput: eager and train.cuda_graph=on, fp32 and bf16), and
# N students in one process (bench/students_together: one CUDA graph, a stream per student; the
# images/s summed over the students, as a sweep sees it).
# ResNet-32 student <- ResNet-32 teacher, batch 64, synthetic 3x32x32 images, 100 classes.
#   KDPRUNE_BUILD_DIR=build-gpu PYTHON=python3 IMAGES=10000 bench/gpu_kd_step.sh
# Prints one table: images/s and the ratio to the Python DataLoader loop.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="${KDPRUNE_BUILD_DIR:-$root/build}"
py="${PYTHON:-python3}"
STUDENT=${STUDENT:-resnet32}; TEACHER=${TEACHER:-resnet32}; BATCH=${BATCH:-64}
IMAGES=${IMAGES:-10000}; REPEATS=${REPEATS:-2}; WORKERS=${WORKERS:-8}
MODES=${MODES:-"fp32,bf16,bf16+CL,fp32+graph,bf16+graph,bf16+CL+graph"}
COUNTS=${COUNTS:-1,2,4,8}  # students in one process ("" skips those rows)
cmake --build "$build" --target train_throughput students_together >/dev/null

declare -a names values
add() { names+=("$1"); values+=("$2"); }
pyrun() { "$py" -W ignore "$root/bench/gpu_kd_step.py" --student "$STUDENT" --teacher "$TEACHER" --batch "$BATCH" \
  --images "$IMAGES" --repeats "$REPEATS" --workers "$WORKERS" "$@"; }
add "PyTorch DataLoader loop (RepDistiller), fp32" "$(pyrun --mode loop)"
add "PyTorch GPU data, eager, fp32" "$(pyrun --mode gpu-eager)"
add "PyTorch GPU data, eager, bf16" "$(pyrun --mode gpu-eager --amp bf16)"
add "PyTorch GPU data, CUDA graph, fp32" "$(pyrun --mode gpu-graph)"
add "PyTorch GPU data, CUDA graph, bf16" "$(pyrun --mode gpu-graph --amp bf16)"
out=$("$build/bench/train_throughput" --device cuda --teacher "$TEACHER" --models "$STUDENT" --batches "$BATCH" \
  --images "$IMAGES" --epochs 3 --repeats "$REPEATS" --modes "$MODES")
echo "$out" >&2
row=$(echo "$out" | tail -1)
i=3
IFS=, read -ra mlist <<<"$MODES"
for m in "${mlist[@]}"; do add "kdprune $m" "$(echo "$row" | awk -v c=$i '{print $c}')"; i=$((i + 1)); done

if [ -n "$COUNTS" ]; then
  for prec in fp32 bf16+CL; do
    flags=(); [ "$prec" = fp32 ] || flags=(--amp bf16 --channels-last)
    out=$("$build/bench/students_together" --device cuda --cuda-graph on --no-alone --student "$STUDENT" \
      --teacher "$TEACHER" --batch "$BATCH" --images "$IMAGES" --epochs 3 --counts "$COUNTS" "${flags[@]}")
    echo "$out" >&2
    while read -r n _ together _; do
      add "kdprune $n student(s) in one graph, $prec (sum)" "$together"
    done < <(echo "$out" | awk '$1 ~ /^[0-9]+$/')
  done
fi

dev=$("$py" -c "import torch; print(torch.cuda.get_device_name(0), '| torch', torch.__version__)")
printf "KD step %s <- %s, batch %s, %s images/epoch; %s\n" "$STUDENT" "$TEACHER" "$BATCH" "$IMAGES" "$dev"
printf "%-48s %12s %10s\n" "what" "images/s" "vs loop"
for k in "${!names[@]}"; do
  awk -v n="${names[$k]}" -v v="${values[$k]}" -v r="${values[0]}" 'BEGIN { printf "%-48s %12.1f %9.2fx\n", n, v, v / r }'
done
