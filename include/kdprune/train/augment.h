#pragma once
// Training-time augmentation as batched tensor ops on the batch's device: random crop with zero
// padding, horizontal flip where the dataset allows it, normalisation. Randomness comes from a
// CPU generator the caller seeds, so a batch's views are a pure function of (seed, epoch, step).
// The draws are separate from their application so that a whole epoch's draws can be made up
// front and live on the device (a CUDA-graph step reads its slice of them).
#include <torch/torch.h>

#include "kdprune/data/tensor_dataset.h"

namespace kdprune::train {

struct AugmentSpec {
  int64_t pad = 4;  // zero padding of the random crop; 0 = no crop
  bool flip = true;
};

AugmentSpec augment_spec(const data::DatasetInfo& info, int64_t height, bool enabled);

// One batch's random draws, per sample: crop offsets in [0, 2·pad] (rows, then columns) and flip
// coins. Tensors are undefined for a disabled part.
struct AugmentDraws {
  torch::Tensor oy, ox;  // int64 [B]
  torch::Tensor flip;    // bool [B]
  AugmentDraws to(const torch::Device& device) const;
  AugmentDraws index_select(const torch::Tensor& pos) const;  // the draws of samples `pos`
  AugmentDraws slice(int64_t begin, int64_t end) const;
};

// Draws for a batch of b in a fixed order (oy, ox, flip), so a batch's draws are the same
// whether drawn per batch or for the whole epoch at once.
AugmentDraws draw_augment(const AugmentSpec& spec, int64_t b, torch::Generator& gen);

// images: uint8 B×C×H×W on the draws' device. Returns normalised float32 B×C×H×W. Host-sync free.
torch::Tensor apply_augment(const torch::Tensor& images, const AugmentDraws& draws, const data::Normalizer& normalise,
                            const AugmentSpec& spec);

// draw_augment + apply_augment.
torch::Tensor augment_batch(const torch::Tensor& images, const data::Normalizer& normalise, const AugmentSpec& spec,
                            torch::Generator& gen);

}  // namespace kdprune::train
