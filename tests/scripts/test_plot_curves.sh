#!/usr/bin/env bash
# scripts/plot_curves.py on hand-made metrics.jsonl files: a run directory with epoch rows only
# (test metrics every other epoch, null between), one with per-step rows and val_* columns, an
# experiment directory holding several runs (found below it, labelled by the part of their names
# that differs), and a run with no rows yet (skipped with a note). Each figure is drawn through
# tests/scripts/figure_layout.py (every text inside the figure, no legend over a marker); a PNG is
# written under the asked name and no temporary file is left. Bad input (a directory without a
# metrics.jsonl, a malformed line, a non-numeric value, a missing path) fails with one line naming
# the file and what was expected.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/scripts/lib/python.sh"
py=$(plot_python)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
curves() { "$py" "$root/tests/scripts/figure_layout.py" "$root/scripts/plot_curves.py" "$@"; }

# write RUN_DIR EPOCHS STEPS_PER_EPOCH VAL: a metrics.jsonl as kdprune writes it (epoch rows; step
# rows when STEPS_PER_EPOCH > 0; val_loss/val_top1 when VAL = 1).
write() {
  mkdir -p "$1"
  "$py" - "$@" <<'PY'
import json, math, sys, zlib
run, epochs, per, val = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
k = 2 + zlib.crc32(run.encode()) % 100 / 25  # each run its own pace
lines = []
for e in range(1, epochs + 1):
    for s in range(per):
        g = (e - 1) * per + s + 1
        lines.append({"step": g, "epoch": e - 1 + (s + 1) / per, "lr": 0.1, "loss": 2.3 * math.exp(-g / (k * per)) + 0.1,
                      "images_per_s": 900.0})
    test = e % 2 == 0 or e == epochs  # evaluated every other epoch: null between
    row = {"epoch": e, "lr": 0.1, "train_loss": 2.3 * math.exp(-e / k) + 0.1, "train_acc": 100 - 80 * math.exp(-e / k),
           "test_loss": 2.4 * math.exp(-e / k) + 0.2 if test else None, "test_top1": 95 - 80 * math.exp(-e / k) if test else None,
           "test_top5": 99.0 if test else None, "images_per_s": 900.0, "seconds": 10.0}
    if val:
        row.update(val_loss=2.5 * math.exp(-e / k) + 0.25, val_top1=94 - 80 * math.exp(-e / k))
    lines.append(row)
open(run + "/metrics.jsonl", "w").write("".join(json.dumps(l) + "\n" for l in lines))
PY
}

# One run, epoch rows only: curves.png in the run directory by default.
write "$tmp/run1" 12 0 0
curves "$tmp/run1" > "$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt"; fail "one run"; }
[ -s "$tmp/run1/curves.png" ] || { cat "$tmp/out.txt"; fail "no curves.png in the run directory"; }

# Step rows and val columns, given as the metrics.jsonl itself, --out elsewhere.
write "$tmp/run2" 8 25 1
curves "$tmp/run2/metrics.jsonl" --out "$tmp/two.png" > "$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt"; fail "steps and val"; }
[ -s "$tmp/two.png" ] || fail "--out not written"

# An experiment directory: every run below it (a teacher and six students), one with no rows yet.
exp="$tmp/exp"
write "$exp/teacher-resnet20" 15 10 0
for a in 0 0.5; do
  for f in 0.1 0.3 0.5; do
    steps=0; [ $f = 0.1 ] && steps=5   # step rows in some runs only
    val=0; [ $a = 0 ] && val=1         # val columns in some runs only
    write "$exp/student-random-f$f-a$a-s0" 10 $steps $val
  done
done
mkdir -p "$exp/student-random-f0.7-a0-s0" "$exp/score-forgetting"
: > "$exp/student-random-f0.7-a0-s0/metrics.jsonl"
curves "$exp" --out "$tmp/exp.png" > "$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt"; fail "experiment directory"; }
[ -s "$tmp/exp.png" ] || fail "no figure for the experiment"
grep -q "student-random-f0.7-a0-s0/metrics.jsonl: no rows yet" "$tmp/out.txt" || { cat "$tmp/out.txt"; fail "the empty run not noted"; }
ls -A "$tmp" "$exp" | grep -q '\.tmp$' && fail "a temporary file was left behind"

# The runs found and their labels (a folder without metrics.jsonl is no run; natural order).
for i in $(seq 1 24); do write "$tmp/many/student-$i" 6 0 0; done
"$py" - "$root" "$exp" <<'PY' || fail "experiment labels"
import sys
sys.path.insert(0, sys.argv[1] + "/scripts")
from figures.metrics import find_runs, labels
runs = find_runs(sys.argv[2])
names, common = labels(runs)
assert len(runs) == 8 and "score-forgetting" not in " ".join(runs), runs
assert names[0] == "student-random-f0.1-a0-s0" and names[-1] == "teacher-resnet20", names
names, common = labels(find_runs(sys.argv[2] + "/../many"))
assert names[:3] == ["1", "2", "3"] and common == "student", (names, common)  # natural order
names, common = labels([r for r in runs if "student" in r and "f0.7" not in r])
assert common == "student-random" and names[0] == "f0.1-a0-s0", (common, names)
PY

# Many runs: 24 students stay readable (a colour each, the legend below in columns).
curves "$tmp/many" --out "$tmp/many.png" > "$tmp/out.txt" 2>&1 || { cat "$tmp/out.txt"; fail "many runs"; }

# Bad input: one line naming the file and what was expected; nothing written.
bad() {  # bad EXPECTED_MESSAGE ARGS...
  local want=$1; shift
  if "$py" "$root/scripts/plot_curves.py" "$@" --out "$tmp/bad.png" > "$tmp/bad.txt" 2>&1; then
    fail "accepted: $*"
  fi
  [ "$(wc -l < "$tmp/bad.txt")" = 1 ] && grep -qF -- "$want" "$tmp/bad.txt" || { cat "$tmp/bad.txt"; fail "no one-line message for: $*"; }
  [ ! -e "$tmp/bad.png" ] || fail "a figure was written for bad input: $*"
}
mkdir -p "$tmp/empty/sub"
bad "$tmp/empty: no metrics.jsonl in it or below" "$tmp/empty"
bad "$tmp/nope: no such file or directory" "$tmp/nope"
write "$tmp/broken" 3 0 0
echo '{"epoch": 4, "train_loss": 0.5,' >> "$tmp/broken/metrics.jsonl"
bad "$tmp/broken/metrics.jsonl:4: not a JSON object" "$tmp/broken"
write "$tmp/text" 3 0 0
sed -i '2s/"train_loss": [0-9.e-]*/"train_loss": "high"/' "$tmp/text/metrics.jsonl"
bad "$tmp/text/metrics.jsonl:2: train_loss is 'high', expected a number or null" "$tmp/text"
write "$tmp/list" 2 0 0
echo '[1, 2]' >> "$tmp/list/metrics.jsonl"
bad "$tmp/list/metrics.jsonl:3: a JSON list, expected an object" "$tmp/list"
echo "x" > "$tmp/notes.txt"
bad "$tmp/notes.txt: not a metrics.jsonl file or a directory" "$tmp/notes.txt"
echo "plot_curves: ok"
