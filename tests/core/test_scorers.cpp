// Pruning scores against hand-checkable cases and independent computations.
#include <gtest/gtest.h>

#include <cmath>

#include "kdprune/scoring/scorers.h"

using namespace kdprune;

TEST(Forgetting, CountsTransitionsFromAFixedHistory) {
  prune::ForgettingCounter f(4, torch::Device(torch::kCPU));
  // presentations (rows) of samples 0..3: 1 = classified correctly
  const std::vector<std::vector<int>> history = {{1, 0, 1, 0}, {0, 0, 1, 0}, {1, 0, 0, 0}, {0, 0, 1, 0}, {1, 0, 1, 0}};
  const auto idx = torch::tensor({0, 1, 2, 3});
  for (const auto& row : history) f.record(idx, torch::tensor(std::vector<int64_t>(row.begin(), row.end())).to(torch::kBool));
  // sample 0: 1,0,1,0,1 -> 2 events; 1: never learned; 2: 1,1,0,1,1 -> 1; 3: never learned
  EXPECT_TRUE(torch::equal(f.events(), torch::tensor({2, 0, 1, 0}, torch::kInt64)));
  // Never-learned samples score their 5 presentations (Toneva et al.'s npresentations), above
  // every learned sample.
  EXPECT_TRUE(torch::equal(f.scores(), torch::tensor({2.0, 5.0, 1.0, 5.0}, torch::kFloat64)));
}

TEST(Forgetting, OnlyPresentedSamplesAndUnorderedBatches) {
  prune::ForgettingCounter f(5, torch::Device(torch::kCPU));
  f.record(torch::tensor({4, 1}), torch::tensor({true, true}));
  f.record(torch::tensor({1, 4, 0}), torch::tensor({false, true, true}));
  EXPECT_TRUE(torch::equal(f.events(), torch::tensor({0, 1, 0, 0, 0}, torch::kInt64)));
}

TEST(El2n, FixedLogits) {
  const auto logits = torch::tensor({{0.0f, 0.0f}, {std::log(3.0f), 0.0f}});
  const auto y = torch::tensor({0, 1});
  // p = (0.5, 0.5), y=0: ||(-0.5, 0.5)|| = sqrt(0.5); p = (0.75, 0.25), y=1: ||(0.75, -0.75)|| = 0.75 sqrt(2)
  const auto e = prune::el2n_from_logits(logits, y);
  EXPECT_NEAR(e[0].item<double>(), std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(e[1].item<double>(), 0.75 * std::sqrt(2.0), 1e-6);
}

TEST(Grand, LastLayerClosedFormMatchesAutograd) {
  torch::manual_seed(0);
  torch::nn::Linear fc(6, 4);
  const auto h = torch::randn({5, 6});
  const auto y = torch::tensor({0, 3, 1, 1, 2});
  const auto closed = prune::grand_last_layer(fc(h).detach(), h, y);
  for (int64_t i = 0; i < 5; ++i) {
    fc->zero_grad();
    torch::nn::functional::cross_entropy(fc(h.slice(0, i, i + 1)), y.slice(0, i, i + 1)).backward();
    const double norm = std::sqrt(fc->weight.grad().pow(2).sum().item<double>() + fc->bias.grad().pow(2).sum().item<double>());
    EXPECT_NEAR(closed[i].item<double>(), norm, 1e-5) << i;
  }
}

TEST(Grand, FullScopeIsThePerSampleGradientNorm) {
  torch::manual_seed(1);
  auto m = models::create_model("resnet8", {1, 3, 8});
  m->eval();
  const auto x = torch::randn({3, 1, 8, 8});
  const auto y = torch::tensor({0, 1, 2});
  const auto g = prune::grand_full(*m, x, y);
  // the last-layer part alone is a lower bound of the full norm
  torch::Tensor logits, emb;
  {
    torch::NoGradGuard ng;
    auto out = m->forward_all(x);
    logits = out.logits;
    emb = out.embedding;
  }
  const auto last = prune::grand_last_layer(logits, emb, y);
  for (int64_t i = 0; i < 3; ++i) EXPECT_GE(g[i].item<double>() + 1e-6, last[i].item<double>());
  m->zero_grad();
  torch::nn::functional::cross_entropy(m->forward(x.slice(0, 1, 2)), y.slice(0, 1, 2)).backward();
  double sq = 0;
  for (const auto& p : m->parameters()) sq += p.grad().pow(2).sum().item<double>();
  EXPECT_NEAR(g[1].item<double>(), std::sqrt(sq), 1e-4 * std::sqrt(sq));
}

TEST(Moderate, DistanceToTheClassMedianNotTheMean) {
  // tmllab/Moderate-DS get_median: np.median(features_of_class, axis=0), then the Euclidean
  // distance of each sample to it. Computed by hand:
  //   class 0 (odd count): x = {0,1,0,5,1} -> 1, y = {0,0,2,5,1} -> 1: median (1, 1)
  //     (the mean would be (1.4, 1.6), pulled by the outlier (5, 5))
  //   class 1 (even count, mean of the two middle values): x = {10,11,10,14} -> 10.5,
  //     y = {10,10,13,10} -> 10: median (10.5, 10)
  const auto h = torch::tensor({{0.0f, 0.0f}, {10.0f, 10.0f}, {1.0f, 0.0f}, {11.0f, 10.0f}, {0.0f, 2.0f},
                                {5.0f, 5.0f}, {10.0f, 13.0f}, {1.0f, 1.0f}, {14.0f, 10.0f}});
  const auto y = torch::tensor({0, 1, 0, 1, 0, 0, 1, 0, 1});
  const auto d = prune::class_median_distance(h, y, 3);  // class 2 is empty
  const auto expected = torch::tensor({std::sqrt(2.0), 0.5, 1.0, 0.5, std::sqrt(2.0), std::sqrt(32.0), std::sqrt(9.25), 0.0, 3.5},
                                      torch::kFloat64);
  EXPECT_TRUE(torch::allclose(d, expected, 1e-12, 1e-12)) << d;
}
