"""Training curves for scripts/plot_curves.py: a loss panel (train, test, val per epoch; the per-step
loss faintly behind) and an accuracy panel (train accuracy, test top-1, val top-1), one colour per
run and one line style per split, the legend in a row of its own below the panels so that many
runs stay readable."""
import math

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

STYLES = {"train": "-", "test": "--", "val": ":"}
LOSS = {"train": "train_loss", "test": "test_loss", "val": "val_loss"}
ACC = {"train": "train_acc", "test": "test_top1", "val": "val_top1"}


def colours(n):
    """n colours: matplotlib's ten, then tab20's twenty, then evenly along viridis."""
    if n <= 10:
        return plt.rcParams["axes.prop_cycle"].by_key()["color"][:n]
    cmap = plt.get_cmap("tab20" if n <= 20 else "viridis")
    return [cmap(i if n <= 20 else i / (n - 1)) for i in range(n)]


def series(rows, key):
    """(x, y) of the rows where key was measured (null epochs skipped, so sparse evaluations join)."""
    pts = [(r["epoch"], r[key]) for r in rows if key in r and not math.isnan(r[key])]
    return [p[0] for p in pts], [p[1] for p in pts]


def draw(runs, heading):
    """The figure of runs: (label, epoch rows, step rows) per run."""
    n = len(runs)
    ncol = 1 if n == 1 else min(6, max(2, math.ceil(math.sqrt(n + 4))))  # about as many columns as rows
    legend_rows = math.ceil((n + 4) / max(ncol, 1)) if n > 1 else 2
    fig = plt.figure(figsize=(11, 4.2 + 0.22 * legend_rows), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[4.2, 0.22 * legend_rows + 0.1])
    ax_loss, ax_acc = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    ax_leg = fig.add_subplot(grid[1, :])
    ax_leg.axis("off")
    used, losses, stepped = set(), [], False
    for (label, epochs, steps), colour in zip(runs, colours(n)):
        x, y = series(steps, "loss")
        if x:  # the per-step loss: faint, behind the epoch curves
            ax_loss.plot(x, y, color=colour, lw=0.6, alpha=0.3, zorder=1)
            losses += y
            stepped = True
        for split in STYLES:
            for ax, key in ((ax_loss, LOSS[split]), (ax_acc, ACC[split])):
                x, y = series(epochs, key)
                if not x:
                    continue
                used.add(split)
                ax.plot(x, y, color=colour, ls=STYLES[split], lw=1.4, marker="o" if len(x) <= 15 else None, ms=3, zorder=2)
                if ax is ax_loss:
                    losses += y
    positive = [v for v in losses if v > 0]
    if positive and len(positive) == len(losses) and max(positive) / min(positive) > 20:
        ax_loss.set_yscale("log")  # losses over orders of magnitude (a KD term, the first steps)
    ax_loss.set_ylabel("loss" + (" (log scale)" if ax_loss.get_yscale() == "log" else ""))
    ax_acc.set_ylabel("accuracy (%)")
    for ax, what in ((ax_loss, "loss"), (ax_acc, "accuracy (train) and top-1 (test, val)")):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs, not 1.2
        ax.set_title(what, fontsize=9)
        ax.grid(alpha=0.3)
    # One legend below both panels: the line styles (black), then the runs (their colours).
    handles = [Line2D([], [], color="black", ls=STYLES[s], label=s) for s in STYLES if s in used]
    if stepped:
        handles.append(Line2D([], [], color="black", lw=0.6, alpha=0.4, label="train loss per step"))
    if n > 1:
        handles += [Line2D([], [], color=c, lw=2.5, label=r[0]) for r, c in zip(runs, colours(n))]
    ax_leg.legend(handles=handles, loc="upper center", ncol=max(ncol, len(handles) if n == 1 else ncol), fontsize=8,
                  frameon=False)
    fig.suptitle(heading, fontsize=10)
    return fig
