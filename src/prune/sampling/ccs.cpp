// prune.sampling=ccs: coverage-centric stratified sampling (Zheng et al. 2023) of the pool left
// by the cut-off; seeded by prune.seed.
#include "kdprune/prune/sampling.h"
#include "kdprune/prune/stratified.h"

namespace kdprune::prune {

SamplingRule ccs_rule() {
  return {
      .name = "ccs",
      .description = "cut-off (prune.cutoff, by AUM or score), then prune.strata equal-width score strata filled "
                     "smallest first, uniform inside a stratum",
      .seeded = true,
      .reads = {.cutoff = true},
      .record = [](const PruneSection& p) { return nlohmann::json{{"cutoff", p.cutoff}}; },
      .select = [](const SamplingInputs& in) { return ccs_sample(in.kept, in.scores, in.k, in.prune.strata, in.prune.seed); },
  };
}

}  // namespace kdprune::prune
