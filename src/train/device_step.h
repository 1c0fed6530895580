#pragma once
// The device-indexed batch and how a cohort's step runs on it: the batch is found through a
// device-side step index into the epoch plan, so no host value changes between steps and the
// whole step (batch, then the preludes (a teacher's forward) and every model's train_step, each on
// a CUDA stream of its own, forked from the batch and joined before the next step) can be captured
// once as a CUDA graph and replayed. On
// CUDA the full-size step is captured after eager warm-up steps; the short last batch runs
// eagerly through the same code. Off CUDA (tests) every step runs eagerly.
#include <functional>
#include <memory>

#include "kdprune/train/epoch_plan.h"
#include "kdprune/train/trainer.h"
#include "step_routine.h"

namespace kdprune::train {

class StepGraph;
class ForkJoin;

// One model's part of a cohort step: its train_step on the shared batch.
using ModelStep = std::function<StepOutputs(const StepBatch&)>;

class DeviceStep {
 public:
  // What the cohort shares: the dataset's training images and labels, the layout and the seed of
  // the loss's per-step randomness. `graph`: capture and replay (CUDA only).
  struct Shared {
    torch::Tensor images, labels;
    bool channels_last = false;
    int64_t seed = 0;
  };
  // `preludes`: run on each batch before the models' steps (a teacher's forward), each on a
  // high-priority stream of its own on a GPU.
  DeviceStep(Shared shared, std::vector<std::shared_ptr<BatchPrelude>> preludes, std::vector<ModelStep> models,
             const EpochShape& shape, const AugmentSpec& aug, data::Normalizer normalise, bool graph);
  ~DeviceStep();

  // Copies the plan into the step's buffers; the next run() trains `step` (a step made again
  // mid-epoch, after a model failed, starts where the epoch is).
  void begin_epoch(const EpochPlan& plan, int64_t epoch, int64_t step = 0);
  void run(int64_t step);                                  // the epoch's step-th batch, every model
  const StepOutputs& outputs(size_t model) const { return (*current_)[model]; }

 private:
  void compute(int64_t len, int64_t step, std::vector<StepOutputs>& out);

  Shared shared_;
  std::vector<std::shared_ptr<BatchPrelude>> preludes_;
  std::vector<ModelStep> models_;
  EpochShape shape_;
  AugmentSpec aug_;
  data::Normalizer normalise_;
  EpochPlan plan_;
  torch::Tensor step_index_;  // int64 scalar on the device: the step the next run() trains
  torch::Tensor seeds_;       // int64 [steps] on the device: each step's loss seed this epoch
  torch::Tensor lanes_;       // 0..batch-1
  int64_t epoch_ = 0;
  std::unique_ptr<ForkJoin> fork_;
  std::unique_ptr<StepGraph> graph_;
  int64_t warmed_up_ = 0;
  std::vector<StepOutputs> eager_out_, graph_out_;
  const std::vector<StepOutputs>* current_ = &eager_out_;
};

}  // namespace kdprune::train
