"""The figures of scripts/plot_figures.py and scripts/plot_curves.py (their docstrings list them):
  style          loading results.csv files, per-point statistics, captions, axis orderings, saving
  layout         panels, sideways offsets, labels and legends placed inside the figure and off the data
  accuracy_vs_f  figure 3 (accuracy vs the kept fraction f, per pruner; no KD and KD)
  sweeps         figures 5-8 (a panel per pruner: vs teacher fraction, alpha, teacher capacity, disjoint data)
  table1         Table 1 (KD plus a feature term per row) as a table and as bars
  metrics        reading metrics.jsonl files (plot_curves.py): run directories, epoch and step rows, labels
  curves         the training curves of plot_curves.py (loss and accuracy against the epoch)
  tau            figure 11 (accuracy vs the KD temperature, a line per teacher, a panel per f)
save_as: one figure to one file, written through a temporary name (plot_curves, plot_samples, plot_theory)
"""
import matplotlib

matplotlib.use("Agg")  # files only: before any module imports matplotlib.pyplot


def save_as(fig, out):
    """Writes fig to the file `out` (its format from the extension; png without one; its folder made
    if missing) through a temporary name and a rename, so no half-written figure is left; closes it
    and prints the path.
    An error removes the temporary file and is raised again."""
    import os
    import matplotlib.pyplot as plt
    folder, base = os.path.split(os.path.abspath(out))
    ext = os.path.splitext(base)[1].lstrip(".").lower() or "png"
    tmp = os.path.join(folder, f".{base}.tmp")
    os.makedirs(folder, exist_ok=True)  # --out may name a folder that does not exist yet
    try:
        fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight")
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    plt.close(fig)
    print(out)
