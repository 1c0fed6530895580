#!/usr/bin/env bash
# The sweep scripts on a tiny synthetic experiment, called from another directory than the
# checkout, with the user's paths (CONFIG, KDPRUNE_RUNS) relative to that directory: PRINT=1 lists
# one command line per student (after running the shared stages), JOBS=2 runs them two at a time,
# a second call collects results.csv with everything reused; disjoint.sh merges its two
# experiments without averaging the disjoint teacher's students with the control's; the scripts
# find their own configs and the binary ($KDPRUNE, build/ beside them, PATH) from their own path;
# quickstart.sh runs from elsewhere too.
# Usage: test_sweep_scripts.sh KDPRUNE_BINARY   (KDPRUNE_TEST_JOBS=1: one student at a time)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$(cd "$(dirname "${1:?usage: test_sweep_scripts.sh KDPRUNE_BINARY}")" && pwd)/$(basename "$1")
export KDPRUNE=$bin
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
synthetic='{train_size: 128, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}'
cat > "$tmp/exp.yaml" <<YAML
run: {root: $tmp/runs, name: sweep}
data:
  name: synthetic
  synthetic: $synthetic
model: {arch: resnet8}
train: {epochs: 1, batch_size: 32, lr: 0.05, schedule: constant, eval_every: 100}
experiment:
  pruners: [random]
  fractions: [0.25, 0.5]
  alphas: [0, 0.5]
  disjoint_split: 0.5
YAML
fail() { echo "FAIL: $*"; exit 1; }
# Not the checkout: relative paths below are the user's, relative to $tmp.
cd "$tmp"
PRINT=1 CONFIG=exp.yaml "$root/scripts/sweep_alpha_f.sh" > jobs.txt 2> err.txt || { cat err.txt; fail "PRINT=1"; }
[ "$(grep -c ' distill ' jobs.txt)" = 4 ] || { cat jobs.txt; fail "expected 4 student command lines"; }
[ -f runs/sweep/teacher-resnet8/summary.json ] || fail "the shared stages did not run first"
[ ! -e runs/sweep/results.csv ] || fail "results before the students ran"
JOBS=${KDPRUNE_TEST_JOBS:-2} CONFIG=exp.yaml "$root/scripts/sweep_alpha_f.sh" > out.txt 2>&1 || { cat out.txt; fail "JOBS=2"; }
[ "$(wc -l < runs/sweep/results.csv)" = 5 ] || fail "results.csv should have 4 rows"
# Jobs run side by side share the cores: each had its share as a fixed run.threads.
if [ "${KDPRUNE_TEST_JOBS:-2}" -gt 1 ]; then
  share=$(( $(nproc) / ${KDPRUNE_TEST_JOBS:-2} )); [ "$share" -ge 1 ] || share=1
  for c in runs/sweep/student-*/config.yaml; do
    grep -q "^  threads: $share\$" "$c" || { grep threads "$c"; fail "$c: expected run.threads=$share from JOBS"; }
  done
fi
grep -q "random / KD" out.txt || { cat out.txt; fail "no table"; }
CONFIG=exp.yaml "$root/scripts/sweep_alpha_f.sh" > again.txt 2>&1
grep -q "0 stages run, 7 reused" again.txt || { cat again.txt; fail "a second call should reuse everything"; }

# disjoint.sh, from a subdirectory, KDPRUNE_RUNS relative to it; two seeds so that cells average.
mkdir -p sub && cd sub
CONFIG=../exp.yaml NAME=dj KDPRUNE_RUNS=djruns "$root/scripts/disjoint.sh" 'experiment.seeds=[0,1]' > dj.txt 2>&1 \
  || { cat dj.txt; fail "disjoint.sh"; }
[ -f djruns/dj/results.csv ] && [ -f djruns/dj-shared/results.csv ] || fail "disjoint.sh: KDPRUNE_RUNS=djruns not relative to the current directory"
csv=djruns/dj-all.csv
# 2 f x 2 seeds: no KD once (the control's no-KD students are the same runs), KD disjoint, KD control.
# (A no-KD row has no teacher: teacher_arch, teacher_f and teacher_part empty.)
[ "$(wc -l < $csv)" = 13 ] || { cat $csv; fail "merged disjoint CSV should have 12 rows"; }
grep -q ",resnet8,1,teacher,student," $csv || fail "no disjoint rows"
grep -q ",resnet8,1,student,student," $csv || fail "no control rows"
[ "$(grep -c ',0,constant,4,,,,student,' $csv)" = 4 ] || { cat $csv; fail "the no-KD students should appear once each"; }
summary=djruns/dj-all-summary.csv
[ "$(wc -l < $summary)" = 7 ] || { cat $summary; fail "summary: 6 conditions (2 f x no KD, disjoint, control)"; }
ncol=$(head -1 $summary | tr ',' '\n' | grep -nx n | cut -d: -f1)
[ "$(cut -d, -f"$ncol" $summary | sort -u | tr '\n' ' ')" = "2 n " ] || { cat $summary; fail "summary: each condition over 2 seeds"; }
table=$(sed -n '/merged:/,$p' dj.txt)
grep -q "random / KD α=0.5, teacher resnet8 on teacher part (disjoint)" <<<"$table" || { echo "$table"; fail "table: no disjoint-teacher column naming the teacher"; }
grep -q "random / KD α=0.5, teacher resnet8 on student part (same data)" <<<"$table" || { echo "$table"; fail "table: no control column"; }
grep -q "(n=4)" <<<"$table" && { echo "$table"; fail "table: a cell averages 4 rows (conditions or duplicates mixed)"; }
[ "$(grep -c '(n=2)' <<<"$table")" = 2 ] || { echo "$table"; fail "table: expected 2 rows of cells over 2 seeds"; }
cmp -s djruns/dj-all.md <(sed -n '/merged:$/,/^merged results/p' dj.txt | sed '1d;$d') || { cat djruns/dj-all.md; fail "dj-all.md is not the printed table"; }
cd "$tmp"

# A copy of the scripts in another tree: its own configs/ hold the default config, its build/
# the binary (KDPRUNE unset); then kdprune on PATH when there is no build/.
mkdir -p other/scripts other/configs/fashion_mnist other/build elsewhere bin
cp -r "$root/scripts/." other/scripts/
cp exp.yaml other/configs/fashion_mnist/sweep_alpha_f.yaml
ln -s "$bin" other/build/kdprune
cd elsewhere
env -u KDPRUNE ../other/scripts/sweep_alpha_f.sh > found.txt 2>&1 || { cat found.txt; fail "default config and build/kdprune beside the script"; }
grep -q "0 stages run, 7 reused" found.txt || { cat found.txt; fail "default config beside the script not used"; }
rm ../other/build/kdprune
ln -s "$bin" ../bin/kdprune
env -u KDPRUNE PATH="$tmp/bin:$PATH" ../other/scripts/sweep_alpha_f.sh > path.txt 2>&1 || { cat path.txt; fail "kdprune on PATH"; }
grep -q "0 stages run, 7 reused" path.txt || { cat path.txt; fail "kdprune on PATH not used"; }
if env -u KDPRUNE PATH=/usr/bin:/bin ../other/scripts/sweep_alpha_f.sh > none.txt 2>&1; then fail "ran without a binary"; fi
grep -q "no kdprune binary" none.txt || { cat none.txt; fail "no clear message without a binary"; }
cd "$tmp"

# compare_pruners.sh from elsewhere: its default config is the checkout's, runs relative to here.
(cd elsewhere && FRACTIONS=0.5 ALPHAS=0 KDPRUNE_RUNS=cmpruns "$root/scripts/compare_pruners.sh" run.threads=1 \
  data.name=synthetic "data.synthetic=$synthetic" train.epochs=1 train.eval_every=100 > cmp.txt 2>&1) \
  || { cat elsewhere/cmp.txt; fail "compare_pruners.sh"; }
[ -f elsewhere/cmpruns/cmp-random-f0.5-a0-s0/summary.json ] || { cat elsewhere/cmp.txt; fail "compare_pruners.sh: no student under cmpruns/"; }

# A results.csv from before the precision column merged with a newer one: the rows are one
# condition (precision unknown, not different), the two seeds averaged; two known precisions
# stay apart.
head="pruner,f,alpha,seed,top1,best_top1"
printf '%s\nrandom,0.5,0,0,80,80\n' "$head" > old.csv
printf '%s,precision\nrandom,0.5,0,1,82,82,fp32\n' "$head" > new.csv
printf '%s,precision\nrandom,0.5,0,1,84,84,bf16+CL\n' "$head" > other.csv
"$(source "$root/scripts/lib/python.sh"; any_python)" "$root/scripts/lib/merge_results.py" old.csv new.csv \
  --summary late.csv > late.txt 2>&1 || { cat late.txt; fail "merge_results.py on an old and a new CSV"; }
[ "$(wc -l < late.csv)" = 2 ] || { cat late.csv late.txt; fail "an old CSV's rows should join the new ones' condition"; }
grep -q "no precision column" late.txt || { cat late.txt; fail "merge_results.py should say the precision is unknown"; }
"$(source "$root/scripts/lib/python.sh"; any_python)" "$root/scripts/lib/merge_results.py" new.csv other.csv \
  --summary two.csv > two.txt 2>&1 || { cat two.txt; fail "merge_results.py on two precisions"; }
[ "$(wc -l < two.csv)" = 3 ] || { cat two.csv; fail "two precisions should be two conditions"; }

# quickstart.sh from elsewhere, scaled down (KDPRUNE set: no build), runs relative to here.
if (source "$root/scripts/lib/python.sh"; plot_python >/dev/null 2>&1); then
  (cd elsewhere && KDPRUNE_RUNS=qs "$root/scripts/quickstart.sh" run.threads=1 data.name=synthetic "data.synthetic=$synthetic" \
    train.epochs=1 score.epochs=1 'experiment.teacher={train.epochs: 1}' > qs.txt 2>&1) \
    || { cat elsewhere/qs.txt; fail "quickstart.sh"; }
  [ -f elsewhere/qs/quickstart/results.csv ] && [ -f elsewhere/qs/quickstart/figures/fig3_accuracy_vs_f.png ] \
    || { cat elsewhere/qs.txt; fail "quickstart.sh: no results/figure under qs/"; }
else
  echo "(quickstart.sh not checked: no python3 with matplotlib and pandas)"
fi
echo "sweep scripts: ok"
