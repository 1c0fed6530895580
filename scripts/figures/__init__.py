"""The figures of scripts/plot_figures.py (its docstring lists them), one module per family:
  style          loading results.csv files, per-point statistics, captions, axis orderings, saving
  accuracy_vs_f  figure 3 (accuracy vs the kept fraction f, per pruner; no KD and KD)
  sweeps         figures 5-8 (one line per f vs teacher fraction, alpha, teacher capacity, disjoint data)
  table1         Table 1 (KD plus a feature term per row) as a table and as bars
"""
import matplotlib

matplotlib.use("Agg")  # files only: before any module imports matplotlib.pyplot
