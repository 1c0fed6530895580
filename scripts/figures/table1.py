"""Table 1 (KD plus a feature term per row, scripts/table1.sh): the table as the paper prints it
(table1: rows = methods, columns = f, cells = mean ± std over the seeds, the best mean per f in bold)
and the same as bars (table1_bars: one panel per f, one bar per method from 0 with its value written
in it, the best starred)."""
import os
import re

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
from matplotlib.container import BarContainer

from . import layout, style
from .style import save, seeds_caption, stats, teacher_caption, title


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
    fig, ax = plt.subplots(figsize=(2.2 + 1.5 * len(fs), 0.9 + 0.22 * (len(methods) + 1)), layout="constrained")
    ax.axis("off")
    # The table fills its axes (rows of equal height); the row labels stand left of it.
    tbl = ax.table(cellText=text, rowLabels=[method_label(m) for m in methods], colLabels=[f"f = {f:g}" for f in fs],
                   bbox=[0.0, 0.0, 1.0, 1.0], cellLoc="center")
    tbl.auto_set_font_size(False)
    tbl.set_fontsize(8)
    for i, m in enumerate(methods):
        for j, f in enumerate(fs):
            r = cell.get((m, f))
            if r is not None and r["mean"] == best[f]:
                tbl[(i + 1, j)].get_text().set_fontweight("bold")
    tseeds = seeds.replace("no error bars", "no ± std").replace("no error bar", "no ± std")
    fig.suptitle(style.caption(fig, head, [nets, tseeds, style.YLABEL, "bold: best mean per f", loss], fontsize=8, sep="; "),
                 fontsize=8)
    save(fig, out, "table1", describe_table1)

    # The same as bars: one panel per f, one bar per method from 0 (the bar's length is the
    # accuracy), its value written in it, error bars one standard deviation, the best mean starred.
    k = len(methods)
    fig, axes = plt.subplots(1, len(fs), figsize=(1.2 + len(fs) * (0.3 * k + 0.9), 4.6), squeeze=False, sharey=True,
                             layout="constrained")
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
    top = max(r["mean"] + r["std"] for r in cell.values())
    for ax, f in zip(axes, fs):
        for x, m in enumerate(methods):
            r = cell.get((m, f))
            if r is None:
                continue
            y, e = r["mean"], r["std"]
            ax.bar([x], [y], 0.8, yerr=[e] if r["count"] > 1 else None, capsize=2, color=colour[m], edgecolor="black",
                   linewidth=0.4, label=method_label(m), error_kw={"elinewidth": 0.8})
            # The value, upright at the bar's foot (clear of the error bar), dark on light bars.
            light = sum(mcolors.to_rgb(colour[m])) / 3 > 0.5
            ax.text(x, top * 0.02, f"{y:.2f}", rotation=90, ha="center", va="bottom", fontsize=6.5,
                    color="black" if light else "white", gid=f"value:f={f:g}:method={m}")
            if y == best[f]:
                a = ax.annotate("★", (x, y + e), xytext=(0, 1), textcoords="offset points", ha="center", va="bottom", fontsize=9)
                a.set_gid(f"best_method:f={f:g}:method={m}")
        ax.set_ylim(0, top * 1.08)
        ax.set_xticks(range(k))
        ax.set_xticklabels([method_label(m) for m in methods], rotation=60, ha="right", fontsize=7)
        ax.set_title(f"f = {f:g}", fontsize=9)
        ax.grid(alpha=0.3, axis="y")
        ax.tick_params(axis="y", labelsize=7)
    axes[0].set_ylabel(style.YLABEL)
    fig.suptitle(style.caption(fig, head, [nets, seeds, "★ best mean per f", loss], fontsize=8, sep="; "), fontsize=8)
    layout.keep_inside(fig)
    save(fig, out, "table1_bars", describe_table1)
