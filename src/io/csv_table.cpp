#include "kdprune/io/csv_table.h"

#include <charconv>
#include <cmath>
#include <fstream>

#include "kdprune/io/atomic_file.h"
#include "kdprune/util/error.h"

namespace kdprune::io {
namespace {
std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    const bool quote = v[i].find_first_of(",\"\n") != std::string::npos;
    if (!quote) {
      s += v[i];
      continue;
    }
    s += '"';
    for (char c : v[i]) s += (c == '"') ? std::string("\"\"") : std::string(1, c);
    s += '"';
  }
  return s;
}
}  // namespace

CsvTable::CsvTable(std::string path, std::vector<std::string> columns)
    : path_(std::move(path)), columns_(std::move(columns)) {
  write_file_atomic(path_, join(columns_) + "\n");
}

CsvTable CsvTable::reopen(std::string path, std::vector<std::string> columns, int64_t keep_upto) {
  std::vector<std::string> kept;
  std::ifstream in(path);
  std::string line;
  if (in && std::getline(in, line) && line == join(columns)) {
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      try {
        if (std::stoll(line.substr(0, line.find(','))) <= keep_upto) kept.push_back(line);
      } catch (const std::exception&) {
      }
    }
  }
  CsvTable t(std::move(path), std::move(columns));
  t.rows_ = std::move(kept);
  std::string text = join(t.columns_) + "\n";
  for (const auto& r : t.rows_) text += r + "\n";
  write_file_atomic(t.path_, text);
  return t;
}

void CsvTable::append(const std::vector<std::string>& row) {
  if (row.size() != columns_.size())
    throw std::logic_error("CsvTable::append: " + std::to_string(row.size()) + " fields for " +
                           std::to_string(columns_.size()) + " columns in " + path_);
  rows_.push_back(join(row));
  std::string text = join(columns_) + "\n";
  for (const auto& r : rows_) text += r + "\n";
  write_file_atomic(path_, text);
}

std::string csv_field(double v) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

}  // namespace kdprune::io
