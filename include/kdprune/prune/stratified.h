#pragma once
// Score-based selections that are not a plain top-k: CCS (coverage-centric stratified sampling,
// Zheng et al. 2023) and DUAL's Beta sampling (Cho et al. 2025). Both are seeded and return
// ascending dataset indices; same inputs, same subset.
#include <cstdint>
#include <string>
#include <vector>

namespace kdprune::prune {

// The pool without its floor(cutoff * n) hardest samples (highest score; ties: the higher index
// goes first), never leaving fewer than k. Returned ascending. CCS and D2 both cut this way.
std::vector<int64_t> drop_hardest(const std::vector<int64_t>& pool, const std::vector<double>& scores, double cutoff,
                                  int64_t k);

// The pool without the floor(cutoff * n) samples of lowest values[index] (ties: the higher index
// goes first), never leaving fewer than k; ascending. The CCS and D2 reference code cut this way
// by AUM (low margin = likely mislabeled).
std::vector<int64_t> drop_lowest(const std::vector<int64_t>& pool, const std::vector<double>& values, double cutoff,
                                 int64_t k);

// CCS's stratified sampling of k from an already cut pool: `strata` equal-width bins over the
// pool's score range, filled from the smallest non-empty bin up, each taking min(its size,
// floor(budget left / bins left)), uniformly at random inside a bin.
std::vector<int64_t> ccs_sample(const std::vector<int64_t>& pool, const std::vector<double>& scores, int64_t k,
                                int64_t strata, int64_t seed);

// CCS over scores[index] of the pool: drop the floor(cutoff * n) hardest (highest score; ties:
// the higher index goes first), split the remaining score range into `strata` equal-width bins,
// then fill the budget k from the smallest non-empty bin up, each bin taking
// min(its size, floor(budget left / bins left)), uniformly at random inside a bin.
// The cut-off never removes so many that fewer than k remain.
std::vector<int64_t> ccs_selection(const std::vector<int64_t>& pool, const std::vector<double>& scores, int64_t k,
                                   double cutoff, int64_t strata, int64_t seed);

// The per-bin budgets of ccs_selection for bin sizes `sizes` (exposed for tests).
std::vector<int64_t> ccs_budgets(const std::vector<int64_t>& sizes, int64_t k);

// DUAL's Beta sampling weights for keeping fraction f: with r = 1 - f, m = the mean of mean_prob
// over the 10 highest-scoring samples, b = 15 (1 - m)(1 - r^cd), a = 16 - b, the weight of
// sample i is BetaPDF(mean_prob_i; a, b) * score_i (mean_prob clamped into [1e-6, 1 - 1e-6]).
struct BetaParams {
  double a, b;
};
BetaParams beta_params(const std::vector<double>& scores, const std::vector<double>& mean_prob, double f, double cd);
double beta_pdf(double x, double a, double b);
std::vector<double> beta_sampling_weights(const std::vector<double>& scores, const std::vector<double>& mean_prob,
                                          double f, double cd);

// What prune.sampling=auto selects: DUAL's Beta sampling for DUAL scores at a pruning rate of
// 50 % or more (f <= 0.5, the rates the Beta sampling was made for), with the default `hard`
// level and no class balancing; top-k otherwise.
inline constexpr double kAutoBetaMaxFraction = 0.5;
std::string auto_sampling(bool dual_scores, double f, const std::string& level, bool class_balanced);

// k of the pool drawn without replacement with probability proportional to weights[index]
// (Efraimidis-Spirakis keys u^(1/w), seeded); zero weights come last, by lower index.
std::vector<int64_t> weighted_sample_without_replacement(const std::vector<int64_t>& pool,
                                                         const std::vector<double>& weights, int64_t k, int64_t seed);

}  // namespace kdprune::prune
