#pragma once
// checkpoint.pt: everything a resumed run needs to continue exactly where it stopped (model,
// optimizer, loss scale, epoch, best accuracy, global RNG state). Data order and augmentation are
// pure functions of (seed, epoch), so they need no state. Written atomically.
#include <torch/torch.h>

#include <string>

#include "kdprune/models/model.h"

namespace kdprune::train {

struct TrainState {
  int64_t epochs_done = 0;
  double best_top1 = 0;
  int64_t best_epoch = -1;
  torch::Tensor scaler;  // GradScaler::state(); undefined without fp16
  // run.log_every_steps: the steps after the last step row, carried into the next epoch's first
  // row (their loss sum, samples and training seconds); written only when there are some.
  double row_loss = 0;
  int64_t row_samples = 0;
  double row_seconds = 0;
};

// `extra`: the distillation terms' trainable modules (regressors, embeddings), saved beside the
// model under "kd_modules" (their optimizer state is in the optimizer's).
void save_checkpoint(const std::string& path, models::ModelImpl& model, torch::optim::Optimizer& opt,
                     const TrainState& state, torch::nn::Module* extra = nullptr);

// The epochs a checkpoint file records (0 when the file does not exist).
int64_t checkpoint_epochs_done(const std::string& path);

// Restores model and optimizer in place; returns the state. Throws kdprune::Error naming the file,
// e.g. when a weight's shape differs from `model`'s (`fits` names the model in that message).
TrainState load_checkpoint(const std::string& path, models::ModelImpl& model, torch::optim::Optimizer& opt,
                           const std::string& fits = "this run's model", torch::nn::Module* extra = nullptr);

}  // namespace kdprune::train
