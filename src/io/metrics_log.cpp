#include "kdprune/io/metrics_log.h"

#include <nlohmann/json.hpp>

#include <fstream>

#include "kdprune/io/atomic_file.h"
#include "kdprune/io/tensorboard.h"
#include "kdprune/util/error.h"

namespace kdprune::io {

std::string tensorboard_tag(const std::string& column) {
  if (column.rfind("train_", 0) == 0) return "train/" + column.substr(6);
  if (column.rfind("test_", 0) == 0) return "test/" + column.substr(5);
  if (column == "images_per_s") return "speed/images_per_s";
  if (column == "seconds") return "time/seconds";
  return column;
}

MetricsLog::MetricsLog(const std::string& dir, std::vector<std::string> columns, int64_t keep_upto)
    : columns_(columns), csv_(CsvTable::reopen(dir + "/metrics.csv", std::move(columns), keep_upto)),
      jsonl_path_(dir + "/metrics.jsonl") {
  // metrics.jsonl: the lines of epochs <= keep_upto survive, as in metrics.csv.
  if (keep_upto > 0) {
    std::ifstream in(jsonl_path_);
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains(columns_[0]) && j[columns_[0]].is_number() && j[columns_[0]].get<double>() <= keep_upto)
        jsonl_.push_back(line);
    }
  }
  write_file_atomic(jsonl_path_, [&] {
    std::string s;
    for (const auto& l : jsonl_) s += l + "\n";
    return s;
  }());
  events_ = std::make_unique<EventWriter>(dir);
  if (keep_upto > 0) events_->session_start(keep_upto + 1);
  events_->flush();
}

MetricsLog::~MetricsLog() = default;
MetricsLog::MetricsLog(MetricsLog&&) noexcept = default;

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
  std::string text;
  for (const auto& l : jsonl_) text += l + "\n";
  write_file_atomic(jsonl_path_, text);
  for (const auto& [tag, v] : points) events_->scalar(tag, v, step);
  events_->flush();
}

}  // namespace kdprune::io
