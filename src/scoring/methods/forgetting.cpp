// score.method=forgetting: forgetting events during training (Toneva et al.), counted by an
// observer as the samples are presented; no pass after training.
#include "kdprune/scoring/scorer_registry.h"
#include "kdprune/scoring/scorers.h"

namespace kdprune::scoring {

Scorer forgetting_scorer() {
  return {
      .needs_epochs = true,
      .inference_pass = false,
      .make =
          [](const ScoreContext& c) {
            auto counter = std::make_shared<prune::ForgettingCounter>(c.n, c.device);
            const auto pool = c.pool;
            return ModelScoring{.observers = {counter},
                                .finish = [counter, pool](models::ModelImpl&) {
                                  return Scored{.scores = counter->scores().index_select(0, pool)};
                                }};
          },
  };
}

}  // namespace kdprune::scoring
