#pragma once
// The training step as a CUDA graph can capture it: the batch is found through a device-side step
// index into the epoch plan, the learning rate is read from the plan's device table, the update is
// DeviceSGD, and the epoch's totals are accumulated on the device; no host sync anywhere. On CUDA
// the full-size step is captured once (after eager warm-up steps) and replayed; the short last
// batch runs eagerly through the same code. Off CUDA (tests) every step runs eagerly.
#include <memory>

#include "kdprune/train/device_sgd.h"
#include "kdprune/train/epoch_plan.h"
#include "kdprune/train/trainer.h"

namespace kdprune::train {

class StepGraph;

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

// The outputs of the last step, for observers (detached; valid until the next step).
struct StepOutputs {
  torch::Tensor indices, logits, labels;
};

class DeviceStep {
 public:
  // `opt` holds the parameters and the momentum state; `graph`: capture and replay (CUDA only).
  DeviceStep(const TrainInputs& in, torch::optim::SGD& opt, const EpochShape& shape, const AugmentSpec& aug,
             const data::Normalizer& normalise, bool graph);
  ~DeviceStep();

  void begin_epoch(const EpochPlan& plan, int64_t epoch);  // copies the plan into the step's buffers
  void run(int64_t step);                                  // the epoch's step-th batch
  const StepOutputs& outputs() const { return *current_; }
  EpochTotals& totals() { return totals_; }

 private:
  StepOutputs compute(int64_t len, int64_t step);

  const TrainInputs& in_;
  torch::optim::SGD& opt_;
  DeviceSGD sgd_;
  EpochShape shape_;
  AugmentSpec aug_;
  const data::Normalizer& normalise_;
  EpochPlan plan_;
  EpochTotals totals_;
  torch::Tensor step_index_;  // int64 scalar on the device: the step the next run() trains
  torch::Tensor lanes_;       // 0..batch-1
  int64_t epoch_ = 0;
  std::unique_ptr<StepGraph> graph_;
  int64_t warmed_up_ = 0;
  StepOutputs eager_out_, graph_out_;
  const StepOutputs* current_ = &eager_out_;
};

}  // namespace kdprune::train
