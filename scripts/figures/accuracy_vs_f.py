"""Figure 3: accuracy vs the kept fraction f, one colour per pruner; dashed = no KD, solid = KD (the
best alpha per point when several were run, each point labelled with the alpha chosen)."""
import matplotlib.pyplot as plt
import pandas as pd

from . import style
from .style import (alpha_text, legend, most_rows, offsets, save, seeds_caption, set_title, shifted, stats,
                    teacher_caption, title)


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
    for (s, kw, mark), dx in zip(series, offsets(len(series))):
        t = shifted(ax, dx)
        ax.errorbar(s["f"], s["mean"], yerr=s["std"], capsize=3, transform=t, **kw)
        counts.extend(s["count"])
        if mark:  # the alpha "best α" chose at each f
            for _, r in s.iterrows():
                a = ax.annotate(alpha_text(r["alpha"], r["alpha_schedule"]), (r["f"], r["mean"]), xytext=(dx, 7),
                                textcoords="offset points", ha="center", fontsize=6, color=kw["color"])
                a.set_gid(f"best_alpha:{kw['label'].split(',')[0]}:f={r['f']:g}:alpha={r['alpha']:g}")
    ax.set_xlabel("kept fraction f")
    ax.set_ylabel(style.YLABEL)
    tcap = teacher_caption(df[df["kd"]])
    set_title(ax, title(df, "accuracy vs kept fraction"), [tcap, seeds_caption(counts)])
    ax.grid(alpha=0.3)
    ax.margins(y=0.1)  # room for the alpha labels
    legend(ax, beside=any(m for _, _, m in series))
    save(fig, out, "fig3_accuracy_vs_f")
