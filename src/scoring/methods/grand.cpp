// score.method=grand: the per-sample gradient norm (Paul et al.): of the last layer in closed form
// (score.scope=last_layer), or over all parameters with one backward per sample (full).
#include <algorithm>
#include <vector>

#include "kdprune/data/tensor_dataset.h"
#include "kdprune/scoring/scorer_registry.h"
#include "kdprune/scoring/scorers.h"

namespace kdprune::scoring {
namespace {

torch::Tensor grand_over_pool(const ScoreContext& c, models::ModelImpl& model) {
  model.eval();
  std::vector<torch::Tensor> parts;
  const data::Normalizer normalise(c.data.info, c.device);
  const auto& view = c.pool;
  for (int64_t b = 0; b < view.size(0); b += 256) {
    const auto idx = view.slice(0, b, std::min(view.size(0), b + 256));
    parts.push_back(prune::grand_full(model, normalise(data::plain_images(c.data.train, idx)),
                                      c.data.train.labels.index_select(0, idx)));
  }
  return torch::cat(parts).to(c.device);
}

}  // namespace

Scorer grand_scorer() {
  return {
      .one_model = true,
      .settings = [](const ScoreSection& sc) { return nlohmann::json{{"scope", sc.scope}}; },
      .make =
          [](const ScoreContext& c) {
            return ModelScoring{.finish = [c](models::ModelImpl& model) {
              if (c.config.score.scope == "full") return Scored{.scores = grand_over_pool(c, model)};
              const auto out = c.infer(model);
              return Scored{.scores = prune::grand_last_layer(out.logits, out.embedding, c.labels)};
            }};
          },
  };
}

}  // namespace kdprune::scoring
