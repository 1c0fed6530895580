// CCS, DUAL's Beta sampling, D2's message passing and the memorization estimator, each against a
// hand computation or an independent evaluation.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numeric>

#include "kdprune/prune/d2.h"
#include "kdprune/prune/memorization.h"
#include "kdprune/prune/stratified.h"

using namespace kdprune::prune;

namespace {
std::vector<int64_t> iota_pool(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
}  // namespace

TEST(Ccs, EveryStratumGetsMinOfSizeAndShare) {
  // sizes 2, 0, 10, 5, 30; budget 20 over 4 non-empty bins: smallest first
  // bin0: min(2, 20/4=5) = 2, left 18; bin3: min(5, 18/3=6) = 5, left 13;
  // bin2: min(10, 13/2=6) = 6, left 7; bin4: min(30, 7/1) = 7.
  EXPECT_EQ(ccs_budgets({2, 0, 10, 5, 30}, 20), (std::vector<int64_t>{2, 0, 6, 5, 7}));
  // A remainder from integer division goes to the largest bins: 3 bins of 10, budget 10 -> 3,3,4
  const auto b = ccs_budgets({10, 10, 10}, 10);
  EXPECT_EQ(std::accumulate(b.begin(), b.end(), int64_t{0}), 10);
  for (int64_t x : b) EXPECT_TRUE(x == 3 || x == 4);
  EXPECT_EQ(ccs_budgets({1, 1}, 5), (std::vector<int64_t>{1, 1}));  // never more than a bin holds
}

TEST(Ccs, CutOffStrataAndDeterminism) {
  // 100 samples, score = index: the cut-off drops the 10 highest (90..99); 10 strata of width
  // 8.9 over [0, 89]; a budget of 20 takes 2 from each stratum (sizes 9 or 10).
  std::vector<double> scores(100);
  std::iota(scores.begin(), scores.end(), 0.0);
  const auto pool = iota_pool(100);
  const auto a = ccs_selection(pool, scores, 20, 0.1, 10, 7);
  ASSERT_EQ(a.size(), 20u);
  EXPECT_LT(a.back(), 90);
  std::map<int64_t, int> per_stratum;
  for (int64_t i : a) per_stratum[static_cast<int64_t>(static_cast<double>(i) / 8.9)]++;
  for (int64_t s = 0; s < 10; ++s) EXPECT_EQ(per_stratum[std::min<int64_t>(s, 9)], 2) << "stratum " << s;
  EXPECT_EQ(ccs_selection(pool, scores, 20, 0.1, 10, 7), a);
  EXPECT_NE(ccs_selection(pool, scores, 20, 0.1, 10, 8), a);
  // The cut-off never leaves fewer than k: k = 95 with a 10% cut keeps the 5 hardest out only.
  const auto big = ccs_selection(pool, scores, 95, 0.1, 10, 7);
  EXPECT_EQ(big.size(), 95u);
  EXPECT_EQ(big.back(), 94);
}

TEST(BetaSampling, DensityMatchesAnIndependentEvaluation) {
  // Integer parameters have a closed form: Beta(2, 3) = 12 x (1 - x)^2.
  for (double x : {0.1, 0.5, 0.8}) EXPECT_NEAR(beta_pdf(x, 2, 3), 12 * x * (1 - x) * (1 - x), 1e-12);
  // Non-integer: the density integrates to 1 (Simpson's rule, independent of the normaliser).
  const double a = 11.5, b = 4.5;
  const int m = 20000;
  double sum = beta_pdf(1e-12, a, b) + beta_pdf(1 - 1e-12, a, b);
  for (int i = 1; i < m; ++i) sum += (i % 2 ? 4 : 2) * beta_pdf(static_cast<double>(i) / m, a, b);
  EXPECT_NEAR(sum / (3.0 * m), 1.0, 1e-6);
}

TEST(BetaSampling, ParametersAndWeightsFollowTheReference) {
  // 12 samples; the 10 highest scores are samples 2..11 with mean_prob 0.5 each -> m = 0.5.
  std::vector<double> scores, mp;
  for (int i = 0; i < 12; ++i) scores.push_back(i), mp.push_back(i < 2 ? 0.9 : 0.5);
  const double f = 0.3, cd = 4;
  const auto p = beta_params(scores, mp, f, cd);
  const double b = 15 * (1 - 0.5) * (1 - std::pow(0.7, 6.0));
  EXPECT_NEAR(p.b, b, 1e-12);
  EXPECT_NEAR(p.a, 16 - b, 1e-12);
  const auto w = beta_sampling_weights(scores, mp, f, cd);
  const double lb = std::lgamma(p.a) + std::lgamma(p.b) - std::lgamma(p.a + p.b);
  for (int i = 0; i < 12; ++i) {
    const double x = mp[static_cast<size_t>(i)];
    const double pdf = std::exp((p.a - 1) * std::log(x) + (p.b - 1) * std::log(1 - x) - lb);
    EXPECT_NEAR(w[static_cast<size_t>(i)], pdf * i, 1e-9 * (1 + pdf * i)) << i;
  }
}

TEST(BetaSampling, DrawsProportionallyWithoutReplacement) {
  // One draw from weights 1:2:3:4 over many seeds: frequencies near 0.1, 0.2, 0.3, 0.4.
  const std::vector<double> w = {1, 2, 3, 4};
  std::vector<int> count(4, 0);
  const int trials = 20000;
  for (int s = 0; s < trials; ++s) count[static_cast<size_t>(weighted_sample_without_replacement(iota_pool(4), w, 1, s)[0])]++;
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(count[static_cast<size_t>(i)] / double(trials), (i + 1) / 10.0, 0.015) << i;
  // Without replacement, zero weights last (lower index first), deterministic per seed.
  const std::vector<double> z = {0, 5, 0, 1};
  EXPECT_EQ(weighted_sample_without_replacement(iota_pool(4), z, 3, 3), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(weighted_sample_without_replacement(iota_pool(4), w, 2, 9), weighted_sample_without_replacement(iota_pool(4), w, 2, 9));
}

TEST(D2, ForwardAndGreedyOnAHandCheckedGraph) {
  // Points on a line at x = 0, 1, 2, 10, 11 (1-NN graph, distances by hand):
  //   0 -> 1 (1), 1 -> 0 (1), 2 -> 1 (1), 3 -> 4 (1), 4 -> 3 (1)
  KnnGraph g{5, 1, {1, 0, 1, 4, 3}, {1, 1, 1, 1, 1}};
  const std::vector<double> s = {1, 2, 3, 1, 1};
  const double gamma = std::log(2.0);  // exp(-gamma * 1) = 1/2
  const auto fwd = d2_forward(g, s, gamma);
  EXPECT_DOUBLE_EQ(fwd[0], 1 + 0.5 * 2);
  EXPECT_DOUBLE_EQ(fwd[1], 2 + 0.5 * 1);
  EXPECT_DOUBLE_EQ(fwd[2], 3 + 0.5 * 2);
  EXPECT_DOUBLE_EQ(fwd[3], 1 + 0.5 * 1);
  EXPECT_DOUBLE_EQ(fwd[4], 1 + 0.5 * 1);
  // Reverse with exp(-beta) = 1: pick 2 (4.0); its neighbour 1 drops to 2.5 - 4 = -1.5.
  // Next 0 vs 3 vs 4 at 2, 1.5, 1.5: pick 0 (its neighbour 1 is lowered again); then 3 (tie with
  // 4 at 1.5, lower node wins), whose neighbour 4 drops to 0; then 4 (0) before 1 (-3.5).
  EXPECT_EQ(d2_greedy(g, fwd, 4, 0.0), (std::vector<int64_t>{2, 0, 3, 4}));
  // Without reverse discounting (beta huge) the picks are the plain forward order.
  EXPECT_EQ(d2_greedy(g, fwd, 3, 1e9), (std::vector<int64_t>{2, 1, 0}));
}

TEST(Memorization, EstimatorOnAConstructedCase) {
  // 3 samples, 4 models. Sample 0 is right exactly when trained on (mem 1); sample 1 is always
  // right (mem 0); sample 2 is trained on by every model (one group only: 0, counted).
  const std::vector<std::vector<int64_t>> o = {{3, 3, 3}, {0, 1, 2}, {3, 1, 3}, {0, 3, 2}};
  const auto m = memorization_scores(o);
  EXPECT_DOUBLE_EQ(m.scores[0], 1.0);
  EXPECT_DOUBLE_EQ(m.scores[1], 0.0);
  EXPECT_DOUBLE_EQ(m.scores[2], 0.0);
  EXPECT_EQ(m.single_group, 1);
  // A mixed case: trained twice (right 1 of 2), untrained twice (right 0 of 2) -> 0.5
  EXPECT_DOUBLE_EQ(memorization_scores({{3}, {2}, {0}, {0}}).scores[0], 0.5);
}
