#!/usr/bin/env python3
"""Training curves of kdprune runs from their metrics.jsonl: loss and accuracy against the epoch.

    scripts/plot_curves.py RUN_DIR [RUN_DIR ...] [--out FILE.png]
    scripts/plot_curves.py runs/quickstart                  # an experiment: every run below it

Each path is a run directory (holding metrics.jsonl), the metrics.jsonl itself, or an experiment
directory: every directory below it that holds a metrics.jsonl (the teacher, the score runs and
the students) is a run. Draws two panels: the loss (train, test and, where a validation split is
held out, val per epoch; the per-step training loss faintly behind where it was logged) and the
accuracy (train accuracy, test top-1, val top-1), one colour per run, one line style per split;
the legend, below the panels, names each run by its directory (less what all names share, which
goes to the title). A point not measured in an epoch (null) is skipped, so sparse evaluations
join. A log-scale loss axis where the losses span more than 20x.
Output: --out FILE (PNG, or any format matplotlib knows by its extension); default curves.png in
the run (or experiment) directory given, or in the current directory for several paths. Written
to a temporary name and renamed. A run whose metrics.jsonl has no rows yet is skipped with a note.
Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import os
import sys

# The figure modules (scripts/figures/) live beside this file: importable from any working directory.
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from figures import curves, save_as  # noqa: E402  (figures/__init__ sets matplotlib's Agg backend)
from figures.metrics import BadInput, find_runs, labels, read  # noqa: E402



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", metavar="RUN_DIR", help="run directories, metrics.jsonl files or experiment directories")
    ap.add_argument("--out", help="output file (default: curves.png in the one directory given, else in the current one)")
    args = ap.parse_args()
    try:
        dirs = list(dict.fromkeys(d for p in args.paths for d in find_runs(p)))
        runs = [(d,) + read(d) for d in dirs]
    except BadInput as e:
        sys.exit(f"plot_curves: {e}")
    for d, epochs, steps in runs:
        if not epochs and not steps:
            print(f"plot_curves: note: {os.path.join(d, 'metrics.jsonl')}: no rows yet, not drawn", file=sys.stderr)
    runs = [r for r in runs if r[1] or r[2]]
    if not runs:
        sys.exit(f"plot_curves: {', '.join(args.paths)}: no metrics rows in any metrics.jsonl")
    names, common = labels([d for d, _, _ in runs])
    one = len(args.paths) == 1 and os.path.isdir(args.paths[0])
    out = args.out or os.path.join(args.paths[0] if one else ".", "curves.png")
    if len(runs) == 1:
        heading = f"training curves: {names[0]}"
    else:  # what the runs share: their names' common start, else the folder given
        what = f"{common}-…" if common else (os.path.basename(os.path.abspath(args.paths[0])) if one else "")
        heading = "training curves" + (f": {what}" if what else "") + f" ({len(runs)} runs)"
    fig = curves.draw([(n, e, s) for n, (_, e, s) in zip(names, runs)], heading)
    try:
        save_as(fig, out)
    except (OSError, ValueError) as e:
        sys.exit(f"plot_curves: {out}: cannot write ({e})")


if __name__ == "__main__":
    main()
