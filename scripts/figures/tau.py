"""Figure 11: the KD temperature against teacher capacity, at each kept fraction f.
  fig11_tau     KD student accuracy vs tau (the kd.tau axis of experiment.axes), a panel per f, a
                line per teacher architecture (its test top-1 in the legend where recorded); the
                students without KD of that f: a grey dashed line
Drawn where the rows have a kd.tau column with two values or more among the KD students and
teachers of two architectures or more (one pruner, alpha and f_t: those most rows used)."""
import matplotlib.pyplot as plt
import pandas as pd

from . import style
from .style import alpha_text, most_rows, natural_key, stats, teacher_top1, title
from .sweeps import Figure, note

KEY = "kd.tau"


def fig11(df, out):
    if KEY not in df.columns:
        return
    kd = df[df["kd"] & (df[KEY] != "")]
    if kd.empty or kd[KEY].nunique() < 2 or kd["teacher_arch"].nunique() < 2:
        return
    pruner, alpha, schedule, ft = most_rows(kd, ["pruner", "alpha", "alpha_schedule", "teacher_f"])
    kd = kd[(kd["pruner"] == pruner) & (kd["alpha"] == alpha) & (kd["alpha_schedule"] == schedule) & style.same(kd["teacher_f"], ft)]
    kd = kd.assign(tau_axis=kd[KEY].astype(float)).drop(columns=[KEY])
    nokd = df[~df["kd"] & (df["pruner"] == pruner)].drop(columns=[KEY])
    archs = sorted(kd["teacher_arch"].unique(), key=natural_key)
    fs = sorted(kd["f"].unique())
    panels = [f"f = {f:g}" for f in fs]
    fig = Figure(panels, archs)  # a colour per teacher architecture
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for panel, f in zip(panels, fs):
        items = []
        for i, arch in enumerate(archs):
            rows = kd[(kd["f"] == f) & (kd["teacher_arch"] == arch)]
            if rows.empty:
                continue
            s = stats(rows.drop(columns=["tau"]), ["tau_axis"], f"fig11 f={f:g} {arch}").sort_values("tau_axis")
            top = teacher_top1(rows)
            label = f"teacher {arch}" + (f" ({top:.1f} %)" if top is not None else "")
            items.append((label, list(s["tau_axis"]), s, dict(color=colours[i % len(colours)], marker="o")))
        fig.series(panel, items)
        base = nokd[nokd["f"] == f]
        if base.empty:
            note(f"fig11 f = {f:g}: no students without KD (alpha 0): no reference line")
            continue
        s = stats(base, ["f"], f"fig11 f={f:g} no KD")
        fig.reference(panel, s["mean"].iloc[0], "0.35", label="no KD (dashed)", gid=f"reference:no KD:f={f:g}")
        fig.counts.append(s["count"].iloc[0])
    head = title(kd, f"KD temperature vs teacher capacity ({pruner})")
    fig.finish(out, "fig11_tau", head, [alpha_text(alpha, schedule) + ("" if ft == 1 or pd.isna(ft) else f" · teacher f_t = {ft:g}")],
               "KD temperature τ")
