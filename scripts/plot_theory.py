#!/usr/bin/env python3
"""Theorem 3.1 in ridge regression, drawn: bias², variance and total error of the self-distilled
student against α, one line per teacher fraction f_t, from the table `kdprune theory ridge` writes.

    kdprune theory ridge --d 50 --n 200 --f 0.3 --ft 0.3,0.6,1 --lambda 1 --alphas 0:1:0.1 --out ridge.csv
    scripts/plot_theory.py ridge.csv [--out ridge.png]

The bias² panel also draws, dashed, the bias² averaged over an isotropic θ*, and a dotted line at
α* where, for a teacher on more data, that average rises above the own-data teacher's (only when
α* is in the drawn range). What each quantity is and what the theorem claims: docs/theory.md.
Output: --out FILE (PNG, or any format matplotlib knows by its extension), default the CSV's name
with .png; written to a temporary name and renamed. Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import os
import sys

# The figure modules (scripts/figures/) live beside this file: importable from any working directory.
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from figures import save_as, theory  # noqa: E402  (figures/__init__ sets matplotlib's Agg backend)



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table", help="CSV from kdprune theory ridge --out")
    ap.add_argument("--out", help="output file (default: the table's name with .png)")
    args = ap.parse_args()
    try:
        rows = theory.read(args.table)
    except theory.BadInput as e:
        sys.exit(f"plot_theory: {e}")
    out = args.out or os.path.splitext(args.table)[0] + ".png"
    fig = theory.draw(rows)
    save_as(fig, out)


if __name__ == "__main__":
    main()
