// prune.sampling=beta: DUAL's Beta sampling (Cho et al. 2025): k drawn with weights
// BetaPDF(mean_prob; a, b) * score; seeded by prune.seed.
#include <spdlog/spdlog.h>

#include "kdprune/prune/sampling.h"
#include "kdprune/prune/stratified.h"

namespace kdprune::prune {

SamplingRule beta_rule() {
  return {
      .name = "beta",
      .description = "DUAL's Beta sampling: weights BetaPDF(mean_prob; a, b) * score, drawn without replacement",
      .seeded = true,
      .reads = {.mean_prob = true},
      .record = [](const PruneSection&) { return nlohmann::json::object(); },
      .select =
          [](const SamplingInputs& in) {
            const auto& p = in.prune;
            std::vector<double> s_pool, m_pool;
            for (int64_t i : in.pool)
              s_pool.push_back(in.scores[static_cast<size_t>(i)]), m_pool.push_back(in.mean_prob[static_cast<size_t>(i)]);
            const auto w_pool = beta_sampling_weights(s_pool, m_pool, p.fraction, p.beta_cd);
            std::vector<double> weights(in.scores.size(), 0.0);
            for (size_t j = 0; j < in.pool.size(); ++j) weights[static_cast<size_t>(in.pool[j])] = w_pool[j];
            const auto bp = beta_params(s_pool, m_pool, p.fraction, p.beta_cd);
            spdlog::info("beta sampling: a = {:.4g}, b = {:.4g} (f = {}, c_d = {})", bp.a, bp.b, p.fraction, p.beta_cd);
            return weighted_sample_without_replacement(in.pool, weights, in.k, p.seed);
          },
  };
}

}  // namespace kdprune::prune
