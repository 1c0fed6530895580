#!/usr/bin/env bash
# scripts/plot_figures.py on hand-made results.csv files and on every results CSV shipped in
# docs/figures/. Each figure is drawn through tests/scripts/figure_layout.py, which checks it from
# matplotlib's renderer (every text inside the figure, labels inside their axes and off the
# markers, no legend over a marker or error bar, tick labels apart); the checker itself is shown
# to catch a bad figure. Read back from the figures (--describe): each states its error bars and
# seed count and names its teacher; series shift sideways only where error bars need it (by at
# most 3 pt), not at all with one seed; figures 5, 7 and 8 draw the no-KD students, fig7's
# categories are not joined, fig8 is drawn against f; many pruners get a panel each; Table 1's
# bars start at 0; a PyTorch teacher (teacher_f empty, or 0 in older CSVs) is "f_t unknown",
# never "f_t = 0", and teacher_top1 is shown where present; bad input fails in one line.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/scripts/lib/python.sh"
py=$(plot_python)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
plot() { "$py" "$root/tests/scripts/figure_layout.py" "$root/scripts/plot_figures.py" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

# The checker fails a figure whose legend covers a point, whose label crosses the frame or leaves
# the figure, and whose tick labels overlap.
cat > "$tmp/bad_figure.py" <<'PY'
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([0, 1], [0, 1], marker="o", label="a long legend entry over the point at (0, 1)")
ax.plot([0.02], [0.98], marker="s", ls="none")
ax.legend(loc="upper left")
ax.annotate("a label across the frame", (1, 1), xytext=(0, 5), textcoords="offset points", ha="center")
ax.set_xticks([0, 0.01])
ax.set_xticklabels(["overlapping", "tick labels"])
ax.set_title("a title far too long to fit in a figure three inches wide, so it leaves the figure")
fig.savefig(sys.argv[1])
PY
if "$py" "$root/tests/scripts/figure_layout.py" "$tmp/bad_figure.py" "$tmp/bad.png" > "$tmp/bad.txt" 2>&1; then
  cat "$tmp/bad.txt"; fail "the layout checker passed a bad figure"
fi
for p in "legend at .* covers" "label 'a label across the frame' crosses its axes' frame" "outside the figure" "tick labels 'overlapping' and 'tick labels' overlap"; do
  grep -q "$p" "$tmp/bad.txt" || { cat "$tmp/bad.txt"; fail "the layout checker missed: $p"; }
done

# random + KD: alpha 1 is best at f = 0.1 (87 vs 85), alpha 0.5 at f = 0.5 (88 vs 86). Older
# columns (no teacher_top1, no best_top1).
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
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet20,1,teacher,student,resnet8,$seed,1,83.$seed,99,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet20,1,student,student,resnet8,$seed,1,84.$seed,99,1,x"
      echo "fashion-mnist,random,,false,,$f,0,constant,4,,0,,student,resnet8,$seed,1,81.$seed,99,1,x"
    done
  done
  echo "fashion-mnist,none,,false,,1,0,constant,4,,0,,all,resnet8,0,1,93,99,1,x"
} > "$tmp/results.csv"
plot "$tmp/results.csv" --out "$tmp/fig" --describe > "$tmp/out.txt" 2> "$tmp/err.txt" || { cat "$tmp/out.txt" "$tmp/err.txt"; fail "plot"; }
for fig in fig3_accuracy_vs_f fig6_accuracy_vs_alpha fig7_teacher_capacity fig5_teacher_fraction_resnet20 fig8_disjoint; do
  for ext in png pdf; do
    [ -s "$tmp/fig/$fig.$ext" ] || { cat "$tmp/out.txt"; ls "$tmp/fig"; fail "missing $fig.$ext"; }
  done
done
ls -A "$tmp/fig" | grep -q '\.tmp$' && fail "a temporary file was left behind"
if grep -q "warning" "$tmp/err.txt"; then cat "$tmp/err.txt"; fail "a point averages more than seeds"; fi

# What each figure shows, read back from its artists. Per figure: title parts, the number of
# series and of panels, best-alpha marks, x ticks, texts, legend entries; "shift": series apart by
# at most 3 pt with their error bars (or "none": no shift at all); "joined": whether the series'
# points are joined; "references": no-KD reference lines per panel; "ylim0": axes from 0.
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
    for s in e.get("title", []):
        if s not in d["title"]:
            bad.append(f"{name}: title {d['title']!r} lacks {s!r}")
    for s in e.get("not_title", []):
        if s in d["title"]:
            bad.append(f"{name}: title {d['title']!r} has {s!r}")
    if "series" in e and len(d["series"]) != e["series"]:
        bad.append(f"{name}: {len(d['series'])} series, expected {e['series']}")
    if "panels" in e and len(d["panels"]) != e["panels"]:
        bad.append(f"{name}: {len(d['panels'])} panels, expected {e['panels']}")
    by_panel = {}
    for s in d["series"]:
        by_panel.setdefault(s["panel"], []).append(s)
        if any(abs(b - s["offset_pt"]) > 1e-6 for b in s["error_bar_offsets_pt"]):
            bad.append(f"{name}: error bars of {s['label']} not shifted with their points")
        if abs(s["offset_pt"]) > 3.0 + 1e-6:
            bad.append(f"{name}: {s['label']} shifted {s['offset_pt']} pt, off its x")
    for panel, ss in by_panel.items():
        offs = [s["offset_pt"] for s in ss]
        if e.get("shift") == "apart" and len(offs) > 1 and len(set(offs)) != len(offs):
            bad.append(f"{name}: series with error bars not shifted apart: {offs}")
        if e.get("shift") == "none" and any(offs):
            bad.append(f"{name}: series shifted without error bars: {offs}")
    if "joined" in e and any(s["joined"] != e["joined"] for s in d["series"]):
        bad.append(f"{name}: series joined {[s['joined'] for s in d['series']]}, expected {e['joined']}")
    if "references" in e and [len(p["references"]) for p in d["panels"]] != e["references"]:
        bad.append(f"{name}: no-KD references per panel {[p['references'] for p in d['panels']]}, expected {e['references']}")
    if e.get("ylim0") and any(p["ylim"][0] != 0 for p in d["panels"]):
        bad.append(f"{name}: an axis does not start at 0: {[p['ylim'] for p in d['panels']]}")
    for m in e.get("best_alpha", []):
        if m not in d["best_alpha"]:
            bad.append(f"{name}: best-alpha mark {m!r} missing (has {d['best_alpha']})")
    if "xticks" in e and d["xticks"] != e["xticks"]:
        bad.append(f"{name}: x axis {d['xticks']}, expected {e['xticks']}")
    for key in ("texts", "legend"):
        for t in e.get(key, []):
            if t not in d[key]:
                bad.append(f"{name}: {key} lacks {t!r} (has {d[key]})")
    if "xlabel" in e and e["xlabel"] not in d["xlabel"]:
        bad.append(f"{name}: x label {d['xlabel']!r} lacks {e['xlabel']!r}")
if bad:
    print("\n".join(bad)); sys.exit(1)
PY
}
check "$tmp/out.txt" '{
  "fig3_accuracy_vs_f": {"title": ["mean ± std over 1–2 seeds per point (n = 1: no error bar)", "teacher resnet20"], "series": 4,
    "panels": 1, "shift": "apart", "best_alpha": ["best_alpha:random:f=0.1:alpha=1", "best_alpha:random:f=0.5:alpha=0.5"],
    "texts": ["α=1", "α=0.5"], "legend": ["random, no KD", "random, KD (best α, labelled)"]},
  "fig6_accuracy_vs_alpha": {"title": ["mean ± std over 2 seeds", "teacher resnet20"], "panels": 2, "series": 4, "shift": "apart",
    "best_alpha": ["best_alpha:random:f=0.1:alpha=1", "best_alpha:random:f=0.5:alpha=0.5", "best_alpha:forgetting:f=0.1:alpha=0.5"],
    "texts": ["α=1", "α=0.5"], "legend": ["best α of each f"]},
  "fig7_teacher_capacity": {"title": ["mean ± std over 2 seeds", "teachers resnet8, resnet20", "α=0.5"], "series": 2,
    "xticks": ["resnet8", "resnet20"], "joined": false, "references": [2], "legend": ["no KD (dashed, colour of its f)"]},
  "fig5_teacher_fraction_resnet20": {"title": ["mean ± std over 2 seeds", "teacher resnet20", "α=0.5"], "series": 2,
    "shift": "apart", "references": [2]},
  "fig8_disjoint": {"title": ["mean ± std over 2 seeds", "teacher resnet20", "α=0.5"], "series": 3, "xlabel": "kept fraction f",
    "legend": ["KD, teacher on the other part (disjoint)", "KD, teacher on the students'"'"' part (same data)", "no KD"]}
}' || { echo "figure annotations:"; cat "$tmp/out.txt"; fail "figure contents"; }

# One seed: the figures say so, draw no error bars and shift nothing sideways.
grep -v ',1,1,[0-9.]*,99,1,x$' "$tmp/results.csv" > "$tmp/one.csv"
plot "$tmp/one.csv" --out "$tmp/fig1" --describe > "$tmp/one.txt" 2>&1 || { cat "$tmp/one.txt"; fail "one seed"; }
check "$tmp/one.txt" '{
  "fig3_accuracy_vs_f": {"title": ["1 seed per point (n = 1): no error bars"], "shift": "none"},
  "fig6_accuracy_vs_alpha": {"title": ["1 seed per point (n = 1): no error bars"], "shift": "none"},
  "fig5_teacher_fraction_resnet20": {"shift": "none"},
  "fig8_disjoint": {"shift": "none"}
}' || { cat "$tmp/one.txt"; fail "one seed"; }

# PyTorch teachers (teacher_f empty; or 0, as older CSVs wrote) and the teachers' own accuracy.
{
  echo "dataset,pruner,level,class_balanced,sampling,f,alpha,alpha_schedule,tau,teacher_arch,teacher_f,teacher_top1,teacher_part,data_part,student_arch,seed,subset_size,top1,top5,best_top1,best_epoch,wall_seconds,run_dir"
  for f in 0.1 0.3; do
    for seed in 0 1; do
      echo "fashion-mnist,random,,false,,$f,0,constant,4,,,,,all,resnet8,$seed,1,80,99,8$seed,5,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet8,,92.6,all,all,resnet8,$seed,1,80,99,86.$seed,5,1,x"
      echo "fashion-mnist,random,,false,,$f,0.5,constant,4,resnet20,,93.8,all,all,resnet8,$seed,1,80,99,85.$seed,5,1,x"
    done
  done
} > "$tmp/torch.csv"
plot "$tmp/torch.csv" --out "$tmp/fig2" --describe > "$tmp/torch.txt" 2>&1 || { cat "$tmp/torch.txt"; fail "PyTorch teachers"; }
check "$tmp/torch.txt" '{
  "fig3_accuracy_vs_f": {"title": ["(f_t unknown)", "teacher top-1 93.8 %"], "not_title": ["f_t = 0"]},
  "fig7_teacher_capacity": {"title": ["teachers resnet8, resnet20 (f_t unknown)"], "not_title": ["f_t = 0"],
    "xticks": ["resnet8\n(92.6 %)", "resnet20\n(93.8 %)"], "xlabel": "(teacher top-1)", "references": [2]}
}' || { cat "$tmp/torch.txt"; fail "PyTorch teachers"; }
grep -q "f_t = 0\b" "$tmp/torch.txt" && fail "a PyTorch teacher drawn as f_t = 0"
sed 's/,resnet\([0-9]*\),,9[0-9.]*,all,all,/,resnet\1,0,,all,all,/' "$tmp/torch.csv" | cut -d, -f1-11,13- > "$tmp/torch_old.csv"
plot "$tmp/torch_old.csv" --out "$tmp/fig3" --describe > "$tmp/torch_old.txt" 2>&1 || { cat "$tmp/torch_old.txt"; fail "older CSV"; }
check "$tmp/torch_old.txt" '{"fig7_teacher_capacity": {"title": ["(f_t unknown)"], "not_title": ["f_t = 0"], "xticks": ["resnet8", "resnet20"]}}' \
  || { cat "$tmp/torch_old.txt"; fail "older CSV with teacher_f 0"; }

# Many pruners: a panel each, random's KD curve as the reference in the others.
{
  head -1 "$tmp/results.csv"
  for p in el2n grand moderate forgetting random; do
    for f in 0.1 0.5; do
      echo "fashion-mnist,$p,,false,,$f,0,constant,4,,0,,all,resnet8,0,1,8${#p},99,1,x"
      echo "fashion-mnist,$p,,false,,$f,0.5,constant,4,resnet20,1,all,all,resnet8,0,1,9${#p},99,1,x"
    done
  done
} > "$tmp/pruners.csv"
plot "$tmp/pruners.csv" --out "$tmp/fig4" --describe > "$tmp/pruners.txt" 2>&1 || { cat "$tmp/pruners.txt"; fail "many pruners"; }
check "$tmp/pruners.txt" '{"fig3_accuracy_vs_f": {"panels": 5, "series": 10, "shift": "none",
  "legend": ["no KD", "KD (α=0.5)", "random, KD (reference)"], "references": [1, 1, 1, 1, 0]}}' || { cat "$tmp/pruners.txt"; fail "many pruners"; }
grep -q "note: fig6 not drawn" "$tmp/pruners.txt" || { cat "$tmp/pruners.txt"; fail "fig6 skipped without a note"; }

# Table 1 (a method column): the bars start at 0.
plot "$root/docs/figures/fmnist_table1_results.csv" --out "$tmp/fig5" --describe > "$tmp/t1.txt" 2>&1 || { cat "$tmp/t1.txt"; fail "table1"; }
"$py" - "$tmp/t1.txt" <<'PY' || { cat "$tmp/t1.txt"; fail "table1 bars"; }
import json, sys
d = {}
for line in open(sys.argv[1]):
    if line.startswith("{"):
        j = json.loads(line); d[j["figure"]] = j
bars = d["table1_bars"]
assert bars["panels"] and all(p["ylim"][0] == 0 for p in bars["panels"]), bars["panels"]
assert "starts above 0" not in bars["title"], bars["title"]
assert any(t == "86.78" for t in bars["texts"]), bars["texts"]
PY

# Every results CSV shipped in docs/figures/: each figure passes the layout checks.
for csv in "$root"/docs/figures/*_results.csv; do
  plot "$csv" --out "$tmp/docs/$(basename "$csv" .csv)" > "$tmp/docs.txt" 2>&1 || { cat "$tmp/docs.txt"; fail "$(basename "$csv")"; }
done

# A further axis (a dotted column, experiment.axes): one set of figures per value; rows with the
# axis empty (no KD on a kd.* axis) in each.
"$py" - "$tmp/results.csv" "$tmp/axis.csv" <<'PY'
import sys, pandas as pd
df = pd.read_csv(sys.argv[1], keep_default_na=False, dtype=str)
kd = df[df["alpha"] != "0"]
a, b = kd.copy(), kd.copy()
a["kd.tau"], b["kd.tau"] = "2", "6"
base = df[df["alpha"] == "0"].copy()
base["kd.tau"] = ""
pd.concat([base, a, b]).to_csv(sys.argv[2], index=False)
PY
plot "$tmp/axis.csv" --out "$tmp/axis" > "$tmp/axis.txt" 2>&1 || { cat "$tmp/axis.txt"; fail "a CSV with an axis column"; }
for v in 2 6; do [ -f "$tmp/axis/kd.tau=$v/fig3_accuracy_vs_f.png" ] || { ls -R "$tmp/axis"; fail "no figures for kd.tau=$v"; }; done
grep -q "figures per value of kd.tau" "$tmp/axis.txt" || { cat "$tmp/axis.txt"; fail "the axis split is not said"; }

# Fig. 11: a kd.tau axis crossed with two teachers draws accuracy vs tau, a panel per f, a line per
# teacher at the mean of its seeds, the no-KD students dashed. The rows are made from one KD row of
# the CSV with top1 set to a known value per (f, teacher, tau, seed).
"$py" - "$tmp/results.csv" "$tmp/tau.csv" <<'PY'
import sys, pandas as pd
df = pd.read_csv(sys.argv[1], keep_default_na=False, dtype=str)
kd = df[df["alpha"] != "0"].iloc[0]
base = df[df["alpha"] == "0"].iloc[0]
rows = []
for f in ("0.1", "0.3"):
    for seed in ("0", "1"):
        r = base.copy(); r["f"], r["seed"], r["pruner"], r["kd.tau"] = f, seed, "random", ""
        r["top1"] = r["best_top1"] = str(50 + float(f) * 10 + int(seed))  # f 0.1: 51, 52; f 0.3: 53, 54
        rows.append(r)
        for arch, bonus in (("resnet8", 3.0), ("resnet20", 1.0)):
            for tau in ("2", "4", "6"):
                r = kd.copy(); r["f"], r["seed"], r["pruner"], r["teacher_arch"], r["tau"], r["kd.tau"] = f, seed, "random", arch, tau, tau
                r["top1"] = r["best_top1"] = str(60 + float(f) * 10 + bonus + int(tau) / 2 + int(seed))
                rows.append(r)
pd.DataFrame(rows).to_csv(sys.argv[2], index=False)
PY
plot "$tmp/tau.csv" --out "$tmp/tau" --describe --samples 0 > "$tmp/tau.txt" 2>&1 || { cat "$tmp/tau.txt"; fail "a kd.tau axis with two teachers"; }
"$py" - "$tmp/tau.txt" <<'PY' || fail "fig11_tau"
import json, sys
figs = {d["figure"]: d for d in (json.loads(l) for l in open(sys.argv[1]) if l.startswith("{"))}
d = figs.get("fig11_tau")
assert d, "fig11_tau not drawn: " + ", ".join(figs)
assert [p["title"] for p in d["panels"]] == ["f = 0.1", "f = 0.3"], d["panels"]
assert d["xlabel"] == "KD temperature τ", d["xlabel"]
for s in d["series"]:
    f = float(s["panel"].split("= ")[1]); bonus = 3.0 if "resnet8" in s["label"] else 1.0
    assert s["x"] == [2.0, 4.0, 6.0], s
    want = [round(60 + f * 10 + bonus + t / 2 + 0.5, 4) for t in (2, 4, 6)]  # the mean of seeds 0 and 1
    assert s["y"] == want, (s["label"], s["y"], want)
assert sorted(s["label"].split(" (")[0] for s in d["series"]) == ["teacher resnet20"] * 2 + ["teacher resnet8"] * 2, d["series"]
for p in d["panels"]:
    assert p["references"] == [f"reference:no KD:f={p['title'].split('= ')[1]}"], p
assert "mean ± std over 2 seeds" in d["title"], d["title"]
PY

# Bad input: one line naming the file and what was expected.
echo "a,b" > "$tmp/bad.csv"
if "$py" "$root/scripts/plot_figures.py" "$tmp/bad.csv" --out "$tmp/fig6" 2> "$tmp/err.txt"; then
  fail "a CSV without the results columns was accepted"
fi
grep -q "bad.csv: not a kdprune results.csv" "$tmp/err.txt" || { cat "$tmp/err.txt"; fail "no clear message for a CSV without the columns"; }
sed '3s/,0.1,0,constant,/,abc,0,constant,/' "$tmp/results.csv" > "$tmp/nan.csv"
if "$py" "$root/scripts/plot_figures.py" "$tmp/nan.csv" --out "$tmp/fig6" 2> "$tmp/err.txt"; then
  fail "a non-numeric f was accepted"
fi
[ "$(wc -l < "$tmp/err.txt")" = 1 ] && grep -q "nan.csv: column f, line 3: expected a number, got 'abc'" "$tmp/err.txt" \
  || { cat "$tmp/err.txt"; fail "no one-line message for a non-numeric f"; }
echo "plot_figures: ok"
