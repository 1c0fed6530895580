#!/usr/bin/env bash
# Table 1: KD plus a feature-based term, L = CE + α·KD + β·L_R (RepDistiller's weighting,
# kd.weighting=repdistiller), on pruned data (forgetting pruning in the shipped configs).
#   scripts/table1.sh [overrides...]                    Fashion-MNIST: configs/fashion_mnist/table1.yaml
#   CONFIG=configs/cifar100/table1.yaml JOBS=4 scripts/table1.sh data.root=~/data/cifar100 run.device=cuda
#   METHODS="vid at" SEEDS="0 1" scripts/table1.sh
#
# Experiments (each a `kdprune run`, under the config's run.root; KDPRUNE_RUNS overrides it):
#   <NAME>            the base: the teacher, the scores, the subsets and the students of the rows
#                     "no KD" (α = 0: CE only) and "KD" (the config's α, 2, with β = 0); its
#                     experiment.alphas come from the config
#   <NAME>-<method>   one per feature term in METHODS: the base's teacher and score file reused
#                     (experiment.teacher_models, experiment.pruners), students with α = ALPHA,
#                     kd.extra=<term>, kd.beta = BETA (or the term's own, TERM:BETA; then the
#                     method is named <term>-b<beta>)
# then merged: <runs>/<NAME>-table1.csv (every student, a `method` column first: none, kd or the
# term) and <runs>/<NAME>-table1.md, the table it prints: rows = methods, columns = f, cells =
# mean ± std over the seeds of the best test top-1 (METRIC=last: the final epoch's).
#
# Environment (defaults in brackets):
#   CONFIG    the experiment file [configs/fashion_mnist/table1.yaml of this checkout]
#   METHODS   the feature terms, names from `kdprune info` under "KD losses" [fitnet at sp pkt rkd vid nst cc];
#             TERM:BETA gives one its own beta (RepDistiller's: fitnet:100 at:1000 sp:3000 pkt:30000
#             cc:0.02 nst:50; vid and rkd 1)
#   SEEDS     student seeds, space-separated [the config's experiment.seeds]
#   ALPHA, BETA  the feature rows' KD and feature-term weights [1 and 1, the paper's]
#   TERM_OVERRIDES  KEY=VALUE words for the feature rows' students only, e.g. "kd.init_epochs=5
#             kd.nce_k=4096" for short runs (the base experiment's students keep theirs) [none]
#   NAME      the base experiment's name [the config's experiment.name]
#   KDPRUNE_RUNS  the run root [the config's run.root]    METRIC  best|last [best]
#   KDPRUNE   the binary [build/kdprune of this checkout, else kdprune on PATH]
#   JOBS=N    N students at once (all experiments' students in one queue); PRINT=1 runs the shared
#             stages and prints the student command lines instead (run them, then this script
#             again to collect). See scripts/lib/jobs.sh.
#   COLLECT=1 run nothing: merge the students finished so far (those `kdprune run` would reuse,
#             via `kdprune results`) into the CSV and table, and say how many of the planned finished
# Trailing overrides go to every experiment. Works from any directory: CONFIG and KDPRUNE_RUNS are
# relative to the current one. Finished stages are reused, so a second call only collects.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/lib/jobs.sh"
source "$root/scripts/lib/locate.sh"
source "$root/scripts/lib/python.sh"
kdprune=$(find_kdprune)
py=$(any_python)
config="${CONFIG:-$root/configs/fashion_mnist/table1.yaml}"
alpha="${ALPHA:-1}"
beta="${BETA:-1}"
# Each METHODS word is TERM or TERM:BETA; methods[] holds the method names (TERM, or TERM-bBETA with
# its own beta), term_of[] and beta_of[] their kd.extra and kd.beta.
read -r -a words <<<"${METHODS-fitnet at sp pkt rkd vid nst cc}"
methods=()
declare -A term_of beta_of
for w in "${words[@]}"; do
  t=${w%%:*}
  if [ "$t" = "$w" ]; then m=$t b=$beta; else b=${w#*:} m=$t-b${w#*:}; fi
  case "$t" in
    kd|none|base) echo "table1.sh: METHODS: '$t' is not a feature term (the rows no KD and KD come from the base experiment)" >&2; exit 1 ;;
  esac
  [[ $b =~ ^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$ ]] || { echo "table1.sh: METHODS: '$w': the beta '$b' is not a number" >&2; exit 1; }
  [ -z "${term_of[$m]:-}" ] || { echo "table1.sh: METHODS: '$w' twice" >&2; exit 1; }
  methods+=("$m") term_of[$m]=$t beta_of[$m]=$b
done

common=()
[ -n "${KDPRUNE_RUNS:-}" ] && common+=("run.root=$KDPRUNE_RUNS")
[ -n "${NAME:-}" ] && common+=("experiment.name=$NAME")
if [ -n "${SEEDS:-}" ]; then
  read -r -a seeds <<<"$SEEDS"
  common+=("experiment.seeds=[$(IFS=,; echo "${seeds[*]}")]")
fi
common+=("$@")
read -r -a term_overrides <<<"${TERM_OVERRIDES:-}"
for o in "${term_overrides[@]}"; do
  [[ $o == kd.*=* ]] || { echo "table1.sh: TERM_OVERRIDES: '$o' is not a kd.KEY=VALUE word" >&2; exit 1; }
done

# Each method must be a registered KD loss (kdprune info, "KD losses"): checked before anything runs.
registered=$("$kdprune" info 2>/dev/null | sed -n '/^KD losses/,/^$/p' | sed -n 's/^  \([A-Za-z0-9_]*\)  .*/\1/p' | tr '\n' ' ')
for m in "${methods[@]}"; do
  case " $registered " in
    *" ${term_of[$m]} "*) ;;
    *) echo "table1.sh: METHODS: '${term_of[$m]}' is not a registered KD loss (kdprune info lists: ${registered% })" >&2; exit 1 ;;
  esac
done

# The helper: "plan" reads the base experiment's --dry-run plan (stdout) and prints its directory,
# its teachers (a YAML list for experiment.teacher_models) and its one pruner with the score file
# (a YAML list for experiment.pruners); "students" reads an experiment's plan and prints the number
# of its students, then the run directory of each finished one (reused); "merge" merges the
# results.csv files and prints the table.
# Standard library only.
read -r -d '' helper <<'PY' || true
import csv, json, math, re, shlex, sys

def plan(text):
    expdir, teachers, pruners = None, [], []
    stage = None
    for line in text.splitlines():
        if not line.startswith("\t"):
            parts = line.split("\t")
            stage = parts[1] if len(parts) > 1 else None
            continue
        argv = shlex.split(line.strip())
        opts = dict(a.split("=", 1) for a in argv if "=" in a and not a.startswith("-"))
        if "run.root" in opts:
            expdir = expdir or opts["run.root"]
        cmd = argv[1] if len(argv) > 1 else ""
        if cmd == "distill" and opts.get("kd.teacher") and opts["kd.teacher"] not in teachers:
            teachers.append(opts["kd.teacher"])
        if cmd == "prune" and stage:
            m = re.match(r"prune-(.+)-f[0-9.eE+-]+?(-s\d+)?$", stage)
            label = m.group(1) if m else stage
            sampling = opts.get("prune.sampling", "")
            if sampling and sampling != "topk" and label.endswith("-" + sampling):
                label = label[: -len(sampling) - 1]
            p = {"name": label}
            if "--scores" in argv:
                p["scores"] = argv[argv.index("--scores") + 1]
                for k in ("level", "sampling", "cutoff"):
                    if opts.get("prune." + k, "") != "":
                        p[k] = opts["prune." + k]
            if opts.get("prune.class_balanced", "") != "":
                p["class_balanced"] = opts["prune.class_balanced"]
            if p not in pruners:
                pruners.append(p)
    if expdir is None:
        sys.exit("table1.sh: no stage in the base experiment's plan")
    if not teachers:
        sys.exit("table1.sh: the base experiment has no KD students (no teacher): its experiment.alphas need the vanilla-KD alpha (2)")
    if len(pruners) != 1:
        sys.exit(f"table1.sh: the base experiment has {len(pruners)} pruners ({json.dumps(pruners)}); Table 1 takes one (experiment.pruners)")
    def yval(v):
        return v if re.fullmatch(r"[A-Za-z0-9_.+-]+", v) else json.dumps(v)
    print(expdir)
    print("[" + ", ".join(json.dumps(t) for t in teachers) + "]")
    print("[{" + ", ".join(f"{k}: {yval(v)}" for k, v in pruners[0].items()) + "}]")

def students(text):
    planned, finished, action, stage = 0, [], None, None
    for line in text.splitlines():
        if not line.startswith("\t"):
            parts = line.split("\t")
            action, stage = parts[0], parts[1] if len(parts) > 1 else None
            continue
        argv = shlex.split(line.strip())
        if len(argv) < 2 or argv[1] != "distill":
            continue
        planned += 1
        opts = dict(a.split("=", 1) for a in argv if "=" in a and not a.startswith("-"))
        if action == "reuse":
            finished.append(opts.get("run.root", ".") + "/" + opts.get("run.name", stage))
    print(planned)
    for d in finished:
        print(d)

NAMES = {"none": "no KD (CE only)", "kd": "KD", "fitnet": "FitNets", "at": "AT", "sp": "SP", "pkt": "PKT",
         "rkd": "RKD", "vid": "VID", "nst": "NST", "cc": "CC", "ab": "AB", "ft": "FT", "fsp": "FSP", "crd": "CRD"}

def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return float("nan")

def label(m):
    if m.startswith("kd-a"):
        return f"KD (α = {m[4:]})"
    t = re.fullmatch(r"(.+)-b([0-9.eE+-]+)", m)
    if t:
        return f"{NAMES.get(t.group(1), t.group(1).upper())} (β = {t.group(2)})"
    return NAMES.get(m, m.upper())

def merge(out_csv, out_md, metric, alpha, base, *triples):
    columns, rows = ["method", "beta"], []
    def read(path, method_of, beta):
        try:
            fh = open(path, newline="")
        except OSError as e:
            sys.exit(f"table1.sh: {path}: {e.strerror}")
        with fh:
            r = csv.DictReader(fh)
            for c in r.fieldnames or []:
                if c not in columns:
                    columns.append(c)
            for row in r:
                row["method"] = method_of(row)
                row["beta"] = beta
                # results.csv of a kdprune that records the extra term: it must agree with the name
                for c in ("kd_extra", "extra"):
                    if row.get(c) and row["method"] not in ("none", "kd") and not re.fullmatch(re.escape(row[c]) + r"(-b.*)?", row["method"]):
                        sys.exit(f"table1.sh: {row.get('run_dir')}: {c} is {row[c]}, but its experiment is {row['method']}'s")
                rows.append(row)
    kd_alphas = set()
    def base_method(row):
        if num(row["alpha"]) == 0:
            return "none"
        kd_alphas.add(row["alpha"])
        return "kd"
    read(base, base_method, "0")
    if len(kd_alphas) > 1:  # several vanilla-KD alphas: one row each
        for row in rows:
            if row["method"] == "kd":
                row["method"] = f"kd-a{num(row['alpha']):g}"
    order = ["none"] + sorted({r["method"] for r in rows if r["method"] != "none"}, key=lambda m: num(m[4:]) if m != "kd" else 0)
    betas = {}
    for i in range(0, len(triples), 3):
        method, betas[method] = triples[i], triples[i + 1]
        order.append(method)
        read(triples[i + 2], lambda row, m=method: m, betas[method])
    for row in rows:
        for c in columns:
            if row.get(c) is None:
                row[c] = ""
    # One student per method, f and seed: a repeat would pass for an extra seed.
    seen = {}
    for row in rows:
        key = (row["method"], row["f"], row["seed"])
        if key in seen:
            sys.exit(f"table1.sh: {row.get('run_dir')} and {seen[key]}: the same method, f and seed twice")
        seen[key] = row.get("run_dir", "?")
    with open(out_csv, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    col = "best_top1" if metric == "best" and "best_top1" in columns else "top1"
    fs = sorted({num(r["f"]) for r in rows})
    cells = {}
    for r in rows:
        cells.setdefault((r["method"], num(r["f"])), []).append(num(r[col]))
    def stats(v):
        m = sum(v) / len(v)
        sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
        return m, sd
    best = {f: max((stats(v)[0] for (m, g), v in cells.items() if g == f), default=None) for f in fs}
    table = [["method"] + [f"f = {f:g}" for f in fs]]
    for m in order:
        line = [label(m)]
        for f in fs:
            v = cells.get((m, f))
            if not v:
                line.append("-")
                continue
            mean, sd = stats(v)
            s = f"{mean:.2f} ± {sd:.2f}" if len(v) > 1 else f"{mean:.2f}"
            line.append(f"**{s}**" if mean == best[f] else s)
        table.append(line)
    width = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    out = []
    for i, line in enumerate(table):
        out.append("| " + " | ".join(s.ljust(width[j]) for j, s in enumerate(line)) + " |")
        if i == 0:
            out.append("|" + "|".join("-" * (x + 2) for x in width) + "|")
    def values(c):
        return ", ".join(sorted({r.get(c, "") for r in rows if r.get(c, "")})) or "?"
    ns = sorted({len(v) for v in cells.values()})
    kd_rows = [r for r in rows if r["method"] != "none"]
    what = "best test top-1 % over the evaluated epochs" if col == "best_top1" else "test top-1 % at the final epoch"
    out.append("")
    if ns == [1]:
        over = "1 seed per cell (n = 1: no std)"
    elif len(ns) == 1:
        over = f"mean ± std over {ns[0]} seeds"
    else:
        over = f"mean ± std over {ns[0]}-{ns[-1]} seeds per cell" + (" (n = 1: no std)" if ns[0] == 1 else "")
    out.append(f"{what}; {over} (seeds {', '.join(sorted({r['seed'] for r in rows}, key=num))}); bold: the best mean per f.")
    out.append(f"{values('dataset')}, {values('pruner')} pruning; student {values('student_arch')}, teacher "
               f"{', '.join(sorted({r.get('teacher_arch', '') or '?' for r in kd_rows})) or '-'}.")
    kd_alpha = ", ".join(sorted(kd_alphas, key=num)) or "-"
    by_beta = {}
    for m in order:
        if m in betas:
            by_beta.setdefault(betas[m], []).append(re.sub(r" \(β = .*\)$", "", label(m)))
    out.append(f"Rows: no KD = CE only; KD = CE + {kd_alpha}·KD (kd.weighting=repdistiller)"
               + "".join(f"; {', '.join(ms)} = CE + {alpha}·KD + {b}·L_R" for b, ms in by_beta.items())
               + (" with the row's feature term as L_R (kd.extra)." if by_beta else "."))
    # train.amp=auto picks per machine, and reused students may predate it: say what a cell mixes.
    precs = {}
    for r in rows:
        precs.setdefault((r["method"], num(r["f"])), set()).add(r.get("precision", "") or "?")
    mixed = [f"{label(m)} at f = {g:g}" for (m, g), p in precs.items() if len(p) > 1]
    if mixed:
        print(f"table1.sh: warning: cells average runs of different precisions: {'; '.join(mixed)}", file=sys.stderr)
    out.append(f"Precision: {values('precision')}" + (f" (cells mixing them: {'; '.join(mixed)})." if mixed else "."))
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    with open(out_md, "w") as fh:
        fh.write(text)

if __name__ == "__main__":
    if sys.argv[1] == "plan":
        plan(sys.stdin.read())
    elif sys.argv[1] == "students":
        students(sys.stdin.read())
    else:
        merge(*sys.argv[2:])
PY

# The base experiment's plan: its directory, teacher(s) and score file.
plan_out=$("$kdprune" run --config "$config" --dry-run "${common[@]}") || exit 1
mapfile -t found < <("$py" -c "$helper" plan <<<"$plan_out")
[ "${#found[@]}" = 3 ] || exit 1
expdir=${found[0]} teachers=${found[1]} pruners=${found[2]}
name=$(basename "$expdir")
runs=$(dirname "$expdir")

# kdprune run arguments of each experiment: the base, then one per method.
exps=(base "${methods[@]}")
args_of() {
  if [ "$1" = base ]; then
    exp_args=("${common[@]}")
  else
    exp_args=("${common[@]}" "run.root=$runs" "experiment.name=$name-$1" "experiment.teacher_archs=" "experiment.teacher_fractions="
              "experiment.teacher_models=$teachers" "experiment.pruners=$pruners" "experiment.alphas=[$alpha]"
              "experiment.student.kd.extra=${term_of[$1]}" "experiment.student.kd.beta=${beta_of[$1]}")
    for o in "${term_overrides[@]}"; do exp_args+=("experiment.student.$o"); done
  fi
}

# COLLECT=1: nothing runs. Each experiment's finished students (its --dry-run plan reuses them)
# go through `kdprune results` into a results.csv of their own, and those into the usual merge.
if [ "${COLLECT:-0}" = 1 ]; then
  [ "${PRINT:-0}" != 1 ] || { echo "table1.sh: COLLECT=1 and PRINT=1 exclude each other" >&2; exit 1; }
  collected=$(mktemp -d)
  trap 'rm -rf "$collected"' EXIT
  planned=0 finished=0 counts=() pairs=()
  for e in "${exps[@]}"; do
    args_of "$e"
    if [ "$e" = base ]; then
      exp=$name exp_plan=$plan_out
    else
      exp=$name-$e
      exp_plan=$("$kdprune" run --config "$config" --dry-run "${exp_args[@]}") \
        || { echo "table1.sh: COLLECT=1: cannot plan the experiment $exp (above)" >&2; exit 1; }
    fi
    mapfile -t student_lines < <("$py" -c "$helper" students <<<"$exp_plan")
    [ "${#student_lines[@]}" -ge 1 ] || exit 1
    n=${student_lines[0]} done_dirs=("${student_lines[@]:1}")
    planned=$((planned + n)) finished=$((finished + ${#done_dirs[@]}))
    counts+=("$exp ${#done_dirs[@]}/$n")
    if [ "${#done_dirs[@]}" -gt 0 ]; then
      "$kdprune" results "${done_dirs[@]}" --out "$collected/$e.csv" --metric "${METRIC:-best}" >&2
    else
      : > "$collected/$e.csv"
    fi
    [ "$e" = base ] || pairs+=("$e" "${beta_of[$e]}" "$collected/$e.csv")
  done
  list=$(printf '%s, ' "${counts[@]}")
  summary="$finished of $planned planned students finished (${list%, })"
  if [ "$finished" = 0 ]; then
    echo "table1.sh: COLLECT=1: nothing to merge yet: $summary" >&2
    exit 1
  fi
  echo
  echo "Table 1 ($name; rows: none kd${methods[*]:+ ${methods[*]}}; collected, nothing trained):"
  "$py" -c "$helper" merge "$runs/$name-table1.csv" "$runs/$name-table1.md" "${METRIC:-best}" "$alpha" \
    "$collected/base.csv" "${pairs[@]}"
  if [ "$finished" -lt "$planned" ]; then
    echo "Partial (COLLECT=1): $summary." | tee -a "$runs/$name-table1.md"
  fi
  echo "collected: $summary"
  echo "merged results: $runs/$name-table1.csv (table: $runs/$name-table1.md)"
  exit 0
fi

# 1. The shared stages, in order (the base first: its teacher and scores are the others' inputs).
for e in "${exps[@]}"; do
  args_of "$e"
  "$kdprune" run --config "$config" --only teacher,score,prune "${exp_args[@]}" >&2
done
# 2. Every experiment's students in one queue (JOBS at once), or their command lines (PRINT=1).
for e in "${exps[@]}"; do
  args_of "$e"
  "$kdprune" run --config "$config" --print-jobs "${exp_args[@]}"
done | run_jobs
if [ "${PRINT:-0}" = 1 ]; then
  echo "# run the lines above, then this script again to collect the table" >&2
  exit 0
fi
# 3. Collect: each experiment's results.csv (its own table to stderr), then the merge.
pairs=()
for e in "${exps[@]}"; do
  args_of "$e"
  "$kdprune" run --config "$config" "${exp_args[@]}" >&2
  [ "$e" = base ] || pairs+=("$e" "${beta_of[$e]}" "$runs/$name-$e/results.csv")
done
echo
echo "Table 1 ($name; rows: none kd${methods[*]:+ ${methods[*]}}):"
"$py" -c "$helper" merge "$runs/$name-table1.csv" "$runs/$name-table1.md" "${METRIC:-best}" "$alpha" \
  "$expdir/results.csv" "${pairs[@]}"
echo "merged results: $runs/$name-table1.csv (table: $runs/$name-table1.md)"
