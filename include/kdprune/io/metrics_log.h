#pragma once
// A training run's per-epoch metrics in the three forms researchers read: metrics.csv,
// metrics.jsonl (one JSON object per epoch) and a TensorBoard event file, all from one append;
// and, with run.log_every_steps, step rows in metrics.jsonl and TensorBoard (not metrics.csv).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kdprune/io/csv_table.h"

namespace kdprune::io {

class EventWriter;

// One step row: metrics.jsonl's {"step", "epoch", "lr", "loss", "images_per_s"}.
struct StepRow {
  int64_t step = 0;             // global, 1-based: epoch 1's first step is 1
  double epoch = 0;             // progress in epochs: epochs done + steps done in this one / steps per epoch
  int64_t steps_per_epoch = 0;  // where a resumed run's TensorBoard points start (keep_upto × this + 1)
  double lr = 0;                // the step's learning rate
  double loss = 0;              // mean training loss per sample over the steps since the last row (in this epoch)
  double images_per_s = 0;      // over the same steps
};

class MetricsLog {
 public:
  // In run directory `dir`, keeping the rows of epochs <= keep_upto a killed run left (a resumed
  // run continues without duplicates; TensorBoard is told to drop the older points after it): the
  // epoch rows of epochs <= keep_upto, and the step rows whose epoch progress is <= keep_upto.
  // columns[0] is the epoch (the TensorBoard step).
  MetricsLog(const std::string& dir, std::vector<std::string> columns, int64_t keep_upto);
  ~MetricsLog();  // writes step rows not yet in metrics.jsonl (a run stopped mid-epoch)
  MetricsLog(MetricsLog&&) noexcept;

  // One row of numbers as CSV text (io::csv_field); an empty field is a value not measured that
  // epoch (null in JSON, no TensorBoard point).
  void append(const std::vector<std::string>& row);
  // A step row: at once to TensorBoard (tags step/loss, step/lr, step/images_per_s at the global
  // step, in the event file of <dir>/steps/, a TensorBoard run of its own); to metrics.jsonl with
  // the next epoch row, or sooner when the file was last written 30 s ago or more (metrics.jsonl is
  // rewritten whole, atomically: once per row would grow quadratically with the run).
  void append_step(const StepRow& row);
  const std::string& event_file() const;

 private:
  void write_jsonl();
  void start_step_events(int64_t steps_per_epoch);  // <dir>/steps/'s event file (a resumed run: its marker)

  std::string dir_;
  int64_t keep_upto_ = 0;
  std::vector<std::string> columns_;
  CsvTable csv_;
  std::string jsonl_path_;
  std::vector<std::string> jsonl_;
  size_t jsonl_written_ = 0;  // lines of jsonl_ in the file
  double jsonl_time_ = 0;     // when it was last written (steady clock, seconds)
  std::unique_ptr<EventWriter> events_;
  std::unique_ptr<EventWriter> step_events_;  // <dir>/steps/, made at the first step row
};

// The TensorBoard tag of a metrics column: train_loss -> train/loss, test_top1 -> test/top1,
// val_top1 -> val/top1, ...
std::string tensorboard_tag(const std::string& column);

}  // namespace kdprune::io
