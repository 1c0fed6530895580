#pragma once
// The two ways a model's gradients become its update (step_routine.h's UpdateRule):
//  - HostUpdate: torch::optim::SGD at a learning rate set from the host each step, with fp16 loss
//    scaling (GradScaler skips a step on the host) and data-parallel reduction (RankSync);
//  - DeviceUpdate: DeviceSGD at the learning rate read from a device table through the step's
//    device index, no host sync: the update a CUDA graph captures, and replays at every step.
// Both keep their momentum in the same torch::optim::SGD, so checkpoints are the same either way.
#include <vector>

#include "kdprune/config/config.h"
#include "kdprune/train/device_sgd.h"
#include "kdprune/train/epoch_plan.h"
#include "kdprune/train/precision.h"
#include "step_routine.h"

namespace kdprune::train {

class RankSync;

class HostUpdate : public UpdateRule {
 public:
  // `sync`: data-parallel (null alone).
  HostUpdate(const TrainSection& t, const EpochShape& shape, torch::optim::SGD& opt, GradScaler& scaler, RankSync* sync);
  void begin_epoch(int64_t epoch) override;
  void before_forward(const StepBatch& b) override;
  void backward(const torch::Tensor& loss, const StepBatch& b) override;
  void apply(const StepBatch& b) override;

 private:
  const TrainSection& t_;
  EpochShape shape_;
  torch::optim::SGD& opt_;
  GradScaler& scaler_;
  RankSync* sync_;
  std::vector<double> lr_;  // per step of the current epoch
};

class DeviceUpdate : public UpdateRule {
 public:
  DeviceUpdate(const TrainSection& t, const EpochShape& shape, torch::optim::SGD& opt, const torch::Device& device);
  void begin_epoch(int64_t epoch) override;  // the table is written in place: a captured graph reads its storage
  void apply(const StepBatch& b) override;

 private:
  const TrainSection& t_;
  EpochShape shape_;
  DeviceSGD sgd_;
  torch::Tensor lr_;  // float32 [steps] on the device: the learning rate per step
};

}  // namespace kdprune::train
