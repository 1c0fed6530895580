// The capture contract (trainer.h BatchInfo, kd_loss.h DistillTerm::capturable): a loss that may
// be captured reads the step and its seed from BatchInfo's device tensors, which advance at every
// step — replays of a CUDA graph included — while the host fields stay at the capture's values.
// On the CPU the device path runs eagerly through the same routine; on CUDA the step is captured.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <numeric>

#include "kdprune/data/dataset_registry.h"
#include "kdprune/losses/kd_loss.h"
#include "kdprune/train/epoch_plan.h"
#include "kdprune/train/trainer.h"

using namespace kdprune;

namespace {

// A capturable loss: cross-entropy, and, by device ops only, each step's index and seed written to
// slot (epoch's step) of `seen_step` / `seen_seed`, and a count of calls at that slot.
struct Recorder {
  torch::Tensor seen_step, seen_seed, calls;
  std::vector<int64_t> host_steps;  // BatchInfo::step as the host code saw it (once per capture)
  explicit Recorder(int64_t steps, const torch::Device& device) {
    const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(device);
    seen_step = torch::full({steps}, -1, i64);
    seen_seed = torch::zeros({steps}, i64);
    calls = torch::zeros({steps}, i64);
  }
  train::LossFn loss() {
    return [this](const torch::Tensor& x, const models::ModelOutput& out, const torch::Tensor& y, const train::BatchInfo& b) {
      host_steps.push_back(b.step);
      const auto slot = b.step_index.view({1});
      seen_step.index_copy_(0, slot, b.step_index.view({1}));
      seen_seed.index_copy_(0, slot, b.seed.view({1}));
      calls.index_add_(0, slot, torch::ones({1}, calls.options()));
      return train::cross_entropy_loss(x, out, y, b);
    };
  }
};

data::TensorDataset synthetic(int64_t train, int64_t size, const torch::Device& device) {
  DataSection d;
  d.name = "synthetic";
  d.synthetic = {train, 16, 3, size, size, 4, 0.5};
  return data::to_tensors(data::load_dataset(d, 1), device);
}

// Trains `epochs` epochs of `steps` full steps with the recorder, on `device` with `graph`.
void check_contract(const torch::Device& device, bool graph) {
  constexpr int64_t kBatch = 16, kSteps = 6, kEpochs = 2, kSeed = 23;
  const auto data = synthetic(kBatch * kSteps, 32, device);
  std::vector<int64_t> idx(static_cast<size_t>(kBatch * kSteps));
  std::iota(idx.begin(), idx.end(), 0);
  TrainSection t;
  t.epochs = kEpochs, t.batch_size = kBatch, t.lr = 0.01, t.schedule = "constant", t.checkpoint_every = 0;
  t.amp = "off", t.channels_last = "false", t.cuda_graph = graph ? "on" : "off";
  Recorder rec(kSteps, device);
  torch::manual_seed(1);
  auto m = models::create_model("resnet8", {3, 4, 32});
  const auto r = train::fit({.model = *m, .data = data, .indices = idx, .train = t, .seed = kSeed, .loss = rec.loss(),
                             .show_progress = false, .loss_capturable = true, .device_step = true});
  ASSERT_EQ(r.epochs, kEpochs);
  // Every step of both epochs reached the term, each with its own index and seed (the last
  // epoch's are left in the slots): replays advance the tensors.
  const auto calls = rec.calls.cpu(), steps = rec.seen_step.cpu(), seeds = rec.seen_seed.cpu();
  for (int64_t s = 0; s < kSteps; ++s) {
    EXPECT_EQ(calls[s].item<int64_t>(), kEpochs) << "step " << s;
    EXPECT_EQ(steps[s].item<int64_t>(), s);
    const auto want = static_cast<int64_t>(train::stream_seed(kSeed, (kEpochs - 1) * kSteps + s, train::kLossStream));
    EXPECT_EQ(seeds[s].item<int64_t>(), want) << "step " << s;
  }
  if (graph) {
    // The host code ran only for the eager warm-up steps and the capture, never per replay: what a
    // term reads from the host fields would be frozen there.
    EXPECT_LT(rec.host_steps.size(), static_cast<size_t>(kEpochs * kSteps));
  } else {
    ASSERT_EQ(rec.host_steps.size(), static_cast<size_t>(kEpochs * kSteps));
    for (size_t i = 0; i < rec.host_steps.size(); ++i) EXPECT_EQ(rec.host_steps[i], static_cast<int64_t>(i) % kSteps);
  }
}

}  // namespace

TEST(CaptureContract, TheDevicePathGivesEveryStepItsIndexAndSeedAsTensors) { check_contract(torch::kCPU, false); }

TEST(CaptureContract, EveryReplayOfACapturedStepSeesItsOwnStepAndSeed) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  check_contract(torch::Device(torch::kCUDA, 0), true);
}

// Capture is opt-in: a term that does not say it is capturable is not captured.
TEST(CaptureContract, ATermIsNotCapturableUnlessItSaysSo) {
  struct Plain : losses::DistillTerm {
    torch::Tensor operator()(const models::ModelOutput& s, const models::ModelOutput&, const torch::Tensor&) override {
      return s.logits.sum();
    }
  };
  EXPECT_FALSE(Plain{}.capturable());
  KdSection kd;
  EXPECT_TRUE(losses::create_kd_loss("kd", losses::TermContext{kd, {}, {}, "kd"}, "kd.loss")->capturable());  // opted in
}
