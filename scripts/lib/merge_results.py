#!/usr/bin/env python3
"""Merge kdprune results.csv files and print the accuracy table, grouped by condition.

    merge_results.py A/results.csv B/results.csv --out merged.csv [--summary S.csv] [--table T.md]
                     [--metric best|last]

A condition is every column of results.csv except the seed and the outcomes (top1, top5,
best_top1, best_epoch, wall_seconds, subset_size, run_dir): rows that differ in any other column
(the teacher's split part, architecture or f_t, alpha, tau, the pruner, ...) are never averaged
together; only seeds are. Rows that repeat a condition *and* a seed already seen (the same student
trained in two experiments, e.g. the no-KD students of the disjoint experiment and of its
control) are the same sample twice: the first is kept, the others are dropped and listed, so they
do not pass for extra seeds.

Writes the merged per-run rows (--out, same columns), the per-condition summary (--summary: the
condition columns, then n, seeds, mean, std of the metric) and prints the table (rows f, one
column per condition; --table also writes it): mean ± std over the seeds, n in brackets; KD
columns always name their teacher. Standard library only.
"""
import argparse
import csv
import math
import sys

OUTCOMES = ["seed", "top1", "top5", "best_top1", "best_epoch", "wall_seconds", "subset_size", "run_dir"]
REQUIRED = ["pruner", "f", "alpha", "seed", "top1"]
PRUNER_COLS = ["pruner", "level", "class_balanced", "sampling"]
TEACHER_COLS = ["alpha", "alpha_schedule", "teacher_arch", "teacher_f", "teacher_part"]
# Columns added to results.csv after CSVs were shared: where some inputs lack one, their rows'
# value is unknown, not a condition of its own.
LATE = ["precision", "best_by"]


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return float("nan")


def fmt(x):
    return f"{x:g}"


def read(paths):
    columns, rows = [], []
    for p in paths:
        try:
            with open(p, newline="") as fh:
                r = csv.DictReader(fh)
                if r.fieldnames is None:
                    sys.exit(f"merge_results: {p}: empty file")
                missing = [c for c in REQUIRED if c not in r.fieldnames]
                if missing:
                    sys.exit(f"merge_results: {p}: not a kdprune results.csv (missing columns: {', '.join(missing)})")
                for c in r.fieldnames:
                    if c not in columns:
                        columns.append(c)
                rows.extend(r)
        except OSError as e:
            sys.exit(f"merge_results: {p}: {e.strerror}")
    for row in rows:
        for c in columns:
            row.setdefault(c, "")
            if row[c] is None:
                row[c] = ""
    return columns, rows


def pruner_label(r):
    # As the accuracy table of `kdprune results` names pruners.
    s = r["pruner"]
    level = r.get("level", "")
    if level and level != ("moderate" if s == "moderate" else "hard"):
        s += "-" + level
    if r.get("class_balanced", "false").lower() == "true" and s != "class_balanced_random":
        s += "-cb"
    sampling = r.get("sampling", "")
    if sampling and sampling != "topk":
        s += "-" + sampling
    return s


def kd_label(r):
    if num(r["alpha"]) == 0:
        return "no KD"
    schedule = r.get("alpha_schedule", "constant") or "constant"
    s = "KD α=" + (fmt(num(r["alpha"])) if schedule == "constant" else f"{schedule} ({fmt(num(r['alpha']))} at this f)")
    s += ", teacher " + (r.get("teacher_arch") or "?")
    ft = r.get("teacher_f", "")
    if ft and num(ft) not in (1.0, 0.0):
        s += f" f_t={fmt(num(ft))}"
    part, student_part = r.get("teacher_part", ""), r.get("data_part", "")
    if part and part != "all":
        s += f" on {part} part" + (" (same data)" if part == student_part else " (disjoint)")
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+")
    ap.add_argument("--out", help="merged per-run CSV")
    ap.add_argument("--summary", help="per-condition CSV: condition columns, n, seeds, mean, std")
    ap.add_argument("--table", help="also write the table (Markdown) here")
    ap.add_argument("--metric", choices=["best", "last"], default="best")
    args = ap.parse_args()
    columns, rows = read(args.results)
    if not rows:
        sys.exit("merge_results: no rows")
    unknown = [c for c in LATE if c in columns and any(r[c] == "" for r in rows)]
    for c in unknown:
        print(f"merge_results: some inputs have no {c} column (older kdprune): {c} does not tell conditions apart",
              file=sys.stderr)
    conds = [c for c in columns if c not in OUTCOMES and c not in unknown]
    metric_col = "best_top1" if args.metric == "best" and "best_top1" in columns else "top1"

    # Drop repeats of a condition and seed.
    seen, kept, dropped = {}, [], []
    for r in rows:
        key = tuple(r[c] for c in conds) + (r["seed"],)
        if key in seen:
            dropped.append((r.get("run_dir", "?"), seen[key]))
            continue
        seen[key] = r.get("run_dir", "?")
        kept.append(r)

    if args.out:
        with open(args.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
            w.writeheader()
            w.writerows(kept)

    # Groups: every condition column (f included); only seeds vary inside one.
    groups = {}
    for r in kept:
        groups.setdefault(tuple(r[c] for c in conds), []).append(r)

    def stats(rs):
        v = [num(r[metric_col]) for r in rs]
        m = sum(v) / len(v)
        sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
        return m, sd, len(v), sorted({r["seed"] for r in rs}, key=num)

    if args.summary:
        with open(args.summary, "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(conds + ["n", "seeds", "mean_" + metric_col, "std_" + metric_col])
            for key, rs in groups.items():
                m, sd, n, seeds = stats(rs)
                w.writerow(list(key) + [n, " ".join(seeds), f"{m:.4f}", f"{sd:.4f}"])

    # The table: rows f, columns = the other condition columns. Columns that are the same in every
    # row are left out of the header; the pruner and the KD part (alpha, teacher) are always named.
    varying = [c for c in conds if len({r[c] for r in kept}) > 1]
    rest = [c for c in varying if c not in ["f"] + PRUNER_COLS + TEACHER_COLS]
    pruners = []
    for r in kept:
        p = pruner_label(r)
        if p != "none" and p not in pruners:
            pruners.append(p)
    if not pruners:
        pruners = ["none"]

    def col_labels(r):
        p = pruner_label(r)
        extra = "".join(f", {c}={r[c]}" for c in rest)
        kd = kd_label(r)
        # Students on the full data (pruner none) belong to every pruner's column.
        return [(q, kd + extra) for q in (pruners if p == "none" else [p])]

    cells, cols, fs = {}, [], []
    for key, rs in groups.items():
        r = rs[0]
        f = num(r["f"])
        if f not in fs:
            fs.append(f)
        for col in col_labels(r):
            if col not in cols:
                cols.append(col)
            cells.setdefault((f, col), []).extend(rs)
    fs.sort()
    cols.sort(key=lambda c: (pruners.index(c[0]) if c[0] in pruners else len(pruners), c[1] != "no KD" and not c[1].startswith("no KD,"), c[1]))

    header = ["f"] + [f"{p} / {k}" for p, k in cols]
    table = [header]
    for f in fs:
        line = [fmt(f)]
        for col in cols:
            rs = cells.get((f, col))
            if not rs:
                line.append("-")
                continue
            m, sd, n, _ = stats(rs)
            line.append(f"{m:.2f} ± {sd:.2f} (n={n})" if n > 1 else f"{m:.2f} (n=1)")
        table.append(line)
    width = [max(len(line[i]) for line in table) for i in range(len(header))]
    out = []
    for i, line in enumerate(table):
        out.append("| " + " | ".join(s.ljust(width[j]) for j, s in enumerate(line)) + " |")
        if i == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in width) + "|")
    what = ("best test top-1 % over the evaluated epochs" if metric_col == "best_top1" else "test top-1 % at the final epoch")
    ns = sorted({len(rs) for rs in cells.values()})
    out.append(f"{what}; mean ± std over seeds, n = number of seeds per cell ({', '.join(map(str, ns))})")
    out.append("grouped by every column but the seed and the outcomes: " + ", ".join(conds))
    if dropped:
        out.append(f"{len(dropped)} rows dropped: the same condition and seed as a row kept (the same student twice):")
        for d, k in dropped:
            out.append(f"  {d} (same as {k})")
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if args.table:
        with open(args.table, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
