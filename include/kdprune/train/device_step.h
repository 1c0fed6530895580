#pragma once
// The training step as a CUDA graph can capture it: the batch is found through a device-side step
// index into the epoch plan, each model's learning rate is read from its device table, the update
// is DeviceSGD, and the epoch's totals are accumulated on the device; no host sync anywhere. On
// CUDA the full-size step is captured once (after eager warm-up steps) and replayed; the short last
// batch runs eagerly through the same code. Off CUDA (tests) every step runs eagerly.
//
// One step trains one model or a group (train::fit_group): the batch is made once, then every
// model's forward, loss, backward and update run on a CUDA stream of its own, forked from the
// batch and joined before the next step, so the models' small kernels overlap on the GPU.
#include <memory>

#include "kdprune/train/device_sgd.h"
#include "kdprune/train/epoch_plan.h"
#include "kdprune/train/trainer.h"

namespace kdprune::train {

class StepGraph;
class ForkJoin;

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

// One step's batch, made on the device from the plan and the step index; shared by a group.
struct DeviceBatch {
  torch::Tensor indices, positions, x, labels;
  const torch::Tensor& step_index;  // int64 scalar: the epoch's step this batch is
  int64_t epoch = 0, step = 0;      // host values at the time the step was recorded
  int64_t len = 0;
};

// One model's part of the step: forward, loss, backward and the update at its own learning rate.
class DeviceUpdate {
 public:
  // `opt` holds the parameters and the momentum state.
  DeviceUpdate(const TrainInputs& in, torch::optim::SGD& opt, const EpochShape& shape);
  void begin_epoch(int64_t epoch);  // the epoch's learning rates and zero totals, in place
  StepOutputs run(const DeviceBatch& b);
  EpochTotals& totals() { return totals_; }

 private:
  const TrainInputs& in_;
  torch::optim::SGD& opt_;
  DeviceSGD sgd_;
  EpochShape shape_;
  torch::Tensor lr_;  // float32 [steps] on the device: this model's learning rate per step
  EpochTotals totals_;
};

class DeviceStep {
 public:
  // `lead` gives the data and the layout (the group shares them); `graph`: capture and replay (CUDA only).
  DeviceStep(const TrainInputs& lead, std::vector<DeviceUpdate*> updates, const EpochShape& shape,
             const AugmentSpec& aug, const data::Normalizer& normalise, bool graph);
  ~DeviceStep();

  void begin_epoch(const EpochPlan& plan, int64_t epoch);  // copies the plan into the step's buffers
  void run(int64_t step);                                  // the epoch's step-th batch, every model
  const StepOutputs& outputs(size_t model) const { return (*current_)[model]; }

 private:
  void compute(int64_t len, int64_t step, std::vector<StepOutputs>& out);

  const TrainInputs& lead_;
  std::vector<DeviceUpdate*> updates_;
  EpochShape shape_;
  AugmentSpec aug_;
  const data::Normalizer& normalise_;
  EpochPlan plan_;
  torch::Tensor step_index_;  // int64 scalar on the device: the step the next run() trains
  torch::Tensor lanes_;       // 0..batch-1
  int64_t epoch_ = 0;
  std::unique_ptr<ForkJoin> fork_;
  std::unique_ptr<StepGraph> graph_;
  int64_t warmed_up_ = 0;
  std::vector<StepOutputs> eager_out_, graph_out_;
  const std::vector<StepOutputs>* current_ = &eager_out_;
};

}  // namespace kdprune::train
