// The step that CUDA graphs capture (device-side batch index, device learning rate, DeviceSGD),
// run eagerly on the CPU, against the standard step and torch::optim::SGD.
#include <gtest/gtest.h>

#include <numeric>

#include "kdprune/losses/distill_objective.h"
#include "kdprune/train/device_sgd.h"
#include "kdprune/train/epoch_plan.h"
#include "kdprune/train/lr_schedule.h"
#include "kdprune/train/trainer.h"
#include "kdprune/util/error.h"
#include "tiny_data.h"

using namespace kdprune;

namespace {
data::TensorDataset tiny(int64_t train) { return test::tiny_synthetic(train, 16); }

// Parameters that are all the same random values in two optimizers.
std::vector<torch::Tensor> params(int64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({4, 3, 3, 3}).contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(),
          torch::randn({7}).requires_grad_(), torch::randn({5, 2}).requires_grad_()};
}
}  // namespace

// The reference is LibTorch's own SGD (torch/csrc/api/src/optim/sgd.cpp, SGD::step: d = g + wd·p;
// buf = clone(d) at the first step, else m·buf + d; Nesterov d + m·buf; p -= lr·d), run here.
TEST(DeviceSGD, MatchesTorchSGDOverStepsWithChangingLr) {
  for (const bool nesterov : {false, true})
    for (const double wd : {0.0, 5e-4}) {
      auto a = params(1), b = params(1);
      torch::optim::SGD ref(a, torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(nesterov).weight_decay(wd));
      torch::optim::SGD holder(b, torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(nesterov).weight_decay(wd));
      train::DeviceSGD sgd(holder);
      for (int step = 0; step < 6; ++step) {
        const double lr = 0.1 / (1 + step);  // a schedule that changes every step
        torch::manual_seed(100 + step);
        std::vector<torch::Tensor> g;
        for (auto& p : a) g.push_back(torch::randn_like(p));
        for (size_t i = 0; i < a.size(); ++i) a[i].mutable_grad() = g[i].clone(), b[i].mutable_grad() = g[i].clone();
        static_cast<torch::optim::SGDOptions&>(ref.param_groups()[0].options()).lr(lr);
        ref.step();
        sgd.step(torch::full({1}, lr, torch::kFloat32));
      }
      for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-6, 1e-7)) << "param " << i << " nesterov " << nesterov << " wd " << wd;
        // The momentum buffers sit where torch's SGD keeps them (so checkpoints are identical).
        auto& sa = static_cast<torch::optim::SGDParamState&>(*ref.state().at(a[i].unsafeGetTensorImpl()));
        auto& sb = static_cast<torch::optim::SGDParamState&>(*holder.state().at(b[i].unsafeGetTensorImpl()));
        EXPECT_TRUE(torch::allclose(sa.momentum_buffer(), sb.momentum_buffer(), 1e-6, 1e-7));
      }
    }
}

TEST(DeviceSGD, SkipsParametersWithoutGradient) {
  auto p = params(2);
  const auto before = p[1].detach().clone();
  torch::optim::SGD holder(p, torch::optim::SGDOptions(0.1).momentum(0.9));
  train::DeviceSGD sgd(holder);
  p[0].mutable_grad() = torch::ones_like(p[0]);
  p[2].mutable_grad() = torch::ones_like(p[2]);
  sgd.step(torch::full({}, 0.5, torch::kFloat32));
  EXPECT_TRUE(torch::equal(p[1], before));
  EXPECT_TRUE(torch::allclose(p[2], params(2)[2] - 0.5, 1e-6, 1e-6)) << "first step: buf = g, p -= lr·g";
}

TEST(EpochPlan, SameDrawsAsPerBatch) {
  const auto view = torch::arange(100, 150, torch::kInt64);
  const train::EpochShape shape(50, 16);  // 16, 16, 16, 2
  EXPECT_EQ(shape.steps, 4);
  EXPECT_EQ(shape.full_steps, 3);
  const train::AugmentSpec spec{2, true};
  const auto plan = train::make_epoch_plan(view, shape, spec, 5, 0);
  EXPECT_TRUE(torch::equal(plan.positions, train::epoch_permutation(50, 5, 0)));
  EXPECT_TRUE(torch::equal(plan.order, view.index_select(0, plan.positions)));
  // The per-batch draws from the augmentation stream, batch after batch.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(train::stream_seed(5, 0, train::kAugmentStream));
  for (int64_t s = 0; s < 4; ++s) {
    const int64_t b = std::min<int64_t>(16, 50 - s * 16);
    const auto d = train::draw_augment(spec, b, gen);
    EXPECT_TRUE(torch::equal(d.oy, plan.augment.oy.slice(0, s * 16, s * 16 + b)));
    EXPECT_TRUE(torch::equal(d.ox, plan.augment.ox.slice(0, s * 16, s * 16 + b)));
    EXPECT_TRUE(torch::equal(d.flip, plan.augment.flip.slice(0, s * 16, s * 16 + b)));
  }
  // A lone last sample sits out (BatchNorm cannot train on one).
  const train::EpochShape odd(33, 16);
  EXPECT_EQ(odd.usable, 32);
  EXPECT_EQ(odd.steps, 2);
}

// The device-indexed step gives the standard step's training: the same per-epoch train losses and
// weights to float rounding (short last batch and per-step warm-up lr).
TEST(DeviceStep, MatchesTheStandardStepOnCpu) {
  const auto data = tiny(70);  // batches of 16: 4 full + 6
  std::vector<int64_t> idx(70);
  std::iota(idx.begin(), idx.end(), 0);
  TrainSection t;
  t.epochs = 3, t.batch_size = 16, t.lr = 0.05, t.warmup_epochs = 1, t.schedule = "cosine";
  t.checkpoint_every = 0;
  t.amp = "off", t.channels_last = "false";  // fp32: the paths are compared to float rounding
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet8", {1, 4, 8});
  KdSection k;
  for (const double alpha : {0.0, 0.7}) {
    const auto objective = losses::distill_objective(teacher, nullptr, k, alpha, "off", {1, 8, 8});
    ASSERT_TRUE(objective.capturable);
    std::vector<std::vector<double>> losses;
    std::vector<models::Model> trained;
    for (const bool device_step : {false, true}) {
      torch::manual_seed(3);
      auto m = models::create_model("resnet8", {1, 4, 8});
      const auto r = train::fit({.model = *m, .data = data, .indices = idx, .train = t, .seed = 11, .loss = objective.loss,
                                 .show_progress = false, .loss_capturable = true, .device_step = device_step});
      losses.push_back(r.epoch_train_loss);
      trained.push_back(m);
    }
    ASSERT_EQ(losses[0].size(), 3u);
    // The two updates round differently (p − lr·d against p + (−lr)·d) and 15 steps amplify that:
    // on a 16-thread CPU the losses agreed to 5e-6 relative; a wrong batch, order or learning
    // rate moves them by percents.
    // Weights are compared as tensors, by the difference of the two paths relative to what training
    // moved them, ‖a − b‖ / ‖a − a₀‖ (a wrong or skipped update is of the order of 1): element-wise
    // allclose failed on the GPU machine's 16-thread CPU for weights near zero that rounding moved.
    for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(losses[1][e], losses[0][e], 1e-4 * std::abs(losses[0][e])) << "epoch " << e;
    const auto distance = [](const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& start) {
      const auto a = x.to(torch::kFloat64), b = y.to(torch::kFloat64), a0 = start.to(torch::kFloat64);
      return (a - b).norm().item<double>() / std::max((a - a0).norm().item<double>(), 1e-12);
    };
    torch::manual_seed(3);
    const auto initial = models::create_model("resnet8", {1, 4, 8});
    auto a = trained[0]->parameters(), b = trained[1]->parameters(), a0 = initial->parameters();
    for (size_t i = 0; i < a.size(); ++i) EXPECT_LT(distance(a[i], b[i], a0[i]), 1e-2) << "alpha " << alpha << " param " << i;
    auto ba = trained[0]->buffers(), bb = trained[1]->buffers(), b0 = initial->buffers();
    for (size_t i = 0; i < ba.size(); ++i)
      EXPECT_LT(distance(ba[i], bb[i], b0[i]), 1e-2) << "alpha " << alpha << " buffer " << i;
  }
}

TEST(DeviceStep, CudaGraphOnACpuIsRefusedWithTheReason) {
  const auto data = tiny(32);
  std::vector<int64_t> idx(32);
  std::iota(idx.begin(), idx.end(), 0);
  TrainSection t;
  t.epochs = 1, t.batch_size = 16, t.cuda_graph = "on";
  auto m = models::create_model("resnet8", {1, 4, 8});
  try {
    train::fit({.model = *m, .data = data, .indices = idx, .train = t, .show_progress = false, .loss_capturable = true});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.cuda_graph=on"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not CUDA"), std::string::npos) << e.what();
  }
  t.cuda_graph = "auto";  // auto trains eagerly
  EXPECT_NO_THROW(train::fit({.model = *m, .data = data, .indices = idx, .train = t, .show_progress = false}));
}

// On a GPU: the captured step trains as the eager device step does (to cuDNN's run-to-run
// rounding), observers see every replay's outputs, and a KD run keeps its teacher untouched.
namespace {
struct LogitSums : train::TrainObserver {
  std::vector<torch::Tensor> sums;  // per step, on the device (no sync)
  void on_step(const train::StepRecord& r) override { sums.push_back(r.logits.to(torch::kFloat64).sum() + r.indices.sum()); }
};
}  // namespace

TEST(CudaGraph, CapturedStepMatchesEagerOnTheGpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {200, 64, 3, 32, 32, 10, 0.5};  // 200 = 3 × 64 + 8: the short batch runs eagerly
  const auto data = data::to_tensors(data::load_dataset(d, 1), torch::Device(torch::kCUDA));
  std::vector<int64_t> idx(200);
  std::iota(idx.begin(), idx.end(), 0);
  TrainSection t;
  t.epochs = 3, t.batch_size = 64, t.lr = 0.05, t.warmup_epochs = 1, t.schedule = "cosine", t.checkpoint_every = 0;
  t.amp = "off", t.channels_last = "false";  // fp32: the paths are compared to float rounding
  torch::manual_seed(7);
  auto teacher = models::create_model("resnet8", {3, 10, 32});
  teacher->to(torch::kCUDA);
  const auto teacher_before = teacher->parameters().front().detach().clone();
  KdSection k;
  const auto objective = losses::distill_objective(teacher, nullptr, k, 0.7, "off", {3, 32, 32});
  std::vector<std::vector<double>> losses, sums;
  for (const std::string mode : {"off", "on"}) {
    torch::manual_seed(3);
    auto m = models::create_model("resnet8", {3, 10, 32});
    t.cuda_graph = mode;
    LogitSums obs;
    const auto r = train::fit({.model = *m, .data = data, .indices = idx, .train = t, .seed = 11, .loss = objective.loss, .observers = {&obs}, .show_progress = false,
                               .loss_capturable = true, .device_step = true});
    losses.push_back(r.epoch_train_loss);
    std::vector<double> s;
    for (const auto& x : obs.sums) s.push_back(x.item<double>());
    sums.push_back(s);
    EXPECT_GT(r.final_eval.samples, 0);
  }
  ASSERT_EQ(losses[1].size(), 3u);
  for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(losses[1][e], losses[0][e], 2e-3 * std::abs(losses[0][e])) << "epoch " << e;
  ASSERT_EQ(sums[0].size(), sums[1].size());
  ASSERT_EQ(sums[0].size(), 12u);  // 4 steps × 3 epochs, replays included
  for (size_t i = 0; i < sums[0].size(); ++i) EXPECT_NEAR(sums[1][i], sums[0][i], 1e-2 * (1 + std::abs(sums[0][i]))) << "step " << i;
  EXPECT_TRUE(torch::equal(teacher->parameters().front(), teacher_before));
}

TEST(CudaGraph, AutoCapturesOnTheGpuAndRefusesFp16) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {128, 16, 3, 32, 32, 10, 0.5};
  const auto data = data::to_tensors(data::load_dataset(d, 1), torch::Device(torch::kCUDA));
  std::vector<int64_t> idx(128);
  std::iota(idx.begin(), idx.end(), 0);
  TrainSection t;
  t.epochs = 2, t.batch_size = 32, t.checkpoint_every = 0, t.amp = "bf16", t.channels_last = "true";
  auto m = models::create_model("resnet8", {3, 10, 32});
  const auto r = train::fit({.model = *m, .data = data, .indices = idx, .train = t, .show_progress = false, .loss_capturable = true});
  EXPECT_TRUE(std::isfinite(r.final_eval.loss));
  t.amp = "fp16", t.cuda_graph = "on";
  EXPECT_THROW(train::fit({.model = *m, .data = data, .indices = idx, .train = t, .show_progress = false, .loss_capturable = true}), Error);
}
