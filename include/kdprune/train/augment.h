#pragma once
// Training-time augmentation as batched tensor ops on the batch's device: random crop with zero
// padding, horizontal flip where the dataset allows it, normalisation. Randomness comes from a
// CPU generator the caller seeds, so a batch's views are a pure function of (seed, epoch, step).
#include <torch/torch.h>

#include "kdprune/data/tensor_dataset.h"

namespace kdprune::train {

struct AugmentSpec {
  int64_t pad = 4;  // zero padding of the random crop; 0 = no crop
  bool flip = true;
};

AugmentSpec augment_spec(const data::DatasetInfo& info, int64_t height, bool enabled);

// images: uint8 B×C×H×W. Returns normalised float32 B×C×H×W.
torch::Tensor augment_batch(const torch::Tensor& images, const data::Normalizer& normalise, const AugmentSpec& spec,
                            torch::Generator& gen);

}  // namespace kdprune::train
