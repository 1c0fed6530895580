"""The training clock of kdprune runs, for bench/grid.sh.

usage: python3 grid_clock.py [--log LOG] RUN_DIR...
prints one line: "t1 tE epochs images"
  t1, tE  seconds from the start of training to the end of the first and of the last epoch
          (metrics.csv's `seconds`, the test evaluation of each epoch included)
  epochs  the epochs timed (E)
  images  the student images of one epoch, summed over the runs (summary.json's subset_size)

Runs that `kdprune run` trained together (its log's "N students train together: a, b, ..." lines)
are one group: the group's epoch ends when its last student's does, so a group's clock is the
latest of its students', and groups, which run one after another, add up. A run named in no
such line trained alone.
"""
import csv
import json
import os
import re
import sys


def clock(run_dir):
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        return [float(r["seconds"]) for r in csv.DictReader(f)]


def groups_from_log(path):
    groups = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.search(r"\d+ students train together: (.*)$", line.rstrip("\n"))
            if m:
                groups.append([n.strip() for n in m.group(1).split(",")])
    return groups


def main(argv):
    log = None
    if argv[:1] == ["--log"]:
        log, argv = argv[1], argv[2:]
    if not argv:
        sys.exit("grid_clock.py: no run directories")
    dirs = {os.path.basename(os.path.normpath(d)): d for d in argv}
    groups = [[n for n in g if n in dirs] for g in (groups_from_log(log) if log else [])]
    grouped = {n for g in groups for n in g}
    groups = [g for g in groups if g] + [[n] for n in dirs if n not in grouped]
    t1 = te = 0.0
    epochs = None
    for g in groups:
        clocks = [clock(dirs[n]) for n in g]
        e = {len(c) for c in clocks}
        if len(e) != 1 or 0 in e:
            sys.exit(f"grid_clock.py: runs {', '.join(g)} did not train the same number of epochs ({sorted(e)})")
        epochs = epochs or e.pop()
        t1 += max(c[0] for c in clocks)
        te += max(c[-1] for c in clocks)
    images = 0
    for d in dirs.values():
        with open(os.path.join(d, "summary.json")) as f:
            images += int(json.load(f)["subset_size"])
    print(f"{t1:.3f} {te:.3f} {epochs} {images}")


if __name__ == "__main__":
    main(sys.argv[1:])
