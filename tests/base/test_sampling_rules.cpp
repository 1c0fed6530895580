// CCS, DUAL's Beta sampling, D2's message passing and the memorization estimator, each against a
// hand computation or an independent evaluation.
#include <gtest/gtest.h>

#include <algorithm>
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

TEST(Ccs, CutOffByLowestAumAsTheReference) {
  // haizhongzheng/Coverage-centric-coreset-selection core/data/Coreset.py: the mis_num =
  // int(0.2 * 20) = 4 lowest AUM are dropped (train.py: mis_key accumulated_margin, ascending),
  // then 4 equal-width strata over the kept scores, budgets smallest stratum first. By hand with
  // score_i = i^1.5 / 10 and aum_i = (7 i mod 20) - 10: dropped {0, 3, 6, 9} (AUM -10, -9, -8, -7);
  // strata {1, 2, 4, 5, 7}, {8, 10, 11, 12}, {13, 14, 15}, {16, 17, 18, 19}; budgets for k = 6:
  // 2, 1, 1, 2 (the 3-stratum gets 6 // 4 = 1, then 5 // 3 = 1, 4 // 2 = 2, 2).
  std::vector<double> scores, aum;
  for (int i = 0; i < 20; ++i) scores.push_back(std::pow(i, 1.5) / 10), aum.push_back((7 * i) % 20 - 10);
  const auto kept = drop_lowest(iota_pool(20), aum, 0.2, 6);
  EXPECT_EQ(kept, (std::vector<int64_t>{1, 2, 4, 5, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
  EXPECT_EQ(ccs_budgets({5, 4, 3, 4}, 6), (std::vector<int64_t>{2, 1, 1, 2}));
  const auto picked = ccs_sample(kept, scores, 6, 4, 11);
  ASSERT_EQ(picked.size(), 6u);
  std::map<int, int> per;
  for (int64_t i : picked) per[i <= 7 ? 0 : i <= 12 ? 1 : i <= 15 ? 2 : 3]++;
  EXPECT_EQ(per, (std::map<int, int>{{0, 2}, {1, 1}, {2, 1}, {3, 2}}));
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
  const double b = 15 * (1 - 0.5) * (1 - std::pow(0.7, 4.0));  // r^c_d, r = 1 - f
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

TEST(BetaSampling, ReferenceScriptNumbers) {
  // behaapyy/dual-pruning exp_cifar/data_subset.py (beta sampling, lines 165-178): anchor_mean =
  // mean of pred_mean over the 10 highest scores; y_b = 15 (1 - anchor_mean)(1 - prune_rate^c_d),
  // y_a = 16 - y_b; p = beta.pdf(pred_mean, y_a, y_b) * score, normalised. Numbers from scipy:
  const std::vector<double> scores = {0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.05, 0.35, 0.45};
  const std::vector<double> mp = {0.2, 0.95, 0.5, 0.8, 0.3, 0.9, 0.25, 0.6, 0.4, 0.99, 0.7, 0.55};
  const auto p = beta_params(scores, mp, 0.25, 4.0);
  EXPECT_NEAR(p.b, 4.921875, 1e-12);  // m = 0.52 (indices 9 and 1 are not in the top 10), r = 0.75
  EXPECT_NEAR(p.a, 11.078125, 1e-12);
  const std::vector<double> ref = {0.000111892, 0.00155579, 0.100805, 0.189718, 0.00306822, 0.0273488,
                                   0.000731800, 0.211107,   0.0260934, 2.13877e-06, 0.282627, 0.156830};
  const auto w = beta_sampling_weights(scores, mp, 0.25, 4.0);
  const double total = std::accumulate(w.begin(), w.end(), 0.0);
  EXPECT_NEAR(total, 4.25089, 1e-5);
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(w[i] / total, ref[i], 1e-5 * ref[i] + 1e-10) << i;
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

namespace {
// Brute-force kNN on a line (the graph knn_graph computes from embeddings; tested in core).
KnnGraph line_knn(const std::vector<double>& x, int64_t k) {
  KnnGraph g{static_cast<int64_t>(x.size()), k, {}, {}};
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<std::pair<double, int64_t>> d;
    for (size_t j = 0; j < x.size(); ++j)
      if (j != i) d.emplace_back(std::abs(x[i] - x[j]), static_cast<int64_t>(j));
    std::sort(d.begin(), d.end());
    for (int64_t c = 0; c < k; ++c) g.neighbors.push_back(d[static_cast<size_t>(c)].second), g.distances.push_back(d[static_cast<size_t>(c)].first);
  }
  return g;
}
}  // namespace

TEST(D2, ForwardAndGreedyOnAHandCheckedGraph) {
  // Points on a line at x = 0, 1, 2, 10, 11 (1-NN graph, distances by hand):
  //   0 -> 1 (1), 1 -> 0 (1), 2 -> 1 (1), 3 -> 4 (1), 4 -> 3 (1)
  const KnnGraph g{5, 1, {1, 0, 1, 4, 3}, {1, 1, 1, 1, 1}};
  const Adjacency out = d2_adjacency(g, false);
  const std::vector<double> s = {1, 2, 3, 1, 1};
  const double gamma = std::log(2.0);  // exp(-gamma * 1) = 1/2
  const auto fwd = d2_forward(out, s, gamma);
  EXPECT_DOUBLE_EQ(fwd[0], 1 + 0.5 * 2);
  EXPECT_DOUBLE_EQ(fwd[1], 2 + 0.5 * 1);
  EXPECT_DOUBLE_EQ(fwd[2], 3 + 0.5 * 2);
  EXPECT_DOUBLE_EQ(fwd[3], 1 + 0.5 * 1);
  EXPECT_DOUBLE_EQ(fwd[4], 1 + 0.5 * 1);
  // Reverse with exp(-beta) = 1: pick 2 (4.0); its neighbour 1 drops to 2.5 - 4 = -1.5.
  // Next 0 vs 3 vs 4 at 2, 1.5, 1.5: pick 0 (its neighbour 1 is lowered again); then 3 (tie with
  // 4 at 1.5, lower node wins), whose neighbour 4 drops to 0; then 4 (0) before 1 (-3.5).
  EXPECT_EQ(d2_greedy(out, fwd, 4, 0.0), (std::vector<int64_t>{2, 0, 3, 4}));
  // Without reverse discounting (beta huge) the picks are the plain forward order.
  EXPECT_EQ(d2_greedy(out, fwd, 3, 1e9), (std::vector<int64_t>{2, 1, 0}));
  // The symmetric graph adds 1 -> 2 (2 points at 1 but not back): node 1 gains 0.5 * 3.
  EXPECT_DOUBLE_EQ(d2_forward(d2_adjacency(g, true), s, gamma)[1], 2 + 0.5 * 1 + 0.5 * 3);
  // Neighbour terms are clamped at 1e-7 (sampling.py), the node's own score is not.
  EXPECT_DOUBLE_EQ(d2_forward(out, {-1, -2, 0, 0, 0}, gamma)[0], -1 + 0.5 * 1e-7);
}

TEST(D2, ReferenceGraphDensitySamplerNumbers) {
  // x = 0, 1, 3, 4, 10; s = 1, 2, 3, 0.5, 5; k = 2; forward exp(-d) (the reference has no gamma
  // there) and reverse gamma 0.1 (its README's --gamma). Values from running the reference
  // GraphDensitySampler (adymaharana/d2pruning core/data/sampling.py, dense path, whose graph is
  // symmetric) on these points: forward 1.8851, 2.7988, 3.5090, 1.7156, 5.0040; picks 4, 1, 0.
  const KnnGraph g = line_knn({0, 1, 3, 4, 10}, 2);
  const std::vector<double> s = {1, 2, 3, 0.5, 5};
  const auto sym = d2_forward(d2_adjacency(g, true), s, 1.0);
  const std::vector<double> ref = {1.8851200874464764, 2.798778825065212, 3.508956765254583, 1.7156062211333867,
                                   5.0039750219849966};
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(sym[i], ref[i], 1e-12) << i;
  EXPECT_EQ(d2_greedy(d2_adjacency(g, true), sym, 3, 0.1), (std::vector<int64_t>{4, 1, 0}));
  // Out-edges only: 1 keeps its kNN 0 (d 1) and 2 (d 2); 2 keeps 3 (d 1) and 1 (d 2); 3 keeps 2 (d 1)
  // and 1 (d 3). The symmetric graph's extra in-edges are gone.
  const auto knn = d2_forward(d2_adjacency(g, false), s, 1.0);
  EXPECT_NEAR(knn[1], 2 + std::exp(-1.0) * 1 + std::exp(-2.0) * 3, 1e-12);
  EXPECT_NEAR(knn[2], 3 + std::exp(-1.0) * 0.5 + std::exp(-2.0) * 2, 1e-12);
  EXPECT_NEAR(knn[3], 0.5 + std::exp(-1.0) * 3 + std::exp(-3.0) * 2, 1e-12);
  // Where the two graphs pick differently (x = 0, .5, 1, 1.5, 6, 6.3, 12; k = 2; budget 4; the same
  // rule in plain Python): symmetric 1, 4, 6, 2; out-edges 1, 4, 6, 3.
  const KnnGraph h = line_knn({0, 0.5, 1, 1.5, 6, 6.3, 12}, 2);
  const std::vector<double> t = {1, 3, 1, 2, 4, 0.2, 2.5};
  EXPECT_NEAR(d2_forward(d2_adjacency(h, true), t, 1.0)[1], 4.94882, 1e-5);
  EXPECT_EQ(d2_greedy(d2_adjacency(h, true), d2_forward(d2_adjacency(h, true), t, 1.0), 4, 0.1),
            (std::vector<int64_t>{1, 4, 6, 2}));
  EXPECT_EQ(d2_greedy(d2_adjacency(h, false), d2_forward(d2_adjacency(h, false), t, 1.0), 4, 0.1),
            (std::vector<int64_t>{1, 4, 6, 3}));
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
