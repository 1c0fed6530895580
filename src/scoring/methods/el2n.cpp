// score.method=el2n: ||softmax - onehot||_2 of the model after score.epochs (Paul et al.).
#include "kdprune/scoring/scorer_registry.h"
#include "kdprune/scoring/scorers.h"

namespace kdprune::scoring {

Scorer el2n_scorer() {
  return {
      .one_model = true,
      .make =
          [](const ScoreContext& c) {
            return ModelScoring{.finish = [c](models::ModelImpl& model) {
              return Scored{.scores = prune::el2n_from_logits(c.infer(model).logits, c.labels)};
            }};
          },
  };
}

}  // namespace kdprune::scoring
