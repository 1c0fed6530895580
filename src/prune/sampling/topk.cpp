// prune.sampling=topk: the k hardest, easiest or middle samples by prune.level (select_by_score),
// per class with prune.class_balanced. The rule score-free pruners select under.
#include "kdprune/prune/sampling.h"
#include "kdprune/prune/score_selection.h"

namespace kdprune::prune {

SamplingRule topk_rule() {
  return {
      .name = "topk",
      .description = "the k samples of prune.level (hard: highest scores, easy: lowest, moderate: the middle), "
                     "per class with prune.class_balanced",
      .seeded = false,
      .class_balanced = true,
      .reads = {.scores = false},
      .record = [](const PruneSection& p) { return nlohmann::json{{"level", p.level}}; },
      .select =
          [](const SamplingInputs& in) {
            return in.prune.class_balanced
                       ? select_by_score_class_balanced(in.pool, in.scores, in.labels, in.quota, in.prune.level)
                       : select_by_score(in.pool, in.scores, in.k, in.prune.level);
          },
  };
}

}  // namespace kdprune::prune
