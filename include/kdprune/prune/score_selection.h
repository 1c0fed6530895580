#pragma once
// Selection by a per-sample score (higher = harder / more important by convention), and reading
// score files. Ties are broken by the lower dataset index, so the same inputs give the same subset.
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::prune {

// Keeps k of `pool` (dataset indices) by scores[index]:
//   hard: the k highest; easy: the k lowest; moderate: ascending ranks [floor((n-k)/2), +k).
// Returned ascending.
std::vector<int64_t> select_by_score(const std::vector<int64_t>& pool, const std::vector<double>& scores, int64_t k,
                                     const std::string& level);

// The same rule inside each class c with quota[c] samples (selection.h: class_quotas).
std::vector<int64_t> select_by_score_class_balanced(const std::vector<int64_t>& pool, const std::vector<double>& scores,
                                                    const std::vector<int64_t>& labels, const std::vector<int64_t>& quota,
                                                    const std::string& level);
// With equal shares of k (class_balanced_quotas): exactly k in total; when k is smaller than the
// number of classes, the lowest classes get one each.
std::vector<int64_t> select_by_score_class_balanced(const std::vector<int64_t>& pool, const std::vector<double>& scores,
                                                    const std::vector<int64_t>& labels, int64_t classes, int64_t k,
                                                    const std::string& level);

// Reads one score per training sample from .npy (float32/float64/int, 1-D) or .csv (a header with
// a `score` column and optionally an `index` column, or one number per line). `order_path`, when
// given, maps positions to dataset indices: line/entry p of the order file (.npy of integers, or
// text with one index per line) is the dataset index of the file's p-th score (data_diet, for
// one, saves scores in class-sorted order). +inf (data_diet's never-learned forgetting score)
// ranks as the hardest: it becomes max finite score + 1, which keeps every ranking and keeps the
// CCS strata and D2 sums finite; -inf and NaN are refused. Throws kdprune::Error naming the file
// when it is malformed or its length is not n.
std::vector<double> read_scores(const std::string& path, int64_t n, const std::string& order_path = "");

// The dataset index of each position of a score file (see read_scores): a permutation of 0..n-1.
std::vector<int64_t> read_score_order(const std::string& path, int64_t n);

// Per-sample probabilities (DUAL's mean_prob.npy): n values in [0, 1], or an error naming the file.
std::vector<double> read_probabilities(const std::string& path, int64_t n);

}  // namespace kdprune::prune
