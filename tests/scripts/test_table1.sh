#!/usr/bin/env bash
# scripts/table1.sh on a tiny synthetic experiment (1x8x8 images, 4 classes, 128 training images,
# 1 epoch, METHODS="vid at", one seed), called from another directory than the checkout with the
# user's paths (CONFIG, KDPRUNE_RUNS) relative to it: PRINT=1 runs the shared stages and prints one
# line per student of every experiment; a run trains them and writes the merged CSV (a method
# column: none, kd, vid, at) and the table (rows methods, columns f); the feature experiments
# reuse the base's teacher and scores and their students really train with kd.extra and kd.beta;
# a second call reuses everything; TERM:BETA gives a term its own beta (and row); TERM_OVERRIDES
# reach the feature rows' students only; plot_figures.py draws Table 1 from the merged CSV (and from the
# results.csv files with --table1); an unknown method is refused before anything runs; COLLECT=1
# trains nothing and merges the students finished so far (one summary.json removed: 7 of 8).
# Usage: test_table1.sh KDPRUNE_BINARY   (KDPRUNE_TEST_JOBS=N: N students at once, default 1)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=$(cd "$(dirname "${1:?usage: test_table1.sh KDPRUNE_BINARY}")" && pwd)/$(basename "$1")
export KDPRUNE=$bin
unset NAME SEEDS ALPHA BETA METRIC PRINT JOBS CONFIG KDPRUNE_RUNS TERM_OVERRIDES
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cat > "$tmp/exp.yaml" <<'YAML'
run: {name: t1, threads: 1}
data:
  name: synthetic
  synthetic: {train_size: 128, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}
model: {arch: resnet8}
train: {epochs: 1, batch_size: 32, lr: 0.05, schedule: constant, eval_every: 100}
kd: {weighting: repdistiller, gamma: 1, beta: 0}
score: {epochs: 1}
experiment:
  name: t1
  pruners: [forgetting]
  fractions: [0.25, 0.5]
  alphas: [0, 2]
  seeds: [0, 1]
YAML
mkdir -p "$tmp/elsewhere"
cd "$tmp/elsewhere"   # not the checkout: CONFIG and KDPRUNE_RUNS below are relative to here
export METHODS="vid at" SEEDS=0
runs=t1runs

# An unknown term: refused before anything runs.
if METHODS="vid nosuchterm" CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" > bad.txt 2>&1; then
  fail "METHODS with an unregistered term ran"
fi
grep -q "'nosuchterm' is not a registered KD loss" bad.txt || { cat bad.txt; fail "no clear message for an unknown term"; }
[ ! -e $runs ] || fail "an unknown term started runs"

# PRINT=1: the shared stages run (the base's teacher and scores, every experiment's subsets), and
# one distill line per student: base 2 f x (no KD, KD), vid 2 f, at 2 f.
PRINT=1 CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" > jobs.txt 2> err.txt || { cat err.txt; fail "PRINT=1"; }
[ "$(grep -c ' distill ' jobs.txt)" = 8 ] || { cat jobs.txt; fail "expected 8 student command lines"; }
[ "$(grep -c 'run.name=student-.*-a0-s0' jobs.txt)" = 2 ] || { cat jobs.txt; fail "expected 2 no-KD students"; }
[ "$(grep -c "run.root=[^ ]*$runs/t1-vid " jobs.txt)" = 2 ] || { cat jobs.txt; fail "expected 2 vid students in $runs/t1-vid"; }
for f in $runs/t1/teacher-resnet8/summary.json $runs/t1/score-forgetting/scores.npy; do
  [ -f "$f" ] || fail "the base's shared stages did not run ($f)"
done
[ -f $runs/t1-at/prune-forgetting-f0.25/subset.npy ] || fail "the at experiment's subsets were not made"
for m in vid at; do
  ls -d $runs/t1-$m/teacher-* $runs/t1-$m/score-* 2>/dev/null && fail "the $m experiment trained its own teacher or scores"
done
[ ! -e $runs/t1-table1.csv ] || fail "a merged table before the students ran"

# The run: JOBS students at once, then the merge and the table.
JOBS=${KDPRUNE_TEST_JOBS:-1} CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" > out.txt 2> log.txt \
  || { cat out.txt log.txt; fail "table1.sh"; }
csv=$runs/t1-table1.csv
[ -f "$csv" ] || { cat out.txt; fail "no merged CSV $csv"; }
head -1 "$csv" | grep -q '^method,beta,dataset,pruner,' || { head -1 "$csv"; fail "the merged CSV does not start with a method column"; }
[ "$(wc -l < "$csv")" = 9 ] || { cat "$csv"; fail "the merged CSV should have 8 rows"; }
[ "$(cut -d, -f1 "$csv" | sed 1d | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" = "at=2 kd=2 none=2 vid=2 " ] \
  || { cat "$csv"; fail "expected 2 rows each of none, kd, vid, at"; }
# column numbers from the header
col() { head -1 "$csv" | tr ',' '\n' | grep -nx "$1" | cut -d: -f1; }
a=$(col alpha) d=$(col run_dir)
[ "$(awk -F, -v a="$a" 'NR > 1 { print $1 ":" $a }' "$csv" | sort -u | tr '\n' ' ')" = "at:1 kd:2 none:0 vid:1 " ] \
  || { cat "$csv"; fail "alphas: none 0, kd 2, the feature terms 1"; }
# Each row's student really trained so: its resolved config names the term and the base's teacher.
teacher=$(cd $runs/t1/teacher-resnet8 && pwd)/model.pt
while IFS=, read -r method dir; do
  cfg=$dir/config.yaml
  [ -f "$cfg" ] || fail "$method: no $cfg"
  kd=$(sed -n '/^kd:/,/^[a-z]/p' "$cfg")
  case $method in
    vid|at)
      grep -Eq "^  extra: \"?$method\"?$" <<<"$kd" || { echo "$kd"; fail "$dir: kd.extra is not $method"; }
      grep -Eq '^  beta: 1(\.0*)?$' <<<"$kd" || { echo "$kd"; fail "$dir: kd.beta is not 1"; }
      grep -Eq "^  weighting: \"?repdistiller\"?$" <<<"$kd" || { echo "$kd"; fail "$dir: not the repdistiller weighting"; }
      used=$(sed -n 's/^  teacher: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' <<<"$kd")   # relative to here, as run.root was
      if [ -z "$used" ] || [ "$(cd "$(dirname "$used")" && pwd)/$(basename "$used")" != "$teacher" ]; then
        echo "$kd"; fail "$dir: not the base's teacher $teacher"
      fi
      case $dir in */t1-$method/*) ;; *) fail "$method row from $dir";; esac ;;
    kd|none)
      grep -Eq '^  extra: ("")?$' <<<"$kd" || { echo "$kd"; fail "$dir: a $method student with kd.extra"; }
      grep -Eq '^  beta: 0(\.0*)?$' <<<"$kd" || { echo "$kd"; fail "$dir: a $method student with kd.beta not 0"; }
      case $dir in */t1/*) ;; *) fail "$method row from $dir";; esac ;;
  esac
done < <(awk -F, -v d="$d" 'NR > 1 { print $1 "," $d }' "$csv")

# The printed table: rows = methods (in order), columns = f; one number per cell (one seed).
table=$(sed -n '/^Table 1 (t1/,/^merged results/p' out.txt | sed '1d;$d')
grep -Eq '^\| method +\| f = 0.25 +\| f = 0.5 +\|$' <<<"$table" || { echo "$table"; fail "table header: method, f = 0.25, f = 0.5"; }
[ "$(grep -E '^\| (no KD|KD|VID|AT) ' <<<"$table" | cut -d'|' -f2 | sed 's/ *$//;s/^ //' | tr '\n' ,)" = "no KD (CE only),KD,VID,AT," ] \
  || { echo "$table"; fail "table rows: no KD, KD, VID, AT in that order"; }
[ "$(grep -Ec '^\| [^|]+ \| \**[0-9]+\.[0-9]{2}\** +\| \**[0-9]+\.[0-9]{2}\** +\|$' <<<"$table")" = 4 ] \
  || { echo "$table"; fail "every row should have one number per f"; }
[ "$(grep -o '\*\*[0-9.]*\*\*' <<<"$table" | wc -l)" -ge 2 ] || { echo "$table"; fail "the best mean per f in bold"; }
grep -q "1 seed per cell (n = 1: no std)" <<<"$table" || { echo "$table"; fail "the table should say it is one seed"; }
grep -q "student resnet8, teacher resnet8" <<<"$table" || { echo "$table"; fail "the table should name student and teacher"; }
grep -q "VID, AT = CE + 1·KD + 1·L_R" <<<"$table" || { echo "$table"; fail "the table should give each row's loss"; }
grep -Eq '^Precision: (fp32|bf16\+CL)\.$' <<<"$table" || { echo "$table"; fail "the table should name its one precision"; }
cmp -s $runs/t1-table1.md <(printf '%s\n' "$table") || { cat $runs/t1-table1.md; fail "t1-table1.md is not the printed table"; }
# The cell values are the CSV's best_top1.
b=$(col best_top1) f=$(col f)
want=$(awk -F, -v b="$b" -v f="$f" '$1 == "vid" && $f == "0.25" { printf "%.2f", $b }' "$csv")
grep -Eq "^\| VID +\| \**$want\** " <<<"$table" || { echo "$table"; fail "VID at f = 0.25 should be $want"; }

# A second call trains nothing.
CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" > again.txt 2>&1 || { cat again.txt; fail "second call"; }
[ "$(grep -c '0 stages run' again.txt)" -ge 3 ] || { cat again.txt; fail "a second call should reuse every stage of the 3 experiments"; }
grep -q " distill " again.txt && { cat again.txt; fail "a second call ran students"; }

# TERM:BETA: a term with its own beta is its own method (and experiment), at-b1000, beside the others.
METHODS="vid at:1000" CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" > beta.txt 2>&1 || { cat beta.txt; fail "METHODS=at:1000"; }
grep -Eq '^  beta: 1000(\.0*)?$' $runs/t1-at-b1000/student-forgetting-f0.25-*-s0/config.yaml || fail "at:1000: kd.beta is not 1000"
[ "$(grep -c '^at-b1000,1000,' "$csv")" = 2 ] || { cat "$csv"; fail "at:1000: expected 2 rows with method at-b1000, beta 1000"; }
grep -Eq '^\| AT \(β = 1000\) +\|' beta.txt || { cat beta.txt; fail "at:1000: no row 'AT (β = 1000)'"; }
grep -q "VID = CE + 1·KD + 1·L_R; AT = CE + 1·KD + 1000·L_R" beta.txt || { cat beta.txt; fail "at:1000: each row's beta"; }
if METHODS="at:x" CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" > badbeta.txt 2>&1; then fail "METHODS=at:x ran"; fi
grep -q "the beta 'x' is not a number" badbeta.txt || { cat badbeta.txt; fail "no clear message for at:x"; }
# TERM_OVERRIDES reach the feature rows' students only (here the AB row's, with a 1-epoch init stage).
METHODS="ab" TERM_OVERRIDES="kd.init_epochs=1" PRINT=1 CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" \
  > over.txt 2>&1 || { cat over.txt; fail "TERM_OVERRIDES"; }
[ "$(grep "distill .* kd.init_epochs=1 " over.txt | grep -c "run.root=[^ ]*t1-ab ")" = 2 ] || { cat over.txt; fail "TERM_OVERRIDES: 2 ab students with kd.init_epochs=1"; }
grep "distill " over.txt | grep -v "run.root=[^ ]*t1-ab " && fail "TERM_OVERRIDES: students of other experiments to run"
if TERM_OVERRIDES="train.epochs=3" CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" > badover.txt 2>&1; then
  fail "TERM_OVERRIDES=train.epochs=3 ran"
fi
grep -q "'train.epochs=3' is not a kd.KEY=VALUE word" badover.txt || { cat badover.txt; fail "no clear message for a non-kd override"; }
# back to the vid, at table for the figures
CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" > /dev/null 2>&1 || fail "third call"

# The figures: Table 1 from the merged CSV (and nothing else), then from the three results.csv.
if (source "$root/scripts/lib/python.sh"; plot_python >/dev/null 2>&1); then
  source "$root/scripts/lib/python.sh"
  py=$(plot_python)
  "$py" "$root/scripts/plot_figures.py" "$csv" --out fig --describe > fig.txt 2> figerr.txt || { cat fig.txt figerr.txt; fail "plot_figures.py"; }
  for fig in table1 table1_bars; do
    for ext in png pdf; do [ -s fig/$fig.$ext ] || { ls fig; fail "no fig/$fig.$ext"; }; done
  done
  for f in fig/*; do
    case $f in fig/table1.*|fig/table1_bars.*) ;; *) ls fig; fail "only Table 1 figures from the merged CSV, not $f";; esac
  done
  grep -q warning figerr.txt && { cat figerr.txt; fail "a point averages more than seeds"; }
  "$py" "$root/scripts/plot_figures.py" $runs/t1/results.csv $runs/t1-vid/results.csv $runs/t1-at/results.csv --table1 \
    --out fig2 --describe > fig2.txt 2>&1 || { cat fig2.txt; fail "plot_figures.py --table1"; }
  "$py" - fig.txt fig2.txt "$table" <<'PY' || fail "Table 1 figures"
import json, re, sys
table_md = sys.argv[3]
cells = {}
for line in table_md.splitlines():
    m = re.match(r"^\| (no KD \(CE only\)|KD|VID|AT) +\|(.*)\|$", line)
    if m:
        cells[m.group(1)] = [c.strip().strip("*") for c in m.group(2).split("|")]
bad = []
for path in sys.argv[1:3]:
    figs = {d["figure"]: d for d in map(json.loads, (l for l in open(path) if l.startswith("{")))}
    t, b = figs.get("table1"), figs.get("table1_bars")
    if not t or not b:
        bad.append(f"{path}: figures described: {sorted(figs)}"); continue
    for d in (t, b):
        for s in ("1 seed per point (n = 1)", "teacher resnet8", "student resnet8", "forgetting pruning",
                  "L = CE + α·KD + β·L_R", "KD row α = 2", "feature rows α = 1"):
            if s not in d["title"]:
                bad.append(f"{path} {d['figure']}: title {d['title']!r} lacks {s!r}")
    rows = {r[0]: r[1:] for r in t["table"][1:]}
    if t["table"][0] != ["f = 0.25", "f = 0.5"]:
        bad.append(f"{path}: table columns {t['table'][0]}")
    if rows != cells:
        bad.append(f"{path}: table cells {rows} differ from the printed table {cells}")
    if len(t["bold"]) < 2:
        bad.append(f"{path}: the best per f not bold: {t['bold']}")
    if [p["title"] for p in b["panels"]] != ["f = 0.25", "f = 0.5"]:
        bad.append(f"{path}: bar panels {[p['title'] for p in b['panels']]}")
    for p in b["panels"]:
        labels = [x["label"] for x in p["bars"]]
        if labels != ["no KD (CE only)", "KD", "VID", "AT"]:
            bad.append(f"{path}: panel {p['title']} bars {labels}")
        if any(x["error_bar"] for x in p["bars"]):
            bad.append(f"{path}: panel {p['title']}: an error bar drawn over one seed")
        for x in p["bars"]:
            if f"{x['height']:.2f}" != cells.get(x["label"], [None, None])[0 if p["title"] == "f = 0.25" else 1]:
                bad.append(f"{path}: panel {p['title']} bar {x['label']} height {x['height']} not the table's")
    # A star on the best bar of each f (ties get one each: tiny test sets tie often).
    for p in b["panels"]:
        f = p["title"].replace("f = ", "f=")
        top = max(x["height"] for x in p["bars"])
        n_top = sum(1 for x in p["bars"] if f"{x['height']:.2f}" == f"{top:.2f}")
        n_star = sum(1 for s in b["best"] if s.split(":")[1] == f)
        if n_star != n_top:
            bad.append(f"{path}: panel {p['title']}: {n_star} stars for {n_top} best bars ({b['best']})")
if bad:
    print("\n".join(bad)); sys.exit(1)
PY
else
  echo "(plot_figures.py not checked: no python3 with matplotlib and pandas)"
fi

# COLLECT=1: one VID student unfinished (its summary.json removed); nothing trains, the other 7
# rows are merged as they were, and the script says 7 of 8 planned students finished.
d=$(col run_dir) f=$(col f)
gone=$(awk -F, -v d="$d" -v f="$f" '$1 == "vid" && $f == "0.25" { print $d }' "$csv")
[ -f "$gone/summary.json" ] || fail "no finished VID student at f = 0.25 ($gone)"
cp "$csv" full.csv
rm "$gone/summary.json"
if COLLECT=1 PRINT=1 CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" > both.txt 2>&1; then
  fail "COLLECT=1 with PRINT=1 ran"
fi
COLLECT=1 CONFIG=../exp.yaml KDPRUNE_RUNS=$runs "$root/scripts/table1.sh" > collect.txt 2> collect.log \
  || { cat collect.txt collect.log; fail "COLLECT=1"; }
grep -q " distill \|stages run" collect.txt collect.log && { cat collect.txt collect.log; fail "COLLECT=1 ran a stage"; }
[ ! -e "$gone/summary.json" ] || fail "COLLECT=1 trained the unfinished student"
grep -q "^collected: 7 of 8 planned students finished (t1 4/4, t1-vid 1/2, t1-at 2/2)$" collect.txt \
  || { cat collect.txt; fail "COLLECT=1 should say 7 of 8 finished, per experiment"; }
[ "$(wc -l < "$csv")" = 8 ] || { cat "$csv"; fail "COLLECT=1: the merged CSV should have the 7 finished rows"; }
grep -qF "$gone" "$csv" && { cat "$csv"; fail "COLLECT=1 merged the unfinished $gone"; }
cmp -s <(sort "$csv") <(grep -vF "$gone" full.csv | sort) || { diff full.csv "$csv"; fail "COLLECT=1: the rows differ from the full merge"; }
grep -Eq '^\| VID +\| - +\| \**[0-9]+\.[0-9]{2}\** +\|$' collect.txt \
  || { cat collect.txt; fail "COLLECT=1: the VID row: no cell at f = 0.25, one at f = 0.5"; }
grep -q "Partial (COLLECT=1): 7 of 8" $runs/t1-table1.md || { cat $runs/t1-table1.md; fail "the table should say it is partial"; }
echo "table1.sh: ok"
