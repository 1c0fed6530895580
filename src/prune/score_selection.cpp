#include "kdprune/prune/score_selection.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kdprune/io/npy.h"
#include "kdprune/prune/selection.h"
#include "kdprune/util/error.h"

namespace kdprune::prune {

std::vector<int64_t> select_by_score(const std::vector<int64_t>& pool, const std::vector<double>& scores, int64_t k,
                                     const std::string& level) {
  const auto n = static_cast<int64_t>(pool.size());
  k = std::clamp<int64_t>(k, 0, n);
  std::vector<int64_t> order = pool;
  auto score = [&](int64_t i) { return scores[static_cast<size_t>(i)]; };
  int64_t first = 0;
  if (level == "hard") {
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return score(a) > score(b) || (score(a) == score(b) && a < b);
    });
  } else if (level == "easy" || level == "moderate") {
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return score(a) < score(b) || (score(a) == score(b) && a < b);
    });
    if (level == "moderate") first = (n - k) / 2;
  } else {
    throw Error("prune.level: expected hard, easy or moderate, got '" + level + "'");
  }
  std::vector<int64_t> out(order.begin() + first, order.begin() + first + k);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> select_by_score_class_balanced(const std::vector<int64_t>& pool, const std::vector<double>& scores,
                                                    const std::vector<int64_t>& labels, int64_t classes, int64_t k,
                                                    const std::string& level) {
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(classes));
  for (int64_t i : pool) by_class[static_cast<size_t>(labels[static_cast<size_t>(i)])].push_back(i);
  std::vector<int64_t> sizes;
  for (const auto& v : by_class) sizes.push_back(static_cast<int64_t>(v.size()));
  auto quota = class_balanced_quotas(sizes, k);
  std::vector<int64_t> out;
  for (int64_t c = 0; c < classes; ++c) {
    const int64_t q = sizes[c] > 0 ? std::max<int64_t>(1, quota[c]) : 0;
    auto part = select_by_score(by_class[c], scores, q, level);
    out.insert(out.end(), part.begin(), part.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {
std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  for (std::string f; std::getline(ss, f, ',');) {
    while (!f.empty() && (f.back() == '\r' || f.back() == ' ')) f.pop_back();
    while (!f.empty() && f.front() == ' ') f.erase(f.begin());
    out.push_back(f);
  }
  return out;
}

bool parse_double(const std::string& s, double& v) {
  try {
    size_t used = 0;
    v = std::stod(s, &used);
    return used == s.size();
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<double> read_csv_scores(const std::string& path, int64_t n) {
  std::ifstream in(path);
  if (!in) throw Error("scores file '" + path + "': cannot open");
  std::string line;
  std::vector<std::string> header;
  int64_t score_col = 0, index_col = -1, line_no = 0;
  std::vector<double> values;
  std::vector<int64_t> indices;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line == "\r") continue;
    auto fields = split_csv(line);
    double v;
    if (values.empty() && header.empty() && !parse_double(fields[0], v)) {  // a header line
      header = fields;
      score_col = -1;
      for (size_t i = 0; i < header.size(); ++i) {
        if (header[i] == "score") score_col = static_cast<int64_t>(i);
        if (header[i] == "index") index_col = static_cast<int64_t>(i);
      }
      if (score_col < 0) throw Error("scores file '" + path + "': the header has no 'score' column");
      continue;
    }
    const auto need = static_cast<size_t>(std::max(score_col, index_col) + 1);
    if (fields.size() < need || !parse_double(fields[static_cast<size_t>(score_col)], v))
      throw Error("scores file '" + path + "': line " + std::to_string(line_no) + " has no number in the score column");
    values.push_back(v);
    if (index_col >= 0) {
      double idx;
      if (!parse_double(fields[static_cast<size_t>(index_col)], idx) || idx != std::floor(idx))
        throw Error("scores file '" + path + "': line " + std::to_string(line_no) + " has no integer index");
      indices.push_back(static_cast<int64_t>(idx));
    }
  }
  if (index_col < 0) return values;
  if (static_cast<int64_t>(values.size()) != n)
    throw Error("scores file '" + path + "': " + std::to_string(values.size()) + " scores for a training set of " + std::to_string(n));
  std::vector<double> placed(static_cast<size_t>(n), std::nan(""));
  std::vector<char> seen(static_cast<size_t>(n), 0);
  for (size_t r = 0; r < values.size(); ++r) {
    const int64_t i = indices[r];
    if (i < 0 || i >= n || seen[static_cast<size_t>(i)])
      throw Error("scores file '" + path + "': index " + std::to_string(i) + " is out of range or repeated");
    seen[static_cast<size_t>(i)] = 1;
    placed[static_cast<size_t>(i)] = values[r];
  }
  return placed;
}
}  // namespace

std::vector<double> read_scores(const std::string& path, int64_t n) {
  if (!std::filesystem::is_regular_file(path)) throw Error("scores file '" + path + "': not found");
  const std::string ext = std::filesystem::path(path).extension().string();
  std::vector<double> s;
  if (ext == ".npy") s = io::read_npy_as_f64(path);
  else if (ext == ".csv" || ext == ".txt") s = read_csv_scores(path, n);
  else throw Error("scores file '" + path + "': expected a .npy or .csv file");
  if (static_cast<int64_t>(s.size()) != n)
    throw Error("scores file '" + path + "': " + std::to_string(s.size()) + " scores for a training set of " +
                std::to_string(n) + " samples");
  for (size_t i = 0; i < s.size(); ++i)
    if (std::isnan(s[i])) throw Error("scores file '" + path + "': score of sample " + std::to_string(i) + " is NaN");
  return s;
}

}  // namespace kdprune::prune
