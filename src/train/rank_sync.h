#pragma once
// What a data-parallel run adds to one model's training, in one place: every rank starts from rank
// 0's state, BatchNorm buffers follow rank 0 (or normalise over all ranks), gradients are averaged
// during backward, the epoch's totals are summed over ranks, and only rank 0 writes.
#include <memory>

#include "kdprune/dist/grad_reducer.h"
#include "kdprune/train/trainer.h"
#include "step_routine.h"

namespace kdprune::train {

class GradScaler;

class RankSync {
 public:
  // `params`: what the optimizer trains (their gradients are reduced).
  RankSync(dist::Collective& collective, const TrainInputs& in, const std::vector<torch::Tensor>& params, const std::string& tag);
  ~RankSync();  // the model outlives the run: its BatchNorm stops reaching for the group
  RankSync(const RankSync&) = delete;
  RankSync& operator=(const RankSync&) = delete;

  void follow_rank0_buffers();  // BatchNorm statistics follow rank 0 (DDP's broadcast_buffers)
  // Backward of this rank's part of the step, weighted by its share of the step's samples, with the
  // gradients averaged over ranks: Σ_r (n_r / N)·g_r, the gradient of the whole step's mean loss.
  void backward(const torch::Tensor& loss, const GradScaler& scaler, const StepBatch& b);
  void reduce(EpochTotals& totals);  // the epoch's totals over all ranks
  double sum(const torch::Tensor& value);  // a scalar summed over all ranks (every rank calls it), on the host
  bool writes() const;               // rank 0 writes checkpoints and metrics

 private:
  std::vector<torch::Tensor> rank0_buffers() const;

  dist::Collective& collective_;
  models::ModelImpl& model_;
  std::shared_ptr<torch::nn::Module> loss_modules_;
  std::unique_ptr<dist::GradReducer> reducer_;
  int64_t synced_bn_ = 0;  // BatchNorm layers normalising over all ranks (train.sync_batchnorm)
};

}  // namespace kdprune::train
