#!/usr/bin/env python3
"""Paper-style figures from kdprune results.csv files (from `kdprune run` or `kdprune results`).

    scripts/plot_figures.py runs/quickstart/results.csv [more.csv ...] --out runs/quickstart/figures

Draws every figure the rows support (each needs at least two values on its x axis), as PNG and PDF:
  fig3_accuracy_vs_f        accuracy vs kept fraction f, one colour per pruner; dashed = no KD,
                            solid = KD (the best alpha per point when several were run)
  fig5_teacher_fraction     KD student accuracy vs the teacher's training fraction f_t, one line per f
  fig6_accuracy_vs_alpha    accuracy vs alpha, one line per f (constant alphas, one teacher)
  fig7_teacher_capacity     KD student accuracy vs teacher architecture, one line per f
  fig8_disjoint             KD student accuracy with the teacher's data disjoint from the student's
                            (teacher_part != data_part) vs the same data, per f
Points are the mean over seeds; error bars one standard deviation. The accuracy is the best test
top-1 over the evaluated epochs (`best_top1`, as the paper reports; --metric last: the final
epoch, `top1`; CSVs without best_top1 fall back to top1). Needs matplotlib and pandas
(Debian: python3-matplotlib python3-pandas).
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

REQUIRED = ["dataset", "pruner", "f", "alpha", "alpha_schedule", "teacher_arch", "teacher_f", "data_part", "seed", "top1"]


YLABEL = "test top-1 (%)"


def load(paths, metric="best"):
    frames = []
    for p in paths:
        try:
            df = pd.read_csv(p, keep_default_na=False, na_values=[])
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            sys.exit(f"plot_figures: {p}: cannot read as CSV ({e})")
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            sys.exit(f"plot_figures: {p}: not a kdprune results.csv (missing columns: {', '.join(missing)})")
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    global YLABEL
    if metric == "best" and "best_top1" in df.columns:
        # The plotted accuracy; rows of older CSVs without best_top1 keep their final top-1.
        best = pd.to_numeric(df["best_top1"].replace("", float("nan")), errors="coerce")
        df["top1"] = best.fillna(pd.to_numeric(df["top1"]))
        YLABEL = "best test top-1 (%)" if best.notna().all() else "best test top-1 (%; final where not recorded)"
    else:
        YLABEL = "final test top-1 (%)"
    for c in ("f", "alpha", "teacher_f", "top1"):
        df[c] = pd.to_numeric(df[c])
    df["kd"] = df["alpha"] != 0
    # The pruner as the accuracy table names it: level and class balance where not the default.
    def label(r):
        s = str(r["pruner"])
        level = str(r.get("level", ""))
        if level and level != ("moderate" if s == "moderate" else "hard"):
            s += "-" + level
        if str(r.get("class_balanced", "false")).lower() == "true" and s != "class_balanced_random":
            s += "-cb"
        sampling = str(r.get("sampling", ""))
        if sampling and sampling != "topk":
            s += "-" + sampling
        return s
    df["pruner"] = df.apply(label, axis=1)
    return df


def stats(df, keys):
    g = df.groupby(keys, sort=True)["top1"]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


def legend(ax):
    # Beside the axes once the entries would cover the curves.
    if len(ax.get_legend_handles_labels()[1]) > 8:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    else:
        ax.legend(fontsize=8)


def save(fig, out, name):
    for ext in ("png", "pdf"):
        fig.savefig(os.path.join(out, f"{name}.{ext}"), bbox_inches="tight", dpi=150)
    plt.close(fig)
    print(os.path.join(out, f"{name}.png"))


def title(df, what):
    ds = ", ".join(sorted(df["dataset"].unique()))
    return f"{ds}: {what}"


def fig3(df, out):
    # Students on the full data (pruner "none") belong to every pruner's curve.
    full = df[df["pruner"] == "none"]
    pruned = df[df["pruner"] != "none"]
    if pruned.empty or df["f"].nunique() < 2:
        return
    parts = [pruned]
    for p in pruned["pruner"].unique():
        parts.append(full.assign(pruner=p))
    d = pd.concat(parts, ignore_index=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, p in enumerate(sorted(d["pruner"].unique())):
        c = colours[i % len(colours)]
        sub = d[d["pruner"] == p]
        nokd = stats(sub[~sub["kd"]], ["f"])
        if len(nokd):
            ax.errorbar(nokd["f"], nokd["mean"], yerr=nokd["std"], color=c, ls="--", marker="o", capsize=3,
                        label=f"{p}, no KD")
        kd = stats(sub[sub["kd"]], ["f", "alpha"])
        if len(kd):
            best = kd.loc[kd.groupby("f")["mean"].idxmax()]
            label = f"{p}, KD" + (" (best α)" if kd["alpha"].nunique() > 1 else f" (α={kd['alpha'].iloc[0]:g})")
            ax.errorbar(best["f"], best["mean"], yerr=best["std"], color=c, ls="-", marker="s", capsize=3, label=label)
    ax.set_xlabel("kept fraction f")
    ax.set_ylabel(YLABEL)
    ax.set_title(title(df, "accuracy vs kept fraction"))
    ax.grid(alpha=0.3)
    legend(ax)
    save(fig, out, "fig3_accuracy_vs_f")


def lines_by_f(d, x, xlabel, name, what, out, categorical=False):
    s = stats(d, ["f", x])
    if s[x].nunique() < 2:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    order = list(dict.fromkeys(d[x])) if categorical else None
    for f in sorted(s["f"].unique()):
        sub = s[s["f"] == f]
        if categorical:
            sub = sub.set_index(x).reindex([o for o in order if o in set(sub[x])]).reset_index()
            xs = [order.index(v) for v in sub[x]]
        else:
            sub = sub.sort_values(x)
            xs = sub[x]
        ax.errorbar(xs, sub["mean"], yerr=sub["std"], marker="o", capsize=3, label=f"f = {f:g}")
    if categorical:
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels(order, rotation=20)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(YLABEL)
    ax.set_title(title(d, what))
    ax.grid(alpha=0.3)
    legend(ax)
    save(fig, out, name)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="results.csv files")
    ap.add_argument("--out", help="output folder (default: figures/ beside the first results.csv)")
    ap.add_argument("--pruner", default=None, help="pruner for figures 5-8 (default: random if present)")
    ap.add_argument("--metric", choices=["best", "last"], default="best",
                    help="best test top-1 over the evaluated epochs (the paper's, default) or the final epoch's")
    args = ap.parse_args()
    df = load(args.results, args.metric)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.results[0])), "figures")
    os.makedirs(out, exist_ok=True)
    if df.empty:
        sys.exit("plot_figures: no rows")
    fig3(df, out)

    # Figures 5-8 look at one pruner (students on the full data count for every pruner).
    pruners = [p for p in df["pruner"].unique() if p != "none"]
    pruner = args.pruner or ("random" if "random" in pruners else (pruners[0] if pruners else "none"))
    one = df[(df["pruner"] == pruner) | (df["pruner"] == "none")]
    const = one[one["alpha_schedule"] == "constant"]
    if "teacher_part" not in df.columns:
        df["teacher_part"] = ""
    const = const[const["data_part"] == "all"]
    kd_const = const[const["kd"]]
    if len(kd_const):
        # alpha sweeps use one teacher: the one most runs used
        arch, ft = kd_const.groupby(["teacher_arch", "teacher_f"]).size().idxmax()
        d = const[~const["kd"] | ((const["teacher_arch"] == arch) & (const["teacher_f"] == ft))]
        lines_by_f(d, "alpha", "α (KD weight)", "fig6_accuracy_vs_alpha", f"accuracy vs α ({pruner}, teacher {arch})", out)
    kd = one[one["kd"]]
    for ft, group in kd.groupby("teacher_f"):
        lines_by_f(group, "teacher_arch", "teacher architecture", "fig7_teacher_capacity" + ("" if ft == 1 else f"_ft{ft:g}"),
                   f"student vs teacher capacity ({pruner})", out, categorical=True)
    for arch, group in kd.groupby("teacher_arch"):
        lines_by_f(group, "teacher_f", "teacher training fraction f_t", "fig5_teacher_fraction_" + arch,
                   f"student vs teacher data ({pruner}, teacher {arch})", out)
    def setting(r):
        t, s = str(r.get("teacher_part", "")), str(r["data_part"])
        return "disjoint" if t in ("teacher", "student") and s in ("teacher", "student") and t != s else "same data"
    split = kd[kd["data_part"] != "all"]  # students of data.split experiments
    if len(split):
        d = split.assign(setting=split.apply(setting, axis=1))
        lines_by_f(d, "setting", "teacher data", "fig8_disjoint", f"disjoint teacher/student data ({pruner})", out,
                   categorical=True)


if __name__ == "__main__":
    main()
