#pragma once
// A CSV file that grows one row at a time (metrics.csv): every append rewrites the file
// atomically, so a reader or a killed run never sees a half-written row.
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::io {

class CsvTable {
 public:
  CsvTable(std::string path, std::vector<std::string> columns);
  // Re-opens a table a killed run left behind, keeping the rows whose first field (the epoch) is
  // <= keep_upto, so a resumed run's metrics continue without duplicates. A missing file or a
  // different header starts an empty table.
  static CsvTable reopen(std::string path, std::vector<std::string> columns, int64_t keep_upto);
  void append(const std::vector<std::string>& row);  // row.size() must equal the column count
  size_t rows() const { return rows_.size(); }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::vector<std::string> rows_;  // already joined lines
};

std::string csv_field(double v);  // shortest text that reads back to the same double

}  // namespace kdprune::io
