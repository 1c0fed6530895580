// Checkpoints, resume exactness, non-finite losses, loss scaling.
#include <gtest/gtest.h>

#include <numeric>

#include "kdprune/train/checkpoint.h"
#include "kdprune/train/precision.h"
#include "kdprune/train/trainer.h"
#include "kdprune/util/error.h"
#include "test_files.h"
#include "tiny_data.h"

using namespace kdprune;

namespace {
data::TensorDataset tiny_data() { return test::tiny_synthetic(80, 20, 3); }
TrainSection recipe() {
  TrainSection t;
  t.epochs = 4;
  t.batch_size = 16;
  t.lr = 0.1;
  t.schedule = "multistep";
  t.milestones = {2, 3};
  t.nesterov = true;
  t.checkpoint_every = 1;
  return t;
}
std::vector<torch::Tensor> state_of(models::ModelImpl& m) {
  std::vector<torch::Tensor> v;
  for (auto& p : m.named_parameters()) v.push_back(p.value().clone());
  for (auto& b : m.named_buffers()) v.push_back(b.value().clone());
  return v;
}
bool identical(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}
// Throws at a chosen step, as a kill would stop the loop mid-epoch.
struct KillAt : train::TrainObserver {
  int64_t epoch, step;
  void on_step(const train::StepRecord& r) override {
    if (r.epoch == epoch && r.step == step) throw std::runtime_error("killed");
  }
};
}  // namespace

TEST(Resume, InterruptedRunEndsWithTheUninterruptedWeights) {
  auto data = tiny_data();
  std::vector<int64_t> idx(80);
  std::iota(idx.begin(), idx.end(), 0);
  const TrainSection t = recipe();
  kdprune::test::TempDir d;

  torch::manual_seed(11);
  auto ref = models::create_model("resnet8", {1, 4, 8});
  const auto ref_result = train::fit({.model = *ref, .data = data, .indices = idx, .train = t, .seed = 5,
                                      .checkpoint_path = d.file("ref.pt"), .show_progress = false});

  torch::manual_seed(11);
  auto a = models::create_model("resnet8", {1, 4, 8});
  KillAt kill;
  kill.epoch = 2;  // mid third epoch: two checkpoints written
  kill.step = 2;
  EXPECT_THROW(train::fit({.model = *a, .data = data, .indices = idx, .train = t, .seed = 5,
                           .checkpoint_path = d.file("ck.pt"), .observers = {&kill}, .show_progress = false}),
               std::runtime_error);
  EXPECT_EQ(train::checkpoint_epochs_done(d.file("ck.pt")), 2);

  torch::manual_seed(999);  // a different init: everything must come from the checkpoint
  auto b = models::create_model("resnet8", {1, 4, 8});
  const auto r = train::fit({.model = *b, .data = data, .indices = idx, .train = t, .seed = 5,
                             .checkpoint_path = d.file("ck.pt"), .resume = true, .show_progress = false});
  EXPECT_EQ(r.resumed_from, 2);
  EXPECT_TRUE(identical(state_of(*ref), state_of(*b))) << "resumed weights and BN statistics, bit for bit";
  EXPECT_DOUBLE_EQ(r.final_eval.top1, ref_result.final_eval.top1);
  EXPECT_DOUBLE_EQ(r.best_top1, ref_result.best_top1);
}

TEST(Resume, NonFiniteLossStopsNamingEpochAndStepKeepingCheckpoint) {
  auto data = tiny_data();
  std::vector<int64_t> idx(80);
  std::iota(idx.begin(), idx.end(), 0);
  kdprune::test::TempDir d;
  int64_t calls = 0;
  auto poisoned = [&](const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y,
                      const train::BatchInfo& b) {
    auto loss = train::cross_entropy_loss(x, out, y, b);
    return ++calls == 5 + 3 ? loss * std::nan("") : loss;  // epoch 2 (5 steps/epoch), step 3
  };
  torch::manual_seed(0);
  auto m = models::create_model("resnet8", {1, 4, 8});
  try {
    train::fit({.model = *m, .data = data, .indices = idx, .train = recipe(), .checkpoint_path = d.file("ck.pt"),
                .loss = poisoned, .show_progress = false});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("epoch 2, step 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ck.pt"), std::string::npos) << e.what();
  }
  EXPECT_EQ(train::checkpoint_epochs_done(d.file("ck.pt")), 1) << "the last good checkpoint stays";
}

TEST(GradScaler, SkipsOverflowAndUnscalesLikeTheClosedForm) {
  auto p = torch::ones({3}, torch::requires_grad());
  torch::optim::SGD opt({p}, torch::optim::SGDOptions(0.5));
  train::GradScaler scaler(true, torch::Device(torch::kCPU), 1024.0, 2);
  // overflow: inf gradient -> no step, scale halves
  p.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 1.0f});
  EXPECT_FALSE(scaler.step(opt));
  EXPECT_TRUE(torch::equal(p, torch::ones({3})));
  EXPECT_DOUBLE_EQ(scaler.current_scale(), 512.0);
  // scaled loss sum(2p) -> grad 2·512, unscaled 2; SGD step p - 0.5·2 = 0
  opt.zero_grad();
  scaler.scale((2 * p).sum()).backward();
  EXPECT_TRUE(scaler.step(opt));
  EXPECT_TRUE(torch::allclose(p, torch::zeros({3})));
  opt.zero_grad();
  scaler.scale(p.sum()).backward();
  EXPECT_TRUE(scaler.step(opt));
  EXPECT_DOUBLE_EQ(scaler.current_scale(), 1024.0) << "grows after growth_interval=2 clean steps";
  train::GradScaler other(true, torch::Device(torch::kCPU));
  other.load_state(scaler.state());
  EXPECT_DOUBLE_EQ(other.current_scale(), 1024.0);
}

TEST(Precision, Bf16AndChannelsLastTrainOnCpu) {
  auto data = tiny_data();
  std::vector<int64_t> idx(80);
  std::iota(idx.begin(), idx.end(), 0);
  TrainSection t = recipe();
  t.amp = "bf16";
  t.channels_last = "true";
  t.checkpoint_every = 0;
  torch::manual_seed(0);
  auto m = models::create_model("resnet8", {1, 4, 8});
  const auto r = train::fit({.model = *m, .data = data, .indices = idx, .train = t, .show_progress = false});
  EXPECT_TRUE(std::isfinite(r.final_eval.loss));
  EXPECT_GT(r.final_eval.top1, 40.0);
  t.amp = "fp16";
  t.channels_last = "false";
  auto m2 = models::create_model("resnet8", {1, 4, 8});
  const auto r2 = train::fit({.model = *m2, .data = data, .indices = idx, .train = t, .show_progress = false});
  EXPECT_TRUE(std::isfinite(r2.final_eval.loss));
}
