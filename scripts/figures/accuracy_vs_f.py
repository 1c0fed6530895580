"""Figure 3: accuracy vs the kept fraction f per pruner; dashed = no KD, solid = KD (the best alpha
per point when several were run, each point labelled with the alpha chosen). Up to three pruners
share one panel; more get a panel each (shared axes), random's KD curve drawn faintly in the others
for comparison, so that many pruners stay readable."""
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D

from . import layout, style
from .style import alpha_text, most_rows, same, save, seeds_caption, set_title, stats, teacher_caption, title

ONE_PANEL = 3  # pruners drawn together; more: one panel each


def select(df):
    """The rows of the figure: students on the whole training set, KD from one teacher (the one
    most rows used); the students on all the data (pruner "none") belong to every pruner's curve."""
    part = "all" if (df["data_part"] == "all").any() else most_rows(df, ["data_part"])[0]
    df = df[df["data_part"] == part]
    kd_all = df[df["kd"]]
    if len(kd_all):
        arch, ft, tpart = most_rows(kd_all, ["teacher_arch", "teacher_f", "teacher_part"])
        keep = (kd_all["teacher_arch"] == arch) & same(kd_all["teacher_f"], ft) & (kd_all["teacher_part"] == tpart)
        df = pd.concat([df[~df["kd"]], kd_all[keep]])
    return df


def curves(sub, p):
    """(no-KD stats, KD stats at the best alpha per f, whether several alphas were run) of one pruner."""
    nokd = stats(sub[~sub["kd"]], ["f"], f"fig3 {p} no KD")
    kd = stats(sub[sub["kd"]], ["f", "alpha", "alpha_schedule"], f"fig3 {p} KD")
    several = len(kd.groupby(["alpha", "alpha_schedule"])) > 1 if len(kd) else False
    best = kd.loc[kd.groupby("f")["mean"].idxmax()] if len(kd) else kd
    return nokd, best, several


def fig3(df, out):
    df = select(df)
    full = df[df["pruner"] == "none"]
    pruned = df[df["pruner"] != "none"]
    if pruned.empty or df["f"].nunique() < 2:
        return
    pruners = sorted(pruned["pruner"].unique())
    data = {p: pd.concat([pruned[pruned["pruner"] == p], full.assign(pruner=p)], ignore_index=True) for p in pruners}
    facets = len(pruners) > ONE_PANEL
    groups = [[p] for p in pruners] if facets else [pruners]
    fig, axes = layout.panels(len(groups))
    reference = "random" if facets and "random" in pruners else None
    # The default colours; without their grey where random's grey reference curve is drawn.
    colours = [c for c in plt.rcParams["axes.prop_cycle"].by_key()["color"] if not (reference and c.lower() == "#7f7f7f")]
    colour = {p: colours[i % len(colours)] for i, p in enumerate(pruners)}
    counts, any_several, alphas = [], False, set()
    for ax, group in zip(axes, groups):
        series = []
        for p in group:
            nokd, kd, several = curves(data[p], p)
            any_several |= several
            if len(nokd):
                series.append((nokd, dict(color=colour[p], ls="--", marker="o", label=f"{p}, no KD"), False))
            if len(kd):
                alphas.update(alpha_text(a, s) for a, s in zip(kd["alpha"], kd["alpha_schedule"]))
                one = alpha_text(kd["alpha"].iloc[0], kd["alpha_schedule"].iloc[0])
                label = f"{p}, KD" + (" (best α, labelled)" if several else f" ({one})")
                series.append((kd, dict(color=colour[p], ls="-", marker="s", label=label), several))
        if reference and group != [reference]:
            _, ref, _ = curves(data[reference], reference)  # warnings: once, from its own panel
            ax.plot(ref["f"], ref["mean"], color="0.6", lw=1.2, marker="s", ms=3, zorder=1, label="random, KD (reference)",
                    gid="reference:random KD")
        error_bars = any((s["count"] > 1).any() for s, _, _ in series)
        labels = []
        for (s, kw, mark), dx in zip(series, layout.offsets(len(series), error_bars)):
            layout.errorbar(ax, list(s["f"]), s, layout.shifted(ax, dx), **kw)
            counts.extend(s["count"])
            if mark:  # the alpha "best α" chose at each f
                for _, r in s.iterrows():
                    a = ax.annotate(alpha_text(r["alpha"], r["alpha_schedule"]), (r["f"], r["mean"]), xytext=(dx, 7),
                                    textcoords="offset points", ha="center", fontsize=6, color=kw["color"])
                    a._base_dx = dx
                    a.set_gid(f"best_alpha:{kw['label'].split(',')[0]}:f={r['f']:g}:alpha={r['alpha']:g}")
                    labels.append(a)
        ax.grid(alpha=0.3)
        ax.margins(x=0.08, y=0.1)
        if facets:
            ax.set_title(group[0], fontsize=9)
        layout.place_labels(ax, labels)
    tcap = teacher_caption(df[df["kd"]])
    head = title(df, "accuracy vs kept fraction")
    caption = [tcap, seeds_caption(counts)]
    if facets:
        fig.suptitle(style.caption(fig, head, caption), fontsize=9)
        fig.supxlabel("kept fraction f", fontsize=10)
        fig.supylabel(style.YLABEL, fontsize=10)
    else:
        set_title(axes[0], head, caption)
        axes[0].set_xlabel("kept fraction f")
        axes[0].set_ylabel(style.YLABEL)
    layout.keep_inside(fig)
    if facets:
        # One legend for every panel: the line styles, beside the top right panel.
        kd_label = "KD (best α per point, labelled)" if any_several else "KD (" + ", ".join(sorted(alphas)) + ")"
        handles = [Line2D([], [], color="0.2", ls="--", marker="o", label="no KD"),
                   Line2D([], [], color="0.2", ls="-", marker="s", label=kd_label)]
        if reference:
            handles.append(Line2D([], [], color="0.6", lw=1.2, marker="s", ms=3, label="random, KD (reference)"))
        layout.place_legend(axes[min(len(axes), 3) - 1], handles, [h.get_label() for h in handles], outside=True)
    else:
        layout.place_legend(axes[0])
    layout.keep_inside(fig)
    save(fig, out, "fig3_accuracy_vs_f")
