"""Figures 5-8: one line per f against what the experiment varies, for one pruner (students on the
full data count for every pruner):
  fig5_teacher_fraction_<arch>  KD student accuracy vs the teacher's training fraction f_t
  fig6_accuracy_vs_alpha        accuracy vs alpha (constant alphas, one teacher), the best alpha starred
  fig7_teacher_capacity         KD student accuracy vs teacher architecture
  fig8_disjoint                 the teacher's data disjoint from the student's vs the same data"""
import matplotlib.pyplot as plt

from . import style
from .style import (alpha_text, legend, most_rows, natural_key, offsets, save, seeds_caption, set_title, shifted,
                    stats, teacher_caption, title)


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
    ax.set_ylabel(style.YLABEL)
    set_title(ax, title(d, what), caption + [seeds_caption(counts)])
    ax.grid(alpha=0.3)
    ax.margins(y=0.1)
    legend(ax, beside=mark_best)
    save(fig, out, name)


def figures_5_to_8(df, out, pruner_arg=None):
    """Figures 5-8 for the pruner pruner_arg (--pruner; default: random if present, else the first)."""
    # Figures 5-8 look at one pruner (students on the full data count for every pruner).
    pruners = [p for p in df["pruner"].unique() if p != "none"]
    pruner = pruner_arg or ("random" if "random" in pruners else (pruners[0] if pruners else "none"))
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
