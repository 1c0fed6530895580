"""Shared by the figure modules: loading and checking results.csv files, the per-point statistics
and the choice of one condition per series, the axis orderings, captions, sideways offsets, the
legend, --describe and saving (PNG + PDF).

State the entry point sets or reads (plot_figures.py): DESCRIBE (--describe), YLABEL (set by load()
from --metric) and WARNINGS (points that average more than seeds, printed at the end). Read them as
style.YLABEL etc., not by `from ... import`, so that the values set at run time are seen.
"""
import json
import os
import re
import sys

import matplotlib.pyplot as plt
import matplotlib.transforms as mtransforms
import pandas as pd

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
        # precision: "" in CSVs from before the column (unknown, not a difference)
        mixed = [c for c in conds if (g[c][g[c] != ""] if c == "precision" else g[c]).nunique() > 1]
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
