#!/usr/bin/env bash
# Fig. 2 from a tiny `kdprune run` experiment (synthetic 1×8×8 images, an EL2N score stage):
# plot_figures.py draws fig2_samples_el2n beside the other figures (through
# tests/scripts/figure_layout.py: every text inside the figure), its --describe line names the
# groups and every sample drawn; without a kdprune binary the figure is left out with a note.
# scripts/plot_samples.py draws a score file (via kdprune samples) and a gallery .json; a score
# file of another length or with NaN scores fails in one line and writes no image.
#   test_plot_samples.sh KDPRUNE_BINARY
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$root/scripts/lib/python.sh"
py=$(plot_python)
bin=$(cd "$(dirname "${1:?usage: test_plot_samples.sh KDPRUNE_BINARY}")" && pwd)/$(basename "$1")
export KDPRUNE=$bin
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
layout() { "$py" "$root/tests/scripts/figure_layout.py" "$@"; }

cat > "$tmp/exp.yaml" <<YAML
run: {root: $tmp/runs, name: fig2, threads: 1}
data:
  name: synthetic
  synthetic: {train_size: 64, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}
model: {arch: resnet8}
train: {epochs: 1, batch_size: 16, schedule: constant}
score: {epochs: 1}
experiment:
  pruners: [el2n]
  fractions: [0.5]
  alphas: [0]
YAML
"$KDPRUNE" run --config "$tmp/exp.yaml" > "$tmp/run.txt" 2>&1 || { cat "$tmp/run.txt"; fail "kdprune run"; }
csv=$tmp/runs/fig2/results.csv
if [ ! -f "$csv" ] || [ ! -f "$tmp/runs/fig2/score-el2n/scores.npy" ]; then ls -R "$tmp/runs"; fail "no results or score stage"; fi

layout "$root/scripts/plot_figures.py" "$csv" --out "$tmp/figs" --samples 5 --describe > "$tmp/out.txt" 2> "$tmp/err.txt" \
  || { cat "$tmp/out.txt" "$tmp/err.txt"; fail "plot_figures"; }
for ext in png pdf; do [ -s "$tmp/figs/fig2_samples_el2n.$ext" ] || { ls "$tmp/figs"; fail "no fig2_samples_el2n.$ext"; }; done
ls -A "$tmp/figs" | grep -q '\.tmp$' && fail "a temporary file was left behind"
"$py" - "$tmp/out.txt" <<'PY' || { cat "$tmp/out.txt"; fail "fig2 contents"; }
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{") and '"fig2_samples_el2n"' in l][0]
assert "synthetic: el2n scores of 64 samples" in d["title"], d["title"]
assert d["groups"] == ["the 5 highest el2n scores (highest first)", "the 5 lowest el2n scores (lowest first)"], d["groups"]
top = [s for s in d["samples"] if s.startswith("sample:top:")]
bottom = [s for s in d["samples"] if s.startswith("sample:bottom:")]
assert [s.split(":")[2] for s in top] == ["1", "2", "3", "4", "5"] and len(bottom) == 5, d["samples"]
scores = [float(l.split("\n")[1]) for l in d["labels"]]
assert scores[:5] == sorted(scores[:5], reverse=True) and scores[5:] == sorted(scores[5:]), scores
assert all(l.split("\n")[0].startswith("class") for l in d["labels"]), d["labels"]
PY
KDPRUNE=$tmp/none "$py" "$root/scripts/plot_figures.py" "$csv" --out "$tmp/figs2" > /dev/null 2> "$tmp/err2.txt" \
  || { cat "$tmp/err2.txt"; fail "plot_figures without kdprune"; }
grep -q "note: fig2 (the highest-scoring samples) left out: no kdprune binary" "$tmp/err2.txt" || { cat "$tmp/err2.txt"; fail "no note"; }
[ ! -e "$tmp/figs2/fig2_samples_el2n.png" ] || fail "fig2 drawn without kdprune"

# plot_samples.py: a score file (the config beside it names the data), then the gallery it made.
scores=$tmp/runs/fig2/score-el2n/scores.npy
layout "$root/scripts/plot_samples.py" "$scores" --top 3 --bottom 2 --out "$tmp/grid.png" > "$tmp/ps.txt" 2>&1 \
  || { cat "$tmp/ps.txt"; fail "plot_samples on scores"; }
[ -s "$tmp/grid.png" ] || fail "no grid.png"
"$KDPRUNE" samples --scores "$scores" --top 4 --out "$tmp/g.json" > /dev/null 2>&1 || fail "kdprune samples"
layout "$root/scripts/plot_samples.py" "$tmp/g.json" > "$tmp/ps.txt" 2>&1 || { cat "$tmp/ps.txt"; fail "plot_samples on a gallery"; }
[ -s "$tmp/g.png" ] || fail "no g.png beside the gallery"

# Bad score files: one line, no image.
expect_error() {  # expect_error PATTERN SCORES
  if "$py" "$root/scripts/plot_samples.py" "$2" --out "$tmp/bad.png" data.name=synthetic \
    "data.synthetic={train_size: 64, test_size: 32, channels: 1, height: 8, width: 8, classes: 4}" > "$tmp/e.txt" 2>&1; then
    fail "accepted $2"
  fi
  [ "$(wc -l < "$tmp/e.txt")" -eq 1 ] || { cat "$tmp/e.txt"; fail "not one line: $2"; }
  grep -q "$1" "$tmp/e.txt" || { cat "$tmp/e.txt"; fail "expected '$1'"; }
  [ ! -e "$tmp/bad.png" ] || fail "an image was written for $2"
}
mkdir -p "$tmp/bad"
"$py" -c "import numpy as np; np.save('$tmp/bad/short.npy', np.ones(10, np.float32)); a = np.ones(64, np.float32); a[3] = np.nan; np.save('$tmp/bad/nan.npy', a)"
expect_error "plot_samples: kdprune: error: scores file '$tmp/bad/short.npy': 10 scores for a training set of 64" "$tmp/bad/short.npy"
expect_error "score at position 3 is NaN" "$tmp/bad/nan.npy"
echo '{"dataset": "synthetic"}' > "$tmp/bad/gallery.json"
if "$py" "$root/scripts/plot_samples.py" "$tmp/bad/gallery.json" > "$tmp/e.txt" 2>&1; then fail "a bad gallery was accepted"; fi
grep -q "not a \`kdprune samples\` gallery (missing: images_file" "$tmp/e.txt" || { cat "$tmp/e.txt"; fail "bad gallery message"; }
echo "plot_samples: OK"
