// score.method=moderate: distance of each embedding to its class's median embedding (Xia et al.).
#include "kdprune/scoring/scorer_registry.h"
#include "kdprune/scoring/scorers.h"

namespace kdprune::scoring {

Scorer moderate_scorer() {
  return {
      .one_model = true,
      .make =
          [](const ScoreContext& c) {
            return ModelScoring{.finish = [c](models::ModelImpl& model) {
              return Scored{.scores = prune::class_median_distance(c.infer(model).embedding, c.labels, c.data.info.classes)};
            }};
          },
  };
}

}  // namespace kdprune::scoring
