#pragma once
// Everything random about one epoch, drawn at its start as device tensors: the order of the
// training view and the augmentation draws (each model's learning rates are its own). The
// values are pure functions of (seed, epoch) and do not depend on how the epoch is run: the eager
// loop reads host-side slices, a CUDA-graph step reads its slice through a device-side step index.
#include <torch/torch.h>

#include "kdprune/config/config.h"
#include "kdprune/train/augment.h"

namespace kdprune::train {

// Independent, reproducible generator seeds (splitmix64 over seed, epoch, stream).
uint64_t stream_seed(int64_t seed, int64_t epoch, uint64_t stream);
inline constexpr uint64_t kOrderStream = 1, kAugmentStream = 2, kLossStream = 3;

// The permutation of the training view for an epoch: a pure function of (seed, epoch).
torch::Tensor epoch_permutation(int64_t n, int64_t seed, int64_t epoch);

// How an epoch of n samples splits into batches. BatchNorm cannot train on a batch of one: a last
// batch smaller than `min_last` sits out that epoch (2: a lone sample; data-parallel training
// splits each batch over W ranks and needs 2·W).
struct EpochShape {
  int64_t n = 0, batch = 0;
  int64_t usable = 0;      // samples trained on
  int64_t steps = 0;       // batches, the last possibly short
  int64_t full_steps = 0;  // batches of exactly `batch`
  EpochShape(int64_t n, int64_t batch, int64_t min_last = 2);
};

struct EpochPlan {
  torch::Tensor positions;  // int64 [usable]: the epoch's permutation (positions in the view)
  torch::Tensor order;      // int64 [usable]: the dataset indices in training order
  AugmentDraws augment;     // per position in the epoch [usable]

  // Overwrites this plan's tensors in place (their storage stays: a captured graph reads it).
  void copy_from(const EpochPlan& other);
};

// view: the training view's dataset indices (int64, on the device).
EpochPlan make_epoch_plan(const torch::Tensor& view, const EpochShape& shape, const AugmentSpec& spec,
                          int64_t seed, int64_t epoch);

}  // namespace kdprune::train
