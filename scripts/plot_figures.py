#!/usr/bin/env python3
"""Paper-style figures from kdprune results.csv files (from `kdprune run` or `kdprune results`).

    scripts/plot_figures.py runs/quickstart/results.csv [more.csv ...] --out runs/quickstart/figures

Draws every figure the rows support (each needs at least two values on its x axis), as PNG and PDF:
  fig3_accuracy_vs_f        accuracy vs kept fraction f, one colour per pruner; dashed = no KD,
                            solid = KD (the best alpha per point when several were run, each point
                            labelled with the alpha chosen)
  fig5_teacher_fraction     KD student accuracy vs the teacher's training fraction f_t, one line per f
                            (figures 5-8: a line per f that has two x values or more)
  fig6_accuracy_vs_alpha    accuracy vs alpha, one line per f (constant alphas, one teacher); the
                            best alpha of each line is starred and labelled
  fig7_teacher_capacity     KD student accuracy vs teacher architecture, one line per f
  fig8_disjoint             KD student accuracy with the teacher's data disjoint from the student's
                            (teacher_part != data_part) vs the same data, per f
Points are the mean over seeds; error bars one standard deviation. Each figure says so under its
title, with the number of seeds computed from the rows (and "no error bars" where a point has one
seed), names the teacher (architecture, f_t when not 1, the alpha where fixed), and shifts its
series sideways by a few points so that error bars at the same x do not hide each other. A point
averages only rows that differ in the seed: figures 3 and 5-8 keep one condition per series (the
students on the whole training set, data_part all, except figure 8; one teacher, the one most rows
used, where the teacher is not what the figure varies; one alpha in figures 5, 7 and 8, the one
most rows used); a point that would still average other differences is reported on stderr.
The accuracy is the best test top-1 over the evaluated epochs (`best_top1`, as the paper reports;
--metric last: the final epoch, `top1`; CSVs without best_top1 fall back to top1).
--describe prints, per figure, one JSON line with what was drawn (titles, texts, legend, each
series' sideways offset, the best-alpha marks), read back from the figure itself.

Table 1 (KD plus a feature term per row, scripts/table1.sh): given the merged CSV that script
writes (<runs>/<NAME>-table1.csv: a `method` column, none / kd / the feature term), or any
results.csv with --table1, it draws only
  table1                    the table as the paper prints it: rows = methods, columns = f, cells =
                            mean ± std over the seeds, the best mean per f in bold
  table1_bars               the same as bars, one panel per f (its own y range, not from 0), one
                            bar per method, error bars one standard deviation, the best starred
Each states its error bars and seed count, names the teacher and the student, and gives the loss
of each row. Without a method column (--table1 on kdprune results.csv files) the method is the
results' kd_extra/extra column where present, else none for α = 0, else the term the experiment
folder's name ends with (scripts/table1.sh names them <NAME>-<term>, or <NAME>-<term>-b<beta> for
a term with its own beta, drawn as "TERM (β = beta)"), else kd.
Needs matplotlib and pandas (Debian: python3-matplotlib python3-pandas).
"""
import argparse
import json
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.transforms as mtransforms  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
import pandas as pd  # noqa: E402

REQUIRED = ["dataset", "pruner", "f", "alpha", "alpha_schedule", "teacher_arch", "teacher_f", "data_part", "seed", "top1"]
# Columns that are results, not conditions; rows differing in any other column are not seeds of one point.
OUTCOMES = {"seed", "top1", "top5", "best_top1", "best_epoch", "wall_seconds", "subset_size", "run_dir", "kd"}

YLABEL = "test top-1 (%)"
DESCRIBE = False
WARNINGS = []


def load(paths, metric="best"):
    frames = []
    for p in paths:
        try:
            df = pd.read_csv(p, keep_default_na=False, na_values=[], dtype=str)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            sys.exit(f"plot_figures: {p}: cannot read as CSV ({e})")
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            sys.exit(f"plot_figures: {p}: not a kdprune results.csv (missing columns: {', '.join(missing)})")
        frames.append(df)
    df = pd.concat(frames, ignore_index=True).fillna("")
    for c in ("level", "class_balanced", "sampling", "teacher_part"):
        if c not in df.columns:
            df[c] = ""
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
    df["level"] = ""  # folded into the pruner label
    df["class_balanced"] = ""
    df["sampling"] = ""
    return df


def stats(df, keys, where):
    """Mean, std and n of top1 per group of keys; warns when a group holds more than seeds."""
    conds = [c for c in df.columns if c not in OUTCOMES and c not in keys]
    for k, g in df.groupby(keys if len(keys) > 1 else keys[0], sort=True):
        mixed = [c for c in conds if g[c].nunique() > 1]
        if mixed or g["seed"].nunique() < len(g):
            WARNINGS.append(f"{where}: the point {k} averages rows that differ in "
                            f"{', '.join(mixed) if mixed else 'nothing but repeat a seed'} (not only seeds)")
    g = df.groupby(keys, sort=True)["top1"]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


PART_RANK = {"all": 0, "": 0, "teacher": 1, "student": 2}


def most_rows(df, cols):
    """The values of cols (a tuple) that most rows have. Ties: the larger teacher_f, then the
    teacher trained on the whole set, then on the teacher part (disjoint), then the first in order."""
    sizes = df.groupby(cols, sort=True).size().reset_index(name="_n")
    order = [sizes["_n"] * -1]
    if "teacher_f" in cols:
        order.append(-sizes["teacher_f"])
    if "teacher_part" in cols:
        order.append(sizes["teacher_part"].map(lambda p: PART_RANK.get(p, 3)))
    sizes = sizes.assign(**{f"_k{i}": o for i, o in enumerate(order)})
    best = sizes.sort_values([f"_k{i}" for i in range(len(order))], kind="stable").iloc[0]
    return tuple(best[c] for c in cols)


def seeds_caption(counts):
    counts = [int(n) for n in counts]
    lo, hi = min(counts), max(counts)
    if hi == 1:
        return "1 seed per point (n = 1): no error bars"
    if lo == hi:
        return f"mean ± std over {hi} seeds"
    return f"mean ± std over {lo}–{hi} seeds per point" + (" (n = 1: no error bar)" if lo == 1 else "")


def natural_key(name):
    """Orders architectures by their numbers (resnet8 < resnet20 < resnet110, wrn_16_2 < wrn_40_2),
    which within a family is their capacity: a plain string sort puts resnet20 before resnet8."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|\D+", str(name or ""))]


def teacher_caption(kd_rows):
    """Names the teacher(s) of the KD rows: architecture, f_t when not 1, the split part when used."""
    if kd_rows.empty:
        return "no KD"
    archs = sorted(kd_rows["teacher_arch"].unique(), key=natural_key)
    fts = sorted(kd_rows["teacher_f"].unique())
    s = ("teachers " if len(archs) > 1 else "teacher ") + ", ".join(a or "?" for a in archs)
    if fts != [1.0]:
        s += " (f_t = " + ", ".join(f"{x:g}" for x in fts) + ")"
    parts = sorted(p for p in kd_rows.get("teacher_part", pd.Series(dtype=str)).unique() if p not in ("", "all"))
    if parts:
        s += " trained on the " + " and ".join(parts) + " part" + ("s" if len(parts) > 1 else "")
    return s


def set_title(ax, main, parts):
    ax.set_title(main + "\n" + " · ".join(p for p in parts if p), fontsize=9)


def offsets(k, step=5.0):
    """Sideways shifts in points for k series, centred on the true x."""
    step = min(step, 30.0 / max(k, 1))
    return [(i - (k - 1) / 2) * step for i in range(k)]


def shifted(ax, dx):
    return mtransforms.offset_copy(ax.transData, fig=ax.figure, x=dx, y=0, units="points")


def legend(ax, beside=False):
    # Beside the axes once the entries would cover the curves (or the best-alpha labels).
    if beside or len(ax.get_legend_handles_labels()[1]) > 8:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    else:
        ax.legend(fontsize=8)


def describe(fig, name):
    """What the figure shows, read back from its artists."""
    ax = fig.axes[0]
    base = ax.transData.transform((0, 0))
    series = []
    for c in ax.containers:
        line = c.lines[0]
        bars = list(c.lines[2])
        dx = (line.get_transform().transform((0, 0)) - base)[0] * 72.0 / fig.dpi
        bars_dx = [(b.get_transform().transform((0, 0)) - base)[0] * 72.0 / fig.dpi for b in bars]
        series.append({"label": c.get_label(), "offset_pt": round(float(dx), 3),
                       "error_bar_offsets_pt": [round(float(x), 3) for x in bars_dx]})
    marks = [a.get_gid() for a in list(ax.texts) + list(ax.lines) if (a.get_gid() or "").startswith("best_alpha")]
    leg = ax.get_legend()
    return {"figure": name, "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "texts": [t.get_text() for t in ax.texts], "legend": [t.get_text() for t in leg.get_texts()] if leg else [],
            "series": series, "best_alpha": marks, "xticks": [t.get_text() for t in ax.get_xticklabels()]}


def save(fig, out, name, describer=None):
    for ext in ("png", "pdf"):
        fig.savefig(os.path.join(out, f"{name}.{ext}"), bbox_inches="tight", dpi=150)
    if DESCRIBE:
        print(json.dumps((describer or describe)(fig, name), ensure_ascii=False))
    plt.close(fig)
    print(os.path.join(out, f"{name}.png"))


def title(df, what):
    ds = ", ".join(sorted(df["dataset"].unique()))
    return f"{ds}: {what}"


def alpha_text(alpha, schedule):
    return f"α={alpha:g}" if schedule == "constant" else f"α={schedule} ({alpha:g})"


def fig3(df, out):
    # Students on the whole training set; those on all the data (pruner "none") belong to every
    # pruner's curve. KD: one teacher, the one most rows used.
    part = "all" if (df["data_part"] == "all").any() else most_rows(df, ["data_part"])[0]
    df = df[df["data_part"] == part]
    full = df[df["pruner"] == "none"]
    pruned = df[df["pruner"] != "none"]
    if pruned.empty or df["f"].nunique() < 2:
        return
    kd_all = df[df["kd"]]
    if len(kd_all):
        teacher = most_rows(kd_all, ["teacher_arch", "teacher_f", "teacher_part"])
        keep = (kd_all["teacher_arch"] == teacher[0]) & (kd_all["teacher_f"] == teacher[1]) & (kd_all["teacher_part"] == teacher[2])
        df = pd.concat([df[~df["kd"]], kd_all[keep]])
        full = df[df["pruner"] == "none"]
        pruned = df[df["pruner"] != "none"]
    parts = [pruned]
    for p in pruned["pruner"].unique():
        parts.append(full.assign(pruner=p))
    d = pd.concat(parts, ignore_index=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    series = []
    for i, p in enumerate(sorted(d["pruner"].unique())):
        c = colours[i % len(colours)]
        sub = d[d["pruner"] == p]
        nokd = stats(sub[~sub["kd"]], ["f"], f"fig3 {p} no KD")
        if len(nokd):
            series.append((nokd, dict(color=c, ls="--", marker="o", label=f"{p}, no KD"), None))
        kd = stats(sub[sub["kd"]], ["f", "alpha", "alpha_schedule"], f"fig3 {p} KD")
        if len(kd):
            best = kd.loc[kd.groupby("f")["mean"].idxmax()]
            several = len(kd.groupby(["alpha", "alpha_schedule"])) > 1
            label = f"{p}, KD" + (" (best α, labelled)" if several else f" ({alpha_text(kd['alpha'].iloc[0], kd['alpha_schedule'].iloc[0])})")
            series.append((best, dict(color=c, ls="-", marker="s", label=label), several))
    counts = []
    for (s, style, mark), dx in zip(series, offsets(len(series))):
        t = shifted(ax, dx)
        ax.errorbar(s["f"], s["mean"], yerr=s["std"], capsize=3, transform=t, **style)
        counts.extend(s["count"])
        if mark:  # the alpha "best α" chose at each f
            for _, r in s.iterrows():
                a = ax.annotate(alpha_text(r["alpha"], r["alpha_schedule"]), (r["f"], r["mean"]), xytext=(dx, 7),
                                textcoords="offset points", ha="center", fontsize=6, color=style["color"])
                a.set_gid(f"best_alpha:{style['label'].split(',')[0]}:f={r['f']:g}:alpha={r['alpha']:g}")
    ax.set_xlabel("kept fraction f")
    ax.set_ylabel(YLABEL)
    tcap = teacher_caption(df[df["kd"]])
    set_title(ax, title(df, "accuracy vs kept fraction"), [tcap, seeds_caption(counts)])
    ax.grid(alpha=0.3)
    ax.margins(y=0.1)  # room for the alpha labels
    legend(ax, beside=any(m for _, _, m in series))
    save(fig, out, "fig3_accuracy_vs_f")


def lines_by_f(d, x, xlabel, name, what, out, caption, categorical=False, mark_best=False):
    s = stats(d, ["f", x], name)
    if s[x].nunique() < 2:
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    # One line per f with at least two x values (a single point is no curve, and no best alpha).
    s = s[s.groupby("f")[x].transform("nunique") > 1]
    if s.empty:
        return
    # categorical: True (natural order of the names) or the order itself
    if categorical is True:
        order = sorted(set(s[x]), key=natural_key)
    elif categorical:
        order = [v for v in categorical if v in set(s[x])]
    else:
        order = None
    fs = sorted(s["f"].unique())
    counts = []
    for f, dx in zip(fs, offsets(len(fs))):
        sub = s[s["f"] == f]
        if categorical:
            sub = sub.set_index(x).reindex([o for o in order if o in set(sub[x])]).reset_index()
            xs = [order.index(v) for v in sub[x]]
        else:
            sub = sub.sort_values(x)
            xs = list(sub[x])
        t = shifted(ax, dx)
        c = ax.errorbar(xs, sub["mean"], yerr=sub["std"], marker="o", capsize=3, label=f"f = {f:g}", transform=t)
        counts.extend(sub["count"])
        if mark_best:  # the alpha that "best α" picks at this f
            j = int(sub["mean"].values.argmax())
            colour = c.lines[0].get_color()
            m, = ax.plot([xs[j]], [sub["mean"].iloc[j]], marker="*", ms=13, color=colour, mec="black", mew=0.6,
                         ls="none", transform=t, zorder=5, label="best α" if f == fs[0] else None)
            m.set_gid(f"best_alpha:f={f:g}:alpha={sub[x].iloc[j]:g}")
            a = ax.annotate(f"best α={sub[x].iloc[j]:g}", (xs[j], sub["mean"].iloc[j]), xytext=(dx, 8),
                            textcoords="offset points", ha="center", fontsize=6, color=colour)
            a.set_gid(f"best_alpha_label:f={f:g}:alpha={sub[x].iloc[j]:g}")
    if categorical:
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels(order, rotation=20)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(YLABEL)
    set_title(ax, title(d, what), caption + [seeds_caption(counts)])
    ax.grid(alpha=0.3)
    ax.margins(y=0.1)
    legend(ax, beside=mark_best)
    save(fig, out, name)


METHOD_NAMES = {"none": "no KD (CE only)", "kd": "KD", "fitnet": "FitNets", "at": "AT", "sp": "SP", "pkt": "PKT",
                "rkd": "RKD", "vid": "VID", "nst": "NST", "cc": "CC", "ab": "AB", "ft": "FT", "fsp": "FSP", "crd": "CRD"}


def method_label(m):
    if m.startswith("kd-a"):  # several vanilla-KD alphas in one table
        return f"KD (α = {m[4:]})"
    t = re.fullmatch(r"(.+)-b([0-9.eE+-]+)", m)  # a term with its own beta (METHODS=TERM:BETA)
    if t:
        return f"{METHOD_NAMES.get(t.group(1), t.group(1).upper())} (β = {t.group(2)})"
    return METHOD_NAMES.get(m, m.upper())


def with_methods(df):
    """The rows with a `method` column: the merged CSV's own, or derived (--table1 on results.csv
    files): the results' kd_extra/extra column, else none for alpha 0, else the term the
    experiment folder's name ends with (<NAME>-<term>, as scripts/table1.sh names them), else kd."""
    if "method" in df.columns:
        return df.assign(method=df["method"].astype(str))
    extra_col = next((c for c in ("kd_extra", "extra") if c in df.columns), None)
    terms = [m for m in METHOD_NAMES if m not in ("none", "kd")]

    def method(r):
        if not r["kd"]:
            return "none"
        if extra_col and str(r[extra_col]):
            return str(r[extra_col])
        folder = os.path.basename(os.path.dirname(str(r.get("run_dir", "")).rstrip("/")))
        for t in terms:
            m = re.search(r"-(" + t + r"(-b[0-9.eE+-]+)?)$", folder)
            if m:
                return m.group(1)
        return "kd"
    return df.assign(method=df.apply(method, axis=1))


def table1_caption(df, counts):
    """Error bars and seeds, networks, pruner, the loss of each row."""
    kd_rows = df[df["kd"]]
    parts = [seeds_caption(counts), teacher_caption(kd_rows),
             "student " + ", ".join(sorted(a for a in df["student_arch"].unique() if a)) if "student_arch" in df.columns else ""]
    pruners = sorted(p for p in df["pruner"].unique() if p != "none")
    loss = ["L = CE + α·KD + β·L_R"]
    vanilla = df[df["method"].str.startswith("kd")]
    if len(vanilla):
        loss.append("KD row α = " + ", ".join(f"{a:g}" for a in sorted(vanilla["alpha"].unique())) + ", β = 0")
    feature = df[~df["method"].str.startswith("kd") & (df["method"] != "none")]
    if len(feature):
        beta = ""
        if "beta" in feature.columns:  # the merged CSV's
            beta = ", β = " + ", ".join(sorted({str(b) for b in feature["beta"]}, key=float))
        loss.append("feature rows α = " + ", ".join(f"{a:g}" for a in sorted(feature["alpha"].unique())) + beta)
    return [", ".join(pruners) + " pruning" if pruners else "", ", ".join(p for p in parts[1:] if p)], \
        parts[0], "; ".join(loss)


def describe_table1(fig, name):
    """What a Table 1 figure shows: its title (the suptitle for the panels), the table's cells and
    which are bold, each panel's bars (label, height, whether an error bar is drawn), the stars."""
    axes = fig.axes
    sup = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
    d = {"figure": name, "title": sup or axes[0].get_title(), "panels": [], "texts": [], "best": []}
    for ax in axes:
        d["texts"] += [t.get_text() for t in ax.texts]
        d["best"] += [a.get_gid() for a in ax.texts if (a.get_gid() or "").startswith("best_method")]
        if ax.tables:
            cells = ax.tables[0].get_celld()
            nrow = max(r for r, _ in cells) + 1
            ncol = max(c for _, c in cells) + 1
            d["table"] = [[cells[(r, c)].get_text().get_text() for c in range(-1, ncol) if (r, c) in cells] for r in range(nrow)]
            d["bold"] = [cells[key].get_text().get_text() for key in sorted(cells)
                         if key[0] > 0 and key[1] >= 0 and cells[key].get_text().get_fontweight() == "bold"]
        bars = [{"label": c.get_label(), "height": round(float(c.patches[0].get_height()), 4),
                 "error_bar": c.errorbar is not None and len(c.errorbar.lines[2]) > 0}
                for c in ax.containers if isinstance(c, BarContainer)]
        if bars:
            d["panels"].append({"title": ax.get_title(), "ylabel": ax.get_ylabel(), "ylim": [round(float(v), 4) for v in ax.get_ylim()],
                                "bars": bars})
    return d


def table1(df, out):
    df = with_methods(df)
    if df.empty:
        return
    s = stats(df, ["method", "f"], "table1")
    methods = list(dict.fromkeys(df["method"]))  # the merged CSV's order: none, kd, the terms
    if "none" in methods:
        methods.remove("none")
        methods.insert(0, "none")
    fs = sorted(s["f"].unique())
    cell = {(r["method"], r["f"]): r for _, r in s.iterrows()}
    best = {f: s[s["f"] == f]["mean"].max() for f in fs}
    (where, nets), seeds, loss = table1_caption(df, list(s["count"]))
    head = title(df, "Table 1, KD with a feature term" + (f" ({where})" if where else ""))

    # The table, as printed in the paper.
    text = []
    for m in methods:
        row = []
        for f in fs:
            r = cell.get((m, f))
            if r is None:
                row.append("–")
            else:
                row.append(f"{r['mean']:.2f} ± {r['std']:.2f}" if r["count"] > 1 else f"{r['mean']:.2f}")
        text.append(row)
    fig, ax = plt.subplots(figsize=(2.2 + 1.5 * len(fs), 0.5 + 0.25 * (len(methods) + 1)))
    ax.axis("off")
    tbl = ax.table(cellText=text, rowLabels=[method_label(m) for m in methods], colLabels=[f"f = {f:g}" for f in fs],
                   loc="upper center", cellLoc="center")
    tbl.auto_set_font_size(False)
    tbl.set_fontsize(8)
    tbl.scale(1, 1.3)
    for i, m in enumerate(methods):
        for j, f in enumerate(fs):
            r = cell.get((m, f))
            if r is not None and r["mean"] == best[f]:
                tbl[(i + 1, j)].get_text().set_fontweight("bold")
    tseeds = seeds.replace("no error bars", "no ± std").replace("no error bar", "no ± std")
    ax.set_title("\n".join([head, nets, tseeds + "; " + YLABEL + "; bold: best mean per f", loss]), fontsize=8)
    save(fig, out, "table1", describe_table1)

    # The same as bars: one panel per f (its own y range, so that differences of a point show),
    # one bar per method, error bars one standard deviation, the best mean starred.
    k = len(methods)
    fig, axes = plt.subplots(1, len(fs), figsize=(1.2 + len(fs) * (0.3 * k + 0.7), 4.2), squeeze=False)
    axes = list(axes[0])
    colours = [c for c in plt.rcParams["axes.prop_cycle"].by_key()["color"] if c.lower() != "#7f7f7f"]
    fixed = {"none": "0.8", "kd": "0.35"}
    colour, i = {}, 0
    for m in methods:
        if m in fixed:
            colour[m] = fixed[m]
        else:
            colour[m] = colours[i % len(colours)]
            i += 1
    cuts = []
    for ax, f in zip(axes, fs):
        lo, hi = float("inf"), float("-inf")
        for x, m in enumerate(methods):
            r = cell.get((m, f))
            if r is None:
                continue
            y, e = r["mean"], r["std"]
            ax.bar([x], [y], 0.8, yerr=[e] if r["count"] > 1 else None, capsize=2, color=colour[m], edgecolor="black",
                   linewidth=0.4, label=method_label(m), error_kw={"elinewidth": 0.8})
            lo, hi = min(lo, y - e), max(hi, y + e)
            if y == best[f]:
                a = ax.annotate("★", (x, y + e), xytext=(0, 1), textcoords="offset points", ha="center", va="bottom", fontsize=9)
                a.set_gid(f"best_method:f={f:g}:method={m}")
        pad = max(0.5, 0.2 * (hi - lo))
        bottom = max(0.0, float(int(lo - pad)))
        cuts.append(bottom)
        ax.set_ylim(bottom, hi + pad)
        ax.set_xticks(range(k))
        ax.set_xticklabels([method_label(m) for m in methods], rotation=60, ha="right", fontsize=7)
        ax.set_title(f"f = {f:g}", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
        ax.tick_params(axis="y", labelsize=7)
    axes[0].set_ylabel(YLABEL)
    cut = "each panel's y axis starts above 0" if any(c > 0 for c in cuts) else ""
    fig.suptitle("\n".join([head, nets, seeds + "; ★ best mean per f" + (f"; {cut}" if cut else ""), loss]), fontsize=8)
    fig.tight_layout()
    save(fig, out, "table1_bars", describe_table1)

def main():
    global DESCRIBE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="results.csv files")
    ap.add_argument("--out", help="output folder (default: figures/ beside the first results.csv)")
    ap.add_argument("--pruner", default=None, help="pruner for figures 5-8 (default: random if present)")
    ap.add_argument("--metric", choices=["best", "last"], default="best",
                    help="best test top-1 over the evaluated epochs (the paper's, default) or the final epoch's")
    ap.add_argument("--describe", action="store_true",
                    help="print one JSON line per figure: titles, texts, legend, series offsets, best-alpha marks")
    ap.add_argument("--table1", action="store_true",
                    help="draw Table 1 (KD + feature terms) only; implied by a CSV with a method column (scripts/table1.sh's)")
    args = ap.parse_args()
    DESCRIBE = args.describe
    df = load(args.results, args.metric)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.results[0])), "figures")
    os.makedirs(out, exist_ok=True)
    if df.empty:
        sys.exit("plot_figures: no rows")
    if args.table1 or "method" in df.columns:
        # The rows differ in the KD term: the other figures would average the terms together.
        table1(df, out)
        for w in WARNINGS:
            print("plot_figures: warning: " + w, file=sys.stderr)
        return
    fig3(df, out)

    # Figures 5-8 look at one pruner (students on the full data count for every pruner).
    pruners = [p for p in df["pruner"].unique() if p != "none"]
    pruner = args.pruner or ("random" if "random" in pruners else (pruners[0] if pruners else "none"))
    one = df[(df["pruner"] == pruner) | (df["pruner"] == "none")]
    whole = one[one["data_part"] == "all"]  # students on the whole training set
    const = whole[whole["alpha_schedule"] == "constant"]
    kd_const = const[const["kd"]]
    if len(kd_const):
        # alpha sweeps use one teacher: the one most runs used
        arch, ft, part = most_rows(kd_const, ["teacher_arch", "teacher_f", "teacher_part"])
        sel = (const["teacher_arch"] == arch) & (const["teacher_f"] == ft) & (const["teacher_part"] == part)
        d = const[~const["kd"] | sel]
        lines_by_f(d, "alpha", "α (KD weight)", "fig6_accuracy_vs_alpha", f"accuracy vs α ({pruner})", out,
                   [teacher_caption(d[d["kd"]]), "★ best α per f"], mark_best=True)
    kd = whole[whole["kd"]]
    if len(kd):
        # Teacher figures at one alpha: the one most KD rows used.
        alpha, schedule = most_rows(kd, ["alpha", "alpha_schedule"])
        kd = kd[(kd["alpha"] == alpha) & (kd["alpha_schedule"] == schedule)]
        acap = alpha_text(alpha, schedule)
        for ft, group in kd.groupby("teacher_f"):
            lines_by_f(group, "teacher_arch", "teacher architecture", "fig7_teacher_capacity" + ("" if ft == 1 else f"_ft{ft:g}"),
                       f"student vs teacher capacity ({pruner})", out, [teacher_caption(group), acap], categorical=True)
        for arch, group in kd.groupby("teacher_arch"):
            lines_by_f(group, "teacher_f", "teacher training fraction f_t", "fig5_teacher_fraction_" + arch,
                       f"student vs teacher data ({pruner})", out, ["teacher " + arch, acap])
    def setting(r):
        t, s = str(r.get("teacher_part", "")), str(r["data_part"])
        return "disjoint" if t in ("teacher", "student") and s in ("teacher", "student") and t != s else "same data"
    split = one[one["kd"] & (one["data_part"] != "all")]  # students of data.split experiments
    if len(split):
        arch, ft, alpha, schedule = most_rows(split, ["teacher_arch", "teacher_f", "alpha", "alpha_schedule"])
        split = split[(split["teacher_arch"] == arch) & (split["teacher_f"] == ft) & (split["alpha"] == alpha)
                      & (split["alpha_schedule"] == schedule)]
        d = split.assign(setting=split.apply(setting, axis=1)).drop(columns=["teacher_part", "data_part"])
        lines_by_f(d, "setting", "teacher data", "fig8_disjoint", f"disjoint teacher/student data ({pruner})", out,
                   [teacher_caption(d), alpha_text(alpha, schedule)], categorical=["same data", "disjoint"])
    for w in WARNINGS:
        print("plot_figures: warning: " + w, file=sys.stderr)


if __name__ == "__main__":
    main()
