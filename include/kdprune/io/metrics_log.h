#pragma once
// A training run's per-epoch metrics in the three forms researchers read: metrics.csv,
// metrics.jsonl (one JSON object per epoch) and a TensorBoard event file, all from one append.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kdprune/io/csv_table.h"

namespace kdprune::io {

class EventWriter;

class MetricsLog {
 public:
  // In run directory `dir`, keeping the rows of epochs <= keep_upto a killed run left (a resumed
  // run continues without duplicates; TensorBoard is told to drop the older points after it).
  // columns[0] is the epoch (the TensorBoard step).
  MetricsLog(const std::string& dir, std::vector<std::string> columns, int64_t keep_upto);
  ~MetricsLog();
  MetricsLog(MetricsLog&&) noexcept;

  // One row of numbers as CSV text (io::csv_field); an empty field is a value not measured that
  // epoch (null in JSON, no TensorBoard point).
  void append(const std::vector<std::string>& row);
  const std::string& event_file() const;

 private:
  std::vector<std::string> columns_;
  CsvTable csv_;
  std::string jsonl_path_;
  std::vector<std::string> jsonl_;
  std::unique_ptr<EventWriter> events_;
};

// The TensorBoard tag of a metrics column: train_loss -> train/loss, test_top1 -> test/top1, ...
std::string tensorboard_tag(const std::string& column);

}  // namespace kdprune::io
