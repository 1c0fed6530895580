// score.method=memorization (Feldman & Zhang): models on random score.subset_ratio subsets of the
// pool, trained in shards; commands/score.cpp runs this strategy (it saves each model's outcome).
#include "kdprune/scoring/scorer_registry.h"

namespace kdprune::scoring {

Scorer memorization_scorer() {
  return {
      .strategy = Strategy::subset_models,
      .needs_epochs = true,
      .settings = [](const ScoreSection& sc) { return nlohmann::json{{"subset_ratio", sc.subset_ratio}}; },
  };
}

}  // namespace kdprune::scoring
