#!/usr/bin/env python3
"""The paper's Fig. 2: the highest-scoring samples of a score file (and, with --bottom, the lowest)
as an image grid, each image with its class name and its score under it.

    scripts/plot_samples.py runs/score-forgetting/scores.npy --top 10 --bottom 10 --out fig2.png
    scripts/plot_samples.py SCORES --config C.yaml data.root=~/data     # the dataset named by hand
    scripts/plot_samples.py gallery.json                                # what `kdprune samples` wrote

Given a score file, runs `kdprune samples` (found as $KDPRUNE, the build beside this script, or
kdprune on PATH) into a temporary folder: the dataset and the scoring pool come from the
config.yaml beside the scores (a `kdprune score` run's), or --config, with any section.key=value
overrides after it; kdprune's readers load every dataset it trains on (class names from the
dataset: CIFAR meta files, Fashion-MNIST's ten names, SVHN's digits, an image folder's class
folders). Samples outside the scoring pool (another part of a disjoint split) are never drawn.
Given a gallery .json, draws it. Output: --out FILE (PNG, or any format matplotlib knows by its
extension); default samples.png beside the scores, or the gallery's name with .png; written to a
temporary name and renamed. A score file of another length than the dataset's, or with NaN scores,
fails in one line and writes no image. Needs matplotlib and numpy (Debian: python3-matplotlib).
"""
import argparse
import os
import sys
import tempfile

# The figure modules (scripts/figures/) live beside this file: importable from any working directory.
HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)

from figures import samples, save_as  # noqa: E402  (figures/__init__ sets matplotlib's Agg backend)



def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="a score file (.npy/.csv) or a gallery .json from kdprune samples")
    ap.add_argument("overrides", nargs="*", help="section.key=value for kdprune samples, e.g. data.root=~/data")
    ap.add_argument("--top", type=int, default=10, help="the highest scores drawn (default 10)")
    ap.add_argument("--bottom", type=int, default=0, help="the lowest scores drawn (default 0)")
    ap.add_argument("--config", help="the config naming the dataset (default: config.yaml beside the scores)")
    ap.add_argument("--cols", type=int, default=10, help="images per row (default 10)")
    ap.add_argument("--out", help="output file (default: samples.png beside the scores, or the gallery's name with .png)")
    args = ap.parse_intermixed_args()  # overrides may come after the options
    if args.cols < 1:
        sys.exit("plot_samples: --cols must be >= 1")
    try:
        if args.input.endswith(".json"):
            info, images = samples.read(args.input)
            out = args.out or os.path.splitext(args.input)[0] + ".png"
        else:
            kdprune = samples.find_kdprune(os.path.dirname(HERE))
            if not kdprune:
                sys.exit("plot_samples: no kdprune binary (not $KDPRUNE, not the build beside this script, not on PATH)")
            with tempfile.TemporaryDirectory() as tmp:
                gallery = samples.make_gallery(kdprune, args.input, os.path.join(tmp, "gallery.json"), args.top,
                                               args.bottom, args.config, args.overrides)
                info, images = samples.read(gallery)
            out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.input)), "samples.png")
    except samples.BadInput as e:
        sys.exit(f"plot_samples: {e}")
    save_as(samples.draw(info, images, args.cols), out)


if __name__ == "__main__":
    main()
