// score.method=aum: minus the area under the margin (Pleiss et al.) over the recorded epochs, so
// that a low margin (likely mislabeled) ranks as hard.
#include "kdprune/scoring/dynamics.h"
#include "kdprune/scoring/scorer_registry.h"

namespace kdprune::scoring {

Scorer aum_scorer() {
  return {
      .needs_epochs = true,
      .inference_pass = false,
      .make =
          [](const ScoreContext& c) {
            auto recorder = std::make_shared<prune::DynamicsRecorder>(c.n, c.config.score.epochs, c.device);
            const auto pool = c.pool;
            return ModelScoring{.observers = {recorder},
                                .finish = [recorder, pool](models::ModelImpl&) {
                                  return Scored{.scores = -recorder->area_under_margin().index_select(0, pool)};
                                }};
          },
  };
}

}  // namespace kdprune::scoring
