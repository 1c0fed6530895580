#!/usr/bin/env bash
# scripts/plot_figures.py on a hand-made results.csv that has rows for every figure: each figure
# is written as PNG and PDF; a file that is not a results.csv fails with a clear message.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/scripts/lib/python.sh"
py=$(plot_python)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
{
  echo "dataset,pruner,level,class_balanced,sampling,f,alpha,alpha_schedule,tau,teacher_arch,teacher_f,teacher_part,data_part,student_arch,seed,subset_size,top1,top5,wall_seconds,run_dir"
  for f in 0.1 0.5; do
    for seed in 0 1; do
      echo "fashion-mnist,random,,false,,$f,0,constant,4,,0,,all,resnet8,$seed,1,8$seed,99,1,x"
      echo "fashion-mnist,forgetting,hard,false,,$f,0,constant,4,,0,,all,resnet8,$seed,1,7$seed,99,1,x"
      echo "fashion-mnist,forgetting,hard,false,,$f,0.5,constant,4,resnet20,1,all,all,resnet8,$seed,1,8$seed,99,1,x"
      for a in 0.5 1; do
        echo "fashion-mnist,random,,false,,$f,$a,constant,4,resnet20,1,all,all,resnet8,$seed,1,85,99,1,x"
      done
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet8,1,all,all,resnet8,$seed,1,86,99,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet20,0.5,all,all,resnet8,$seed,1,84,99,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet20,1,teacher,student,resnet8,$seed,1,83,99,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet20,1,student,student,resnet8,$seed,1,84,99,1,x"
    done
  done
  echo "fashion-mnist,none,,false,,1,0,constant,4,,0,,all,resnet8,0,1,93,99,1,x"
} > "$tmp/results.csv"
"$py" "$root/scripts/plot_figures.py" "$tmp/results.csv" --out "$tmp/fig" > "$tmp/out.txt"
for fig in fig3_accuracy_vs_f fig6_accuracy_vs_alpha fig7_teacher_capacity fig5_teacher_fraction_resnet20 fig8_disjoint; do
  for ext in png pdf; do
    [ -s "$tmp/fig/$fig.$ext" ] || { echo "missing $fig.$ext"; cat "$tmp/out.txt"; ls "$tmp/fig"; exit 1; }
  done
done
echo "a,b" > "$tmp/bad.csv"
if "$py" "$root/scripts/plot_figures.py" "$tmp/bad.csv" --out "$tmp/fig2" 2> "$tmp/err.txt"; then
  echo "a CSV without the results columns was accepted"; exit 1
fi
grep -q "not a kdprune results.csv" "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }
echo "plot_figures: ok"
