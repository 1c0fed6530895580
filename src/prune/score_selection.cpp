#include "kdprune/prune/score_selection.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <spdlog/spdlog.h>

#include "kdprune/io/index_list.h"
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
                                                    const std::vector<int64_t>& labels, const std::vector<int64_t>& quota,
                                                    const std::string& level) {
  const auto by_class = group_by_class(pool, labels, static_cast<int64_t>(quota.size()));
  std::vector<int64_t> out;
  for (size_t c = 0; c < quota.size(); ++c) {
    auto part = select_by_score(by_class[c], scores, quota[c], level);
    out.insert(out.end(), part.begin(), part.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int64_t> select_by_score_class_balanced(const std::vector<int64_t>& pool, const std::vector<double>& scores,
                                                    const std::vector<int64_t>& labels, int64_t classes, int64_t k,
                                                    const std::string& level) {
  return select_by_score_class_balanced(pool, scores, labels, class_balanced_quotas(pool_class_sizes(pool, labels, classes), k),
                                        level);
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

bool read_csv_has_index(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line) && (line.empty() || line == "\r")) {}
  for (const auto& f : split_csv(line))
    if (f == "index") return true;
  return false;
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

std::vector<int64_t> read_score_order(const std::string& path, int64_t n) {
  const std::vector<int64_t> order = io::read_index_list(path, "prune.scores_order '" + path + "'");
  if (static_cast<int64_t>(order.size()) != n)
    throw Error("prune.scores_order '" + path + "': " + std::to_string(order.size()) + " indices for a training set of " +
                std::to_string(n) + " samples");
  std::vector<char> seen(static_cast<size_t>(n), 0);
  for (size_t p = 0; p < order.size(); ++p) {
    const int64_t i = order[p];
    if (i < 0 || i >= n || seen[static_cast<size_t>(i)])
      throw Error("prune.scores_order '" + path + "': entry " + std::to_string(p) + " (" + std::to_string(i) +
                  ") is out of range or repeated (expected a permutation of 0.." + std::to_string(n - 1) + ")");
    seen[static_cast<size_t>(i)] = 1;
  }
  return order;
}

std::vector<double> read_scores(const std::string& path, int64_t n, const std::string& order_path) {
  if (std::filesystem::is_directory(path))
    throw Error("scores file '" + path + "': a directory; expected a file of per-sample scores (e.g. " + path +
                "/scores.npy of a score run)");
  if (!std::filesystem::is_regular_file(path)) throw Error("scores file '" + path + "': not found");
  const std::string ext = std::filesystem::path(path).extension().string();
  std::vector<double> s;
  if (ext == ".npy") s = io::read_npy_as_f64(path);
  else if (ext == ".csv" || ext == ".txt") s = read_csv_scores(path, n);
  else throw Error("scores file '" + path + "': expected a .npy or .csv file");
  if (static_cast<int64_t>(s.size()) != n)
    throw Error("scores file '" + path + "': " + std::to_string(s.size()) + " scores for a training set of " +
                std::to_string(n) + " samples");
  double top = -std::numeric_limits<double>::infinity();
  int64_t infinite = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (std::isnan(s[i])) throw Error("scores file '" + path + "': score at position " + std::to_string(i) + " is NaN");
    if (s[i] == -std::numeric_limits<double>::infinity())
      throw Error("scores file '" + path + "': score at position " + std::to_string(i) +
                  " is -inf (expected finite scores, or +inf for the hardest)");
    if (std::isinf(s[i])) ++infinite;
    else top = std::max(top, s[i]);
  }
  if (infinite > 0) {
    const double hardest = std::isfinite(top) ? std::max(top + 1.0, std::nextafter(top, std::numeric_limits<double>::infinity())) : 1.0;
    for (double& v : s)
      if (std::isinf(v)) v = hardest;
    spdlog::warn("scores file '{}': {} scores are +inf (e.g. never learned); they rank as the hardest, as {}", path,
                 infinite, hardest);
  }
  if (order_path.empty()) return s;
  if (ext != ".npy" && read_csv_has_index(path))
    throw Error("prune.scores_order: '" + path + "' has an index column already; give one or the other");
  const auto order = read_score_order(order_path, n);
  std::vector<double> placed(static_cast<size_t>(n));
  for (size_t p = 0; p < order.size(); ++p) placed[static_cast<size_t>(order[p])] = s[p];
  return placed;
}

std::vector<double> read_probabilities(const std::string& path, int64_t n) {
  if (!std::filesystem::is_regular_file(path)) throw Error("prune.mean_prob: '" + path + "' not found");
  const auto v = io::read_npy_as_f64(path);
  if (static_cast<int64_t>(v.size()) != n)
    throw Error("prune.mean_prob '" + path + "': " + std::to_string(v.size()) + " values for a training set of " +
                std::to_string(n) + " samples");
  for (size_t i = 0; i < v.size(); ++i)
    if (!(v[i] >= 0.0 && v[i] <= 1.0))
      throw Error("prune.mean_prob '" + path + "': value " + std::to_string(v[i]) + " at position " + std::to_string(i) +
                  " is not a probability in [0, 1]");
  return v;
}

}  // namespace kdprune::prune
