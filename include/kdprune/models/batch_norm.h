#pragma once
// The BatchNorm the models are built with: torch::nn::BatchNorm2d (same parameters, buffers and
// state-dict names), which in a data-parallel run can normalise over the whole step's batch, every
// rank's part of it, instead of this rank's part alone (PyTorch's SyncBatchNorm;
// train.sync_batchnorm).
#include <torch/torch.h>

namespace kdprune::dist {
class Collective;
}

namespace kdprune::models {

class BatchNorm2dImpl : public torch::nn::BatchNorm2dImpl {
 public:
  using torch::nn::BatchNorm2dImpl::BatchNorm2dImpl;
  torch::Tensor forward(const torch::Tensor& x);
  // In training mode, batch statistics over the ranks of `sync` (null: this process's batch).
  dist::Collective* sync = nullptr;
};
TORCH_MODULE(BatchNorm2d);

// Sets `sync` on every models::BatchNorm2d in `root` (itself included); returns how many there are.
int64_t set_sync_batchnorm(torch::nn::Module& root, dist::Collective* sync);

// Batch normalisation of x [N, C, ...] in training mode with statistics over every rank's x (their
// N may differ), as PyTorch's SyncBatchNorm: y is x normalised by the mean and biased variance of
// all ranks' samples; running_mean/var move by `factor` toward that mean and the unbiased variance.
// Backward gives x the gradient of the whole batch's normalisation (sums over ranks reduced) and
// weight/bias this rank's share (the trainer averages parameter gradients over ranks).
torch::Tensor sync_batch_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              torch::Tensor running_mean, torch::Tensor running_var, double eps, double factor,
                              dist::Collective& sync);

}  // namespace kdprune::models
