#include "kdprune/io/metrics_log.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "kdprune/io/atomic_file.h"
#include "kdprune/io/tensorboard.h"
#include "kdprune/util/error.h"

namespace kdprune::io {

std::string tensorboard_tag(const std::string& column) {
  if (column.rfind("train_", 0) == 0) return "train/" + column.substr(6);
  if (column.rfind("test_", 0) == 0) return "test/" + column.substr(5);
  if (column.rfind("val_", 0) == 0) return "val/" + column.substr(4);
  if (column == "images_per_s") return "speed/images_per_s";
  if (column == "seconds") return "time/seconds";
  return column;
}

namespace {
double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

MetricsLog::MetricsLog(const std::string& dir, std::vector<std::string> columns, int64_t keep_upto)
    : dir_(dir), keep_upto_(keep_upto), columns_(columns),
      csv_(CsvTable::reopen(dir + "/metrics.csv", std::move(columns), keep_upto)), jsonl_path_(dir + "/metrics.jsonl") {
  // metrics.jsonl: the lines of epochs <= keep_upto survive, as in metrics.csv; a step row's epoch
  // is its progress (2.5: half of epoch 3), so those of the epochs after keep_upto go too.
  int64_t steps_per_epoch = 0;  // from the killed run's step rows: step / epoch progress
  if (keep_upto > 0) {
    std::ifstream in(jsonl_path_);
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains(columns_[0]) || !j[columns_[0]].is_number()) continue;
      const double epoch = j[columns_[0]].get<double>();
      if (j.contains("step") && j["step"].is_number() && epoch > 0)
        steps_per_epoch = std::llround(j["step"].get<double>() / epoch);
      if (epoch <= static_cast<double>(keep_upto)) jsonl_.push_back(line);
    }
  }
  write_jsonl();
  events_ = std::make_unique<EventWriter>(dir);
  if (keep_upto > 0) events_->session_start(keep_upto + 1);
  events_->flush();
  // The killed run wrote step rows: their TensorBoard points after keep_upto go now, whether or
  // not this run writes step rows.
  if (steps_per_epoch > 0) start_step_events(steps_per_epoch);
}

void MetricsLog::start_step_events(int64_t steps_per_epoch) {
  // Their own TensorBoard run: a resumed run's START event purges every tag from its step on, and
  // the epoch scalars' steps (epochs) and these (global steps) are not on one scale.
  const std::string dir = dir_ + "/steps";
  std::filesystem::create_directories(dir);
  step_events_ = std::make_unique<EventWriter>(dir);
  if (keep_upto_ > 0) step_events_->session_start(keep_upto_ * steps_per_epoch + 1);
  step_events_->flush();
}

MetricsLog::~MetricsLog() {
  if (jsonl_written_ >= jsonl_.size()) return;  // nothing pending (or moved from)
  try {
    write_jsonl();
  } catch (...) {  // a destructor does not throw; the rows were in TensorBoard already
  }
}
MetricsLog::MetricsLog(MetricsLog&&) noexcept = default;

void MetricsLog::write_jsonl() {
  std::string text;
  for (const auto& l : jsonl_) text += l + "\n";
  write_file_atomic(jsonl_path_, text);
  jsonl_written_ = jsonl_.size();
  jsonl_time_ = steady_seconds();
}

void MetricsLog::append_step(const StepRow& r) {
  nlohmann::json j = {{"step", r.step}, {"epoch", r.epoch}, {"lr", r.lr}, {"loss", r.loss}, {"images_per_s", r.images_per_s}};
  jsonl_.push_back(j.dump());
  if (steady_seconds() - jsonl_time_ >= 30.0) write_jsonl();
  if (!step_events_) start_step_events(r.steps_per_epoch);
  step_events_->scalar("step/loss", r.loss, r.step);
  step_events_->scalar("step/lr", r.lr, r.step);
  step_events_->scalar("step/images_per_s", r.images_per_s, r.step);
  step_events_->flush();
}

const std::string& MetricsLog::event_file() const { return events_->path(); }

void MetricsLog::append(const std::vector<std::string>& row) {
  if (row.size() != columns_.size()) throw Error("metrics: a row of " + std::to_string(row.size()) + " fields for " +
                                                 std::to_string(columns_.size()) + " columns");
  csv_.append(row);
  nlohmann::json j = nlohmann::json::object();
  std::vector<std::pair<std::string, double>> points;
  int64_t step = 0;
  for (size_t i = 0; i < row.size(); ++i) {
    if (row[i].empty()) {
      j[columns_[i]] = nullptr;
      continue;
    }
    const double v = std::stod(row[i]);
    if (i == 0) {
      step = static_cast<int64_t>(v);
      j[columns_[i]] = step;
    } else {
      j[columns_[i]] = v;
      points.emplace_back(tensorboard_tag(columns_[i]), v);
    }
  }
  jsonl_.push_back(j.dump());
  write_jsonl();
  for (const auto& [tag, v] : points) events_->scalar(tag, v, step);
  events_->flush();
}

}  // namespace kdprune::io
