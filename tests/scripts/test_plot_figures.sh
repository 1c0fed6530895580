#!/usr/bin/env bash
# scripts/plot_figures.py on a hand-made results.csv that has rows for every figure: each figure
# is written as PNG and PDF and, read back from the figure (--describe), states its error bars and
# seed count, names its teacher, shifts its series apart (error bars too) and marks the alpha that
# "best α" chose where it draws best-α curves or an α sweep; a single-seed CSV says "n = 1"; a file
# that is not a results.csv fails with a clear message.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/scripts/lib/python.sh"
py=$(plot_python)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# random + KD: alpha 1 is best at f = 0.1 (87 vs 85), alpha 0.5 at f = 0.5 (88 vs 86).
{
  echo "dataset,pruner,level,class_balanced,sampling,f,alpha,alpha_schedule,tau,teacher_arch,teacher_f,teacher_part,data_part,student_arch,seed,subset_size,top1,top5,wall_seconds,run_dir"
  for f in 0.1 0.5; do
    if [ $f = 0.1 ]; then a05=85; a1=87; else a05=88; a1=86; fi
    for seed in 0 1; do
      echo "fashion-mnist,random,,false,,$f,0,constant,4,,0,,all,resnet8,$seed,1,8$seed,99,1,x"
      echo "fashion-mnist,forgetting,hard,false,,$f,0,constant,4,,0,,all,resnet8,$seed,1,7$seed,99,1,x"
      echo "fashion-mnist,forgetting,hard,false,,$f,0.5,constant,4,resnet20,1,all,all,resnet8,$seed,1,8$seed,99,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet20,1,all,all,resnet8,$seed,1,$a05.$seed,99,1,x"
      echo "fashion-mnist,random,,false,,$f,1,constant,4,resnet20,1,all,all,resnet8,$seed,1,$a1.$seed,99,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet8,1,all,all,resnet8,$seed,1,86,99,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet20,0.5,all,all,resnet8,$seed,1,84,99,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet20,1,teacher,student,resnet8,$seed,1,83,99,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet20,1,student,student,resnet8,$seed,1,84,99,1,x"
    done
  done
  echo "fashion-mnist,none,,false,,1,0,constant,4,,0,,all,resnet8,0,1,93,99,1,x"
} > "$tmp/results.csv"
"$py" "$root/scripts/plot_figures.py" "$tmp/results.csv" --out "$tmp/fig" --describe > "$tmp/out.txt" 2> "$tmp/err.txt" \
  || { cat "$tmp/out.txt" "$tmp/err.txt"; exit 1; }
for fig in fig3_accuracy_vs_f fig6_accuracy_vs_alpha fig7_teacher_capacity fig5_teacher_fraction_resnet20 fig8_disjoint; do
  for ext in png pdf; do
    [ -s "$tmp/fig/$fig.$ext" ] || { echo "missing $fig.$ext"; cat "$tmp/out.txt"; ls "$tmp/fig"; exit 1; }
  done
done
if grep -q "warning" "$tmp/err.txt"; then cat "$tmp/err.txt"; echo "a point averages more than seeds"; exit 1; fi

# What each figure shows, read back from its artists: a missing annotation fails.
check() {
  "$py" - "$@" <<'PY'
import json, sys
path, expect = sys.argv[1], json.loads(sys.argv[2])
figs = {}
for line in open(path):
    if line.startswith("{"):
        d = json.loads(line)
        figs[d["figure"]] = d
bad = []
for name, e in expect.items():
    d = figs.get(name)
    if d is None:
        bad.append(f"{name}: not described"); continue
    for s in e.get("title", []):  # error bars + seeds, teacher: in the title lines
        if s not in d["title"]:
            bad.append(f"{name}: title {d['title']!r} lacks {s!r}")
    offs = [s["offset_pt"] for s in d["series"]]
    if len(offs) > 1 and len(set(offs)) != len(offs):
        bad.append(f"{name}: series not offset apart: {offs}")
    for s in d["series"]:
        if any(abs(b - s["offset_pt"]) > 1e-6 for b in s["error_bar_offsets_pt"]):
            bad.append(f"{name}: error bars of {s['label']} not shifted with their points")
    if "series" in e and len(offs) != e["series"]:
        bad.append(f"{name}: {len(offs)} series, expected {e['series']}")
    for m in e.get("best_alpha", []):
        if m not in d["best_alpha"]:
            bad.append(f"{name}: best-alpha mark {m!r} missing (has {d['best_alpha']})")
    if "xticks" in e and d["xticks"] != e["xticks"]:
        bad.append(f"{name}: x axis {d['xticks']}, expected {e['xticks']}")
    for t in e.get("texts", []):
        if t not in d["texts"]:
            bad.append(f"{name}: text {t!r} not drawn (has {d['texts']})")
if bad:
    print("\n".join(bad)); sys.exit(1)
PY
}
check "$tmp/out.txt" '{
  "fig3_accuracy_vs_f": {"title": ["mean ± std over 1–2 seeds per point (n = 1: no error bar)", "teacher resnet20"], "series": 4,
    "best_alpha": ["best_alpha:random:f=0.1:alpha=1", "best_alpha:random:f=0.5:alpha=0.5"], "texts": ["α=1", "α=0.5"]},
  "fig6_accuracy_vs_alpha": {"title": ["mean ± std over 2 seeds", "teacher resnet20", "best α"], "series": 2,
    "best_alpha": ["best_alpha:f=0.1:alpha=1", "best_alpha:f=0.5:alpha=0.5"], "texts": ["best α=1", "best α=0.5"]},
  "fig7_teacher_capacity": {"title": ["mean ± std over 2 seeds", "teachers resnet8, resnet20", "α=0.5"], "series": 2,
    "xticks": ["resnet8", "resnet20"]},
  "fig5_teacher_fraction_resnet20": {"title": ["mean ± std over 2 seeds", "teacher resnet20", "α=0.5"], "series": 2},
  "fig8_disjoint": {"title": ["mean ± std over 2 seeds", "teacher resnet20", "α=0.5"], "series": 2,
    "xticks": ["same data", "disjoint"]}
}' || { echo "figure annotations:"; cat "$tmp/out.txt"; exit 1; }

# One seed: the figures say so instead of claiming a standard deviation.
grep -v ',1,1,[0-9.]*,99,1,x$' "$tmp/results.csv" > "$tmp/one.csv"
"$py" "$root/scripts/plot_figures.py" "$tmp/one.csv" --out "$tmp/fig1" --describe > "$tmp/one.txt" 2>&1 || { cat "$tmp/one.txt"; exit 1; }
check "$tmp/one.txt" '{
  "fig3_accuracy_vs_f": {"title": ["1 seed per point (n = 1): no error bars"]},
  "fig6_accuracy_vs_alpha": {"title": ["1 seed per point (n = 1): no error bars"]}
}' || { cat "$tmp/one.txt"; exit 1; }

echo "a,b" > "$tmp/bad.csv"
if "$py" "$root/scripts/plot_figures.py" "$tmp/bad.csv" --out "$tmp/fig2" 2> "$tmp/err.txt"; then
  echo "a CSV without the results columns was accepted"; exit 1
fi
grep -q "not a kdprune results.csv" "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }
echo "plot_figures: ok"
