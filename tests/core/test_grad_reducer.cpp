// GradReducer, ranks run as threads over one in-process store: gradient buckets by the size caps,
// and each rank's reduced gradients against the ranks' gradients averaged by hand.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "data_parallel_fixtures.h"
#include "kdprune/dist/collective.h"
#include "kdprune/dist/grad_reducer.h"

using namespace kdprune;

TEST(GradReducer, BucketsFollowTheReverseParameterOrderAndTheSizeCaps) {
  // float sizes 100, 300, 50, 400 (400, 1200, 200, 1600 bytes); first cap 1000, then 1500:
  // [3] (1600 >= 1000), then 2, 1, 0 (200 + 1200 + 400 = 1800 >= 1500).
  const std::vector<torch::Tensor> p = {torch::zeros({100}), torch::zeros({10, 30}), torch::zeros({50}), torch::zeros({400})};
  EXPECT_EQ(dist::assign_buckets(p, {.first_bytes = 1000, .bytes = 1500}),
            (std::vector<std::vector<size_t>>{{3}, {2, 1, 0}}));
  // A double parameter goes to a bucket of its own kind; unfilled buckets close at the end.
  const std::vector<torch::Tensor> q = {torch::zeros({10}), torch::zeros({10}, torch::kFloat64), torch::zeros({10})};
  EXPECT_EQ(dist::assign_buckets(q, {.first_bytes = 1000, .bytes = 1500}),
            (std::vector<std::vector<size_t>>{{2, 0}, {1}}));
  EXPECT_EQ(dist::assign_buckets(q, {.first_bytes = 1, .bytes = 1}), (std::vector<std::vector<size_t>>{{2}, {1}, {0}}));
}

namespace {
using test::run_ranks;

// Three layers used in the loss and one never used; `skip_c` leaves c out of the graph too (a
// parameter one rank's step does not use).
struct FourLayers : torch::nn::Module {
  torch::nn::Linear a{5, 7}, b{7, 3}, c{3, 2}, unused{2, 2};
  FourLayers() {
    register_module("a", a);
    register_module("b", b);
    register_module("c", c);
    register_module("unused", unused);
  }
  torch::Tensor loss(const torch::Tensor& x, bool skip_c) {
    auto h = b(torch::tanh(a(x)));
    return skip_c ? h.pow(2).mean() : c(torch::tanh(h)).pow(2).mean() + h.mean();
  }
};
// Each parameter's gradient of m.loss(x, skip_c) alone (zero where it gets none).
std::vector<torch::Tensor> grads_of(FourLayers& m, const torch::Tensor& x, bool skip_c) {
  m.zero_grad();
  m.loss(x, skip_c).backward();
  std::vector<torch::Tensor> g;
  for (const auto& p : m.parameters()) g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return g;
}
std::shared_ptr<FourLayers> four_layers() {  // the same weights every time
  torch::manual_seed(9);
  return std::make_shared<FourLayers>();
}
// Two ranks (threads, Gloo) with their models on `device`, buckets of `sizes` (`buckets` of them).
void expect_mean_of_ranks(const torch::Device& device, const dist::BucketSizes& sizes, int64_t buckets_expected) {
  torch::manual_seed(5);
  // x[step][rank]; rank 0's steps leave c unused, and no rank uses `unused`.
  const std::vector<std::vector<torch::Tensor>> x = {{torch::randn({4, 5}), torch::randn({6, 5})},
                                                     {torch::randn({3, 5}), torch::randn({5, 5})}};  // on the CPU
  auto ref = four_layers();
  const auto g0 = grads_of(*ref, x[1][0], true), g1 = grads_of(*ref, x[1][1], false);
  for (const bool overlap : {true, false}) {
    SCOPED_TRACE(overlap ? "during backward" : "after backward");
    std::vector<std::shared_ptr<FourLayers>> nets = {four_layers(), four_layers()};  // made here: one generator
    for (auto& n : nets) n->to(device);
    std::vector<int64_t> early(2), buckets(2);
    const auto errors = run_ranks(2, [&](int64_t r, dist::Collective& c) {
      auto& m = *nets[r];
      dist::GradReducer reducer(c, m.parameters(), sizes, overlap);
      for (int step = 0; step < 2; ++step) {  // the second step's gradients replace the first's
        m.zero_grad();
        const auto loss = m.loss(x[step][r].to(device), r == 0);
        reducer.prepare(loss);
        loss.backward();
        reducer.finish();
      }
      early[r] = reducer.started_early(), buckets[r] = static_cast<int64_t>(reducer.buckets());
    });
    for (const auto& e : errors) ASSERT_EQ(e, "");
    for (int r = 0; r < 2; ++r) {
      const auto got = nets[r]->parameters();
      ASSERT_EQ(got.size(), 8u);
      for (size_t k = 0; k < 6; ++k) {  // a, b, c: the mean (c's is rank 1's over 2)
        ASSERT_TRUE(got[k].grad().defined()) << "rank " << r << ", parameter " << k;
        EXPECT_TRUE(torch::allclose(got[k].grad().cpu(), (g0[k] + g1[k]) / 2, 1e-5, 1e-6)) << "rank " << r << ", parameter " << k;
      }
      // Used by no rank: no gradient, as in one process (SGD then leaves it alone).
      EXPECT_FALSE(got[6].grad().defined()) << "rank " << r;
      EXPECT_FALSE(got[7].grad().defined()) << "rank " << r;
      EXPECT_EQ(buckets[r], buckets_expected);
      // Overlapping, every bucket starts before finish() in both steps: `unused`'s (and, on rank 0,
      // c's) at prepare(), as the walk from the loss does not reach them, the others as backward fills them.
      EXPECT_EQ(early[r], overlap ? 2 * buckets_expected : 0) << "rank " << r;
    }
  }
}
}  // namespace

TEST(GradReducer, EveryRankGetsTheMeanOfTheRanksGradients) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  const torch::Device cpu(torch::kCPU);
  {
    SCOPED_TRACE("a bucket per parameter");
    expect_mean_of_ranks(cpu, {.first_bytes = 1, .bytes = 1}, 8);
  }
  {
    // 40-byte cap: [unused.bias, unused.weight, c.bias, c.weight] (56 bytes: flags 0 on every rank
    // and, for c, on rank 0 only), [b.bias, b.weight], [a.bias, a.weight].
    SCOPED_TRACE("buckets of several parameters");
    expect_mean_of_ranks(cpu, {.first_bytes = 40, .bytes = 40}, 3);
  }
  {
    SCOPED_TRACE("one bucket");
    expect_mean_of_ranks(cpu, {}, 1);
  }
}

TEST(GradReducer, AGradientTheGraphWalkDidNotExpectIsAnErrorNotLost) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  const auto errors = run_ranks(1, [&](int64_t, dist::Collective& c) {
    auto m = four_layers();
    dist::GradReducer reducer(c, m->parameters(), {}, true);
    m->to(torch::kFloat64);  // new AccumulateGrad nodes: the reducer's walk no longer finds them
    const auto loss = m->loss(torch::randn({2, 5}, torch::kFloat64), false);
    reducer.prepare(loss);
    loss.backward();
  });
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("which the walk from the loss did not reach"), std::string::npos) << errors[0];
}

// CUDA gradients: hooks on autograd's device thread, Gloo staging the buckets through the host
// (both ranks on one GPU: Gloo does not mind). Run by scripts/device/check.sh.
TEST(GradReducer, EveryRankGetsTheMeanOfTheRanksGradientsOnCuda) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  expect_mean_of_ranks(torch::Device(torch::kCUDA, 0), {.first_bytes = 40, .bytes = 40}, 3);
}
