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

// The same rule inside each class with the class's share of k (class_balanced_quotas), and at
// least one sample from every class present in the pool.
std::vector<int64_t> select_by_score_class_balanced(const std::vector<int64_t>& pool, const std::vector<double>& scores,
                                                    const std::vector<int64_t>& labels, int64_t classes, int64_t k,
                                                    const std::string& level);

// Reads one score per training sample from .npy (float32/float64/int, 1-D) or .csv (a header with
// a `score` column and optionally an `index` column, or one number per line). Throws
// kdprune::Error naming the file when it is malformed, holds NaN, or its length is not n.
std::vector<double> read_scores(const std::string& path, int64_t n);

}  // namespace kdprune::prune
