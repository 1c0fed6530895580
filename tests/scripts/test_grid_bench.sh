#!/usr/bin/env bash
# bench/grid.sh's arithmetic, which a GPU lease cannot afford to find broken:
# 1. bench/grid_clock.py on hand-made run directories: students trained together are one group
#    (the latest student's clock), groups add up, a student named in no group line is its own;
#    runs of a group that trained different epoch counts are refused.
# 2. grid.sh end to end on a tiny CPU grid (2 f x 3 alpha), with (b) sampled and the loop (c)
#    stubbed at 3,000 images/s: every row is printed; (b) counts each timed process for the
#    students of its f and kind, so its images per epoch equal (a)'s; (a)'s steady epoch is the
#    difference of its 2-epoch and 1-epoch grids' clocks; (c)'s images/s is the stub's and its
#    projection is the grid's images x 240 / 3,000.
# Usage: test_grid_bench.sh KDPRUNE_BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:?usage: test_grid_bench.sh KDPRUNE_BUILD_DIR}" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

run_dir() {  # name subset_size seconds...
  local d="$tmp/runs/$1" e=0; mkdir -p "$d"
  echo "{\"subset_size\": $2}" >"$d/summary.json"
  echo "epoch,lr,train_loss,train_acc,test_loss,test_top1,test_top5,images_per_s,seconds" >"$d/metrics.csv"
  shift 2
  for s in "$@"; do e=$((e + 1)); echo "$e,0.1,1,1,1,1,1,1,$s" >>"$d/metrics.csv"; done
}
run_dir A 10 1 3; run_dir B 20 2 4; run_dir C 30 5 9
echo "[12:00:00] info 2 students train together: A, B" >"$tmp/log"
got=$(python3 "$root/bench/grid_clock.py" --log "$tmp/log" "$tmp"/runs/{A,B,C})
[ "$got" = "7.000 13.000 2 60" ] || fail "grid_clock with a group of two and one alone: '$got', expected '7.000 13.000 2 60'"
got=$(python3 "$root/bench/grid_clock.py" "$tmp"/runs/{A,B,C})
[ "$got" = "8.000 16.000 2 60" ] || fail "grid_clock without a log (each run alone): '$got'"
run_dir D 5 1 2 3
python3 "$root/bench/grid_clock.py" --log <(echo "2 students train together: A, D") "$tmp"/runs/{A,D} 2>"$tmp/err" \
  && fail "grid_clock accepted a group whose runs trained 2 and 3 epochs"
grep -q "did not train the same number of epochs" "$tmp/err" || fail "grid_clock's message: $(cat "$tmp/err")"

printf '#!/bin/bash\nfor a in "$@"; do case "$a" in *gpu_kd_step.py) echo 3000; exit 0;; esac; done\nexec python3 "$@"\n' >"$tmp/py"
chmod +x "$tmp/py"
OUT="$tmp/grid" KDPRUNE_BUILD_DIR="$build" PYTHON="$tmp/py" DEVICE=cpu THREADS=1 EPOCHS=2 SIZE=120 TEST_SIZE=20 CLASSES=4 \
  ARCH=resnet8 TEACHER=resnet8 FRACTIONS=0.5,1 ALPHAS=0,0.5,0.9 AMPS=off SEQ_SAMPLE=1 LOOP=force \
  bash "$root/bench/grid.sh" >"$tmp/table" 2>"$tmp/stderr" || { cat "$tmp/stderr"; fail "grid.sh failed"; }
cat "$tmp/table"
grep -q "^grid: 6 students" "$tmp/table" || fail "the table's header"
for row in "(a) kdprune run, one process, fp32" "(b) one process per student, fp32 (4 of 6 timed)" \
  "(c) DataLoader loop, one student at a time, fp32"; do
  grep -qF "$row" "$tmp/table" || fail "no row '$row'"
done
# Each row's numbers: wall (the stub takes none), images/s, hours: positive.
awk '/^\(/ { n = split($0, f, " "); if (!(f[n-3] >= 0 && f[n-2] > 0 && f[n-1] > 0)) { print "bad row: " $0; exit 1 } }' "$tmp/table" \
  || fail "a row with a number that is not positive"
images=$((3 * 60 + 3 * 120))
grep -F "(c) DataLoader" "$tmp/table" | awk -v want="$(awk "BEGIN { printf \"%.2f\", $images * 240 / 3000 / 3600 }")" \
  '{ n = split($0, f, " "); if (f[n-2] != 3000 || sprintf("%.2f", f[n-1]) != want || f[n] != "1.00x") { print; exit 1 } }' \
  || fail "(c) is not the stub's 3,000 images/s over $images images per epoch"
# (a) and (b) trained the same student images per epoch: (b)'s weights cover the grid.
a_images=$(python3 "$root/bench/grid_clock.py" "$tmp"/grid/grid-off/student-* | cut -d' ' -f4)
[ "$a_images" = "$images" ] || fail "(a)'s students trained $a_images images per epoch, expected $images"
for how in "(a)" "(b)" "(c)"; do
  grep -F "measured: $how" "$tmp/stderr" | grep -qF ", $images student images per epoch at" \
    || fail "$how did not count $images student images per epoch: $(grep -F "measured: $how" "$tmp/stderr")"
done
# The projections, recomputed from the runs' clocks and the wall times the bench printed:
# (a) setup + one-off + 240 steady epochs, the steady epoch the difference of the 2-epoch and the
# 1-epoch grids' clocks; (b) each timed process's setup + first epoch + 239 steady epochs, times
# the students it stands for (alpha = 0 once, alpha > 0 twice per f); (c) 540 images x 240 / 3,000.
projected() { grep -F "measured: $1" "$tmp/stderr" | sed 's/.*h (\([0-9.]*\) s)$/\1/'; }
near() { awk "BEGIN { d = $1 - $2; exit !(d < 0.01 && d > -0.01) }"; }
read -r _ te _ _ <<<"$(python3 "$root/bench/grid_clock.py" --log "$tmp/grid/grid-off.log" "$tmp"/grid/grid-off/student-*)"
read -r _ t1 e1 _ <<<"$(python3 "$root/bench/grid_clock.py" --log "$tmp/grid/grid-off-1epoch.log" "$tmp"/grid/grid-off-1epoch/student-*)"
[ "$e1" = 1 ] || fail "the 1-epoch grid trained $e1 epochs"
wall=$(sed -n 's/.*2 epochs: wall \([0-9.]*\) s.*/\1/p' "$tmp/stderr")
want=$(awk "BEGIN { s = $te - $t1; print ($wall - $te) + ($t1 - s) + s * 240 }")
near "$(projected "(a)")" "$want" || fail "(a) projected $(projected "(a)") s, not $want s"
want=0
for i in 1 2 3 4; do
  line=$(grep -F "   seq$i: " "$tmp/stderr") || fail "no line for (b)'s process seq$i"
  w=$(sed 's/.*counted x\([0-9]*\),.*/\1/' <<<"$line"); wall=$(sed 's/.*wall \([0-9.]*\) s$/\1/' <<<"$line")
  case "$line" in *" ce at "*) [ "$w" = 1 ] ;; *" kd at "*) [ "$w" = 2 ] ;; *) false ;; esac || fail "(b)'s weight: $line"
  read -r c1 ce _ _ <<<"$(python3 "$root/bench/grid_clock.py" "$tmp/grid/seq-off/seq$i")"
  want=$(awk "BEGIN { print $want + $w * (($wall - $ce) + $c1 + ($ce - $c1) * 239) }")
done
near "$(projected "(b)")" "$want" || fail "(b) projected $(projected "(b)") s, not $want s"
near "$(projected "(c)")" "$(awk "BEGIN { print $images * 240 / 3000 }")" || fail "(c) projected $(projected "(c)") s"
echo "PASS"
