#include "kdprune/prune/memorization.h"

#include <string>

#include "kdprune/util/error.h"

namespace kdprune::prune {

MemorizationScores memorization_scores(const std::vector<std::vector<int64_t>>& outcomes) {
  MemorizationScores r;
  if (outcomes.empty()) return r;
  const size_t n = outcomes.front().size();
  std::vector<double> in_sum(n, 0), in_n(n, 0), out_sum(n, 0), out_n(n, 0);
  for (const auto& o : outcomes) {
    if (o.size() != n) throw Error("memorization: models disagree on the pool size");
    for (size_t i = 0; i < n; ++i) {
      if (o[i] < 0 || o[i] > 3) throw Error("memorization: outcome " + std::to_string(o[i]) + " is not 2*trained + correct");
      const bool trained = o[i] >= 2, right = o[i] % 2 == 1;
      (trained ? in_sum : out_sum)[i] += right;
      (trained ? in_n : out_n)[i] += 1;
    }
  }
  r.scores.assign(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    if (in_n[i] > 0 && out_n[i] > 0) r.scores[i] = in_sum[i] / in_n[i] - out_sum[i] / out_n[i];
    else ++r.single_group;
  }
  return r;
}

}  // namespace kdprune::prune
