// The training-dynamics recorder, DUAL's window arithmetic and the kNN graph, against hand
// computations and brute force.
#include <gtest/gtest.h>

#include <cmath>

#include "kdprune/scoring/aum.h"
#include "kdprune/scoring/dynamics.h"
#include "kdprune/scoring/knn.h"
#include "kdprune/scoring/scorers.h"

using namespace kdprune::prune;

TEST(Dynamics, RecordsProbabilityCorrectnessLossAndMargin) {
  DynamicsRecorder rec(3, 2, torch::kCPU);
  // epoch 0: samples 2 and 0; logits for 2 classes
  const auto logits = torch::tensor({{2.0f, 0.0f}, {0.0f, 1.0f}});
  rec.record(0, torch::tensor({2, 0}), logits, torch::tensor({0, 0}));
  rec.record(5, torch::tensor({1}), torch::tensor({{0.0f, 0.0f}}), torch::tensor({1}));  // beyond capacity: ignored
  const double p2 = 1.0 / (1.0 + std::exp(-2.0)), p0 = 1.0 / (1.0 + std::exp(1.0));
  EXPECT_NEAR(rec.prob()[0][2].item<float>(), p2, 1e-3);
  EXPECT_NEAR(rec.prob()[0][0].item<float>(), p0, 1e-3);
  EXPECT_TRUE(std::isnan(rec.prob()[0][1].item<float>()));
  EXPECT_EQ(rec.correct()[0][2].item<int>(), 1);
  EXPECT_EQ(rec.correct()[0][0].item<int>(), 0);
  EXPECT_EQ(rec.correct()[0][1].item<int>(), 255);
  EXPECT_NEAR(rec.loss()[0][0].item<float>(), -std::log(p0), 1e-2);
  EXPECT_NEAR(rec.margin()[0][2].item<float>(), 2.0, 1e-3);
  EXPECT_NEAR(rec.margin()[0][0].item<float>(), -1.0, 1e-3);
}

TEST(Dynamics, ForgettingFromTheHistoryMatchesTheCounter) {
  // A fixed correctness history over 4 epochs for 4 samples (one presentation per epoch).
  const std::vector<std::vector<int>> right = {{1, 0, 1, 0}, {1, 1, 0, 0}, {0, 1, 1, 0}, {1, 0, 0, 0}};
  DynamicsRecorder rec(4, 4, torch::kCPU);
  ForgettingCounter counter(4, torch::kCPU);
  for (int64_t e = 0; e < 4; ++e) {
    // logits that make sample i right or wrong for label 0
    std::vector<float> z;
    for (int i = 0; i < 4; ++i) z.push_back(right[static_cast<size_t>(e)][static_cast<size_t>(i)] ? 1.0f : -1.0f), z.push_back(0.0f);
    const auto logits = torch::tensor(z).view({4, 2});
    rec.record(e, torch::arange(4), logits, torch::zeros({4}, torch::kInt64));
    counter.record(torch::arange(4), logits.argmax(1).eq(0));
  }
  // by hand: sample 0: 1,1,0,1 -> 1 event; 1: 0,1,1,0 -> 1; 2: 1,0,1,0 -> 2; 3: never right ->
  // its number of presentations, 4 (mtoneva/example_forgetting order_examples_by_forgetting.py,
  // sort_examples_by_forgetting: an unlearned example counts npresentations per run)
  const auto f = rec.forgetting_scores();
  EXPECT_TRUE(torch::equal(f, torch::tensor({1.0, 1.0, 2.0, 4.0}, torch::kFloat64))) << f;
  EXPECT_TRUE(torch::equal(f, counter.scores()));
}

TEST(Dual, WindowArithmeticOnAHandWrittenHistory) {
  // One sample, T = 4, J = 2: windows (0.2, 0.4), (0.4, 0.4), (0.4, 0.8). The reference
  // (behaapyy/dual-pruning exp_cifar/importance_evaluation.py, dual(): window.std(dim=0) * 10 *
  // (1 - mean), averaged over the windows) uses torch's default, the unbiased (n - 1) std:
  //   10 * sqrt(0.02) * 0.7, 0, 10 * sqrt(0.08) * 0.4 -> mean (0.98995 + 1.13137) / 3 = 0.5 sqrt(2)
  const auto p = torch::tensor({0.2, 0.4, 0.4, 0.8}, torch::kFloat64).view({4, 1});
  EXPECT_NEAR(dual_scores(p, 2).item<double>(), 0.5 * std::sqrt(2.0), 1e-12);
  // J >= T: one window over everything: mean 0.45, unbiased variance 0.0475 * 4 / 3
  EXPECT_NEAR(dual_scores(p, 10).item<double>(), 10 * std::sqrt(0.0475 * 4.0 / 3.0) * 0.55, 1e-12);
  // constant probability: no uncertainty
  EXPECT_NEAR(dual_scores(torch::full({5, 1}, 0.3, torch::kFloat64), 3).item<double>(), 0.0, 1e-12);
}

TEST(Knn, MatchesBruteForce) {
  torch::manual_seed(3);
  const auto x = torch::randn({50, 4});
  const int64_t k = 3;
  const auto g = knn_graph(x, k, /*block=*/16);  // several blocks
  for (int64_t i = 0; i < 50; ++i) {
    std::vector<std::pair<double, int64_t>> d;
    for (int64_t j = 0; j < 50; ++j)
      if (j != i) d.emplace_back((x[i] - x[j]).norm().item<double>(), j);
    std::sort(d.begin(), d.end());
    for (int64_t c = 0; c < k; ++c) {
      EXPECT_EQ(g.neighbors[static_cast<size_t>(i * k + c)], d[static_cast<size_t>(c)].second) << i;
      EXPECT_NEAR(g.distances[static_cast<size_t>(i * k + c)], d[static_cast<size_t>(c)].first, 1e-4) << i;
    }
  }
}

TEST(Aum, ProbabilityMarginAsTheReference) {
  // CCS/D2 generate_importance_score.py: per presentation, softmax p_y - max_{c != y} p_c, summed
  // over training. Sample 0, label 0: logits (2, 0, 1) and then (0, 0, 3); sample 2 never shown.
  ProbabilityMarginAum aum(3, torch::kCPU);
  aum.record(torch::tensor({0, 1}), torch::tensor({{2.0f, 0.0f, 1.0f}, {0.0f, 1.0f, 0.0f}}), torch::tensor({0, 1}));
  aum.record(torch::tensor({0}), torch::tensor({{0.0f, 0.0f, 3.0f}}), torch::tensor({0}));
  const double z1 = std::exp(2.0) + 1 + std::exp(1.0), z2 = 2 + std::exp(3.0), z3 = 2 + std::exp(1.0);
  const double m0 = ((std::exp(2.0) - std::exp(1.0)) / z1 + (1 - std::exp(3.0)) / z2) / 2;  // mean of two presentations
  const double m1 = (std::exp(1.0) - 1) / z3;
  const auto a = aum.aum();
  EXPECT_NEAR(a[0].item<double>(), m0, 1e-6);
  EXPECT_NEAR(a[1].item<double>(), m1, 1e-6);
  EXPECT_TRUE(std::isnan(a[2].item<double>()));
}
