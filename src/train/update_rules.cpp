#include "update_rules.h"

#include "kdprune/train/lr_schedule.h"
#include "rank_sync.h"

namespace kdprune::train {

HostUpdate::HostUpdate(const TrainSection& t, const EpochShape& shape, torch::optim::SGD& opt, GradScaler& scaler, RankSync* sync)
    : t_(t), shape_(shape), opt_(opt), scaler_(scaler), sync_(sync) {}

void HostUpdate::begin_epoch(int64_t epoch) {
  lr_.clear();
  for (int64_t s = 0; s < shape_.steps; ++s) lr_.push_back(lr_at(t_, epoch, s, shape_.steps));
}

void HostUpdate::before_forward(const StepBatch& b) {
  for (auto& group : opt_.param_groups())
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr_[static_cast<size_t>(b.step)]);
  if (sync_) sync_->follow_rank0_buffers();
}

void HostUpdate::backward(const torch::Tensor& loss, const StepBatch& b) {
  if (sync_) sync_->backward(loss, scaler_, b);
  else scaler_.scale(loss).backward();
}

void HostUpdate::apply(const StepBatch&) { scaler_.step(opt_); }

DeviceUpdate::DeviceUpdate(const TrainSection& t, const EpochShape& shape, torch::optim::SGD& opt, const torch::Device& device)
    : t_(t), shape_(shape), sgd_(opt) {
  lr_ = torch::zeros({shape.steps}, torch::TensorOptions().dtype(torch::kFloat32).device(device));
}

void DeviceUpdate::begin_epoch(int64_t epoch) {
  std::vector<float> lr;
  for (int64_t s = 0; s < shape_.steps; ++s) lr.push_back(static_cast<float>(lr_at(t_, epoch, s, shape_.steps)));
  lr_.copy_(torch::tensor(lr));
}

void DeviceUpdate::apply(const StepBatch& b) { sgd_.step(lr_.index_select(0, b.step_index.view({1}))); }

}  // namespace kdprune::train
