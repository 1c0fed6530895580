#pragma once
// One results row per student run, read back from its run directory (config.yaml, summary.json
// and the subset/score/teacher runs they point to), so `kdprune run` and `kdprune results` over
// hand-made sweeps produce the same table.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kdprune::pipeline {

struct ResultRow {
  std::string dataset, pruner, level;
  bool class_balanced = false;
  std::string sampling;         // score-based: topk, ccs, beta or d2 ("" for random pruning)
  double f = 1.0;
  double alpha = 0.0;
  std::string alpha_schedule = "constant";
  double tau = 0.0;
  std::string kd_extra;         // the extra (feature) term of repdistiller weighting, "" if none
  double kd_beta = 0.0;         // its weight
  std::string teacher_arch;     // "" without a teacher
  std::optional<double> teacher_f;     // f_t of the teacher's run; empty without a teacher or when unknown (a PyTorch file)
  std::optional<double> teacher_top1;  // the teacher's test top-1 %, as the student's run measured it; empty without one
  std::string data_part = "all";  // "student" in a disjoint split
  std::string teacher_part;       // the teacher's data.part ("" without a teacher)
  std::string student_arch;
  int64_t seed = 0;
  int64_t subset_size = 0;
  double top1 = 0.0, top5 = 0.0, wall_seconds = 0.0;  // top1/top5: the final epoch
  // The test top-1 of the best epoch: the best test top-1 over the evaluated epochs (RepDistiller's
  // and the paper's; best_by "test"), or that of the epoch the validation samples chose
  // (data.val_split; best_by "validation").
  double best_top1 = 0.0;
  int64_t best_epoch = 0;
  std::string best_by = "test";
  std::string run_dir;
  // The run's precision: fp32, bf16 or fp16 (train.amp), "+CL" with channels-last.
  std::string precision = "fp32";
  // The experiment's further axes (experiment.axes, teacher_axes as "teacher.<key>"): the key and
  // this run's value as its config.yaml holds it.
  std::vector<std::pair<std::string, std::string>> axes;
};

// The axis keys of an experiment: its students' keys, and its teachers' as "teacher.<key>".
struct AxisKeys {
  std::vector<std::string> student, teacher;
};

// Reads a finished distill (or train-teacher) run directory; throws kdprune::Error naming the
// file when something needed is missing.
ResultRow read_result(const std::string& run_dir, const AxisKeys& axes = {});

// results.csv: a header line and one row per run, in the given order; each axis a column named by
// its key (after the fixed columns).
std::string results_csv(const std::vector<ResultRow>& rows);

// The compact accuracy table: rows f, columns pruner x {no KD, KD (α...)} with the mean top-1
// over seeds (± std and the seed count when there are several), then each teacher's top-1.
// Columns are in one order whatever the rows' order (random first, then by name; no KD first). Students on the full data
// (pruner "none") fill every pruner's column of their row. metric: "best" (the best test top-1
// over the evaluated epochs, as RepDistiller and the paper report) or "last" (the final epoch);
// the table's last lines say which, and what varies between seeds.
std::string accuracy_table(const std::vector<ResultRow>& rows, const std::string& metric = "best");

}  // namespace kdprune::pipeline
