#pragma once
// A loaded dataset as tensors on the training device: uint8 N×C×H×W images (normalised per batch,
// so the device holds 1 byte per pixel) and int64 labels.
#include <torch/torch.h>

#include "kdprune/data/raw_dataset.h"

namespace kdprune::data {

struct TensorSplit {
  torch::Tensor images;  // uint8, N×C×H×W
  torch::Tensor labels;  // int64, N
  int64_t size() const { return labels.size(0); }
};

struct TensorDataset {
  DatasetInfo info;
  TensorSplit train, test;
  int64_t channels() const { return train.images.size(1); }
};

// Moves the raw buffers into tensors without a copy, then to `device`.
TensorDataset to_tensors(RawDataset&& raw, const torch::Device& device);

// uint8 images -> float, scaled to [0,1] and normalised with the dataset's mean/std, as one fused
// multiply-add per pixel. Build it once per loop: it holds the per-channel constants on the device.
class Normalizer {
 public:
  Normalizer(const DatasetInfo& info, const torch::Device& device);
  torch::Tensor operator()(const torch::Tensor& images_u8) const;

 private:
  torch::Tensor scale_, shift_;  // 1×C×1×1 float32: x·scale − shift == (x/255 − mean)/std
};

// One-off convenience (tests, tools); loops use a Normalizer.
torch::Tensor normalise(const torch::Tensor& images_u8, const DatasetInfo& info);

}  // namespace kdprune::data
