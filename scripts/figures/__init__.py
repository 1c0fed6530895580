"""The figures of scripts/plot_figures.py and scripts/plot_curves.py (their docstrings list them):
  style          loading results.csv files, per-point statistics, captions, axis orderings, saving
  layout         panels, sideways offsets, labels and legends placed inside the figure and off the data
  accuracy_vs_f  figure 3 (accuracy vs the kept fraction f, per pruner; no KD and KD)
  sweeps         figures 5-8 (a panel per pruner: vs teacher fraction, alpha, teacher capacity, disjoint data)
  table1         Table 1 (KD plus a feature term per row) as a table and as bars
  metrics        reading metrics.jsonl files (plot_curves.py): run directories, epoch and step rows, labels
  curves         the training curves of plot_curves.py (loss and accuracy against the epoch)
"""
import matplotlib

matplotlib.use("Agg")  # files only: before any module imports matplotlib.pyplot
