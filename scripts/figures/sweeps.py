"""Figures 5-8, one panel per pruner (the students on the full data count for every pruner;
--pruner draws that one only), one colour per kept fraction f, the students without KD drawn as
the reference wherever KD is compared:
  fig5_teacher_fraction_<arch>  KD student accuracy vs the teacher's training fraction f_t, a line
                                per f; no KD: a dashed line per f
  fig6_accuracy_vs_alpha        accuracy vs alpha (constant alphas, one teacher; alpha 0 = no KD),
                                a line per f, the best alpha starred (drawn for two KD alphas or more)
  fig7_teacher_capacity         KD student accuracy per teacher architecture (categories, in
                                capacity order, side by side per f, not joined); no KD dashed per f
  fig8_disjoint                 accuracy vs f: KD from a teacher trained on the other part
                                (disjoint), on the students' own part (same data), and no KD"""
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D

from . import layout, style
from .style import (alpha_text, groups, most_rows, natural_key, same, save, seeds_caption, set_title, stats, teacher_caption,
                    teacher_top1, title)

NO_KD = "no KD (dashed, colour of its f)"


def note(text):
    style.NOTES.append(text)


class Figure:
    """One figure of panels (one per pruner): series per f, the no-KD references, the legend."""

    def __init__(self, pruners, fs):
        self.pruners = pruners
        self.fig, axes = layout.panels(len(pruners))
        self.axes = dict(zip(pruners, axes))
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        self.colour = {f: colours[i % len(colours)] for i, f in enumerate(sorted(fs))}
        self.counts = []
        self.handles = {}  # legend label -> handle, in drawing order, shared by the panels
        self.labels = {p: [] for p in pruners}

    def series(self, pruner, items, categorical=False):
        """items: (label, xs, stats rows, line style) per series of one panel; categorical: the x
        values are category positions (side by side within a category, not joined)."""
        ax = self.axes[pruner]
        error_bars = any((s["count"] > 1).any() for _, _, s, _ in items)
        shifts = layout.category_offsets(len(items)) if categorical else layout.offsets(len(items), error_bars)
        for (label, xs, s, kw), dx in zip(items, shifts):
            kw = dict(kw)
            if categorical:
                xs, t, kw["ls"] = [x + dx for x in xs], ax.transData, "none"
            else:
                t = layout.shifted(ax, dx)
            c = layout.errorbar(ax, xs, s, t, label=label, **kw)
            self.handles.setdefault(label, c)
            self.counts.extend(s["count"])
        return ax

    def reference(self, pruner, y, colour, label=NO_KD, gid="reference:no KD"):
        """A horizontal dashed line: the students without KD (same data, f and seeds)."""
        ax = self.axes[pruner]
        line = ax.axhline(y, color=colour, ls="--", lw=1.1, zorder=1, label=label, gid=gid)
        if label not in self.handles:
            self.handles[label] = Line2D([], [], color="0.3", ls="--", lw=1.1)
        return line

    def finish(self, out, name, head, caption, xlabel, categories=None):
        fig, axes = self.fig, list(self.axes.values())
        facets = len(axes) > 1
        for p, ax in self.axes.items():
            if categories:
                ax.set_xticks(range(len(categories)))
                ax.set_xticklabels(categories)
                ax.set_xlim(-0.5, len(categories) - 0.5)
            else:
                ax.margins(x=0.08)
            ax.margins(y=0.1)
            ax.grid(alpha=0.3)
            if facets:
                ax.set_title(p, fontsize=9)
        lines = [c for c in caption if c] + [seeds_caption(self.counts)]
        if facets:
            fig.suptitle(style.caption(fig, head, lines), fontsize=9)
            fig.supxlabel(xlabel, fontsize=10)
            fig.supylabel(style.YLABEL, fontsize=10)
        else:
            set_title(axes[0], head, lines)
            axes[0].set_xlabel(xlabel)
            axes[0].set_ylabel(style.YLABEL)
        for p, ax in self.axes.items():
            layout.place_labels(ax, self.labels[p])
        layout.keep_inside(fig)
        where = axes[min(len(axes), 3) - 1]
        layout.place_legend(where, list(self.handles.values()), list(self.handles), outside=facets)
        layout.keep_inside(fig)
        save(fig, out, name)


def no_kd_refs(figure, pruner, rows, fs, where):
    """The dashed no-KD line of each f drawn in the panel (rows: the panel's no-KD students)."""
    s = stats(rows, ["f"], where) if len(rows) else pd.DataFrame(columns=["f", "mean", "count"])
    missing = [f for f in fs if f not in set(s["f"])]
    if missing:
        note(f"{where.split()[0]} {pruner}: no students without KD (alpha 0) at f = {', '.join(f'{f:g}' for f in missing)}: "
             "no reference line there")
    for _, r in s[s["f"].isin(fs)].iterrows():
        figure.reference(pruner, r["mean"], figure.colour[r["f"]], gid=f"reference:no KD:f={r['f']:g}")
        figure.counts.append(r["count"])
    return len(s[s["f"].isin(fs)])


def per_pruner(df, pruners):
    """Each pruner's rows, with the students on all the data (pruner none) in every one."""
    full = df[df["pruner"] == "none"]
    return {p: pd.concat([df[df["pruner"] == p], full.assign(pruner=p)]) if p != "none" else full for p in pruners}


def fig6(whole, pruners, out):
    const = whole[whole["alpha_schedule"] == "constant"]
    kd = const[const["kd"]]
    if kd.empty:
        return
    # alpha sweeps use one teacher: the one most runs used
    arch, ft, part = most_rows(kd, ["teacher_arch", "teacher_f", "teacher_part"])
    sel = (const["teacher_arch"] == arch) & same(const["teacher_f"], ft) & (const["teacher_part"] == part)
    d = const[~const["kd"] | sel]
    rows = per_pruner(d, pruners)
    stat = {p: stats(r, ["f", "alpha"], f"fig6 {p}") for p, r in rows.items()}
    # A line per f that has two alphas or more; drawn when some line has two KD alphas (else it
    # is KD vs no KD, which fig3 shows).
    stat = {p: s[s.groupby("f")["alpha"].transform("nunique") > 1] for p, s in stat.items()}
    if not any((s[s["alpha"] > 0].groupby("f")["alpha"].nunique() > 1).any() for s in stat.values() if len(s)):
        if any(len(s) for s in stat.values()):
            note("fig6 not drawn: one KD alpha per f (fig3 compares it with no KD)")
        return
    drawn = [p for p in pruners if len(stat[p])]
    if not (d["alpha"] == 0).any():
        note("fig6: no students without KD (alpha 0) in the rows: no reference at alpha 0")
    fig = Figure(drawn, pd.concat([stat[p] for p in drawn])["f"].unique())
    for p in drawn:
        s = stat[p]
        items = []
        for f in sorted(s["f"].unique()):
            sub = s[s["f"] == f].sort_values("alpha")
            best = sub.loc[sub["mean"].idxmax()]
            items.append((f"f = {f:g} (best α = {best['alpha']:g})" if len(drawn) == 1 else f"f = {f:g}", list(sub["alpha"]),
                          sub, dict(color=fig.colour[f], marker="o")))
        ax = fig.series(p, items)
        for (label, _, sub, kw), line in zip(items, ax.containers[-len(items):]):
            j = int(sub["mean"].values.argmax())
            t = line.lines[0].get_transform()
            m, = ax.plot([sub["alpha"].iloc[j]], [sub["mean"].iloc[j]], marker="*", ms=13, color=kw["color"], mec="black",
                         mew=0.6, ls="none", transform=t, zorder=5)
            m.set_gid(f"best_alpha:{p}:f={sub['f'].iloc[j]:g}:alpha={sub['alpha'].iloc[j]:g}")
            if len(drawn) > 1:  # the best alpha of each f, named in its panel
                a = ax.annotate(f"α={sub['alpha'].iloc[j]:g}", (sub["alpha"].iloc[j], sub["mean"].iloc[j]), xytext=(0, 9),
                                textcoords="offset points", ha="center", fontsize=6, color=kw["color"])
                a.set_gid(f"best_alpha_label:{p}:f={sub['f'].iloc[j]:g}:alpha={sub['alpha'].iloc[j]:g}")
                fig.labels[p].append(a)
        fig.handles["best α of each f"] = Line2D([], [], marker="*", ms=11, color="0.6", mec="black", mew=0.6, ls="none")
    fig.finish(out, "fig6_accuracy_vs_alpha", title(d, "accuracy vs α" + (f" ({drawn[0]})" if len(drawn) == 1 else "")),
               [teacher_caption(d[d["kd"]])], "α (KD weight; 0 = no KD)")


def varying(group, pruners, key, label):
    """Per pruner, the (f, key) points at the f's where `key` takes two values or more, and the
    pruners that have any (the figure's panels)."""
    rows = per_pruner(group, pruners)
    stat = {p: stats(r, ["f", key], f"{label} {p}") for p, r in rows.items()}
    stat = {p: s[s.groupby("f")[key].transform("nunique") > 1] for p, s in stat.items()}
    return stat, [p for p in pruners if len(stat[p])]


def fig5(kd, nokd, pruners, out, acap):
    unknown = kd["teacher_f"].isna()
    if unknown.any() and not unknown.all():  # (all unknown: one teacher per arch, no fig5 anyway)
        note(f"fig5: {int(unknown.sum())} KD row(s) with an unknown teacher f_t (a PyTorch teacher) left out")
    for arch, group in kd[~unknown].groupby("teacher_arch"):
        stat, drawn = varying(group, pruners, "teacher_f", f"fig5 {arch}")
        if not drawn:
            continue
        fig = Figure(drawn, pd.concat([stat[p] for p in drawn])["f"].unique())
        base = per_pruner(nokd, drawn)
        for p in drawn:
            s = stat[p]
            fs = sorted(s["f"].unique())
            fig.series(p, [(f"f = {f:g}", list(s[s["f"] == f].sort_values("teacher_f")["teacher_f"]),
                            s[s["f"] == f].sort_values("teacher_f"), dict(color=fig.colour[f], marker="o")) for f in fs])
            no_kd_refs(fig, p, base[p], fs, f"fig5 {p} no KD")
        # The teachers' own accuracy under their f_t, where recorded.
        ticks = sorted(group["teacher_f"].unique())
        tops = [teacher_top1(group[group["teacher_f"] == t]) for t in ticks]
        if any(t is not None for t in tops):
            for ax in fig.axes.values():
                ax.set_xticks(ticks)
                ax.set_xticklabels([f"{t:g}" + (f"\n({a:.1f} %)" if a is not None else "") for t, a in zip(ticks, tops)])
        head = title(group, "student vs teacher data" + (f" ({drawn[0]})" if len(drawn) == 1 else ""))
        fig.finish(out, "fig5_teacher_fraction_" + arch, head, [teacher_caption(group, accuracy=False), acap],
                   "teacher training fraction f_t" + (" (teacher top-1)" if any(t is not None for t in tops) else ""))


def fig7(kd, nokd, pruners, out, acap):
    by_ft = list(groups(kd, ["teacher_f"]))
    for (ft,), group in by_ft:
        archs = sorted(group["teacher_arch"].unique(), key=natural_key)
        if len(archs) < 2:
            continue
        stat, drawn = varying(group, pruners, "teacher_arch", "fig7")
        if not drawn:
            continue
        fig = Figure(drawn, pd.concat([stat[p] for p in drawn])["f"].unique())
        base = per_pruner(nokd, drawn)
        for p in drawn:
            s = stat[p]
            fs = sorted(s["f"].unique())
            items = []
            for f in fs:
                sub = s[s["f"] == f]
                sub = sub.set_index("teacher_arch").reindex([a for a in archs if a in set(sub["teacher_arch"])]).reset_index()
                xs = [archs.index(a) for a in sub["teacher_arch"]]  # category positions, capacity order
                items.append((f"f = {f:g}", xs, sub, dict(color=fig.colour[f], marker="o")))
            fig.series(p, items, categorical=True)
            no_kd_refs(fig, p, base[p], fs, f"fig7 {p} no KD")
        # Each teacher's own accuracy under its name, where recorded.
        tops = [teacher_top1(group[group["teacher_arch"] == a]) for a in archs]
        names = [a + (f"\n({t:.1f} %)" if t is not None else "") for a, t in zip(archs, tops)]
        suffix = "" if len(by_ft) == 1 or ft == 1 else ("_ft_unknown" if pd.isna(ft) else f"_ft{ft:g}")
        head = title(group, "student vs teacher capacity" + (f" ({drawn[0]})" if len(drawn) == 1 else ""))
        fig.finish(out, "fig7_teacher_capacity" + suffix, head, [teacher_caption(group, accuracy=False), acap],
                   "teacher architecture" + (" (teacher top-1)" if any(t is not None for t in tops) else ""), categories=names)


def setting(r):
    t, s = str(r.get("teacher_part", "")), str(r["data_part"])
    return "disjoint" if t in ("teacher", "student") and s in ("teacher", "student") and t != s else "same data"


def fig8(one, pruners, out):
    split = one[one["data_part"] != "all"]  # students of data.split experiments
    kd = split[split["kd"]]
    if kd.empty:
        return
    arch, ft, alpha, schedule = most_rows(kd, ["teacher_arch", "teacher_f", "alpha", "alpha_schedule"])
    kd = kd[(kd["teacher_arch"] == arch) & same(kd["teacher_f"], ft) & (kd["alpha"] == alpha)
            & (kd["alpha_schedule"] == schedule)]
    teachers = kd
    kd = kd.assign(setting=kd.apply(setting, axis=1)).drop(columns=["teacher_part", "data_part"])
    # The no-KD students are the same runs in the disjoint experiment and its control: once each.
    nokd = split[~split["kd"]].drop(columns=["teacher_part"])
    nokd = nokd.drop_duplicates(subset=[c for c in nokd.columns if c not in style.OUTCOMES or c == "seed"])
    rows, base = per_pruner(kd, pruners), per_pruner(nokd, pruners)
    drawn = [p for p in pruners if len(rows[p])]
    if not drawn:
        return
    fig = Figure(drawn, [])
    colours = {"disjoint": "C0", "same data": "C1", "no KD": "0.35"}
    names = {"disjoint": "KD, teacher on the other part (disjoint)", "same data": "KD, teacher on the students' part (same data)",
             "no KD": "no KD"}
    for p in drawn:
        items = []
        for name in ("disjoint", "same data"):
            sub = rows[p][rows[p]["setting"] == name]
            if len(sub):
                s = stats(sub.drop(columns=["setting"]), ["f"], f"fig8 {p} {name}")
                top = teacher_top1(sub)  # each setting has its own teacher: its accuracy in the legend
                label = names[name][:-1] + (f"; teacher top-1 {top:.1f} %)" if top is not None else ")")
                items.append((label, list(s["f"]), s, dict(color=colours[name], marker="o", ls="-")))
        if base[p].empty:
            note(f"fig8 {p}: no students without KD (alpha 0) in the rows: no reference drawn")
        else:
            s = stats(base[p].drop(columns=["data_part"]), ["f"], f"fig8 {p} no KD")
            items.append((names["no KD"], list(s["f"]), s, dict(color=colours["no KD"], marker="s", ls="--")))
        fig.series(p, items)
    head = title(kd, "disjoint teacher/student data" + (f" ({drawn[0]})" if len(drawn) == 1 else ""))
    # The teacher's part is in the legend (it is what the figure compares).
    fig.finish(out, "fig8_disjoint", head,
               [teacher_caption(teachers.assign(teacher_part=""), accuracy=False), alpha_text(alpha, schedule)],
               "kept fraction f (of the students' part)")


def figures_5_to_8(df, out, pruner_arg=None):
    """Figures 5-8, a panel per pruner (pruner_arg, --pruner: that one only)."""
    pruners = sorted(p for p in df["pruner"].unique() if p != "none") or ["none"]
    if pruner_arg:
        if pruner_arg not in pruners:
            note(f"figures 5-8 not drawn: --pruner {pruner_arg} is not in the rows (they have: {', '.join(pruners)})")
            return
        pruners = [pruner_arg]
    one = df[df["pruner"].isin(pruners + ["none"])]
    whole = one[one["data_part"] == "all"]  # students on the whole training set
    fig6(whole, pruners, out)
    kd = whole[whole["kd"]]
    if len(kd):
        # Teacher figures at one alpha: the one most KD rows used.
        alpha, schedule = most_rows(kd, ["alpha", "alpha_schedule"])
        kd = kd[(kd["alpha"] == alpha) & (kd["alpha_schedule"] == schedule)]
        acap = alpha_text(alpha, schedule)
        nokd = whole[~whole["kd"]]
        fig7(kd, nokd, pruners, out, acap)
        fig5(kd, nokd, pruners, out, acap)
    fig8(one, pruners, out)
