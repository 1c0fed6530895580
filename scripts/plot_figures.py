#!/usr/bin/env python3
"""Paper-style figures from kdprune results.csv files (from `kdprune run` or `kdprune results`).

    scripts/plot_figures.py runs/quickstart/results.csv [more.csv ...] --out runs/quickstart/figures

Draws every figure the rows support (each needs two values on its x axis; fig8 one f), as PNG and PDF:
  fig3_accuracy_vs_f        accuracy vs kept fraction f per pruner; dashed = no KD, solid = KD (the
                            best alpha per point when several were run, each point labelled with
                            the alpha chosen). Up to three pruners share a panel; more get a panel
                            each (shared axes), random's KD curve drawn in grey in the others
  fig5_teacher_fraction_<arch>  KD student accuracy vs the teacher's training fraction f_t, a line per f
  fig6_accuracy_vs_alpha    accuracy vs alpha (constant alphas, one teacher; alpha 0 = no KD), a line
                            per f, the best alpha of each f starred (drawn where an f has two KD
                            alphas or more: with one, fig3 already compares KD with no KD)
  fig7_teacher_capacity     KD student accuracy per teacher architecture (categories in capacity
                            order, a point per f side by side, not joined)
  fig8_disjoint             accuracy vs f: KD from a teacher trained on the other part of the split
                            (disjoint), on the students' own part (same data), and no KD
Figures 5-8 draw a panel per pruner (students on the full data count for every pruner; --pruner:
that one only) and a colour per f; figures 5 and 7 draw the students without KD as a dashed line
per f, fig6 at alpha 0, fig8 as a series, so the KD gain reads off every figure that compares KD.
Points are the mean over seeds; error bars one standard deviation (none where a point has one
seed). Each figure says so under its title, with the number of seeds computed from the rows (and
"no error bars" where a point has one seed), and names the teacher (architecture, f_t when not 1,
"f_t unknown" for a PyTorch teacher, whose results.csv row has no teacher_f; its own test top-1
where results.csv has teacher_top1, also under fig7's architectures and fig5's f_t). Series that
share an x are shifted sideways only where error bars would hide each other, and by at most 3 pt
(a marker's radius), so that every point stays over its x. Labels stay inside their axes and off
the markers, legends off the data (else beside the axes), every text inside the figure
(tests/scripts/figure_layout.py checks this on every figure). A point averages only rows that
differ in the seed: figures 3 and 5-8 keep one condition per series (the students on the whole
training set, data_part all, except figure 8; one teacher, the one most rows used, where the
teacher is not what the figure varies; one alpha in figures 5, 7 and 8, the one most rows used);
a point that would still average other differences is reported on stderr, and so is a figure
left out (and why).
The accuracy is the best test top-1 over the evaluated epochs (`best_top1`, as the paper reports;
--metric last: the final epoch, `top1`; CSVs without best_top1 fall back to top1).
--describe prints, per figure, one JSON line with what was drawn (titles, texts, legend, each
series' sideways offset, error bars and points, the no-KD reference lines, the best-alpha marks),
read back from the figure itself. Files are written to a temporary name and renamed.

Table 1 (KD plus a feature term per row, scripts/table1.sh): given the merged CSV that script
writes (<runs>/<NAME>-table1.csv: a `method` column, none / kd / the feature term), or any
results.csv with --table1, it draws only
  table1                    the table as the paper prints it: rows = methods, columns = f, cells =
                            mean ± std over the seeds, the best mean per f in bold
  table1_bars               the same as bars, one panel per f, one bar per method from 0 with its
                            value written in it, error bars one standard deviation, the best starred
Each states its error bars and seed count, names the teacher and the student, and gives the loss
of each row. Without a method column (--table1 on kdprune results.csv files) the method is the
results' kd_extra/extra column where present, else none for α = 0, else the term the experiment
folder's name ends with (scripts/table1.sh names them <NAME>-<term>, or <NAME>-<term>-b<beta> for
a term with its own beta, drawn as "TERM (β = beta)"), else kd.
Columns named by a dotted config key (an experiment's further axes, experiment.axes, e.g. kd.tau)
split the figures: one set per value, in <out>/<key>=<value>/. A kd.tau axis also draws, in <out>:
  fig11_tau                 KD student accuracy vs the temperature tau, a panel per f, a line per
                            teacher architecture (two or more), no KD dashed (the paper's Fig. 11)
Fig. 2, per score stage of the experiment (each results.csv's folder holds its stages: score-<pruner>/):
  fig2_samples_<pruner>     the --samples highest- and lowest-scoring samples of that stage's scores
                            (default 10 each; 0: none), class name and score under each image, drawn
                            from `kdprune samples` (the kdprune binary: $KDPRUNE, the build beside this
                            script, or PATH; without one, or when the dataset cannot be read here,
                            the figure is left out with a note)
Needs matplotlib and pandas (Debian: python3-matplotlib python3-pandas).
"""
import argparse
import os
import sys
import tempfile

import pandas as pd

# The figure modules (scripts/figures/) live beside this file: importable from any working directory.
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))

from figures import style  # noqa: E402  (sets matplotlib's Agg backend)
from figures.accuracy_vs_f import fig3  # noqa: E402
from figures.sweeps import figures_5_to_8  # noqa: E402
from figures.table1 import table1  # noqa: E402
from figures import samples, tau  # noqa: E402


def warn_all():
    for w in dict.fromkeys(style.WARNINGS):  # once each (a panel's rows can be counted twice)
        print("plot_figures: warning: " + w, file=sys.stderr)
    for n in dict.fromkeys(style.NOTES):
        print("plot_figures: note: " + n, file=sys.stderr)


def fig2(results, out, k):
    """fig2_samples_<pruner> for each score stage beside the results.csv files."""
    stages = list(dict.fromkeys(st for r in results for st in samples.score_stages(os.path.dirname(os.path.abspath(r)))))
    if not stages or k <= 0:
        return
    kdprune = samples.find_kdprune(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    if not kdprune:
        style.NOTES.append("fig2 (the highest-scoring samples) left out: no kdprune binary (set KDPRUNE=/path/to/kdprune)")
        return
    for pruner, scores in stages:
        name = f"fig2_samples_{pruner}"
        try:
            with tempfile.TemporaryDirectory() as tmp:
                info, images = samples.read(samples.make_gallery(kdprune, scores, os.path.join(tmp, "g.json"), k, k))
        except samples.BadInput as e:
            style.NOTES.append(f"{name} left out: {e}")
            continue
        style.save(samples.draw(info, images), out, name, samples.describe)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", help="results.csv files")
    ap.add_argument("--out", help="output folder (default: figures/ beside the first results.csv)")
    ap.add_argument("--pruner", default=None, help="pruner for figures 5-8 (default: random if present)")
    ap.add_argument("--metric", choices=["best", "last"], default="best",
                    help="best test top-1 over the evaluated epochs (the paper's, default) or the final epoch's")
    ap.add_argument("--describe", action="store_true",
                    help="print one JSON line per figure: titles, texts, legend, series offsets, best-alpha marks")
    ap.add_argument("--samples", type=int, default=10, metavar="K",
                    help="fig2: the K highest and K lowest scores of each score stage beside the CSVs (0: no fig2)")
    ap.add_argument("--table1", action="store_true",
                    help="draw Table 1 (KD + feature terms) only; implied by a CSV with a method column (scripts/table1.sh's)")
    args = ap.parse_args()
    style.DESCRIBE = args.describe
    df = style.load(args.results, args.metric)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.results[0])), "figures")
    os.makedirs(out, exist_ok=True)
    if df.empty:
        sys.exit("plot_figures: no rows")
    if args.table1 or "method" in df.columns:
        # The rows differ in the KD term: the other figures would average the terms together.
        table1(df, out)
        fig2(args.results, out, args.samples)
        warn_all()
        return
    # Further axes of the experiment (experiment.axes: a column named by its dotted config key, e.g.
    # kd.tau): one set of figures per value, in <out>/<key>=<value>/. A row with the axis empty
    # (a student without KD on a kd.* axis) belongs to every value's figures.
    axes = [c for c in df.columns if "." in c]
    tau.fig11(df, out)
    if not axes:
        fig3(df, out)
        figures_5_to_8(df, out, args.pruner)
    else:
        import itertools
        values = [sorted(v for v in df[a].unique() if v != "") for a in axes]
        for combo in itertools.product(*values):
            keep = pd.Series(True, index=df.index)
            for a, v in zip(axes, combo):
                keep &= (df[a] == v) | (df[a] == "")
            sub = os.path.join(out, ",".join(f"{a}={v}" for a, v in zip(axes, combo)))
            os.makedirs(sub, exist_ok=True)
            fig3(df[keep], sub)
            figures_5_to_8(df[keep], sub, args.pruner)
        style.NOTES.append("figures per value of " + ", ".join(axes) + " in " + out + "/<key>=<value>/")
    fig2(args.results, out, args.samples)
    warn_all()


if __name__ == "__main__":
    main()
