// Data-parallel training over c10d Gloo, ranks run as threads over one in-process store: W ranks ×
// batch B train as one process × batch W·B (a model without batch statistics), the ranks' parts
// of each epoch are disjoint and cover the view, a 2-rank checkpoint resumes in 1 rank, and a rank
// that stops makes the others fail with a one-line error instead of hanging. The gradient buckets
// (GradReducer) are tested in test_grad_reducer.cpp.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "data_parallel_fixtures.h"
#include "kdprune/data/dataset_registry.h"
#include "kdprune/dist/collective.h"
#include "kdprune/models/batch_norm.h"
#include "kdprune/train/checkpoint.h"
#include "kdprune/train/trainer.h"
#include "kdprune/util/error.h"
#include "test_files.h"

using namespace kdprune;

namespace {
using test::close_weights;
using test::plain_net;
using test::PlainNet;
using test::recipe;
using test::run_ranks;
using test::tiny;
// Conv + BatchNorm + linear: batch statistics, which ranks share only with SyncBatchNorm.
struct NormNet : models::ModelImpl {
  torch::nn::Conv2d conv{torch::nn::Conv2dOptions(1, 6, 3).padding(1)};
  models::BatchNorm2d bn{6};
  torch::nn::Linear fc{6, 4};
  NormNet() {
    register_module("conv", conv);
    register_module("bn", bn);
    register_module("fc", fc);
  }
  models::ModelOutput forward_all(const torch::Tensor& x) override {
    auto h = torch::relu(bn(conv(x))).mean({2, 3});
    return {fc(h), h, {}};
  }
};
std::shared_ptr<NormNet> norm_net(uint64_t seed) {
  torch::manual_seed(seed);
  return std::make_shared<NormNet>();
}
// Rank r trains nets[r] with `t` (seed 11) on `world` = nets.size() threads; each rank's result
// and error ("" = none).
template <class Net>
std::pair<std::vector<train::TrainResult>, std::vector<std::string>> fit_ranks(const std::vector<std::shared_ptr<Net>>& nets,
                                                                                const data::TensorDataset& data,
                                                                                const std::vector<int64_t>& idx,
                                                                                const TrainSection& t) {
  std::vector<train::TrainResult> results(nets.size());
  const auto errors = run_ranks(static_cast<int64_t>(nets.size()), [&](int64_t r, dist::Collective& c) {
    results[r] = train::fit({.model = *nets[r], .data = data, .indices = idx, .train = t, .seed = 11,
                             .show_progress = false, .collective = &c});
  });
  return {results, errors};
}
bool close_buffers(const models::ModelImpl& a, const models::ModelImpl& b, double tol) {
  auto ba = a.buffers(), bb = b.buffers();
  for (size_t i = 0; i < ba.size(); ++i)
    if (!torch::allclose(ba[i].to(torch::kFloat64), bb[i].to(torch::kFloat64), tol, tol)) return false;
  return true;
}
}  // namespace

TEST(DataParallel, TwoRanksOfHalfTheBatchTrainAsOneProcess) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  const auto data = tiny(70);  // global batches of 16: 4 full + 6 (3 per rank)
  std::vector<int64_t> idx(70);
  std::iota(idx.begin(), idx.end(), 0);
  const TrainSection one = recipe(16);
  auto reference = plain_net(3);
  const auto single = train::fit({.model = *reference, .data = data, .indices = idx, .train = one, .seed = 11, .show_progress = false});
  // One bucket (the default 25 MiB), then two with a 40-byte cap ([fc.bias, fc.weight]: 112 bytes,
  // [conv.bias, conv.weight]: 240), reduced during backward and after it.
  for (const auto& [bucket_mb, overlap] : {std::pair{25.0, true}, std::pair{40.0 / (1 << 20), true}, std::pair{40.0 / (1 << 20), false}}) {
    SCOPED_TRACE("grad_bucket_mb " + std::to_string(bucket_mb) + (overlap ? ", overlap" : ", after backward"));
    TrainSection half = recipe(8);
    half.grad_bucket_mb = bucket_mb, half.grad_overlap = overlap;
    std::vector<std::shared_ptr<PlainNet>> nets = {plain_net(3), plain_net(99)};  // rank 1 starts from rank 0's weights
    const auto [results, errors] = fit_ranks(nets, data, idx, half);
    for (const auto& e : errors) ASSERT_EQ(e, "");
    for (int r = 0; r < 2; ++r) {
      EXPECT_TRUE(close_weights(*nets[r], *reference, 1e-5)) << "rank " << r;
      ASSERT_EQ(results[r].epoch_train_loss.size(), 3u);
      for (size_t e = 0; e < 3; ++e)
        EXPECT_NEAR(results[r].epoch_train_loss[e], single.epoch_train_loss[e], 1e-5 * single.epoch_train_loss[e]) << "epoch " << e;
      // Evaluation: each rank scored half the test set; the reduced result is the whole one.
      EXPECT_NEAR(results[r].final_eval.top1, single.final_eval.top1, 1e-9);
      EXPECT_NEAR(results[r].final_eval.loss, single.final_eval.loss, 1e-5 * single.final_eval.loss);
      EXPECT_EQ(results[r].final_eval.samples, 24);
    }
  }
}

TEST(DataParallel, RanksSeeDisjointPartsThatCoverTheViewEachEpoch) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  const auto data = tiny(50);
  std::vector<int64_t> idx(40);
  std::iota(idx.begin(), idx.end(), 5);  // a view: samples 5..44
  TrainSection t = recipe(4);
  t.epochs = 2, t.checkpoint_every = 0;
  std::mutex mu;
  std::map<std::pair<int64_t, int64_t>, std::vector<int64_t>> seen;  // (epoch, rank) -> view positions
  const auto errors = run_ranks(3, [&](int64_t r, dist::Collective& c) {
    auto net = plain_net(3);
    const train::LossFn loss = [&, r](const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y,
                                      const train::BatchInfo& b) {
      std::lock_guard<std::mutex> lock(mu);
      auto& v = seen[{b.epoch, r}];
      const auto p = b.positions.contiguous();
      v.insert(v.end(), p.data_ptr<int64_t>(), p.data_ptr<int64_t>() + p.numel());
      return train::cross_entropy_loss(x, out, y, b);
    };
    train::fit({.model = *net, .data = data, .indices = idx, .train = t, .seed = 2, .loss = loss, .show_progress = false,
                .collective = &c});
  });
  for (const auto& e : errors) ASSERT_EQ(e, "");
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    std::multiset<int64_t> all;
    for (int64_t r = 0; r < 3; ++r) {
      const auto& v = seen[{epoch, r}];
      EXPECT_GE(v.size(), 12u) << "rank " << r;  // 40 = 3 steps of 12 + 4 (split 1/1/2: too small, sits out)
      all.insert(v.begin(), v.end());
    }
    EXPECT_EQ(all.size(), 36u) << "epoch " << epoch;  // the last 4 need 2 per rank: they sit out
    EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), all.size()) << "disjoint";
    for (auto p : all) EXPECT_TRUE(p >= 0 && p < 40);
  }
}

TEST(DataParallel, ATwoRankCheckpointResumesInOneRank) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  const auto data = tiny(70);
  std::vector<int64_t> idx(70);
  std::iota(idx.begin(), idx.end(), 0);
  const TrainSection one = recipe(16), half = recipe(8);
  kdprune::test::TempDir dir;
  auto reference = plain_net(3);
  train::fit({.model = *reference, .data = data, .indices = idx, .train = one, .seed = 11, .show_progress = false});
  const std::string ck = dir.file("checkpoint.pt");
  // The ranks' models are made here, not in their threads: plain_net seeds and draws from the one
  // global generator, which two threads at once would interleave (rank 0 then started from other
  // weights now and then).
  const std::vector<std::shared_ptr<PlainNet>> nets = {plain_net(3), plain_net(3)};
  const auto errors = run_ranks(2, [&](int64_t r, dist::Collective& c) {
    train::fit({.model = *nets[r], .data = data, .indices = idx, .train = half, .seed = 11, .checkpoint_path = ck,
                .show_progress = false, .stop_epoch = 2, .collective = &c});
  });
  for (const auto& e : errors) ASSERT_EQ(e, "");
  EXPECT_EQ(train::checkpoint_epochs_done(ck), 2);  // written once, by rank 0
  auto resumed = plain_net(42);
  const auto r = train::fit({.model = *resumed, .data = data, .indices = idx, .train = one, .seed = 11, .checkpoint_path = ck,
                             .resume = true, .show_progress = false});
  EXPECT_EQ(r.resumed_from, 2);
  EXPECT_TRUE(close_weights(*resumed, *reference, 1e-5));
}

TEST(DataParallel, ARankThatStopsMakesTheOthersFailNotHang) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  const auto data = tiny(64);
  std::vector<int64_t> idx(64);
  std::iota(idx.begin(), idx.end(), 0);
  TrainSection t = recipe(8);
  t.checkpoint_every = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto errors = run_ranks(
      2,
      [&](int64_t r, dist::Collective& c) {
        auto net = plain_net(3);
        const train::LossFn loss = [r](const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y,
                                       const train::BatchInfo& b) {
          if (r == 1 && b.epoch == 1 && b.step == 1) throw Error("rank 1 stopped on purpose");
          return train::cross_entropy_loss(x, out, y, b);
        };
        train::fit({.model = *net, .data = data, .indices = idx, .train = t, .loss = loss, .show_progress = false,
                    .collective = &c});
      },
      std::chrono::seconds(5));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(errors[1], "rank 1 stopped on purpose");
  EXPECT_NE(errors[0].find("rank 0 of 2: "), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("failed"), std::string::npos) << errors[0];
  EXPECT_LT(seconds, 30.0);
}

// SyncBatchNorm against torch's batch_norm on the concatenated batch: 3 ranks of unequal parts
// (2, 3, 5 samples; one with a large offset, where a naive pooled variance would cancel), output,
// the input's gradient, the reduced weight and bias gradients, and the running statistics.
TEST(DataParallel, SyncBatchNormNormalisesOverEveryRanksSamples) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  torch::manual_seed(5);
  const std::vector<int64_t> sizes{2, 3, 5};
  auto x = torch::randn({10, 3, 4, 4}, torch::kFloat64).to(torch::kFloat32);
  x.slice(0, 5).add_(100.0);  // rank 2's samples far from the others
  const auto r = torch::randn({10, 3, 4, 4});  // the loss: sum(y * r)
  const auto w = torch::rand({3}) + 0.5, b = torch::randn({3});
  // The reference: one process, torch's batch_norm on all 10 samples.
  auto xr = x.clone().requires_grad_(true), wr = w.clone().requires_grad_(true), br = b.clone().requires_grad_(true);
  auto rm_ref = torch::zeros({3}), rv_ref = torch::ones({3});
  const auto y_ref = torch::batch_norm(xr, wr, br, rm_ref, rv_ref, true, 0.1, 1e-5, false);
  (y_ref * r).sum().backward();
  std::vector<torch::Tensor> ys(3), gxs(3), gws(3), gbs(3), rms(3), rvs(3);
  const auto errors = run_ranks(3, [&](int64_t k, dist::Collective& c) {
    const int64_t at = std::accumulate(sizes.begin(), sizes.begin() + k, int64_t{0});
    auto xk = x.slice(0, at, at + sizes[k]).clone().requires_grad_(true);
    auto wk = w.clone().requires_grad_(true), bk = b.clone().requires_grad_(true);
    rms[k] = torch::zeros({3}), rvs[k] = torch::ones({3});
    ys[k] = models::sync_batch_norm(xk, wk, bk, rms[k], rvs[k], 1e-5, 0.1, c);
    (ys[k] * r.slice(0, at, at + sizes[k])).sum().backward();
    gxs[k] = xk.grad(), gws[k] = wk.grad(), gbs[k] = bk.grad();
  });
  for (const auto& e : errors) ASSERT_EQ(e, "");
  EXPECT_TRUE(torch::allclose(torch::cat(ys).detach(), y_ref.detach(), 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(torch::cat(gxs), xr.grad(), 1e-4, 1e-4));
  // Each rank's weight and bias gradient is its own share; their sum is the whole batch's.
  EXPECT_TRUE(torch::allclose(gws[0] + gws[1] + gws[2], wr.grad(), 1e-3, 1e-4));
  EXPECT_TRUE(torch::allclose(gbs[0] + gbs[1] + gbs[2], br.grad(), 1e-3, 1e-4));
  EXPECT_FALSE(torch::allclose(gbs[0], br.grad(), 1e-3, 1e-4));
  for (int k = 0; k < 3; ++k) {
    EXPECT_TRUE(torch::allclose(rms[k], rm_ref, 1e-4, 1e-4)) << "rank " << k;
    EXPECT_TRUE(torch::allclose(rvs[k], rv_ref, 1e-3, 1e-4)) << "rank " << k;  // unbiased, over all 160 values per channel
  }
}

// The check with batch statistics: 2 ranks × batch 8 with train.sync_batchnorm train a
// BatchNorm model as one process × batch 16 (weights and running statistics); per-rank BatchNorm
// (the default) does not.
TEST(DataParallel, SyncBatchNormTrainsTwoRanksAsOneProcess) {
  if (!dist::Collective::available()) GTEST_SKIP() << "built without c10d Gloo";
  const auto data = tiny(64);
  std::vector<int64_t> idx(64);
  std::iota(idx.begin(), idx.end(), 0);
  const TrainSection one = recipe(16);
  auto reference = norm_net(3);
  const auto single = train::fit({.model = *reference, .data = data, .indices = idx, .train = one, .seed = 11, .show_progress = false});
  for (const bool sync : {true, false}) {
    TrainSection half = recipe(8);
    half.sync_batchnorm = sync;
    std::vector<std::shared_ptr<NormNet>> nets = {norm_net(3), norm_net(3)};
    const auto [results, errors] = fit_ranks(nets, data, idx, half);
    for (const auto& e : errors) ASSERT_EQ(e, "");
    for (int r = 0; r < 2; ++r) {
      EXPECT_EQ(close_weights(*nets[r], *reference, 1e-4), sync) << "rank " << r << ", sync " << sync;
      EXPECT_EQ(close_buffers(*nets[r], *reference, 1e-4), sync) << "rank " << r << ", sync " << sync;
      if (sync) {
        EXPECT_NEAR(results[r].epoch_train_loss.back(), single.epoch_train_loss.back(), 1e-4 * single.epoch_train_loss.back());
        EXPECT_NEAR(results[r].final_eval.top1, single.final_eval.top1, 1e-9);
      }
      EXPECT_EQ(nets[r]->bn->sync, nullptr);  // released after training
    }
  }
}
