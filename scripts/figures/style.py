"""Shared by the figure modules: loading and checking results.csv files (an empty teacher_f, or 0
on a KD row: f_t unknown, a PyTorch teacher; teacher_top1 optional), the per-point statistics and
the choice of one condition per series, the axis orderings, captions (wrapped to the figure),
--describe and saving (PNG + PDF, each to a temporary name renamed). Placement: layout.py.

State the entry point sets or reads (plot_figures.py): DESCRIBE (--describe), YLABEL (set by load()
from --metric), WARNINGS (points that average more than seeds) and NOTES (what was left out, and
why), both printed at the end. Read them as style.YLABEL etc., not by `from ... import`, so that
the values set at run time are seen.
"""
import json
import os
import re
import sys

import matplotlib.pyplot as plt
import pandas as pd

REQUIRED = ["dataset", "pruner", "f", "alpha", "alpha_schedule", "teacher_arch", "teacher_f", "data_part", "seed", "top1"]
# Columns that are results, not conditions; rows differing in any other column are not seeds of one point.
# teacher_top1: the teacher's outcome (and absent from older CSVs), not a condition of the student.
OUTCOMES = {"seed", "top1", "top5", "best_top1", "best_epoch", "wall_seconds", "subset_size", "run_dir", "kd",
            "teacher_top1"}

YLABEL = "test top-1 (%)"
DESCRIBE = False
WARNINGS = []
NOTES = []  # what was not drawn, and why


def load(paths, metric="best"):
    frames = []
    for p in paths:
        try:
            df = pd.read_csv(p, keep_default_na=False, na_values=[], dtype=str)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            sys.exit(f"plot_figures: {p}: cannot read as CSV ({e})")
        missing = [c for c in REQUIRED if c not in df.columns]
        if missing:
            sys.exit(f"plot_figures: {p}: not a kdprune results.csv (missing columns: {', '.join(missing)})")
        # Numbers where numbers are expected; teacher_f and teacher_top1 may be empty (unknown).
        for c in ("f", "alpha", "top1", "best_top1", "teacher_f", "teacher_top1"):
            if c in df.columns:
                bad = df[c][(df[c] != "") & pd.to_numeric(df[c], errors="coerce").isna()]
                if c in ("f", "alpha", "top1"):
                    bad = pd.concat([bad, df[c][df[c] == ""]])
                if len(bad):
                    sys.exit(f"plot_figures: {p}: column {c}, line {int(bad.index[0]) + 2}: expected a number, got {bad.iloc[0]!r}")
        frames.append(df)
    df = pd.concat(frames, ignore_index=True).fillna("")
    for c in ("level", "class_balanced", "sampling", "teacher_part", "teacher_top1"):
        if c not in df.columns:
            df[c] = ""  # older CSVs
    global YLABEL
    if metric == "best" and "best_top1" in df.columns:
        # The plotted accuracy; rows of older CSVs without best_top1 keep their final top-1.
        best = pd.to_numeric(df["best_top1"].replace("", float("nan")), errors="coerce")
        df["top1"] = best.fillna(pd.to_numeric(df["top1"]))
        YLABEL = "best test top-1 (%)" if best.notna().all() else "best test top-1 (%; final where not recorded)"
    else:
        YLABEL = "final test top-1 (%)"
    for c in ("f", "alpha", "top1"):
        df[c] = pd.to_numeric(df[c])
    # Empty = unknown (a PyTorch teacher); so is 0 on a KD row (older CSVs wrote 0 for unknown).
    for c in ("teacher_f", "teacher_top1"):
        df[c] = pd.to_numeric(df[c].replace("", float("nan")), errors="coerce")
    df["kd"] = df["alpha"] != 0
    df.loc[df["kd"] & (df["teacher_f"] == 0), "teacher_f"] = float("nan")
    # alpha 0 trains without a teacher: its teacher columns say nothing (0 or empty by version).
    df.loc[~df["kd"], ["teacher_arch", "teacher_part"]] = ""
    df.loc[~df["kd"], ["teacher_f", "teacher_top1"]] = float("nan")
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


UNKNOWN = -1.0  # an unknown f_t (NaN) while pandas groups: its NaN group keys are fragile


def groups(df, cols):
    """(key tuple, rows) per distinct value of cols, in sorted order; NaN (an unknown f_t) is a
    value of its own, kept as NaN in the key."""
    g = df.assign(**{c: df[c].fillna(UNKNOWN) for c in cols if df[c].dtype.kind == "f"})
    for k, sub in g.groupby(cols if len(cols) > 1 else cols[0], sort=True):
        k = k if isinstance(k, tuple) else (k,)
        yield tuple(float("nan") if isinstance(v, float) and v == UNKNOWN else v for v in k), df.loc[sub.index]


def same(col, value):
    """col == value, where NaN (an unknown f_t) equals NaN."""
    return col.isna() if pd.isna(value) else col == value


def stats(df, keys, where):
    """Mean, std and n of top1 per group of keys; warns when a group holds more than seeds."""
    conds = [c for c in df.columns if c not in OUTCOMES and c not in keys]
    for k, g in df.groupby(keys if len(keys) > 1 else keys[0], sort=True, dropna=False):
        # precision, best_by: "" in CSVs from before the column (unknown, not a difference)
        mixed = [c for c in conds if (g[c][g[c] != ""] if c in ("precision", "best_by") else g[c]).nunique(dropna=False) > 1]
        if mixed or g["seed"].nunique() < len(g):
            WARNINGS.append(f"{where}: the point {k} averages rows that differ in "
                            f"{', '.join(mixed) if mixed else 'nothing but repeat a seed'} (not only seeds)")
    g = df.groupby(keys, sort=True, dropna=False)["top1"]
    out = g.agg(["mean", "std", "count"]).reset_index()
    out["std"] = out["std"].fillna(0.0)
    return out


PART_RANK = {"all": 0, "": 0, "teacher": 1, "student": 2}


def most_rows(df, cols):
    """The values of cols (a tuple) that most rows have (NaN: an unknown f_t). Ties: the larger
    teacher_f (unknown last), then the teacher trained on the whole set, then on the teacher part
    (disjoint), then the first in order."""
    sizes = pd.DataFrame([dict(zip(cols, k), _n=len(g)) for k, g in groups(df, cols)])
    order = [sizes["_n"] * -1]
    if "teacher_f" in cols:
        order.append((-sizes["teacher_f"]).fillna(1.0))  # an unknown f_t after every known one
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


def teacher_top1(rows):
    """The teacher's test top-1 of these KD rows (one teacher), or None where not recorded."""
    v = rows["teacher_top1"].dropna() if "teacher_top1" in rows.columns else pd.Series(dtype=float)
    return float(v.mean()) if len(v) else None


def teacher_caption(kd_rows, accuracy=True):
    """Names the teacher(s) of the KD rows: architecture, f_t when not 1 (or unknown: a PyTorch
    teacher), the split part when used, and (accuracy) each teacher's own test top-1 where recorded."""
    if kd_rows.empty:
        return "no KD"
    archs = sorted(kd_rows["teacher_arch"].unique(), key=natural_key)
    known = sorted(kd_rows["teacher_f"].dropna().unique())
    unknown = bool(kd_rows["teacher_f"].isna().any())
    s = ("teachers " if len(archs) > 1 else "teacher ") + ", ".join(a or "?" for a in archs)
    if unknown and not known:
        s += " (f_t unknown)"
    elif known != [1.0] or unknown:
        s += " (f_t = " + ", ".join([f"{x:g}" for x in known] + (["unknown"] if unknown else [])) + ")"
    parts = sorted(p for p in kd_rows["teacher_part"].unique() if p not in ("", "all"))
    if parts:
        s += " trained on the " + " and ".join(parts) + " part" + ("s" if len(parts) > 1 else "")
    if accuracy:
        # One accuracy per teacher, named by what tells the teachers apart.
        keys = ["teacher_arch", "teacher_f", "teacher_part"]
        teachers = sorted(groups(kd_rows, keys),
                          key=lambda kv: (natural_key(kv[0][0]), 2.0 if pd.isna(kv[0][1]) else kv[0][1], kv[0][2]))
        varies = [kd_rows[k].nunique(dropna=False) > 1 for k in keys]
        tops = []
        for (arch, ft, part), g in teachers:
            t = teacher_top1(g)
            if t is not None:
                name = [arch if varies[0] else "", ("f_t ?" if pd.isna(ft) else f"f_t {ft:g}") if varies[1] else "",
                        part if varies[2] else ""]
                tops.append(" ".join([n for n in name if n] + [f"{t:.1f}"]))
        if tops:
            s += " · teacher top-1 " + ", ".join(tops) + " %"
    return s


def caption(fig, main, parts, fontsize=9, sep=" · "):
    """The title line, then the caption parts joined by sep and wrapped to the figure's width
    (matplotlib does not wrap titles: a long line would leave the figure)."""
    width = int(fig.get_figwidth() * 72 / (fontsize * 0.6))  # characters per line, roughly
    lines, line = [main], ""
    for p in (p for p in parts if p):
        if line and len(line) + len(sep) + len(p) > width:
            lines.append(line)
            line = p
        else:
            line = line + sep + p if line else p
    return "\n".join(lines + ([line] if line else []))


def set_title(ax, main, parts):
    ax.set_title(caption(ax.figure, main, parts), fontsize=9)


def describe(fig, name):
    """What the figure shows, read back from its artists (every panel)."""
    def text(attr):
        t = getattr(fig, attr, None)
        return t.get_text() if t is not None else ""

    ax0 = fig.axes[0]
    series, texts, marks, legend, panels = [], [], [], [], []
    for ax in fig.axes:
        base = ax.transData.transform((0, 0))
        for c in ax.containers:
            line = c.lines[0]
            bars = list(c.lines[2])
            dx = (line.get_transform().transform((0, 0)) - base)[0] * 72.0 / fig.dpi
            bars_dx = [(b.get_transform().transform((0, 0)) - base)[0] * 72.0 / fig.dpi for b in bars]
            drawn = [seg for b in bars for seg in b.get_segments() if all(v == v for v in seg.ravel())]
            series.append({"panel": ax.get_title(), "label": c.get_label(), "offset_pt": round(float(dx), 3),
                           "x": [float(v) for v in line.get_xdata()], "y": [round(float(v), 4) for v in line.get_ydata()],
                           "error_bars": len(drawn), "error_bar_offsets_pt": [round(float(x), 3) for x in bars_dx],
                           "joined": line.get_linestyle() not in ("None", "none", "", " ")})
        texts += [t.get_text() for t in ax.texts]
        marks += [a.get_gid() for a in list(ax.texts) + list(ax.lines) if (a.get_gid() or "").startswith("best_alpha")]
        if ax.get_legend():
            legend += [t.get_text() for t in ax.get_legend().get_texts()]
        panels.append({"title": ax.get_title(), "ylim": [round(float(v), 4) for v in ax.get_ylim()],
                       "references": [ln.get_gid() for ln in ax.lines if (ln.get_gid() or "").startswith("reference")]})
    lo, hi = sorted(ax0.get_xlim())
    xticks = [t.get_text() for t, v in zip(ax0.get_xticklabels(), ax0.get_xticks()) if lo <= v <= hi]
    return {"figure": name, "title": text("_suptitle") or ax0.get_title(), "xlabel": ax0.get_xlabel() or text("_supxlabel"),
            "ylabel": ax0.get_ylabel() or text("_supylabel"), "panels": panels, "texts": texts, "legend": legend,
            "series": series, "best_alpha": marks, "xticks": xticks}


def save(fig, out, name, describer=None):
    """PNG and PDF, each written to a temporary name and renamed (no half-written figure)."""
    for ext in ("png", "pdf"):
        path = os.path.join(out, f"{name}.{ext}")
        tmp = os.path.join(out, f".{name}.{ext}.tmp")
        fig.savefig(tmp, format=ext, bbox_inches="tight", dpi=150)
        os.replace(tmp, path)
    if DESCRIBE:
        print(json.dumps((describer or describe)(fig, name), ensure_ascii=False))
    plt.close(fig)
    print(os.path.join(out, f"{name}.png"))


def title(df, what):
    ds = ", ".join(sorted(df["dataset"].unique()))
    return f"{ds}: {what}"


def alpha_text(alpha, schedule):
    return f"α={alpha:g}" if schedule == "constant" else f"α={schedule} ({alpha:g})"
