#pragma once
// The memorization estimator (Feldman & Zhang 2020) from K models' outcomes on the pool.
#include <cstdint>
#include <vector>

namespace kdprune::prune {

// outcomes[k][i] = 2 * (model k trained on sample i) + (model k classified i correctly).
// mem(i) = mean correctness over the models that trained on i - mean over those that did not;
// a sample seen by only one of the two groups scores 0 and is counted in `single_group`.
struct MemorizationScores {
  std::vector<double> scores;
  int64_t single_group = 0;
};
MemorizationScores memorization_scores(const std::vector<std::vector<int64_t>>& outcomes);

}  // namespace kdprune::prune
