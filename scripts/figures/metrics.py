"""Reading kdprune's metrics.jsonl files for scripts/plot_curves.py: the run directories a path
names, each run's epoch rows and per-step rows, and short labels that tell many runs apart.

metrics.jsonl holds one JSON object per line: an epoch row per epoch (epoch, 1-based; lr,
train_loss, train_acc, test_loss, test_top1, test_top5, images_per_s, seconds; val_loss and
val_top1 where a validation split is held out; null where not measured that epoch) and, where
logged, per-step rows, told apart by their "step" key (step, the global step; epoch, the progress
in epochs as a float: 2.5 = halfway through epoch 3; lr, loss, images_per_s).
"""
import json
import math
import os
import re

# The keys read as numbers; others are ignored (a newer kdprune may log more).
NUMBERS = ("epoch", "step", "lr", "loss", "train_loss", "train_acc", "test_loss", "test_top1", "test_top5",
           "val_loss", "val_top1", "images_per_s", "seconds")


class BadInput(Exception):
    """A path or file that is not what plot_curves expects: a one-line message naming it."""


def natural(name):
    """Sort key: numbers by value (student-2 before student-10)."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|\D+", name)]


def find_runs(path):
    """The run directories path names: itself when it holds metrics.jsonl (or is one), else every
    directory below it that holds one (an experiment's stages), in natural order."""
    if os.path.isfile(path):
        if os.path.basename(path) != "metrics.jsonl":
            raise BadInput(f"{path}: not a metrics.jsonl file or a directory (expected a kdprune run or experiment directory)")
        return [os.path.dirname(os.path.abspath(path))]
    if not os.path.isdir(path):
        raise BadInput(f"{path}: no such file or directory")
    if os.path.isfile(os.path.join(path, "metrics.jsonl")):
        return [path]
    runs = []
    for top, dirs, files in os.walk(path):
        dirs.sort(key=natural)
        if "metrics.jsonl" in files:
            runs.append(top)
    if not runs:
        raise BadInput(f"{path}: no metrics.jsonl in it or below (expected a kdprune run directory, or an experiment "
                       "directory holding them)")
    return runs


def _number(value, where, key):
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadInput(f"{where}: {key} is {value!r}, expected a number or null")
    return float(value)


def read(run_dir):
    """(epoch rows, step rows) of run_dir/metrics.jsonl, each a list of {key: float} (NaN: not
    measured), sorted by epoch (and step); a repeated epoch or step keeps its last row."""
    path = os.path.join(run_dir, "metrics.jsonl")
    epochs, steps = {}, {}
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{path}: cannot read ({e})")
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{i}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise BadInput(f"{where}: not a JSON object ({e.msg}; expected one metrics row per line)")
        if not isinstance(row, dict):
            raise BadInput(f"{where}: a JSON {type(row).__name__}, expected an object (one metrics row per line)")
        if "epoch" not in row:
            raise BadInput(f"{where}: no \"epoch\" key (expected kdprune's metrics rows)")
        values = {k: _number(row[k], where, k) for k in NUMBERS if k in row}
        if math.isnan(values["epoch"]):
            raise BadInput(f"{where}: epoch is null, expected a number")
        if "step" in row:
            steps[values["step"]] = values
        else:
            epochs[values["epoch"]] = values
    return [epochs[k] for k in sorted(epochs)], [steps[k] for k in sorted(steps)]


def labels(run_dirs):
    """(a short label per run, what all labels had in common): the runs' paths below their common
    directory, less the leading "-"-separated words every label shares (student-random-f0.1-a0-s0
    and student-random-f0.1-a0.5-s0: a0-s0 and a0.5-s0, common "student-random-f0.1")."""
    full = [os.path.abspath(d) for d in run_dirs]
    if len(full) == 1:
        return [os.path.basename(full[0])], ""
    base = os.path.commonpath([os.path.dirname(d) for d in full])
    names = [os.path.relpath(d, base) for d in full]
    if len(set(names)) < len(names):  # the same names in different places: keep the paths
        names = full
    words = [re.split(r"(?<=-)", n) for n in names]  # "a-b-c" -> ["a-", "b-", "c"]
    k = 0
    while all(len(w) > k + 1 for w in words) and len({w[k] for w in words}) == 1:
        k += 1
    common = "".join(words[0][:k]).rstrip("-")
    return ["".join(w[k:]) for w in words], common
