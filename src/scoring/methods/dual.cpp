// score.method=dual: DUAL (Cho et al. 2025) from the true-class probability history of the first
// score.epochs; the mean probability goes beside the scores (mean_prob.npy) for Beta sampling.
#include <algorithm>
#include <string>

#include "kdprune/scoring/dynamics.h"
#include "kdprune/scoring/scorer_registry.h"
#include "kdprune/util/error.h"

namespace kdprune::scoring {

Scorer dual_scorer() {
  return {
      .needs_epochs = true,
      .inference_pass = false,
      .extra_files = {"mean_prob"},
      .check =
          [](const ScoreSection& sc) {
            if (std::min(sc.window, sc.epochs) < 2)
              throw Error("score.window / score.epochs: DUAL's windows need at least 2 epochs (the unbiased std of one "
                          "value is undefined); got window " + std::to_string(sc.window) + ", epochs " +
                          std::to_string(sc.epochs));
          },
      .settings = [](const ScoreSection& sc) { return nlohmann::json{{"window", sc.window}}; },
      .make =
          [](const ScoreContext& c) {
            auto recorder = std::make_shared<prune::DynamicsRecorder>(c.n, c.config.score.epochs, c.device);
            const auto pool = c.pool;
            const int64_t window = c.config.score.window;
            return ModelScoring{.observers = {recorder},
                                .finish = [recorder, pool, window](models::ModelImpl&) {
                                  const auto p = recorder->prob().index_select(1, pool);
                                  return Scored{.scores = prune::dual_scores(p, window),
                                                .extras = {{"mean_prob", p.to(torch::kFloat64).mean(0)}}};
                                }};
          },
  };
}

}  // namespace kdprune::scoring
