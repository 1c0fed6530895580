"""Theorem 3.1 in ridge regression (scripts/plot_theory.py): the self-distilled student's bias²,
variance and total error E‖θ̂_s − θ*‖² against α, one colour per teacher fraction f_t, from the
CSV of `kdprune theory ridge --out`. The bias² panel also draws, dashed, the bias² averaged over an
isotropic θ* (E[θθᵀ] = I/d), and marks α* (where that average would exceed the own-data
teacher's) for the teachers that have one in view."""
import csv
import math

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D

from . import layout

COLUMNS = ["d", "n", "lambda", "sigma", "seed", "f", "n_f", "f_t", "n_t", "alpha", "bias2", "variance", "total",
           "bias2_isotropic", "alpha_star"]


class BadInput(Exception):
    pass


def read(path):
    """Rows of the CSV as dicts of floats (empty cells: NaN); BadInput names what is wrong."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: cannot read ({e})")
    if not rows:
        raise BadInput(f"{path}: no rows")
    missing = [c for c in COLUMNS if c not in rows[0]]
    if missing:
        raise BadInput(f"{path}: not a `kdprune theory ridge` table (missing columns: {', '.join(missing)})")
    out = []
    for i, r in enumerate(rows):
        try:
            out.append({k: float(v) if v not in ("", None) else math.nan for k, v in r.items()})
        except ValueError:
            raise BadInput(f"{path}: line {i + 2}: expected numbers")
    return out


def draw(rows):
    first = rows[0]
    fts = sorted({r["f_t"] for r in rows})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), layout="constrained")
    panels = [("bias2", r"bias² $\|E[\hat\theta_s] - \theta^*\|^2$"), ("variance", r"variance tr Cov$(\hat\theta_s)$"),
              ("total", r"total $E\|\hat\theta_s - \theta^*\|^2$")]
    handles = []
    for i, ft in enumerate(fts):
        c = colours[i % len(colours)]
        sub = sorted((r for r in rows if r["f_t"] == ft), key=lambda r: r["alpha"])
        xs = [r["alpha"] for r in sub]
        own = ft == first["f"]
        label = f"f_t = {ft:g} (n_t = {int(sub[0]['n_t'])})" + (", the student's own data" if own else "")
        for ax, (key, _) in zip(axes, panels):
            ax.plot(xs, [r[key] for r in sub], color=c, lw=1.6, marker="o", ms=3, label=label)
        axes[0].plot(xs, [r["bias2_isotropic"] for r in sub], color=c, lw=1.1, ls="--")
        star = sub[0]["alpha_star"]
        if not own and math.isfinite(star) and xs[0] <= star <= xs[-1]:
            axes[0].axvline(star, color=c, lw=0.8, ls=":", gid=f"alpha_star:{ft:g}")
        handles.append(Line2D([], [], color=c, lw=1.6, marker="o", ms=3, label=label))
    handles.append(Line2D([], [], color="0.3", lw=1.1, ls="--", label="bias² averaged over isotropic θ*"))
    if any(ln.get_gid() for ln in axes[0].lines):
        handles.append(Line2D([], [], color="0.3", lw=0.8, ls=":", label="α* (that average = the own-data teacher's)"))
    for ax, (_, what) in zip(axes, panels):
        ax.set_title(what, fontsize=9)
        ax.set_xlabel("α (weight of the teacher's predictions)")
        ax.grid(alpha=0.3)
    fig.suptitle(f"Theorem 3.1, ridge regression: d = {first['d']:g}, n = {first['n']:g}, student f = {first['f']:g} "
                 f"(n_f = {first['n_f']:g}), λ = {first['lambda']:g}, σ = {first['sigma']:g}, ‖θ*‖ = 1, seed {first['seed']:g}",
                 fontsize=10)
    layout.place_legend(axes[-1], handles=handles, labels=[h.get_label() for h in handles], outside=True)
    return fig
