#pragma once
// The one training step of one model: autocast forward, loss, gradients cleared, backward, update,
// the epoch's totals. Every path runs it — the host-made batch (torch::optim::SGD, fp16 loss
// scaling, data-parallel reduction), the device-indexed batch run eagerly, and that step captured
// as a CUDA graph, alone or with a group's other models on streams of their own. What differs
// between paths is plugged in: the batch (StepBatch) and how gradients become the update
// (UpdateRule). Capture is only how a step runs: the routine's host code runs once at capture, so
// everything that changes per step reaches it as a device tensor (StepBatch::step_index, ::seed).
#include <torch/torch.h>

#include "kdprune/train/precision.h"
#include "kdprune/train/trainer.h"

namespace kdprune::train {

// One epoch's training totals, kept on the device and read once at its end.
struct EpochTotals {
  torch::Tensor loss_sum;   // float64: Σ batch loss × batch size
  torch::Tensor correct;    // int64
  torch::Tensor first_bad;  // int64: the first step with a non-finite loss, -1 if none
  explicit EpochTotals(const torch::Device& device);
  void reset();  // in place
  void add(const torch::Tensor& loss, const torch::Tensor& logits, const torch::Tensor& labels,
           const torch::Tensor& step, int64_t batch);
};

// The outputs of a step, for observers (detached; valid until the model's next step).
struct StepOutputs {
  torch::Tensor indices, logits, labels;
};

// One step's batch, shared by the models of a cohort.
struct StepBatch {
  torch::Tensor indices, positions, x, labels;
  torch::Tensor step_index;  // int64 scalar on the device: the epoch's step (a graph's replays advance it)
  torch::Tensor seed;        // int64 scalar on the device: the step's loss seed (BatchInfo::seed)
  int64_t epoch = 0, step = 0;  // host values: exact when eager, the capture's when captured
  uint64_t rng_seed = 0;        // host value of `seed`, likewise
  int64_t samples = 0;          // this process's samples in the step (the totals' weight)
  int64_t step_samples = 0;     // the step's samples over all ranks (data-parallel); = samples alone
};

// How a model's gradients become its update (the optimizer and gradient hooks of one path).
class UpdateRule {
 public:
  virtual ~UpdateRule() = default;
  virtual void begin_epoch(int64_t epoch) = 0;  // the epoch's learning rates
  // Before the forward (data-parallel: BatchNorm buffers follow rank 0).
  virtual void before_forward(const StepBatch&) {}
  // loss.backward(), with what the path wraps around it (loss scaling, gradient reduction).
  virtual void backward(const torch::Tensor& loss, const StepBatch& b) {
    (void)b;
    loss.backward();
  }
  virtual void apply(const StepBatch& b) = 0;  // the update at the step's learning rate
};

// The model's part of the routine, fixed for a run.
struct StepModel {
  models::ModelImpl& model;
  const LossFn& loss;
  const std::vector<torch::Tensor>& params;  // what the update trains (their gradients are cleared)
  Autocast amp;
  bool frozen = false;  // the model runs without gradients (an init stage training a loss's modules)
  int64_t view_size = 0;
};

StepOutputs train_step(const StepModel& m, const StepBatch& b, UpdateRule& update, EpochTotals& totals);

}  // namespace kdprune::train
